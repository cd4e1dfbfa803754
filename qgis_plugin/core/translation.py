"""Translation: every user-visible string goes through :func:`tr` (French source)."""

from qgis.PyQt.QtCore import QCoreApplication

CONTEXT = "CqGeo"


def tr(text: str) -> str:
    """Translate *text* (written in French) with the plugin's Qt translations."""
    return QCoreApplication.translate(CONTEXT, text)
