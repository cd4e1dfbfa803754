"""The shared store edited in real QGIS through its own PostgreSQL provider (pytest-qgis).

A throw-away PostgreSQL 15 + PostGIS 3 cluster (tests/unit/pg_support.py); the poche file is
SYNTHETIC (tests/unit/synthetic_qpv.py).
"""

from __future__ import annotations

import pytest

from tests.unit import pg_support

pg_cluster = pg_support.pg_cluster  # fixtures
shared_url = pg_support.shared_url

pytestmark = pytest.mark.qgis

pytest.importorskip("geopandas")

SCHEMA = "cq_caph"


def _layer(pg_cluster, url, table, user):
    """The layer as the plugin opens it: cq_geo.data.pgstore.qgis_layer_sources (no password: libpq's own files)."""
    from qgis.core import QgsVectorLayer

    from cq_geo.data.pgstore import qgis_layer_sources

    db = url.split("/")[3].split("?")[0]
    source = dict(qgis_layer_sources(pg_cluster.url(db, user)))[table]
    layer = QgsVectorLayer(source, table, "postgres")
    assert layer.isValid(), layer.error().summary()
    return layer


def test_an_edit_in_qgis_shows_in_the_history_and_goes_back_to_provisional(qgis_app, qgis_new_project, shared_url,
                                                                            pg_cluster, tmp_path):
    from qgis.core import QgsFeatureRequest, QgsGeometry

    from cq_geo.data.imports import import_local, validate_zone
    from cq_geo.data.pgstore import PgStore
    from cq_geo.territory import load_territory
    from tests.unit import synthetic_qpv as syn

    store = PgStore(shared_url)
    poches = syn.write(syn.frame(syn.local_records(syn.Layout(), "poche", {"POCHE-HAVELUY-CENTRE": "Centre"})),
                       tmp_path / "poches.gpkg", "GPKG")
    import_local(store, poches, "poche", author="SIG")
    validate_zone(store, "POCHE-HAVELUY-CENTRE", "Service politique de la ville")
    pg_cluster.login_role("chloe_editrice", f"{SCHEMA}_editeur")

    layer = _layer(pg_cluster, shared_url, "poche", "chloe_editrice")
    assert layer.crs().authid() == "EPSG:2154" and layer.featureCount() == 1
    feat = next(layer.getFeatures(QgsFeatureRequest().setFilterExpression("code = 'POCHE-HAVELUY-CENTRE'")))
    before = feat.geometry().boundingBox()
    geom = QgsGeometry(feat.geometry())
    geom.translate(15, 0)  # the editor reshapes the perimeter in QGIS
    assert layer.startEditing()
    assert layer.changeGeometry(feat.id(), geom)
    assert layer.commitChanges(), layer.commitErrors()

    last = store.history("POCHE-HAVELUY-CENTRE")[-1]
    assert (last["action"], last["status"], last["db_user"]) == ("replace", "provisional", "chloe_editrice")
    assert last["description"] == "modification directe (QGIS ou SQL)"
    row = {r["code"]: r for r in store.polygon_rows("poche")}["POCHE-HAVELUY-CENTRE"]
    assert row["status"] == "provisional" and row["validated_by"] == ""
    # the lookup reads the committed edit (the SQL lookup index was rebuilt in the same transaction)
    t = load_territory(store=shared_url)
    assert t.layers["poche"].status == "provisional"
    x = before.xMaximum() + 10  # beyond the old edge, inside the new one
    y = (before.yMinimum() + before.yMaximum()) / 2
    assert str(t.lookup_many(x=[x], y=[y]).cq_poche_status[0]) == "inside"
    res = pg_cluster.sql(f"SELECT zone_code, status FROM {SCHEMA}.cq_lookup(ST_SetSRID(ST_MakePoint(%s, %s), 2154))",
                         db=shared_url.split("/")[3].split("?")[0], params=(x, y))
    assert res == [("POCHE-HAVELUY-CENTRE", "inside")]

    # an editor cannot validate from the attribute table: only validate-zone does
    idx = layer.fields().indexOf("status")
    assert layer.startEditing()
    layer.changeAttributeValue(feat.id(), idx, "validated")
    assert not layer.commitChanges()
    assert any("validate-zone" in e for e in layer.commitErrors())
    layer.rollBack()

    # the history opens in QGIS too, with the edit's geometry before and after
    hist = _layer(pg_cluster, shared_url, "history", "chloe_editrice")
    last_row = max(hist.getFeatures(), key=lambda f: f["fid"])
    assert last_row["action"] == "replace" and last_row["db_user"] == "chloe_editrice"
    assert abs(last_row.geometry().boundingBox().xMinimum() - before.xMinimum() - 15) < 0.01

    # a reader's layer is read only in QGIS
    pg_cluster.login_role("lea_lectrice", f"{SCHEMA}_lecteur")
    ro = _layer(pg_cluster, shared_url, "poche", "lea_lectrice")
    assert ro.featureCount() == 1
    from qgis.core import QgsVectorDataProvider

    assert not ro.dataProvider().capabilities() & QgsVectorDataProvider.ChangeGeometries
