"""QGIS plugin « Contrat Quartiers 2030 » (cq-geo).

Nothing happens at import: QGIS calls :func:`classFactory`, which makes the
bundled ``cq_geo`` library importable and builds the plugin.
"""


def classFactory(iface):  # noqa: N802 - QGIS's name
    """Build the plugin (``iface`` is None under ``qgis_process``)."""
    from ._bootstrap import ensure_library

    ensure_library()
    from .plugin import CqGeoPlugin

    return CqGeoPlugin(iface)
