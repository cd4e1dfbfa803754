"""The plugin's core: no widgets. The territory service over the cq_geo library, QGIS-native reading,
geometry, network and tasks, layers added to the project, the log and translations."""
