"""Geometry: coordinates (crs), polygon rings and their file formats (gpkg), layers and the lookup engine.

The bottom layer: it imports nothing else from cq_geo but errors and paths, and needs numpy and the
standard library only (the path from the territory on disk to an answer runs inside QGIS).
"""
