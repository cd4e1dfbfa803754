"""Helpers of the batch tests: a small exact-match geocoder and points inside real communes.

``TableGeocoder`` is a real (tiny) geocoder implementing the
:class:`cq_geo.geocode.Geocoder` protocol over a fixed table of addresses: it
stands in for the BAN index, an external dependency of the batch, not for the
batch itself. It counts its calls and can fail after N addresses, to test
``--resume``.
"""

from __future__ import annotations

import numpy as np

from cq_geo.geo.crs import l93_to_lonlat
from cq_geo.geocode.base import AddressQuery, Candidate, GeocodeResult


def _norm(text: str) -> str:
    return " ".join(text.casefold().split())


class TableGeocoder:
    """Exact-match geocoder: ``{address text: (lon, lat, quality, type, score)}``."""

    name = "test-table"

    def __init__(self, table: dict[str, tuple], fail_after: int | None = None):
        self.table = {_norm(k): v for k, v in table.items()}
        self.fail_after = fail_after
        self.calls = 0

    def geocode(self, query, limit: int = 5) -> GeocodeResult:
        q = AddressQuery(query) if isinstance(query, str) else query
        if self.fail_after is not None and self.calls >= self.fail_after:
            raise RuntimeError("service de géocodage indisponible (test)")
        self.calls += 1
        hit = self.table.get(_norm(q.text))
        if hit is None:
            return GeocodeResult(q.text, "not_found", [], reason="aucune adresse de la table ne correspond", source=self.name)
        lon, lat, quality, kind, score = hit
        cand = Candidate(lon=lon, lat=lat, label=q.text, score=score, type=kind)
        reason = {"approximate": "numéro absent : voie seule", "ambiguous": "la même voie dans deux communes"}.get(quality, "")
        return GeocodeResult(q.text, quality, [cand], reason=reason, source=self.name)

    def geocode_many(self, queries, progress=None):
        queries = list(queries)
        out = []
        for i, q in enumerate(queries, 1):
            out.append(self.geocode(q))
            if progress is not None:
                progress(i, len(queries))
        return out


def commune_points(territory) -> dict[str, tuple[float, float]]:
    """A (lon, lat) point well inside each commune of *territory* (from its own outlines)."""
    import shapely

    out = {}
    inners = shapely.buffer(territory.communes.geoms, -territory.communes.edge_m, quad_segs=8)
    for code, inner in zip(territory.commune_codes, inners):
        if inner is None or shapely.is_empty(inner):
            continue
        p = shapely.point_on_surface(inner)
        lon, lat = l93_to_lonlat(p.x, p.y)
        out[code] = (float(lon), float(lat))
    return out


def communes_without_zones(territory) -> list[str]:
    """Communes that no QPV, poche or former QVA touches (their answer needs no perimeter)."""
    touched = {c for z in territory.definition.zones for c in z.communes}
    return [c for c in territory.commune_codes if c not in touched]


def random_points_in(territory, n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """*n* (lon, lat) points spread over the territory's bounding box."""
    import shapely

    b = shapely.total_bounds(territory.communes.geoms)
    rng = np.random.default_rng(seed)
    x = rng.uniform(b[0], b[2], n)
    y = rng.uniform(b[1], b[3], n)
    return l93_to_lonlat(x, y)
