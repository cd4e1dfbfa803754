"""The plugin's widgets: the panel (dock), the identify map tool and the locator filter."""
