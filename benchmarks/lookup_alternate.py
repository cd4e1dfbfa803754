#!/usr/bin/env python3
"""One side of an old/new comparison of the lookup engine on a busy machine (issue 11).

Run it alternately on two checkouts (e.g. ``git archive <commit> | tar -x -C /tmp/old``),
each in its own process, so that both see the same load::

    for i in 1 2 3; do
        .venv/bin/python benchmarks/lookup_alternate.py /tmp/old
        .venv/bin/python benchmarks/lookup_alternate.py "$PWD"
    done

Each run prints, for 1,000,000 random points over the CAPH box (the territory of
``benchmarks/lookup.py``, synthetic perimeters), on ONE core: the build of every
layer's cell covers (min/median of 5) and ``lookup_arrays`` (min/median of 7), in CPU
time (``time.process_time``, less sensitive to the other processes) and wall time.
"""

import os
import sys
import time

root = os.path.abspath(sys.argv[1]) if len(sys.argv) > 1 else os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
os.environ["CQ_GEO_THREADS"] = "1"
sys.path.insert(0, root)
sys.path.insert(0, os.path.join(root, "benchmarks"))

import numpy as np  # noqa: E402
import shapely  # noqa: E402
from lookup import synthetic_territory  # noqa: E402

import cq_geo  # noqa: E402
from cq_geo.geo.crs import l93_to_lonlat  # noqa: E402

assert cq_geo.__file__.startswith(root), cq_geo.__file__
t = synthetic_territory()
minx, miny, maxx, maxy = shapely.total_bounds(t.communes.geoms)
rng = np.random.default_rng(42)
x = rng.uniform(minx, maxx, 1_000_000)
y = rng.uniform(miny, maxy, 1_000_000)
lon, lat = l93_to_lonlat(x, y)
warm = []
for _ in range(5):
    for index in t._indexes():
        index._covers.clear()
    c = time.process_time()
    t.warm_up()
    warm.append(time.process_time() - c)
cpu, wall = [], []
for _ in range(7):
    c, w = time.process_time(), time.perf_counter()
    t.lookup_arrays(lon, lat)
    cpu.append(time.process_time() - c)
    wall.append(time.perf_counter() - w)
print(f"{root}: warm-up cpu min {min(warm):.3f} med {np.median(warm):.3f} | lookup cpu min {min(cpu):.3f} "
      f"({1 / min(cpu):.2f}M/s) med {np.median(cpu):.3f} wall min {min(wall):.3f} ({1 / min(wall):.2f}M/s) "
      f"med {np.median(wall):.3f}")
