"""The data store opened in real QGIS (pytest-qgis): every layer valid, Lambert-93, right count.

The QPV and poche files imported here are SYNTHETIC (tests/unit/synthetic_qpv.py).
"""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.qgis

pytest.importorskip("geopandas")


@pytest.fixture
def filled_store(tmp_path):
    from cq_geo.data.imports import import_local, import_official
    from cq_geo.data.store import open_store
    from tests.unit import synthetic_qpv as syn

    store = open_store(tmp_path / "cq-geo.gpkg")
    layout = syn.Layout()
    qpv = syn.anct_zip(syn.qpv_records(layout), tmp_path / "qpv_synthetique.zip")
    import_official(store, "qpv", qpv)
    q15 = syn.write(syn.frame(syn.qpv2015_records(layout)), tmp_path / "qp2015" / "QP_SYNTH.shp", "ESRI Shapefile")
    import_official(store, "qpv2015", q15)
    poches = syn.write(syn.frame(syn.local_records(layout, "poche", {"POCHE-HAVELUY-CENTRE": "Centre",
                                                                     "POCHE-ABSCON-REPUBLIQUE": "République"})),
                       tmp_path / "poches.gpkg", "GPKG")
    import_local(store, poches, "poche")
    return store


def test_every_store_layer_opens_in_qgis(qgis_app, qgis_new_project, filled_store):
    from qgis.core import QgsProject, QgsVectorLayer, QgsWkbTypes

    path = filled_store.path
    expected = {"communes": 47, "qpv": 13, "qpv2015": 3, "poche": 2, "qva": 0}
    history = len(filled_store.history())
    for name, count in expected.items():
        layer = QgsVectorLayer(f"{path}|layername={name}", name, "ogr")
        assert layer.isValid(), name
        assert layer.crs().authid() == "EPSG:2154", name
        assert layer.featureCount() == count, name
        assert layer.geometryType() == QgsWkbTypes.PolygonGeometry, name
        QgsProject.instance().addMapLayer(layer)
    # the metadata table opens as a table; its counts agree with the layers
    meta = QgsVectorLayer(f"{path}|layername=cq_layers", "cq_layers", "ogr")
    assert meta.isValid() and not meta.isSpatial()
    rows = {f["layer"]: f for f in meta.getFeatures()}
    for name, count in expected.items():
        if name in rows:
            assert rows[name]["feature_count"] == count
    # a synthetic file imported by hand is a « fichier importé » (provisional), not official (issue 12)
    assert rows["qpv"]["status"] == "provisional" and rows["poche"]["status"] == "provisional"
    hist = QgsVectorLayer(f"{path}|layername=history", "history", "ogr")
    assert hist.isValid() and hist.featureCount() == history
    # a QPV feature read by QGIS has the attributes and a sensible area (synthetic squares of 240 m)
    qpv = QgsVectorLayer(f"{path}|layername=qpv", "qpv", "ogr")
    feats = {f["code_qp"]: f for f in qpv.getFeatures()}
    assert feats["QN05950M"]["insee_territory"] == "59172"
    assert abs(feats["QN05950M"].geometry().area() - 240 * 240) < 1
    assert feats["QN05920M"]["shared"] == 1


def test_store_written_with_sqlite_alone_works_in_qgis(qgis_app, filled_store):
    """The store is written by ``cq_geo.data.imports.import_records`` (sqlite3 + numpy, no GDAL): QGIS uses its R-tree index
    for a spatial filter, and an edit made in QGIS (GDAL's triggers) keeps the store valid for cq-geo."""
    from qgis.core import QgsFeatureRequest, QgsRectangle, QgsVectorLayer

    from cq_geo.data.gpkg_store import validate_store_file

    path = filled_store.path
    qpv = QgsVectorLayer(f"{path}|layername=qpv", "qpv", "ogr")
    denain = next(f for f in qpv.getFeatures() if f["code_qp"] == "QN05950M")
    box = denain.geometry().boundingBox()
    hits = [f["code_qp"] for f in qpv.getFeatures(QgsFeatureRequest().setFilterRect(box))]
    assert "QN05950M" in hits and len(hits) < 13
    far = QgsRectangle(100000, 6100000, 101000, 6101000)
    assert list(qpv.getFeatures(QgsFeatureRequest().setFilterRect(far))) == []
    poche = QgsVectorLayer(f"{path}|layername=poche", "poche", "ogr")
    assert poche.startEditing()
    f = next(poche.getFeatures())
    assert poche.changeAttributeValue(f.id(), poche.fields().indexOf("validated_by"), "QGIS")
    assert poche.commitChanges()
    del poche, qpv
    validate_store_file(path)
