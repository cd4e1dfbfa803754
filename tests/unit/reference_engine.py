"""REFERENCE ONLY (tests): the former lookup engine on shapely buffers, until issue 11.

cq_geo.geo.engine now computes the statuses exactly with numpy alone; this copy of
the former engine is kept for tests/unit/test_engine_exact.py, which checks
that the two differ only where the buffers' approximation says they may.

Former docstring: vectorised point-in-zone engine (shapely 2, Lambert-93 metres).

For each zone the index keeps four prepared polygons: the zone, the zone shrunk
by ``edge_m`` (*inner*), grown by ``edge_m`` (*edge*) and grown by ``near_m``
(*outer*). A point then gets its status from point-in-polygon tests on raw
x/y arrays (``shapely.contains_xy``), without building a shapely Point per
input point:

==========  ===================================================
``inside``    in the inner polygon: inside, farther than ``edge_m`` from the edge
``boundary``  within ``edge_m`` of the edge, on either side
``near``      outside, within ``near_m``
``outside``   farther than ``near_m`` (or than the distance search radius)
==========  ===================================================

Points are bucketed once into the cells of a grid (:class:`SortedPoints`). Per
zone, the cells wholly inside its inner polygon give ``inside`` points with no
test at all; only points in the cells its tolerance band meets are tested. A
few points use a one-cell grid and a bounding-box filter instead. Exact distances to the boundary (``shapely.distance``
on Point objects) are computed only for the points that need one.

Why not ``STRtree.query(points, predicate=...)``: it needs a Point object per
input point, which alone costs more than the whole classification here
(see ``benchmarks/lookup.py``). A shapely ``STRtree`` of the grid's cell
boxes is used once per grid to find which cells each zone covers.

Buffers approximate arcs with 8 segments per quarter circle: the tolerance
bands are exact to 0.5 % of their width.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

import numpy as np
import shapely

__all__ = ["OUTSIDE", "NEAR", "BOUNDARY", "INSIDE", "UNKNOWN", "STATUS_NAMES", "ZoneIndex", "SortedPoints"]

OUTSIDE, NEAR, BOUNDARY, INSIDE, UNKNOWN = 0, 1, 2, 3, 4
#: Status code → name used in answers and columns.
STATUS_NAMES = ("outside", "near", "boundary", "inside", "unknown")
_QUAD_SEGS = 8
#: Below this many points a one-cell grid is used (no cell cover to build).
SMALL_BATCH = 5000
_COVER_LOCK = threading.Lock()


class GridSpec:
    """A regular grid of ``n`` × ``n`` cells over a box (Lambert-93 metres)."""

    def __init__(self, bounds, n: int = 128):
        minx, miny, maxx, maxy = (float(v) for v in bounds)
        self.n = int(n)
        self.minx, self.miny = minx, miny
        self.dx = max(maxx - minx, 1.0) / n
        self.dy = max(maxy - miny, 1.0) / n
        self.key = (minx, miny, self.dx, self.dy, n)

    def cell_boxes(self):
        """The cells as shapely boxes, row-major (cell = row * n + col)."""
        i = np.arange(self.n * self.n)
        col, row = i % self.n, i // self.n
        x0 = self.minx + col * self.dx
        y0 = self.miny + row * self.dy
        return shapely.box(x0, y0, x0 + self.dx, y0 + self.dy)

    def cells_of_box(self, minx, miny, maxx, maxy) -> np.ndarray:
        """Cells meeting a box."""
        c0 = max(int((minx - self.minx) // self.dx), 0)
        c1 = min(int((maxx - self.minx) // self.dx), self.n - 1)
        r0 = max(int((miny - self.miny) // self.dy), 0)
        r1 = min(int((maxy - self.miny) // self.dy), self.n - 1)
        if c0 > c1 or r0 > r1:
            return np.zeros(0, dtype="int64")
        rows = np.arange(r0, r1 + 1)[:, None]
        return (rows * self.n + np.arange(c0, c1 + 1)[None, :]).ravel()


class SortedPoints:
    """Points bucketed once into a grid's cells, shared by every layer's classification.

    Points outside the grid (or not finite) belong to no cell: no zone can hold
    them, as the grid covers every zone's tolerance band.
    """

    def __init__(self, x, y, grid: GridSpec):
        self.x = np.asarray(x, dtype="float64")
        self.y = np.asarray(y, dtype="float64")
        self.grid = grid
        n = grid.n
        with np.errstate(invalid="ignore"):
            col = np.floor((self.x - grid.minx) / grid.dx)
            row = np.floor((self.y - grid.miny) / grid.dy)
        ok = (col >= 0) & (col < n) & (row >= 0) & (row < n)  # False for NaN
        cell = np.full(len(self.x), n * n, dtype="int32")
        cell[ok] = (row[ok] * n + col[ok]).astype("int32")
        dtype = "int16" if n * n < 2**15 else "int32"  # int16 sorts by radix
        self.order = np.argsort(cell.astype(dtype), kind="stable")
        self.start = np.zeros(n * n + 2, dtype="int64")
        np.cumsum(np.bincount(cell, minlength=n * n + 1), out=self.start[1:])

    def __len__(self) -> int:
        return len(self.x)

    def in_cells(self, cells: np.ndarray) -> np.ndarray:
        """Indices (into the original arrays) of the points in *cells*."""
        if not len(cells):
            return np.zeros(0, dtype="int64")
        starts, ends = self.start[cells], self.start[cells + 1]
        lens = ends - starts
        total = int(lens.sum())
        if not total:
            return np.zeros(0, dtype="int64")
        offsets = np.repeat(starts - np.concatenate(([0], np.cumsum(lens)[:-1])), lens)
        return self.order[np.arange(total) + offsets]


@dataclass
class Pairs:
    """Point-zone pairs whose status is better than ``outside``."""

    point: np.ndarray  # int64 index of the point
    zone: np.ndarray  # int32 index of the zone
    status: np.ndarray  # int8 status code
    in_zone: np.ndarray  # bool: the point is in the zone itself (edge included)


class ZoneIndex:
    """Zones of one layer, ready for vectorised point classification.

    Parameters
    ----------
    geoms : array of shapely (Multi)Polygons in Lambert-93 metres.
    edge_m : points within this distance of a zone's edge are ``boundary``
        (a number, or one per zone).
    near_m : outside points within this distance are ``near`` (``>= edge_m``;
        a number, or one per zone).

    Examples
    --------
    >>> from shapely import box
    >>> idx = ZoneIndex([box(0, 0, 100, 100)], edge_m=1.0, near_m=10.0)
    >>> [STATUS_NAMES[s] for s in idx.best([50, 100, 105, 150], [50, 50, 50, 50]).status]
    ['inside', 'boundary', 'near', 'outside']
    """

    def __init__(self, geoms, edge_m: float, near_m: float):
        self.geoms = np.asarray(geoms, dtype=object)
        self.edge_m = np.broadcast_to(np.asarray(edge_m, dtype="float64"), self.geoms.shape).copy()
        self.near_m = np.broadcast_to(np.asarray(near_m, dtype="float64"), self.geoms.shape).copy()
        if (self.near_m < self.edge_m).any() or (self.edge_m < 0).any():
            raise ValueError("need 0 <= edge_m <= near_m")
        self.inner = shapely.buffer(self.geoms, -self.edge_m, quad_segs=_QUAD_SEGS)
        self.edge = shapely.buffer(self.geoms, self.edge_m, quad_segs=_QUAD_SEGS)
        self.outer = shapely.buffer(self.geoms, self.near_m, quad_segs=_QUAD_SEGS)
        self.boundaries = shapely.boundary(self.geoms)
        for arr in (self.geoms, self.inner, self.edge, self.outer, self.boundaries):
            shapely.prepare(arr)
        self.outer_bounds = shapely.bounds(self.outer)
        self._covers: dict = {}
        # A prepared geometry builds its search structures at its first test: one point
        # test of each kind (and a distance) here, so that point tests from any thread only
        # read them; the polygon tests of cover() take a lock.
        for arr in (self.geoms, self.inner, self.edge, self.outer, self.boundaries):
            b = shapely.bounds(arr)  # a point in each envelope (NaN for empty ones: nothing to build)
            with np.errstate(invalid="ignore"):
                cx, cy = (b[:, 0] + b[:, 2]) / 2, (b[:, 1] + b[:, 3]) / 2
            if arr is self.boundaries:
                shapely.distance(arr, shapely.points(np.nan_to_num(cx), np.nan_to_num(cy)))
            else:
                shapely.contains_xy(arr, cx, cy)
                shapely.intersects_xy(arr, cx, cy)

    def __len__(self) -> int:
        return len(self.geoms)

    # -- classification ------------------------------------------------------
    def _classify_zone(self, z: int, pts: SortedPoints):
        """Candidates of zone *z* closer than ``near_m``: (indices, status, in_zone)."""
        full_cells, mixed_cells = self.cover(pts.grid)[z]
        full = pts.in_cells(full_cells)  # cells wholly inside the inner polygon
        cand = pts.in_cells(mixed_cells)
        cx, cy = pts.x[cand], pts.y[cand]
        inside = shapely.contains_xy(self.inner[z], cx, cy)
        rest = np.flatnonzero(~inside)
        if len(rest):
            rx, ry = cx[rest], cy[rest]
            in_outer = shapely.intersects_xy(self.outer[z], rx, ry)
            rest, rx, ry = rest[in_outer], rx[in_outer], ry[in_outer]
        keep = inside.copy()
        keep[rest] = True
        status = np.where(inside, INSIDE, NEAR).astype("int8")
        in_zone = inside.copy()
        if len(rest):
            in_edge = shapely.intersects_xy(self.edge[z], rx, ry)
            status[rest[in_edge]] = BOUNDARY
            in_zone[rest] = shapely.intersects_xy(self.geoms[z], rx, ry)
        return (
            np.concatenate((full, cand[keep])),
            np.concatenate((np.full(len(full), INSIDE, dtype="int8"), status[keep])),
            np.concatenate((np.ones(len(full), dtype=bool), in_zone[keep])),
        )

    def _candidate_zones(self, pts: SortedPoints):
        """Zones worth testing: all of them for a gridded batch; for a few points,
        those whose tolerance band's bounding box holds one of the points."""
        if pts.grid.n > 1:
            return range(len(self.geoms))
        b = self.outer_bounds
        x, y = pts.x[:, None], pts.y[:, None]
        with np.errstate(invalid="ignore"):
            hit = ((x >= b[:, 0]) & (x <= b[:, 2]) & (y >= b[:, 1]) & (y <= b[:, 3])).any(axis=0)
        return np.flatnonzero(hit)

    def cover(self, grid: GridSpec) -> list[tuple[np.ndarray, np.ndarray]]:
        """Per zone, the grid cells wholly inside its inner polygon and the cells its band meets.

        Built once per grid, by one thread at a time: the polygon-against-box tests
        make GEOS build more search structures in the prepared polygons, a step that
        two threads must not take together (it crashed when they did).
        """
        cached = self._covers.get(grid.key)
        if cached is not None:
            return cached
        with _COVER_LOCK:
            cached = self._covers.get(grid.key)
            if cached is None:
                boxes = grid.cell_boxes()
                tree = shapely.STRtree(boxes)
                cached = []
                for z in range(len(self.geoms)):
                    full = tree.query(self.inner[z], predicate="contains_properly")
                    meet = tree.query(self.outer[z], predicate="intersects")
                    cached.append((np.sort(full), np.setdiff1d(meet, full)))
                self._covers[grid.key] = cached
        return cached

    def default_grid(self, n_points: int = 0) -> GridSpec:
        """A grid over this layer's tolerance bands, fine enough for *n_points* points.

        A few points are tested zone by zone (one cell): building the cell
        cover of a fine grid would cost more than it saves.
        """
        if not len(self.geoms):
            return GridSpec((0, 0, 1, 1), 1)
        return GridSpec(shapely.total_bounds(self.outer), 64 if n_points >= SMALL_BATCH else 1)

    def pairs(self, x, y=None, pts: SortedPoints | None = None) -> Pairs:
        """Every (point, zone) pair closer than ``near_m`` with its status."""
        if pts is None:
            pts = SortedPoints(x, y, self.default_grid(np.size(x)))
        out_p, out_z, out_s, out_in = [], [], [], []
        for z in self._candidate_zones(pts):
            found = self._classify_zone(z, pts)
            if found is None or not len(found[0]):
                continue
            out_p.append(found[0])
            out_z.append(np.full(len(found[0]), z, dtype="int32"))
            out_s.append(found[1])
            out_in.append(found[2])
        if not out_p:
            empty = np.zeros(0, dtype="int64")
            return Pairs(empty, empty.astype("int32"), empty.astype("int8"), empty.astype(bool))
        return Pairs(np.concatenate(out_p), np.concatenate(out_z), np.concatenate(out_s), np.concatenate(out_in))

    def best(self, x, y=None, pts: SortedPoints | None = None) -> "Best":
        """The best zone of each point: inside > boundary (in the zone first) > near.

        Returns a :class:`Best` with ``zone`` (-1 when none is within ``near_m``)
        and ``status`` arrays aligned with the input points. On a tie the zone
        listed first wins.
        """
        if pts is None:
            pts = SortedPoints(x, y, self.default_grid(np.size(x)))
        n = len(pts)
        zone = np.full(n, -1, dtype="int32")
        score = np.zeros(n, dtype="int8")  # status * 2 + in_zone; 0 = nothing near
        for z in self._candidate_zones(pts):
            found = self._classify_zone(z, pts)
            if found is None:
                continue
            cand, status, in_zone = found
            s = status * 2 + in_zone
            better = s > score[cand]
            cand = cand[better]
            zone[cand] = z
            score[cand] = s[better]
        return Best(zone=zone, status=(score // 2).astype("int8"), in_zone=(score % 2).astype(bool))

    # -- distances -----------------------------------------------------------
    def distance(self, x, y, zone) -> np.ndarray:
        """Exact distance (m) from each point to the boundary of its *zone* (NaN where zone < 0)."""
        x, y, zone = np.asarray(x, "float64"), np.asarray(y, "float64"), np.asarray(zone)
        out = np.full(len(x), np.nan)
        ok = zone >= 0
        if ok.any():
            out[ok] = shapely.distance(shapely.points(x[ok], y[ok]), self.boundaries[zone[ok]])
        return out


@dataclass
class Best:
    """Best zone per point (see :meth:`ZoneIndex.best`)."""

    zone: np.ndarray
    status: np.ndarray
    in_zone: np.ndarray
