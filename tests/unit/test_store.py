"""The GeoPackage store: creation from the baseline, real round trips, atomic changes, rollback."""

from __future__ import annotations

import sqlite3

import pytest

from cq_geo.errors import DataError

from .store_fixtures import *  # noqa: F401,F403
from .store_fixtures import sha

pytest.importorskip("geopandas")


def test_new_store_is_seeded_from_the_baseline(store):
    import pyogrio

    from cq_geo.geo.layers import load_baseline_communes

    geoms, info = load_baseline_communes()
    layers = dict(pyogrio.list_layers(store.path))
    assert {"communes", "qpv", "poche", "qva", "history"} <= set(layers)
    assert "cq_layers" in layers  # attributes table, listed by GDAL (and QGIS)
    for name in ("communes", "qpv", "poche", "qva", "history"):
        assert pyogrio.read_info(store.path, layer=name)["crs"] == "EPSG:2154"
    meta = store.metadata()
    assert meta["communes"]["status"] == "simplified"
    assert meta["communes"]["sha256"] == info.sha256
    assert meta["communes"]["feature_count"] == 47
    assert {meta[t]["status"] for t in ("qpv", "poche", "qva")} == {"missing"}
    # round trip: geometries read back equal the baseline (Lambert-93), through GDAL and through sqlite3
    gdf = pyogrio.read_dataframe(store.path, layer="communes")
    assert len(gdf) == 47
    for insee, geom in zip(gdf["insee"], gdf.geometry):
        assert geom.equals_exact(geoms[insee] if geoms[insee].geom_type == "MultiPolygon"
                                 else __import__("shapely").MultiPolygon([geoms[insee]]), 1e-6)
    rows = {r["insee"]: r["geometry"] for r in store.rows("communes")}
    assert rows["59172"].equals(geoms["59172"])
    assert len(store.history()) == 47 and {h["action"] for h in store.history()} == {"seed"}


def test_open_store_creates_at_the_user_location(tmp_path, monkeypatch):
    from cq_geo.data.store import open_store
    from cq_geo.paths import default_store_path

    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "home"))
    assert not default_store_path().exists()
    with pytest.raises(DataError, match="introuvable"):
        open_store(create=False)
    s = open_store()
    assert s.path == default_store_path() and s.path.is_file()
    # and load_territory now uses it
    from cq_geo.territory import load_territory

    t = load_territory()
    assert t.layers["qpv"].status == "missing" and t.layers["communes"].feature_count == 47


def test_store_territory_matches_the_baseline_answers(store, baseline_territory):
    from cq_geo.territory import load_store_territory

    t = load_store_territory(store.path)
    a = t.lookup(lon=3.3957, lat=50.3290).to_dict()
    b = baseline_territory.lookup(lon=3.3957, lat=50.3290).to_dict()
    assert a["commune"] == b["commune"] and a["primary"] == b["primary"]
    assert [z["status"] for z in a["zones"]] == [z["status"] for z in b["zones"]]


def test_failed_change_leaves_the_store_unchanged(store):
    before = sha(store.path)
    with pytest.raises(RuntimeError):
        with store.change("échec") as work:
            work.set_metadata("qpv", status="official", source="essai")
            raise RuntimeError("boom")
    assert sha(store.path) == before
    assert not store.previous_path.exists()
    assert not [p for p in store.path.parent.iterdir() if ".tmp" in p.name]


def test_invalid_result_is_refused_by_validation(store):
    before = sha(store.path)
    with pytest.raises(DataError, match="compte 0 entités, ses métadonnées 5"):
        with store.change("incohérent") as work:
            work.set_metadata("qpv", feature_count=5)
    assert sha(store.path) == before


def test_change_keeps_previous_state_and_rollback_swaps(store):
    original = sha(store.path)
    with pytest.raises(DataError, match="aucun état précédent"):
        store.rollback()
    with store.change("note") as work:
        work.set_metadata("qpv", note="changé")
    changed = sha(store.path)
    assert changed != original and sha(store.previous_path) == original
    store.rollback()
    assert sha(store.path) == original and store.metadata()["qpv"]["note"] == ""
    store.rollback()  # a second rollback undoes the first
    assert sha(store.path) == changed


def test_write_table_helper_for_other_modules(store):
    import pandas as pd

    df = pd.DataFrame({"cle": ["a", "b", "c"], "x": [1.5, 2.5, None], "n": [1, 2, 3],
                       "s": pd.array(["u", pd.NA, "w"], dtype="string")})
    assert store.write_table("ban_index_test", df, description="essai", indexes=["cle", ("n", "x")]) == 3
    with store.connect() as con:
        rows = con.execute("SELECT cle, x, n, s FROM ban_index_test ORDER BY fid").fetchall()
        kind = con.execute("SELECT data_type FROM gpkg_contents WHERE table_name = 'ban_index_test'").fetchone()
        plan = " ".join(str(r) for r in con.execute("EXPLAIN QUERY PLAN SELECT * FROM ban_index_test WHERE cle = 'b'"))
    assert rows == [("a", 1.5, 1, "u"), ("b", 2.5, 2, None), ("c", None, 3, "w")]
    assert kind == ("attributes",) and "idx_ban_index_test_0" in plan
    back = store.read_table("ban_index_test")
    assert list(back.columns) == ["cle", "x", "n", "s"] and back["cle"].tolist() == ["a", "b", "c"]
    assert store.write_table("petite", {"a": [1, 2]}) == 2
    with pytest.raises(DataError, match="réservé"):
        store.write_table("communes", df)
    # the read-only connection cannot write
    with store.connect() as con, pytest.raises(sqlite3.OperationalError):
        con.execute("DELETE FROM ban_index_test")
    store.rollback()  # undoes « petite »
    store.rollback()  # swaps back
    store.rollback()
    with store.connect() as con:
        assert "petite" not in {r[0] for r in con.execute("SELECT name FROM sqlite_master")}


def test_validate_store_file_rejects_a_foreign_geopackage(tmp_path):
    import geopandas as gpd
    import shapely

    from cq_geo.data.gpkg_store import validate_store_file
    from cq_geo.territory import load_store_territory

    p = tmp_path / "autre.gpkg"
    gpd.GeoDataFrame({"a": [1]}, geometry=[shapely.box(0, 0, 1, 1)], crs=2154).to_file(p, layer="x")
    with pytest.raises(DataError, match="cq_layers absente"):
        validate_store_file(p)
    with pytest.raises(DataError, match="cq_layers absente"):
        load_store_territory(p)
    q = tmp_path / "pas_sqlite.gpkg"
    q.write_bytes(b"ceci n'est pas un GeoPackage" * 10)
    with pytest.raises(DataError, match="illisible"):
        validate_store_file(q)


def test_cli_lookup_reads_the_store(store, capsys):
    import json

    from cq_geo.cli.main import main

    with store.change("qva marqué") as work:
        work.set_metadata("communes", vintage="millésime d'essai")
    assert main(["lookup", "--lon", "3.3957", "--lat", "50.3290", "--json", "--store", str(store.path)]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["layers"]["communes"]["vintage"] == "millésime d'essai"
    assert main(["lookup", "--lon", "3.3957", "--lat", "50.3290", "--store", str(store.path.with_name("absent.gpkg"))]) == 2
    assert "introuvable" in capsys.readouterr().err


def test_status_without_store_describes_the_baseline(tmp_path, capsys):
    import json

    from cq_geo.cli.main import main

    target = tmp_path / "absent.gpkg"
    assert main(["data", "status", "--json", "--store", str(target)]) == 0
    st = json.loads(capsys.readouterr().out)
    assert st["exists"] is False and st["create_with"] == f"cq-geo data update --store {target}"
    lay = {e["layer"]: e for e in st["layers"]}
    assert lay["communes"]["status"] == "simplified" and lay["communes"]["in_answers"]["feature_count"] == 47
    assert lay["qpv"]["status"] == "missing" and len(lay["qpv"]["missing"]) == 13
    assert lay["qva"]["in_answers"]["feature_count"] == 11
    assert not target.exists()  # status never creates a store
    assert main(["data", "rollback", "--store", str(target)]) == 2
    assert "introuvable" in capsys.readouterr().err


def test_change_refused_while_open_for_writing_elsewhere(store):
    """A non-empty WAL beside the store: another program is writing to it; nothing is changed."""
    import sqlite3

    con = sqlite3.connect(store.path)
    con.execute("PRAGMA journal_mode=WAL")
    con.execute("UPDATE cq_layers SET note = 'en cours' WHERE layer = 'qpv'")
    con.commit()
    try:
        with pytest.raises(DataError, match="ouvert en écriture"):
            with store.change("essai") as work:
                work.set_metadata("qpv", note="x")
    finally:
        con.close()  # checkpoint: the WAL goes away
    with store.change("essai") as work:
        work.set_metadata("qpv", note="x")
    assert store.metadata()["qpv"]["note"] == "x"
    with store.connect() as ro:
        assert ro.execute("PRAGMA journal_mode").fetchone() == ("delete",)
