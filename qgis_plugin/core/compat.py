"""Small bridges between QGIS 3.22 and QGIS 4 (Qt 5 / Qt 6) APIs."""

from __future__ import annotations

from qgis.core import Qgis, QgsField

try:  # QGIS >= 3.38 takes QMetaType.Type, QGIS 4 requires it
    from qgis.PyQt.QtCore import QMetaType

    _NEW_TYPES = Qgis.versionInt() >= 33800
except ImportError:  # pragma: no cover
    _NEW_TYPES = False
from qgis.PyQt.QtCore import QVariant

if _NEW_TYPES:
    STRING, DOUBLE, INT, BOOL = (
        QMetaType.Type.QString, QMetaType.Type.Double, QMetaType.Type.Int, QMetaType.Type.Bool,
    )
else:
    STRING, DOUBLE, INT, BOOL = QVariant.Type.String, QVariant.Type.Double, QVariant.Type.Int, QVariant.Type.Bool


def field(name: str, kind) -> QgsField:
    """A QgsField of *kind* (one of STRING, DOUBLE, INT, BOOL)."""
    return QgsField(name, kind)


def polygon_geometry_type():
    """The polygon geometry type for QgsRubberBand (Qgis.GeometryType since 3.30)."""
    if hasattr(Qgis, "GeometryType"):
        return Qgis.GeometryType.Polygon
    from qgis.core import QgsWkbTypes

    return QgsWkbTypes.GeometryType.PolygonGeometry


def source_type(name: str):
    """A Processing source type by its QGIS ≥ 3.36 name (``VectorPoint``, ``Vector``, ``VectorAnyGeometry``)."""
    if hasattr(Qgis, "ProcessingSourceType"):
        return getattr(Qgis.ProcessingSourceType, name)
    from qgis.core import QgsProcessing

    return getattr(QgsProcessing.SourceType, "Type" + name)


def wkb_point():
    """The Point WKB type (Qgis.WkbType since 3.30)."""
    if hasattr(Qgis, "WkbType"):
        return Qgis.WkbType.Point
    from qgis.core import QgsWkbTypes

    return QgsWkbTypes.Type.Point


def no_threading_flag():
    """The Processing flag « do not run in a background thread » (Qgis.ProcessingAlgorithmFlag since 3.36)."""
    if hasattr(Qgis, "ProcessingAlgorithmFlag"):
        return Qgis.ProcessingAlgorithmFlag.NoThreading
    from qgis.core import QgsProcessingAlgorithm

    return QgsProcessingAlgorithm.Flag.FlagNoThreading
