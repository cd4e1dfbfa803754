"""The territory's outlines as ``QgsGeometry`` (Lambert-93), read by QGIS itself (OGR provider).

The lookup engine (``cq_geo``) answers « which zone is here »; drawing the
answer (highlight, zoom, search results placed on a zone, in-memory layers)
needs the outlines too. They are read here from the same files the library
reads: the store GeoPackage when there is one, else the embedded
``communes_baseline.geojson`` (WGS84, reprojected with QgsCoordinateTransform).
No shapely.

Zones drawn as « whole commune » (``geometry = "commune"`` in territory.toml)
take their commune's outline when the store has no perimeter for them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from qgis.core import (
    QgsCoordinateReferenceSystem,
    QgsCoordinateTransform,
    QgsCoordinateTransformContext,
    QgsGeometry,
    QgsPointXY,
    QgsVectorLayer,
)

LAMBERT93 = "EPSG:2154"
WGS84 = "EPSG:4326"
#: The column holding each store layer's code (as cq_geo.data.common.CODE_COLUMN).
CODE_COLUMN = {"communes": "insee", "qpv": "code_qp", "qpv2015": "code_qp", "poche": "code", "qva": "code"}
TIERS = ("qpv", "poche", "qva")  # the CAPH's, when no definition is at hand


def _code_columns() -> dict[str, str]:
    try:
        from cq_geo.data.common import CODE_COLUMN as lib

        return dict(CODE_COLUMN, **lib)
    except Exception:  # noqa: BLE001 - the library's constant if it has one
        return dict(CODE_COLUMN)


def read_layer(uri: str, key: str, to_l93: bool = False, provider: str = "ogr") -> dict[str, QgsGeometry]:
    """``{feature[key]: geometry}`` of an OGR (or *provider*) layer (Lambert-93; *to_l93*: reproject from the
    layer's CRS)."""
    layer = QgsVectorLayer(uri, "cq_geo_read", provider)
    if not layer.isValid():
        return {}
    names = {f.name().lower(): f.name() for f in layer.fields()}
    field_name = names.get(key.lower())
    if field_name is None:
        return {}
    transform = None
    if to_l93 or layer.crs().authid() != LAMBERT93:
        source = layer.crs() if layer.crs().isValid() else QgsCoordinateReferenceSystem(WGS84)
        transform = QgsCoordinateTransform(source, QgsCoordinateReferenceSystem(LAMBERT93),
                                           QgsCoordinateTransformContext())
    out: dict[str, QgsGeometry] = {}
    for feat in layer.getFeatures():
        g = feat.geometry()
        value = feat[field_name]
        if g is None or g.isNull() or value is None:
            continue
        g = QgsGeometry(g)
        if transform is not None:
            g.transform(transform)
        code = str(value)
        out[code] = out[code].combine(g) if code in out else g
    return out


@dataclass
class Outlines:
    """Lambert-93 outlines: communes by INSEE code, zones by code (with the zone's tier)."""

    communes: dict[str, QgsGeometry] = field(default_factory=dict)
    zones: dict[str, QgsGeometry] = field(default_factory=dict)
    zone_tier: dict[str, str] = field(default_factory=dict)
    origin: str = "baseline"  # or "store"

    def zone(self, code: str) -> QgsGeometry | None:
        return self.zones.get(code)

    def commune(self, insee: str) -> QgsGeometry | None:
        return self.communes.get(insee)


def load_outlines(definition, store_path: Path | None, shared: str | None = None) -> Outlines:
    """The outlines the answers rest on (shared store or store if any, else the embedded baseline)."""
    out = Outlines()
    if shared:  # the shared store (PostgreSQL), through QGIS's postgres provider
        from cq_geo.data.pgstore import qgis_layer_sources

        cols = _code_columns()
        sources = dict(qgis_layer_sources(shared))
        out.communes = read_layer(sources["communes"], cols["communes"], provider="postgres")
        for tier in (definition.tier_ids if definition is not None else TIERS):
            if tier in sources:
                for code, g in read_layer(sources[tier], cols.get(tier, "code"), provider="postgres").items():
                    out.zones[code] = g
                    out.zone_tier[code] = tier
        out.origin = "store"
    elif store_path is not None and Path(store_path).is_file():
        cols = _code_columns()
        out.communes = read_layer(f"{store_path}|layername=communes", cols["communes"])
        for tier in (definition.tier_ids if definition is not None else TIERS):  # the tiers of the file
            for code, g in read_layer(f"{store_path}|layername={tier}", cols.get(tier, "code")).items():
                out.zones[code] = g
                out.zone_tier[code] = tier
        out.origin = "store"
    if not out.communes:
        from cq_geo.paths import baseline_communes_file

        out.communes = read_layer(str(baseline_communes_file()), "insee", to_l93=True)
        out.origin = "baseline" if not out.zones else out.origin
    if definition is not None:
        for tier in definition.tier_ids:
            for zone in definition.zones_of(tier):
                if zone.code not in out.zones and zone.geometry == "commune" and zone.communes \
                        and zone.communes[0] in out.communes:
                    out.zones[zone.code] = out.communes[zone.communes[0]]
                    out.zone_tier[zone.code] = tier
    return out


_TO_WGS84 = None


def l93_to_lonlat(x: float, y: float) -> tuple[float, float]:
    """Lambert-93 → WGS84 with QGIS (PROJ)."""
    global _TO_WGS84
    if _TO_WGS84 is None:
        _TO_WGS84 = QgsCoordinateTransform(QgsCoordinateReferenceSystem(LAMBERT93), QgsCoordinateReferenceSystem(WGS84),
                                           QgsCoordinateTransformContext())
    p = _TO_WGS84.transform(QgsPointXY(x, y))
    return float(p.x()), float(p.y())


def inner_point(geom: QgsGeometry) -> tuple[float, float] | None:
    """A point well inside *geom* (pole of inaccessibility, else a point on the surface), Lambert-93."""
    if geom is None or geom.isEmpty():
        return None
    try:
        pole = geom.poleOfInaccessibility(5.0)
        g = pole[0] if isinstance(pole, tuple) else pole
        if g is not None and not g.isEmpty() and geom.contains(g):
            p = g.asPoint()
            return float(p.x()), float(p.y())
    except Exception:  # noqa: BLE001
        pass
    g = geom.pointOnSurface()
    if g is None or g.isEmpty():
        return None
    p = g.asPoint()
    return float(p.x()), float(p.y())


def centres(outlines: Outlines) -> dict[tuple[str, str], tuple[float, float]]:
    """``{("commune", insee) | ("zone", code): (lon, lat)}``: where a search result puts the user."""
    out = {}
    for kind, geoms in (("commune", outlines.communes), ("zone", outlines.zones)):
        for code, g in geoms.items():
            p = inner_point(g)
            if p is not None:
                lon, lat = l93_to_lonlat(*p)
                out[(kind, code)] = (round(lon, 7), round(lat, 7))
    return out
