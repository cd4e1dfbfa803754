"""Polygons as lists of numpy rings: WKB and GeoPackage blobs, point in polygon, areas (numpy + standard library).

The formats are read and written by :mod:`cq_geo.geo.gpkg` (one implementation, shared with the lookups).

>>> import numpy as np
>>> sq = [[np.array([(0, 0), (2, 0), (2, 2), (0, 2), (0, 0)], float)]]
>>> polygons_area(sq), polygons_bounds(sq)
(4.0, (0.0, 0.0, 2.0, 2.0))
"""

from __future__ import annotations

import sqlite3

from .common import SRS_ID

# -- WKB and GeoPackage geometry blobs (numpy + standard library) ------------------------------
# The format is read and written by cq_geo.geo.gpkg (one implementation, shared with the lookups);
# these names stay for the store's callers.


def gpkg_blob_to_wkb(blob: bytes) -> bytes | None:
    """The WKB inside a GeoPackage geometry blob (``None`` for an empty geometry).

    >>> blob = gpkg_blob([[[(0, 0), (1, 0), (1, 1), (0, 0)]]])
    >>> len(wkb_polygons(gpkg_blob_to_wkb(blob)))
    1
    """
    from ..geo.gpkg import gpkg_blob_wkb

    return gpkg_blob_wkb(blob)


def wkb_polygons(wkb: bytes | None) -> list[list]:
    """The polygons of a WKB (Multi)Polygon — or a collection of them — as lists of rings (n × 2 numpy arrays).

    ISO and EWKB flavours, either byte order; Z and M are dropped; rings are closed.
    Other geometry types raise :class:`~cq_geo.errors.DataError`.

    >>> import struct
    >>> wkb = struct.pack("<BII", 1, 3, 1) + struct.pack("<I", 4) + struct.pack("<8d", 0, 0, 2, 0, 2, 2, 0, 0)
    >>> [r.tolist() for r in wkb_polygons(wkb)[0]]
    [[[0.0, 0.0], [2.0, 0.0], [2.0, 2.0], [0.0, 0.0]]]
    """
    from ..geo.gpkg import read_wkb

    return [] if wkb is None else read_wkb(wkb).polygons


def polygons_wkb(polys) -> bytes:
    """Little-endian 2D WKB MultiPolygon of *polys* (list of polygons, each a list of rings)."""
    from ..geo.gpkg import Polygons

    return Polygons(polys).multi_wkb


def polygons_bounds(polys):
    import numpy as np

    if not polys:
        return None
    allc = np.concatenate([r for rings in polys for r in rings])
    return float(allc[:, 0].min()), float(allc[:, 1].min()), float(allc[:, 0].max()), float(allc[:, 1].max())


def gpkg_blob(polys, srs_id: int = SRS_ID) -> bytes:
    """A GeoPackage geometry blob (header with the xy envelope + WKB MultiPolygon) for *polys*."""
    from ..geo.gpkg import Polygons, to_gpkg_blob

    return to_gpkg_blob(Polygons(polys), srs_id=srs_id)


def register_sql_functions(con: sqlite3.Connection) -> None:
    """The functions GDAL's R-tree triggers call (``ST_IsEmpty``, ``ST_MinX``…), so sqlite3 alone can write."""
    from ..geo.gpkg import register_sql_functions

    register_sql_functions(con)


def points_in_polygons(x, y, polys):
    """Boolean array: which points (*x*, *y* arrays) lie in *polys* (even-odd rule per polygon; numpy only).

    >>> import numpy as np
    >>> sq = [[np.array([(0, 0), (2, 0), (2, 2), (0, 2), (0, 0)], float)]]
    >>> points_in_polygons(np.array([1.0, 3.0]), np.array([1.0, 1.0]), sq).tolist()
    [True, False]
    """
    import numpy as np

    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    out = np.zeros(len(x), dtype=bool)
    for rings in polys:
        inside = np.zeros(len(x), dtype=bool)
        for r in rings:
            x0, y0, x1, y1 = r[:-1, 0], r[:-1, 1], r[1:, 0], r[1:, 1]
            for s in range(0, len(x), 512):
                px, py = x[s:s + 512, None], y[s:s + 512, None]
                cond = (y0 > py) != (y1 > py)
                with np.errstate(divide="ignore", invalid="ignore"):
                    xint = x0 + (py - y0) * (x1 - x0) / (y1 - y0)
                cross = cond & (px < xint)
                inside[s:s + 512] ^= (np.count_nonzero(cross, axis=1) % 2).astype(bool)
        out |= inside
    return out


def polygons_area(polys) -> float:
    """Area of *polys* (exterior rings minus holes, shoelace formula)."""
    total = 0.0
    for rings in polys:
        for i, r in enumerate(rings):
            a = 0.5 * abs(float((r[:-1, 0] * r[1:, 1] - r[1:, 0] * r[:-1, 1]).sum()))
            total += a if i == 0 else -a
    return total


def shapely_or_none():
    """shapely if importable (repairs, unions, overlaps), else None (numpy checks only)."""
    try:
        import shapely
    except ImportError:
        return None
    return shapely


def polys_of(geom) -> list:
    """Polygons (numpy rings) of a shapely geometry, WKB bytes, or polys already."""
    if geom is None:
        return []
    if isinstance(geom, (bytes, bytearray, memoryview)):
        return wkb_polygons(bytes(geom))
    if isinstance(geom, list):
        return geom
    import shapely

    return wkb_polygons(shapely.to_wkb(geom, output_dimension=2))
