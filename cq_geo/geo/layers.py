"""Geometry layers: what each one is, where it comes from, how precise it is.

A layer is the set of geometries of one kind: ``communes`` or one tier
(``qpv``, ``poche``, ``qva``). Its :class:`LayerInfo` travels with every answer
(provenance), and its precision sets the tolerances of the statuses
``boundary`` and ``near``.

Examples
--------
>>> info = LayerInfo("qpv", status="official", source="ANCT", vintage="2024")
>>> info.edge_m, info.near_m
(1.0, 10.0)
>>> LayerInfo("qpv", status="missing").to_dict()["status"]
'missing'
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from ..errors import DataError
from .crs import lonlat_to_l93
from .gpkg import Polygons, read_geojson

__all__ = ["LayerInfo", "DEFAULT_TOLERANCES", "read_geojson_l93", "read_geojson_polygons", "load_baseline_communes"]

#: Default (edge_m, near_m) per geometry status: how far from an edge a point
#: is ``boundary``, and how far outside it is still ``near``.
DEFAULT_TOLERANCES = {
    "official": (1.0, 10.0),  # ANCT perimeters, IGN 5 m contours: drawn on parcels, ~1 m
    "validated": (2.0, 10.0),  # drawn by the agglomeration and validated
    "provisional": (2.0, 10.0),
    "approximate": (50.0, 100.0),
    "simplified": (100.0, 150.0),  # the embedded commune outlines (see data/boundaries/README.md)
    "missing": (0.0, 0.0),
}


@dataclass
class LayerInfo:
    """Provenance and precision of a layer."""

    name: str
    status: str = "missing"
    source: str = ""
    vintage: str = ""
    publisher: str = ""
    licence: str = ""
    sha256: str = ""
    feature_count: int = 0
    edge_m: float | None = None
    near_m: float | None = None
    missing_zones: list[str] = field(default_factory=list)

    def __post_init__(self):
        default_edge, default_near = DEFAULT_TOLERANCES.get(self.status, DEFAULT_TOLERANCES["approximate"])
        if self.edge_m is None:
            self.edge_m = default_edge
        if self.near_m is None:
            self.near_m = max(default_near, self.edge_m)

    def to_dict(self) -> dict:
        """JSON-ready provenance."""
        return asdict(self)


def _to_l93(geom):
    import shapely

    return shapely.transform(geom, lambda c: np.column_stack(lonlat_to_l93(c[:, 0], c[:, 1])))


def _read_features(path: Path, key: str):
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise DataError(f"couche illisible : {path} ({exc})") from exc
    if data.get("type") != "FeatureCollection":
        raise DataError(f"{path} : une FeatureCollection GeoJSON est attendue")
    features = []
    for i, feat in enumerate(data.get("features", [])):
        value = (feat.get("properties") or {}).get(key)
        if value is None or not feat.get("geometry"):
            raise DataError(f"{path} : l'entité n° {i + 1} n'a pas de « {key} » ou pas de géométrie")
        features.append((str(value), feat["geometry"]))
    return features, data.get("cq_geo", {})


def read_geojson_polygons(path: str | Path, key: str) -> tuple[dict[str, Polygons], dict]:
    """Read a WGS84 GeoJSON FeatureCollection of polygons into ``{properties[key]: Polygons in Lambert-93}``.

    json + numpy only (the lookup path). Returns the geometries and the
    collection's ``cq_geo`` member (provenance, may be empty). Geometries are
    taken as they are (no repair: the embedded outlines are valid, checked by the tests).

    >>> from cq_geo.paths import baseline_communes_file
    >>> geoms, meta = read_geojson_polygons(baseline_communes_file(), "insee")
    >>> len(geoms), meta["status"], round(geoms["59172"].area / 1e6, 1)   # Denain, km²
    (47, 'simplified', 11.6)
    """
    path = Path(path)
    features, meta = _read_features(path, key)
    out: dict[str, Polygons] = {}
    for value, geometry in features:
        try:
            polys = read_geojson(geometry)
        except (TypeError, ValueError, IndexError) as exc:
            raise DataError(f"{path} : géométrie illisible pour « {value} » ({exc})") from exc
        out[value] = polys.transform(lonlat_to_l93)
    return out, meta


def read_geojson_l93(path: str | Path, key: str) -> tuple[dict[str, object], dict]:
    """Read a WGS84 GeoJSON FeatureCollection into ``{properties[key]: shapely geometry in Lambert-93}``.

    Returns the geometries and the collection's ``cq_geo`` member (provenance, may be empty).
    Invalid geometries are repaired (``make_valid``). Needs shapely (file work,
    maps); lookups use :func:`read_geojson_polygons`.
    """
    import shapely

    path = Path(path)
    features, meta = _read_features(path, key)
    out: dict[str, object] = {}
    for value, geometry in features:
        geom = shapely.from_geojson(json.dumps(geometry))
        if not geom.is_valid:
            geom = shapely.make_valid(geom)
        out[value] = _to_l93(geom)
    return out, meta


def load_baseline_communes(path: str | Path | None = None, *, polygons: bool = False) -> tuple[dict[str, object], LayerInfo]:
    """The embedded commune outlines (Lambert-93) and their :class:`LayerInfo`.

    Shapely geometries by default; with *polygons*, :class:`~cq_geo.geo.gpkg.Polygons`
    read with json and numpy only (what :func:`~cq_geo.territory.load_territory` uses).
    """
    if path is None:
        from ..paths import baseline_communes_file

        path = baseline_communes_file()
    geoms, meta = (read_geojson_polygons if polygons else read_geojson_l93)(path, "insee")
    info = LayerInfo(
        name="communes",
        status=meta.get("status", "simplified"),
        source=meta.get("source", str(path)),
        vintage=meta.get("vintage", ""),
        publisher=meta.get("publisher", ""),
        licence=meta.get("licence", ""),
        sha256=meta.get("sha256", ""),
        feature_count=len(geoms),
        edge_m=meta.get("edge_m"),
        near_m=meta.get("near_m"),
    )
    return geoms, info
