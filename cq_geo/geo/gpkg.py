"""Polygons as numpy rings, read from and written to WKB and GeoPackage blobs (stdlib + numpy).

The lookup path ("territory on disk -> answer for a point") must run in the
Python that QGIS brings, with numpy and the standard library only: no
shapely, no GDAL. This module reads the geometries it needs:

- WKB ``Polygon`` and ``MultiPolygon`` (ISO and EWKB flavours; Z and M
  values are dropped; both byte orders) into :class:`Polygons`;
- GeoPackage geometry blobs (``GP`` header, optional envelope, then WKB);
- GeoJSON geometry dicts (``Polygon``, ``MultiPolygon``);

and writes :class:`Polygons` (or any WKB) back as little-endian WKB and as
GeoPackage blobs with their envelope, for the data store.

Examples
--------
>>> sq = Polygons([[np.array([[0, 0], [4, 0], [4, 4], [0, 4], [0, 0]], dtype=float)]])
>>> sq.bounds
(0.0, 0.0, 4.0, 4.0)
>>> blob = to_gpkg_blob(sq.wkb, srs_id=2154)
>>> blob[:2], read_gpkg_blob(blob).bounds
(b'GP', (0.0, 0.0, 4.0, 4.0))
>>> big_endian = bytes([0]) + struct.pack(">II", 3, 1) + struct.pack(">I", 4) + struct.pack(">8d", 0, 0, 1, 0, 1, 1, 0, 0)
>>> read_wkb(big_endian).polygons[0][0].tolist()
[[0.0, 0.0], [1.0, 0.0], [1.0, 1.0], [0.0, 0.0]]
>>> read_geojson({"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [1, 1], [0, 0]]]}).area
0.5
"""

from __future__ import annotations

import struct

import numpy as np

from ..errors import DataError

__all__ = [
    "Polygons", "read_wkb", "read_gpkg_blob", "read_geojson", "as_polygons", "to_gpkg_blob", "gpkg_blob_wkb",
    "register_sql_functions",
]

_POLYGON, _MULTIPOLYGON = 3, 6
_ENVELOPE_DOUBLES = {0: 0, 1: 4, 2: 6, 3: 6, 4: 8}


class Polygons:
    """A polygonal geometry as numpy rings: a list of polygons, each a list of
    closed rings (``(k, 2)`` float64 arrays, the exterior first, then the holes).

    It is what the lookup engine works on. ``wkb`` and ``__geo_interface__``
    hand it to other libraries (``shapely.from_wkb(p.wkb)``,
    ``QgsGeometry.fromWkb(p.wkb)``).
    """

    __slots__ = ("polygons",)

    def __init__(self, polygons):
        out = []
        for poly in polygons:
            rings = []
            for ring in poly:
                r = np.ascontiguousarray(np.asarray(ring, dtype="float64")[:, :2])
                if len(r) and (r[0] != r[-1]).any():
                    r = np.vstack((r, r[:1]))  # close the ring
                if len(r) >= 4:
                    rings.append(r)
            if rings:
                out.append(rings)
        self.polygons = out

    def __repr__(self) -> str:
        return f"<Polygons: {len(self.polygons)} polygon(s), {sum(len(r) for p in self.polygons for r in p)} points>"

    @property
    def is_empty(self) -> bool:
        return not self.polygons

    @property
    def rings(self) -> list[np.ndarray]:
        """Every ring, exteriors and holes."""
        return [r for p in self.polygons for r in p]

    @property
    def bounds(self) -> tuple[float, float, float, float]:
        """``(minx, miny, maxx, maxy)`` (NaN when empty)."""
        if not self.polygons:
            return (float("nan"),) * 4
        pts = np.concatenate(self.rings)
        lo, hi = pts.min(axis=0), pts.max(axis=0)
        return float(lo[0]), float(lo[1]), float(hi[0]), float(hi[1])

    @property
    def area(self) -> float:
        """Area (shoelace; holes subtracted)."""
        total = 0.0
        for poly in self.polygons:
            for i, r in enumerate(poly):
                r = r - r[0]  # small numbers: no cancellation
                a = 0.5 * abs(float(np.dot(r[:-1, 0], r[1:, 1]) - np.dot(r[1:, 0], r[:-1, 1])))
                total += a if i == 0 else -a
        return total

    def transform(self, func) -> "Polygons":
        """A copy with every ring's coordinates passed through ``func(x, y) -> (x, y)``."""
        return Polygons([[np.column_stack(func(r[:, 0], r[:, 1])) for r in poly] for poly in self.polygons])

    @property
    def wkb(self) -> bytes:
        """Little-endian ISO WKB: a ``MultiPolygon`` (a ``Polygon`` when there is one part)."""
        def polygon(rings) -> bytes:
            parts = [struct.pack("<BII", 1, _POLYGON, len(rings))]
            for r in rings:
                parts.append(struct.pack("<I", len(r)))
                parts.append(np.ascontiguousarray(r, dtype="<f8").tobytes())
            return b"".join(parts)

        if len(self.polygons) == 1:
            return polygon(self.polygons[0])
        return self.multi_wkb

    @property
    def multi_wkb(self) -> bytes:
        """Little-endian ISO WKB ``MultiPolygon``, whatever the number of parts (GeoPackage layers)."""
        parts = [struct.pack("<BII", 1, _MULTIPOLYGON, len(self.polygons))]
        for rings in self.polygons:
            parts.append(struct.pack("<BII", 1, _POLYGON, len(rings)))
            for r in rings:
                parts.append(struct.pack("<I", len(r)))
                parts.append(np.ascontiguousarray(r, dtype="<f8").tobytes())
        return b"".join(parts)

    @property
    def __geo_interface__(self) -> dict:
        coords = [[r.tolist() for r in poly] for poly in self.polygons]
        if len(coords) == 1:
            return {"type": "Polygon", "coordinates": coords[0]}
        return {"type": "MultiPolygon", "coordinates": coords}


# -- WKB ------------------------------------------------------------------------------------
class _NotPolygon(ValueError):
    pass


def read_wkb(wkb) -> Polygons:
    """A WKB ``Polygon`` or ``MultiPolygon`` (2D, Z, M or ZM; ISO or EWKB; either byte order).

    A ``GeometryCollection`` of polygons is read as a multipolygon; other
    types raise :class:`~cq_geo.errors.DataError` (« un polygone est attendu »).
    """
    data = memoryview(bytes(wkb))
    try:
        polys, _ = _read_geometry(data, 0, top=True)
    except _NotPolygon as exc:
        raise DataError(str(exc)) from exc
    except (struct.error, ValueError, IndexError) as exc:
        raise DataError(f"géométrie WKB illisible ({exc})") from exc
    return Polygons(polys)


def _header(data, pos: int):
    order = "<" if data[pos] == 1 else ">"
    if data[pos] not in (0, 1):
        raise ValueError(f"ordre d'octets inconnu {data[pos]}")
    (code,) = struct.unpack_from(order + "I", data, pos + 1)
    pos += 5
    dims = 2
    if code & 0x20000000:  # EWKB SRID
        pos += 4
    if code & 0x80000000:
        dims += 1
    if code & 0x40000000:
        dims += 1
    code &= 0x0FFFFFFF
    kind, iso = code % 1000, code // 1000
    dims += {0: 0, 1: 1, 2: 1, 3: 2}.get(iso, 0)
    return order, kind, dims, pos


def _read_polygon(data, pos: int, order: str, dims: int):
    (nrings,) = struct.unpack_from(order + "I", data, pos)
    pos += 4
    rings = []
    dt = np.dtype(order + "f8")
    for _ in range(nrings):
        (npts,) = struct.unpack_from(order + "I", data, pos)
        pos += 4
        arr = np.frombuffer(data, dtype=dt, count=npts * dims, offset=pos).reshape(npts, dims)[:, :2]
        rings.append(arr.astype("float64"))
        pos += npts * dims * 8
    return rings, pos


def _read_geometry(data, pos: int, top: bool = False):
    order, kind, dims, pos = _header(data, pos)
    if kind == _POLYGON:
        rings, pos = _read_polygon(data, pos, order, dims)
        return [rings], pos
    if kind == _MULTIPOLYGON or (kind == 7 and top):  # a collection of polygons is read as a multipolygon
        (n,) = struct.unpack_from(order + "I", data, pos)
        pos += 4
        polys = []
        for _ in range(n):
            part, pos = _read_geometry(data, pos)
            polys.extend(part)
        return polys, pos
    names = {1: "point", 2: "ligne", 4: "multipoint", 5: "multiligne"}
    raise _NotPolygon(f"un polygone est attendu (trouvé : {names.get(kind, f'type WKB {kind}')})")


# -- GeoPackage blobs ---------------------------------------------------------------------------
def gpkg_blob_wkb(blob) -> bytes | None:
    """The WKB inside a GeoPackage geometry blob (``None`` for an empty geometry)."""
    if blob is None:
        return None
    blob = bytes(blob)
    if blob[:2] != b"GP" or len(blob) < 8:
        raise DataError("géométrie GeoPackage illisible (en-tête « GP » absent)")
    flags = blob[3]
    if flags & 0b00010000:
        return None
    envelope = _ENVELOPE_DOUBLES.get((flags >> 1) & 0b111)
    if envelope is None:
        raise DataError("géométrie GeoPackage illisible (enveloppe inconnue)")
    return blob[8 + 8 * envelope:]


def read_gpkg_blob(blob) -> Polygons | None:
    """A GeoPackage geometry blob as :class:`Polygons` (``None`` for NULL or empty)."""
    wkb = gpkg_blob_wkb(blob)
    if wkb is None:
        return None
    polys = read_wkb(wkb)
    return None if polys.is_empty else polys


def to_gpkg_blob(wkb, srs_id: int = 2154) -> bytes:
    """A GeoPackage geometry blob (little-endian header with an XY envelope) around *wkb*.

    *wkb* is WKB bytes (kept as it is) or :class:`Polygons` (written as a
    ``MultiPolygon``); an empty geometry gets the empty flag.
    """
    polys = wkb if isinstance(wkb, Polygons) else read_wkb(wkb) if wkb else Polygons([])
    if isinstance(wkb, Polygons):
        wkb = wkb.multi_wkb
    if polys.is_empty:
        body = struct.pack("<BII", 1, _MULTIPOLYGON, 0)
        return b"GP" + bytes([0, 0b00010001]) + struct.pack("<i", srs_id) + body
    minx, miny, maxx, maxy = polys.bounds
    return b"GP" + bytes([0, 0b00000011]) + struct.pack("<i4d", srs_id, minx, maxx, miny, maxy) + bytes(wkb)


def _blob_bounds(blob):
    """(minx, maxx, miny, maxy) of a GeoPackage blob, None when empty or unreadable."""
    if blob is None:
        return None
    blob = bytes(blob)
    if blob[:2] != b"GP" or len(blob) < 8 or blob[3] & 0b00010000:
        return None
    flags = blob[3]
    if (flags >> 1) & 0b111:
        order = "<" if flags & 1 else ">"
        return struct.unpack_from(order + "4d", blob, 8)
    try:
        polys = read_gpkg_blob(blob)
    except DataError:
        return None
    if polys is None:
        return None
    minx, miny, maxx, maxy = polys.bounds
    return minx, maxx, miny, maxy


def register_sql_functions(con) -> None:
    """Give a ``sqlite3`` connection the SQL functions of GeoPackage's R-tree triggers
    (``ST_IsEmpty``, ``ST_MinX``, ``ST_MaxX``, ``ST_MinY``, ``ST_MaxY``), so that rows can be
    written with the standard library into a layer with a spatial index (as GDAL makes them).
    """
    def part(i):
        def f(blob):
            b = _blob_bounds(blob)
            return None if b is None else b[i]
        return f

    con.create_function("ST_IsEmpty", 1, lambda blob: 1 if _blob_bounds(blob) is None else 0, deterministic=True)
    for i, name in enumerate(("ST_MinX", "ST_MaxX", "ST_MinY", "ST_MaxY")):
        con.create_function(name, 1, part(i), deterministic=True)


# -- GeoJSON and anything else ---------------------------------------------------------------
def read_geojson(geometry: dict) -> Polygons:
    """A GeoJSON ``Polygon`` or ``MultiPolygon`` geometry dict."""
    kind = geometry.get("type")
    coords = geometry.get("coordinates")
    if kind == "Polygon":
        return Polygons([coords])
    if kind == "MultiPolygon":
        return Polygons(coords)
    if kind == "GeometryCollection":
        out = []
        for g in geometry.get("geometries", []):
            out.extend(read_geojson(g).polygons)
        return Polygons(out)
    raise DataError(f"géométrie GeoJSON {kind!r} non surfacique (Polygon ou MultiPolygon attendu)")


def as_polygons(geom) -> Polygons | None:
    """:class:`Polygons` from what callers hold: Polygons, WKB or GeoPackage bytes,
    a GeoJSON dict, or any object with ``wkb`` bytes (shapely) or ``__geo_interface__``.

    Nothing is imported: a shapely geometry gives its WKB.
    """
    if geom is None or isinstance(geom, Polygons):
        return geom
    if isinstance(geom, (bytes, bytearray, memoryview)):
        return read_gpkg_blob(geom) if bytes(geom[:2]) == b"GP" else read_wkb(geom)
    if isinstance(geom, dict):
        return read_geojson(geom)
    wkb = getattr(geom, "wkb", None)
    if isinstance(wkb, bytes):
        return read_wkb(wkb)
    gi = getattr(geom, "__geo_interface__", None)
    if isinstance(gi, dict):
        return read_geojson(gi)
    raise DataError(f"géométrie non reconnue : {type(geom).__name__}")
