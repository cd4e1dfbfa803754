"""The data store meets the shapes of the real national files (issue 12).

Every file here is SYNTHETIC (tests/unit/synthetic_qpv.py): made-up squares in the official
layouts — the ANCT zip with ``GPKG/`` and ``SHP/`` members, Corsican (2A/2B) and overseas
(971–976) codes, overseas shapefiles in their own CRS, multi-commune ``insee_com`` cells; an
ADMIN EXPRESS GeoPackage of several layers. ``data update`` runs against a real HTTP server on
127.0.0.1 with the real urllib client.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from cq_geo.errors import DataError

from . import synthetic_qpv as syn
from .store_fixtures import *  # noqa: F401,F403
from .store_fixtures import lonlat_of, sha
from .test_store_download import COMMUNES_PATH, QPV_PATH, Server

pytest.importorskip("geopandas")
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def national(tmp_path_factory):
    d = tmp_path_factory.mktemp("national")
    return {
        "zip": syn.national_anct_zip(d / "qpv-2024-national-synthetique.zip"),
        "zip_gpkg_comma": syn.national_anct_zip(d / "sans-shp" / "qpv-2024-national-synthetique.zip", with_shp=False,
                                                separator=","),
        "shifted": syn.national_anct_zip(d / "decale" / "qpv-2024-decale-35km.zip", shift_m=35000.0),
        "admin_express": syn.admin_express_gpkg(d / "ADMIN-EXPRESS_synthetique.gpkg"),
    }


@pytest.mark.parametrize("variant, member", [("zip", "SHP/QP2024_France_hexagonale_LB93.shp"),
                                             ("zip_gpkg_comma", "GPKG/QP2024_France_Hexagonale_Outre_Mer_WGS84.gpkg")])
def test_national_file_with_corsica_and_overseas_codes_imports(store, national, variant, member, capsys):
    """Was: « code(s) QPV invalide(s) : QN02A01M » — the code check ran on the whole national file."""
    from cq_geo.cli.main import main

    assert main(["data", "import", "qpv", str(national[variant]), "--store", str(store.path)]) == 0
    out = capsys.readouterr().out
    assert "qpv : 13 entité(s) installée(s)" in out and member in out
    rows = {r["code_qp"]: r for r in store.rows("qpv")}
    assert len(rows) == 13 and not any(c.startswith(("QN02", "QN97")) for c in rows)
    # ``insee_com`` holding several codes (``;`` or ``,``) is split
    assert rows["QN05952M"]["insee_territory"] == "59205;59361;59504"
    assert rows["QN05921M"]["shared"] == 1 and "59014" in rows["QN05921M"]["insee_com"].split(";")


def test_code_patterns_of_the_real_file():
    from cq_geo.data.sources import _QPV2015, _QPV2024

    for code in ("QN05950M", "QN02A01M", "QN02A03N", "QN02B02M", "QN97101M", "QN97414I", "QN97651C", "QN97302N"):
        assert _QPV2024.match(code), code
    for code in ("QN5950M", "QN0595M", "QN02C01M", "QN059500M", "QP059054", "qn05950m"):
        assert not _QPV2024.match(code), code
    assert _QPV2015.match("QP059054") and _QPV2015.match("QP02A001") and not _QPV2015.match("QN05950M")


def test_a_bad_code_among_the_rows_kept_is_refused(store, tmp_path):
    """Only the rows kept for the territory are checked — but they are."""
    from cq_geo.data.imports import import_official

    recs = syn.qpv_records(syn.Layout())
    recs = [({**p, "code_qp": "QN5950M"} if p["code_qp"] == "QN05950M" else p, g) for p, g in recs]
    recs.append(({"code_qp": "n'importe quoi", "lib_qp": "Ailleurs", "insee_com": "13055"}, recs[-1][1]))
    path = syn.write(syn.frame(recs), tmp_path / "code_faux.gpkg", "GPKG")
    before = sha(store.path)
    with pytest.raises(DataError, match=r"code\(s\) QPV invalide\(s\) parmi ceux du territoire : QN5950M$"):
        import_official(store, "qpv", path)
    assert sha(store.path) == before


def test_admin_express_geopackage_layer_chosen_by_name(store, national, capsys):
    """Was: the first polygon layer (``arrondissement``) was read → « aucune commune du territoire »."""
    from cq_geo.cli.main import main

    assert main(["data", "import", "communes", str(national["admin_express"]), "--store", str(store.path)]) == 0
    out = capsys.readouterr().out
    assert "communes : 47 entité(s) installée(s)" in out and "(couche commune)" in out
    assert len(store.rows("communes")) == 47


def test_shifted_perimeters_are_refused(store, national, capsys):
    """A QPV file whose perimeters do not touch the communes they list (35 km east) is not installed."""
    from cq_geo.cli.main import main

    before = sha(store.path)
    assert main(["data", "import", "qpv", str(national["shifted"]), "--store", str(store.path)]) == 2
    err = capsys.readouterr().err
    assert "13 périmètres QPV ne touchent pas les communes qu'ils listent" in err
    assert re.search(r"QN05950M \(Synthétique Denain\) ne touche pas Denain \(59172\) \(à environ \d+,\d km\)", err)
    assert "Import refusé" in err and sha(store.path) == before


def test_official_only_from_the_official_source_or_a_known_checksum(store, national, monkeypatch, capsys):
    from cq_geo.cli.main import main
    from cq_geo.data import sources
    from cq_geo.data.imports import import_official

    rep = import_official(store, "qpv", national["zip"])
    assert rep.status == "provisional" and not rep.official
    assert main(["data", "status", "--store", str(store.path)]) == 0
    out = capsys.readouterr().out
    assert "- qpv : provisoire, 13 entité(s)" in out
    assert f"source : fichier importé : {national['zip'].name}" in out
    # the same file, once its checksum is listed as an official release, is official
    monkeypatch.setitem(sources.OFFICIAL_RELEASES, sha(national["zip"]), "QPV 2024, publication de l'ANCT (essai)")
    rep = import_official(store, "qpv", national["zip"])
    assert rep.changed and rep.status == "official" and rep.official
    assert store.layer_info("qpv").status == "official"


def test_update_from_the_local_server_is_official_and_another_url_is_not(store, national, monkeypatch, capsys):
    from cq_geo.cli.main import main

    with Server() as server:
        body = national["zip"].read_bytes()
        server.routes[QPV_PATH] = (body, "ok")
        server.routes["/miroir/qpv.zip"] = (body, "ok")
        server.routes[COMMUNES_PATH] = (syn.communes_geojson_bytes(), "ok")
        monkeypatch.setenv("CQ_GEO_DATA_GOUV_URL", server.url)
        monkeypatch.setenv("CQ_GEO_GEO_API_URL", server.url)
        assert main(["data", "update", "--only", "qpv", "--url", server.url + "/miroir/qpv.zip",
                     "--store", str(store.path)]) == 0
        out = capsys.readouterr().out
        assert "couche provisoire" in out and "origine : fichier importé" in out
        assert main(["data", "update", "--store", str(store.path)]) == 0
        out = capsys.readouterr().out
    assert "qpv : 13 entité(s) installée(s), couche officielle" in out and "origine : source officielle" in out
    meta = store.metadata()
    assert meta["qpv"]["status"] == "official" and meta["qpv"]["source"] == server.url + QPV_PATH
    assert meta["communes"]["status"] == "official" and "geo.api" in meta["communes"]["publisher"]
    assert "QP2024_France_hexagonale_LB93.shp" in meta["qpv"]["note"]


def test_xyzservices_requirement_gives_data_geopf_fr():
    """``xyzservices>=2023.1`` allowed versions whose IGN tiles pointed at wxs.ign.fr (retired in March 2024)."""
    import re

    text = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    pins = re.findall(r'"xyzservices>=([0-9.]+)"', text)
    assert pins and all(tuple(map(int, p.split("."))) >= (2024, 4) for p in pins)
    build = (ROOT / "scripts" / "build_plugin.py").read_text(encoding="utf-8")
    assert "xyzservices>=2023" not in build
    xyz = pytest.importorskip("xyzservices").providers
    assert xyz.GeoportailFrance.plan.url.startswith("https://data.geopf.fr/")


# -- the GDAL-free write path -----------------------------------------------------------------------
_NO_GIS = """
import sys
for name in ("shapely", "geopandas", "pyogrio", "pandas", "pyproj", "fiona"):
    sys.modules[name] = None  # as in the QGIS people have: no shapely, pandas, pyogrio
import json, pathlib
from cq_geo.data import imports as st
from cq_geo.data.gpkg_store import Store
from cq_geo.errors import DataError
args = json.loads(sys.argv[1])
recs = {k: [(p, bytes.fromhex(w)) for p, w in v] for k, v in args["records"].items()}
s = Store(args["store"])
out = {}
out["communes"] = st.import_records(s, "communes", recs["communes"], source_name="communes.gpkg").to_dict()
out["qpv"] = st.import_records(s, "qpv", recs["qpv"], source_name="qpv.gpkg", origin="download",
                               url=args["official_url"]).to_dict()
out["poche"] = st.import_records(s, "local", recs["poche"], tier="poche", source_name="poches.gpkg").to_dict()
try:
    st.import_records(s, "qpv", recs["shifted"], source_name="decale.gpkg")
except DataError as exc:
    out["shifted"] = str(exc)
out["modules"] = sorted(m for m in ("shapely", "pandas", "pyogrio", "geopandas") if sys.modules.get(m) is not None)
print(json.dumps(out))
"""


def test_import_records_without_shapely_pandas_or_gdal(tmp_path):
    """``cq_geo.data.imports.import_records`` creates and fills a store with the standard library and numpy only (the plugin's
    path in stock QGIS); GDAL and shapely then read back exactly what was written."""
    import shapely
    import shapely.affinity

    from cq_geo.data.gpkg_store import validate_store_file
    from cq_geo.data.sources import source_url
    from cq_geo.territory import load_store_territory

    layout = syn.Layout()
    qpv = syn.qpv_records(layout)
    communes = [({"INSEE_COM": c, "NOM": c}, g) for c, g in layout.communes.items()]
    poches = syn.local_records(layout, "poche", {"POCHE-HAVELUY-CENTRE": "Centre"})
    hexed = {
        "communes": [(p, shapely.to_wkb(g).hex()) for p, g in communes],
        "qpv": [(p, shapely.to_wkb(g).hex()) for p, g in qpv],
        "poche": [(p, shapely.to_wkb(g).hex()) for p, g in poches],
        "shifted": [(p, shapely.to_wkb(shapely.affinity.translate(g, 35000)).hex()) for p, g in qpv],
    }
    path = tmp_path / "sans-sig" / "cq-geo.gpkg"
    arg = json.dumps({"records": hexed, "store": str(path), "official_url": source_url("qpv")})
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    p = subprocess.run([sys.executable, "-c", _NO_GIS, arg], capture_output=True, text=True, env=env, cwd=tmp_path,
                       timeout=300)
    assert p.returncode == 0, p.stderr
    out = json.loads(p.stdout)
    assert out["modules"] == []
    assert out["communes"]["feature_count"] == 47 and out["communes"]["status"] == "provisional"
    assert out["qpv"]["feature_count"] == 13 and out["qpv"]["status"] == "official"  # downloaded from the source URL
    assert any("shapely absent" in n for n in out["qpv"]["notes"])
    assert out["poche"]["feature_count"] == 1
    assert "13 périmètres QPV ne touchent pas les communes qu'ils listent" in out["shifted"]

    validate_store_file(path)
    import pyogrio

    for layer, n in (("communes", 47), ("qpv", 13), ("poche", 1)):
        gdf = pyogrio.read_dataframe(path, layer=layer)  # GDAL reads the sqlite-written GeoPackage
        assert len(gdf) == n and gdf.crs.to_epsg() == 2154
    got = {r["code_qp"]: r["geometry"] for r in syn_rows(path, "qpv")}
    drawn = {p["code_qp"]: g for p, g in qpv if p["code_qp"] in got}
    assert len(drawn) == 13
    for code, g in drawn.items():
        assert shapely.equals_exact(shapely.normalize(got[code]), shapely.normalize(shapely.MultiPolygon(
            list(getattr(g, "geoms", [g])))), 1e-9)
    t = load_store_territory(path)
    lon, lat = lonlat_of(drawn["QN05950M"])
    assert t.lookup(lon=lon, lat=lat).to_dict()["primary"] == {"tier": "qpv", "code": "QN05950M"}


def syn_rows(path, layer):
    from cq_geo.data.gpkg_store import Store

    return Store(path).rows(layer)
