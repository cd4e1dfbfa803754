"""Seeded, time-bounded fuzz of ``cq-geo batch`` over input names, output paths and side-file collisions.

Each run picks an input (a file made here, or any file already in the folder:
earlier outputs, summaries, salt files, resume caches, the data store itself),
an output path (new names, ``..`` detours, the input, names whose side files are
the input or the store, folders, paths under a file, missing folders, links,
temporary-file names) and options (--pseudonymise, --resume, --overwrite,
--salt, --no-summary-files; coordinates or addresses). After every run:

- the exit code is 0, 2 or 3 (never 1, an internal error);
- the input's bytes are unchanged, and so are the data store's;
- no other file of the folder changed, except the output and its own side files.

``CQ_GEO_FUZZ_SEED`` (default 13) and ``CQ_GEO_FUZZ_SECONDS`` (default 15) change
the seed and the time budget; a failure names the seed, the run and the command.
"""

from __future__ import annotations

import hashlib
import os
import random
import shutil
import time
from pathlib import Path

import pytest

from cq_geo.bulk.run import side_file
from cq_geo.cli.main import main

from .batch_support import commune_points

ROOT = Path(__file__).resolve().parents[2]
BAN_FIXTURE = ROOT / "tests" / "fixtures" / "ban_synthetic" / "adresses-synthetic.csv"
SEED = int(os.environ.get("CQ_GEO_FUZZ_SEED", "13"))
SECONDS = float(os.environ.get("CQ_GEO_FUZZ_SECONDS", "15"))
MAX_RUNS = 400
SIDE_KINDS = ("summary_xlsx", "summary_html", "salt", "cache")


def _sha(path: Path) -> str | None:
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError:
        return None


def _snapshot(folder: Path) -> dict[Path, str | None]:
    out = {}
    for dirpath, dirnames, filenames in os.walk(folder):
        for name in filenames:
            p = Path(dirpath) / name
            out[p] = None if p.is_symlink() else _sha(p)
    return out


@pytest.fixture(scope="module")
def ban_store_file(tmp_path_factory):
    pytest.importorskip("geopandas")
    from cq_geo.geocode.ban_index import import_ban

    path = tmp_path_factory.mktemp("magasin-fuzz") / "magasin.gpkg"
    import_ban(BAN_FIXTURE, path)
    return path


def _write_input(path: Path, rng: random.Random, pts: dict) -> None:
    """A small CSV or XLSX with an address and coordinates per row (some rows bad)."""
    codes = sorted(pts)
    rows = []
    for i in range(rng.randint(0, 6)):
        lon, lat = pts[rng.choice(codes)]
        kind = rng.random()
        if kind < 0.15:
            rows.append(["", "", ""])
        elif kind < 0.3:
            rows.append([f"{rng.randint(1, 40)} rue des essais", "abc", ""])
        else:
            rows.append([f"{rng.randint(1, 30)} rue des Essais 59220 Denain", f"{lon:.6f}", f"{lat:.6f}"])
    if path.suffix.lower() == ".xlsx":
        from openpyxl import Workbook

        wb = Workbook()
        wb.active.append(["adresse", "lon", "lat"])
        for r in rows:
            wb.active.append(r)
        wb.save(path)
    else:
        sep = rng.choice([";", ","])
        lines = [sep.join(["adresse", "lon", "lat"])] + [sep.join(r if sep == ";" else [r[0], r[1], r[2]]) for r in rows]
        path.write_text("\n".join(lines) + "\n", encoding=rng.choice(["utf-8", "cp1252"]))


_STEMS = ["entrée", "in", "res", "p", "a b", ".cache", "données.v2", "x" * 40, "résultats"]
_SUFFIXES = [".csv", ".xlsx", ".txt", ".tsv", ".CSV"]
_OUT_SUFFIXES = [".csv", ".xlsx", ".gpkg", ".txt", ".tsv", ".CSV", ".xls", ""]


def _output_for(rng: random.Random, src: str, work: Path, store: Path) -> str:
    """An output path: new, colliding with the input or the store, or a mistake."""
    choice = rng.randrange(16)
    stem = rng.choice(_STEMS)
    if choice == 0:
        return src
    if choice == 1:
        return f"nosuchdir/../{src}"
    if choice == 2:
        return f"./sous-dossier/../{src}" if (work / "sous-dossier").is_dir() else f"./{src}"
    if choice == 3:  # a name whose side file is the input
        for kind in SIDE_KINDS:
            suffix = side_file(Path("x"), kind).name[1:]
            if src.endswith(suffix) and len(src) > len(suffix):
                return src[: -len(suffix)]
        return src + rng.choice(_OUT_SUFFIXES)
    if choice == 4:  # the store, or a name whose side file is the store
        return rng.choice([store.name, "magasin", str(store), "magasin.gpkg.prev"])
    if choice == 5:
        return rng.choice(["dossier", "dossier.csv", "sous-dossier"])
    if choice == 6:
        return f"{src}/sortie.csv"
    if choice == 7:
        return f"absent/{stem}.csv"
    if choice == 8:
        return str((work / f"{stem}{rng.choice(_OUT_SUFFIXES)}").resolve())
    if choice == 9:
        return "lien.csv"
    if choice == 10:
        return f".{stem}.csv.{os.getpid()}.partiel.csv"
    if choice == 11:
        return f"sous-dossier/{stem}{rng.choice(_OUT_SUFFIXES)}"
    return f"{stem}{rng.choice(_OUT_SUFFIXES)}"


def test_fuzz_input_names_output_paths_side_files(tmp_path, monkeypatch, capsys, ban_store_file):
    import cq_geo

    pts = commune_points(cq_geo.load_territory())
    rng = random.Random(SEED)
    work = tmp_path / "travail"
    work.mkdir()
    (work / "dossier").mkdir()
    (work / "dossier.csv").mkdir()
    (work / "sous-dossier").mkdir()
    store = work / "magasin.gpkg"
    shutil.copy(ban_store_file, store)
    monkeypatch.setenv("CQ_GEO_STORE", str(store))
    monkeypatch.chdir(work)
    store_sha = _sha(store)
    start = time.monotonic()
    runs = 0
    codes: dict[int, int] = {}
    while runs < MAX_RUNS and time.monotonic() - start < SECONDS:
        runs += 1
        existing = [p for p in work.rglob("*") if p.is_file() and not p.is_symlink()]
        if not existing or rng.random() < 0.45:  # a new input file
            name = rng.choice(_STEMS) + rng.choice(_SUFFIXES)
            if rng.random() < 0.3:  # named like a side file or a temporary file of some output
                base = rng.choice(_STEMS) + rng.choice([".csv", ".xlsx"])
                name = rng.choice([side_file(Path(base), rng.choice(SIDE_KINDS)).name,
                                   f".{base}.{os.getpid()}.partiel.csv", f".{base}.1.partiel.csv"])
            path = work / rng.choice(["", "sous-dossier/"]) / name
            if not path.exists():
                _write_input(path, rng, pts)
        else:  # any file already there: an output, a summary, a salt file, a cache, the store…
            path = rng.choice(existing)
        src = os.path.relpath(path, work)
        link = work / "lien.csv"
        if link.is_symlink() or link.exists():
            link.unlink()
        link.symlink_to(path)
        out = _output_for(rng, src, work, store)
        argv = ["batch", src, "-o", out, "-q"]
        if rng.random() < 0.5:
            argv += ["--lon-col", "lon", "--lat-col", "lat"]
        else:
            argv += ["--address-cols", "adresse"]
        for flag, p in (("--pseudonymise", 0.3), ("--resume", 0.2), ("--overwrite", 0.5), ("--no-summary-files", 0.2)):
            if rng.random() < p:
                argv.append(flag)
        if "--pseudonymise" in argv and rng.random() < 0.3:
            argv += ["--salt", "sel-fuzz"]
        before = _snapshot(work)
        input_sha = _sha(path)
        code = main(argv)
        captured = capsys.readouterr()
        where = f"graine {SEED}, passage {runs} : cq-geo {' '.join(argv)}\n{captured.err[-1500:]}"
        assert code in (0, 2, 3), where
        assert _sha(path) == input_sha, "entrée modifiée — " + where
        assert _sha(store) == store_sha, "magasin modifié — " + where
        # only the output and its own side files (and their temporary files) may change
        target = Path(os.path.realpath(work / out)) if not os.path.isabs(out) else Path(os.path.realpath(out))
        allowed = {target} | {side_file(target, k) for k in SIDE_KINDS}
        after = _snapshot(work)
        for p, digest in before.items():
            real = Path(os.path.realpath(p)) if not p.is_symlink() else p
            if real in allowed or ".partiel" in p.name:
                continue
            assert after.get(p) == digest, f"{p.name} modifié ou supprimé — " + where
        for p in after:  # nothing new but the output and its side files: no temporary file left
            if p not in before:
                assert Path(os.path.realpath(p)) in allowed, f"fichier inattendu {p.name} — " + where
        if code == 2:  # refused: nothing written
            assert target not in after or target in before, "sortie écrite malgré l'erreur — " + where
        codes[code] = codes.get(code, 0) + 1
    print(f"fuzz : graine {SEED}, {runs} passages, codes de sortie {codes}")
    assert runs >= 10, f"seulement {runs} passages en {SECONDS} s"
    assert codes.get(2, 0) and (codes.get(0, 0) or codes.get(3, 0)), codes  # both refusals and real runs happened
