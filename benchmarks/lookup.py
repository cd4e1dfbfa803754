#!/usr/bin/env python3
"""Benchmark of the lookup engine (issues 2 and 11: the engine on numpy alone).

- ``lookup_arrays`` (numpy arrays out) and ``lookup_many`` (a DataFrame) on N random
  points (default 1,000,000) over the CAPH bounding box, WGS84 in (the projection to
  Lambert-93 is included), against every layer: communes, QPV, poches, QVA. The QPV and
  poche layers get SYNTHETIC perimeters of realistic complexity (the real ones cannot be
  shipped): irregular polygons of ~300 vertices inside their communes. Each is timed on
  ONE core (``CQ_GEO_THREADS=1``) and with the default threads.
- The naive alternative in the same run: geopandas points → ``to_crs(2154)`` →
  one ``sjoin(predicate="within")`` per layer.
- Single ``lookup`` latency, and the wall time of the ``cq-geo lookup`` command.

Targets (issue 11): >= 10x faster than the naive join, >= 3M points/s on one core,
single lookup < 1 ms.

Run::

    .venv/bin/python benchmarks/lookup.py [--points 1000000]

Figures go to stdout and are appended to benchmarks/results/lookup.txt (with the
date and the machine's load: the figures of a busy machine are slower).
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import shapely

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from cq_geo.geo.crs import l93_to_lonlat  # noqa: E402
from cq_geo.geo.layers import load_baseline_communes  # noqa: E402
from cq_geo.model import load_definition  # noqa: E402
from cq_geo.territory import Territory  # noqa: E402


def synthetic_blob(center, radius, n_vertices, rng):
    """An irregular SYNTHETIC polygon around *center* (not a real perimeter)."""
    angles = np.sort(rng.uniform(0, 2 * np.pi, n_vertices))
    radii = radius * (0.6 + 0.4 * rng.random(n_vertices))
    return shapely.Polygon(np.column_stack((center.x + radii * np.cos(angles), center.y + radii * np.sin(angles)))).buffer(0)


def synthetic_territory(seed=1) -> Territory:
    rng = np.random.default_rng(seed)
    definition = load_definition()
    communes, info = load_baseline_communes()
    zone_geoms = {}
    used = {}
    for zone in definition.zones:
        if zone.geometry != "perimeter":
            continue
        commune = communes[zone.communes[0]]
        k = used.get(zone.communes[0], 0)
        used[zone.communes[0]] = k + 1
        inner = commune.buffer(-700)
        base = inner.representative_point() if not inner.is_empty else commune.representative_point()
        center = shapely.Point(base.x + 450 * np.cos(k * 2.1), base.y + 450 * np.sin(k * 2.1))
        radius, vertices = (400, 300) if zone.tier == "qpv" else (150, 100) if zone.tier == "poche" else (500, 200)
        status = "official" if zone.tier == "qpv" else "provisional"
        geom = synthetic_blob(center, radius, vertices, rng).intersection(commune)
        for code, (other, _) in zone_geoms.items():  # zones of a tier never overlap
            if definition.zone(code).tier == zone.tier:
                geom = geom.difference(other)
        zone_geoms[zone.code] = (geom, status)
    return Territory(definition, communes, info, zone_geoms=zone_geoms)


def naive_geopandas(territory: Territory, lon, lat):
    import geopandas as gpd

    pts = gpd.GeoDataFrame(geometry=gpd.points_from_xy(lon, lat), crs=4326).to_crs(2154)
    layers = {"communes": (territory.commune_codes, territory.communes.geoms)}
    for tier, data in territory.tiers.items():
        layers[tier] = ([z.code for z in data.zones], data.index.geoms)
    out = {}
    for name, (codes, geoms) in layers.items():
        layer = gpd.GeoDataFrame({"code": codes}, geometry=list(geoms), crs=2154)
        joined = gpd.sjoin(pts, layer, predicate="within", how="left")
        out[name] = joined[~joined.index.duplicated()]["code"]
    return out


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--points", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    territory = synthetic_territory()
    minx, miny, maxx, maxy = shapely.total_bounds(territory.communes.geoms)
    rng = np.random.default_rng(42)
    x = rng.uniform(minx, maxx, args.points)
    y = rng.uniform(miny, maxy, args.points)
    lon, lat = l93_to_lonlat(x, y)

    load_before = os.getloadavg()
    t = time.perf_counter()
    territory.warm_up()  # the cell covers of the grid (done once, on the first large batch)
    warm_s = time.perf_counter() - t

    def best_of(func, threads):
        saved = os.environ.get("CQ_GEO_THREADS")
        os.environ["CQ_GEO_THREADS"] = str(threads)
        try:
            times, cpu = [], []
            for _ in range(args.repeat):
                t, c = time.perf_counter(), time.process_time()
                out = func()
                times.append(time.perf_counter() - t)
                cpu.append(time.process_time() - c)
        finally:
            if saved is None:
                os.environ.pop("CQ_GEO_THREADS")
            else:
                os.environ["CQ_GEO_THREADS"] = saved
        cpu_times[id(times)] = min(cpu)
        return out, times

    cpu_times: dict = {}
    default_threads = int(os.environ.get("CQ_GEO_THREADS", "0") or 0) or min(os.cpu_count() or 1, 4)
    _, arrays_1 = best_of(lambda: territory.lookup_arrays(lon=lon, lat=lat), 1)
    _, arrays_n = best_of(lambda: territory.lookup_arrays(lon=lon, lat=lat), default_threads)
    df, many_1 = best_of(lambda: territory.lookup_many(lon=lon, lat=lat), 1)
    _, many_n = best_of(lambda: territory.lookup_many(lon=lon, lat=lat), default_threads)
    ours = min(arrays_1)

    t = time.perf_counter()
    naive = naive_geopandas(territory, lon, lat)
    naive_s = time.perf_counter() - t

    # Same answers: commune of every point strictly inside (the naive join has no tolerance bands)
    inside = (df.cq_commune_status == "inside").to_numpy()
    agree = (df.cq_commune_insee.astype(str).to_numpy()[inside] == naive["communes"].fillna("").to_numpy()[inside]).mean()
    qpv_inside = (df.cq_qpv_status == "inside").to_numpy()
    agree_qpv = (df.cq_qpv_code.astype(str).to_numpy()[qpv_inside] == naive["qpv"].fillna("").to_numpy()[qpv_inside]).mean()

    single = []
    for i in range(300):
        t = time.perf_counter()
        territory.lookup(lon=float(lon[i]), lat=float(lat[i]))
        single.append(time.perf_counter() - t)

    cli = []
    exe = ROOT / ".venv" / "bin" / "cq-geo"
    command = [str(exe)] if exe.is_file() else [sys.executable, "-m", "cq_geo.cli.main"]
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    for _ in range(5):
        t = time.perf_counter()
        subprocess.run(command + ["lookup", "--lon", "3.3957", "--lat", "50.3290"], check=True, capture_output=True, env=env)
        cli.append(time.perf_counter() - t)

    counts = df.cq_primary_tier.value_counts().to_dict()
    load_after = os.getloadavg()

    def runs(times, cpu=False):
        best = min(times)
        text = f"{best:.3f} s = {args.points / best:,.0f} points/s (runs: " + ", ".join(f"{v:.3f}" for v in times) + ")"
        if cpu:  # on a shared machine the process's CPU time says what one core does
            c = cpu_times[id(times)]
            text += f"; CPU time {c:.3f} s = {args.points / c:,.0f} points/s"
        return text

    single_ms = statistics.median(single) * 1000
    lines = [
        f"cq-geo lookup benchmark (numpy engine) — {time.strftime('%Y-%m-%d %H:%M')} — {platform.processor() or platform.machine()}, "
        f"{os.cpu_count()} cores, load average {load_before[0]:.2f} before / {load_after[0]:.2f} after, "
        f"python {platform.python_version()}, numpy {np.__version__}; threads: 1 and {default_threads}",
        f"points: {args.points:,} random over the CAPH bounding box (WGS84 in, projection included); layers: 47 communes, "
        f"{len(territory.tiers['qpv'].zones)} QPV + {len(territory.tiers['poche'].zones)} poches + 2 QVA perimeters "
        f"(SYNTHETIC ~300/100/200-vertex polygons), 11 whole-commune QVA; grid {territory.grid.n}x{territory.grid.n} "
        f"cells built in {warm_s:.3f} s (once)",
        f"lookup_arrays, 1 core (best of {args.repeat}): {runs(arrays_1, cpu=True)}",
        f"lookup_arrays, {default_threads} threads: {runs(arrays_n)}",
        f"lookup_many (DataFrame), 1 core: {runs(many_1, cpu=True)}",
        f"lookup_many (DataFrame), {default_threads} threads: {runs(many_n)}",
        f"naive geopandas (points_from_xy + to_crs + 4 sjoin 'within'): {naive_s:.3f} s = {args.points / naive_s:,.0f} points/s",
        f"ratio naive / lookup_arrays 1 core: {naive_s / ours:.1f}x; naive / lookup_many 1 core: {naive_s / min(many_1):.1f}x "
        f"(target >= 10x); 1-core rate {args.points / ours / 1e6:.2f}M points/s (target >= 3M)",
        f"agreement with the naive join where the point is strictly inside: communes {agree:.4%}, QPV {agree_qpv:.4%}",
        f"single lookup(): median {single_ms:.3f} ms, p95 {np.percentile(single, 95) * 1000:.3f} ms (target < 1 ms)",
        f"`cq-geo lookup` wall time (process start to answer): median {statistics.median(cli):.3f} s, max {max(cli):.3f} s",
        f"primary tier counts: {counts}",
    ]
    text = "\n".join(lines)
    print(text)
    out = ROOT / "benchmarks" / "results" / "lookup.txt"
    out.parent.mkdir(parents=True, exist_ok=True)
    with open(out, "a", encoding="utf-8") as fh:  # one block per run, the newest last
        fh.write(text + "\n\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
