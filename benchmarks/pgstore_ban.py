#!/usr/bin/env python3
"""Benchmark of the BAN address index in the shared store (issue 17, item 1): PostGIS vs GeoPackage.

A throw-away PostgreSQL 15 + PostGIS 3 cluster (tests/unit/pg_support.py, Unix socket, fsync off)
and a local GeoPackage get the same SYNTHETIC BAN file (benchmarks/geocode_synthetic.py: invented
streets in the real CAPH communes, ~100,000 addresses by default; never the real BAN). Measured:

- ``import_ban`` into each store (read the file, then write: COPY in one transaction for PostGIS);
- ``load_ban_index`` from each store (what ``--geocoder offline`` does first), and the geocoder built on it;
- ``load_ban_index`` again in the same process from the shared store (only the provenance is read);
- that both indexes are identical (same arrays, so the same answers).

    .venv/bin/python benchmarks/pgstore_ban.py [--addresses 100000] [--repeat 3]

Figures go to stdout and replace the « index BAN » section of benchmarks/results/pgstore.txt
(the rest of the file, written by benchmarks/pgstore.py, is kept).
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

from tests.unit.pg_support import Cluster, missing_reason  # noqa: E402

MARK = "# --- index BAN (benchmarks/pgstore_ban.py)"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--addresses", type=int, default=100_000)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    reason = missing_reason()
    if reason:
        print(f"benchmark impossible : {reason}", file=sys.stderr)
        return 2
    from benchmarks.geocode_synthetic import generate
    from cq_geo.data.pgstore import init_shared, read_shared_ban, write_shared_ban
    from cq_geo.geocode import ban_index
    from cq_geo.geocode.ban import BanGeocoder
    from cq_geo.geocode.ban_index import import_ban, load_ban_index

    lines = [MARK, f"# {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, {platform.platform()}, "
                   f"Python {platform.python_version()}, {os.cpu_count()} CPU",
             "# load average at start: " + ", ".join(f"{v:.2f}" for v in os.getloadavg())
             + " (other work on the machine slows the figures down)"]

    def say(text: str) -> None:
        print(text, flush=True)
        lines.append(text)

    def timed(fn, repeat):
        times, value = [], None
        for _ in range(repeat):
            t0 = time.perf_counter()
            value = fn()
            times.append(time.perf_counter() - t0)
        return times, value

    def fmt(times):
        return (f"median {statistics.median(times):.3f} s (min {min(times):.3f}, max {max(times):.3f}, "
                f"{len(times)} runs)")

    work = Path(tempfile.mkdtemp(prefix="cq-geo-bench-ban-"))
    os.chmod(work, 0o755)
    generate(work / "ban", target_addresses=args.addresses, seed=1)
    ban = work / "ban" / "adresses-59.csv.gz"
    (work / "pg").mkdir()
    os.chmod(work / "pg", 0o755)
    cluster = Cluster(work / "pg").start()
    try:
        url = cluster.url(cluster.new_database())
        init_shared(url)
        local = work / "cq-geo.gpkg"
        stats = {}
        for name, store in (("GeoPackage", local), ("PostGIS", url)):
            times, stats[name] = timed(lambda s=store: import_ban(ban, store=s, lieux_dits=False), args.repeat)
            say(f"{name}: import ban ({stats[name]['rows_kept']:,} addresses, {stats[name]['streets']:,} streets) "
                f"{fmt(times)}")
        meta_rows, streets, numbers = read_shared_ban(url)
        times, _ = timed(lambda: write_shared_ban(url, streets, numbers, meta_rows), args.repeat)
        say(f"PostGIS: write_shared_ban alone (DELETE + COPY of {len(numbers):,} numbers, {len(streets):,} streets, "
            f"one transaction, no file reading) {fmt(times)}")
        indexes = {}
        for name, store in (("GeoPackage", local), ("PostGIS", url)):

            def cold(s=store):
                ban_index._SHARED_INDEX.clear()  # what a new process does: read every row
                return load_ban_index(s)

            times, indexes[name] = timed(cold, max(args.repeat, 5))
            say(f"{name}: load_ban_index {fmt(times)}")
        times, _ = timed(lambda: load_ban_index(url), max(args.repeat, 5))
        say(f"PostGIS: load_ban_index again in the same process (provenance checked, index kept) {fmt(times)}")
        for name, index in indexes.items():
            times, _ = timed(lambda i=index: BanGeocoder(i), args.repeat)
            say(f"{name}: BanGeocoder built on the loaded index {fmt(times)}")
        a, b = indexes["GeoPackage"], indexes["PostGIS"]
        same = a.streets == b.streets and a.rep == b.rep and all(
            np.array_equal(getattr(a, k), getattr(b, k)) for k in ("numero", "lon", "lat", "start", "end"))
        say(f"same index from both stores: {same}")
    finally:
        cluster.stop()
    out = ROOT / "benchmarks" / "results" / "pgstore.txt"
    kept = out.read_text(encoding="utf-8").split(MARK)[0].rstrip("\n") + "\n\n" if out.is_file() else ""
    out.write_text(kept + "\n".join(lines) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
