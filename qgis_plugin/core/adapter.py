"""The only place where QGIS objects become ``cq_geo`` objects and back.

- points: a ``QgsPointXY`` in any CRS → Lambert-93 ``x, y`` (what the library takes);
- geometries: Lambert-93 ``QgsGeometry`` (read by QGIS, :mod:`.geometry`) → the canvas CRS;
- answers: :meth:`Territory.lookup_arrays` (numpy) → the ``cq_`` columns → ``QgsFields`` and attribute lists;
- the territory → in-memory layers (communes, qpv, poche, qva) when no store GeoPackage exists.
"""

from __future__ import annotations

import math

from qgis.core import (
    QgsCoordinateReferenceSystem,
    QgsCoordinateTransform,
    QgsFeature,
    QgsFields,
    QgsGeometry,
    QgsPointXY,
    QgsProject,
    QgsVectorLayer,
)

from . import compat

LAMBERT93 = "EPSG:2154"
WGS84 = "EPSG:4326"

#: Layer names, as in the store GeoPackage.
LAYER_NAMES = ("communes", "qpv", "poche", "qva")


def crs(authid: str) -> QgsCoordinateReferenceSystem:
    return QgsCoordinateReferenceSystem(authid)


def transform(source: QgsCoordinateReferenceSystem, dest: QgsCoordinateReferenceSystem, context=None):
    """A coordinate transform using the project's transform context."""
    if context is None:
        context = QgsProject.instance().transformContext()
    return QgsCoordinateTransform(source, dest, context)


def to_l93(point: QgsPointXY, source_crs: QgsCoordinateReferenceSystem, context=None) -> tuple[float, float]:
    """Lambert-93 ``(x, y)`` of *point* given in *source_crs*."""
    if source_crs.authid() == LAMBERT93:
        return float(point.x()), float(point.y())
    p = transform(source_crs, crs(LAMBERT93), context).transform(QgsPointXY(point))
    return float(p.x()), float(p.y())


def from_l93(x: float, y: float, dest_crs: QgsCoordinateReferenceSystem, context=None) -> QgsPointXY:
    """*dest_crs* point for a Lambert-93 ``(x, y)``."""
    p = QgsPointXY(x, y)
    if dest_crs.authid() == LAMBERT93:
        return p
    return transform(crs(LAMBERT93), dest_crs, context).transform(p)


def geometry_in(geom: QgsGeometry, dest_crs: QgsCoordinateReferenceSystem, context=None) -> QgsGeometry:
    """A Lambert-93 ``QgsGeometry`` (copied) in *dest_crs*."""
    g = QgsGeometry(geom)
    if dest_crs.authid() != LAMBERT93:
        g.transform(transform(crs(LAMBERT93), dest_crs, context))
    return g


# -- the cq_ columns -------------------------------------------------------------

_DOUBLE_COLUMNS = {"cq_lon", "cq_lat", "cq_geocode_score", "cq_qpv_distance_m"}
_BOOL_COLUMNS = {"cq_valid"}


def _kind(name: str):
    if name in _BOOL_COLUMNS:
        return compat.BOOL
    if name in _DOUBLE_COLUMNS or name.endswith("_distance_m"):
        return compat.DOUBLE
    return compat.STRING


def fields_for(columns) -> QgsFields:
    """QgsFields for result columns (``cq_valid`` boolean, coordinates/scores/distances real, the rest text)."""
    fields = QgsFields()
    for name in columns:
        fields.append(compat.field(name, _kind(name)))
    return fields


def lookup_columns(territory=None) -> list[str]:
    """What :meth:`Territory.lookup_many` adds: *territory*'s columns (one set per tier of its file),
    :data:`cq_geo.territory.LOOKUP_COLUMNS` without one."""
    if territory is not None:
        return list(territory.lookup_columns)
    from cq_geo.territory import LOOKUP_COLUMNS

    return list(LOOKUP_COLUMNS)


def batch_columns(territory=None) -> list[str] | None:
    """The columns ``cq-geo batch`` adds (status, reason, position, geocoding, lookup), or None without batch."""
    try:
        from cq_geo.bulk.run import RESULT_COLUMNS
    except ImportError:
        return None
    return list(RESULT_COLUMNS) + lookup_columns(territory)


def lookup_fields() -> QgsFields:
    """Fields for :data:`cq_geo.territory.LOOKUP_COLUMNS` (same names as the CLI batch)."""
    return fields_for(lookup_columns())


def dataframe_rows(frame, columns) -> list[list]:
    """Rows of *frame* as lists of plain Python values (NaN → None) in *columns* order."""
    cols = []
    for name in columns:
        series = frame[name]
        kind = _kind(name)
        if kind == compat.BOOL:
            values = [bool(v) for v in series.to_numpy()]
        elif kind == compat.DOUBLE:
            values = [None if math.isnan(v) else float(v) for v in series.to_numpy(dtype="float64", na_value=math.nan)]
        else:
            values = ["" if v is None or (isinstance(v, float) and math.isnan(v)) else str(v)
                      for v in series.astype(object).to_numpy()]
        cols.append(values)
    return [list(row) for row in zip(*cols)]


def array_columns(territory, arrays: dict) -> dict[str, list]:
    """The ``cq_`` columns (as :meth:`Territory.lookup_many`) from :meth:`Territory.lookup_arrays`, numpy only."""
    import numpy as np

    from cq_geo.geo.engine import STATUS_NAMES

    valid = np.asarray(arrays["valid"], dtype=bool)
    n = len(valid)

    def labelled(kind: str, index) -> list:
        labels = territory.labels(kind)
        return [str(v) for v in labels[np.asarray(index)]]

    def statuses(codes) -> list:
        return [STATUS_NAMES[int(c)] if ok else "" for c, ok in zip(codes, valid)]

    cols = {
        "cq_valid": [bool(v) for v in valid],
        "cq_commune_insee": labelled("commune", arrays["commune"]),
        "cq_commune": labelled("commune_name", arrays["commune"]),
        "cq_commune_status": statuses(arrays["commune_status"]),
        "cq_team": labelled("team", arrays["commune"]),
        "cq_qpv_code": labelled("qpv", arrays["qpv"]),
        "cq_qpv_name": labelled("qpv_name", arrays["qpv"]),
        "cq_qpv_status": statuses(arrays["qpv_status"]),
        "cq_qpv_distance_m": [None if not np.isfinite(v) else round(float(v), 1) for v in arrays["qpv_distance_m"]],
    }
    for tier in territory.definition.local_tier_ids:  # every tier of the territory file
        cols[f"cq_{tier}"] = labelled(f"{tier}_name", arrays[tier])
        cols[f"cq_{tier}_status"] = statuses(arrays[f"{tier}_status"])
    cols["cq_primary_tier"] = labelled("primary_tier", arrays["primary_tier"])
    texts: dict[int, str] = {}
    warnings = []
    for mask in np.asarray(arrays["flags"]).tolist():
        if mask not in texts:
            texts[mask] = "; ".join(territory.warning_texts(mask))
        warnings.append(texts[mask])
    cols["cq_warnings"] = warnings
    assert all(len(v) == n for v in cols.values())
    return cols


def column_rows(cols: dict[str, list], columns) -> list[list]:
    """Rows (lists in *columns* order) of a dict of columns."""
    return [list(row) for row in zip(*(cols[c] for c in columns))]


# -- the territory as layers -------------------------------------------------------

def _memory_layer(kind: str, name: str, fields: QgsFields) -> QgsVectorLayer:
    layer = QgsVectorLayer(f"{kind}?crs={LAMBERT93}", name, "memory")
    layer.dataProvider().addAttributes(fields.toList())
    layer.updateFields()
    return layer


def territory_features(territory, outlines) -> dict[str, tuple[QgsFields, list[QgsFeature]]]:
    """Fields and features (Lambert-93) of the layers communes, qpv, poche, qva (*outlines*: geometry.Outlines)."""
    d = territory.definition
    infos = territory.layers
    out = {}
    cfields = QgsFields()
    for name, kind in (("insee", compat.STRING), ("nom", compat.STRING), ("equipe", compat.STRING),
                       ("equipe_nom", compat.STRING), ("population", compat.INT), ("statut_geometrie", compat.STRING)):
        cfields.append(compat.field(name, kind))
    feats = []
    for insee in d.communes:
        g = outlines.commune(insee)
        if g is None:
            continue
        team = d.team_of(insee)
        f = QgsFeature(cfields)
        f.setGeometry(QgsGeometry(g))
        f.setAttributes([insee, d.commune_name(insee), team.id if team else "", team.name if team else "",
                         d.communes[insee].population, infos["communes"].status])
        feats.append(f)
    out["communes"] = (cfields, feats)
    for tier in getattr(d, "tier_ids", ("qpv", "poche", "qva")):  # the tiers of the territory file
        zfields = QgsFields()
        for name, kind in (("code", compat.STRING), ("nom", compat.STRING), ("niveau", compat.STRING),
                           ("communes", compat.STRING), ("equipe", compat.STRING),
                           ("statut_geometrie", compat.STRING), ("population", compat.INT)):
            zfields.append(compat.field(name, kind))
        feats = []
        for zone in d.zones_of(tier):
            g = outlines.zone(zone.code)
            if g is None:
                continue
            teams = sorted({t.id for t in (d.team_of(c) for c in zone.communes) if t})
            status = infos["communes"].status if zone.geometry == "commune" and outlines.origin == "baseline" \
                else infos[tier].status
            f = QgsFeature(zfields)
            f.setGeometry(QgsGeometry(g))
            f.setAttributes([zone.code, zone.name, tier, ",".join(zone.communes), ",".join(teams), status,
                             zone.population])
            feats.append(f)
        out[tier] = (zfields, feats)
    return out


def territory_memory_layers(territory, outlines, titles: dict[str, str]) -> dict[str, QgsVectorLayer]:
    """In-memory layers of the territory (used when no store GeoPackage exists)."""
    layers = {}
    for name, (fields, feats) in territory_features(territory, outlines).items():
        layer = _memory_layer("MultiPolygon", titles.get(name, name), fields)
        layer.dataProvider().addFeatures(feats)
        layer.updateExtents()
        layer.setCustomProperty("cq_geo/layer", name)
        layers[name] = layer
    return layers
