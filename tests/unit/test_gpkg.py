"""cq_geo.geo.gpkg: WKB and GeoPackage blobs to numpy rings and back, against shapely and GDAL (pyogrio)."""

from __future__ import annotations

import sqlite3
import struct

import numpy as np
import pytest

from cq_geo.errors import DataError
from cq_geo.geo.gpkg import (
    Polygons,
    as_polygons,
    gpkg_blob_wkb,
    read_geojson,
    read_gpkg_blob,
    read_wkb,
    register_sql_functions,
    to_gpkg_blob,
)

shapely = pytest.importorskip("shapely")

HOLED = shapely.Polygon([(0, 0), (10, 0), (10, 10), (0, 10)], [[(2, 2), (4, 2), (4, 4), (2, 4)]])
MULTI = shapely.MultiPolygon([HOLED, shapely.box(20, 0, 25, 5)])


def _same(polys: Polygons, geom) -> bool:
    return shapely.equals_exact(shapely.from_wkb(polys.wkb), shapely.normalize(geom), 0) or shapely.equals(
        shapely.from_wkb(polys.wkb), geom)


@pytest.mark.parametrize("geom", [HOLED, MULTI], ids=["polygon", "multipolygon"])
@pytest.mark.parametrize("flavour", ["iso", "extended"])
@pytest.mark.parametrize("byte_order", [0, 1], ids=["big-endian", "little-endian"])
@pytest.mark.parametrize("dims", ["xy", "xyz", "xym", "xyzm"])
def test_wkb_flavours(geom, flavour, byte_order, dims):
    if dims == "xy":
        g = geom
    else:
        coords = shapely.get_coordinates(geom)
        extra = np.column_stack([coords[:, 0] * 0 + 7.0] * (len(dims) - 2))
        g = shapely.set_coordinates(shapely.force_3d(geom), np.column_stack((coords, extra[:, :1]))) if dims == "xyz" else None
    if dims in ("xym", "xyzm"):
        if shapely.geos_version < (3, 12, 0):
            pytest.skip("M values need GEOS 3.12")
        wkt = shapely.to_wkt(geom).replace("POLYGON (", f"POLYGON {dims[2:].upper()} (")
        coords = shapely.get_coordinates(geom)
        # add the extra ordinates to every pair in the WKT
        import re

        wkt = re.sub(r"(-?\d+(?:\.\d+)?) (-?\d+(?:\.\d+)?)", lambda m: f"{m.group(1)} {m.group(2)}" + " 7" * (len(dims) - 2), wkt)
        g = shapely.from_wkt(wkt)
    wkb = shapely.to_wkb(g, byte_order=byte_order, flavor=flavour, include_srid=flavour == "extended",
                         output_dimension=len(dims) if dims != "xym" else 3)
    if flavour == "extended":
        wkb = shapely.to_wkb(shapely.set_srid(g, 2154), byte_order=byte_order, flavor="extended", include_srid=True,
                             output_dimension=min(len(dims), 3) if dims != "xyzm" else 4)
    got = read_wkb(wkb)
    assert _same(got, geom)
    assert got.area == pytest.approx(geom.area)


def test_geopackage_blobs_written_by_gdal_and_by_us(tmp_path):
    """Blobs GDAL writes are read; blobs we write (with their envelope) are read back by GDAL."""
    pyogrio = pytest.importorskip("pyogrio")
    gpd = pytest.importorskip("geopandas")
    path = tmp_path / "zones.gpkg"
    geoms = [HOLED, MULTI, shapely.box(700_000, 6_600_000, 700_100, 6_600_050)]
    gpd.GeoDataFrame({"code": ["a", "b", "c"]}, geometry=geoms, crs=2154).to_file(path, layer="zones", engine="pyogrio")
    con = sqlite3.connect(path)
    blobs = [r[0] for r in con.execute("SELECT geom FROM zones ORDER BY fid")]
    for blob, geom in zip(blobs, geoms):
        assert _same(read_gpkg_blob(blob), geom)
        assert shapely.equals(shapely.from_wkb(gpkg_blob_wkb(blob)), geom)
    # our blobs in place of GDAL's (its R-tree triggers run on our SQL functions): GDAL reads the same geometries
    with pytest.raises(sqlite3.OperationalError, match="ST_IsEmpty"):
        con.execute("UPDATE zones SET geom = ? WHERE fid = 1", (to_gpkg_blob(as_polygons(HOLED)),))
    register_sql_functions(con)
    for fid, geom in zip(range(1, 4), geoms):
        con.execute("UPDATE zones SET geom = ? WHERE fid = ?", (to_gpkg_blob(as_polygons(geom)), fid))
    con.commit()
    con.close()
    back = pyogrio.read_dataframe(path, layer="zones")
    assert all(shapely.equals(a, b) for a, b in zip(back.geometry, geoms))
    box = pyogrio.read_dataframe(path, layer="zones", bbox=(699_000, 6_599_000, 701_000, 6_601_000))  # the R-tree
    assert list(box["code"]) == ["c"]
    assert read_gpkg_blob(to_gpkg_blob(shapely.to_wkb(MULTI))).area == pytest.approx(MULTI.area)


def test_empty_and_bad_geometries():
    assert read_gpkg_blob(None) is None
    empty = to_gpkg_blob(b"")
    assert empty[3] & 0b00010000 and read_gpkg_blob(empty) is None
    assert read_wkb(shapely.to_wkb(shapely.Polygon())).is_empty
    with pytest.raises(DataError, match=r"un polygone est attendu \(trouvé : point\)"):
        read_wkb(shapely.to_wkb(shapely.Point(1, 2)))
    with pytest.raises(DataError, match="illisible"):
        read_wkb(shapely.to_wkb(HOLED)[:30])
    with pytest.raises(DataError, match="GP"):
        read_gpkg_blob(b"XX" + bytes(20))
    with pytest.raises(DataError, match="non surfacique"):
        read_geojson({"type": "LineString", "coordinates": [[0, 0], [1, 1]]})


def test_as_polygons_takes_what_callers_hold():
    ref = as_polygons(HOLED)
    for value in (HOLED, shapely.to_wkb(HOLED), to_gpkg_blob(shapely.to_wkb(HOLED)), HOLED.__geo_interface__, ref):
        assert _same(as_polygons(value), HOLED)
    assert Polygons([[[(0, 0), (1, 0), (1, 1)]]]).polygons[0][0].tolist()[-1] == [0.0, 0.0]  # rings get closed
    big = struct.pack(">BII", 0, 3, 1) + struct.pack(">I", 4) + struct.pack(">8d", 0, 0, 1, 0, 1, 1, 0, 0)
    assert as_polygons(big).area == 0.5
