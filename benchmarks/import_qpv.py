#!/usr/bin/env python3
"""Benchmark of ``cq-geo data import qpv`` on a national-size QPV file (issue 3).

The file is SYNTHETIC (tests/unit/synthetic_qpv.py): about 1,400 multipolygons
of 2 parts × 150 vertices spread over metropolitan France in the ANCT 2024
schema, plus the territory's 13 codes as squares inside its baseline communes.
It is written as the ANCT zip (GeoJSON WGS84 + shapefile Lambert-93), and as a
bare GeoJSON and a GeoPackage; each is imported into a fresh store
(read, checks, reprojection, filter to the territory, dissolve, repair,
atomic write, validation). Then the first ``load_territory`` on that store.

    .venv/bin/python benchmarks/import_qpv.py [--features 1400] [--repeat 3]

Figures go to stdout and to benchmarks/results/import_qpv.txt.
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

from cq_geo.data.gpkg_store import Store  # noqa: E402
from cq_geo.data.imports import import_official  # noqa: E402
from cq_geo.data.store import open_store  # noqa: E402
from cq_geo.territory import load_store_territory  # noqa: E402
from tests.unit import synthetic_qpv as syn  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--features", type=int, default=1400)
    ap.add_argument("--vertices", type=int, default=150, help="vertices per polygon part (2 parts per feature)")
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()

    lines = [
        f"# import_qpv — {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}",
        f"# {platform.platform()}, Python {platform.python_version()}, {os.cpu_count()} CPU",
        "# load average at start: " + (", ".join(f"{v:.2f}" for v in os.getloadavg()) if hasattr(os, "getloadavg") else "?")
        + " (other work on the machine slows the figures down)",
    ]

    def say(text: str) -> None:
        print(text, flush=True)
        lines.append(text)

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        t0 = time.perf_counter()
        recs = syn.national_records(args.features, vertices=args.vertices)
        files = {
            "zip ANCT (GeoJSON WGS84 + SHP)": syn.anct_zip(recs, tmp / "qpv-2024-national-synthetique.zip"),
            "GeoJSON WGS84": syn.write(syn.frame(recs, "EPSG:4326"), tmp / "national_synthetique.geojson", "GeoJSON"),
            "GeoPackage Lambert-93": syn.write(syn.frame(recs), tmp / "national_synthetique.gpkg", "GPKG"),
        }
        vertices = sum(len(__import__("shapely").get_coordinates(g)) for _, g in recs)
        say(f"synthetic national file: {len(recs)} features, {vertices:,} vertices, generated in "
            f"{time.perf_counter() - t0:.1f} s")
        for label, path in files.items():
            say(f"  {label}: {path.stat().st_size / 2**20:.1f} MiB")
        template = open_store(tmp / "template" / "cq-geo.gpkg").path
        for k, (label, path) in enumerate(files.items()):
            times = []
            for i in range(args.repeat):
                target = tmp / f"run-{k}-{i}" / "cq-geo.gpkg"
                target.parent.mkdir()
                target.write_bytes(template.read_bytes())
                store = Store(target)
                t = time.perf_counter()
                rep = import_official(store, "qpv", path)
                times.append(time.perf_counter() - t)
                assert rep.feature_count == 13, rep
            say(f"import qpv, {label}: median {statistics.median(times):.2f} s "
                f"(min {min(times):.2f}, max {max(times):.2f}, {args.repeat} runs; {rep.features_read} read, "
                f"{rep.feature_count} kept; read: {rep.described})")
        # the GDAL-free path of the QGIS plugin: records (properties, WKB in EPSG:2154) already read
        from cq_geo.data.imports import import_records
        from cq_geo.data.sources import read_records

        records, described = read_records(files["GeoPackage Lambert-93"], "qpv")
        times = []
        for i in range(args.repeat):
            target = tmp / f"records-{i}" / "cq-geo.gpkg"
            target.parent.mkdir()
            target.write_bytes(template.read_bytes())
            t = time.perf_counter()
            rep = import_records(Store(target), "qpv", records, source_name="national_synthetique.gpkg")
            times.append(time.perf_counter() - t)
            assert rep.feature_count == 13, rep
        say(f"store.import_records, {len(records)} records already in Lambert-93 (checks, lock, sqlite write, "
            f"journal commit): median {statistics.median(times):.2f} s (min {min(times):.2f}, max {max(times):.2f})")
        t = time.perf_counter()
        territory = load_store_territory(target)
        say(f"load_store_territory after import: {time.perf_counter() - t:.3f} s "
            f"(qpv layer {territory.layers['qpv'].status}, {territory.layers['qpv'].feature_count} zones)")

    out = ROOT / "benchmarks" / "results" / "import_qpv.txt"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print(f"→ {out.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
