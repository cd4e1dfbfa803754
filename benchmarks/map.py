#!/usr/bin/env python3
"""Benchmark of the council map (issue 6): HTML size and generation time.

The whole territory with 10,000 result points (FICTITIOUS points, drawn around
the commune centres in proportion to their population), in two settings:

- the embedded baseline (what a fresh install draws: 47 communes, 11
  whole-commune former QVA, no QPV or poche perimeter);
- every layer present: SYNTHETIC QPV / poche / QVA perimeters of realistic
  complexity (those of ``benchmarks/lookup.py``: irregular polygons of ~300
  vertices), so the size includes all the layers and both choropleths.

Generation = ``export_map`` end to end (classification of the points, geometry
simplification, HTML rendering, atomic write). Run::

    .venv/bin/python benchmarks/map.py [--points 10000] [--repeat 3]

Figures go to stdout and to benchmarks/results/map.txt.
"""

from __future__ import annotations

import argparse
import importlib.util
import platform
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import shapely

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from cq_geo.geo.crs import l93_to_lonlat  # noqa: E402
from cq_geo.maps.webmap import DEFAULT_SIMPLIFY_M, export_map  # noqa: E402
from cq_geo.territory import load_territory  # noqa: E402


def demo_points(territory, n: int, seed: int = 2026):
    """*n* FICTITIOUS points (lon, lat): around each commune's centre, in proportion to its population."""
    rng = np.random.default_rng(seed)
    d = territory.definition
    pops = np.array([d.communes[c].population or 1 for c in territory.commune_codes], dtype="float64")
    which = rng.choice(len(pops), size=n, p=pops / pops.sum())
    centres = [shapely.get_point(shapely.maximum_inscribed_circle(g, 20.0), 0) for g in territory.communes.geoms]
    cx = np.array([c.x for c in centres])[which]
    cy = np.array([c.y for c in centres])[which]
    spread = np.sqrt(np.array([g.area for g in territory.communes.geoms]))[which] / 6
    x = cx + rng.normal(0, 1, n) * spread
    y = cy + rng.normal(0, 1, n) * spread
    return l93_to_lonlat(x, y)


def full_territory():
    """Every layer present (SYNTHETIC perimeters from benchmarks/lookup.py)."""
    spec = importlib.util.spec_from_file_location("bench_lookup", ROOT / "benchmarks" / "lookup.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.synthetic_territory()


def measure(territory, lon, lat, repeat: int) -> tuple[float, list[float], int]:
    import pandas as pd

    table = None if lon is None else pd.DataFrame({"lon": lon, "lat": lat})
    times, size = [], 0
    with tempfile.TemporaryDirectory() as tmp:
        for _ in range(repeat):
            start = time.perf_counter()
            path = export_map(Path(tmp) / "carte.html", territory, results=table, date="2026-11-27")
            times.append(time.perf_counter() - start)
            size = path.stat().st_size
    return min(times), times, size


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--points", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    import folium

    lines = [
        f"cq-geo map benchmark — {time.strftime('%Y-%m-%d %H:%M')} — {platform.machine()}, "
        f"python {platform.python_version()}, folium {folium.__version__}, shapely {shapely.__version__}",
        f"{args.points:,} FICTITIOUS result points (population-weighted around commune centres); "
        f"display simplification {DEFAULT_SIMPLIFY_M:g} m; best of {args.repeat}",
    ]
    baseline = load_territory()
    lon, lat = demo_points(baseline, args.points)
    start = time.perf_counter()
    empty_best, _, empty_size = measure(baseline, None, None, args.repeat)
    lines.append(f"baseline, no results: {empty_size / 1e6:.2f} MB, {empty_best:.2f} s")
    for name, territory in (("baseline (no QPV/poche perimeter)", baseline),
                            ("all layers (SYNTHETIC ~300-vertex perimeters)", full_territory())):
        best, times, size = measure(territory, lon, lat, args.repeat)
        lines.append(f"{name}, {args.points:,} points: HTML {size / 1e6:.2f} MB ({size:,} bytes), "
                     f"generation {best:.2f} s (all runs: {', '.join(f'{t:.2f}' for t in times)})")
    lines.append(f"target: <= 3 MB with 10,000 points; total benchmark time {time.perf_counter() - start:.1f} s")
    text = "\n".join(lines)
    print(text)
    out = ROOT / "benchmarks" / "results" / "map.txt"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
