"""Read a perimeter file with QGIS (OGR provider) into the store's records: ``(properties, WKB Lambert-93)``.

GeoJSON, GeoPackage, shapefile, KML, possibly inside a zip (``/vsizip/``);
reprojection with QgsCoordinateTransform (the project's transform context, so
the datum grids the user installed apply). The records go to
``cq_geo.data.imports.import_records`` which applies the same checks as the
command-line import (cut to the territory, code patterns, labelling, atomic write).
"""

from __future__ import annotations

from dataclasses import dataclass

from qgis.core import (
    QgsCoordinateReferenceSystem,
    QgsCoordinateTransform,
    QgsCoordinateTransformContext,
    QgsProviderRegistry,
    QgsVectorLayer,
    QgsWkbTypes,
)
from qgis.PyQt.QtCore import QDate, QDateTime, QTime, QVariant

VECTOR_EXT = (".gpkg", ".geojson", ".json", ".shp", ".kml", ".fgb")
LAMBERT93 = "EPSG:2154"


class ReadError(Exception):
    """A file QGIS cannot use; ``str()`` is French."""


@dataclass
class Source:
    uri: str
    described: str
    layer: QgsVectorLayer


def _polygon_sublayer(uri: str) -> str:
    """The first polygon layer of a multi-layer file (GeoPackage, KML)."""
    if not uri.lower().endswith((".gpkg", ".kml")):
        return uri
    try:
        details = QgsProviderRegistry.instance().querySublayers(uri)
    except Exception:  # noqa: BLE001 - older QGIS: the file's default layer
        return uri
    polygons = [d for d in details if QgsWkbTypes.geometryType(d.wkbType()) == QgsWkbTypes.GeometryType.PolygonGeometry]
    if len(details) > 1 and polygons:
        return polygons[0].uri()
    return uri


def open_source(path, prefer=None) -> Source:
    """The layer QGIS reads for *path* (a zip's best member); ReadError (French) when unusable."""
    from cq_geo.data.sources import vector_target
    from cq_geo.errors import DataError

    try:
        uri, described = vector_target(path, prefer, extensions=VECTOR_EXT,
                                       expected="GeoJSON, GeoPackage, shapefile, KML ou zip")
    except DataError as exc:
        raise ReadError(str(exc)) from exc
    uri = _polygon_sublayer(uri)
    layer = QgsVectorLayer(uri, described, "ogr")
    if not layer.isValid():
        raise ReadError(f"{described} : fichier illisible ou tronqué pour QGIS")
    if QgsWkbTypes.geometryType(layer.wkbType()) != QgsWkbTypes.GeometryType.PolygonGeometry:
        raise ReadError(f"{described} : une couche de polygones est attendue")
    return Source(uri, described, layer)


def _value(v):
    if v is None:
        return None
    if isinstance(v, QVariant):
        return None if v.isNull() else v.value()
    if isinstance(v, QDateTime):
        return v.toString("yyyy-MM-ddTHH:mm:ss") if v.isValid() else None
    if isinstance(v, QDate):
        return v.toString("yyyy-MM-dd") if v.isValid() else None
    if isinstance(v, QTime):
        return v.toString("HH:mm:ss") if v.isValid() else None
    return v


def records(source: Source, feedback=None, context: QgsCoordinateTransformContext | None = None):
    """``[(properties, wkb)]`` with geometries in Lambert-93 (features without geometry: wkb None)."""
    layer = source.layer
    crs = layer.crs()
    if not crs.isValid():
        if source.uri.lower().split("|")[0].endswith((".geojson", ".json")):
            crs = QgsCoordinateReferenceSystem("EPSG:4326")  # RFC 7946
        else:
            raise ReadError(f"{source.described} : système de coordonnées absent (fichier .prj manquant ?)")
    transform = None
    if crs.authid() != LAMBERT93:
        transform = QgsCoordinateTransform(crs, QgsCoordinateReferenceSystem(LAMBERT93),
                                           context or QgsCoordinateTransformContext())
    names = layer.fields().names()
    total = max(1, layer.featureCount())
    out = []
    for i, feat in enumerate(layer.getFeatures()):
        if feedback is not None:
            if feedback.isCanceled():
                from .net import Canceled

                raise Canceled()
            if i % 200 == 0:
                feedback.setProgress(100.0 * i / total)
        props = {name: _value(v) for name, v in zip(names, feat.attributes())}
        g = feat.geometry()
        wkb = None
        if g is not None and not g.isNull() and not g.isEmpty():
            try:
                if transform is not None:
                    g.transform(transform)
            except Exception as exc:  # noqa: BLE001 - QgsCsException
                raise ReadError(f"{source.described} : entité n° {i + 1} impossible à reprojeter en Lambert-93 "
                                f"({exc})") from exc
            wkb = bytes(g.asWkb())
        out.append((props, wkb))
    if not out:
        raise ReadError(f"{source.described} : aucune entité dans le fichier")
    return out

