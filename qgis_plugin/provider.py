"""The Processing provider ``cq_geo``."""

from __future__ import annotations

from pathlib import Path

from qgis.core import QgsProcessingProvider
from qgis.PyQt.QtCore import QCoreApplication
from qgis.PyQt.QtGui import QIcon

from .algorithms import available_algorithms

ICON = Path(__file__).resolve().parent / "icons" / "icon.svg"


class CqGeoProvider(QgsProcessingProvider):
    """Algorithms « Contrat Quartiers 2030 » (provider id ``cq_geo``)."""

    def id(self):
        return "cq_geo"

    def name(self):
        return QCoreApplication.translate("CqGeo", "Contrat Quartiers 2030")

    def longName(self):  # noqa: N802
        from cq_geo import __version__

        return f"{self.name()} (cq-geo {__version__})"

    def icon(self):
        return QIcon(str(ICON))

    def loadAlgorithms(self):  # noqa: N802
        for alg in available_algorithms():
            self.addAlgorithm(alg())
