"""The XLSX writer (cq_geo.bulk.xlsx): files read back by openpyxl and pandas, every XML part well-formed,
the same cells as the openpyxl writer it replaces."""

from __future__ import annotations

import importlib
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from lxml import etree
from openpyxl import load_workbook

import cq_geo
from cq_geo.bulk import xlsx
from cq_geo.bulk.cells import xlsx_text
from cq_geo.bulk.files import BatchFileError
from cq_geo.bulk.readers import read_table
from cq_geo.bulk.writers import XLSX_MAX_ROWS, write_xlsx

from .batch_support import commune_points

ROOT = Path(__file__).resolve().parents[2]
batch = importlib.import_module("cq_geo.bulk.run").batch  # (cq_geo.bulk.run is also a function)

REQUIRED = ["[Content_Types].xml", "_rels/.rels", "xl/workbook.xml", "xl/_rels/workbook.xml.rels", "xl/styles.xml",
            "xl/sharedStrings.xml"]
LONG = "é" * 40_000


@pytest.fixture(scope="module")
def terr():
    return cq_geo.load_territory()


def check_parts(path) -> list[str]:
    """Every part parses; [Content_Types].xml types every part; the relationships point at parts that exist."""
    with zipfile.ZipFile(path) as zf:
        names = zf.namelist()
        assert zf.testzip() is None
        trees = {n: etree.fromstring(zf.read(n)) for n in names}
    assert len(set(names)) == len(names)
    for part in REQUIRED:
        assert part in names
    sheets = sorted(n for n in names if n.startswith("xl/worksheets/"))
    assert sheets and all(re.fullmatch(r"xl/worksheets/sheet\d+\.xml", n) for n in sheets)
    ct = trees["[Content_Types].xml"]
    defaults = {e.get("Extension") for e in ct if e.tag.endswith("Default")}
    overrides = {e.get("PartName") for e in ct if e.tag.endswith("Override")}
    assert overrides <= {"/" + n for n in names}
    for n in names:
        assert "/" + n in overrides or n.rsplit(".", 1)[1] in defaults, n
    for n in names:
        if n.endswith(".xml") and n != "[Content_Types].xml" and not n.endswith(".rels"):
            assert "/" + n in overrides, n  # every part has its own content type
    rels = trees["xl/_rels/workbook.xml.rels"]
    assert {"xl/" + r.get("Target") for r in rels} == set(sheets) | {"xl/styles.xml", "xl/sharedStrings.xml"}
    assert [r.get("Target") for r in trees["_rels/.rels"]] == ["xl/workbook.xml"]
    return names


def cells(ws) -> dict:
    """{coordinate: (value, data type, bold)} of the non-empty cells of a worksheet (floats to 12 digits: openpyxl
    writes shares like 1/6 with 16 digits, the XLSX writer with Python's repr)."""
    return {c.coordinate: (float(f"{c.value:.12g}") if isinstance(c.value, float) else c.value, c.data_type,
                           bool(c.font.b)) for row in ws.iter_rows() for c in row if c.value is not None}


def messy_frame() -> pd.DataFrame:
    texts = ["a & b < c > d \"e\" 'f'", "  espaces autour  ", "Hélesmes – « œuvre » 😀", "=SOMME(A1:A9)", "-3,5",
             "+33 6 12", "@x", "nul\x00 et bip\x07 gardés\tpas", LONG, "", None, "ligne\nsuivante"]
    n = len(texts)
    return pd.DataFrame({
        "texte": pd.Series(texts, dtype=object),
        "entier": np.arange(n, dtype="int64") - 3,
        "réel": [1.5, np.nan, -0.25, 1e-7, 12.0, np.inf, 3.141592653589793, 2.0**60, 0.1 + 0.2, -np.inf, 5.0, 7.25],
        "booléen": [True, False] * (n // 2),
        "catégorie": pd.Categorical(["ok", "", "=x", None, "ok", "à vérifier"] * 2),
        "vide": [np.nan] * n,
        "texte ": ["x"] * n,  # a duplicated name below, and a trailing space
        "=formule": ["y"] * n,
        "": ["z"] * n,
    }).rename(columns={"texte ": "texte"})


def expected_text(value):
    if value is None or value == "":
        return None
    text = xlsx_text(value)
    return text[:32767] if len(text.encode("utf-16-le")) > 65534 else text


def test_batch_output_round_trip_openpyxl(tmp_path):
    df = messy_frame()
    path = tmp_path / "sortie.xlsx"
    write_xlsx(df, path)
    check_parts(path)
    wb = load_workbook(path)
    assert wb.sheetnames == ["Résultats"]
    ws = wb.active
    assert ws.freeze_panes == "A2"
    assert ws.max_row == len(df) + 1
    header = [c.value for c in ws[1]]
    assert header == ["texte", "entier", "réel", "booléen", "catégorie", "vide", "texte", "'=formule", None]
    assert all(c.font.b for c in ws[1] if c.value is not None)
    rows = list(ws.iter_rows(min_row=2))
    texts = df.iloc[:, 0].tolist()
    for i, row in enumerate(rows):
        text, entier, reel, boolean, cat, vide = row[:6]
        assert text.value == expected_text(texts[i])
        assert text.value is None or text.data_type == "s"
        assert entier.value == i - 3 and entier.data_type == "n" and isinstance(entier.value, int)
        r = df["réel"][i]
        assert (reel.value is None) if not np.isfinite(r) else (reel.value == r and reel.data_type == "n")
        assert boolean.value == ("true" if i % 2 == 0 else "false") and boolean.data_type == "s"
        assert cat.value == expected_text(df["catégorie"][i]) if isinstance(df["catégorie"][i], str) else cat.value is None
        assert vide.value is None
        assert [c.value for c in row[6:]] == ["x", "y", "z"]
        assert not any(c.font.b for c in row)
    col = [r[0].value for r in rows]
    assert col[0] == "a & b < c > d \"e\" 'f'" and col[1] == "  espaces autour  " and col[2] == "Hélesmes – « œuvre » 😀"
    assert col[3] == "'=SOMME(A1:A9)" and col[4] == "-3,5" and col[5] == "'+33 6 12" and col[6] == "'@x"
    assert col[7] == "nul et bip gardés\tpas" and col[11] == "ligne\nsuivante"
    assert len(col[8]) == 32767 and set(col[8]) == {"é"}
    assert all(c.data_type != "f" for r in ws.iter_rows() for c in r)


def test_batch_output_round_trip_pandas_and_read_table(tmp_path):
    df = messy_frame()
    path = tmp_path / "sortie.xlsx"
    write_xlsx(df, path)
    back = pd.read_excel(path, sheet_name="Résultats")
    assert len(back) == len(df)
    assert back.iloc[:, 1].tolist() == df["entier"].tolist()
    assert back.iloc[:, 2].dtype == "float64"
    got, want = back.iloc[:, 2].to_numpy(), df["réel"].where(np.isfinite(df["réel"])).to_numpy()
    assert np.array_equal(got, want, equal_nan=True)
    assert back.iloc[:, 3].tolist() == [True, False] * 6  # "true"/"false" cells, read back as booleans
    assert back.iloc[:, 5].isna().all()
    table = read_table(path)  # the reader of cq-geo: every cell as text
    assert table.header[:3] == ["texte", "entier", "réel"] and len(table.data) == len(df)
    assert table.data.iloc[0, 0] == "a & b < c > d \"e\" 'f'" and table.data.iloc[1, 0] == "  espaces autour  "


def test_large_table_shared_and_inline_strings(tmp_path, monkeypatch):
    """Rows over several chunks; a mostly-distinct text column (inline) next to repeated texts (shared)."""
    monkeypatch.setattr(xlsx, "CHUNK_ROWS", 997)
    n = 5000
    ids = [f" id&<{i}> " if i % 7 == 0 else f"=id{i}" if i % 11 == 0 else f"id {i}" for i in range(n)]
    ids[5] = None
    reasons = [f"raison « {i % 37} » & co" for i in range(n)]
    df = pd.DataFrame({"id": ids, "raison": reasons, "n": np.arange(n), "x": np.linspace(0, 1, n)})
    path = tmp_path / "grand.xlsx"
    write_xlsx(df, path, sheet_name="Grand")
    check_parts(path)
    with zipfile.ZipFile(path) as zf:
        sheet = zf.read("xl/worksheets/sheet1.xml").decode()
        sst = etree.fromstring(zf.read("xl/sharedStrings.xml"))
    assert 'r="A2" t="inlineStr"' in sheet and 'r="B2" t="s"' in sheet
    assert len(sst) == int(sst.get("uniqueCount")) == 4 + 37
    back = pd.read_excel(path, dtype=object)
    want = [None if v is None else xlsx_text(v) for v in ids]
    assert [None if v != v else v for v in back["id"].tolist()] == want
    assert back["raison"].tolist() == reasons
    assert back["n"].tolist() == list(range(n))
    assert np.array_equal(back["x"].astype(float).to_numpy(), df["x"].to_numpy())
    ws = load_workbook(path, read_only=True)["Grand"]
    assert ws.calculate_dimension() == f"A1:D{n + 1}"


def test_empty_table_and_sheet_details(tmp_path):
    path = tmp_path / "vide.xlsx"
    write_xlsx(pd.DataFrame({"a": pd.Series([], dtype=object), "b": pd.Series([], dtype=float)}), path)
    check_parts(path)
    back = pd.read_excel(path)
    assert list(back.columns) == ["a", "b"] and len(back) == 0
    ws = load_workbook(path).active
    assert ws.max_row == 1 and ws.freeze_panes == "A2"
    path2 = tmp_path / "rien.xlsx"
    write_xlsx(pd.DataFrame(), path2)
    check_parts(path2)
    assert load_workbook(path2).active.max_row == 1


def test_sheet_api(tmp_path):
    s1 = xlsx.Sheet("Titres & « notes »", widths={"A": 42, "AB": 7.5}, freeze="B3")
    s1.row(["Titre", None, 3, 2.5, True, "  ", np.int64(4), float("nan")], bold=True)
    s1.blank(2)
    s1.row(["après deux lignes vides"])
    s1.table(pd.DataFrame({"x": [1, 2], "y": pd.Series(["1", 2], dtype=object)}), object_numbers=True)
    s2 = xlsx.Sheet("Deuxième")
    path = tmp_path / "api.xlsx"
    xlsx.write_workbook(path, [s1, s2])
    check_parts(path)
    wb = load_workbook(path)
    assert wb.sheetnames == ["Titres & « notes »", "Deuxième"]
    ws = wb.worksheets[0]
    assert ws.freeze_panes == "B3"
    assert ws.column_dimensions["A"].width == 42 and ws.column_dimensions["AB"].width == 7.5
    assert cells(ws) == {
        "A1": ("Titre", "s", True), "C1": (3, "n", True), "D1": (2.5, "n", True), "E1": ("true", "s", True),
        "F1": ("  ", "s", True), "G1": (4, "n", True),
        "A4": ("après deux lignes vides", "s", False),
        "A5": ("x", "s", True), "B5": ("y", "s", True),
        "A6": (1, "n", False), "B6": ("1", "s", False), "A7": (2, "n", False), "B7": (2, "n", False),
    }
    assert wb.worksheets[1].max_row == 1 and wb.worksheets[1]["A1"].value is None
    for bad in ("", "a" * 32, "a/b", "[x]", "'x"):
        with pytest.raises(ValueError, match="nommer une feuille"):
            xlsx.Sheet(bad)
    with pytest.raises(ValueError, match="même nom"):
        xlsx.write_workbook(tmp_path / "x.xlsx", [xlsx.Sheet("A"), xlsx.Sheet("a")])
    assert [xlsx.column_letter(i) for i in (0, 25, 26, 701, 702, 16383)] == ["A", "Z", "AA", "ZZ", "AAA", "XFD"]


def test_zip64_parts_still_read(tmp_path, monkeypatch):
    monkeypatch.setattr(xlsx, "_ZIP64_FROM", 0)
    path = tmp_path / "z64.xlsx"
    write_xlsx(pd.DataFrame({"a": ["x", "y"], "b": [1.5, 2.0]}), path)
    check_parts(path)
    assert [c.value for c in load_workbook(path).active["B"]] == ["b", 1.5, 2]


def test_row_limit_and_atomic_output(tmp_path, monkeypatch):
    import cq_geo.bulk.writers as bio

    path = tmp_path / "sortie.xlsx"
    path.write_bytes(b"ancien")
    monkeypatch.setattr(bio, "XLSX_MAX_ROWS", 3)
    with pytest.raises(BatchFileError, match="4 lignes : trop pour un fichier XLSX"):
        write_xlsx(pd.DataFrame({"a": range(4)}), path)
    monkeypatch.setattr(bio, "XLSX_MAX_ROWS", XLSX_MAX_ROWS)

    def boom(self, a, b):
        raise OSError("disque plein")

    monkeypatch.setattr(xlsx, "CHUNK_ROWS", 2)
    monkeypatch.setattr(xlsx._Column, "chunk", boom)
    with pytest.raises(BatchFileError, match="disque plein"):  # an OSError, said in French
        write_xlsx(pd.DataFrame({"a": range(10)}), path)
    assert path.read_bytes() == b"ancien"  # the old file untouched, no partial file beside it
    assert sorted(p.name for p in tmp_path.iterdir()) == ["sortie.xlsx"]


def test_summary_workbook(tmp_path, terr):
    pts = commune_points(terr)
    lon, lat = pts["59172"]
    src = pd.DataFrame({
        "nom": ["A & B", " =x ", "C", "D"],
        "lon": [str(lon), "abc", "3.3957", str(lon + 0.5)],
        "lat": [str(lat), "50", "", str(lat)],
    })
    out, summary = batch(src, lon_col="lon", lat_col="lat", territory=terr)
    summary.notes.append("une note & <balise>")
    path = tmp_path / "résumé.xlsx"
    summary.write_xlsx(path)
    check_parts(path)
    wb = load_workbook(path)
    assert wb.sheetnames == ["Synthèse", "À vérifier"]
    syn, chk = wb["Synthèse"], wb["À vérifier"]
    assert syn["A1"].value == summary.headline() and syn["A1"].font.b
    assert syn.column_dimensions["A"].width == 42 and syn.column_dimensions["E"].width == 18
    assert chk.column_dimensions["C"].width == 90 and chk.freeze_panes == "A2" and syn.freeze_panes is None
    assert [c.value for c in chk[1]] == list(summary.to_check.columns) and all(c.font.b for c in chk[1])
    rows = list(chk.iter_rows(min_row=2, values_only=True))
    assert [r[0] for r in rows] == [int(v) for v in summary.to_check["Ligne"]]
    assert [r[2] for r in rows] == summary.to_check["Raison"].tolist()
    values = [c.value for c in syn["A"]]
    assert "Note : une note & <balise>" in values and "Par statut" in values
    status = values.index("Par statut") + 1
    assert [c.value for c in syn[status + 1]][:5] == ["Statut", "Code", "Lignes", "Part", None]
    first = syn[status + 2]
    # shares are numbers shown as per cents (they can be summed and charted), not texts « 45,7 % »
    assert first[2].data_type == "n" and first[3].data_type == "n" and 0 <= first[3].value <= 1
    assert first[3].number_format == "0.0\\ %"
    assert chk.auto_filter.ref == f"A1:{chr(64 + chk.max_column)}{chk.max_row}"
    # dated, with the version and the sources
    from cq_geo._version import __version__

    assert "Date" in values[:8] and "Communes" in values[:8]
    assert [c.value for c in syn[values.index("Logiciel") + 1]][:2] == ["Logiciel", f"cq-geo {__version__}"]


# -- the openpyxl writers this module replaced (cq-geo before the XLSX writer), as references ------------------
def openpyxl_write_xlsx(data, path, sheet_name="Résultats"):
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font

    from cq_geo.bulk.cells import ILLEGAL_XLSX
    from cq_geo.bulk.writers import column_texts as _column_texts

    def _xlsx_cells(series):
        dtype = series.dtype
        if pd.api.types.is_bool_dtype(dtype):
            return np.where(series.to_numpy(dtype=bool), "true", "false").tolist()
        if pd.api.types.is_float_dtype(dtype):
            arr = series.to_numpy(dtype="float64")
            return [None if v != v else v for v in arr.tolist()]
        if pd.api.types.is_integer_dtype(dtype):
            return series.tolist()
        texts = _column_texts(series, ".")
        if ILLEGAL_XLSX.search("".join(texts)):
            texts = [xlsx_text(t) for t in texts]
        return [t if t != "" else None for t in texts]

    wb = Workbook(write_only=True)
    ws = wb.create_sheet(sheet_name)
    ws.freeze_panes = "A2"
    bold = Font(bold=True)
    header = []
    for name in [xlsx_text(str(c)) for c in data.columns]:
        cell = WriteOnlyCell(ws, value=name)
        cell.font = bold
        header.append(cell)
    ws.append(header)
    cols = [_xlsx_cells(data.iloc[:, j]) for j in range(data.shape[1])]
    for row in zip(*cols):
        ws.append(row)
    wb.save(path)


def openpyxl_write_summary(self, path):
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font

    from cq_geo.bulk.summary import _cell_text

    def _xlsx_rows(ws, table, bold):
        header = []
        for c in table.columns:
            cell = WriteOnlyCell(ws, value=xlsx_text(str(c)))
            cell.font = bold
            header.append(cell)
        ws.append(header)
        for row in table.itertuples(index=False, name=None):
            values = []
            for v in row:
                if isinstance(v, (int, float)) and not isinstance(v, bool):
                    values.append(None if v != v else v)
                else:
                    text = xlsx_text(_cell_text(v))
                    values.append(text if text else None)
            ws.append(values)

    wb = Workbook(write_only=True)
    ws = wb.create_sheet("Synthèse")
    bold = Font(bold=True)

    def title(text):
        cell = WriteOnlyCell(ws, value=text)
        cell.font = bold
        ws.append([cell])

    ws.column_dimensions["A"].width = 42
    for col in "BCDE":
        ws.column_dimensions[col].width = 18
    title(self.headline())
    for label, text in self.provenance:
        ws.append([label, text])
    for name, table in self.tables():
        ws.append([])
        title(name)
        _xlsx_rows(ws, table, bold)
    for note in self.notes:
        ws.append([])
        ws.append([xlsx_text(f"Note : {note}")])
    ws2 = wb.create_sheet("À vérifier")
    ws2.freeze_panes = "A2"
    ws2.column_dimensions["C"].width = 90
    _xlsx_rows(ws2, self.to_check, bold)
    wb.save(path)


def same_workbooks(new, old):
    a, b = load_workbook(new), load_workbook(old)
    assert a.sheetnames == b.sheetnames
    for wa, wb_ in zip(a.worksheets, b.worksheets):
        assert cells(wa) == cells(wb_)
        assert wa.freeze_panes == wb_.freeze_panes
        for col, dim in wb_.column_dimensions.items():
            if dim.customWidth:
                assert wa.column_dimensions[col].width == dim.width
    pa = pd.read_excel(new, sheet_name=None, header=None)
    pb = pd.read_excel(old, sheet_name=None, header=None)
    for name in pb:
        pd.testing.assert_frame_equal(pa[name], pb[name])


def test_same_cells_as_the_openpyxl_writer(tmp_path, terr):
    pts = commune_points(terr)
    lon, lat = pts["59172"]
    src = pd.DataFrame({
        "nom": ["A & B", " =x ", "C", "D", "É<é>", "nul\x00"],
        "lon": [str(lon), "abc", "3.3957", str(lon + 0.5), "", str(lon)],
        "lat": [str(lat), "50", "", str(lat), "", str(lat)],
        "n": ["1", "2", "3", "4", "5", "6"],
    })
    out, summary = batch(src, lon_col="lon", lat_col="lat", territory=terr)
    summary.notes.append("=note")
    summary.write_xlsx(tmp_path / "new_resume.xlsx")
    openpyxl_write_summary(summary, tmp_path / "old_resume.xlsx")
    same_workbooks(tmp_path / "new_resume.xlsx", tmp_path / "old_resume.xlsx")

    write_xlsx(out, tmp_path / "new_out.xlsx")
    openpyxl_write_xlsx(out, tmp_path / "old_out.xlsx")
    same_workbooks(tmp_path / "new_out.xlsx", tmp_path / "old_out.xlsx")

    df = messy_frame().drop(index=8)  # (openpyxl cut the long text in code points, this writer in UTF-16 units)
    df.iloc[:, 0] = df.iloc[:, 0].str.replace("😀", "")
    write_xlsx(df, tmp_path / "new_messy.xlsx")
    openpyxl_write_xlsx(df.assign(réel=df["réel"].where(np.isfinite(df["réel"]))), tmp_path / "old_messy.xlsx")
    same_workbooks(tmp_path / "new_messy.xlsx", tmp_path / "old_messy.xlsx")


def test_no_openpyxl_writing_left_and_light_import():
    for path in (ROOT / "cq_geo").rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        assert not re.search(r"from openpyxl import .*\bWorkbook\b|WriteOnlyCell|openpyxl\.Workbook\b", text), path
    code = "import sys, cq_geo.bulk.xlsx; print(sorted({m.split('.')[0] for m in sys.modules} & {'numpy', 'pandas', 'openpyxl', 'lxml'}))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True)
    assert out.stdout.strip() == "[]"


def _soffice_sheets(path: Path, out_dir: Path) -> dict[str, list[list[str]]]:
    """Every sheet of *path* as LibreOffice reads it (exported as raw-value UTF-8 CSV)."""
    import csv
    import shutil

    exe = shutil.which("soffice")
    if exe is None:
        pytest.skip("LibreOffice (soffice) absent : paquet Debian libreoffice-calc-nogui")
    out_dir.mkdir(exist_ok=True)
    # 59 ';', 34 '"', 76 UTF-8, values not "as shown", -1 every sheet in its own file
    options = "csv:Text - txt - csv (StarCalc):59,34,76,1,,0,false,true,false,false,false,-1"
    subprocess.run([exe, "--headless", "--norestore", f"-env:UserInstallation=file://{out_dir / 'profil'}",
                    "--convert-to", options, "--outdir", str(out_dir), str(path)],
                   check=True, capture_output=True, timeout=180)
    sheets = {}
    for f in sorted(out_dir.glob(path.stem + "-*.csv")):
        with open(f, encoding="utf-8", newline="") as fh:
            sheets[f.stem[len(path.stem) + 1:]] = list(csv.reader(fh, delimiter=";"))
    return sheets


def test_libreoffice_reads_the_batch_output_and_summary(tmp_path, terr):
    """The files a planner opens: LibreOffice Calc (a real spreadsheet) reads every cell as written."""
    from cq_geo.bulk.run import batch_file

    src = tmp_path / "entree.csv"
    src.write_text(
        "nom;lon;lat;note\n"
        "Mairie de Denain;3,3957;50,3290;=1+1\n"
        '  espace  ;3,4;50,35;a & b < c > "d"\n'
        "Paris;2,35;48,85;Hélène ★\n"
        "vide;;;\n",
        encoding="utf-8",
    )
    res = batch_file(src, tmp_path / "sortie.xlsx", lon_col="lon", lat_col="lat", territory=terr)
    sheets = _soffice_sheets(tmp_path / "sortie.xlsx", tmp_path / "lo")
    assert list(sheets) == ["Résultats"]
    rows = sheets["Résultats"]
    expected = pd.read_excel(tmp_path / "sortie.xlsx", dtype=object)
    assert rows[0] == list(expected.columns)
    assert len(rows) == 1 + 4
    assert [r[0] for r in rows[1:]] == ["Mairie de Denain", "  espace  ", "Paris", "vide"]
    assert [r[3] for r in rows[1:]] == ["'=1+1", 'a & b < c > "d"', "Hélène ★", ""]
    col = rows[0].index
    assert float(rows[1][col("cq_lon")]) == 3.3957 and float(rows[3][col("cq_lat")]) == 48.85  # numbers, not text
    assert [r[col("cq_status")] for r in rows[1:]] == list(expected["cq_status"])
    assert rows[4][col("cq_lon")] == "" and rows[4][col("cq_reason")] == "coordonnées manquantes"

    summary = _soffice_sheets(res.summary_files[0], tmp_path / "lo2")
    assert list(summary) == ["Synthèse", "À vérifier"]
    assert summary["Synthèse"][0][0].startswith("Traitement par lot : 4 lignes lues")
    check = summary["À vérifier"]
    assert check[0][:3] == ["Ligne", "Statut", "Raison"]
    assert [r[0] for r in check[1:]] == [str(n) for n in res.summary.to_check["Ligne"]]
