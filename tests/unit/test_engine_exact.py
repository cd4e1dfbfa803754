"""The numpy engine against the exact definition (shapely/GEOS) on more than a million points.

For a point and a zone, with d = shapely.distance(point, boundary of the zone):
inside = covered by the zone and d > edge_m; boundary = d <= edge_m; near = not
covered and d <= near_m; outside otherwise. cq_geo.geo.engine must give IDENTICAL
statuses (and "in the zone" flags), and distances within 1 cm.

The former engine (shapely buffers, 8 segments per quarter circle: bands exact
to 0.5 % of their width; kept in reference_engine.py) may differ only where the
exact distance is within that approximation of a threshold: such points are
counted and printed.

Layers: the embedded commune outlines, the real IGN outlines of ../shared/data
when present (skipped otherwise), and SYNTHETIC zones: irregular 300-vertex
blobs, a multipolygon, a square with a square hole and a comb on whole metres
(points exactly at the thresholds and on vertices there, grids whose cell
centres fall exactly on edges and vertices). Points: uniform over each layer,
and most of them concentrated within a few tolerance widths of the edges.
"""

from __future__ import annotations

import numpy as np
import pytest

shapely = pytest.importorskip("shapely")

from cq_geo.geo.engine import BOUNDARY, INSIDE, NEAR, OUTSIDE, SMALL_BATCH, GridSpec, SortedPoints, ZoneIndex  # noqa: E402
from cq_geo.geo.gpkg import Polygons, as_polygons  # noqa: E402
from cq_geo.geo.layers import load_baseline_communes, read_geojson_polygons  # noqa: E402

from . import reference_engine  # noqa: E402

#: Buffers with 8 segments per quarter circle: a chord is within r (1 - cos(pi/32)) < 0.49 % r of its arc.
BUFFER_APPROX = 0.0049


def exact_pairs(geoms, edge_m, near_m, x, y):
    """(point, zone) -> (status, in_zone, distance) per the definition, for every pair better than outside."""
    pts = shapely.points(x, y)
    out_p, out_z, out_s, out_in, out_d = [], [], [], [], []
    for z, g in enumerate(geoms):
        b = shapely.bounds(g)
        m = near_m[z]
        cand = np.flatnonzero((x >= b[0] - m) & (x <= b[2] + m) & (y >= b[1] - m) & (y <= b[3] + m))
        d = shapely.distance(pts[cand], shapely.boundary(g))
        cov = shapely.covers(g, pts[cand])
        status = np.where(d <= edge_m[z], BOUNDARY, np.where(cov, INSIDE, np.where(d <= m, NEAR, OUTSIDE)))
        keep = status > OUTSIDE
        out_p.append(cand[keep])
        out_z.append(np.full(keep.sum(), z))
        out_s.append(status[keep])
        out_in.append(cov[keep])
        out_d.append(d[keep])
    return tuple(np.concatenate(a) for a in (out_p, out_z, out_s, out_in, out_d))


def near_edge_points(polys, n, spread, rng, uniform_share=0.3):
    """*n* points: a share uniform over the layer's box, the rest offset from random edge points."""
    edges = np.concatenate([np.column_stack((r[:-1], r[1:])) for p in polys for r in p.rings])
    b = np.array([p.bounds for p in polys])
    lo, hi = b[:, :2].min(axis=0) - 2 * spread, b[:, 2:].max(axis=0) + 2 * spread
    k = int(n * uniform_share)
    ux, uy = rng.uniform(lo[0], hi[0], k), rng.uniform(lo[1], hi[1], k)
    e = edges[rng.integers(0, len(edges), n - k)]
    t = rng.random(n - k)
    px, py = e[:, 0] + t * (e[:, 2] - e[:, 0]), e[:, 1] + t * (e[:, 3] - e[:, 1])
    length = np.hypot(e[:, 2] - e[:, 0], e[:, 3] - e[:, 1])
    nx, ny = -(e[:, 3] - e[:, 1]) / length, (e[:, 2] - e[:, 0]) / length
    off = np.where(rng.random(n - k) < 0.5, rng.normal(0, spread, n - k), rng.uniform(-1.5, 1.5, n - k) * spread)
    return np.concatenate((ux, px + off * nx)), np.concatenate((uy, py + off * ny))


def compare(name, polys, edge_m, near_m, x, y, grids, report, reference=True):
    """Engine vs the exact definition (and vs the former engine): assert, and record the counts."""
    geoms = np.array([shapely.from_wkb(p.wkb) for p in polys], dtype=object)
    assert shapely.is_valid(geoms).all(), name
    edge_m = np.broadcast_to(np.asarray(edge_m, float), (len(polys),))
    near_m = np.broadcast_to(np.asarray(near_m, float), (len(polys),))
    rp, rz, rs, rin, rd = exact_pairs(geoms, edge_m, near_m, x, y)
    order = np.lexsort((rz, rp))
    rp, rz, rs, rin, rd = rp[order], rz[order], rs[order], rin[order], rd[order]
    index = ZoneIndex(polys, edge_m, near_m, distances=True)
    lean = ZoneIndex(polys, edge_m, near_m)  # shorter edge lists: distances only up to near_m (what most layers use)
    few = np.arange(min(len(x), SMALL_BATCH - 1))
    runs = [("grid", g, np.arange(len(x)), index) for g in grids] + [("few", None, few, index)]
    runs.append(("grid, distances to near_m", grids[0], np.arange(len(x)), lean))
    # cells and sub-cells decided at once as near or boundary too (the commune layer's index)
    whole = ZoneIndex(polys, edge_m, near_m, whole_near=True)
    runs += [("grid, whole cells near", g, np.arange(len(x)), whole) for g in grids]
    for kind, grid, sub, idx in runs:
        got = idx.pairs(x[sub], y[sub]) if grid is None else idx.pairs(pts=SortedPoints(x, y, grid))
        go = np.lexsort((got.zone, sub[got.point]))
        gp, gz = sub[got.point][go], got.zone[go]
        want = np.isin(rp, sub)
        label = f"{name} ({kind}{'' if grid is None else f', {grid.n}x{grid.n} cells'})"
        assert np.array_equal(gp, rp[want]) and np.array_equal(gz, rz[want]), f"{label}: other point-zone pairs"
        assert np.array_equal(got.status[go], rs[want]), f"{label}: statuses differ"
        assert np.array_equal(got.in_zone[go], rin[want]), f"{label}: in-zone flags differ"
        d = got.distance[go]
        ok = ~np.isnan(d)
        assert ok.mean() > (0.2 if idx is index else 0.0) and np.abs(d[ok] - rd[want][ok]).max() < 0.01, label
        if idx is not index:  # their distances stop at near_m
            assert not (d[ok] > near_m[gz[ok]]).any()
    dist = index.distance(x[rp], y[rp], rz)
    assert np.abs(dist - rd).max() < 0.01, f"{name}: distance()"
    report.append((name, len(x), len(rp)))
    if not reference:
        return 0
    # the former engine: same pairs except where the exact distance is within the buffers' approximation
    old = reference_engine.ZoneIndex(geoms, edge_m, near_m).pairs(x, y)
    key_old = old.point.astype(np.int64) * len(polys) + old.zone
    key_new = rp.astype(np.int64) * len(polys) + rz
    keys = np.union1d(key_old, key_new)
    s_old = np.zeros(len(keys), np.int8)
    s_old[np.searchsorted(keys, key_old)] = old.status
    s_new = np.zeros(len(keys), np.int8)
    s_new[np.searchsorted(keys, key_new)] = rs
    diff = keys[s_old != s_new]
    p, z = diff // len(polys), diff % len(polys)
    d = shapely.distance(shapely.points(x[p], y[p]), shapely.boundary(geoms[z]))
    slack = np.minimum(np.abs(d - edge_m[z]) / np.maximum(edge_m[z], 1e-9), np.abs(d - near_m[z]) / near_m[z])
    assert (slack <= BUFFER_APPROX).all(), f"{name}: the former engine differs beyond its approximation: {d[slack > BUFFER_APPROX][:5]}"
    report[-1] = report[-1] + (len(diff),)
    return len(diff)


def blob(cx, cy, radius, n, rng):
    angles = np.sort(rng.uniform(0, 2 * np.pi, n))
    r = radius * (0.6 + 0.4 * rng.random(n))
    ring = np.column_stack((cx + r * np.cos(angles), cy + r * np.sin(angles)))
    return np.vstack((ring, ring[:1]))


def square(x0, y0, x1, y1):
    return np.array([[x0, y0], [x1, y0], [x1, y1], [x0, y1], [x0, y0]], dtype=float)


def synthetic_zones(rng):
    """SYNTHETIC zones in Lambert-93 metres (near the projection's origin)."""
    X, Y = 700_000.0, 6_600_000.0
    zones = [Polygons([[blob(X + 1000 * i, Y, 420, 300, rng)]]) for i in range(4)]
    zones.append(Polygons([[blob(X, Y + 1500, 300, 120, rng)], [blob(X + 900, Y + 1500, 250, 80, rng)]]))  # multipolygon
    zones.append(Polygons([[square(X + 2000, Y + 1200, X + 3000, Y + 2200), square(X + 2300, Y + 1500, X + 2700, Y + 1900)]]))
    teeth = [[X + 3500 + 100 * i, Y + 1200 + (600 if i % 2 else 0)] for i in range(11)]
    comb = np.array([[X + 3500, Y + 1000], [X + 4500, Y + 1000]] + teeth[::-1] + [[X + 3500, Y + 1000]], dtype=float)
    zones.append(Polygons([[comb]]))
    zones.append(Polygons([[square(X + 3000, Y + 1200, X + 3500, Y + 1700)]]))  # shares an edge with the square
    return zones


def grid_over(polys, near, n, exact_centres=False):
    b = np.array([p.bounds for p in polys])
    lo, hi = b[:, :2].min(axis=0) - near - 1, b[:, 2:].max(axis=0) + near + 1
    if exact_centres:  # cells whose centres fall on whole hundreds of metres: on the squares' edges and vertices
        dx = np.ceil((hi - lo).max() / (100 * (n - 2))) * 100
        lo = np.floor(lo / dx) * dx - dx / 2
        return GridSpec((lo[0], lo[1], lo[0] + dx * n, lo[1] + dx * n), n)
    return GridSpec((lo[0], lo[1], hi[0], hi[1]), n)


@pytest.fixture(scope="module")
def report():
    rows: list = []
    yield rows
    total = sum(r[1] for r in rows)
    print(f"\nengine vs exact definition: {total:,} points, {sum(r[2] for r in rows):,} point-zone pairs, all identical")
    for r in rows:
        extra = f", {r[3]} differ from the former buffer engine (within its approximation)" if len(r) > 3 else ""
        print(f"  {r[0]}: {r[1]:,} points, {r[2]:,} pairs{extra}")


def test_embedded_communes(report):
    geoms, info = load_baseline_communes(polygons=True)
    polys = list(geoms.values())
    rng = np.random.default_rng(11)
    x, y = near_edge_points(polys, 400_000, 150.0, rng)
    grids = [grid_over(polys, 150, 320), grid_over(polys, 150, 97)]
    compare("communes embarquées (100/150 m)", polys, info.edge_m, info.near_m, x, y, grids, report)
    # the same outlines with the tolerances of precise ones
    compare("communes embarquées (1/10 m)", polys, 1.0, 10.0, x[:150_000], y[:150_000], grids[:1], report)


def test_real_ign_communes(shared_data, report):
    geoms, _ = read_geojson_polygons(shared_data / "communes_caph_ign2018.geojson", "insee")
    polys = list(geoms.values())
    rng = np.random.default_rng(12)
    x, y = near_edge_points(polys, 300_000, 10.0, rng)
    compare("communes IGN (1/10 m)", polys, 1.0, 10.0, x, y, [grid_over(polys, 10, 320)], report)


def test_synthetic_zones(report):
    rng = np.random.default_rng(13)
    polys = synthetic_zones(rng)
    x, y = near_edge_points(polys, 500_000, 20.0, rng)
    # exact ties on the whole-metre squares: on vertices, and at exactly edge_m / near_m from an edge
    X, Y = 700_000.0, 6_600_000.0
    ties = [(X + 2000 + dx, Y + 1200 + dy) for dx in (-10, -2, -1, 0, 1, 2, 10, 400) for dy in (-10, -2, -1, 0, 1, 2, 300)]
    ties += [(X + 3000 + dx, Y + 1200 + dy) for dx in (-10, -1, 0, 1, 10) for dy in (0, 250, 500, 501, 510)]
    tx, ty = np.array(ties).T
    x, y = np.concatenate((tx, x)), np.concatenate((ty, y))
    edge = np.array([1, 1, 2, 50, 2, 1, 2, 1], float)
    near = np.array([10, 10, 10, 100, 10, 10, 10, 10], float)
    grids = [grid_over(polys, 100, 320), grid_over(polys, 100, 40, exact_centres=True)]
    compare("zones synthétiques", polys, edge, near, x, y, grids, report)
    # a search radius (edge 0, near 500: the nearest-QPV search of the territory)
    compare("zones synthétiques (0/500 m)", polys, 0.0, 500.0, x[:200_000], y[:200_000], grids, report, reference=False)


def test_whole_cell_and_distance_only_indexes():
    """The fast variants used by the territory: cells decided as wholly near, and distance-only search."""
    rng = np.random.default_rng(14)
    polys = synthetic_zones(rng)
    x, y = near_edge_points(polys, 100_000, 300.0, rng)
    grid = grid_over(polys, 500, 200)
    full = ZoneIndex(polys, 0.0, 500.0, distances=True).pairs(pts=SortedPoints(x, y, grid))
    fast = ZoneIndex(polys, 0.0, 500.0, whole_near=True).pairs(pts=SortedPoints(x, y, grid))
    for got in (fast,):
        assert np.array_equal(np.lexsort((got.zone, got.point)).size, full.point.size)
    a, b = np.lexsort((full.zone, full.point)), np.lexsort((fast.zone, fast.point))
    assert np.array_equal(full.point[a], fast.point[b]) and np.array_equal(full.status[a], fast.status[b])
    assert np.isnan(fast.distance).sum() > 0  # whole cells, no distance
    search = ZoneIndex(polys, 0.0, 500.0, sides=False).pairs(pts=SortedPoints(x, y, grid))
    out = full.status[a] != INSIDE
    s = np.lexsort((search.zone, search.point))
    kept = np.isin(full.point[a] * 100 + full.zone[a], search.point[s] * 100 + search.zone[s])
    assert kept[out].all()  # every pair outside the zone is found, with its distance
    near_only = (full.status[a] == NEAR)
    key = full.point[a] * 100 + full.zone[a]
    pos = np.searchsorted(search.point[s] * 100 + search.zone[s], key[near_only])
    assert np.abs(search.distance[s][pos] - full.distance[a][near_only]).max() < 1e-6


def test_readers_give_the_same_rings_as_shapely():
    geoms, _ = load_baseline_communes()
    mine, _ = load_baseline_communes(polygons=True)
    for code, g in geoms.items():
        p = mine[code]
        assert shapely.equals_exact(shapely.from_wkb(p.wkb), g, tolerance=1e-6) or shapely.equals(shapely.from_wkb(p.wkb), g)
        assert abs(p.area - g.area) < 1e-3
        assert as_polygons(g).area == pytest.approx(g.area)
