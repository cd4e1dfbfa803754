"""Local perimeters (poches, Saint-Amand quarters): import, checks, validation, history, CLI.

The drawn files are SYNTHETIC squares inside the embedded baseline communes.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import shapely

from cq_geo.errors import DataError

from . import synthetic_qpv as syn
from .store_fixtures import *  # noqa: F401,F403
from .store_fixtures import lonlat_of, sha

pytest.importorskip("geopandas")

NAMES = {
    "POCHE-ESCAUDAIN-SAINT-MARCK": "Cité Saint-Marck",  # short name, other punctuation
    "POCHE-HAVELUY-CENTRE": "Haveluy : Centre",  # full name
    "POCHE-HAVELUY-PLAINE": "POCHE-HAVELUY-PLAINE",  # code
}


@pytest.fixture
def poches(tmp_path):
    layout = syn.Layout()
    recs = syn.local_records(layout, "poche", NAMES)
    path = syn.write(syn.frame(recs, "EPSG:3949"), tmp_path / "poches_synthetiques_cc50.gpkg", "GPKG")  # CC50 (Nord)
    return path, recs, layout


def test_import_validate_and_lookup(store, poches):
    from cq_geo.data.imports import import_local, validate_zone
    from cq_geo.territory import load_store_territory

    path, recs, _ = poches
    rep = import_local(store, path, "poche", author="Service politique de la ville")
    assert sorted(rep.added) == sorted(NAMES) and rep.status == "provisional"
    rows = {r["code"]: r for r in store.rows("poche")}
    assert {r["status"] for r in rows.values()} == {"provisional"}
    assert rows["POCHE-HAVELUY-CENTRE"]["communes"] == "59292"
    assert shapely.hausdorff_distance(rows["POCHE-HAVELUY-CENTRE"]["geometry"], recs[1][1]) < 0.01  # CC50 → L93
    meta = store.metadata()["poche"]
    assert meta["status"] == "provisional" and meta["feature_count"] == 3 and meta["sha256"] == sha(path)

    lon, lat = lonlat_of(recs[1][1])
    t = load_store_territory(store.path)
    r = t.lookup(lon=lon, lat=lat).to_dict()
    poche = [z for z in r["zones"] if z["tier"] == "poche" and z["status"] == "inside"]
    assert [z["code"] for z in poche] == ["POCHE-HAVELUY-CENTRE"] and poche[0]["geometry_status"] == "provisional"
    assert r["layers"]["poche"]["status"] == "provisional"
    assert "POCHE-MORTAGNE-CENTRE" in r["layers"]["poche"]["missing_zones"]

    row = validate_zone(store, "POCHE-HAVELUY-CENTRE", by="Direction de la cohésion sociale")
    assert row["status"] == "validated" and row["validated_by"] == "Direction de la cohésion sociale"
    assert row["validated_at"].endswith("Z")
    hist = store.history("POCHE-HAVELUY-CENTRE")
    assert [h["action"] for h in hist] == ["add", "validate"]
    assert hist[0]["author"] == "Service politique de la ville" and hist[1]["author"] == "Direction de la cohésion sociale"
    assert hist[1]["geometry"].equals(rows["POCHE-HAVELUY-CENTRE"]["geometry"])
    t = load_store_territory(store.path)
    z = [z for z in t.lookup(lon=lon, lat=lat).to_dict()["zones"] if z["tier"] == "poche" and z["status"] == "inside"]
    assert z[0]["geometry_status"] == "validated"
    assert store.metadata()["poche"]["status"] == "provisional"  # two zones still provisional

    # re-import replaces a zone's geometry, keeps the others, and goes back to provisional
    moved = syn.local_records(syn.Layout(), "poche", {"POCHE-HAVELUY-CENTRE": "Centre"})
    moved_path = syn.write(syn.frame(moved), path.with_name("centre_v2.geojson"), "GeoJSON")
    rep = import_local(store, moved_path, "poche")
    assert rep.replaced == ["POCHE-HAVELUY-CENTRE"] and rep.feature_count == 3
    assert [h["action"] for h in store.history("POCHE-HAVELUY-CENTRE")] == ["add", "validate", "replace"]
    assert {r["code"]: r["status"] for r in store.rows("poche")}["POCHE-HAVELUY-CENTRE"] == "provisional"


def test_unknown_names_get_suggestions(store, tmp_path):
    layout = syn.Layout()
    recs = syn.local_records(layout, "poche", {"POCHE-ESCAUDAIN-SAINT-MARCK": "x"})
    recs[0][0]["nom"] = "Escaudain : Cité Saint Mark"
    recs.append(({"nom": "Poche inventée"}, recs[0][1]))
    path = syn.write(syn.frame(recs), tmp_path / "fautes.geojson", "GeoJSON")
    from cq_geo.data.imports import import_local

    before = sha(store.path)
    with pytest.raises(DataError) as err:
        import_local(store, path, "poche")
    msg = str(err.value)
    assert "2 problème(s)" in msg
    assert "vouliez-vous dire : Escaudain : Cité Saint Marck" in msg
    assert "« Poche inventée »" in msg
    assert sha(store.path) == before
    with pytest.raises(DataError, match="champ « libelle » absent"):
        import_local(store, path, "poche", name_field="libelle")


def test_outside_its_commune_is_refused(store, tmp_path):
    from cq_geo.data.imports import import_local

    layout = syn.Layout()
    # a Haveluy poche drawn in Denain
    geom = layout.square("59172", half=100)
    path = syn.write(syn.frame([({"nom": "Haveluy : Centre"}, geom)]), tmp_path / "mal_place.gpkg", "GPKG")
    before = sha(store.path)
    with pytest.raises(DataError, match="hors de sa commune \\(Haveluy\\)"):
        import_local(store, path, "poche")
    assert sha(store.path) == before


def test_invalid_geometry_is_refused_with_its_reason(store, tmp_path):
    from cq_geo.data.imports import import_local

    sq = syn.Layout().square("59292", half=100)
    x0, y0, x1, y1 = sq.bounds
    bowtie = shapely.Polygon([(x0, y0), (x1, y1), (x1, y0), (x0, y1)])
    path = syn.write(syn.frame([({"nom": "Haveluy : Centre"}, bowtie)]), tmp_path / "papillon.gpkg", "GPKG")
    with pytest.raises(DataError, match="géométrie invalide \\(Self-intersection.*Réparer les géométries"):
        import_local(store, path, "poche")


def test_overlap_refused_unless_accepted(store, tmp_path):
    from cq_geo.data.imports import import_local

    a = syn.Layout().square("59292", half=150)
    b = shapely.affinity.translate(a, 100, 0)
    first = syn.write(syn.frame([({"nom": "Haveluy : Centre"}, a)]), tmp_path / "a.gpkg", "GPKG")
    second = syn.write(syn.frame([({"nom": "Cité de la Plaine"}, b)]), tmp_path / "b.gpkg", "GPKG")
    import_local(store, first, "poche")
    before = sha(store.path)
    with pytest.raises(DataError, match="POCHE-HAVELUY-CENTRE et POCHE-HAVELUY-PLAINE se chevauchent.*--accept-overlap"):
        import_local(store, second, "poche")
    assert sha(store.path) == before
    rep = import_local(store, second, "poche", accept_overlap=True)
    assert any("chevauchement accepté" in n for n in rep.notes)
    rows = {r["code"]: r for r in store.rows("poche")}
    assert rows["POCHE-HAVELUY-PLAINE"]["overlap_accepted"] == 1


def test_qva_perimeter_on_top_of_whole_communes(store, tmp_path):
    from cq_geo.data.imports import import_local
    from cq_geo.territory import load_store_territory

    layout = syn.Layout()
    recs = syn.local_records(layout, "qva", {"QVA-SAINT-AMAND-LIMON": "Limon"})
    path = syn.write(syn.frame(recs, "EPSG:4326"), tmp_path / "limon.geojson", "GeoJSON")
    import_local(store, path, "qva")
    t = load_store_territory(store.path)
    info = t.layers["qva"]
    assert info.status == "simplified"  # whole-commune QVA still rest on the simplified outlines
    assert "limon.geojson" in info.source and info.missing_zones == ["QVA-SAINT-AMAND-MOULIN-DES-LOUPS"]
    lon, lat = lonlat_of(recs[0][1])
    r = t.lookup(lon=lon, lat=lat).to_dict()
    assert r["primary"] == {"tier": "qva", "code": "QVA-SAINT-AMAND-LIMON"}


def test_validate_zone_errors(store, synth_files):
    from cq_geo.data.imports import import_official, validate_zone

    import_official(store, "qpv", synth_files["gpkg"])
    with pytest.raises(DataError, match="officiel"):
        validate_zone(store, "QN05950M", by="x")
    with pytest.raises(DataError, match="pas encore de périmètre importé.*--tier poche"):
        validate_zone(store, "POCHE-HAVELUY-CENTRE", by="x")
    with pytest.raises(DataError, match="zone inconnue"):
        validate_zone(store, "POCHE-NULLE-PART", by="x")
    with pytest.raises(DataError, match="--by"):
        validate_zone(store, "POCHE-HAVELUY-CENTRE", by="  ")


def test_cli_local_import_status_validate_rollback(store, poches, capsys):
    from cq_geo.cli.main import main

    path, _, _ = poches
    s = ["--store", str(store.path)]
    assert main(["data", "import", "local", str(path), *s]) == 2
    assert "--tier" in capsys.readouterr().err
    assert main(["data", "import", "local", str(path), "--tier", "poche", "--name-field", "nom", "--by", "SPV", *s]) == 0
    out = capsys.readouterr().out
    assert "3 entité(s) installée(s), couche provisoire" in out and "validate-zone" in out

    assert main(["data", "status", "--json", *s]) == 0
    st = json.loads(capsys.readouterr().out)
    poche = next(e for e in st["layers"] if e["layer"] == "poche")
    assert poche["status"] == "provisional" and poche["feature_count"] == 3
    assert sorted(poche["provisional"]) == sorted(NAMES)
    assert "POCHE-MORTAGNE-CENTRE" in poche["missing"]
    assert any("validate-zone" in t for t in poche["todo"]) and any("--tier poche" in t for t in poche["todo"])
    qva = next(e for e in st["layers"] if e["layer"] == "qva")
    assert qva["status"] == "missing" and qva["in_answers"]["status"] == "simplified"
    assert qva["in_answers"]["feature_count"] == 11  # whole communes, from the commune outlines
    qpv = next(e for e in st["layers"] if e["layer"] == "qpv")
    assert qpv["status"] == "missing" and any("data update --only qpv" in t for t in qpv["todo"])
    assert st["previous_state"] is True

    assert main(["data", "validate-zone", "POCHE-HAVELUY-PLAINE", "--by", "Chef de projet 2", *s]) == 0
    assert "validée par Chef de projet 2" in capsys.readouterr().out
    assert main(["data", "status", *s]) == 0
    text = capsys.readouterr().out
    assert "poche : provisoire, 3 entité(s)" in text and "data rollback" in text
    assert "dans les réponses : simplifiée, 11 zone(s) — dérivé des contours communaux" in text

    assert main(["data", "rollback", *s]) == 0
    capsys.readouterr()
    assert {r["code"]: r["status"] for r in store.rows("poche")}["POCHE-HAVELUY-PLAINE"] == "provisional"


def test_outside_message_lists_its_communes_with_commas(store, tmp_path):
    """Issue 16: the message once replaced every "," of the sentence by " ", giving « (Denain  Escaudain) »."""
    from cq_geo.data.imports import import_local
    from cq_geo.paths import territory_file

    # a SYNTHETIC poche over two communes (Denain, Escaudain), drawn in Haveluy, outside both
    toml = Path(territory_file()).read_text(encoding="utf-8") + (
        '\n[[zones]]\ntier = "poche"\ncode = "POCHE-SYNTHETIQUE-DENAIN-ESCAUDAIN"\n'
        'name = "Synthétique : Denain-Escaudain"\ncommunes = ["59172", "59205"]\ngeometry = "perimeter"\n'
        'sources = ["contrat"]\n')
    (tmp_path / "territory.toml").write_text(toml, encoding="utf-8")
    geom = syn.Layout().square("59292", half=150)
    path = syn.write(syn.frame([({"nom": "Synthétique : Denain-Escaudain"}, geom)]), tmp_path / "loin.gpkg", "GPKG")
    before = sha(store.path)
    with pytest.raises(DataError) as err:
        import_local(store, path, "poche", territory_file=tmp_path / "territory.toml")
    msg = str(err.value)
    assert "(POCHE-SYNTHETIQUE-DENAIN-ESCAUDAIN) : 90 000 m² hors de sa commune (Denain, Escaudain)" in msg, msg
    assert "  " not in msg.replace("\n  - ", "\n"), msg  # no double space anywhere in the sentence
    assert sha(store.path) == before
