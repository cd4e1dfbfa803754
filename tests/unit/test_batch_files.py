"""Batch files: messy CSV and XLSX made by the tests, every row out, input never touched.

Every test checks the input's SHA-256 before and after, and that the output
has as many rows as the input.
"""

from __future__ import annotations

import csv
import hashlib
import io
import time
from pathlib import Path

import pandas as pd
import pytest

import cq_geo
from cq_geo.bulk.files import BatchFileError
from cq_geo.bulk.readers import read_table
from cq_geo.bulk.run import BatchError, batch_file
from cq_geo.cli.main import main

from .batch_support import TableGeocoder, commune_points, random_points_in

ROOT = Path(__file__).resolve().parents[2]
BAN_FIXTURE = ROOT / "tests" / "fixtures" / "ban_synthetic" / "adresses-synthetic.csv"


@pytest.fixture(scope="module")
def terr():
    return cq_geo.load_territory()


@pytest.fixture(scope="module")
def pts(terr):
    return commune_points(terr)


def sha(path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def read_csv_rows(path, encoding, delimiter):
    text = Path(path).read_bytes().decode(encoding)
    return list(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter))


def run_file(src, out, **kw):
    before = sha(src)
    res = batch_file(src, out, **kw)
    assert sha(src) == before == res.input_sha256
    return res


def test_latin1_semicolon_decimal_commas(tmp_path, terr, pts):
    lon, lat = pts["59297"]  # Hélesmes
    src = tmp_path / "bénéficiaires.csv"
    lines = [
        "Nom;Commune;Longitude;Latitude",
        f"Épicerie « solidaire »;Hélesmes;{lon:.6f};{lat:.6f}".replace(".", ","),
        "Cœur de ville;Rœulx;;",
    ]
    src.write_bytes(("\r\n".join(lines) + "\r\n").encode("cp1252"))
    out = tmp_path / "résultat.csv"
    res = run_file(src, out, lon_col="Longitude", lat_col="Latitude", territory=terr)
    raw = out.read_bytes()
    assert not raw.startswith(b"\xef\xbb\xbf")
    raw.decode("cp1252")  # same encoding as the input
    with pytest.raises(UnicodeDecodeError):
        raw.decode("utf-8")
    rows = read_csv_rows(out, "cp1252", ";")
    assert len(rows) == 3
    assert rows[1][:4] == lines[1].split(";") and rows[2][:4] == ["Cœur de ville", "Rœulx", "", ""]
    header = rows[0]
    got = dict(zip(header, rows[1]))
    assert got["cq_commune"] == "Hélesmes" and got["cq_status"] in ("ok", "to_check")
    assert got["cq_lon"] == f"{round(lon, 6)!r}".replace(".", ",")  # ; files get decimal commas
    assert dict(zip(header, rows[2]))["cq_reason"] == "coordonnées manquantes"
    assert raw.endswith(b"\r\n")
    assert res.summary.input_rows == res.summary.total == 2


def test_utf8_bom_comma_and_quotes(tmp_path, terr, pts):
    lon, lat = pts["59172"]
    src = tmp_path / "bom.csv"
    text = (
        'nom,adresse,lon,lat\n'
        f'"Maison, quartier","1 rue ""A""\nbâtiment B",{lon},{lat}\n'
        f'seul,,{lon}\n'
        f'trop,a,{lon},{lat},x\n'
    )
    src.write_bytes(b"\xef\xbb\xbf" + text.encode("utf-8"))
    out = tmp_path / "bom_out.csv"
    run_file(src, out, lon_col="lon", lat_col="lat", territory=terr)
    raw = out.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    rows = read_csv_rows(out, "utf-8-sig", ",")
    assert rows[0][:4] == ["nom", "adresse", "lon", "lat"]
    assert rows[1][:2] == ["Maison, quartier", '1 rue "A"\nbâtiment B']
    status = {r[0]: dict(zip(rows[0], r)) for r in rows[1:]}
    assert status["Maison, quartier"]["cq_lon"] == repr(round(lon, 7))  # , files keep decimal points
    assert status["seul"]["cq_reason"] == "ligne mal formée : 3 champs au lieu de 4 (les cellules manquantes sont laissées vides)"
    assert status["trop"]["cq_reason"] == "ligne mal formée : 5 champs au lieu de 4 (le surplus est ignoré)"
    assert len(rows) == 4


def test_blank_lines_are_rows(tmp_path, terr, pts):
    lon, lat = pts["59172"]
    src = tmp_path / "vides.csv"
    src.write_text(f"a;lon;lat\n\nx;{lon};{lat}\n;;\n\ny;{lon};{lat}\n", encoding="utf-8")
    out = tmp_path / "vides_out.csv"
    res = run_file(src, out, lon_col="lon", lat_col="lat", territory=terr)
    rows = read_csv_rows(out, "utf-8", ";")
    assert len(rows) - 1 == 5 == res.summary.total
    reasons = [dict(zip(rows[0], r))["cq_reason"] for r in rows[1:]]
    assert [r == "ligne vide" for r in reasons] == [True, False, True, True, False]
    assert [r[0] for r in rows[1:]] == ["", "x", "", "", "y"]


def test_zero_and_one_row_files(tmp_path, terr, pts):
    lon, lat = pts["59172"]
    zero = tmp_path / "zero.csv"
    zero.write_text("nom;lon;lat\n", encoding="utf-8")
    res = run_file(zero, tmp_path / "zero_out.csv", lon_col="lon", lat_col="lat", territory=terr)
    assert res.summary.total == 0
    assert read_csv_rows(tmp_path / "zero_out.csv", "utf-8", ";")[0][:3] == ["nom", "lon", "lat"]
    one = tmp_path / "one.csv"
    one.write_text(f"nom;lon;lat\nmairie;{lon};{lat}", encoding="utf-8")  # no final newline
    run_file(one, tmp_path / "one_out.xlsx", lon_col="lon", lat_col="lat", territory=terr)
    back = read_table(tmp_path / "one_out.xlsx").data
    assert len(back) == 1 and back.iloc[0, 0] == "mairie" and back.loc[0, "cq_commune"] == "Denain"
    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")
    with pytest.raises(BatchFileError, match="vide"):
        batch_file(empty, tmp_path / "x.csv", lon_col="lon", lat_col="lat", territory=terr)


def test_missing_column_is_a_clear_cli_error(tmp_path, capsys):
    src = tmp_path / "in.csv"
    src.write_text("nom;longitude;lat\na;3.4;50.3\n", encoding="utf-8")
    before = sha(src)
    code = main(["batch", str(src), "-o", str(tmp_path / "out.csv"), "--lon-col", "lon", "--lat-col", "lat", "-q"])
    err = capsys.readouterr().err
    assert code == 2
    assert "colonne « lon » (--lon-col) absente du fichier" in err and "longitude" in err
    assert not (tmp_path / "out.csv").exists() and sha(src) == before
    code = main(["batch", str(src), "-o", str(tmp_path / "out.csv"), "-q"])
    assert code == 2 and "indiquez où sont les lieux" in capsys.readouterr().err
    code = main(["batch", str(src), "-o", str(src), "--lon-col", "longitude", "--lat-col", "lat", "-q"])
    assert code == 2 and "jamais modifié" in capsys.readouterr().err
    assert sha(src) == before


def test_cli_end_to_end_with_summary_files(tmp_path, capsys, pts):
    lon, lat = pts["59172"]
    src = tmp_path / "sites.csv"
    src.write_text(f"site;lon;lat;site\nA;{lon};{lat};1\nB;2.35;48.85;2\nC;abc;50;3\n", encoding="utf-8")
    before = sha(src)
    out = tmp_path / "sites_out.csv"
    code = main(["batch", str(src), "-o", str(out), "--lon-col", "lon", "--lat-col", "lat"])
    captured = capsys.readouterr()
    assert code == 0 and sha(src) == before
    assert "Traitement par lot : 3 lignes lues, 3 lignes écrites" in captured.out
    assert "Lignes à vérifier : 2" in captured.out
    rows = read_csv_rows(out, "utf-8", ";")
    assert rows[0][:4] == ["site", "lon", "lat", "site"] and len(rows) == 4
    html = (tmp_path / "sites_out.csv.resume.html").read_text(encoding="utf-8")
    assert "<html lang=\"fr\">" in html and "Lignes à vérifier (2)" in html and "valeur non numérique" in html
    from openpyxl import load_workbook

    wb = load_workbook(tmp_path / "sites_out.csv.resume.xlsx")
    assert wb.sheetnames == ["Synthèse", "À vérifier"]
    check = list(wb["À vérifier"].iter_rows(values_only=True))
    assert check[0][:3] == ("Ligne", "Statut", "Raison") and [r[0] for r in check[1:]] == [2, 4]
    assert not list(tmp_path.glob(".*partiel*"))  # no temporary file left


def test_formula_injection_neutralised(tmp_path, terr, pts):
    lon, lat = pts["59172"]
    src = tmp_path / "formules.csv"
    cells = ["=HYPERLINK(\"http://x\";\"clic\")", "+33 6 12 34 56 78", "-3.5", "@SUM(A1:A9)", "-2+3+cmd|' /C calc'!A0",
             "+33612345678", "normal"]
    lines = ["note;lon;lat"] + [f'"{c.replace(chr(34), chr(34) * 2)}";{lon};{lat}' for c in cells]
    src.write_text("\n".join(lines) + "\n", encoding="utf-8")
    out = tmp_path / "formules_out.csv"
    run_file(src, out, lon_col="lon", lat_col="lat", territory=terr)
    got = [r[0] for r in read_csv_rows(out, "utf-8", ";")[1:]]
    assert got == ["'" + cells[0], "'" + cells[1], "-3.5", "'" + cells[3], "'" + cells[4], "+33612345678", "normal"]
    xlsx = tmp_path / "formules_out.xlsx"
    run_file(src, xlsx, lon_col="lon", lat_col="lat", territory=terr)
    from openpyxl import load_workbook

    ws = load_workbook(xlsx).active
    col = [c for c in ws["A"][1:]]
    assert [c.value for c in col] == got
    assert all(c.data_type != "f" for c in col)


def test_xlsx_in_and_out(tmp_path, terr, pts):
    import datetime as dt

    from openpyxl import Workbook, load_workbook

    # 15 significant digits: the value survives the XLSX round trip whatever the last bit
    # of the computed point (it depends on the GEOS version)
    lon, lat = (float(f"{v:.15g}") for v in pts["59172"])
    src = tmp_path / "entrée.xlsx"
    wb = Workbook()
    ws = wb.active
    ws.title = "Bénéficiaires"
    ws.append(["id", "nom", "lon", "lat", "date", None])
    ws.append([7, "Structure A", lon, lat, dt.datetime(2024, 4, 8), "note"])
    ws.append([None, None, None, None, None, None])
    ws.append([8.0, "Structure B", "3,39", "50,33", "texte", None])
    wb.create_sheet("Autre").append(["x"])
    wb.save(src)
    out = tmp_path / "sortie.xlsx"
    res = run_file(src, out, lon_col="lon", lat_col="lat", territory=terr)
    assert res.summary.total == 3
    ws2 = load_workbook(out).active
    rows = list(ws2.iter_rows(values_only=True))
    assert rows[0][:6] == ("id", "nom", "lon", "lat", "date", None)
    assert rows[1][:2] == ("7", "Structure A") and rows[1][4] == "2024-04-08" and rows[1][5] == "note"
    assert rows[1][2] == str(load_workbook(src).active["C2"].value)  # the input cell as text, untouched
    header = rows[0]
    r1 = dict(zip(header, rows[1]))
    assert r1["cq_commune"] == "Denain" and isinstance(r1["cq_lon"], float)
    assert dict(zip(header, rows[2]))["cq_reason"] == "ligne vide"
    assert rows[3][0] == "8" and dict(zip(header, rows[3]))["cq_commune"] == "Denain"
    assert len(rows) == 4
    with pytest.raises(BatchFileError, match="feuille « Nope » absente"):
        batch_file(src, tmp_path / "x.csv", sheet="Nope", lon_col="lon", lat_col="lat", territory=terr)
    csv_out = tmp_path / "sortie.csv"
    run_file(src, csv_out, sheet="Bénéficiaires", lon_col="lon", lat_col="lat", territory=terr)
    assert csv_out.read_bytes().startswith(b"\xef\xbb\xbf")  # Excel-friendly UTF-8 for an XLSX source


@pytest.mark.parametrize("crs", [2154, 4326])
def test_geopackage_points(tmp_path, terr, pts, crs):
    pyogrio = pytest.importorskip("pyogrio")
    lon, lat = pts["59172"]
    src = tmp_path / "pts.csv"
    src.write_text(f"nom;lon;lat;nom;\nA;{lon};{lat};1;z\nB;;;2;z\nC;2.35;48.85;3;z\n", encoding="utf-8")
    out = tmp_path / f"pts_{crs}.gpkg"
    run_file(src, out, lon_col="lon", lat_col="lat", territory=terr, crs=crs)
    info = pyogrio.read_info(out)
    assert info["crs"] == f"EPSG:{crs}" and info["features"] == 3
    df = pyogrio.read_dataframe(out)
    assert list(df.columns[:5]) == ["nom", "lon", "lat", "nom_2", "colonne_5"]
    assert list(df["cq_status"]) == ["to_check", "invalid", "outside_territory"]
    assert df.geometry.isna().tolist() == [False, True, False]
    p = df.geometry.iloc[0]
    if crs == 4326:
        assert (p.x, p.y) == pytest.approx((lon, lat), abs=1e-6)
    else:
        from cq_geo.geo.crs import lonlat_to_l93

        assert (p.x, p.y) == pytest.approx(tuple(float(v) for v in lonlat_to_l93(lon, lat)), abs=0.05)


def test_200k_rows_fast(tmp_path, terr):
    n = 200_000
    lon, lat = random_points_in(terr, n, seed=7)
    src = tmp_path / "gros.csv"
    body = "\n".join(f"{i};{a:.6f};{b:.6f}" for i, (a, b) in enumerate(zip(lon.tolist(), lat.tolist())))
    src.write_text("id;lon;lat\n" + body.replace(".", ",") + "\n", encoding="utf-8")
    out = tmp_path / "gros_out.csv"
    t0 = time.perf_counter()
    res = run_file(src, out, lon_col="lon", lat_col="lat", territory=terr, write_summary=False)
    elapsed = time.perf_counter() - t0
    assert res.summary.total == n
    back = pd.read_csv(out, sep=";", dtype=str, keep_default_na=False)
    assert len(back) == n and back["id"].tolist()[:3] == ["0", "1", "2"] and back["id"].iloc[-1] == str(n - 1)
    assert set(back["cq_status"]) <= {"ok", "to_check", "outside_territory"}
    assert elapsed < 60, f"200 000 lignes en {elapsed:.1f} s"


def _table(pts, n):
    return {f"{i} rue des essais 59220 denain": (*pts["59172"], "precise", "housenumber", 0.9) for i in range(1, n + 1)}


def test_resume_after_interruption(tmp_path, terr, pts):
    n = 700
    src = tmp_path / "adresses.csv"
    src.write_text("n;adresse\n" + "".join(f"{i};{i} rue des Essais 59220 Denain\n" for i in range(1, n + 1)), encoding="utf-8")
    out = tmp_path / "adresses_out.csv"
    failing = TableGeocoder(_table(pts, n), fail_after=500)
    before = sha(src)
    with pytest.raises(BatchError, match="--resume"):
        batch_file(src, out, address_cols="adresse", geocoder=failing, territory=terr)
    assert sha(src) == before and not out.exists()
    cache = tmp_path / "adresses_out.csv.reprise-geocodage.jsonl"
    assert cache.is_file()
    again = TableGeocoder(_table(pts, n))
    res = run_file(src, out, address_cols="adresse", geocoder=again, territory=terr, resume=True)
    assert again.calls == n - 400  # two chunks of 200 were saved before the failure
    assert any("reprise : 400 adresses" in note for note in res.notes)
    assert not cache.exists()  # removed after a complete run
    rows = read_csv_rows(out, "utf-8", ";")
    assert len(rows) == n + 1 and {dict(zip(rows[0], r))["cq_geocode_quality"] for r in rows[1:]} == {"precise"}


def test_pseudonymise_file(tmp_path, terr, pts):
    src = tmp_path / "nominatif.csv"
    src.write_text("ref;adresse;ville\nR1;12 rue des Essais;Denain\nR2;9 rue Nulle Part;Denain\n", encoding="utf-8")
    out = tmp_path / "partage.csv"
    gc = TableGeocoder({"12 rue des essais denain": (*pts["59172"], "precise", "housenumber", 0.9)})
    res = run_file(src, out, address_cols="adresse", city_col="ville", geocoder=gc, territory=terr, pseudonymise=True)
    text = out.read_text(encoding="utf-8")
    assert "Essais" not in text and "Nulle" not in text
    rows = read_csv_rows(out, "utf-8", ";")
    assert rows[0][:2] == ["ref", "cq_id"] and "cq_lon" not in rows[0]
    assert res.salt and res.salt_file.read_text(encoding="utf-8").strip().endswith(res.salt)
    assert "Nulle" not in (tmp_path / "partage.csv.resume.html").read_text(encoding="utf-8")
    with pytest.raises(BatchFileError, match="GeoPackage"):
        batch_file(src, tmp_path / "p.gpkg", address_cols="adresse", geocoder=gc, territory=terr, pseudonymise=True)
    again = run_file(src, tmp_path / "partage2.csv", address_cols="adresse", city_col="ville", geocoder=gc,
                     territory=terr, pseudonymise=True, salt=res.salt)
    assert again.salt_file is None
    assert read_csv_rows(tmp_path / "partage2.csv", "utf-8", ";")[1][1] == rows[1][1]  # same salt, same id


def test_offline_ban_geocoder_end_to_end(tmp_path, terr):
    from cq_geo.geocode.ban_index import import_ban

    db = tmp_path / "ban.sqlite"
    import_ban(BAN_FIXTURE, db)
    geocoder = cq_geo.geocode.get_geocoder("offline", store=db)
    src = tmp_path / "ban.csv"
    src.write_text(
        "num;voie;cp;ville\n"
        "12 bis;rue des Essais;59220;Denain\n"
        "7;rue des essais;;\n"
        "13;rue des Essais;59220;Denain\n"
        "1;Rue Qui N'Existe Pas Du Tout;59220;Denain\n",
        encoding="utf-8",
    )
    out = tmp_path / "ban_out.csv"
    run_file(src, out, address_cols="num,voie", postcode_col="cp", city_col="ville", geocoder=geocoder, territory=terr)
    rows = read_csv_rows(out, "utf-8", ";")
    got = [dict(zip(rows[0], r)) for r in rows[1:]]
    assert [g["cq_geocode_quality"] for g in got] == ["precise", "ambiguous", "approximate", "not_found"]
    assert got[0]["cq_commune"] == "Denain" and got[0]["cq_geocode_type"] == "housenumber"
    assert [g["cq_status"] for g in got] == ["to_check", "to_check", "to_check", "not_found"]
    assert "adresse ambiguë" in got[1]["cq_reason"]


@pytest.mark.parametrize("newline, encoding", [("\r\n", "cp1252"), ("\n", "utf-8"), ("\n", "utf-8-sig")])
def test_direct_copy_and_table_paths_write_the_same_bytes(tmp_path, terr, pts, newline, encoding):
    lon, lat = pts["59172"]
    lines = [
        "nom;lon;lat;=entête",
        f"Hélène;{lon:.6f};{lat:.6f};-3,5".replace(".", ","),
        "",
        f"=1+1;{lon};{lat};@x",
        "court;1",
        f"long;{lon};{lat};a;b;c",
        ";;;",
        f"Rœulx +;{lat};{lon};+33 6",
    ]
    src = tmp_path / "copie.csv"
    src.write_bytes((newline.join(lines) + newline).encode(encoding))
    direct = tmp_path / "direct.csv"
    table = tmp_path / "table.csv"
    run_file(src, direct, lon_col="lon", lat_col="lat", territory=terr)
    run_file(src, table, lon_col="lon", lat_col="lat", territory=terr, output_delimiter=";", output_encoding=encoding)
    assert direct.read_bytes() == table.read_bytes()
    rows = read_csv_rows(direct, encoding, ";")
    assert rows[0][:4] == ["nom", "lon", "lat", "'=entête"]
    assert [r[0] for r in rows[1:]] == ["Hélène", "", "'=1+1", "court", "long", "", "Rœulx +"]
    assert rows[1][3] == "-3,5" and rows[3][3] == "'@x" and rows[7][3] == "'+33 6"
    assert all(len(r) == len(rows[0]) for r in rows)
    reasons = [dict(zip(rows[0], r))["cq_reason"] for r in rows[1:]]
    assert reasons[1] == reasons[5] == "ligne vide"
    assert reasons[3].startswith("ligne mal formée : 2 champs") and reasons[4].startswith("ligne mal formée : 6 champs")
    assert reasons[6] == "latitude et longitude semblent inversées"


@pytest.mark.parametrize("quoted", [False, True])
def test_trailing_delimiters_are_not_malformed(tmp_path, terr, pts, quoted):
    lon, lat = pts["59172"]
    name = '"a"' if quoted else "a"
    src = tmp_path / "fin.csv"
    src.write_text(f"nom;lon;lat\n{name};{lon};{lat};;\n{name};{lon};{lat};x\n", encoding="utf-8")
    out = tmp_path / "fin_out.csv"
    run_file(src, out, lon_col="lon", lat_col="lat", territory=terr)
    rows = read_csv_rows(out, "utf-8", ";")
    assert all(len(r) == len(rows[0]) for r in rows) and rows[1][:3] == ["a", str(lon), str(lat)]
    status = [dict(zip(rows[0], r))["cq_status"] for r in rows[1:]]
    assert status == ["to_check", "invalid"]  # empty extra fields are harmless, "x" is not


def test_old_mac_line_endings(tmp_path, terr, pts):
    lon, lat = pts["59172"]
    src = tmp_path / "mac.csv"
    src.write_bytes(f"nom;lon;lat\rA;{lon};{lat}\rB;2.35;48.85\r".encode("cp1252"))
    out = tmp_path / "mac_out.csv"
    res = run_file(src, out, lon_col="lon", lat_col="lat", territory=terr)
    assert res.summary.total == 2
    rows = read_csv_rows(out, "utf-8", ";")
    assert [r[0] for r in rows] == ["nom", "A", "B"]


def test_stray_carriage_returns_and_control_characters(tmp_path, terr, pts):
    lon, lat = pts["59172"]
    src = tmp_path / "cr.csv"
    # a bare CR inside a line, one CRLF line in an LF file, a NUL byte (refused by XLSX)
    src.write_bytes(f"nom;lon;lat\na\rb;{lon};{lat}\nc;{lon};{lat}\r\nd\x00e;{lon};{lat}\n".encode("utf-8"))
    for out in ("cr_out.csv", "cr_out.xlsx"):
        res = run_file(src, tmp_path / out, lon_col="lon", lat_col="lat", territory=terr)
        back = read_table(tmp_path / out)
        assert len(back.data) == res.summary.total == 4  # the bare CR splits "a" from "b;…" (as a spreadsheet does)
    src2 = tmp_path / "crlf.csv"
    src2.write_bytes(f"nom;lon;lat\nx;{lon};{lat}\r\ny;{lon};{lat}\n".encode("utf-8"))
    run_file(src2, tmp_path / "d.csv", lon_col="lon", lat_col="lat", territory=terr)
    run_file(src2, tmp_path / "t.csv", lon_col="lon", lat_col="lat", territory=terr, output_delimiter=";")
    assert (tmp_path / "d.csv").read_bytes() == (tmp_path / "t.csv").read_bytes()
    assert b"\r" not in (tmp_path / "d.csv").read_bytes()


def test_decimal_comma_with_comma_delimiter_stays_valid_csv(tmp_path):
    """--decimal , on a comma-separated file: float cells are quoted, the file parses back."""
    import csv

    from cq_geo.bulk.run import batch_file

    src = tmp_path / "virgules.csv"
    src.write_text("id,lon,lat\n1,3.3957,50.3290\n2,3.2956,50.3284\n", encoding="utf-8")
    out = tmp_path / "sortie.csv"
    batch_file(src, out, lon_col="lon", lat_col="lat", geocoder="none", decimal=",", write_summary=False)
    with open(out, encoding="utf-8", newline="") as fh:
        rows = list(csv.reader(fh))
    assert len(rows) == 3 and len({len(r) for r in rows}) == 1
    header = rows[0]
    assert rows[1][header.index("cq_commune")] == "Denain"
    assert "," in rows[1][header.index("cq_lon")]


@pytest.mark.parametrize("encoding,newline", [("cp1252", "\r\n"), ("utf-8", "\n"), ("utf-8-sig", "\r\n")])
def test_byte_reader_reads_what_the_csv_module_reads(tmp_path, monkeypatch, encoding, newline):
    """cq_geo.bulk.fastcsv reads a CSV without quotes from its bytes: the same cells, row problems
    and columns as the csv module's path (the plain one), with and without only/numeric."""
    from cq_geo.bulk import readers

    lines = ["nom;lon;lat;note;;nom", "Hélène;3,3957;50,329;-3,5;;x", "", "=1+1;3,4;50,3;@x;;", "court;1",
             "long;3,41;50,31;a;b;c;d;e", ";;;;;", "trop;3,4;50,3;;;;;", "Rœulx +;50,3;3,4;+33 6;;", "\tTAB;;;;;"]
    src = tmp_path / "lignes.csv"
    src.write_bytes((newline.join(lines) + newline).encode(encoding))
    for options in ({}, {"only": ["lon", "lat"], "numeric": ["lon", "lat"]}, {"only": ["note"]}):
        fast = read_table(src, **options)
        monkeypatch.setattr(readers, "_plain_lines", lambda *a: False)
        plain = read_table(src, **options)
        monkeypatch.undo()
        assert fast.body is not None and plain.body is None  # the two paths were taken
        assert fast.header == plain.header and fast.encoding == plain.encoding and fast.newline == plain.newline
        assert fast.problems.tolist() == plain.problems.tolist()
        keep = [i for i, c in enumerate(plain.data.columns) if c in set(fast.data.columns)]
        expected = plain.data.iloc[:, keep]
        if options.get("numeric"):  # maybe read as floats: compare as numbers ('' as NaN)
            def numbers(frame):
                return frame.apply(lambda c: pd.to_numeric(c.astype(str).str.replace(",", "."), errors="coerce"))
            assert numbers(fast.data).equals(numbers(expected))
        else:
            assert fast.data.equals(expected)
    assert fast.problems.tolist()[1] == "ligne vide" and "mal formée" in fast.problems[3]


def test_float_words_write_what_repr_writes():
    """The 32-bit-word float writer of fastcsv gives the shortest round-trip text of every value
    (as writers.float_texts, from repr), NaN empty, whatever the magnitude or sign."""
    import numpy as np

    from cq_geo.bulk import fastcsv
    from cq_geo.bulk.writers import float_texts

    rng = np.random.default_rng(16)
    values = np.concatenate([
        [round(v, k) for v, k in zip(rng.uniform(-180, 180, 20000).tolist(), rng.integers(0, 8, 20000).tolist())],
        # (coordinates, 0 to 7 decimals)
        rng.uniform(0, 5000, 5000), 10.0 ** rng.uniform(-12, 20, 5000),  # distances, any magnitude
        [0.0, -0.0, np.nan, np.inf, -np.inf, 1e-4, 9.9999e-5, 99999999.9999999, 1e8, 123.4567891, -0.5, 5e-324],
    ])
    other = rng.permutation(values)
    for delim, dec in ((";", ","), (",", "."), ("\t", ".")):
        got = fastcsv._float_row_bytes([values, other], delim, dec, "utf-8")
        texts = [float_texts(values, dec, "utf-8"), float_texts(other, dec, "utf-8")]
        d = delim.encode()
        assert got == [d + d.join(parts) for parts in zip(*texts)]
