"""Fixtures for the data-store tests: SYNTHETIC files (see synthetic_qpv.py) and fresh stores.

Import with ``from .store_fixtures import *`` in a test module.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from . import synthetic_qpv as syn

__all__ = ["synth_files", "store_template", "store", "sha", "lonlat_of"]


def sha(path) -> str:
    from cq_geo.files import file_sha256

    return file_sha256(path)


def lonlat_of(geom):
    """(lon, lat) of a point well inside *geom* (Lambert-93)."""
    from cq_geo.geo.crs import l93_to_lonlat

    p = geom.representative_point() if geom.geom_type != "MultiPolygon" else geom.geoms[0].representative_point()
    lon, lat = l93_to_lonlat(p.x, p.y)
    return float(lon), float(lat)


# Fixtures imported into several modules are registered once per module: cache
# what they build so that the session really builds it once.
_CACHE: dict = {}


@pytest.fixture(scope="session")
def synth_files(tmp_path_factory) -> dict:
    """Every synthetic input file, written once per session. Keys name the variant."""
    pytest.importorskip("geopandas")
    if "synth" not in _CACHE:
        _CACHE["synth"] = _make_synth_files(tmp_path_factory.mktemp("synthetic"))
    return _CACHE["synth"]


def _make_synth_files(d: Path) -> dict:
    layout = syn.Layout()
    recs = syn.qpv_records(layout)
    split = syn.qpv_records(syn.Layout(), split=True, invalid="QN05955M")
    out: dict = {"records": recs, "layout": layout}
    out["geojson"] = syn.write(syn.frame(recs, "EPSG:4326"), d / "qp2024_synthetique_wgs84.geojson", "GeoJSON")
    out["gpkg"] = syn.write(syn.frame(recs), d / "qp2024_synthetique_lb93.gpkg", "GPKG", layer="qp2024")
    upper = syn.frame(split).rename(columns={"code_qp": "CODE_QP", "lib_qp": "NOM_QP", "insee_com": "INSEE_COM"})
    out["shp_split_invalid"] = syn.write(upper, d / "shp" / "QP2024_synthetique_LB93.shp", "ESRI Shapefile")
    cap = syn.frame(recs).rename(columns={"code_qp": "Code_QP", "lib_qp": "Lib_QP"})
    out["geojson_capitalised"] = syn.write(cap.to_crs(4326), d / "qp2024_synthetique_capitalised.geojson", "GeoJSON")
    out["zip"] = syn.anct_zip(recs, d / "qpv-2024-synthetique.zip")
    out["qpv2015"] = syn.write(syn.frame(syn.qpv2015_records(syn.Layout())), d / "qp2015" / "QP_SYNTHETIQUE_LB93.shp",
                               "ESRI Shapefile")
    # national-like: 300 features (the benchmark uses 1 400)
    out["national"] = syn.write(syn.frame(syn.national_records(300), "EPSG:4326"), d / "national_synthetique.geojson",
                                "GeoJSON")
    # bad files
    out["bad_empty"] = d / "vide.geojson"
    out["bad_empty"].write_bytes(b"")
    out["bad_truncated_zip"] = d / "tronque.zip"
    out["bad_truncated_zip"].write_bytes(syn.truncated(Path(out["zip"]).read_bytes()))
    out["bad_truncated_geojson"] = d / "tronque.geojson"
    out["bad_truncated_geojson"].write_bytes(syn.truncated(Path(out["geojson"]).read_bytes()))
    wrong = syn.frame(recs).set_crs(4326, allow_override=True)  # Lambert-93 metres declared as WGS84
    out["bad_crs_declared"] = syn.write(wrong, d / "crs_faux.gpkg", "GPKG")
    out["bad_crs_other"] = syn.write(syn.frame(recs, "EPSG:3857"), d / "pseudo_mercator.gpkg", "GPKG")
    out["bad_schema"] = syn.write(syn.frame(recs).rename(columns={"code_qp": "identifiant", "lib_qp": "nom"}),
                                  d / "schema_faux.geojson", "GeoJSON")
    dup = syn.frame(recs + [({**recs[4][0], "lib_qp": "Synthétique autre nom"}, recs[5][1])])
    out["bad_duplicate_names"] = syn.write(dup, d / "doublons_noms.gpkg", "GPKG")
    dup2 = syn.frame(recs + [recs[4]])
    out["bad_duplicate_rows"] = syn.write(dup2, d / "doublons.gpkg", "GPKG")
    out["bad_elsewhere"] = syn.write(syn.frame([r for r in recs if not r[0]["insee_com"].startswith("59")] or recs[-3:]),
                                     d / "ailleurs.gpkg", "GPKG")
    out["bad_not_geo"] = d / "pas_un_sig.geojson"
    out["bad_not_geo"].write_text("ceci n'est pas un fichier SIG", encoding="utf-8")
    # communes
    out["communes_geoapi"] = d / "epci_communes.geojson"
    out["communes_geoapi"].write_bytes(syn.communes_geojson_bytes())
    import geopandas as gpd

    ae = gpd.read_file(out["communes_geoapi"]).rename(columns={"code": "INSEE_COM", "nom": "NOM"})
    ae = ae[["INSEE_COM", "NOM", "geometry"]].to_crs(2154)
    shp_dir = d / "admin_express"
    syn.write(ae, shp_dir / "COMMUNE.shp", "ESRI Shapefile")
    out["communes_admin_express_zip"] = d / "ADMIN-EXPRESS_synthetique.zip"
    import zipfile

    with zipfile.ZipFile(out["communes_admin_express_zip"], "w") as zf:
        for f in shp_dir.iterdir():
            zf.write(f, "ADMIN-EXPRESS/1_DONNEES_LIVRAISON/" + f.name)
    out["communes_incomplete"] = syn.write(ae.iloc[:10], d / "communes_incompletes.gpkg", "GPKG")
    return out


@pytest.fixture(scope="session")
def store_template(tmp_path_factory) -> Path:
    """A freshly seeded store, created once; tests get copies."""
    pytest.importorskip("geopandas")
    from cq_geo.data.store import open_store

    if "template" not in _CACHE:
        _CACHE["template"] = open_store(tmp_path_factory.mktemp("template") / "cq-geo.gpkg").path
    return _CACHE["template"]


@pytest.fixture
def store(store_template, tmp_path):
    """A fresh seeded store (a copy of the template) in the test's folder."""
    from cq_geo.data.gpkg_store import Store

    path = tmp_path / "store" / "cq-geo.gpkg"
    path.parent.mkdir()
    shutil.copy2(store_template, path)
    return Store(path)
