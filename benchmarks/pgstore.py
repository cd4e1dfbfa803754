#!/usr/bin/env python3
"""Benchmark of the shared store (issue 17): PostGIS vs GeoPackage, and ``cq_lookup`` in SQL.

A throw-away PostgreSQL 15 + PostGIS 3 cluster (tests/unit/pg_support.py, Unix socket) and a
GeoPackage get the same SYNTHETIC layers (tests/unit/synthetic_qpv.py: 13 QPV, 2 poches, 1 QVA
inside the embedded commune outlines). Measured:

- ``load_territory`` from each store (the PostGIS rows travel as WKB, decoded with numpy);
- ``lookup_many`` on the same points after that load (the engine does not depend on the store);
- ``cq_lookup(geom)`` in SQL on the same points (one query, ``unnest`` + ``LATERAL``);
- an import and a validation on each store.

    .venv/bin/python benchmarks/pgstore.py [--points 1000000] [--sql-points 1000000] [--repeat 3]

Figures go to stdout and to benchmarks/results/pgstore.txt.
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

from tests.unit import synthetic_qpv as syn  # noqa: E402
from tests.unit.pg_support import Cluster, missing_reason  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--points", type=int, default=1_000_000)
    ap.add_argument("--sql-points", type=int, default=1_000_000)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    reason = missing_reason()
    if reason:
        print(f"benchmark impossible : {reason}")
        return 2

    from cq_geo.data.imports import import_local, import_official, validate_zone
    from cq_geo.data.pgstore import PgStore, init_shared
    from cq_geo.data.store import open_store
    from cq_geo.territory import load_territory

    lines = [
        f"# pgstore — {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}",
        f"# {platform.platform()}, Python {platform.python_version()}, {os.cpu_count()} CPU",
        "# load average at start: " + ", ".join(f"{v:.2f}" for v in os.getloadavg())
        + " (other work on the machine slows the figures down)",
        "# PostgreSQL 15 + PostGIS 3 on a Unix socket, same machine (fsync off: a throw-away cluster)",
    ]

    def say(text: str) -> None:
        print(text, flush=True)
        lines.append(text)

    def timed(fn, repeat):
        out, times = None, []
        for _ in range(repeat):
            t0 = time.perf_counter()
            out = fn()
            times.append(time.perf_counter() - t0)
        return out, times

    def fmt(times):
        return f"median {statistics.median(times):.3f} s (min {min(times):.3f}, max {max(times):.3f}, {len(times)} runs)"

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        root = Path(tempfile.mkdtemp(prefix="cq-geo-pg-bench-"))
        os.chmod(root, 0o755)
        cluster = Cluster(root).start()
        try:
            url = cluster.url(cluster.new_database())
            init_shared(url)
            layout = syn.Layout()
            qpv = syn.anct_zip(syn.qpv_records(layout), tmp / "qpv_synthetique.zip")
            poches = syn.write(syn.frame(syn.local_records(layout, "poche", {
                "POCHE-HAVELUY-CENTRE": "Centre", "POCHE-ABSCON-REPUBLIQUE": "République"})), tmp / "poches.gpkg", "GPKG")
            qva = syn.write(syn.frame(syn.local_records(layout, "qva", {"QVA-SAINT-AMAND-LIMON": "Limon"})),
                            tmp / "qva.geojson", "GeoJSON")
            gpkg = open_store(tmp / "cq-geo.gpkg")
            shared = PgStore(url)
            for name, store in (("GeoPackage", gpkg), ("PostGIS", shared)):
                _, t = timed(lambda: import_official(store, "qpv", qpv, force=True), 1)
                say(f"{name}: import qpv (13 of 18 kept) {t[0]:.3f} s")
                _, t = timed(lambda: import_local(store, poches, "poche", author="bench"), 1)
                say(f"{name}: import local poche (2) {t[0]:.3f} s")
                import_local(store, qva, "qva")
                _, t = timed(lambda: validate_zone(store, "POCHE-HAVELUY-CENTRE", "bench"), 1)
                say(f"{name}: validate-zone {t[0]:.3f} s")

            rng = np.random.default_rng(0)
            b = layout.outline.bounds
            n = args.points
            x = rng.uniform(b[0] - 2000, b[2] + 2000, n)
            y = rng.uniform(b[1] - 2000, b[3] + 2000, n)
            results = {}
            for name, where in (("GeoPackage", gpkg.path), ("PostGIS", url)):
                t_obj, t = timed(lambda: load_territory(store=where), args.repeat)
                say(f"{name}: load_territory {fmt(t)}")
                t_obj.lookup_many(x=x[:1000], y=y[:1000])  # first use builds nothing big; keep runs comparable
                df, t = timed(lambda: t_obj.lookup_many(x=x, y=y), args.repeat)
                say(f"{name}: lookup_many on {n:,} points after load {fmt(t)} ({n / statistics.median(t):,.0f} points/s)")
                _, t = timed(lambda: t_obj.lookup(x=float(x[0]), y=float(y[0])), 20)
                say(f"{name}: one lookup {fmt(t)}")
                results[name] = df
            cols = ["cq_commune_insee", "cq_qpv_code", "cq_qpv_status", "cq_poche_status", "cq_qva_status"]
            same = (results["GeoPackage"][cols].astype(str).values == results["PostGIS"][cols].astype(str).values).all()
            say(f"same answers from both stores on {n:,} points: {bool(same)}")

            import psycopg2

            m = args.sql_points
            con = psycopg2.connect(url)
            cur = con.cursor()
            t0 = time.perf_counter()
            cur.execute("SELECT count(*) FILTER (WHERE r.tier IS NOT NULL), count(*) FROM unnest(%s::float8[], "
                        "%s::float8[]) AS p(x, y), LATERAL cq_caph.cq_lookup(ST_SetSRID(ST_MakePoint(p.x, p.y), 2154)) r",
                        (x[:m].tolist(), y[:m].tolist()))
            in_zone, total = cur.fetchone()
            t_sql = time.perf_counter() - t0
            con.close()
            t_obj = load_territory(store=url)
            _, t = timed(lambda: t_obj.lookup_many(x=x[:m], y=y[:m]), 1)
            say(f"cq_lookup in SQL on {total:,} points: {t_sql:.1f} s ({total / t_sql:,.0f} points/s, one backend; "
                f"{in_zone:,} in a zone) — Python engine on the same points: {t[0]:.2f} s")
            _, t = timed(lambda: psycopg2.connect(url).cursor().execute(
                "SELECT * FROM cq_caph.cq_lookup(ST_SetSRID(ST_MakePoint(3.43, 50.33), 4326))"), 20)
            say(f"one cq_lookup (WGS84 point, with connection): {fmt(t)}")
        finally:
            cluster.stop()
            import shutil

            shutil.rmtree(root, ignore_errors=True)
    out = ROOT / "benchmarks" / "results" / "pgstore.txt"
    out.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print(f"→ {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
