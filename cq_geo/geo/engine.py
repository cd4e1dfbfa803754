"""Point-in-zone engine on numpy alone (Lambert-93 metres).

A zone is a set of polygon rings (:class:`~cq_geo.geo.gpkg.Polygons`); the engine
works on their edges. For a point and a zone, with ``d`` the exact distance
from the point to the zone's boundary and the tolerances ``edge_m <= near_m``:

==========  ===============================================================
``inside``    in the zone and ``d > edge_m``
``boundary``  ``d <= edge_m``, on either side
``near``      outside the zone and ``edge_m < d <= near_m``
``outside``   otherwise
==========  ===============================================================

These are exact: "in the zone" is a crossing-number test (even-odd rule,
half-open in y, as PNPOLY) and ``d`` the minimum of exact point–segment
distances. The tests check both against shapely/GEOS on more than a million
points (``tests/unit/test_engine_exact.py``).

How the work per point stays small
----------------------------------
The points are bucketed once into the cells of a grid (:class:`SortedPoints`,
two 16-bit radix passes). For each zone and grid the index builds once
(:meth:`ZoneIndex.cover`), from the exact distance ``dc`` of each cell's centre
to the zone's edges and the centre's state (in or out, crossing numbers along
the grid rows), with ``h`` the cells' half-diagonal:

- cells with no edge within ``near_m + h`` of their centre are decided as a
  whole: ``inside`` when the centre is in the zone, nothing otherwise;
- cells inside the zone with ``dc - h > edge_m`` are ``inside`` as a whole;
- every other cell keeps its edges within ``dc + 2h`` of the centre, nearest
  first: they hold the nearest edge of every point of the cell, and every edge
  crossing the cell. A point there is tested in two passes: its distance ``u``
  to the edge nearest the centre bounds its own, so only the edges within
  ``u + |P - centre|`` of the centre matter (a handful). Whether it is in the
  zone follows from the centre's state and the edges crossed by the path
  point → (centre x, point y) → centre, which stays in the cell.
- these cells are split into :data:`SUB` × :data:`SUB` sub-cells
  (:meth:`ZoneIndex._sub_cover`): a sub-cell whose points' distances, bounded
  by its centre's exact distance ± its half-diagonal, lie on one side of every
  threshold is decided as a whole; the others get their own, shorter list,
  referenced to their centre, and are tested as above.

A few points (under :data:`SMALL_BATCH`) skip the grid: each is tested
against every edge of the zones whose bounding box (grown by ``near_m``) holds
it, which needs nothing built beforehand (a single lookup stays well under a
millisecond).

Everything is plain numpy on arrays built once: a built index is only read, so
any number of threads may classify points at the same time (numpy releases the
GIL in its loops); :meth:`ZoneIndex.cover` builds under a lock.

Examples
--------
>>> sq = Polygons([[np.array([[0, 0], [100, 0], [100, 100], [0, 100], [0, 0]], dtype=float)]])
>>> idx = ZoneIndex([sq], edge_m=1.0, near_m=10.0)
>>> [STATUS_NAMES[s] for s in idx.best([50, 100, 105, 150], [50, 50, 50, 50]).status]
['inside', 'boundary', 'near', 'outside']
>>> idx.distance([50, 105], [50, 50], [0, 0]).tolist()
[50.0, 5.0]
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

import numpy as np

from .gpkg import Polygons, as_polygons

__all__ = ["OUTSIDE", "NEAR", "BOUNDARY", "INSIDE", "UNKNOWN", "STATUS_NAMES", "ZoneIndex", "SortedPoints", "GridSpec"]

OUTSIDE, NEAR, BOUNDARY, INSIDE, UNKNOWN = 0, 1, 2, 3, 4
#: Status code → name used in answers and columns.
STATUS_NAMES = ("outside", "near", "boundary", "inside", "unknown")
#: Below this many points, no grid: each point against the edges of the zones around it.
SMALL_BATCH = 2000
#: Pairs (point, edge) evaluated per numpy pass (memory ~ 100 bytes each).
_CHUNK_PAIRS = 1 << 19
#: Mixed cells are split into SUB x SUB sub-cells, decided at once where they can be.
SUB = 4
#: Undecided sub-cells of a cell with at most this many edges keep the cell's list.
_SHORT_LIST = 3
#: Slack (m) on the bounds of a sub-cell's distances (rounding of the points' own distances is ~1e-9 m).
_SLACK_M = 1e-6
#: A cell centre closer than this to an edge is not used as a reference (its points get a full ray test).
_DEGENERATE_M = 1e-4
_COVER_LOCK = threading.Lock()


class GridSpec:
    """A regular grid of ``n`` × ``n`` cells over a box (Lambert-93 metres)."""

    def __init__(self, bounds, n: int = 128):
        minx, miny, maxx, maxy = (float(v) for v in bounds)
        self.n = int(n)
        self.minx, self.miny = minx, miny
        self.dx = max(maxx - minx, 1.0) / n
        self.dy = max(maxy - miny, 1.0) / n
        self.half_diagonal = 0.5 * float(np.hypot(self.dx, self.dy))
        self.key = (minx, miny, self.dx, self.dy, n)

    def centres(self, cells):
        """Centre coordinates of *cells* (row-major: cell = row * n + col)."""
        cells = np.asarray(cells)
        return self.minx + (cells % self.n + 0.5) * self.dx, self.miny + (cells // self.n + 0.5) * self.dy


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
        if n == 1:  # a few points: tested against the zones around them, not bucketed
            self.order = np.arange(len(self.x))
            self.start = np.array([0, len(self.x), len(self.x)], dtype="int64")
            return
        with np.errstate(invalid="ignore"):
            col = self.x - grid.minx
            col *= 1.0 / grid.dx
            np.floor(col, out=col)
            row = self.y - grid.miny
            row *= 1.0 / grid.dy
            np.floor(row, out=row)
            ok = (col >= 0) & (col < n) & (row >= 0) & (row < n)  # False for NaN
            row *= n
            row += col
            row[~ok] = n * n
        cell = row.astype("int32")
        if n * n < 2**15:
            self.order = np.argsort(cell.astype("int16"), kind="stable")  # radix sort
        else:  # two stable radix passes on 16-bit halves (a third of a comparison sort's time)
            low = np.argsort((cell & 0xFFFF).astype("uint16"), kind="stable")
            self.order = low[np.argsort((cell[low] >> 16).astype("uint16"), kind="stable")]
        self.start = np.zeros(n * n + 2, dtype="int64")
        np.cumsum(np.bincount(cell, minlength=n * n + 1), out=self.start[1:])

    def __len__(self) -> int:
        return len(self.x)

    def in_cells(self, cells: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The points in *cells*: (indices into the original arrays, position of their cell in *cells*)."""
        if not len(cells):
            return np.zeros(0, dtype="int64"), np.zeros(0, dtype="int64")
        starts = self.start[cells]
        lens = self.start[cells + 1] - starts
        total = int(lens.sum())
        which = np.repeat(np.arange(len(cells)), lens)
        if not total:
            return np.zeros(0, dtype="int64"), which
        offsets = np.repeat(starts - (np.cumsum(lens) - lens), lens)
        return self.order[np.arange(total) + offsets], which


@dataclass
class Pairs:
    """Point-zone pairs whose status is better than ``outside``.

    ``distance`` is the exact distance to the zone's boundary where it was
    computed (points tested one by one), NaN where the point's whole grid cell
    was decided at once (then ``distance > edge_m``).
    """

    point: np.ndarray  # int64 index of the point
    zone: np.ndarray  # int32 index of the zone
    status: np.ndarray  # int8 status code
    in_zone: np.ndarray  # bool: the point is in the zone itself (edge included)
    distance: np.ndarray  # float64, NaN where not computed


@dataclass
class Best:
    """Best zone per point (see :meth:`ZoneIndex.best`)."""

    zone: np.ndarray
    status: np.ndarray
    in_zone: np.ndarray
    distance: np.ndarray


class _EdgeLists:
    """Per entry (a zone, and a reference point or none), the list of edges to test.

    An entry with a reference point (``cx``, ``cy``, ``state``) tests the path
    point → (cx, y) → (cx, cy); one without (``cx = +inf``) a full horizontal ray.
    """

    def __init__(self, zone, cx, cy, state, start, count, edges, ax, ay, bx, by, de=None):
        self.zone, self.cx, self.cy, self.state = zone, cx, cy, state
        self.start, self.count = start, count
        self.edges, self.de = edges, de
        # distance of each listed edge from the reference point, increasing within an entry: a point
        # P needs only the edges with de <= d(P, nearest edge of the reference) + |P - reference|
        self.key = None
        if de is not None and len(de):
            self.width = 2.0 * float(de.max()) + 1.0
            self.key = np.maximum.accumulate(np.repeat(np.arange(len(count), dtype="float64") * self.width, count) + de)
        self.ax, self.ay, self.by = ax[edges], ay[edges], by[edges]
        self.dx = bx[edges] - self.ax
        self.dy = self.by - self.ay
        with np.errstate(divide="ignore", invalid="ignore"):
            self.il2 = 1.0 / (self.dx * self.dx + self.dy * self.dy)
            self.sx = self.dx / self.dy  # inf for horizontal edges (never spanning a y)
            ref_x = np.repeat(cx, count)
            ref_y = np.repeat(cy, count)
            bxx = bx[edges]
            spans = (self.ax > ref_x) != (bxx > ref_x)  # half-open in x, as the ray is in y
            yi = self.ay + (ref_x - self.ax) * (self.dy / self.dx)
        self.yi = np.where(spans, yi, np.nan)  # where the edge crosses the vertical through the reference
        self.below = spans & (ref_y < self.yi)


def _states_of(gkey, zkey, zstate):
    """The state of each key of *gkey* in the sorted keys *zkey* (states *zstate*); False where absent."""
    pos = np.searchsorted(zkey, gkey)
    pos_ok = pos < len(zkey)
    gstate = np.zeros(len(gkey), dtype=bool)
    found = pos_ok.copy()
    found[pos_ok] = zkey[pos[pos_ok]] == gkey[pos_ok]
    gstate[found] = zstate[pos[found]]
    return gstate


def _segment_d2(px, py, ax, ay, dx, dy, il2):
    """Squared distance from points to segments (a, a + d); il2 = 1 / |d|².

    As GEOS (``Distance::pointToSegment``): the distance to the nearer end when
    the projection falls outside the segment, else the perpendicular distance
    from the cross product, so that a point on a segment is at 0 exactly.
    """
    wx = px - ax
    wy = py - ay
    t = wx * dx
    t += wy * dy
    t *= il2
    cross = wx * dy
    cross -= wy * dx
    cross *= cross
    cross *= il2  # perpendicular distance², valid for 0 < t < 1
    before = t <= 0.0
    after = t >= 1.0
    wx *= wx
    wy *= wy
    wx += wy  # distance² to a
    np.copyto(cross, wx, where=before)
    if after.any():
        bx = px - ax - dx
        by = py - ay - dy
        np.copyto(cross, bx * bx + by * by, where=after)
    return cross


class ZoneIndex:
    """Zones of one layer, ready for vectorised point classification.

    Parameters
    ----------
    geoms : the zones' geometries in Lambert-93 metres: :class:`~cq_geo.geo.gpkg.Polygons`,
        WKB, GeoJSON dicts or shapely (Multi)Polygons (read through their WKB).
    edge_m : points within this distance of a zone's edge are ``boundary``
        (a number, or one per zone).
    near_m : outside points within this distance are ``near`` (``>= edge_m``;
        a number, or one per zone).
    whole_near : decide cells wholly within ``(edge_m, near_m]`` outside a zone as
        ``near`` at once (faster; no distance for their points).
    distances : give the exact distance of every point tested one by one (else only
        up to ``near_m``: the lists of edges are shorter).
    sides : without, the index only measures distances: points within ``near_m``
        of a zone are ``near`` (``boundary`` within ``edge_m``) on either side, the
        inside is not reported (the nearest-QPV search, faster).
    edges : for a zone set that is not a set of polygons (the territory outline),
        the edges per zone as ``(k, 4)`` arrays ``x0, y0, x1, y1`` (then *geoms*
        only serves :attr:`geoms`).
    """

    def __init__(self, geoms, edge_m, near_m, *, whole_near: bool = False, sides: bool = True, distances: bool = False,
                 edges=None):
        self.polygons = [as_polygons(g) or Polygons([]) for g in geoms]
        z = len(self.polygons)
        self.edge_m = np.broadcast_to(np.asarray(edge_m, dtype="float64"), (z,)).copy()
        self.near_m = np.broadcast_to(np.asarray(near_m, dtype="float64"), (z,)).copy()
        if (self.near_m < self.edge_m).any() or (self.edge_m < 0).any():
            raise ValueError("need 0 <= edge_m <= near_m")
        self.whole_near = whole_near
        self.sides = sides
        self.distances = distances
        if edges is None:
            edges = [_ring_edges(p.rings) for p in self.polygons]
        per_zone = [np.asarray(e, dtype="float64").reshape(-1, 4) for e in edges]
        e = np.concatenate(per_zone) if per_zone else np.zeros((0, 4))
        keep = (e[:, 0] != e[:, 2]) | (e[:, 1] != e[:, 3])  # zero-length edges cross nothing, touch nothing new
        counts = np.array([len(p) for p in per_zone], dtype="int64")
        ez = np.repeat(np.arange(z, dtype="int32"), counts)
        e, ez = e[keep], ez[keep]
        self._ax, self._ay, self._bx, self._by = (np.ascontiguousarray(e[:, i]) for i in range(4))
        self._ez = ez
        self._zstart = np.zeros(z + 1, dtype="int64")
        np.cumsum(np.bincount(ez, minlength=z), out=self._zstart[1:])
        b = np.full((z, 4), np.nan)
        for i in range(z):
            s = slice(self._zstart[i], self._zstart[i + 1])
            if s.start < s.stop:
                xs = np.concatenate((self._ax[s], self._bx[s]))
                ys = np.concatenate((self._ay[s], self._by[s]))
                b[i] = xs.min(), ys.min(), xs.max(), ys.max()
        self.zone_bounds = b
        self.outer_bounds = b + np.column_stack((-self.near_m, -self.near_m, self.near_m, self.near_m))
        self._few_zones = np.flatnonzero(np.isfinite(b[:, 0])).astype("int32")  # zones with edges
        self._few_bounds = self.outer_bounds[self._few_zones]
        # every edge of a zone, tested with a full ray: the few-points path
        zones = np.arange(z, dtype="int32")
        nan = np.full(z, np.nan)
        self._whole = _EdgeLists(zones, np.full(z, np.inf), nan, np.zeros(z, bool), self._zstart[:-1],
                                 np.diff(self._zstart), np.arange(len(ez)), self._ax, self._ay, self._bx, self._by)
        self._covers: dict = {}
        self._shapely = None
        #: Zones classified on the grid; the others (set False before the first cover) are
        #: left to the caller (the territory takes whole-commune zones from the commune layer).
        self.in_grid = np.ones(z, dtype=bool)

    def __len__(self) -> int:
        return len(self.polygons)

    # -- geometries for other libraries (outside the lookup path) ----------------------
    @property
    def geoms(self) -> np.ndarray:
        """The zones as shapely geometries (imports shapely: for maps and file work, not lookups)."""
        if self._shapely is None:
            import shapely

            self._shapely = np.array(
                [shapely.from_wkb(p.wkb) if not p.is_empty else shapely.Polygon() for p in self.polygons], dtype=object
            )
        return self._shapely

    @property
    def boundaries(self) -> np.ndarray:
        """The zones' boundaries as shapely geometries (imports shapely)."""
        import shapely

        return shapely.boundary(self.geoms)

    def wkb(self, i: int) -> bytes:
        """Zone *i* as little-endian WKB (``QgsGeometry.fromWkb``, ``shapely.from_wkb``)."""
        return self.polygons[i].wkb

    # -- the exact kernel ----------------------------------------------------------------
    def _evaluate(self, lists: _EdgeLists, px, py, pe_entry, sides: bool = True):
        """For point-entry pairs: (squared distance to the entry's zone, in the zone (False without *sides*))."""
        n = len(px)
        d2 = np.empty(n)
        inside = np.empty(n, dtype=bool)
        count = lists.count[pe_entry]
        if lists.key is not None and n:
            # only the edges within d(P) + |P - reference| of the reference matter, and
            # d(P) <= dc + |P - reference| (dc: distance of the reference to its nearest edge)
            i0 = lists.start[pe_entry]
            r = np.hypot(px - lists.cx[pe_entry], py - lists.cy[pe_entry])
            base = pe_entry * lists.width
            limit = lists.key[i0] + 2 * r + 1e-6  # key[i0] = base + dc
            within = np.searchsorted(lists.key, np.minimum(limit, base + lists.width - 1.0), side="right") - i0
            count = np.clip(within, 1, count)
            long = np.flatnonzero(count > 8)
            if len(long):
                # a second bound for long lists: the distance u to the reference's nearest edge
                j = i0[long]
                u = np.sqrt(_segment_d2(px[long], py[long], lists.ax[j], lists.ay[j], lists.dx[j], lists.dy[j],
                                        lists.il2[j]))
                limit = np.minimum(u + r[long] + 1e-6, limit[long] - base[long])
                within = np.searchsorted(lists.key, base[long] + np.minimum(limit, lists.width - 1.0), side="right") - j
                count[long] = np.clip(within, 1, count[long])
        ends = np.cumsum(count)
        lo = 0
        while lo < n:
            hi = int(np.searchsorted(ends, ends[lo] - count[lo] + _CHUNK_PAIRS, side="right"))
            hi = max(hi, lo + 1)
            cnt = count[lo:hi]
            first = np.cumsum(cnt) - cnt
            m = pe_entry[lo:hi]
            idx = np.repeat(lists.start[m] - first, cnt) + np.arange(int(cnt.sum()))
            x = np.repeat(px[lo:hi], cnt)
            y = np.repeat(py[lo:hi], cnt)
            ax, ay, dx, dy = lists.ax[idx], lists.ay[idx], lists.dx[idx], lists.dy[idx]
            dist2 = _segment_d2(x, y, ax, ay, dx, dy, lists.il2[idx])
            d2[lo:hi] = np.minimum.reduceat(dist2, first)
            if not sides:
                inside[lo:hi] = False
                lo = hi
                continue
            with np.errstate(invalid="ignore"):
                xi = ay - y
                xi *= -lists.sx[idx]
                xi += ax  # where the edge crosses the horizontal through the point
                span = (ay > y) != (lists.by[idx] > y)
                cross = (x < xi) != (np.repeat(lists.cx[m], cnt) < xi)
                cross &= span
                cross ^= (y < lists.yi[idx]) != lists.below[idx]
            inside[lo:hi] = np.logical_xor.reduceat(cross, first) ^ lists.state[m]
            lo = hi
        return d2, inside

    def _status(self, zone, d2, inside):
        d = np.sqrt(d2)
        in_zone = inside | (d2 == 0)
        edge, near = self.edge_m[zone], self.near_m[zone]
        status = np.where(in_zone, INSIDE, np.where(d <= near, NEAR, OUTSIDE)).astype("int8")
        status[d <= edge] = BOUNDARY
        return status, in_zone, d

    # -- classification ----------------------------------------------------------------
    def _pairs_few(self, x, y) -> Pairs:
        """Each point against every edge of the zones whose grown bounding box holds it."""
        b, zones = self._few_bounds, self._few_zones
        hit = ((x[:, None] >= b[:, 0]) & (x[:, None] <= b[:, 2])  # False for NaN (no warning)
               & (y[:, None] >= b[:, 1]) & (y[:, None] <= b[:, 3]))
        point, zi = np.nonzero(hit)  # grouped by point
        if not len(point):
            empty = np.zeros(0, dtype="int64")
            return Pairs(empty, empty.astype("int32"), empty.astype("int8"), empty.astype(bool), empty.astype(float))
        if len(x) > 1:
            order = np.argsort(zi, kind="stable")  # grouped by zone
            point, zi = point[order], zi[order]
        zone = zones[zi]
        d2, inside = self._evaluate(self._whole, x[point], y[point], zone, self.sides)
        status, in_zone, d = self._status(zone, d2, inside)
        keep = status > OUTSIDE
        return Pairs(point[keep].astype("int64"), zone[keep].astype("int32"), status[keep], in_zone[keep], d[keep])

    def cover(self, grid: GridSpec) -> dict:
        """What the index needs to classify points bucketed in *grid* (built once, under a lock)."""
        cached = self._covers.get(grid.key)
        if cached is not None:
            return cached
        with _COVER_LOCK:
            cached = self._covers.get(grid.key)
            if cached is None:
                cached = self._build_cover(grid)
                self._covers[grid.key] = cached
        return cached

    def _build_cover(self, grid: GridSpec) -> dict:
        """The cell cover of *grid*: cells decided as a whole (``full``, ``near``), and the
        edge lists of the others (``mixed``), refined in sub-cells (:meth:`_sub_cover`)."""
        h, ncell = grid.half_diagonal, grid.n * grid.n
        use = self.in_grid[self._ez]  # the edges of the zones classified on the grid
        gidx = np.flatnonzero(use)
        ax, ay, bx, by, ez = self._ax[use], self._ay[use], self._bx[use], self._by[use], self._ez[use]
        if not len(ez):  # no zone with an edge: nothing is ever near
            none = np.zeros(0, dtype="int64")
            lists = _EdgeLists(none.astype("int32"), none.astype(float), none.astype(float), none.astype(bool), none,
                               none, none, ax, ay, bx, by)
            return {"full_zone": none.astype("int32"), "full_cell": none, "near_zone": none.astype("int32"),
                    "near_cell": none, "mixed_cell": none, "mixed": lists}
        # 1. (zone, cell) groups of the edges near each cell centre, nearest first
        e, de, gkey, dc, gsize, keep = self._near_edges(grid, ax, ay, bx, by, ez)
        # 2. state (in/out) of the cell centres over each zone's bounding box (crossing numbers)
        zkey, zstate = self._centre_states(grid, ax, ay, bx, by, ez)
        gstate = _states_of(gkey, zkey, zstate)
        # 3. decisions per cell
        gzone = (gkey // ncell).astype("int32")
        gcell = gkey % ncell
        edge_m, near_m = self.edge_m[gzone], self.near_m[gzone]
        g_inside = gstate & (dc - h > edge_m) & (not self.distances)
        g_near = (~gstate & (dc - h > edge_m) & (dc + h <= near_m)) if self.whole_near else np.zeros(len(gkey), bool)
        g_out = ~gstate & (dc - h > near_m)  # only with distances (else such cells hold no edge)
        mixed = ~(g_inside | g_near | g_out)
        far_inside = zstate & ~np.isin(zkey, gkey)
        full = np.concatenate((zkey[far_inside], gkey[g_inside]))
        full.sort()
        nearc = gkey[g_near]
        # 4. edge lists of the mixed cells
        mixed_lists, entry_cell, n_ref = self._mixed_lists(grid, gzone, gcell, gstate, dc, mixed, keep, gsize,
                                                           gidx, e, de)
        out = {
            "full_zone": (full // ncell).astype("int32"), "full_cell": full % ncell,
            "near_zone": (nearc // ncell).astype("int32"), "near_cell": nearc % ncell,
            "mixed_cell": entry_cell, "mixed": mixed_lists,
        }
        out.update(self._sub_cover(grid, mixed_lists, entry_cell, n_ref))
        return out

    def _near_edges(self, grid: GridSpec, ax, ay, bx, by, ez):
        """The (edge, cell) pairs with the cell centre within ``near_m + h`` of the edge (they
        hold the nearest edge of every point within ``near_m``; ``near_m + 3h``: of every point
        of a cell not decided as a whole, for exact distances), grouped by (zone, cell).

        Returns, per pair, its edge (index into *ez*) and centre distance ``de``, sorted by
        group then distance; per group, its key ``zone * n² + cell``, its nearest distance
        ``dc`` and its size; and, per pair, whether the edge can be the nearest of a point
        of the cell (``keep``).
        """
        n, h, ncell = grid.n, grid.half_diagonal, grid.n * grid.n
        reach = self.near_m[ez] + (3 * h if self.distances else h)
        if self.distances:  # every cell whose centre is in a zone gets a list (distances deep inside too)
            b = self.zone_bounds
            reach = np.maximum(reach, (0.5 * np.hypot(b[:, 2] - b[:, 0], b[:, 3] - b[:, 1]))[ez] + h)
        c0 = np.clip(np.floor((np.minimum(ax, bx) - reach - grid.minx) / grid.dx), 0, n - 1).astype("int64")
        c1 = np.clip(np.floor((np.maximum(ax, bx) + reach - grid.minx) / grid.dx), 0, n - 1).astype("int64")
        r0 = np.clip(np.floor((np.minimum(ay, by) - reach - grid.miny) / grid.dy), 0, n - 1).astype("int64")
        r1 = np.clip(np.floor((np.maximum(ay, by) + reach - grid.miny) / grid.dy), 0, n - 1).astype("int64")
        w = c1 - c0 + 1
        cnt = w * (r1 - r0 + 1)
        e = np.repeat(np.arange(len(ez)), cnt)
        k = np.arange(int(cnt.sum())) - np.repeat(np.cumsum(cnt) - cnt, cnt)
        cell = (r0[e] + k // w[e]) * n + c0[e] + k % w[e]
        cx, cy = grid.centres(cell)
        dx, dy = bx[e] - ax[e], by[e] - ay[e]
        de = np.sqrt(_segment_d2(cx, cy, ax[e], ay[e], dx, dy, 1.0 / (dx * dx + dy * dy)))
        near = de <= reach[e]
        e, cell, de = e[near], cell[near], de[near]
        key = ez[e].astype("int64") * ncell + cell
        order = np.argsort(key * (2.0 * float(reach.max()) + 1.0) + de)  # by zone and cell, nearest edge first
        e, key, de = e[order], key[order], de[order]
        first = np.flatnonzero(np.r_[True, key[1:] != key[:-1]])
        gkey = key[first]
        dc = np.minimum.reduceat(de, first) if len(first) else np.zeros(0)
        gsize = np.diff(np.r_[first, len(key)])
        keep = de <= np.repeat(dc, gsize) + 2 * h + 1e-9  # can hold the nearest edge of a point of the cell
        return e, de, gkey, dc, gsize, keep

    def _mixed_lists(self, grid: GridSpec, gzone, gcell, gstate, dc, mixed, keep, gsize, gidx, e, de):
        """The edge lists of the *mixed* (zone, cell) groups: the pruned list (*keep*) referenced
        to the cell centre, or, around a degenerate centre (on an edge), all the zone's edges.

        *e* and *de*: per pair, its edge (index into *gidx*, the index's edge arrays) and its centre distance.
        Returns the lists, the cell of each entry, and how many entries (first) have a reference.
        """
        ngroup = len(gzone)
        degenerate = mixed & (dc < _DEGENERATE_M)
        mg = np.flatnonzero(mixed & ~degenerate)
        in_mg = np.zeros(ngroup, bool)
        in_mg[mg] = True
        sel = keep & np.repeat(in_mg, gsize)
        counts = np.bincount(np.repeat(np.arange(ngroup), gsize)[sel], minlength=ngroup)[mg]
        mcx, mcy = grid.centres(gcell[mg])
        lists = [(gzone[mg], mcx, mcy, gstate[mg], counts, gidx[e[sel]], de[sel])]
        dg = np.flatnonzero(degenerate)
        if len(dg):
            zc = np.diff(self._zstart)[gzone[dg]]
            de_edges = np.repeat(self._zstart[gzone[dg]] - (np.cumsum(zc) - zc), zc) + np.arange(int(zc.sum()))
            lists.append((gzone[dg], np.full(len(dg), np.inf), np.zeros(len(dg)), np.zeros(len(dg), bool),
                          zc, de_edges, np.zeros(len(de_edges))))  # no reference: every edge (u is infinite)
        entry_cell = np.concatenate((gcell[mg], gcell[dg]))
        zone_, cx_, cy_, st_, cnt_, edges_, de_ = (np.concatenate([part[i] for part in lists]) for i in range(7))
        start_ = np.cumsum(cnt_) - cnt_
        mixed_lists = _EdgeLists(zone_, cx_, cy_, st_, start_, cnt_, edges_, self._ax, self._ay, self._bx, self._by, de_)
        return mixed_lists, entry_cell, len(mg)

    def _sub_decide(self, zone, lo, hi, st):
        """Status shared by every point of sub-cells whose distances lie in [lo, hi] (-1: none).

        The state *st* holds for every point where ``lo > 0`` (which each decision needs).
        """
        lo = lo - _SLACK_M
        hi = hi + _SLACK_M
        edge_m, near_m = self.edge_m[zone], self.near_m[zone]
        status = np.full(len(lo), -1, dtype="int64")
        status[~st & (lo > near_m)] = OUTSIDE
        if self.sides and not self.distances:
            status[st & (lo > edge_m)] = INSIDE
        if self.whole_near and not self.distances:
            status[~st & (lo > edge_m) & (hi <= near_m)] = NEAR
            status[(hi <= edge_m) & (lo > 0)] = BOUNDARY  # wholly on the side of the centre
        return status

    def _sub_cover(self, grid: GridSpec, lists: _EdgeLists, entry_cell, n_ref: int) -> dict:
        """Second level inside the mixed cells: :data:`SUB` × :data:`SUB` sub-cells per entry.

        The exact distance ``ds`` of each sub-cell's centre to the zone (and its
        state) bounds the distance of each of its points within ``ds ± hs`` (``hs``
        the sub-cell's half-diagonal): sub-cells on one side of every threshold
        (0, ``edge_m``, ``near_m``) are decided at once, as whole cells are. The
        others become entries of their own, referenced to their centre, with the
        edges of their cell's list within ``ds + 2 hs`` of it (shorter lists). The
        first *n_ref* entries of *lists* have a reference point (the others,
        around a degenerate centre, are kept as they are).
        """
        s2 = SUB * SUB
        ne = len(entry_cell)
        n = grid.n
        hs = grid.half_diagonal / SUB
        ox = grid.minx + (entry_cell % n) * grid.dx
        oy = grid.miny + (entry_cell // n) * grid.dy
        k = np.arange(s2)
        sx = (ox[:, None] + ((k % SUB) + 0.5) * (grid.dx / SUB)).ravel()
        sy = (oy[:, None] + ((k // SUB) + 0.5) * (grid.dy / SUB)).ravel()
        parent = np.repeat(np.arange(ne), s2)
        code = parent.astype("int64") + 0  # >= 0: entry (parents for now); < 0: decided, -1 - status
        sub_in = np.zeros(ne * s2, dtype=bool)
        # the distance-only search (no sides) decides few sub-cells: its cells' lists serve as they are
        todo = np.flatnonzero(parent < n_ref) if self.sides else np.zeros(0, dtype="int64")
        if len(todo):
            # first from the cell centre's distance dc (exact): the sub-cell's points are within
            # dc ± (r + hs), r the distance between the centres
            pt = parent[todo]
            r = np.hypot(sx[todo] - lists.cx[pt], sy[todo] - lists.cy[pt])
            dc = lists.de[lists.start[pt]]
            status = self._sub_decide(lists.zone[pt], dc - r - hs, dc + r + hs, lists.state[pt])
            decided = status >= 0
            code[todo[decided]] = -1 - status[decided]
            sub_in[todo[decided]] = lists.state[pt[decided]] & (status[decided] != OUTSIDE)
            todo = todo[~decided]
        sub_lists = lists
        if len(todo):
            # then from the sub-cell centre's own exact distance ds and state: ds ± hs
            d2, st = self._evaluate(lists, sx[todo], sy[todo], parent[todo], self.sides)
            ds = np.sqrt(d2)
            status = self._sub_decide(lists.zone[parent[todo]], ds - hs, ds + hs, st)
            decided = status >= 0
            code[todo[decided]] = -1 - status[decided]
            sub_in[todo[decided]] = st[decided] & (status[decided] != OUTSIDE)
            # undecided sub-cells with a usable centre: their own entries
            own = np.flatnonzero(~decided & (ds >= _DEGENERATE_M) & (lists.count[parent[todo]] > _SHORT_LIST))
            sub_lists = self._sub_lists(lists, code, todo[own], sx, sy, parent, ds[own], st[own], hs)
        return {"sub_code": code.astype("int32"), "sub_in": sub_in, "sub_lists": sub_lists,
                "sub_ox": ox, "sub_oy": oy}

    def _sub_lists(self, lists: _EdgeLists, code, u_idx, sx, sy, parent, u_ds, u_st, hs) -> _EdgeLists:
        """The entries of the second level: first the sub-cells *u_idx* (their own centre, exact
        distance *u_ds* and state *u_st*, and their parent's edges within ``u_ds + 2 hs``), then
        the parent entries still referenced by a sub-cell. Renumbers *code* (in place) to them."""
        ne = len(lists.count)
        u_par = parent[u_idx]
        i0 = lists.start[u_par]
        r = np.hypot(sx[u_idx] - lists.cx[u_par], sy[u_idx] - lists.cy[u_par])
        base = u_par * lists.width
        limit = base + np.minimum(u_ds + 2 * hs + r + 1e-6, lists.width - 1.0)
        cnt = np.clip(np.searchsorted(lists.key, limit, side="right") - i0, 1, lists.count[u_par])
        first = np.cumsum(cnt) - cnt
        pos = np.repeat(i0 - first, cnt) + np.arange(int(cnt.sum()))
        px, py = np.repeat(sx[u_idx], cnt), np.repeat(sy[u_idx], cnt)
        de = np.sqrt(_segment_d2(px, py, lists.ax[pos], lists.ay[pos], lists.dx[pos], lists.dy[pos], lists.il2[pos]))
        which = np.repeat(np.arange(len(u_idx)), cnt)
        keep = de <= u_ds[which] + 2 * hs + 1e-9  # can hold the nearest edge of a point of the sub-cell
        pos, de, which = pos[keep], de[keep], which[keep]
        order = np.argsort(which * (2.0 * float(de.max(initial=0.0)) + 1.0) + de)  # by sub-cell, nearest first
        pos, de, which = pos[order], de[order], which[order]
        ucount = np.bincount(which, minlength=len(u_idx))
        code[u_idx] = np.arange(len(u_idx))
        # the parents still referenced (degenerate centres, degenerate sub-centres)
        rest = code >= 0
        rest[u_idx] = False
        used = np.flatnonzero(np.bincount(code[rest], minlength=ne))
        remap = np.full(ne, -1, dtype="int64")
        remap[used] = len(u_idx) + np.arange(len(used))
        code[rest] = remap[code[rest]]
        zone_ = np.concatenate((lists.zone[u_par], lists.zone[used]))
        cx_ = np.concatenate((sx[u_idx], lists.cx[used]))
        cy_ = np.concatenate((sy[u_idx], lists.cy[used]))
        st_ = np.concatenate((u_st, lists.state[used]))
        pcount = lists.count[used]
        ppos = np.repeat(lists.start[used] - (np.cumsum(pcount) - pcount), pcount) + np.arange(int(pcount.sum()))
        cnt_ = np.concatenate((ucount, pcount))
        edges_ = np.concatenate((lists.edges[pos], lists.edges[ppos]))
        de_ = np.concatenate((de, lists.de[ppos]))
        start_ = np.cumsum(cnt_) - cnt_
        return _EdgeLists(zone_, cx_, cy_, st_, start_, cnt_, edges_, self._ax, self._ay, self._bx, self._by, de_)

    def _centre_states(self, grid: GridSpec, ax, ay, bx, by, ez):
        """Sorted keys ``zone * n² + cell`` of the cells whose centre lies in a zone's bounding
        box, and whether that centre is in the zone (crossing number along its row)."""
        n, ncell = grid.n, grid.n * grid.n
        # (edge, row) pairs where the edge crosses the row's centre line (half-open in y)
        ylo, yhi = np.minimum(ay, by), np.maximum(ay, by)
        r0 = np.clip(np.floor((ylo - grid.miny) / grid.dy - 0.5), 0, n - 1).astype("int64")
        r1 = np.clip(np.ceil((yhi - grid.miny) / grid.dy - 0.5), 0, n - 1).astype("int64")
        cnt = np.maximum(r1 - r0 + 1, 0)
        e = np.repeat(np.arange(len(ez)), cnt)
        row = r0[e] + np.arange(int(cnt.sum())) - np.repeat(np.cumsum(cnt) - cnt, cnt)
        yc = grid.miny + (row + 0.5) * grid.dy
        span = (ay[e] > yc) != (by[e] > yc)
        e, row, yc = e[span], row[span], yc[span]
        xi = ax[e] + (yc - ay[e]) * ((bx[e] - ax[e]) / (by[e] - ay[e]))
        lo = grid.minx - grid.dx
        width = grid.dx * (n + 2)
        xi = np.clip(xi, lo, lo + width) - lo
        rkey = ez[e].astype("int64") * n + row
        skey = rkey * (2 * width) + xi  # row groups in order, intercepts in order within a row
        skey.sort()
        rkey.sort()
        # the cells of each zone's bounding box
        zb = self.zone_bounds
        ok = np.isfinite(zb[:, 0]) & self.in_grid
        zs = np.flatnonzero(ok)
        c0 = np.clip(np.ceil((zb[zs, 0] - grid.minx) / grid.dx - 0.5), 0, n - 1).astype("int64")
        c1 = np.clip(np.floor((zb[zs, 2] - grid.minx) / grid.dx - 0.5), 0, n - 1).astype("int64")
        q0 = np.clip(np.ceil((zb[zs, 1] - grid.miny) / grid.dy - 0.5), 0, n - 1).astype("int64")
        q1 = np.clip(np.floor((zb[zs, 3] - grid.miny) / grid.dy - 0.5), 0, n - 1).astype("int64")
        w = np.maximum(c1 - c0 + 1, 0)
        cnt = w * np.maximum(q1 - q0 + 1, 0)
        zi = np.repeat(np.arange(len(zs)), cnt)
        k = np.arange(int(cnt.sum())) - np.repeat(np.cumsum(cnt) - cnt, cnt)
        rows = q0[zi] + k // w[zi]
        cols = c0[zi] + k % w[zi]
        zone = zs[zi].astype("int64")
        qrkey = zone * n + rows
        qx = (grid.minx + (cols + 0.5) * grid.dx) - lo
        pos = np.searchsorted(skey, qrkey * (2 * width) + qx, side="right")
        end = np.searchsorted(rkey, qrkey, side="right")
        state = ((end - pos) % 2).astype(bool)
        key = zone * ncell + rows * n + cols
        order = np.argsort(key, kind="stable")
        return key[order], state[order]

    def pairs(self, x=None, y=None, pts: SortedPoints | None = None, grid: GridSpec | None = None,
              only: np.ndarray | None = None) -> Pairs:
        """Every (point, zone) pair better than ``outside``, grouped by zone.

        Give bucketed points (*pts*), or arrays *x*, *y* (bucketed in *grid*, or
        in a grid over this layer when they are many). With *only* (a bool per
        point), the other points are skipped.
        """
        if pts is None:
            x = np.atleast_1d(np.asarray(x, dtype="float64"))
            y = np.atleast_1d(np.asarray(y, dtype="float64"))
            if len(x) < SMALL_BATCH:
                return self._pairs_few(x, y)
            pts = SortedPoints(x, y, grid or self.default_grid())
        if pts.grid.n <= 1:
            return self._pairs_few(pts.x, pts.y)
        c = self.cover(pts.grid)
        parts = []
        for zkey, ckey, status in (("full_zone", "full_cell", INSIDE), ("near_zone", "near_cell", NEAR)):
            if status == INSIDE and not self.sides:
                continue
            p, which = pts.in_cells(c[ckey])
            if only is not None:
                keep = only[p]
                p, which = p[keep], which[keep]
            parts.append((p, c[zkey][which], np.full(len(p), status, "int8"), np.full(len(p), status == INSIDE),
                          np.full(len(p), np.nan)))
        lists = c["mixed"]
        p, which = pts.in_cells(c["mixed_cell"])
        if only is not None:
            keep = only[p]
            p, which = p[keep], which[keep]
        if len(p):
            px, py = pts.x[p], pts.y[p]
            g = pts.grid
            sc = px - c["sub_ox"][which]
            sc *= SUB / g.dx
            sr = py - c["sub_oy"][which]
            sr *= SUB / g.dy
            sub = np.clip(sc, 0, SUB - 1).astype("int64")  # a point on a sub-cell's side may go either way
            sub += np.clip(sr, 0, SUB - 1).astype("int64") * SUB
            sub += which * (SUB * SUB)
            code = c["sub_code"][sub]
            dec = code < 0
            if dec.any():
                sd = np.flatnonzero(dec)
                st = (-1 - code[sd]).astype("int8")
                ok = st > OUTSIDE
                sd, st = sd[ok], st[ok]
                parts.append((p[sd], lists.zone[which[sd]], st, c["sub_in"][sub[sd]], np.full(len(sd), np.nan)))
                ev = np.flatnonzero(~dec)
                p, px, py, which = p[ev], px[ev], py[ev], code[ev]
            else:
                which = code
            lists = c["sub_lists"]
        if len(p):
            d2, inside = self._evaluate(lists, px, py, which, self.sides)
            zone = lists.zone[which]
            status, in_zone, d = self._status(zone, d2, inside)
            keep = status > OUTSIDE
            d = d[keep]
            if not self.distances:
                d[d > self.near_m[zone[keep]]] = np.nan  # maybe not the nearest edge's
            parts.append((p[keep], zone[keep], status[keep], in_zone[keep], d))
        point, zone, status, in_zone, dist = (np.concatenate([part[i] for part in parts]) for i in range(5))
        order = np.argsort(zone.astype("int16" if len(self) < 2**15 else "int32"), kind="stable")
        return Pairs(point[order], zone[order], status[order], in_zone[order], dist[order])

    def best(self, x=None, y=None, pts: SortedPoints | None = None, grid: GridSpec | None = None,
             pairs: Pairs | None = None, n: int | None = None) -> Best:
        """The best zone of each point: inside > boundary (in the zone first) > near.

        Returns a :class:`Best` with ``zone`` (-1 when none is within ``near_m``),
        ``status``, ``in_zone`` and ``distance`` (NaN where not computed; None unless
        the index keeps *distances*) arrays
        aligned with the input points. On a tie the zone listed first wins.
        The :meth:`pairs` of the points may be given (with their number *n*).
        """
        found = pairs if pairs is not None else self.pairs(x, y, pts=pts, grid=grid)
        if n is None:
            n = len(pts) if pts is not None else np.size(x)
        zone = np.full(n, -1, dtype="int32")
        score = np.zeros(n, dtype="int8")  # status * 2 + in_zone; 0 = nothing near
        dist = np.full(n, np.nan) if self.distances else None
        s_all = found.status * 2 + found.in_zone
        bounds = np.searchsorted(found.zone, np.arange(len(self) + 1))
        for z in np.flatnonzero(np.diff(bounds)):
            sl = slice(bounds[z], bounds[z + 1])
            cand, s = found.point[sl], s_all[sl]
            better = s > score[cand]
            cand = cand[better]
            zone[cand] = z
            score[cand] = s[better]
            if dist is not None:
                dist[cand] = found.distance[sl][better]
        return Best(zone=zone, status=(score // 2).astype("int8"), in_zone=(score % 2).astype(bool), distance=dist)

    def default_grid(self) -> GridSpec:
        """A grid over this layer's tolerance bands (for large batches given without one)."""
        ok = np.isfinite(self.outer_bounds[:, 0])
        if not ok.any():
            return GridSpec((0, 0, 1, 1), 1)
        b = self.outer_bounds[ok]
        return GridSpec((b[:, 0].min(), b[:, 1].min(), b[:, 2].max(), b[:, 3].max()), 128)

    # -- distances ---------------------------------------------------------------------
    def distance(self, x, y, zone) -> np.ndarray:
        """Exact distance (m) from each point to the boundary of its *zone* (NaN where zone < 0)."""
        x = np.atleast_1d(np.asarray(x, "float64"))
        y = np.atleast_1d(np.asarray(y, "float64"))
        zone = np.atleast_1d(np.asarray(zone)).astype("int64")
        out = np.full(len(x), np.nan)
        ok = np.flatnonzero((zone >= 0) & (self._whole.count[np.maximum(zone, 0)] > 0))
        if len(ok):
            d2, _ = self._evaluate(self._whole, x[ok], y[ok], zone[ok], sides=False)
            out[ok] = np.sqrt(d2)
        return out


def _ring_edges(rings) -> np.ndarray:
    """Edges ``(x0, y0, x1, y1)`` of closed rings."""
    if not rings:
        return np.zeros((0, 4))
    return np.concatenate([np.column_stack((r[:-1], r[1:])) for r in rings])


def outline_edges(zones) -> np.ndarray:
    """Edges of the union of polygons that share their common edges (a coverage, as
    commune outlines): every edge that no other polygon has in the opposite direction.

    For a point outside all the polygons, the distance to these edges is its
    distance to their union; the even-odd rule on them tells whether a point is in the union.
    """
    e = np.concatenate([_ring_edges(as_polygons(z).rings) for z in zones if as_polygons(z) is not None])
    if not len(e):
        return e
    fwd = [tuple(r) for r in e.tolist()]
    rev = {(r[2], r[3], r[0], r[1]) for r in fwd}
    keep = np.array([t not in rev for t in fwd])
    return e[keep]
