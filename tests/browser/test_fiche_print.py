"""The eligibility sheet (``cq-geo lookup … --fiche``) printed by a real Chromium.

The sheet is written by the real CLI (coordinates) or from a real offline
geocoding (the synthetic BAN fixture through the real index), printed to PDF
on A4 from several window sizes, then read back with pdftotext (what it says)
and pdftoppm (one page; the map excerpt is drawn with the address marker).
"""

from __future__ import annotations

import gzip
import os
import shutil
import stat
import subprocess
from pathlib import Path

import numpy as np
import pytest

from cq_geo.cli.main import main
from cq_geo.territory import load_territory

from .test_map_browser import CHROMIUM
from .test_map_print import PDFTOPPM, print_pdf, rasterise

PDFTOTEXT = shutil.which("pdftotext")
pytestmark = [pytest.mark.skipif(CHROMIUM is None, reason="chromium absent (apt-get install chromium)"),
              pytest.mark.skipif(PDFTOPPM is None or PDFTOTEXT is None, reason="poppler-utils absent")]
ROOT = Path(__file__).resolve().parents[2]


def pdf_text(pdf: Path) -> str:
    return subprocess.run([PDFTOTEXT, str(pdf), "-"], capture_output=True, text=True, check=True).stdout


def marker_pixels(image) -> int:
    """Pixels of the address marker's red (#c0392b) on a page image."""
    a = np.asarray(image, dtype="int16")
    return int(((np.abs(a - np.array([192, 57, 43])) <= 40).all(axis=2)).sum())


def test_cli_writes_a_one_page_sheet_for_coordinates(tmp_path, capsys):
    out = tmp_path / "fiche.html"
    old = os.umask(0o022)
    try:
        assert main(["lookup", "--lon", "3.3957", "--lat", "50.3290", "--fiche", str(out)]) == 0
    finally:
        os.umask(old)
    captured = capsys.readouterr()
    assert "Denain" in captured.out and "fiche d'éligibilité écrite" in captured.err
    assert stat.S_IMODE(out.stat().st_mode) == 0o644
    html = out.read_text(encoding="utf-8")
    assert "<script" not in html and "http://" not in html.replace("http://www.w3.org/2000/svg", "")
    territory = load_territory()
    for window in [(390, 844), (1280, 720), (2560, 1440)]:
        pdf = print_pdf(out, tmp_path / f"fiche-{window[0]}.pdf", window, "A4 portrait")
        pages = rasterise(pdf, dpi=80)
        assert len(pages) == 1, f"{window}: {len(pages)} pages"
        assert marker_pixels(pages[0]) > 20  # the map excerpt with the address is on the page
    text = " ".join(pdf_text(pdf).split())
    assert "Fiche d'éligibilité" in text and "Denain (59172)" in text
    # in the former QVA of Denain, but the QPV of Denain are not installed: the answer says so, in one sentence
    assert ("Denain : dans l’Ancien quartier de veille active « Denain (toute la commune) » (QVA-59172) ; "
            "QPV inconnu (périmètres « Denain », « Gambetta » non disponibles)") in text
    from cq_geo._version import __version__

    assert f"cq-geo {__version__}" in text
    sha = territory.layers["communes"].sha256
    assert sha and sha[:20] in text.replace(" ", "")
    assert "Équipe Sud" in text and "Chef de projet 4" in text
    assert text.count("inconnu (périmètre absent)") == 2  # the two QPV of Denain, one line each


def test_cli_refuses_a_sheet_that_is_not_html(tmp_path, capsys):
    assert main(["lookup", "--lon", "3.3957", "--lat", "50.3290", "--fiche", str(tmp_path / "fiche.pdf")]) == 2
    assert "fichier .html" in capsys.readouterr().err
    assert not (tmp_path / "fiche.pdf").exists()


@pytest.fixture(scope="module")
def geocoder(tmp_path_factory):
    from cq_geo.geocode.ban import BanGeocoder
    from cq_geo.geocode.ban_index import import_ban
    from cq_geo.geocode.base import QualityThresholds

    folder = tmp_path_factory.mktemp("ban")
    gz = folder / "adresses-59.csv.gz"
    with open(ROOT / "tests" / "fixtures" / "ban_synthetic" / "adresses-synthetic.csv", "rb") as src, \
            gzip.open(gz, "wb") as dst:
        shutil.copyfileobj(src, dst)
    import_ban(gz, folder / "ban.sqlite")
    return BanGeocoder.from_store(folder / "ban.sqlite", thresholds=QualityThresholds())


def test_sheet_for_a_geocoded_address_inside_a_synthetic_qpv(tmp_path, geocoder):
    from cq_geo.geocode.lookup import lookup_address
    from cq_geo.maps.fiche import write_fiche

    from .synthetic_zones import territory_with_synthetic_zones

    territory = territory_with_synthetic_zones()
    typed = "12 rue des Esais Denain"  # a typo: the geocoder still finds the number
    answer = lookup_address(territory, typed, geocoder)
    out = write_fiche(tmp_path / "fiche.html", territory, answer.to_dict(), typed=typed, date="2026-11-27")
    pdf = print_pdf(out, tmp_path / "fiche.pdf", (1280, 720), "A4 portrait")
    assert len(rasterise(pdf, dpi=40)) == 1
    text = " ".join(pdf_text(pdf).split())
    assert typed in text and "Rue des Essais" in text and "précise" in text
    assert "27 novembre 2026" in text and "Lambert-93" in text
    # every tier has a line with its status
    for tier in ("QPV 2024", "Poche de pauvreté", "Ancien quartier de veille active"):
        assert tier in text
    assert "offline" in text  # the geocoder that placed the address


def test_answer_never_contradicts_itself():
    from cq_geo.maps.fiche import answer_sentence

    territory = load_territory()
    abscon = territory.lookup(lon=3.2968, lat=50.3330).to_dict()  # poche perimeter not installed here
    kind, sentence = answer_sentence(abscon)
    assert kind == "check" and "hors poche" not in sentence and "poche de pauvreté inconnue" in sentence
    outside = territory.lookup(lon=3.05, lat=50.63).to_dict()  # Lille: outside the CAPH
    assert answer_sentence(outside)[0] == "no"


def test_batch_writes_one_sheet_per_located_row(tmp_path, capsys):
    from cq_geo.territory import load_territory

    lon, lat = 3.3957, 50.3290
    src = tmp_path / "lot.csv"
    src.write_text(f"N° dossier;lon;lat\nA-1;{lon};{lat}\nA-2;abc;50\nA-3;3.2968;50.333\n", encoding="utf-8")
    before = src.read_bytes()
    code = main(["batch", str(src), "-o", str(tmp_path / "sortie.csv"), "--lon-col", "lon", "--lat-col", "lat",
                 "--fiches", str(tmp_path / "fiches"), "-q"])
    assert code == 0 and src.read_bytes() == before
    assert "Fiches d'éligibilité : 2" in capsys.readouterr().err
    sheets = sorted(p.name for p in (tmp_path / "fiches").iterdir())
    assert sheets == ["fiche-000002-A-1.html", "fiche-000004-A-3.html"]  # the row without a position has none
    pdf = print_pdf(tmp_path / "fiches" / sheets[1], tmp_path / "abscon.pdf", (1280, 720), "A4 portrait")
    assert len(rasterise(pdf, dpi=40)) == 1
    text = " ".join(pdf_text(pdf).split())
    assert "Abscon" in text and "poche de pauvreté inconnue" in text and "ligne 4 de sortie.csv" in text
    assert load_territory()  # the sheets used the same territory as the batch
