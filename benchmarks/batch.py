"""Benchmark of ``cq-geo batch``: files end to end (read, classify, write).

1. 1 000 000 coordinate rows (``id;nom;lon;lat``, French decimal commas, UTF-8),
   CSV in, CSV out: target ≥ 200 000 rows/s.
2. The whole ``cq-geo batch`` command on the file of 1. (interpreter start,
   territory load, summary files XLSX and HTML included).
3. 100 000 address rows geocoded offline against the synthetic BAN fixture
   (tests/fixtures/ban_synthetic; every row a distinct address), CSV in, CSV out:
   target ≥ 1 500 rows/s.

Run: ``.venv/bin/python benchmarks/batch.py [--rows 1000000] [--addresses 100000] [--repeat 3] [--no-cli]``.

``--fastpaths`` measures instead what each byte-level trick of :mod:`cq_geo.bulk.fastcsv` buys
(each turned off alone, and plain pandas ``read_csv``/``to_csv`` for reference) at 10 000,
100 000 and 1 000 000 rows (``--sizes``); figures appended to benchmarks/results/batch_fastpaths.txt.
Measure 1 starts from no previous result file (a first run) with the input
on disk and in the page cache.
Working files go to benchmarks/out/ (ignored by git); figures are appended
to benchmarks/results/batch.txt.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

OUT = ROOT / "benchmarks" / "out"
RESULTS = ROOT / "benchmarks" / "results" / "batch.txt"
FAST_RESULTS = ROOT / "benchmarks" / "results" / "batch_fastpaths.txt"
BAN_FIXTURE = ROOT / "tests" / "fixtures" / "ban_synthetic" / "adresses-synthetic.csv"


def make_coordinates(path: Path, n: int, territory) -> None:
    import shapely

    from cq_geo.geo.crs import l93_to_lonlat

    b = shapely.total_bounds(territory.communes.geoms)
    rng = np.random.default_rng(2030)
    # 80 % of the points in the territory's box, 20 % around it
    x = rng.uniform(b[0] - 5000, b[2] + 5000, n)
    y = rng.uniform(b[1] - 5000, b[3] + 5000, n)
    lon, lat = l93_to_lonlat(x, y)
    lon_t = np.char.replace(np.round(lon, 6).astype(str), ".", ",")
    lat_t = np.char.replace(np.round(lat, 6).astype(str), ".", ",")
    ids = np.arange(n).astype(str)
    names = np.char.add("Structure ", (np.arange(n) % 5000).astype(str))
    lines = ["id;nom;lon;lat"] + [";".join(r) for r in zip(ids.tolist(), names.tolist(), lon_t.tolist(), lat_t.tolist())]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def make_addresses(path: Path, n: int) -> int:
    """n rows, each a distinct address on the fixture's streets; returns the number of streets."""
    import csv

    with open(BAN_FIXTURE, encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh, delimiter=";"))
    streets = sorted({(r["nom_voie"], r["code_postal"], r["nom_commune"]) for r in rows if r["code_insee"] != "59606"})
    out = ["num;voie;cp;ville"]
    for i in range(n):
        voie, cp, ville = streets[i % len(streets)]
        out.append(f"{1 + i // len(streets)};{voie};{cp};{ville}")
    path.write_text("\n".join(out) + "\n", encoding="utf-8")
    return len(streets)


_CPU: dict[str, float] = {}


def timed(label: str, fn):
    """Run fn; return (value, wall seconds); the process CPU seconds go to _CPU[label]."""
    t0, c0 = time.perf_counter(), time.process_time()
    value = fn()
    _CPU[label] = time.process_time() - c0
    return value, time.perf_counter() - t0


def load_average() -> str:
    try:
        return " / ".join(f"{v:.1f}" for v in os.getloadavg())
    except OSError:
        return "?"


def _fastpath_switches():
    """(label, how to turn the trick off: a function that patches and returns an undo, or batch_file options).

    Measured and dropped (less than 10 % at up to a million rows; benchmarks/results/batch_fastpaths.txt,
    2026-12-02 07:52): pandas' « high » float converter for fields of at most 15 characters, the float
    texts of the next chunk formatted ahead in a second thread, posix_fadvise every 32 MB written.
    """
    from cq_geo.bulk import fastcsv, readers, writers

    def patch(module, name, value):
        def apply():
            old = getattr(module, name)
            setattr(module, name, value)
            return lambda: setattr(module, name, old)
        return apply

    def plain_float_rows(columns, delimiter, decimal, encoding):
        d = delimiter.encode(encoding)
        texts = [writers.float_texts(c, decimal, encoding) for c in columns]
        return [d + d.join(parts) for parts in zip(*texts)]

    return [
        ("tout actif", None, {}),
        ("lecteur octets + copie des lignes → module csv + écrivain général", patch(readers, "_plain_lines", lambda *a: False), {}),
        ("copie des lignes → écrivain général (toutes les colonnes lues)", None, {"output_delimiter": ";"}),
        ("coordonnées lues en nombres par le lecteur C → texte puis conversion", patch(fastcsv, "_read_floats", lambda *a: None), {}),
        ("nombres écrits en mots de 32 bits → repr + remplacements", patch(fastcsv, "_float_row_bytes", plain_float_rows), {}),
    ]


def _plain_pandas(src: Path, dst: Path, territory) -> None:
    """Reference: pandas read_csv (text) → batch → to_csv (no formula neutralisation, no atomic write)."""
    import pandas as pd

    from cq_geo.bulk.run import batch

    data = pd.read_csv(src, sep=";", dtype=str, keep_default_na=False)
    out, _ = batch(data, lon_col="lon", lat_col="lat", territory=territory)
    out.to_csv(dst, sep=";", index=False, decimal=",")


def fastpaths(sizes: list[int], repeat: int, territory) -> list[str]:
    """CPU and wall seconds of batch_file CSV → CSV per size, each trick turned off alone.

    The cases run in turn (all of them, *repeat* times over, so that a change of the machine's
    load touches them alike); the best time of each is kept.
    """
    from cq_geo.bulk.run import batch_file

    lines = []
    for n in sizes:
        src = OUT / f"coordonnees_{n}.csv"
        make_coordinates(src, n, territory)
        dst = OUT / f"coordonnees_{n}_resultat.csv"
        batch_file(src, dst, lon_col="lon", lat_col="lat", territory=territory, write_summary=False, overwrite=True)
        reference = dst.read_bytes()
        cases = _fastpath_switches() + [("pandas simple : read_csv → batch → to_csv (référence)", "pandas", {})]
        best = {label: [float("inf"), float("inf"), ""] for label, _, _ in cases}
        for _ in range(repeat):
            for label, off, options in cases:
                dst.unlink(missing_ok=True)
                undo = off() if callable(off) else None
                try:
                    t0, c0 = time.perf_counter(), time.process_time()
                    if off == "pandas":
                        _plain_pandas(src, dst, territory)
                    else:
                        batch_file(src, dst, lon_col="lon", lat_col="lat", territory=territory, write_summary=False,
                                   **options)
                    cpu, wall = time.process_time() - c0, time.perf_counter() - t0
                finally:
                    if undo:
                        undo()
                b = best[label]
                b[0], b[1] = min(b[0], cpu), min(b[1], wall)
                b[2] = ("sortie non comparable" if off == "pandas" else
                        "sortie identique" if dst.read_bytes() == reference else "SORTIE DIFFÉRENTE")
        base_cpu, base_wall, _ = best[cases[0][0]]
        lines.append(f"{n:,} lignes (meilleur de {repeat}) : temps CPU / temps écoulé, et écart avec « tout actif »".replace(",", " "))
        print(lines[-1], flush=True)
        for label, (cpu, wall, same) in best.items():
            lines.append(f"  {label} : CPU {cpu:.3f} s ({100 * (cpu / base_cpu - 1):+.0f} %), écoulé {wall:.3f} s "
                         f"({100 * (wall / base_wall - 1):+.0f} %) ; {same}")
            print(lines[-1], flush=True)
    return lines


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--addresses", type=int, default=100_000)
    ap.add_argument("--repeat", type=int, default=1, help="runs of the coordinate measure (each in this process)")
    ap.add_argument("--no-cli", action="store_true", help="skip the full `cq-geo batch` command measure")
    ap.add_argument("--fastpaths", action="store_true", help="measure each byte-level trick of cq_geo.bulk.fastcsv")
    ap.add_argument("--sizes", default="10000,100000,1000000", help="rows of the --fastpaths measures")
    args = ap.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)

    import cq_geo
    from cq_geo.bulk.run import batch_file

    territory = cq_geo.load_territory()
    lines = [f"# {dt.datetime.now(dt.timezone.utc):%Y-%m-%d %H:%M} UTC — {platform.machine()}, {os.cpu_count()} cœurs, "
             f"Python {platform.python_version()}"]
    if args.fastpaths:
        lines[0] += f" ; charge au départ {load_average()}"
        lines += fastpaths([int(v) for v in args.sizes.split(",")], max(args.repeat, 1), territory)
        lines.append(f"(charge à la fin {load_average()})")
        with open(FAST_RESULTS, "a", encoding="utf-8") as fh:
            fh.write("\n".join(lines) + "\n\n")
        return 0

    src = OUT / "coordonnees.csv"
    _, t_make = timed("make", lambda: make_coordinates(src, args.rows, territory))
    result = OUT / "coordonnees_resultat.csv"
    for run in range(1, args.repeat + 1):
        result.unlink(missing_ok=True)  # a first run: replacing an old 280 MB result costs its deletion (~0.25 s)
        os.sync()  # the written input and old results go to disk before the clock starts
        res, t = timed("batch", lambda: batch_file(src, result, lon_col="lon", lat_col="lat",
                                                   territory=territory, write_summary=False))
        rate = args.rows / t
        counts = ", ".join(f"{k} {v}" for k, v in res.summary.counts.items())
        cpu = _CPU["batch"]
        label = "coordonnées" + (f" (essai {run}{' : pandas déjà chargé' if run > 1 else ''})" if args.repeat > 1 else "")
        lines.append(f"{label} : {args.rows:,} lignes CSV → CSV en {t:.2f} s = {rate:,.0f} lignes/s "
                     f"(temps CPU {cpu:.2f} s = {args.rows / cpu:,.0f} lignes/s CPU ; objectif ≥ 200 000) "
                     f"[{counts}]".replace(",", " ") + f" ; charge {load_average()}")
        print(lines[-1], flush=True)

    if not args.no_cli:
        # The whole command a user types: interpreter start, territory load, progress bar,
        # the output and the two summary files (XLSX with every row to check, HTML).
        import subprocess

        cli_out = OUT / "coordonnees_cli.csv"
        from cq_geo.bulk.run import side_file

        for f in (cli_out, side_file(cli_out, "summary_xlsx"), side_file(cli_out, "summary_html")):
            f.unlink(missing_ok=True)
        os.sync()
        cmd = [str(Path(sys.executable).with_name("cq-geo")), "batch", str(src), "-o", str(cli_out), "--lon-col", "lon", "--lat-col", "lat", "-q"]
        t0 = time.perf_counter()
        done = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
        t = time.perf_counter() - t0
        if done.returncode != 0:
            print(done.stderr, file=sys.stderr)
            raise SystemExit(f"cq-geo batch a échoué ({done.returncode})")
        figures = f"{args.rows:,} lignes en {t:.2f} s = {args.rows / t:,.0f} lignes/s".replace(",", " ")
        lines.append("commande complète « cq-geo batch » (démarrage, chargement du territoire, sortie CSV, résumés XLSX "
                     f"et HTML) : {figures} ; charge {load_average()}")
        print(lines[-1], flush=True)

    if args.addresses:
        from cq_geo.geocode.ban_index import import_ban

        db = OUT / "ban_bench.sqlite"
        if db.exists():
            db.unlink()
        import_ban(BAN_FIXTURE, db)
        geocoder = cq_geo.geocode.get_geocoder("offline", store=db)
        asrc = OUT / "adresses.csv"
        streets = make_addresses(asrc, args.addresses)
        res, t = timed("addr", lambda: batch_file(asrc, OUT / "adresses_resultat.csv", address_cols="num,voie",
                                                  postcode_col="cp", city_col="ville", geocoder=geocoder,
                                                  territory=territory, write_summary=False, overwrite=True))
        rate = args.addresses / t
        counts = ", ".join(f"{k} {v}" for k, v in res.summary.counts.items())
        lines.append(f"adresses : {args.addresses:,} lignes distinctes ({streets} voies du BAN synthétique), géocodeur "
                     f"hors ligne, CSV → CSV en {t:.2f} s = {rate:,.0f} lignes/s (temps CPU {_CPU['addr']:.2f} s ; "
                     f"objectif ≥ 1 500) [{counts}]".replace(",", " ") + f" ; charge {load_average()}")
        print(lines[-1], flush=True)
    with open(RESULTS, "a", encoding="utf-8") as fh:
        fh.write("\n".join(lines) + "\n\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
