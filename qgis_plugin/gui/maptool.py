"""The map tool: a click on the map asks « quelle géographie ici ? »."""

from __future__ import annotations

from qgis.gui import QgsMapToolEmitPoint
from qgis.PyQt.QtCore import Qt
from qgis.PyQt.QtGui import QCursor


class IdentifyGeographyTool(QgsMapToolEmitPoint):
    """Emits ``canvasClicked(point, button)`` with the point in the canvas CRS."""

    def __init__(self, canvas):
        super().__init__(canvas)
        self.setCursor(QCursor(Qt.CursorShape.CrossCursor))
