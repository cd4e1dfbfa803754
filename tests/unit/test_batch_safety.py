"""Batch files: never touch what is not ours, never echo what was removed, clear errors (issue 13).

One test per finding of the issue, each reproduced first on the code before the fix:
paths with ``..``, side files colliding with the input or the store, NUL-prefixed
formulas (checked by a real LibreOffice Calc), pseudonymised echoes and the resume
cache, lost salts, user mistakes (exit 2, French message; a real full disk on a
small tmpfs), resume-cache validation, XLSX formulas without values, hidden sheets,
exit 3 when nothing is usable, stale temporary files; and issue 14 item 8 (an
ambiguous address carries no commune of its own).
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

import cq_geo
from cq_geo.bulk.cells import neutralise_text
from cq_geo.bulk.files import BatchFileError, stale_partials
from cq_geo.bulk.readers import read_table
from cq_geo.bulk.run import batch_file, side_file
from cq_geo.cli.main import main

from .batch_support import TableGeocoder, commune_points

ROOT = Path(__file__).resolve().parents[2]
BAN_FIXTURE = ROOT / "tests" / "fixtures" / "ban_synthetic" / "adresses-synthetic.csv"


@pytest.fixture(scope="module")
def terr():
    return cq_geo.load_territory()


@pytest.fixture(scope="module")
def pts(terr):
    return commune_points(terr)


@pytest.fixture(scope="module")
def ban_store(tmp_path_factory):
    """A data store holding the synthetic BAN index (tests/fixtures/ban_synthetic)."""
    pytest.importorskip("geopandas")
    from cq_geo.geocode.ban_index import import_ban

    path = tmp_path_factory.mktemp("magasin") / "magasin.gpkg"
    import_ban(BAN_FIXTURE, path)
    return path


def sha(path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def cli(*args, capsys=None) -> tuple[int, str]:
    code = main(["batch", *map(str, args), "-q"])
    err = capsys.readouterr().err if capsys is not None else ""
    return code, err


def coords_csv(path: Path, pts, rows: int = 2) -> Path:
    lon, lat = pts["59172"]
    path.write_text("nom;lon;lat\n" + "".join(f"n{i};{lon};{lat}\n" for i in range(rows)), encoding="utf-8")
    return path


# -- paths --------------------------------------------------------------------------------------------
def test_dotdot_output_never_replaces_the_input(tmp_path, pts, monkeypatch, capsys):
    """`-o nosuchdir/../in.csv` replaced in.csv (the folder was created first, the check saw no file)."""
    monkeypatch.chdir(tmp_path)
    src = coords_csv(tmp_path / "in.csv", pts)
    before = sha(src)
    code, err = cli("in.csv", "-o", "nosuchdir/../in.csv", "--lon-col", "lon", "--lat-col", "lat", capsys=capsys)
    assert code == 2 and "ne peut pas être le fichier d'entrée" in err
    assert sha(src) == before and sorted(p.name for p in tmp_path.iterdir()) == ["in.csv"]


def test_symlink_and_hard_link_to_the_input_refused(tmp_path, pts, capsys):
    src = coords_csv(tmp_path / "in.csv", pts)
    before = sha(src)
    (tmp_path / "lien.csv").symlink_to(src)
    os.link(src, tmp_path / "dur.csv")
    for out in ("lien.csv", "dur.csv"):
        code, err = cli(src, "-o", tmp_path / out, "--lon-col", "lon", "--lat-col", "lat", "--overwrite", capsys=capsys)
        assert code == 2 and "fichier d'entrée" in err, out
    assert sha(src) == before


@pytest.mark.parametrize("kind", ["summary_xlsx", "summary_html", "salt", "cache", "temporary"])
def test_side_files_never_replace_the_input(tmp_path, pts, kind, capsys):
    """An input named like the summary (or the salt file…) of the output was replaced by it (exit 0)."""
    from openpyxl import Workbook

    out = tmp_path / "res.csv"
    if kind == "temporary":
        name = f".res.csv.{os.getpid()}.partiel.csv"
    else:
        name = side_file(out, kind).name
    src = tmp_path / name
    if kind == "summary_xlsx":
        wb = Workbook()
        wb.active.append(["adresse", "lon", "lat"])
        wb.active.append(["12 rue des Essais Denain", *pts["59172"]])
        wb.save(src)
    else:
        lon, lat = pts["59172"]
        src.write_text(f"adresse;lon;lat\n12 rue des Essais Denain;{lon};{lat}\n", encoding="utf-8")
    before = sha(src)
    extra = ["--pseudonymise"] if kind == "salt" else []
    extra += ["--address-cols", "adresse", "--geocoder", "offline"] if kind == "cache" else ["--lon-col", "lon", "--lat-col", "lat"]
    code, err = cli(src, "-o", out, *extra, capsys=capsys)
    assert code == 2 and "serait le fichier d'entrée" in err and "choisissez un autre nom de sortie" in err
    assert sha(src) == before and not out.exists()


def test_the_data_store_is_never_written(tmp_path, pts, monkeypatch, capsys):
    store = tmp_path / "magasin.gpkg"
    store.write_bytes(b"SQLite format 3\x00 pas un vrai magasin, il ne doit pas changer")
    before = sha(store)
    monkeypatch.setenv("CQ_GEO_STORE", str(store))
    src = coords_csv(tmp_path / "in.csv", pts)
    code, err = main(["batch", str(src), "-o", str(store), "--lon-col", "lon", "--lat-col", "lat",
                      "--overwrite", "-q"]), capsys.readouterr().err
    assert code == 2 and "magasin de données" in err
    # a store named like a side file of the output
    side = tmp_path / "base.csv.resume.xlsx"
    side.write_bytes(b"magasin")
    monkeypatch.setenv("CQ_GEO_STORE", str(side))
    code, err = main(["batch", str(src), "-o", str(tmp_path / "base.csv"), "--lon-col", "lon", "--lat-col", "lat",
                      "-q"]), capsys.readouterr().err
    assert code == 2 and "magasin de données" in err and side.read_bytes() == b"magasin"
    assert not (tmp_path / "base.csv").exists()
    code, err = main(["batch", str(src), "-o", str(tmp_path / "x.gpkg"), "--store", str(tmp_path / "x.gpkg"),
                      "--lon-col", "lon", "--lat-col", "lat", "-q"]), capsys.readouterr().err
    assert code == 2 and "magasin de données" in err
    assert sha(store) == before


# -- formulas -----------------------------------------------------------------------------------------
_NUL_CELLS = ["\x00=1+1", "\x00\x00+3+3", "\x01=2+2", "\x0b@SUM(1;1)", "\x1f-4+4", "\x00=HYPERLINK(\"x\")"]


def test_neutralise_after_control_characters():
    assert [neutralise_text(c) for c in _NUL_CELLS] == [
        "'=1+1", "'+3+3", "'=2+2", "'@SUM(1;1)", "'-4+4", "'=HYPERLINK(\"x\")"]
    assert neutralise_text("\x00-3,5") == "\x00-3,5" and neutralise_text("\x01abc") == "\x01abc"


def _libreoffice_formulas(path: Path, work: Path, csv_input: bool) -> tuple[list, list]:
    """Convert *path* with a real LibreOffice Calc (formulas evaluated) and return
    ``(cells holding a formula, first column values)`` of the first sheet."""
    from openpyxl import load_workbook

    exe = shutil.which("soffice")
    if exe is None:
        pytest.skip("LibreOffice (soffice) absent : paquet Debian libreoffice-calc-nogui")
    work.mkdir(exist_ok=True)
    cmd = [exe, "--headless", "--norestore", f"-env:UserInstallation=file://{work / 'profil'}"]
    if csv_input:  # ; separated, UTF-8, formulas evaluated (token 13): what a user gets at worst
        cmd.append("--infilter=CSV:59,34,76,1,,0,false,true,false,false,false,0,true")
    subprocess.run(cmd + ["--convert-to", "xlsx", "--outdir", str(work / "lo"), str(path)],
                   check=True, capture_output=True, timeout=180)
    book = work / "lo" / (path.stem + ".xlsx")
    ws = load_workbook(book).worksheets[0]
    formulas = [c.coordinate for row in ws.iter_rows() for c in row if c.data_type == "f"]
    values = [row[0] for row in load_workbook(book, data_only=True).worksheets[0].iter_rows(values_only=True)]
    return formulas, values


@pytest.mark.parametrize("quoted", [False, True])
@pytest.mark.parametrize("suffix", [".csv", ".xlsx"])
def test_nul_prefixed_formulas_never_run_in_libreoffice(tmp_path, terr, pts, quoted, suffix):
    """`\\x00=1+1` was written as it is in CSV and LibreOffice computed 2."""
    lon, lat = pts["59172"]
    src = tmp_path / "entree.csv"
    q = '"' if quoted else ""  # quotes: the general CSV writer; none: the byte-copy writer
    lines = ["nom;lon;lat"] + [f"{q}{c}{q};{lon};{lat}" for c in _NUL_CELLS] + [f"=1+1;{lon};{lat}"]
    src.write_bytes(("\n".join(lines) + "\n").encode("utf-8"))
    out = tmp_path / ("sortie" + suffix)
    batch_file(src, out, lon_col="lon", lat_col="lat", territory=terr, write_summary=False)
    formulas, values = _libreoffice_formulas(out, tmp_path, csv_input=suffix == ".csv")
    assert formulas == []
    assert all(isinstance(v, str) and not v.startswith(("=", "+", "@")) for v in values[1:]), values
    assert "2" not in [str(v) for v in values] and len(values) == 1 + len(_NUL_CELLS) + 1


# -- pseudonymisation ---------------------------------------------------------------------------------
def _all_text(path: Path) -> str:
    if path.suffix == ".xlsx":
        from openpyxl import load_workbook

        wb = load_workbook(path)
        return "\n".join(str(v) for ws in wb.worksheets for row in ws.iter_rows(values_only=True) for v in row)
    return path.read_text(encoding="utf-8", errors="replace")


def test_pseudonymise_reasons_quote_nothing_removed(tmp_path, terr, ban_store, monkeypatch):
    """Reasons quoted removed columns: « code postal 59300 DUPONT … », « commune « Chez Mme DUPONT … » inconnue »."""
    monkeypatch.setenv("CQ_GEO_STORE", str(ban_store))
    src = tmp_path / "nominatif.csv"
    src.write_text(
        "ref;adresse;cp;ville\n"
        "R1;12 rue des Essais;59300 DUPONT;Denain\n"
        "R2;3 rue Xyzzy;;Chez Mme DUPONT Valenciennes\n"
        "R3;12 rue des Essais;59220;Denain\n"
        "R4;7 rue des essais;;\n",
        encoding="utf-8",
    )
    plain = batch_file(src, tmp_path / "clair.csv", address_cols="adresse", postcode_col="cp", city_col="ville",
                       territory=terr)
    assert "DUPONT" in _all_text(tmp_path / "clair.csv")  # the finding, as it was: reasons quote the address
    res = batch_file(src, tmp_path / "partage.csv", address_cols="adresse", postcode_col="cp", city_col="ville",
                     territory=terr, pseudonymise=True)
    outputs = [tmp_path / "partage.csv", *res.summary_files]
    for path in outputs:
        text = _all_text(path)
        for word in ("DUPONT", "Dupont", "Essais", "essais", "Xyzzy", "Chez Mme", "59300"):
            assert word not in text, (path.name, word)
    assert "DUPONT" not in res.summary.to_text(max_rows=100)
    out = pd.read_csv(tmp_path / "partage.csv", sep=";", dtype=str, keep_default_na=False)
    clear = pd.read_csv(tmp_path / "clair.csv", sep=";", dtype=str, keep_default_na=False)
    assert list(out["cq_status"]) == list(clear["cq_status"]) and plain.summary.counts == res.summary.counts
    assert out["cq_reason"].str.len().min() > 0 and out.loc[3, "cq_geocode_quality"] == "ambiguous"


def test_pseudonymised_resume_cache_is_salted_and_removed(tmp_path, terr, pts):
    """The cache kept an unsalted SHA-256 of the address next to its position, after an interrupted run."""
    n = 450
    src = tmp_path / "adresses.csv"
    src.write_text("n;adresse\n" + "".join(f"{i};{i} rue des Essais 59220 Denain\n" for i in range(1, n + 1)),
                   encoding="utf-8")
    table = {f"{i} rue des essais 59220 denain": (*pts["59172"], "precise", "housenumber", 0.95) for i in range(1, n + 1)}
    out = tmp_path / "partage.csv"
    with pytest.raises(cq_geo.bulk.run.BatchError, match="--resume"):
        batch_file(src, out, address_cols="adresse", geocoder=TableGeocoder(table, fail_after=250), territory=terr,
                   pseudonymise=True, salt="sel secret")
    cache = side_file(out, "cache")
    text = cache.read_text(encoding="utf-8")
    head = json.loads(text.splitlines()[0])
    assert "key_salt" not in head and "sel secret" not in text
    keys = {json.loads(line)["k"] for line in text.splitlines()[1:]}
    assert len(keys) == 200
    # the old unsalted key of an address is not there: the file cannot be matched against a list of addresses
    for i in (1, 2, 3):
        unsalted = hashlib.sha256("\x1f".join(("test-table", f"{i} rue des Essais 59220 Denain", "", "")).encode()).hexdigest()
        assert unsalted[:32] not in keys
    with pytest.raises(cq_geo.bulk.run.BatchError, match="autre sel"):
        batch_file(src, out, address_cols="adresse", geocoder=TableGeocoder(table), territory=terr,
                   pseudonymise=True, salt="un autre sel", resume=True)
    again = TableGeocoder(table)
    batch_file(src, out, address_cols="adresse", geocoder=again, territory=terr, pseudonymise=True,
               salt="sel secret", resume=True)
    assert again.calls == n - 200 and not cache.exists()  # resumed, then removed with the run complete


def test_salt_files_of_two_outputs_kept_apart_and_never_replaced(tmp_path, terr, pts, capsys):
    """`-o p.csv --pseudonymise` then `-o p.xlsx --pseudonymise` shared p.sel.txt: the first salt was lost."""
    lon, lat = pts["59172"]
    src = tmp_path / "in.csv"
    src.write_text(f"nom;lon;lat\nA;{lon};{lat}\n", encoding="utf-8")
    opts = ["--lon-col", "lon", "--lat-col", "lat", "--pseudonymise"]
    assert cli(src, "-o", tmp_path / "p.csv", *opts, capsys=capsys)[0] == 0
    first = (tmp_path / "p.csv.sel.txt").read_bytes()
    assert cli(src, "-o", tmp_path / "p.xlsx", *opts, capsys=capsys)[0] == 0
    assert (tmp_path / "p.csv.sel.txt").read_bytes() == first and (tmp_path / "p.xlsx.sel.txt").read_bytes() != first
    code, err = cli(src, "-o", tmp_path / "p.csv", *opts, capsys=capsys)
    assert code == 2 and "existe déjà" in err and "--overwrite" in err
    ids = pd.read_csv(tmp_path / "p.csv", sep=";", dtype=str)["cq_id"].tolist()
    assert cli(src, "-o", tmp_path / "p.csv", *opts, "--overwrite", capsys=capsys)[0] == 0
    assert (tmp_path / "p.csv.sel.txt").read_bytes() == first  # reused, never replaced
    assert pd.read_csv(tmp_path / "p.csv", sep=";", dtype=str)["cq_id"].tolist() == ids


def test_nothing_replaced_without_overwrite(tmp_path, pts, capsys):
    src = coords_csv(tmp_path / "in.csv", pts)
    out = tmp_path / "out.csv"
    assert cli(src, "-o", out, "--lon-col", "lon", "--lat-col", "lat", capsys=capsys)[0] == 0
    out.unlink()
    summary = side_file(out, "summary_html")
    kept = summary.read_bytes()
    code, err = cli(src, "-o", out, "--lon-col", "lon", "--lat-col", "lat", capsys=capsys)
    assert code == 2 and "out.csv.resume" in err and "--overwrite" in err and summary.read_bytes() == kept
    assert not out.exists()
    assert cli(src, "-o", out, "--lon-col", "lon", "--lat-col", "lat", "--no-summary-files", capsys=capsys)[0] == 0


# -- user mistakes: exit 2 and a French message ----------------------------------------------------
def test_output_mistakes_are_french_errors(tmp_path, pts, capsys):
    src = coords_csv(tmp_path / "in.csv", pts)
    before = sha(src)
    (tmp_path / "dossier.csv").mkdir()
    cases = {
        "dossier.csv": "est un dossier",
        "in.csv/sortie.csv": "est un fichier, pas un dossier",
        "absent/sortie.csv": "n'existe pas : créez-le",
    }
    for out, words in cases.items():
        code, err = cli(src, "-o", tmp_path / out, "--lon-col", "lon", "--lat-col", "lat", capsys=capsys)
        assert code == 2 and words in err and "Traceback" not in err and "erreur interne" not in err, out
    assert not (tmp_path / "absent").exists() and sha(src) == before


def _chattr(path: Path, flag: str) -> bool:
    exe = shutil.which("chattr")
    if exe is None:
        return False
    return subprocess.run([exe, flag, str(path)], capture_output=True).returncode == 0


def test_read_only_folder_and_immutable_output(tmp_path, pts, capsys):
    src = coords_csv(tmp_path / "in.csv", pts)
    folder = tmp_path / "lecture_seule"
    folder.mkdir()
    locked = tmp_path / "protege.csv"
    locked.write_text("ancien\n", encoding="utf-8")
    if os.geteuid() == 0:  # root ignores permissions: the immutable flag stops it
        if not (_chattr(folder, "+i") and _chattr(locked, "+i")):
            pytest.skip("chattr +i impossible sur ce système de fichiers")
    else:
        folder.chmod(0o555)
        locked.chmod(0o444)
        tmp_path.chmod(0o555)
    try:
        code, err = cli(src, "-o", folder / "sortie.csv", "--lon-col", "lon", "--lat-col", "lat", capsys=capsys)
        assert code == 2 and "écriture refusée" in err and "erreur interne" not in err
        code, err = cli(src, "-o", locked, "--lon-col", "lon", "--lat-col", "lat", "--overwrite", "--no-summary-files",
                        capsys=capsys)
        assert code == 2 and "écriture refusée" in err and "erreur interne" not in err
        assert locked.read_text(encoding="utf-8") == "ancien\n" and os.listdir(folder) == []
        assert not [p for p in tmp_path.iterdir() if "partiel" in p.name]
    finally:
        if os.geteuid() == 0:
            _chattr(folder, "-i")
            _chattr(locked, "-i")
        else:
            tmp_path.chmod(0o755)
            folder.chmod(0o755)


_FULL_DISK = r"""
set -u
mount -t tmpfs -o size=256k cq-geo-test "$D" || exit 97
"$PY" -m cq_geo.cli.main batch "$SRC" -o "$D/sortie.csv" --lon-col lon --lat-col lat -q
echo "code=$?"
ls -A "$D"
"""
# Without mount rights: a file size limit (ulimit -f, in 512-byte blocks) with SIGXFSZ ignored,
# so that writing past it fails with EFBIG as a full disk fails with ENOSPC.
_SIZE_LIMIT = r"""
set -u
trap '' XFSZ
ulimit -f 512
"$PY" -m cq_geo.cli.main batch "$SRC" -o "$D/sortie.csv" --lon-col lon --lat-col lat -q
echo "code=$?"
ls -A "$D"
"""


def test_disk_full_is_said_and_leaves_no_partial_file(tmp_path, terr):
    """A real full disk: a 256 kB tmpfs (in a mount namespace: root, or a user namespace for others);
    where no namespace can be made, a file size limit (ulimit -f) that fails writes the same way."""
    src = tmp_path / "grand.csv"
    lon, lat = commune_points(terr)["59172"]
    src.write_text("nom;lon;lat\n" + "".join(f"structure {i};{lon};{lat}\n" for i in range(20000)), encoding="utf-8")
    target = tmp_path / "petit_disque"
    target.mkdir()
    env = dict(os.environ, D=str(target), SRC=str(src), PY=sys.executable, PYTHONPATH=str(ROOT))
    attempts = []
    exe = shutil.which("unshare")
    if exe is not None:
        attempts += [[exe, "--mount", "sh", "-c", _FULL_DISK],
                     [exe, "--user", "--map-root-user", "--mount", "sh", "-c", _FULL_DISK]]
    attempts.append(["sh", "-c", _SIZE_LIMIT])
    for cmd in attempts:
        done = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=300)
        if "code=" in done.stdout:
            break
    assert "code=2" in done.stdout, (cmd, done.stdout, done.stderr)
    assert "disque plein" in done.stderr and "aucun fichier partiel" in done.stderr and "erreur interne" not in done.stderr
    listing = done.stdout.split("code=2", 1)[1].split()
    assert listing == []  # nothing left on the full disk, not even a temporary file


def test_write_error_messages():
    from cq_geo.bulk.files import write_error

    for code, words in ((errno.ENOSPC, "disque plein"), (errno.EFBIG, "disque plein"), (errno.EACCES, "écriture refusée"),
                        (errno.EROFS, "écriture refusée"), (errno.EISDIR, "est un dossier"), (errno.ENOENT, "introuvable")):
        assert words in str(write_error(OSError(code, os.strerror(code)), "/x/sortie.csv"))


def test_map_and_data_options_refused_in_french(capsys):
    assert main(["map", "--simplify", "nan", "-o", "/nonexistent/carte.html"]) == 2
    assert "mètres" in capsys.readouterr().err
    assert main(["map", "--simplify", "-1", "-o", "/nonexistent/carte.html"]) == 2
    assert main(["data", "update", "--timeout", "-1"]) == 2
    assert "secondes" in capsys.readouterr().err


def test_damaged_or_binary_resume_cache(tmp_path, terr, pts, capsys):
    src = tmp_path / "adr.csv"
    src.write_text("adresse\n12 rue des Essais Denain\n", encoding="utf-8")
    out = tmp_path / "sortie.csv"
    cache = side_file(out, "cache")
    table = {"12 rue des essais denain": (*pts["59172"], "precise", "housenumber", 0.9)}
    for content in (b"\x00\x01\xff\xfe\x89PNG binaire", b"pas du json\n", b'{"cq_geo_geocode_cache": 2}\n\xff\xfe\n'):
        cache.write_bytes(content)
        with pytest.raises(cq_geo.bulk.run.BatchError, match="illisible|autre géocodeur|abîmé"):
            batch_file(src, out, address_cols="adresse", geocoder=TableGeocoder(table), territory=terr, resume=True)
        assert cache.read_bytes() == content and not out.exists()
    # without --resume, an interrupted run's file is not replaced silently either
    with pytest.raises(BatchFileError, match="--resume .*--overwrite"):
        batch_file(src, out, address_cols="adresse", geocoder=TableGeocoder(table), territory=terr)
    res = batch_file(src, out, address_cols="adresse", geocoder=TableGeocoder(table), territory=terr, overwrite=True)
    assert res.usable == 1 and not cache.exists()


def test_xlsx_with_a_bad_deflate_stream(tmp_path, pts, capsys):
    import zipfile

    from openpyxl import Workbook

    good = tmp_path / "bon.xlsx"
    wb = Workbook()
    wb.active.append(["nom", "lon", "lat"])
    for i in range(3000):
        wb.active.append([f"n{i}", *pts["59172"]])
    wb.save(good)
    raw = bytearray(good.read_bytes())
    info = zipfile.ZipFile(good).getinfo("xl/worksheets/sheet1.xml")
    start = info.header_offset + 30 + len(info.filename.encode()) + len(info.extra)
    for at in (info.compress_size - 300, 40):  # late in the stream (read while iterating), then early
        bad = bytearray(raw)
        for k in range(at, at + 40):
            bad[start + k] ^= 0x5A
        path = tmp_path / f"abime{at}.xlsx"
        path.write_bytes(bytes(bad))
        code, err = cli(path, "-o", tmp_path / f"s{at}.csv", "--lon-col", "lon", "--lat-col", "lat", capsys=capsys)
        assert code == 2 and ("abîmé" in err or "pas un classeur XLSX lisible" in err), err
        assert "erreur interne" not in err


# -- the resume cache is an input -----------------------------------------------------------------------
def test_resume_cache_entries_are_validated(tmp_path, terr, pts):
    """A hand-edited longitude of 999 in the resume cache was trusted."""
    n = 300
    src = tmp_path / "adresses.csv"
    src.write_text("adresse\n" + "".join(f"{i} rue des Essais 59220 Denain\n" for i in range(1, n + 1)), encoding="utf-8")
    table = {f"{i} rue des essais 59220 denain": (*pts["59172"], "precise", "housenumber", 0.95) for i in range(1, n + 1)}
    out = tmp_path / "sortie.csv"
    with pytest.raises(cq_geo.bulk.run.BatchError):
        batch_file(src, out, address_cols="adresse", geocoder=TableGeocoder(table, fail_after=250), territory=terr)
    cache = side_file(out, "cache")
    lines = cache.read_text(encoding="utf-8").splitlines()
    edited = [json.loads(line) for line in lines[1:]]
    edited[0]["lon"] = 999
    edited[1]["q"] = "sûr"
    edited[2]["lat"] = float("nan")
    edited[3]["s"] = "beaucoup"
    cache.write_text("\n".join([lines[0]] + [json.dumps(e) for e in edited]) + "\n", encoding="utf-8")
    again = TableGeocoder(table)
    res = batch_file(src, out, address_cols="adresse", geocoder=again, territory=terr, resume=True)
    assert again.calls == n - 200 + 4  # the four bad entries geocoded again
    assert any("4 entrée(s) invalide(s)" in note for note in res.notes)
    got = pd.read_csv(out, sep=",", dtype=str, keep_default_na=False)  # a one-column input: comma-separated
    assert (got["cq_commune"] == "Denain").all() and res.usable == n


# -- XLSX inputs ----------------------------------------------------------------------------------------
def test_xlsx_formulas_without_cached_values_are_said(tmp_path, pts):
    """openpyxl saves formulas without their value: they were read as empty, with no warning."""
    from openpyxl import Workbook

    lon, lat = pts["59172"]
    src = tmp_path / "formules.xlsx"
    wb = Workbook()
    ws = wb.active
    ws.append(["nom", "lon", "lat"])
    ws.append(["A", lon, lat])
    ws.append(["B", f"={lon}", f"={lat}"])  # literal numbers: read as such
    ws.append(['="C"', "=B2", "=C2"])  # a literal text, then two references: empty
    wb.save(src)
    table = read_table(src)
    assert table.data.iloc[1].tolist() == ["B", repr(lon), repr(lat)]
    assert table.data.iloc[2].tolist() == ["C", "", ""]
    notes = " ".join(table.notes)
    assert "formule sans valeur calculée (B4, C4)" in notes and "enregistrez-le" in notes and "(B3, C3, A4)" in notes
    res = batch_file(src, tmp_path / "sortie.csv", lon_col="lon", lat_col="lat", write_summary=False)
    assert any("B4, C4" in n for n in res.summary.notes) and res.summary.counts["invalid"] == 1


def test_hidden_first_sheet_is_not_the_one_read(tmp_path, pts):
    from openpyxl import Workbook

    lon, lat = pts["59172"]
    src = tmp_path / "classeur.xlsx"
    wb = Workbook()
    hidden = wb.active
    hidden.title = "Brouillon"
    hidden.append(["x", "y"])
    hidden.append(["ancien", "brouillon"])
    hidden.sheet_state = "hidden"
    data = wb.create_sheet("Bénéficiaires")
    data.append(["nom", "lon", "lat"])
    data.append(["A", lon, lat])
    wb.save(src)
    table = read_table(src)
    assert list(table.data.columns) == ["nom", "lon", "lat"]
    assert any("« Bénéficiaires »" in n and "« Brouillon »" in n for n in table.notes)
    table = read_table(src, sheet="Brouillon")
    assert list(table.data.columns) == ["x", "y"] and any("masquée" in n for n in table.notes)
    res = batch_file(src, tmp_path / "sortie.csv", lon_col="lon", lat_col="lat", write_summary=False)
    assert res.usable == 1 and any("feuille lue" in n for n in res.summary.notes)


# -- exit codes -----------------------------------------------------------------------------------------
def test_nothing_usable_exits_3_with_the_summary_written(tmp_path, capsys):
    src = tmp_path / "vide.csv"
    src.write_text("nom;lon;lat\nA;;\nB;abc;def\nC;2.35;\n", encoding="utf-8")
    out = tmp_path / "sortie.csv"
    code, err = cli(src, "-o", out, "--lon-col", "lon", "--lat-col", "lat", capsys=capsys)
    assert code == 3 and "aucune ligne n'a pu être placée" in err
    assert out.is_file() and side_file(out, "summary_xlsx").is_file() and side_file(out, "summary_html").is_file()
    header_only = tmp_path / "entete.csv"
    header_only.write_text("nom;lon;lat\n", encoding="utf-8")
    assert cli(header_only, "-o", tmp_path / "s2.csv", "--lon-col", "lon", "--lat-col", "lat", capsys=capsys)[0] == 3
    paris = tmp_path / "paris.csv"
    paris.write_text("nom;lon;lat\nParis;2,35;48,85\n", encoding="utf-8")  # an answer: outside the territory
    assert cli(paris, "-o", tmp_path / "s3.csv", "--lon-col", "lon", "--lat-col", "lat", capsys=capsys)[0] == 0


# -- temporary files ----------------------------------------------------------------------------------
def _dead_pid() -> int:
    pid = 4_000_000
    while True:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return pid
        except PermissionError:
            pass
        pid -= 1


def test_stale_partial_files_are_cleaned(tmp_path, pts, capsys):
    """Hidden `.partiel` files of a killed run (up to 200 MB) stayed beside the output."""
    src = coords_csv(tmp_path / "in.csv", pts)
    out = tmp_path / "sortie.csv"
    dead = _dead_pid()
    stale = [tmp_path / f".sortie.csv.{dead}.partiel.csv", tmp_path / f".sortie.csv.resume.xlsx.{dead}.partiel.xlsx"]
    alive = tmp_path / f".sortie.csv.{os.getppid()}.partiel.csv"  # another run, still working
    other = tmp_path / f".autre.csv.{dead}.partiel.csv"  # not this output's
    for p in stale + [alive, other]:
        p.write_bytes(b"x" * 1000)
    assert sorted(stale_partials(out)) == sorted(stale[:1])
    assert cli(src, "-o", out, "--lon-col", "lon", "--lat-col", "lat", capsys=capsys)[0] == 0
    assert not any(p.exists() for p in stale) and alive.exists() and other.exists()
    # an input that looks like a stale temporary file of the output is read, never removed
    odd = tmp_path / f".s2.csv.{dead}.partiel.csv"
    shutil.copy(src, odd)
    before = sha(odd)
    assert cli(odd, "-o", tmp_path / "s2.csv", "--lon-col", "lon", "--lat-col", "lat", capsys=capsys)[0] == 0
    assert sha(odd) == before


# -- issue 14, item 8: an ambiguous address has no commune of its own --------------------------------
def test_ambiguous_address_has_no_commune_or_zone(tmp_path, terr, ban_store, monkeypatch):
    monkeypatch.setenv("CQ_GEO_STORE", str(ban_store))
    lookup = cq_geo.geocode.get_geocoder("offline").geocode("7 rue des essais")
    assert lookup.quality == "ambiguous" and len({c.citycode for c in lookup.candidates}) > 1
    src = tmp_path / "adr.csv"
    src.write_text("adresse;ville\n7 rue des essais;\n12 rue des Essais;Denain\n", encoding="utf-8")
    res = batch_file(src, tmp_path / "sortie.csv", address_cols="adresse", city_col="ville", territory=terr)
    got = pd.read_csv(tmp_path / "sortie.csv", sep=";", dtype=str, keep_default_na=False)
    amb = got.iloc[0]
    assert amb["cq_geocode_quality"] == "ambiguous" and amb["cq_status"] == "to_check"
    for col in ("cq_lon", "cq_lat", "cq_commune", "cq_commune_insee", "cq_team", "cq_qpv_code", "cq_qva",
                "cq_primary_tier"):
        assert amb[col] == "", col
    cands = {c.citycode for c in lookup.candidates}
    assert all(f"({code}" in amb["cq_geocode_candidates"] for code in cands)
    assert "aucune commune ni zone retenue" in amb["cq_reason"]
    assert got.iloc[1]["cq_commune"] == "Denain" and got.iloc[1]["cq_geocode_candidates"] == ""
    by_commune = res.summary.by_commune.set_index("Commune")["Lignes"]
    assert by_commune.get("Denain") == 1 and by_commune["Hors territoire ou sans position"] == 1


def test_killed_run_leaves_old_or_complete_output_and_its_temporary_file_is_cleaned(tmp_path, terr):
    """kill -9 while the output is written: the old output stays whole, the next run removes the `.partiel` file."""
    import signal
    import time

    lon, lat = commune_points(terr)["59172"]
    src = tmp_path / "grand.csv"
    src.write_text("nom;lon;lat\n" + "".join(f"s{i};{lon};{lat}\n" for i in range(300_000)), encoding="utf-8")
    out = tmp_path / "sortie.csv"
    out.write_text("ancien résultat\n", encoding="utf-8")
    cmd = [sys.executable, "-m", "cq_geo.cli.main", "batch", str(src), "-o", str(out), "--lon-col", "lon", "--lat-col", "lat",
           "-q", "--overwrite", "--no-summary-files"]
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    caught = None
    for _attempt in range(4):
        out.write_text("ancien résultat\n", encoding="utf-8")
        proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 120
        partial = []
        while proc.poll() is None and time.monotonic() < deadline:
            partial = [p for p in tmp_path.iterdir() if p.name.startswith(".sortie.csv.")]
            if partial:
                proc.send_signal(signal.SIGKILL)
                break
            time.sleep(0.002)
        proc.wait()
        text = out.read_text(encoding="utf-8")
        if partial and all(p.exists() for p in partial):
            assert text == "ancien résultat\n"  # killed while writing: the old output, whole
            caught = partial
            break
        assert text == "ancien résultat\n" or text.count("\n") == 300_001  # old or complete, never half
    if not caught:
        pytest.skip("écriture trop rapide pour être interrompue ici")
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert not any(p.exists() for p in caught) and not [p for p in tmp_path.iterdir() if "partiel" in p.name]
    assert sum(1 for _ in open(out, encoding="utf-8")) == 300_001


def test_cache_vocabulary_agrees_with_the_geocoder():
    from cq_geo.bulk import cache
    from cq_geo.geocode.base import QUALITIES, RESULT_TYPES

    assert tuple(cache.QUALITIES) == tuple(QUALITIES) and tuple(cache.RESULT_TYPES) == tuple(RESULT_TYPES)


def test_empty_resume_file_is_nothing_to_resume(tmp_path, terr, pts):
    src = tmp_path / "adr.csv"
    src.write_text("adresse\n12 rue des Essais Denain\n", encoding="utf-8")
    out = tmp_path / "sortie.csv"
    side_file(out, "cache").write_bytes(b"")  # created, then killed before its first line
    table = {"12 rue des essais denain": (*pts["59172"], "precise", "housenumber", 0.9)}
    res = batch_file(src, out, address_cols="adresse", geocoder=TableGeocoder(table), territory=terr, resume=True)
    assert res.usable == 1
