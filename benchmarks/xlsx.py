"""Benchmark of the XLSX writer (:mod:`cq_geo.bulk.xlsx`): the batch summary and a batch output.

1. The summary of a 1 000 000-row coordinate batch (``<nom>.resume.xlsx``:
   « Synthèse » and « À vérifier », 143 325 rows × 5 columns): target < 2 s.
2. A batch output (``cq-geo batch … -o sortie.xlsx``) of 100 000 rows × 26
   columns (the first rows of the same batch): target < 5 s.

The input is benchmarks/out/coordonnees.csv (1 000 000 rows ``id;nom;lon;lat``),
made here when absent (as ``benchmarks/batch.py`` makes it). Only the writing is
timed: reading and classifying the batch come first, off the clock.

Run: ``.venv/bin/python benchmarks/xlsx.py [--rows 100000] [--niveau 1]``
(``--niveau``: zip compression level, 1 to 9). Working files go to
benchmarks/out/ (ignored by git); figures are appended to benchmarks/results/xlsx.txt.
"""

from __future__ import annotations

import argparse
import datetime as dt
import importlib
import os
import platform
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

OUT = ROOT / "benchmarks" / "out"
RESULTS = ROOT / "benchmarks" / "results" / "xlsx.txt"
SOURCE = OUT / "coordonnees.csv"


def timed(fn):
    """Run fn; return (wall seconds, CPU seconds of the process)."""
    t0, c0 = time.perf_counter(), time.process_time()
    fn()
    return time.perf_counter() - t0, time.process_time() - c0


def load_average() -> str:
    try:
        return " / ".join(f"{v:.1f}" for v in os.getloadavg())
    except OSError:
        return "?"


def mb(path: Path) -> str:
    return f"{path.stat().st_size / 1e6:.1f} Mo"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=100_000, help="lignes de la sortie de lot écrite en XLSX")
    ap.add_argument("--niveau", type=int, default=None, help="niveau de compression zip (défaut : celui du module)")
    args = ap.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)

    import cq_geo
    from cq_geo.bulk.readers import read_table
    from cq_geo.bulk.writers import write_xlsx

    try:
        from cq_geo.bulk import xlsx as xlsx_module
    except ImportError:  # the openpyxl writer (before cq_geo.bulk.xlsx): measured as it is
        xlsx_module = None
    if xlsx_module is not None and args.niveau is not None:
        xlsx_module.COMPRESSLEVEL = args.niveau
    level = "openpyxl" if xlsx_module is None else f"cq_geo.bulk.xlsx, compression {xlsx_module.COMPRESSLEVEL}"

    if not SOURCE.exists():
        sys.path.insert(0, str(ROOT / "benchmarks"))
        from batch import make_coordinates  # benchmarks/batch.py

        make_coordinates(SOURCE, 1_000_000, cq_geo.load_territory())
    table = read_table(SOURCE)
    batch = importlib.import_module("cq_geo.bulk.run").batch  # (cq_geo.bulk.run is also a function)
    data, summary = batch(table.data, lon_col="lon", lat_col="lat")

    lines = [f"# {dt.datetime.now(dt.timezone.utc):%Y-%m-%d %H:%M} UTC — {platform.machine()}, {os.cpu_count()} cœurs, "
             f"Python {platform.python_version()} — {level}"]

    resume = OUT / "coordonnees.resume.xlsx"
    t, cpu = timed(lambda: summary.write_xlsx(resume))
    n = len(summary.to_check)
    lines.append(f"résumé : {len(data):,} lignes traitées → feuille « À vérifier » de {n:,} lignes × "
                 f"{summary.to_check.shape[1]} colonnes écrite en {t:.2f} s (temps CPU {cpu:.2f} s ; objectif < 2 s)"
                 .replace(",", " ") + f", {mb(resume)} ; charge {load_average()}")
    print(lines[-1], flush=True)

    part = data.iloc[: args.rows]
    out = OUT / "coordonnees_resultat.xlsx"
    t, cpu = timed(lambda: write_xlsx(part, out))
    lines.append(f"sortie de lot : {len(part):,} lignes × {part.shape[1]} colonnes écrites en XLSX en {t:.2f} s "
                 f"= {len(part) / t:,.0f} lignes/s (temps CPU {cpu:.2f} s ; objectif < 5 s)"
                 .replace(",", " ") + f", {mb(out)} ; charge {load_average()}")
    print(lines[-1], flush=True)
    with open(RESULTS, "a", encoding="utf-8") as fh:
        fh.write("\n".join(lines) + "\n\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
