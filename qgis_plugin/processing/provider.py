"""The Processing provider ``cq_geo``."""

from __future__ import annotations

from pathlib import Path

from qgis.core import QgsProcessingProvider
from qgis.PyQt.QtCore import QCoreApplication
from qgis.PyQt.QtGui import QIcon

from .algorithms import available_algorithms

ICON = Path(__file__).resolve().parents[1] / "icons" / "icon.svg"


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
        """Only the algorithms this QGIS can run (capabilities); the others are logged with the reason."""
        from ..core.log import log
        from ..core.service import TerritoryService, capabilities
        from .algorithms import unavailable_algorithms

        caps = capabilities(TerritoryService().store_path())
        for alg in available_algorithms(caps):
            self.addAlgorithm(alg())
        for title, reason in unavailable_algorithms(caps).items():
            log(f"traitement « {title} » non proposé : {reason}")
