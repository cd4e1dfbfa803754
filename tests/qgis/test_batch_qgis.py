"""A batch GeoPackage opened in real QGIS (pytest-qgis): valid layer, one point per placed row."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.qgis

pytest.importorskip("pyogrio")


@pytest.mark.parametrize("crs", [2154, 4326])
def test_batch_geopackage_opens_in_qgis(qgis_app, tmp_path, crs):
    from qgis.core import QgsVectorLayer, QgsWkbTypes

    import cq_geo
    from cq_geo.bulk.run import batch_file
    from tests.unit.batch_support import commune_points

    lon, lat = commune_points(cq_geo.load_territory())["59172"]
    src = tmp_path / "sites.csv"
    src.write_text(f"nom;lon;lat\nA;{lon};{lat}\nB;;\nC;2.35;48.85\n", encoding="utf-8")
    out = tmp_path / "sites.gpkg"
    batch_file(src, out, lon_col="lon", lat_col="lat", crs=crs)
    layer = QgsVectorLayer(f"{out}|layername=cq_lot", "lot", "ogr")
    assert layer.isValid()
    assert layer.crs().authid() == f"EPSG:{crs}"
    assert layer.featureCount() == 3
    assert QgsWkbTypes.geometryType(layer.wkbType()) == QgsWkbTypes.PointGeometry
    feats = {f["nom"]: f for f in layer.getFeatures()}
    assert feats["A"]["cq_commune"] == "Denain" and not feats["A"].geometry().isEmpty()
    assert feats["B"]["cq_status"] == "invalid" and (feats["B"].geometry().isNull() or feats["B"].geometry().isEmpty())
