"""Official files into the store: every accepted format, and bad files refused with the store unchanged.

All inputs are SYNTHETIC (tests/unit/synthetic_qpv.py): squares inside the
embedded baseline communes, carrying the territory's real QPV codes.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from cq_geo.errors import DataError

from .store_fixtures import *  # noqa: F401,F403
from .store_fixtures import sha

pytest.importorskip("geopandas")

QPV_CODES = [
    "QN05920M", "QN05921M", "QN05922M", "QN05930M", "QN05950M", "QN05951M", "QN05952M", "QN05953M", "QN05954M",
    "QN05955M", "QN05956M", "QN05957M", "QN05958M",
]
SHARED = ["QN05920M", "QN05921M", "QN05922M", "QN05930M"]


@pytest.mark.parametrize("variant", ["geojson", "gpkg", "shp_split_invalid", "geojson_capitalised", "zip", "national"])
def test_qpv_file_in_every_format(store, synth_files, variant):
    import shapely

    from cq_geo.data.imports import import_official

    rep = import_official(store, "qpv", synth_files[variant])
    assert rep.changed and rep.status == "provisional" and not rep.official  # a file imported by hand
    assert rep.feature_count == 13 and not rep.added == []
    rows = {r["code_qp"]: r for r in store.rows("qpv")}
    assert sorted(rows) == QPV_CODES
    assert sorted(c for c, r in rows.items() if r["shared"]) == SHARED
    # multi-commune QPV: the territory's communes and the outside ones are kept
    assert rows["QN05952M"]["insee_territory"] == "59205;59361;59504"
    assert rows["QN05921M"]["insee_com"].split(";")[:2] == ["59491", "59014"]
    assert rows["QN05952M"]["geometry"].geom_type == "MultiPolygon" and len(rows["QN05952M"]["geometry"].geoms) == 3
    # geometries land where the synthetic squares were drawn (Lambert-93, ≤ 1 cm after reprojection)
    drawn = {p["code_qp"]: g for p, g in synth_files["records"]}
    if variant != "shp_split_invalid":
        for code in QPV_CODES:
            assert shapely.hausdorff_distance(rows[code]["geometry"], drawn[code]) < 0.01
    meta = store.metadata()["qpv"]
    assert meta["sha256"] == sha(synth_files[variant]) and meta["feature_count"] == 13
    assert meta["source"] == "fichier importé : " + Path(synth_files[variant]).name
    assert {h["code"] for h in store.history() if h["layer"] == "qpv"} == set(QPV_CODES)


def test_split_features_are_dissolved_and_invalid_ones_repaired(store, synth_files):
    from cq_geo.data.imports import import_official

    rep = import_official(store, "qpv", synth_files["shp_split_invalid"])
    assert rep.features_read == 19 + 4 + 4  # one feature per QPV × commune (19 in the territory, 4 outside) + 4 elsewhere
    assert "QN05955M" in " ".join(rep.notes) and "réparées" in " ".join(rep.notes)
    rows = {r["code_qp"]: r for r in store.rows("qpv")}
    assert rows["QN05955M"]["repaired"] == 1 and rows["QN05955M"]["geometry"].is_valid
    assert rows["QN05955M"]["geometry"].area > 0
    assert rows["QN05950M"]["repaired"] == 0
    assert len(rows["QN05954M"]["geometry"].geoms) == 3  # dissolved from three features
    assert "réparées" in store.metadata()["qpv"]["note"]


def test_same_file_twice_is_not_reinstalled(store, synth_files):
    from cq_geo.data.imports import import_official

    import_official(store, "qpv", synth_files["gpkg"])
    before = sha(store.path)
    rep = import_official(store, "qpv", synth_files["gpkg"])
    assert not rep.changed and "déjà à jour" in rep.to_text()
    assert sha(store.path) == before
    # another file with the same geometries: installed, but nothing replaced in the history
    rep = import_official(store, "qpv", synth_files["geojson"])
    assert rep.changed and rep.replaced == [] and rep.added == []


def test_qpv_2015_schema_goes_to_its_own_layer(store, synth_files):
    import pyogrio

    from cq_geo.data.imports import import_official
    from cq_geo.territory import load_store_territory

    with pytest.raises(DataError, match="import qpv2015"):
        import_official(store, "qpv", synth_files["qpv2015"])
    rep = import_official(store, "qpv2015", synth_files["qpv2015"])
    assert rep.feature_count == 3
    rows = {r["code_qp"]: r for r in store.rows("qpv2015")}
    assert sorted(rows) == ["QP059054", "QP059055", "QP059099"]
    assert rows["QP059054"]["insee_territory"] == "59172;59205"  # from commune names
    assert pyogrio.read_info(store.path, layer="qpv2015")["crs"] == "EPSG:2154"
    with pytest.raises(DataError, match="import qpv »"):
        import_official(store, "qpv2015", synth_files["gpkg"])
    # the 2015 layer never feeds answers
    assert load_store_territory(store.path).layers["qpv"].status == "missing"


BAD = {
    "bad_empty": "fichier vide",
    "bad_truncated_zip": "zip tronquée ou corrompue",
    "bad_truncated_geojson": "illisible ou tronqué",
    "bad_crs_declared": "système de coordonnées erroné",
    "bad_crs_other": "système de coordonnées inattendu",
    "bad_schema": "colonne code_qp absente",
    "bad_duplicate_names": "codes QPV en double",
    "bad_duplicate_rows": "figure en double",
    "bad_elsewhere": "aucun QPV ne touche les communes du territoire",
    "bad_not_geo": "illisible",
}


@pytest.mark.parametrize("variant", sorted(BAD))
def test_bad_qpv_files_are_refused_and_store_unchanged(store, synth_files, variant):
    from cq_geo.data.imports import import_official

    import_official(store, "qpv", synth_files["gpkg"])  # something installed, to be preserved
    before, prev = sha(store.path), sha(store.previous_path)
    with pytest.raises(DataError, match=BAD[variant]):
        import_official(store, "qpv", synth_files[variant])
    assert sha(store.path) == before and sha(store.previous_path) == prev
    assert not [p for p in store.path.parent.iterdir() if ".tmp" in p.name]


def test_cli_refuses_bad_file_with_exit_2(store, synth_files, capsys):
    from cq_geo.cli.main import main

    before = sha(store.path)
    assert main(["data", "import", "qpv", str(synth_files["bad_truncated_zip"]), "--store", str(store.path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("cq-geo : ") and "tronquée" in err
    assert sha(store.path) == before
    assert main(["data", "import", "qpv", str(synth_files["zip"]), "--store", str(store.path)]) == 0
    out = capsys.readouterr().out
    assert "13 entité(s) installée(s)" in out and "QPV partagés" in out


@pytest.mark.parametrize("variant", ["communes_geoapi", "communes_admin_express_zip"])
def test_commune_files(store, synth_files, variant):
    from cq_geo.data.imports import import_official
    from cq_geo.territory import load_store_territory

    rep = import_official(store, "communes", synth_files[variant])
    assert rep.feature_count == 47
    info = store.layer_info("communes")
    assert info.status == "provisional" and info.edge_m == 5.0 and info.source.startswith("fichier importé")
    t = load_store_territory(store.path)
    assert t.layers["communes"].status == "provisional"
    assert t.lookup(lon=3.3957, lat=50.3290).commune["name"] == "Denain"


def test_incomplete_commune_file_is_refused(store, synth_files):
    from cq_geo.data.imports import import_official

    before = sha(store.path)
    with pytest.raises(DataError, match="37 commune\\(s\\) du territoire absente"):
        import_official(store, "communes", synth_files["communes_incomplete"])
    assert sha(store.path) == before


def test_qpv_import_reports_codes_unknown_to_the_definition(store, synth_files, tmp_path):
    """A territory file without one of the QPV: the store keeps it, the territory ignores it, status says so."""
    from cq_geo.data.imports import import_official
    from cq_geo.model import load_definition
    from cq_geo.paths import territory_file
    from cq_geo.status import status_report
    from cq_geo.territory import load_store_territory

    text = territory_file().read_text(encoding="utf-8")
    block = text.index('code = "QN05957M"')
    start = text.rindex("[[zones]]", 0, block)
    end = text.index("[[zones]]", block)
    custom = tmp_path / "territoire.toml"
    custom.write_text(text[:start] + text[end:], encoding="utf-8")
    assert len(load_definition(custom).zones_of("qpv")) == 12
    rep = import_official(store, "qpv", synth_files["gpkg"], territory_file=custom)
    assert "QN05957M" in " ".join(rep.notes)
    t = load_store_territory(store.path, territory_file=custom)
    assert t.layers["qpv"].feature_count == 12
    st = status_report(store.path, territory_file=custom)
    qpv = next(e for e in st["layers"] if e["layer"] == "qpv")
    assert qpv["not_in_definition"] == ["QN05957M"]


def test_qpv_removed_from_a_new_file_is_recorded(store, synth_files, tmp_path):
    from cq_geo.data.imports import import_official

    from . import synthetic_qpv as syn

    import_official(store, "qpv", synth_files["gpkg"])
    fewer = [r for r in synth_files["records"] if r[0]["code_qp"] != "QN05957M"]
    path = syn.write(syn.frame(fewer), tmp_path / "qpv_sans_57.gpkg", "GPKG")
    rep = import_official(store, "qpv", path)
    assert rep.removed == ["QN05957M"] and rep.feature_count == 12
    assert "QN05957M" in " ".join(rep.notes)  # in the definition, absent from the file
    hist = store.history("QN05957M")
    assert [h["action"] for h in hist] == ["add", "remove"] and hist[-1]["geometry"] is None


def test_real_ign_outlines_as_a_commune_file(store, shared_data):
    """The real IGN 2018 outlines (../shared/data, read only) go through the commune import."""
    from cq_geo.data.imports import import_official
    from cq_geo.territory import load_store_territory

    rep = import_official(store, "communes", shared_data / "communes_caph_ign2018.geojson")
    assert rep.feature_count == 47
    t = load_store_territory(store.path)
    assert t.lookup(lon=3.3957, lat=50.3290).commune["name"] == "Denain"
    assert t.lookup(lon=3.4286, lat=50.4483).commune["name"] == "Saint-Amand-les-Eaux"


def test_failed_first_import_creates_no_store(synth_files, tmp_path, capsys):
    from cq_geo.cli.main import main

    target = tmp_path / "nouveau" / "cq-geo.gpkg"
    assert main(["data", "import", "qpv", str(synth_files["bad_schema"]), "--store", str(target)]) == 2
    assert "code_qp absente" in capsys.readouterr().err
    assert not target.exists() and not target.with_name("cq-geo.gpkg.prev").exists()
    assert main(["data", "import", "qpv", str(synth_files["gpkg"]), "--store", str(target)]) == 0
    assert target.exists()


def test_zip_member_shared_by_library_and_plugin(tmp_path):
    """D4 (issue 16): one choice of a zip's member, with the plugin's extensions (KML) or the library's."""
    import zipfile

    from cq_geo.data.sources import vector_target, zip_member

    z = tmp_path / "zones.zip"
    with zipfile.ZipFile(z, "w") as zf:
        zf.writestr("lisezmoi.txt", "x")
        zf.writestr("__MACOSX/._zones.kml", "x")
        zf.writestr("zones.kml", "<kml>" + "x" * 200 + "</kml>")
    with pytest.raises(DataError, match="l'archive ne contient aucun fichier GeoJSON, GeoPackage ou shapefile"):
        zip_member(z)  # the library reads no KML
    plugin_ext = (".gpkg", ".geojson", ".json", ".shp", ".kml", ".fgb")  # qgis_plugin.core.reader.VECTOR_EXT
    assert zip_member(z, extensions=plugin_ext) == "zones.kml"
    assert vector_target(z, extensions=plugin_ext) == (f"/vsizip/{z}/zones.kml", "zones.zip › zones.kml")
    data = bytearray(z.read_bytes())
    at = data.index(b"xxxxxxxx")
    data[at:at + 8] = b"yyyyyyyy"  # a damaged member: its CRC no longer matches
    z.write_bytes(bytes(data))
    with pytest.raises(DataError, match=r"zones.zip : archive zip corrompue \(membre zones.kml\)"):
        zip_member(z, extensions=plugin_ext)
    with pytest.raises(DataError, match=r"format non pris en charge \(attendu : GeoJSON, GeoPackage, shapefile, KML"):
        (tmp_path / "a.csv").write_text("x")
        vector_target(tmp_path / "a.csv", extensions=plugin_ext, expected="GeoJSON, GeoPackage, shapefile, KML ou zip")
