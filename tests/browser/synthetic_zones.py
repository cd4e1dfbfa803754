"""The real CAPH definition and embedded commune outlines with SYNTHETIC zone perimeters.

No official QPV or poche perimeter can ship with cq-geo, so the map tests draw
made-up squares instead: each zone of type ``perimeter`` gets a small square
inside its first commune (« synthétique »). They say
nothing about where the real QPV are.
"""

from __future__ import annotations

import numpy as np
import shapely
from shapely import box

from cq_geo.geo.layers import load_baseline_communes
from cq_geo.model import load_definition
from cq_geo.territory import Territory

#: Side of the synthetic squares (metres) per tier.
SIDES = {"qpv": 300.0, "poche": 160.0, "qva": 220.0}
_OFFSETS = [(0, 0), (420, 0), (-420, 0), (0, 420), (0, -420), (420, 420), (-420, -420), (420, -420), (-420, 420),
            (840, 0), (-840, 0), (0, 840), (0, -840)]


def synthetic_zone_geoms(definition, communes, qpv_status: str = "official") -> dict:
    """``{zone code: (square in Lambert-93, status)}`` for every perimeter zone.

    The synthetic QPV squares get *qpv_status* (``official`` by default, so that
    points inside them are plain « dans un QPV » answers); the others ``provisional``.
    """
    out, used = {}, []
    for zone in definition.zones:
        if zone.geometry != "perimeter":
            continue
        commune = communes[zone.communes[0]]
        centre = shapely.get_point(shapely.maximum_inscribed_circle(commune, 20.0), 0)
        half = SIDES[zone.tier] / 2
        for dx, dy in _OFFSETS:
            x, y = centre.x + dx, centre.y + dy
            square = box(x - half, y - half, x + half, y + half)
            if commune.contains(square) and not any(square.intersects(u) for u in used):
                break
        else:  # pragma: no cover - every CAPH commune holds its squares
            raise AssertionError(f"no room for a synthetic square of {zone.code}")
        used.append(square)
        out[zone.code] = (square, qpv_status if zone.tier == "qpv" else "provisional")
    return out


def territory_with_synthetic_zones() -> Territory:
    """CAPH (real definition, embedded outlines) with every perimeter zone drawn as a synthetic square."""
    definition = load_definition()
    geoms, info = load_baseline_communes()
    return Territory(definition, geoms, info, zone_geoms=synthetic_zone_geoms(definition, geoms))


def random_points(territory, n: int, seed: int = 6):
    """*n* WGS84 points: about a fifth inside synthetic QPV squares, the rest spread over the territory's box."""
    from cq_geo.geo.crs import l93_to_lonlat

    rng = np.random.default_rng(seed)
    x0, y0, x1, y1 = shapely.total_bounds(territory.outline.geoms)
    x = rng.uniform(x0, x1, n)
    y = rng.uniform(y0, y1, n)
    qpv = territory.tiers["qpv"].index
    if qpv is not None:
        k = n // 5
        pick = rng.integers(0, len(qpv.geoms), k)
        bounds = shapely.bounds(qpv.geoms[pick])
        x[:k] = rng.uniform(bounds[:, 0] + 20, bounds[:, 2] - 20)
        y[:k] = rng.uniform(bounds[:, 1] + 20, bounds[:, 3] - 20)
    return l93_to_lonlat(x, y)
