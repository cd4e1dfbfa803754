"""The data store: one GeoPackage holding the territory's layers and what they are.

The store is an OGC GeoPackage (it opens as is in QGIS). Its layers are in
Lambert-93 (EPSG:2154):

============  =================================================================
``communes``  the member communes: ``insee``, ``name``
``qpv``       QPV 2024 perimeters touching the territory (ANCT): ``code_qp``,
              ``lib_qp``, ``insee_com`` (all communes, ``;``-separated),
              ``insee_territory``, ``shared`` (also covers communes outside the
              territory), ``repaired`` (geometry repaired on import)
``qpv2015``   QPV 2015 (previous generation, for comparisons only)
``poche``     poches de pauvreté drawn by the agglomeration; ``qva``: former
              quartiers de veille active. Columns: ``code``, ``name``, ``status``
              (``provisional`` → ``validated``), ``communes``, ``source``,
              ``sha256``, ``imported_at``, ``validated_by``, ``validated_at``,
              ``overlap_accepted``
``history``   every geometry change: ``at``, ``layer``, ``code``, ``action``,
              ``status``, ``author``, ``source``, ``sha256``, geometry
============  =================================================================

and one non-spatial table, ``cq_layers``: one row per layer with ``source``,
``publisher``, ``licence``, ``vintage``, ``sha256`` (of the source file),
``imported_at``, ``status`` (``official``, ``validated``, ``provisional``,
``simplified``, ``approximate``, ``missing``), ``feature_count``, ``edge_m``,
``near_m`` and a ``note``. :func:`load_store_territory` builds the
:class:`~cq_geo.territory.Territory` from it, so every answer says which
version of which layer it rests on.

What the store promises (see ``docs/donnees.md``):

- **one writer at a time**: every change takes the lock file
  ``.<store>.lock`` (``fcntl.flock``/``msvcrt.locking``); a second writer waits
  (saying so) up to ``CQ_GEO_LOCK_TIMEOUT`` seconds (600), then stops with a
  French message;
- **atomic changes**: a change is written and validated in a working copy;
  it is committed by writing a journal ``.<store>.journal`` (one atomic
  rename), then the renames it lists are done (``<store>`` → ``<store>.prev``,
  working copy → ``<store>``). A process killed at any point leaves either the
  old state (no journal) or a journal that the next writer or reader replays:
  the store is never missing, never half written, and the previous state is
  never overwritten by a failed or interrupted operation;
- **rollback depth one**: :meth:`Store.rollback` swaps the store and its
  previous state the same way (a second rollback undoes the first);
- **nothing written over the store**: :func:`is_store_path` tells other
  commands (``cq-geo batch -o``…) that a path is a store;
- temporary files left by an interrupted run are removed by the next writer.

Writing needs only the standard library and numpy (:func:`import_records`,
used by the QGIS plugin); reading files (``data import``) needs the ``geo``
extra (pyogrio), lookups need shapely.

Helper for other modules (e.g. the offline geocoder keeping an address index
in the same file)::

    from cq_geo.data.store import open_store
    store = open_store()                     # --store / CQ_GEO_STORE / user store, created if absent
    store.path                               # pathlib.Path of the GeoPackage
    with store.connect() as con:             # read-only sqlite3 connection
        con.execute("SELECT count(*) FROM communes").fetchone()
    store.write_table("ban_index", dataframe, indexes=["citycode"])   # replace a table, atomically
    store.read_table("ban_index")            # back as a pandas DataFrame
    with store.change("mon changement") as work:   # any other atomic change (under the writer lock)
        con = work.connect()                      # read-write connection on the working copy
        con.execute("CREATE TABLE ...")           # committed and swapped in on success

Examples
--------
>>> import tempfile, pathlib
>>> store = open_store(pathlib.Path(tempfile.mkdtemp()) / "cq-geo.gpkg")
>>> store.layer_info("communes").status, store.layer_info("qpv").status
('simplified', 'missing')
>>> t = load_store_territory(store.path)
>>> t.layers["communes"].feature_count
47
"""

from __future__ import annotations

import contextlib
import copy
import json
import os
import re
import shutil
import signal
import sqlite3
import sys
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator

from ..errors import DataError
from ..geo.layers import LayerInfo
from ..model import GEOMETRY_STATUSES, REGULATORY_TIER

__all__ = [
    "Store",
    "StoreChange",
    "ImportReport",
    "open_store",
    "load_store_territory",
    "import_records",
    "import_official",
    "import_local",
    "update_from_network",
    "validate_zone",
    "is_store_path",
    "refuse_store_output",
    "protected_paths",
    "LAYERS",
    "LOCAL_TIERS",
    "store_layers",
    "METADATA_TABLE",
    "HISTORY_LAYER",
    "worst_status",
    "now_iso",
]

#: Spatial layers a store may hold, in display order.
LAYERS = ("communes", "qpv", "qpv2015", "poche", "qva")
#: Tiers whose zones are drawn locally (imported with ``data import local``).
LOCAL_TIERS = ("poche", "qva")
METADATA_TABLE = "cq_layers"
HISTORY_LAYER = "history"
CRS = "EPSG:2154"
_SRS_ID = 2154
#: Environment variable naming a commit step at which the process kills itself (crash tests only).
CRASH_ENV = "CQ_GEO_TEST_CRASH_AT"
LOCK_TIMEOUT_ENV = "CQ_GEO_LOCK_TIMEOUT"

_METADATA_COLUMNS = (
    "layer", "source", "publisher", "licence", "vintage", "sha256", "imported_at", "status",
    "feature_count", "edge_m", "near_m", "note",
)

#: Columns of each spatial layer (geometry aside), with their pandas dtype.
LAYER_COLUMNS: dict[str, dict[str, str]] = {
    "communes": {"insee": "str", "name": "str"},
    "qpv": {"code_qp": "str", "lib_qp": "str", "insee_com": "str", "insee_territory": "str",
            "shared": "int32", "repaired": "int32"},
    "qpv2015": {"code_qp": "str", "lib_qp": "str", "insee_com": "str", "insee_territory": "str",
                "shared": "int32", "repaired": "int32"},
    "poche": {"code": "str", "name": "str", "status": "str", "communes": "str", "source": "str", "sha256": "str",
              "imported_at": "str", "validated_by": "str", "validated_at": "str", "overlap_accepted": "int32"},
    "history": {"at": "str", "layer": "str", "code": "str", "action": "str", "status": "str", "author": "str",
                "source": "str", "sha256": "str"},
}
LAYER_COLUMNS["qva"] = dict(LAYER_COLUMNS["poche"])
#: The column holding each layer's zone code.
CODE_COLUMN = {"communes": "insee", "qpv": "code_qp", "qpv2015": "code_qp", "poche": "code", "qva": "code"}


class _LocalTierDefault(dict):
    """A per-layer table whose missing key is a local tier of a territory file (same columns as ``poche``)."""

    def __init__(self, data, default):
        super().__init__(data)
        self._default = default

    def __missing__(self, layer):
        if isinstance(layer, str) and re.match(r"^[a-z][a-z0-9_]{0,19}$", layer) and layer != HISTORY_LAYER:
            return copy.deepcopy(self._default)
        raise KeyError(layer)


# a tier added in the territory file has the columns of the locally drawn tiers
LAYER_COLUMNS = _LocalTierDefault(LAYER_COLUMNS, LAYER_COLUMNS["poche"])
CODE_COLUMN = _LocalTierDefault(CODE_COLUMN, "code")


def store_layers(definition) -> tuple[str, ...]:
    """:data:`LAYERS` and the locally drawn tiers the territory file adds (in priority order)."""
    return LAYERS + tuple(t for t in definition.local_tier_ids if t not in LAYERS)


def now_iso() -> str:
    """Current UTC time, ISO 8601 to the second (``2024-04-10T09:00:00Z``)."""
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def worst_status(statuses) -> str:
    """The least reliable of geometry *statuses* (``missing`` when empty).

    >>> worst_status(["official", "provisional", "validated"])
    'provisional'
    >>> worst_status([])
    'missing'
    """
    statuses = list(statuses)
    if not statuses:
        return "missing"
    return max(statuses, key=lambda s: GEOMETRY_STATUSES.index(s) if s in GEOMETRY_STATUSES else len(GEOMETRY_STATUSES))


def _crash_point(step: str) -> None:
    """Crash tests: the process kills itself (SIGKILL) at *step* when ``CQ_GEO_TEST_CRASH_AT`` names it."""
    if os.environ.get(CRASH_ENV) == step:
        sys.stdout.flush()
        sys.stderr.flush()
        os.kill(os.getpid(), getattr(signal, "SIGKILL", signal.SIGTERM))
        time.sleep(10)


# -- WKB and GeoPackage geometry blobs (numpy + standard library) ------------------------------
# The format is read and written by cq_geo.geo.gpkg (one implementation, shared with the lookups);
# these names stay for the store's callers.


def gpkg_blob_to_wkb(blob: bytes) -> bytes | None:
    """The WKB inside a GeoPackage geometry blob (``None`` for an empty geometry).

    >>> blob = gpkg_blob([[[(0, 0), (1, 0), (1, 1), (0, 0)]]])
    >>> len(wkb_polygons(gpkg_blob_to_wkb(blob)))
    1
    """
    from ..geo.gpkg import gpkg_blob_wkb

    return gpkg_blob_wkb(blob)


def wkb_polygons(wkb: bytes | None) -> list[list]:
    """The polygons of a WKB (Multi)Polygon — or a collection of them — as lists of rings (n × 2 numpy arrays).

    ISO and EWKB flavours, either byte order; Z and M are dropped; rings are closed.
    Other geometry types raise :class:`~cq_geo.errors.DataError`.

    >>> import struct
    >>> wkb = struct.pack("<BII", 1, 3, 1) + struct.pack("<I", 4) + struct.pack("<8d", 0, 0, 2, 0, 2, 2, 0, 0)
    >>> [r.tolist() for r in wkb_polygons(wkb)[0]]
    [[[0.0, 0.0], [2.0, 0.0], [2.0, 2.0], [0.0, 0.0]]]
    """
    from ..geo.gpkg import read_wkb

    return [] if wkb is None else read_wkb(wkb).polygons


def polygons_wkb(polys) -> bytes:
    """Little-endian 2D WKB MultiPolygon of *polys* (list of polygons, each a list of rings)."""
    from ..geo.gpkg import Polygons

    return Polygons(polys).multi_wkb


def _bounds(polys):
    import numpy as np

    if not polys:
        return None
    allc = np.concatenate([r for rings in polys for r in rings])
    return float(allc[:, 0].min()), float(allc[:, 1].min()), float(allc[:, 0].max()), float(allc[:, 1].max())


def gpkg_blob(polys, srs_id: int = _SRS_ID) -> bytes:
    """A GeoPackage geometry blob (header with the xy envelope + WKB MultiPolygon) for *polys*."""
    from ..geo.gpkg import Polygons, to_gpkg_blob

    return to_gpkg_blob(Polygons(polys), srs_id=srs_id)


def _register_sql_functions(con: sqlite3.Connection) -> None:
    """The functions GDAL's R-tree triggers call (``ST_IsEmpty``, ``ST_MinX``…), so sqlite3 alone can write."""
    from ..geo.gpkg import register_sql_functions

    register_sql_functions(con)


def points_in_polygons(x, y, polys):
    """Boolean array: which points (*x*, *y* arrays) lie in *polys* (even-odd rule per polygon; numpy only).

    >>> import numpy as np
    >>> sq = [[np.array([(0, 0), (2, 0), (2, 2), (0, 2), (0, 0)], float)]]
    >>> points_in_polygons(np.array([1.0, 3.0]), np.array([1.0, 1.0]), sq).tolist()
    [True, False]
    """
    import numpy as np

    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    out = np.zeros(len(x), dtype=bool)
    for rings in polys:
        inside = np.zeros(len(x), dtype=bool)
        for r in rings:
            x0, y0, x1, y1 = r[:-1, 0], r[:-1, 1], r[1:, 0], r[1:, 1]
            for s in range(0, len(x), 512):
                px, py = x[s:s + 512, None], y[s:s + 512, None]
                cond = (y0 > py) != (y1 > py)
                with np.errstate(divide="ignore", invalid="ignore"):
                    xint = x0 + (py - y0) * (x1 - x0) / (y1 - y0)
                cross = cond & (px < xint)
                inside[s:s + 512] ^= (np.count_nonzero(cross, axis=1) % 2).astype(bool)
        out |= inside
    return out


def polygons_area(polys) -> float:
    """Area of *polys* (exterior rings minus holes, shoelace formula)."""
    total = 0.0
    for rings in polys:
        for i, r in enumerate(rings):
            a = 0.5 * abs(float((r[:-1, 0] * r[1:, 1] - r[1:, 0] * r[:-1, 1]).sum()))
            total += a if i == 0 else -a
    return total


def _shapely():
    """shapely if importable (repairs, unions, overlaps), else None (numpy checks only)."""
    try:
        import shapely
    except ImportError:
        return None
    return shapely


def _connect_ro(path: Path) -> sqlite3.Connection:
    return sqlite3.connect(f"{Path(path).resolve().as_uri()}?mode=ro", uri=True)


def _tables(con: sqlite3.Connection) -> set[str]:
    return {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type IN ('table', 'view')")}


def _geometry_column(con: sqlite3.Connection, table: str) -> str:
    row = con.execute("SELECT column_name FROM gpkg_geometry_columns WHERE table_name = ?", (table,)).fetchone()
    if row is None:
        raise DataError(f"magasin de données : la couche « {table} » n'a pas de colonne géométrique")
    return row[0]


def read_layer_rows(con: sqlite3.Connection, layer: str, *, polygons: bool = False) -> list[dict[str, Any]]:
    """Rows of a spatial layer as dicts, with its shapely geometry under ``"geometry"``.

    With *polygons*, the geometry is a :class:`cq_geo.geo.gpkg.Polygons` read with
    sqlite3 + numpy only (what lookups use: no shapely, no GDAL).
    """
    if polygons:
        from ..geo.gpkg import read_gpkg_blob

        geom_col = _geometry_column(con, layer)
        cur = con.execute(f'SELECT * FROM "{layer}"')
        names = [d[0] for d in cur.description]
        rows = []
        for values in cur:
            row = dict(zip(names, values))
            row["geometry"] = read_gpkg_blob(row.pop(geom_col))
            rows.append(row)
        return rows
    import shapely

    geom_col = _geometry_column(con, layer)
    cur = con.execute(f'SELECT * FROM "{layer}"')
    names = [d[0] for d in cur.description]
    rows = []
    for values in cur:
        row = dict(zip(names, values))
        wkb = gpkg_blob_to_wkb(row.pop(geom_col))
        row["geometry"] = shapely.from_wkb(wkb) if wkb else None
        rows.append(row)
    return rows


def read_layer_polygons(con: sqlite3.Connection, layer: str) -> list[dict[str, Any]]:
    """Rows of a spatial layer as dicts with their polygons (numpy rings) under ``"polys"`` — no shapely."""
    geom_col = _geometry_column(con, layer)
    cur = con.execute(f'SELECT * FROM "{layer}"')
    names = [d[0] for d in cur.description]
    rows = []
    for values in cur:
        row = dict(zip(names, values))
        row["polys"] = wkb_polygons(gpkg_blob_to_wkb(row.pop(geom_col)))
        rows.append(row)
    return rows


def empty_frame(layer: str):
    """An empty GeoDataFrame with the columns of *layer* (EPSG:2154)."""
    import geopandas as gpd
    import pandas as pd

    cols = {name: pd.Series([], dtype="object" if dtype == "str" else dtype) for name, dtype in LAYER_COLUMNS[layer].items()}
    return gpd.GeoDataFrame(cols, geometry=gpd.GeoSeries([], crs=CRS))


def _polys_of(geom) -> list:
    """Polygons (numpy rings) of a shapely geometry, WKB bytes, or polys already."""
    if geom is None:
        return []
    if isinstance(geom, (bytes, bytearray, memoryview)):
        return wkb_polygons(bytes(geom))
    if isinstance(geom, list):
        return geom
    import shapely

    return wkb_polygons(shapely.to_wkb(geom, output_dimension=2))


# -- writing the GeoPackage with sqlite3 -----------------------------------------------------------
_WKT_2154 = (
    'PROJCS["RGF93 v1 / Lambert-93",GEOGCS["RGF93 v1",DATUM["Reseau_Geodesique_Francais_1993_v1",SPHEROID["GRS 1980",'
    '6378137,298.257222101,AUTHORITY["EPSG","7019"]],AUTHORITY["EPSG","6171"]],PRIMEM["Greenwich",0,AUTHORITY["EPSG",'
    '"8901"]],UNIT["degree",0.0174532925199433,AUTHORITY["EPSG","9122"]],AUTHORITY["EPSG","4171"]],PROJECTION['
    '"Lambert_Conformal_Conic_2SP"],PARAMETER["latitude_of_origin",46.5],PARAMETER["central_meridian",3],PARAMETER['
    '"standard_parallel_1",49],PARAMETER["standard_parallel_2",44],PARAMETER["false_easting",700000],PARAMETER['
    '"false_northing",6600000],UNIT["metre",1,AUTHORITY["EPSG","9001"]],AXIS["Easting",EAST],AXIS["Northing",NORTH],'
    'AUTHORITY["EPSG","2154"]]'
)
_WKT_4326 = (
    'GEOGCS["WGS 84",DATUM["WGS_1984",SPHEROID["WGS 84",6378137,298.257223563,AUTHORITY["EPSG","7030"]],AUTHORITY['
    '"EPSG","6326"]],PRIMEM["Greenwich",0,AUTHORITY["EPSG","8901"]],UNIT["degree",0.0174532925199433,AUTHORITY["EPSG",'
    '"9122"]],AXIS["Latitude",NORTH],AXIS["Longitude",EAST],AUTHORITY["EPSG","4326"]]'
)


def _init_geopackage(con: sqlite3.Connection) -> None:
    """The GeoPackage 1.3 core tables of an empty file."""
    con.execute("PRAGMA application_id = 1196444487")  # 'GPKG'
    con.execute("PRAGMA user_version = 10300")
    con.executescript("""
        CREATE TABLE gpkg_spatial_ref_sys (srs_name TEXT NOT NULL, srs_id INTEGER NOT NULL PRIMARY KEY,
            organization TEXT NOT NULL, organization_coordsys_id INTEGER NOT NULL, definition TEXT NOT NULL,
            description TEXT);
        CREATE TABLE gpkg_contents (table_name TEXT NOT NULL PRIMARY KEY, data_type TEXT NOT NULL,
            identifier TEXT UNIQUE, description TEXT DEFAULT '',
            last_change DATETIME NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
            min_x DOUBLE, min_y DOUBLE, max_x DOUBLE, max_y DOUBLE, srs_id INTEGER,
            CONSTRAINT fk_gc_r_srs_id FOREIGN KEY (srs_id) REFERENCES gpkg_spatial_ref_sys(srs_id));
        CREATE TABLE gpkg_geometry_columns (table_name TEXT NOT NULL, column_name TEXT NOT NULL,
            geometry_type_name TEXT NOT NULL, srs_id INTEGER NOT NULL, z TINYINT NOT NULL, m TINYINT NOT NULL,
            CONSTRAINT pk_geom_cols PRIMARY KEY (table_name, column_name),
            CONSTRAINT uk_gc_table_name UNIQUE (table_name),
            CONSTRAINT fk_gc_tn FOREIGN KEY (table_name) REFERENCES gpkg_contents(table_name),
            CONSTRAINT fk_gc_srs FOREIGN KEY (srs_id) REFERENCES gpkg_spatial_ref_sys (srs_id));
        CREATE TABLE gpkg_tile_matrix_set (table_name TEXT NOT NULL PRIMARY KEY, srs_id INTEGER NOT NULL,
            min_x DOUBLE NOT NULL, min_y DOUBLE NOT NULL, max_x DOUBLE NOT NULL, max_y DOUBLE NOT NULL);
        CREATE TABLE gpkg_tile_matrix (table_name TEXT NOT NULL, zoom_level INTEGER NOT NULL,
            matrix_width INTEGER NOT NULL, matrix_height INTEGER NOT NULL, tile_width INTEGER NOT NULL,
            tile_height INTEGER NOT NULL, pixel_x_size DOUBLE NOT NULL, pixel_y_size DOUBLE NOT NULL,
            CONSTRAINT pk_ttm PRIMARY KEY (table_name, zoom_level));
        CREATE TABLE gpkg_extensions (table_name TEXT, column_name TEXT, extension_name TEXT NOT NULL,
            definition TEXT NOT NULL, scope TEXT NOT NULL,
            CONSTRAINT ge_tce UNIQUE (table_name, column_name, extension_name));
        CREATE TABLE gpkg_ogr_contents (table_name TEXT NOT NULL PRIMARY KEY, feature_count INTEGER DEFAULT NULL);
    """)
    con.executemany("INSERT INTO gpkg_spatial_ref_sys VALUES (?, ?, ?, ?, ?, ?)", [
        ("Undefined cartesian SRS", -1, "NONE", -1, "undefined", "undefined cartesian coordinate reference system"),
        ("Undefined geographic SRS", 0, "NONE", 0, "undefined", "undefined geographic coordinate reference system"),
        ("WGS 84 geodetic", 4326, "EPSG", 4326, _WKT_4326,
         "longitude/latitude coordinates in decimal degrees on the WGS 84 spheroid"),
        ("RGF93 v1 / Lambert-93", 2154, "EPSG", 2154, _WKT_2154, None),
    ])


def _has_rtree(con: sqlite3.Connection) -> bool:
    try:
        con.execute("CREATE VIRTUAL TABLE temp.cq_rtree_probe USING rtree(id, a, b, c, d)")
        con.execute("DROP TABLE temp.cq_rtree_probe")
        return True
    except sqlite3.OperationalError:
        return False


def _create_feature_table(con: sqlite3.Connection, layer: str, description: str = "") -> None:
    """A MultiPolygon feature table in EPSG:2154 with the columns of *layer*, its R-tree and triggers."""
    cols = ", ".join(f'"{c}" {"TEXT" if t == "str" else "MEDIUMINT"}' for c, t in LAYER_COLUMNS[layer].items())
    con.execute(f'CREATE TABLE "{layer}" ("fid" INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL, "geom" MULTIPOLYGON, {cols})')
    con.execute("INSERT INTO gpkg_contents (table_name, data_type, identifier, description, srs_id) "
                "VALUES (?, 'features', ?, ?, ?)", (layer, layer, description, _SRS_ID))
    con.execute("INSERT INTO gpkg_geometry_columns VALUES (?, 'geom', 'MULTIPOLYGON', ?, 0, 0)", (layer, _SRS_ID))
    con.execute("INSERT OR REPLACE INTO gpkg_ogr_contents VALUES (?, 0)", (layer,))
    if not _has_rtree(con):
        return
    t, r = layer, f"rtree_{layer}_geom"
    con.execute(f'CREATE VIRTUAL TABLE "{r}" USING rtree(id, minx, maxx, miny, maxy)')
    con.execute("INSERT INTO gpkg_extensions VALUES (?, 'geom', 'gpkg_rtree_index', "
                "'http://www.geopackage.org/spec120/#extension_rtree', 'write-only')", (t,))
    bbox = 'ST_MinX(NEW."geom"), ST_MaxX(NEW."geom"), ST_MinY(NEW."geom"), ST_MaxY(NEW."geom")'
    con.executescript(f"""
        CREATE TRIGGER "{r}_insert" AFTER INSERT ON "{t}" WHEN (new."geom" NOT NULL AND NOT ST_IsEmpty(NEW."geom"))
        BEGIN INSERT OR REPLACE INTO "{r}" VALUES (NEW."fid", {bbox}); END;
        CREATE TRIGGER "{r}_update6" AFTER UPDATE OF "geom" ON "{t}" WHEN OLD."fid" = NEW."fid" AND
          (NEW."geom" NOTNULL AND NOT ST_IsEmpty(NEW."geom")) AND (OLD."geom" NOTNULL AND NOT ST_IsEmpty(OLD."geom"))
        BEGIN UPDATE "{r}" SET minx = ST_MinX(NEW."geom"), maxx = ST_MaxX(NEW."geom"), miny = ST_MinY(NEW."geom"),
          maxy = ST_MaxY(NEW."geom") WHERE id = NEW."fid"; END;
        CREATE TRIGGER "{r}_update7" AFTER UPDATE OF "geom" ON "{t}" WHEN OLD."fid" = NEW."fid" AND
          (NEW."geom" NOTNULL AND NOT ST_IsEmpty(NEW."geom")) AND (OLD."geom" ISNULL OR ST_IsEmpty(OLD."geom"))
        BEGIN INSERT INTO "{r}" VALUES (NEW."fid", {bbox}); END;
        CREATE TRIGGER "{r}_update2" AFTER UPDATE OF "geom" ON "{t}" WHEN OLD."fid" = NEW."fid" AND
          (NEW."geom" ISNULL OR ST_IsEmpty(NEW."geom"))
        BEGIN DELETE FROM "{r}" WHERE id = OLD."fid"; END;
        CREATE TRIGGER "{r}_update5" AFTER UPDATE ON "{t}" WHEN OLD."fid" != NEW."fid" AND
          (NEW."geom" NOTNULL AND NOT ST_IsEmpty(NEW."geom"))
        BEGIN DELETE FROM "{r}" WHERE id = OLD."fid"; INSERT OR REPLACE INTO "{r}" VALUES (NEW."fid", {bbox}); END;
        CREATE TRIGGER "{r}_update4" AFTER UPDATE ON "{t}" WHEN OLD."fid" != NEW."fid" AND
          (NEW."geom" ISNULL OR ST_IsEmpty(NEW."geom"))
        BEGIN DELETE FROM "{r}" WHERE id IN (OLD."fid", NEW."fid"); END;
        CREATE TRIGGER "{r}_delete" AFTER DELETE ON "{t}" WHEN old."geom" NOT NULL
        BEGIN DELETE FROM "{r}" WHERE id = OLD."fid"; END;
    """)


def _write_features(con: sqlite3.Connection, layer: str, rows: list[dict[str, Any]], *, append: bool = False) -> None:
    """Replace (or extend) the features of *layer*: dicts of its columns plus ``"polys"`` (numpy rings).

    *con* must have the R-tree functions registered (:func:`_register_sql_functions`).
    """
    if layer not in _tables(con):
        _create_feature_table(con, layer)
    geom_col = _geometry_column(con, layer)
    present = {r[1] for r in con.execute(f'PRAGMA table_info("{layer}")')}
    cols = [c for c in LAYER_COLUMNS[layer] if c in present]
    if not append:
        con.execute(f'DELETE FROM "{layer}"')
    col_sql = ", ".join(f'"{c}"' for c in [geom_col] + cols)
    values = []
    for r in rows:
        blob = gpkg_blob(r.get("polys") or [])
        values.append((blob, *(_column_value(layer, c, r.get(c)) for c in cols)))
    con.executemany(f'INSERT INTO "{layer}" ({col_sql}) VALUES ({", ".join("?" * (len(cols) + 1))})', values)
    # extent and count, as GDAL keeps them
    ext = con.execute(f'SELECT min(minx), min(miny), max(maxx), max(maxy) FROM "rtree_{layer}_{geom_col}"').fetchone() \
        if f"rtree_{layer}_{geom_col}" in _tables(con) else (None, None, None, None)
    con.execute("UPDATE gpkg_contents SET min_x = ?, min_y = ?, max_x = ?, max_y = ?, "
                "last_change = strftime('%Y-%m-%dT%H:%M:%fZ','now') WHERE table_name = ?", (*ext, layer))
    if "gpkg_ogr_contents" in _tables(con):
        count = con.execute(f'SELECT count(*) FROM "{layer}"').fetchone()[0]
        con.execute("UPDATE gpkg_ogr_contents SET feature_count = ? WHERE table_name = ?", (count, layer))


def _column_value(layer: str, column: str, value):
    if LAYER_COLUMNS[layer][column] == "str":
        return "" if value is None else str(value)
    return int(value or 0)


# -- the store --------------------------------------------------------------------------------
@dataclass
class StoreChange:
    """The working copy of a store during :meth:`Store.change` (``path``, ``connect()``)."""

    path: Path
    description: str
    _con: sqlite3.Connection | None = None

    def connect(self) -> sqlite3.Connection:
        """A read-write sqlite3 connection on the working copy (committed when the change ends)."""
        if self._con is None:
            self._con = sqlite3.connect(self.path)
            _register_sql_functions(self._con)
        return self._con

    def close(self) -> None:
        if self._con is not None:
            self._con.commit()
            self._con.close()
            self._con = None

    def write_features(self, layer: str, rows: list[dict[str, Any]]) -> None:
        """Replace the features of spatial *layer*: dicts of its columns plus ``"polys"`` (numpy rings) — no GDAL."""
        _write_features(self.connect(), layer, rows)

    def write_layer(self, layer: str, frame) -> None:
        """Replace spatial *layer* of the working copy with GeoDataFrame *frame* (reprojected to EPSG:2154)."""
        if frame.crs is not None and frame.crs.to_epsg() != _SRS_ID:
            frame = frame.to_crs(CRS)
        cols = [c for c in LAYER_COLUMNS[layer] if c in frame.columns]
        rows = [{**{c: v for c, v in zip(cols, values)}, "polys": _polys_of(g)}
                for values, g in zip(frame[cols].itertuples(index=False, name=None), frame.geometry.values)]
        self.write_features(layer, rows)

    def append_history(self, rows: list[dict[str, Any]]) -> None:
        """Add rows (``layer``, ``code``, ``action``, ``status``, ``author``, ``source``, ``sha256``, and
        ``polys`` or ``geometry``)."""
        if not rows:
            return
        at = now_iso()
        out = []
        for r in rows:
            h = {name: str(r.get(name) or "") for name in LAYER_COLUMNS["history"]}
            h["at"] = r.get("at") or at
            h["polys"] = r["polys"] if "polys" in r else _polys_of(r.get("geometry"))
            out.append(h)
        _write_features(self.connect(), HISTORY_LAYER, out, append=True)

    def set_metadata(self, layer: str, **values: Any) -> None:
        """Insert or update the metadata row of *layer* (``status``, ``source``, ``sha256``…)."""
        con = self.connect()
        unknown = set(values) - set(_METADATA_COLUMNS)
        if unknown:
            raise ValueError(f"unknown metadata columns: {sorted(unknown)}")
        row = con.execute(f"SELECT fid FROM {METADATA_TABLE} WHERE layer = ?", (layer,)).fetchone()
        if row is None:
            con.execute(f"INSERT INTO {METADATA_TABLE} (layer) VALUES (?)", (layer,))
        if values:
            sets = ", ".join(f'"{k}" = ?' for k in values)
            con.execute(f"UPDATE {METADATA_TABLE} SET {sets} WHERE layer = ?", (*values.values(), layer))

    def write_table(self, name: str, data, *, description: str = "", indexes=()) -> int:
        """Replace non-spatial table *name* with *data* (a pandas DataFrame, or a dict of equal-length columns).

        An integer primary key ``fid`` is added; the table is registered in
        ``gpkg_contents`` as attributes, so QGIS lists it. *indexes*: columns
        (or tuples of columns) to index. Returns the row count.
        """
        if not name.isidentifier() or name.lower().startswith(("gpkg_", "rtree_", "sqlite_")) or name in LAYERS + (
                HISTORY_LAYER, METADATA_TABLE):
            raise DataError(f"nom de table réservé ou invalide : {name!r}")
        if hasattr(data, "itertuples") and hasattr(data, "columns"):
            columns = [str(c) for c in data.columns]
            count = len(data)
            rows = data.itertuples(index=False, name=None)
        else:
            columns = [str(c) for c in data]
            values = [list(v) for v in data.values()]
            count = len(values[0]) if values else 0
            rows = zip(*values)
        con = self.connect()
        con.execute(f'DROP TABLE IF EXISTS "{name}"')
        col_sql = ", ".join(f'"{c}"' for c in columns)
        con.execute(f'CREATE TABLE "{name}" (fid INTEGER PRIMARY KEY AUTOINCREMENT, {col_sql})')
        con.executemany(f'INSERT INTO "{name}" ({col_sql}) VALUES ({", ".join("?" * len(columns))})',
                        (tuple(_sql_value(v) for v in r) for r in rows))
        for i, cols in enumerate(indexes):
            cols = (cols,) if isinstance(cols, str) else tuple(cols)
            col_list = ", ".join('"' + str(c).replace('"', '""') + '"' for c in cols)
            con.execute(f'CREATE INDEX "idx_{name}_{i}" ON "{name}" ({col_list})')
        _register_attributes(con, name, description)
        con.commit()
        return count


def _sql_value(v):
    """A Python value sqlite3 accepts (numpy scalars unwrapped; NaN, NaT and pd.NA → NULL)."""
    if v is None:
        return None
    if hasattr(v, "item") and not isinstance(v, (str, bytes)):  # numpy scalars
        try:
            v = v.item()
        except (ValueError, TypeError, AttributeError):
            pass
    try:
        if v != v:
            return None
    except TypeError:  # pd.NA
        return None
    if hasattr(v, "isoformat"):
        return v.isoformat()
    return v


def _register_attributes(con: sqlite3.Connection, name: str, description: str = "") -> None:
    con.execute("DELETE FROM gpkg_contents WHERE table_name = ?", (name,))
    con.execute(
        "INSERT INTO gpkg_contents (table_name, data_type, identifier, description, last_change) "
        "VALUES (?, 'attributes', ?, ?, strftime('%Y-%m-%dT%H:%M:%fZ','now'))",
        (name, name, description),
    )
    if "gpkg_ogr_contents" in _tables(con):
        con.execute("DELETE FROM gpkg_ogr_contents WHERE table_name = ?", (name,))


# -- one writer at a time; commits through a journal -----------------------------------------------
_HELD: dict[tuple, list] = {}  # (lock path or shared-store id…, thread) -> [handle, depth]
_HELD_GUARD = threading.Lock()


def lock_timeout(timeout: float | None = None) -> float:
    """How long a writer waits for the lock: *timeout*, else ``CQ_GEO_LOCK_TIMEOUT``, else 600 s."""
    if timeout is not None:
        return timeout
    try:
        return float(os.environ.get(LOCK_TIMEOUT_ENV, "") or 600)
    except ValueError:
        return 600.0


def reenter_lock(key: tuple) -> list | None:
    """The writers' lock this thread already holds under *key*, one level deeper; None if not held.

    Shared by the GeoPackage store and the PostGIS store (their keys differ in shape)."""
    with _HELD_GUARD:
        held = _HELD.get(key)
        if held is not None:
            held[1] += 1
    return held


def hold_lock(key: tuple, handle) -> None:
    """Record that this thread now holds the writers' lock under *key*."""
    with _HELD_GUARD:
        _HELD[key] = [handle, 1]


def drop_lock(key: tuple) -> None:
    """Forget the writers' lock held under *key*."""
    with _HELD_GUARD:
        _HELD.pop(key, None)


def _lock_fd(fd: int, blocking: bool) -> bool:
    if os.name == "nt":  # pragma: no cover - Windows
        import msvcrt

        try:
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
            return True
        except OSError:
            if blocking:
                raise
            return False
    import fcntl

    try:
        fcntl.flock(fd, fcntl.LOCK_EX | (0 if blocking else fcntl.LOCK_NB))
        return True
    except BlockingIOError:
        return False


def _unlock_fd(fd: int) -> None:
    if os.name == "nt":  # pragma: no cover - Windows
        import msvcrt

        with contextlib.suppress(OSError):
            os.lseek(fd, 0, 0)
            msvcrt.locking(fd, msvcrt.LK_UNLCK, 1)
        return
    import fcntl

    fcntl.flock(fd, fcntl.LOCK_UN)


def _fsync_dir(path: Path) -> None:
    if os.name == "nt":  # pragma: no cover
        return
    with contextlib.suppress(OSError):
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _fsync_file(path: Path) -> None:
    with open(path, "rb+") as f:
        os.fsync(f.fileno())


def _link_or_copy(src: Path, dst: Path) -> None:
    try:
        os.link(src, dst)
    except OSError:
        shutil.copy2(src, dst)


class Store:
    """A data store (GeoPackage). Use :func:`open_store` to get one."""

    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)

    def __repr__(self) -> str:
        return f"Store({str(self.path)!r})"

    @property
    def previous_path(self) -> Path:
        """Where the previous state is kept (``<store>.prev``)."""
        return self.path.with_name(self.path.name + ".prev")

    @property
    def lock_path(self) -> Path:
        """The writers' lock file (``.<store>.lock``, kept beside the store)."""
        return self.path.with_name(f".{self.path.name}.lock")

    @property
    def journal_path(self) -> Path:
        """The commit journal (``.<store>.journal``), present only while a commit is under way."""
        return self.path.with_name(f".{self.path.name}.journal")

    def exists(self) -> bool:
        return self.path.is_file()

    def _tmp_name(self, what: str = "") -> Path:
        return self.path.with_name(f".{self.path.name}.{what}{uuid.uuid4().hex[:8]}.tmp.gpkg")

    # -- locking, recovery, clean-up ----------------------------------------------------------
    @contextlib.contextmanager
    def writing(self, timeout: float | None = None, notice: Callable[[str], None] | None = None):
        """Hold the writer lock (re-entrant in a thread). A waiting writer is told so, then stops after *timeout*.

        On entry the journal of an interrupted commit is replayed and the
        temporary files of interrupted runs are removed.
        """
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise DataError(f"impossible de créer le dossier du magasin {self.path.parent} ({exc})") from exc
        key = (str(self.lock_path.resolve()), threading.get_ident())
        held = reenter_lock(key)
        if held is not None:
            try:
                yield self
            finally:
                held[1] -= 1
            return
        timeout = lock_timeout(timeout)
        try:
            fd = os.open(self.lock_path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as exc:
            raise DataError(f"impossible de poser le verrou {self.lock_path} : dossier en lecture seule ? "
                            f"Le magasin ne peut pas être modifié ici ({exc})") from exc
        try:
            if not _lock_fd(fd, blocking=False):
                other = ""
                with contextlib.suppress(OSError, ValueError):
                    other = os.pread(fd, 64, 0).decode().strip() if hasattr(os, "pread") else ""
                msg = (f"le magasin {self.path} est en cours de modification par une autre commande"
                       f"{f' (processus {other})' if other else ''} : attente de la fin (au plus {timeout:.0f} s)…")
                (notice or (lambda m: print(f"cq-geo : {m}", file=sys.stderr, flush=True)))(msg)
                deadline = time.monotonic() + timeout
                while not _lock_fd(fd, blocking=False):
                    if time.monotonic() > deadline:
                        raise DataError(
                            f"le magasin {self.path} est toujours en cours de modification par une autre commande "
                            f"après {timeout:.0f} s : réessayez plus tard (délai : variable {LOCK_TIMEOUT_ENV})")
                    time.sleep(0.05)
            with contextlib.suppress(OSError):
                os.ftruncate(fd, 0)
                os.write(fd, str(os.getpid()).encode())
            hold_lock(key, fd)
            try:
                self._recover()
                self._clean_stale()
                yield self
            finally:
                drop_lock(key)
                with contextlib.suppress(OSError):
                    os.ftruncate(fd, 0)
                _unlock_fd(fd)
        finally:
            os.close(fd)

    def recover_if_needed(self) -> None:
        """Replay an interrupted commit if there is one and no writer is at work (readers call this)."""
        if not self.journal_path.exists():
            return
        try:
            fd = os.open(self.lock_path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError:
            return  # read-only folder: a writer will replay it
        try:
            if _lock_fd(fd, blocking=False):
                try:
                    self._recover()
                finally:
                    _unlock_fd(fd)
        finally:
            os.close(fd)

    def _recover(self) -> None:
        journal = self.journal_path
        if not journal.exists():
            return
        try:
            plan = json.loads(journal.read_text(encoding="utf-8"))
            renames = [(self.path.with_name(a), self.path.with_name(b)) for a, b in plan["renames"]]
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise DataError(f"journal de modification illisible : {journal} ({exc}) — supprimez-le puis vérifiez "
                            "le magasin avec cq-geo data status") from exc
        for src, dst in renames:
            if src.exists():
                os.replace(src, dst)
        _fsync_dir(self.path.parent)
        journal.unlink()
        _fsync_dir(self.path.parent)

    def _clean_stale(self) -> None:
        """Remove what interrupted runs left (working copies, partial downloads); called under the lock."""
        d = self.path.parent
        if not d.is_dir():
            return
        name = self.path.name
        stale = list(d.glob(f".{name}.*.tmp*")) + list(d.glob(f"{name}.prev.*.tmp*"))
        stale += list(d.glob(f".{name}.journal.*.tmp"))
        stale += list(d.glob(f".{name}.download-*"))
        old = time.time() - 3600
        for p in d.glob(".cq-geo-download-*"):  # older versions' download folders
            with contextlib.suppress(OSError):
                if p.stat().st_mtime < old:
                    stale.append(p)
        for p in stale:
            with contextlib.suppress(OSError):
                if p.is_dir():
                    shutil.rmtree(p)
                else:
                    p.unlink()

    def _commit(self, renames: list[tuple[Path, Path]], step: str) -> None:
        """Make *renames* happen all or none: journal first (one atomic rename), then the renames, then no journal."""
        journal = self.journal_path
        tmp = journal.with_name(f"{journal.name}.{uuid.uuid4().hex[:8]}.tmp")
        with open(tmp, "w", encoding="utf-8") as f:
            json.dump({"at": now_iso(), "operation": step, "renames": [[a.name, b.name] for a, b in renames]}, f)
            f.flush()
            os.fsync(f.fileno())
        _crash_point(f"{step}:before-journal")
        os.replace(tmp, journal)
        _fsync_dir(self.path.parent)
        _crash_point(f"{step}:after-journal")
        try:
            for i, (src, dst) in enumerate(renames, 1):
                os.replace(src, dst)
                _crash_point(f"{step}:after-rename-{i}")
        except PermissionError as exc:  # Windows: the file is open elsewhere; undo what can be undone
            raise DataError(f"impossible de remplacer {self.path} : fichier ouvert dans un autre logiciel "
                            f"(QGIS ?) — fermez-le : la modification sera terminée à la prochaine commande "
                            f"cq-geo data ({exc})") from exc
        _fsync_dir(self.path.parent)
        journal.unlink()
        _fsync_dir(self.path.parent)

    # -- reading ------------------------------------------------------------------------------
    @contextlib.contextmanager
    def connect(self) -> Iterator[sqlite3.Connection]:
        """A read-only sqlite3 connection (closed when the ``with`` block ends)."""
        if not self.exists():
            raise DataError(f"magasin de données introuvable : {self.path}")
        con = _connect_ro(self.path)
        try:
            yield con
        finally:
            con.close()

    def metadata(self) -> dict[str, dict[str, Any]]:
        """The ``cq_layers`` table: ``{layer: {source, status, …}}``."""
        with self.connect() as con:
            return _read_metadata(con)

    def layer_info(self, layer: str) -> LayerInfo:
        """The :class:`~cq_geo.geo.layers.LayerInfo` of *layer* from the metadata table."""
        return _info_from_row(layer, self.metadata().get(layer))

    def layers(self) -> list[str]:
        """Spatial layers present in the store (among :data:`LAYERS`)."""
        with self.connect() as con:
            present = {r[0] for r in con.execute("SELECT table_name FROM gpkg_contents WHERE data_type = 'features'")}
        return [name for name in LAYERS if name in present]

    def rows(self, layer: str) -> list[dict[str, Any]]:
        """Rows of spatial *layer* (shapely geometry under ``"geometry"``); [] when absent."""
        with self.connect() as con:
            if layer not in _tables(con):
                return []
            return read_layer_rows(con, layer)

    def polygon_rows(self, layer: str) -> list[dict[str, Any]]:
        """Rows of spatial *layer* with numpy rings under ``"polys"`` (no shapely); [] when absent."""
        with self.connect() as con:
            if layer not in _tables(con):
                return []
            return read_layer_polygons(con, layer)

    def read_frame(self, layer: str):
        """Spatial *layer* as a GeoDataFrame (EPSG:2154); an empty one when absent."""
        import geopandas as gpd

        rows = self.rows(layer)
        if not rows:
            return empty_frame(layer)
        geoms = [r.pop("geometry") for r in rows]
        for r in rows:
            r.pop("fid", None)
        return gpd.GeoDataFrame(rows, geometry=gpd.GeoSeries(geoms, crs=CRS))

    def history(self, code: str | None = None) -> list[dict[str, Any]]:
        """History rows (oldest first), for one zone code if given."""
        rows = [r for r in self.rows(HISTORY_LAYER) if code is None or r["code"] == code]
        return sorted(rows, key=lambda r: r["fid"])

    def sha256(self) -> str:
        """sha256 of the store file (to tell two states apart)."""
        from .sources import file_sha256

        return file_sha256(self.path)

    # -- writing ------------------------------------------------------------------------------
    @contextlib.contextmanager
    def change(self, description: str, validate=None) -> Iterator[StoreChange]:
        """An atomic change under the writer lock: yields a :class:`StoreChange` on a working copy.

        On success the copy is validated (structure, CRS, counts, rows, plus
        ``validate(path)`` if given) and committed (see the module docstring).
        On any error the store and its previous state are untouched.
        """
        with self.writing():
            if not self.exists():
                raise DataError(f"magasin de données introuvable : {self.path}")
            wal = self.path.with_name(self.path.name + "-wal")
            if wal.exists() and wal.stat().st_size > 0:
                raise DataError(f"le magasin {self.path} est ouvert en écriture dans un autre logiciel (QGIS ?) : "
                                "enregistrez et fermez-le, puis recommencez")
            work_path = self._tmp_name()
            prev_tmp = self.previous_path.with_name(f"{self.previous_path.name}.{uuid.uuid4().hex[:8]}.tmp.gpkg")
            shutil.copy2(self.path, work_path)
            work = StoreChange(work_path, description)
            try:
                yield work
                work.close()
                con = sqlite3.connect(work_path)  # a single self-contained file, whatever the journal mode was
                try:
                    con.execute("PRAGMA journal_mode=DELETE")
                finally:
                    con.close()
                validate_store_file(work_path)
                if validate is not None:
                    validate(work_path)
                _fsync_file(work_path)
                _link_or_copy(self.path, prev_tmp)
                self._commit([(prev_tmp, self.previous_path), (work_path, self.path)], "change")
            finally:
                if work._con is not None:
                    work._con.close()
                    work._con = None
                for p in (work_path, prev_tmp):
                    with contextlib.suppress(FileNotFoundError):
                        p.unlink()

    def write_table(self, name: str, data, *, description: str = "", indexes=()) -> int:
        """Replace non-spatial table *name* atomically (see :meth:`StoreChange.write_table`)."""
        with self.change(f"table {name}") as work:
            return work.write_table(name, data, description=description, indexes=indexes)

    def read_table(self, name: str, columns=None):
        """Non-spatial table *name* as a pandas DataFrame (without ``fid``)."""
        import pandas as pd

        with self.connect() as con:
            if name not in _tables(con):
                raise DataError(f"table « {name} » absente du magasin {self.path}")
            cols = ", ".join(f'"{c}"' for c in columns) if columns else "*"
            df = pd.read_sql_query(f'SELECT {cols} FROM "{name}"', con)
        return df.drop(columns=["fid"], errors="ignore")

    def rollback(self) -> None:
        """Swap the store and its previous state (a second rollback undoes the first).

        Works whatever the current file holds (even if it is damaged, missing or
        not a store any more): only the previous state must be a valid store.
        """
        if not self.path.exists() and not self.previous_path.exists():
            raise DataError(f"magasin de données introuvable : {self.path}")
        with self.writing():
            prev = self.previous_path
            if not prev.is_file():
                raise DataError(f"aucun état précédent à restaurer pour {self.path} "
                                "(aucune modification depuis la création)")
            validate_store_file(prev)
            to_store = self._tmp_name("rollback-")
            renames = [(to_store, self.path)]
            to_prev = None
            if self.path.is_file():
                to_prev = self._tmp_name("rollback-")
                _link_or_copy(self.path, to_prev)
                _link_or_copy(prev, to_store)
                renames.append((to_prev, prev))
            else:
                shutil.copy2(prev, to_store)
            try:
                self._commit(renames, "rollback")
            finally:
                for p in (to_store, to_prev):
                    if p is not None:
                        with contextlib.suppress(FileNotFoundError):
                            p.unlink()

    def create(self, territory_file=None) -> bool:
        """Create the store, seeded from the embedded baseline (atomic, under the lock; numpy + stdlib only).

        Returns False when another process created it meanwhile.
        """
        from ..model import load_definition

        with self.writing():
            if self.exists():
                return False
            definition = load_definition(territory_file)
            polys, meta = _baseline_polygons()
            codes = [c for c in definition.communes if c in polys]
            tmp = self._tmp_name()
            try:
                con = sqlite3.connect(tmp)
                try:
                    _register_sql_functions(con)
                    _init_geopackage(con)
                    for layer in ("communes", "qpv", "poche", "qva", HISTORY_LAYER):
                        _create_feature_table(con, layer)
                    _write_features(con, "communes", [{"insee": c, "name": definition.commune_name(c),
                                                       "polys": polys[c]} for c in codes])
                    _create_metadata_table(con)
                    work = StoreChange(tmp, "création", con)
                    now = now_iso()
                    info = LayerInfo("communes", status=meta.get("status", "simplified"), edge_m=meta.get("edge_m"),
                                     near_m=meta.get("near_m"))
                    work.set_metadata(
                        "communes", source=meta.get("source", ""), publisher=meta.get("publisher", ""),
                        licence=meta.get("licence", ""), vintage=meta.get("vintage", ""), sha256=meta.get("sha256", ""),
                        imported_at=now, status=info.status, feature_count=len(codes), edge_m=info.edge_m,
                        near_m=info.near_m, note="contours embarqués (cq-geo)",
                    )
                    for layer in ("qpv", "poche", "qva"):
                        work.set_metadata(layer, status="missing", feature_count=0, imported_at="", source="", note="")
                    work.append_history([{"layer": "communes", "code": c, "action": "seed", "status": info.status,
                                          "author": "cq-geo", "source": meta.get("source", ""),
                                          "sha256": meta.get("sha256", ""), "polys": polys[c], "at": now}
                                         for c in codes])
                    con.commit()
                finally:
                    con.close()
                validate_store_file(tmp)
                _fsync_file(tmp)
                os.replace(tmp, self.path)
                _fsync_dir(self.path.parent)
            finally:
                with contextlib.suppress(FileNotFoundError):
                    tmp.unlink()
            return True

    def remove(self) -> None:
        """Delete the store and its previous state (under the lock): used when a first import fails."""
        with self.writing():
            for p in (self.path, self.previous_path):
                with contextlib.suppress(FileNotFoundError):
                    p.unlink()


def _baseline_polygons() -> tuple[dict[str, list], dict]:
    """The embedded commune outlines as numpy rings in Lambert-93 (json + numpy: no shapely) and their metadata."""
    import numpy as np

    from ..geo.crs import lonlat_to_l93
    from ..paths import baseline_communes_file

    path = baseline_communes_file()
    data = json.loads(path.read_text(encoding="utf-8"))
    out = {}
    for feat in data["features"]:
        g = feat["geometry"]
        parts = [g["coordinates"]] if g["type"] == "Polygon" else g["coordinates"]
        polys = []
        for part in parts:
            rings = []
            for ring in part:
                a = np.asarray(ring, dtype=float)[:, :2]
                x, y = lonlat_to_l93(a[:, 0], a[:, 1])
                rings.append(np.column_stack([x, y]))
            polys.append(rings)
        out[str(feat["properties"]["insee"])] = polys
    meta = dict(data.get("cq_geo", {}))
    meta.setdefault("source", str(path))
    return out, meta


def _create_metadata_table(con: sqlite3.Connection) -> None:
    con.execute(
        f"""CREATE TABLE IF NOT EXISTS {METADATA_TABLE} (
            fid INTEGER PRIMARY KEY AUTOINCREMENT,
            layer TEXT NOT NULL UNIQUE, source TEXT, publisher TEXT, licence TEXT, vintage TEXT,
            sha256 TEXT, imported_at TEXT, status TEXT NOT NULL DEFAULT 'missing',
            feature_count INTEGER NOT NULL DEFAULT 0, edge_m REAL, near_m REAL, note TEXT)"""
    )
    _register_attributes(con, METADATA_TABLE, "cq-geo : provenance et statut de chaque couche")


def _read_metadata(con: sqlite3.Connection) -> dict[str, dict[str, Any]]:
    if METADATA_TABLE not in _tables(con):
        raise DataError("magasin de données invalide : table cq_layers absente (fichier créé par un autre outil ?)")
    cur = con.execute(f"SELECT {', '.join(_METADATA_COLUMNS)} FROM {METADATA_TABLE}")
    return {row[0]: dict(zip(_METADATA_COLUMNS, row)) for row in cur}


def _info_from_row(layer: str, row: dict[str, Any] | None) -> LayerInfo:
    if not row:
        return LayerInfo(layer, status="missing")
    return LayerInfo(
        name=layer, status=row["status"] or "missing", source=row["source"] or "", vintage=row["vintage"] or "",
        publisher=row["publisher"] or "", licence=row["licence"] or "", sha256=row["sha256"] or "",
        feature_count=int(row["feature_count"] or 0), edge_m=row["edge_m"], near_m=row["near_m"],
    )


def check_store_rows(con: sqlite3.Connection, label) -> None:
    """Row-level checks of a store (empty codes, text in number columns, unreadable geometries, bad metadata).

    Raises :class:`~cq_geo.errors.DataError` naming the table and the row.
    """
    tables = _tables(con)
    if METADATA_TABLE in tables:
        for fid, layer, status, count, edge, near in con.execute(
                f"SELECT fid, layer, status, feature_count, edge_m, near_m FROM {METADATA_TABLE}"):
            where = f"{label} : table « {METADATA_TABLE} », ligne {fid}" + (f" ({layer})" if layer else "")
            if not layer:
                raise DataError(f"{where} : nom de couche vide")
            if status not in GEOMETRY_STATUSES:
                raise DataError(f"{where} : statut inconnu {status!r}")
            if not isinstance(count, int):
                raise DataError(f"{where} : feature_count n'est pas un nombre entier ({count!r})")
            for name, v in (("edge_m", edge), ("near_m", near)):
                if v is not None and not isinstance(v, (int, float)):
                    raise DataError(f"{where} : {name} n'est pas un nombre ({v!r})")
    for layer in LAYERS + (HISTORY_LAYER,):
        if layer not in tables:
            continue
        present = {r[1] for r in con.execute(f'PRAGMA table_info("{layer}")')}
        code = CODE_COLUMN.get(layer)
        if code in present:
            row = con.execute(f'SELECT fid FROM "{layer}" WHERE "{code}" IS NULL OR trim("{code}") = \'\' '
                              "ORDER BY fid LIMIT 1").fetchone()
            if row:
                raise DataError(f"{label} : table « {layer} », ligne {row[0]} : code vide (colonne {code})")
        for col, kind in LAYER_COLUMNS[layer].items():
            if kind != "str" and col in present:
                row = con.execute(f'SELECT fid, "{col}" FROM "{layer}" WHERE typeof("{col}") NOT IN '
                                  "('integer', 'null') ORDER BY fid LIMIT 1").fetchone()
                if row:
                    raise DataError(f"{label} : table « {layer} », ligne {row[0]} : valeur non numérique "
                                    f"{row[1]!r} dans la colonne {col}")
        try:
            geom = _geometry_column(con, layer)
        except DataError:
            continue
        row = con.execute(f'SELECT fid FROM "{layer}" WHERE "{geom}" IS NOT NULL AND '
                          f'(typeof("{geom}") != \'blob\' OR substr("{geom}", 1, 2) != X\'4750\') '
                          "ORDER BY fid LIMIT 1").fetchone()
        if row:
            raise DataError(f"{label} : table « {layer} », ligne {row[0]} : géométrie illisible")


def validate_store_file(path: str | os.PathLike, integrity: bool = True) -> None:
    """Check a store file: sqlite integrity (if *integrity*), layers in EPSG:2154, metadata counts, rows.

    Raises :class:`~cq_geo.errors.DataError` (French message) on the first problem.
    """
    path = Path(path)
    try:
        con = _connect_ro(path)
        try:
            if integrity and con.execute("PRAGMA quick_check").fetchone()[0] != "ok":
                raise DataError(f"{path} : fichier GeoPackage corrompu (contrôle d'intégrité SQLite)")
            tables = _tables(con)
            if "gpkg_contents" not in tables:
                raise DataError(f"{path} : ce n'est pas un GeoPackage")
            meta = _read_metadata(con)
            check_store_rows(con, path)
            srs = dict(con.execute("SELECT table_name, srs_id FROM gpkg_contents WHERE data_type = 'features'"))
            for layer in ("communes", "qpv", "poche", "qva", HISTORY_LAYER):
                if layer not in srs:
                    raise DataError(f"{path} : couche « {layer} » absente du magasin")
            for layer, srs_id in srs.items():
                if layer in LAYERS + (HISTORY_LAYER,) and srs_id != _SRS_ID:
                    raise DataError(f"{path} : la couche « {layer} » n'est pas en Lambert-93 (EPSG:2154)")
            for layer, row in meta.items():
                if layer in LAYERS:
                    if layer not in srs:
                        raise DataError(f"{path} : métadonnées pour une couche absente : {layer}")
                    count = con.execute(f'SELECT count(*) FROM "{layer}"').fetchone()[0]
                    if count != int(row["feature_count"] or 0):
                        raise DataError(
                            f"{path} : la couche « {layer} » compte {count} entités, ses métadonnées {row['feature_count']}"
                        )
            for layer in LAYERS:
                if layer in srs and layer not in meta:
                    raise DataError(f"{path} : la couche « {layer} » n'a pas de métadonnées")
        finally:
            con.close()
    except sqlite3.DatabaseError as exc:
        raise DataError(f"{path} : magasin de données illisible ({exc})") from exc


def open_store(path: str | os.PathLike | None = None, create: bool = True, territory_file=None) -> Store:
    """The data store at *path* (else ``CQ_GEO_STORE``, else the user's data directory).

    With *create*, a missing store is created and seeded from the embedded
    baseline; without, a missing store raises :class:`~cq_geo.errors.DataError`.
    """
    store = store_at(path, territory_file=territory_file)
    if not isinstance(store, Store):  # the shared store (PostGIS): created by data init-shared
        if not store.exists():
            store.create()
        return store
    store.recover_if_needed()
    if not store.exists():
        if not create:
            raise DataError(f"magasin de données introuvable : {store.path} (créé par cq-geo data update ou data import)")
        store.create(territory_file=territory_file)
    else:
        validate_store_file(store.path, integrity=False)
    return store


def store_at(path: str | os.PathLike | None = None, territory_file=None) -> Store:
    """The :class:`Store` at *path* / ``CQ_GEO_STORE`` / the user's data directory, without creating or checking it.

    A ``postgresql://…`` or ``service=…`` address gives the shared store (:class:`cq_geo.data.pgstore.PgStore`).
    """
    from ..paths import default_store_path, resolve_store
    from .pgstore import PgStore, shared_url

    url = shared_url(path)
    if url:
        return PgStore(url, territory_file=territory_file)

    resolved, _origin = resolve_store(path)
    return Store(resolved if resolved is not None else default_store_path())


def protected_paths(store=None) -> list[Path]:
    """The files of the current store that no output may overwrite (store, previous state, lock, journal)."""
    s = store if isinstance(store, Store) else store_at(store)
    if not isinstance(s, Store):  # shared store: no local file to protect
        return []
    return [s.path, s.previous_path, s.lock_path, s.journal_path]


def is_store_path(path, store=None) -> bool:
    """True when *path* is the data store (or one of its files), or any file holding a cq-geo store.

    Commands writing output files call it (through :func:`refuse_store_output`)
    so that ``cq-geo batch IN -o store.gpkg`` cannot overwrite the store.

    >>> import tempfile, pathlib
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> s = open_store(d / "cq-geo.gpkg")
    >>> is_store_path(d / "cq-geo.gpkg"), is_store_path(d / "autre.gpkg")
    (True, False)
    """
    p = Path(path).expanduser()
    try:
        target = p.resolve()
    except OSError:
        target = p.absolute()
    for q in protected_paths(store):
        try:
            if q.resolve() == target or (q.exists() and p.exists() and os.path.samefile(q, p)):
                return True
        except OSError:
            continue
    if p.is_file():
        try:
            with open(p, "rb") as f:
                if f.read(16) != b"SQLite format 3\x00":
                    return False
            con = _connect_ro(p)
            try:
                return METADATA_TABLE in _tables(con) and "gpkg_contents" in _tables(con)
            finally:
                con.close()
        except (OSError, sqlite3.Error):
            return False
    return False


def refuse_store_output(path, store=None) -> None:
    """Raise :class:`~cq_geo.errors.DataError` if *path* is a data store (see :func:`is_store_path`)."""
    if is_store_path(path, store):
        raise DataError(f"{path} est un magasin de données cq-geo : aucune commande n'écrit par-dessus. "
                        "Choisissez un autre fichier de sortie.")


# -- territory from a store ---------------------------------------------------------------------
def load_store_territory(path: str | os.PathLike, territory_file=None):
    """Build the :class:`~cq_geo.territory.Territory` from a store file.

    Commune outlines, QPV perimeters and local zones come from the store;
    each layer's provenance (:class:`~cq_geo.geo.layers.LayerInfo`) comes from its
    metadata row, so an answer says which version it rests on. Zones the
    territory definition does not know are ignored (``cq-geo data status``
    lists them).
    """
    from ..model import load_definition

    path = Path(path)
    Store(path).recover_if_needed()
    definition = load_definition(territory_file)
    try:
        con = _connect_ro(path)
    except sqlite3.Error as exc:
        raise DataError(f"magasin de données illisible : {path} ({exc})") from exc
    try:
        meta = _read_metadata(con)
        check_store_rows(con, f"magasin de données {path}")
        tables = _tables(con)
        commune_rows = read_layer_rows(con, "communes", polygons=True) if "communes" in tables else []
        tier_rows = {t: (read_layer_rows(con, t, polygons=True) if t in tables else []) for t in definition.tier_ids}
    except sqlite3.DatabaseError as exc:
        raise DataError(f"magasin de données illisible : {path} ({exc})") from exc
    finally:
        con.close()

    return territory_from_rows(meta, commune_rows, tier_rows, definition, path)


def territory_from_rows(meta, commune_rows, tier_rows, definition, label):
    """The :class:`~cq_geo.territory.Territory` from a store's metadata and rows (GeoPackage or shared store)."""
    from ..territory import Territory

    path = label
    known = {z.code: z for z in definition.zones}
    commune_geoms = {r["insee"]: r["geometry"] for r in commune_rows if r["geometry"] is not None}
    commune_info = _info_from_row("communes", meta.get("communes"))
    if not commune_geoms:
        raise DataError(f"magasin de données {path} : aucun contour de commune")
    commune_info.feature_count = len(commune_geoms)

    zone_geoms: dict[str, tuple[Any, str]] = {}
    layer_infos: dict[str, LayerInfo] = {}
    for tier in definition.tier_ids:
        row = meta.get(tier)
        tdef = definition.tiers[tier]
        if row:  # tolerances: the layer's, else the territory file's for the tier, else the status'
            row = {**row, **{k: getattr(tdef, k) for k in ("edge_m", "near_m") if row.get(k) is None}}
        info = _info_from_row(tier, row)
        code_col = CODE_COLUMN[tier]
        statuses = []
        local = tier != REGULATORY_TIER
        for r in tier_rows.get(tier, []):
            code = r.get(code_col)
            zone = known.get(code)
            if zone is None or zone.tier != tier or r["geometry"] is None:
                continue
            status = r.get("status") if local else info.status
            status = status if status in GEOMETRY_STATUSES else "provisional"
            zone_geoms[code] = (r["geometry"], status)
            statuses.append(status)
        if not statuses:
            continue  # let the territory derive it (missing, or whole communes)
        if local:
            whole = [z for z in definition.zones_of(tier) if z.geometry == "commune" and z.code not in zone_geoms]
            if whole:
                statuses.append(commune_info.status)
                info.source = f"{info.source} ; communes entières : {commune_info.source}"
            info.status = worst_status(statuses)
            info.edge_m, info.near_m = tdef.edge_m, tdef.near_m  # the file's tolerances, else the status'

            info.__post_init__()
        layer_infos[tier] = info
    return Territory(definition, commune_geoms, commune_info, zone_geoms=zone_geoms, layer_infos=layer_infos)




# -- operations: imports, validation, update, status -------------------------------------------
@dataclass
class ImportReport:
    """What an import or update did (``changed`` is False when the same file was already installed)."""

    layer: str
    described: str
    source: str
    sha256: str
    feature_count: int
    status: str
    changed: bool = True
    features_read: int = 0
    notes: list[str] = field(default_factory=list)
    added: list[str] = field(default_factory=list)
    replaced: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    official: bool = False
    origin: str = "file"

    def to_dict(self) -> dict[str, Any]:
        from dataclasses import asdict

        out = asdict(self)
        out["described"] = str(self.described)
        return out

    def to_text(self) -> str:
        """A French summary (what the CLI prints)."""
        from ..report import LAYER_STATUS_FR

        if not self.changed:
            return f"{self.layer} : déjà à jour ({self.described}, sha256 {self.sha256[:12]}…) — aucun changement"
        lines = [
            f"{self.layer} : {self.feature_count} entité(s) installée(s), couche "
            f"{LAYER_STATUS_FR.get(self.status, self.status)} — {self.described}",
            f"  sha256 de la source : {self.sha256}",
        ]
        if self.layer in ("qpv", "qpv2015", "communes"):
            lines.append("  origine : source officielle" if self.official else
                         "  origine : fichier importé (ni téléchargé à la source officielle par cq-geo data update, "
                         "ni publication officielle connue par sa somme de contrôle)")
        if self.features_read:
            lines.append(f"  {self.features_read} entité(s) lue(s) dans le fichier")
        for label, codes in (("ajoutées", self.added), ("remplacées", self.replaced), ("retirées", self.removed)):
            if codes:
                lines.append(f"  zones {label} : {', '.join(codes)}")
        lines.extend(f"  ! {n}" for n in self.notes)
        return "\n".join(lines)


@dataclass
class _Plan:
    """A checked layer, ready to be written in a change."""

    layer: str
    rows: list[dict[str, Any]]
    metadata: dict[str, Any]
    history: list[dict[str, Any]]
    report: ImportReport

    def apply(self, work: StoreChange) -> None:
        work.write_features(self.layer, self.rows)
        work.set_metadata(self.layer, **self.metadata)
        work.append_history(self.history)


def _file_date(path: Path) -> str:
    return datetime.fromtimestamp(path.stat().st_mtime, timezone.utc).strftime("%Y-%m-%d")


def _http_date(value: str) -> str:
    from email.utils import parsedate_to_datetime

    try:
        return parsedate_to_datetime(value).strftime("%Y-%m-%d") if value else ""
    except (TypeError, ValueError):
        return ""


def _same_polys(a, b) -> bool:
    import numpy as np

    if len(a) != len(b):
        return False
    for ra, rb in zip(a, b):
        if len(ra) != len(rb) or any(x.shape != y.shape or not np.allclose(x, y, atol=0.01) for x, y in zip(ra, rb)):
            return False
    return True


def _geometry_changes(old_rows, new_rows, code_col):
    """(added, replaced, removed) codes between old rows and new rows (``polys``)."""
    old = {r[code_col]: r["polys"] for r in old_rows}
    new = {r[code_col]: r["polys"] for r in new_rows}
    added = sorted(set(new) - set(old))
    removed = sorted(set(old) - set(new))
    replaced = [c for c in sorted(set(new) & set(old)) if not _same_polys(old[c], new[c])]
    return added, replaced, removed


def _records_sha256(records) -> str:
    """A checksum of records (properties + WKB) when no file checksum is given."""
    import hashlib

    h = hashlib.sha256()
    for props, wkb in records:
        h.update(json.dumps(props, sort_keys=True, default=str).encode())
        h.update(bytes(wkb or b""))
    return h.hexdigest()


def _with_progress(records, progress) -> list:
    out = []
    total = len(records) if hasattr(records, "__len__") else None
    for i, rec in enumerate(records, 1):
        out.append(rec)
        if progress is not None and (i % 200 == 0 or i == total):
            progress(i, total)
    return out


def _kind_and_layer(kind: str, tier: str | None, local_tiers=LOCAL_TIERS) -> tuple[str, str]:
    from ..model import suggest

    local_tiers = tuple(local_tiers)
    if kind in local_tiers:
        return "local", kind
    if kind == "local":
        if tier not in local_tiers:
            names = ", ".join(local_tiers[:-1]) + (" ou " if len(local_tiers) > 1 else "") + local_tiers[-1]
            raise DataError(f"niveau {tier!r} non importable localement{suggest(str(tier), local_tiers)} ({names})")
        return "local", tier
    if kind not in ("qpv", "qpv2015", "communes"):
        raise DataError(f"type d'import inconnu : {kind!r} (qpv, qpv2015, communes ou local)")
    return kind, kind


def import_records(store: Store, kind: str, records: Iterable[tuple[dict, bytes]], *, source_name: str,
                   source_sha256: str | None = None, origin: str = "file", url: str | None = None,
                   tier: str | None = None, name_field: str | None = None, progress=None,
                   described: str | None = None, territory_file=None, force: bool = False,
                   accept_overlap: bool = False, author: str = "", vintage: str | None = None) -> ImportReport:
    """Import *records* — ``(properties, WKB)`` pairs with geometries **already in EPSG:2154** — into *store*.

    The write path needs only the standard library and numpy (the QGIS plugin
    reads files with QGIS and calls this). *kind*: ``qpv``, ``qpv2015``,
    ``communes``, or ``local`` with *tier* ``poche``/``qva``. The checks are
    those of the file imports (which go through this function): codes of the
    rows kept for the territory, perimeters that touch the communes they list,
    zones attached by name… A layer is labelled official only when *origin* is
    ``"download"`` from the official *url* of :mod:`cq_geo.data.sources`, or when
    *source_sha256* is a known official release; otherwise it is a « fichier
    importé ». Under the writer lock, atomic; a store created here is removed
    again if the import fails. Geometry repairs, unions and overlap tests use
    shapely when it is installed, and are otherwise skipped with a note.

    Examples
    --------
    >>> import tempfile, pathlib, struct
    >>> store = Store(pathlib.Path(tempfile.mkdtemp()) / "cq-geo.gpkg")
    >>> ring = [(715000, 7020000), (716000, 7020000), (716000, 7021000), (715000, 7020000)]
    >>> wkb = struct.pack("<BII", 1, 3, 1) + struct.pack("<I", 4) + struct.pack("<8d", *sum(ring, ()))
    >>> try:
    ...     import_records(store, "qpv", [({"code_qp": "QN05950M", "lib_qp": "Denain", "insee_com": "59172"}, wkb)],
    ...                    source_name="essai.gpkg")
    ... except DataError as err:
    ...     print(str(err)[:60])
    essai.gpkg : le périmètre QPV QN05950M (Denain) ne touche pa
    """
    from ..model import load_definition

    kind, layer = _kind_and_layer(kind, tier, load_definition(territory_file).local_tier_ids)
    with store.writing():
        created = store.create(territory_file=territory_file) if not store.exists() else False
        try:
            plan = _plan_import(store, kind, layer, _with_progress(records, progress), source_name=source_name,
                                source_sha256=source_sha256, origin=origin, url=url, name_field=name_field,
                                described=described or source_name, territory_file=territory_file, force=force,
                                accept_overlap=accept_overlap, author=author, vintage=vintage)
            if plan.report.changed:
                with store.change(f"import {layer}") as work:
                    plan.apply(work)
            return plan.report
        except BaseException:
            if created:
                store.remove()
            raise


def _officialness(layer: str, digest: str, origin: str, url: str | None, siren: str) -> tuple[bool, str]:
    """(official?, why) — official only from the official URL by download, or a known official checksum."""
    from . import sources

    known = sources.OFFICIAL_RELEASES.get((digest or "").lower())
    if known:
        return True, f"publication officielle reconnue par sa somme de contrôle : {known}"
    src_layer = "qpv" if layer in ("qpv", "qpv2015") else layer
    if origin == "download" and url and src_layer in sources.SOURCES and layer != "qpv2015":
        if url == sources.source_url(src_layer, siren=siren):
            return True, f"téléchargé à la source officielle : {url}"
    return False, ""


def _plan_import(store: Store, kind: str, layer: str, records: list, *, source_name: str, source_sha256, origin,
                 url, name_field, described, territory_file, force, accept_overlap, author, vintage,
                 commune_rows: list | None = None) -> _Plan:
    from ..model import load_definition
    from . import sources

    definition = load_definition(territory_file)
    digest = (source_sha256 or _records_sha256(records)).lower()
    meta_all = store.metadata()
    meta = meta_all.get(layer) or {}
    if commune_rows is None:
        commune_rows = store.polygon_rows("communes")
    commune_polys = {r["insee"]: r["polys"] for r in commune_rows}
    now = now_iso()
    date = vintage or now[:10]
    if kind == "local":
        return _plan_local(store, layer, records, definition, commune_polys, source_name=source_name, digest=digest,
                           name_field=name_field, described=described, accept_overlap=accept_overlap, author=author,
                           now=now, commune_edge=(meta_all.get("communes") or {}).get("edge_m"))
    official, why = _officialness(layer, digest, origin, url, definition.siren)
    status = "official" if official else "provisional"
    if (not force and meta.get("sha256") == digest and meta.get("status") not in (None, "missing")
            and meta.get("status") == status):
        rep = ImportReport(layer, described, meta.get("source") or "", digest, int(meta.get("feature_count") or 0),
                           meta.get("status") or "", changed=False, official=official, origin=origin)
        return _Plan(layer, [], {}, [], rep)
    shown_source = (url or source_name) if official else f"fichier importé : {source_name}"
    if kind == "communes":
        read = sources.select_communes(records, definition, described)
        src = sources.SOURCES["communes"]
        is_api = read.flavour == "geo.api" or (url is not None and "/epcis/" in url)
        values = dict(
            source=shown_source,
            publisher=(src.publisher if is_api else "IGN (ADMIN EXPRESS)") if official else "origine non vérifiée",
            licence=src.licence if official else "",
            vintage=(f"geo.api.gouv.fr, téléchargé le {date}" if is_api and official else
                     f"fichier du {date}" if official else f"fichier importé le {now[:10]} (sha256 {digest[:12]}…)"),
            status=status, edge_m=5.0, near_m=10.0,
        )
        code_col = "insee"
    else:
        generation = "2015" if kind == "qpv2015" else "2024"
        read = sources.select_qpv(records, definition, commune_polys, generation=generation, described=described)
        src = sources.SOURCES["qpv"]
        label = ("QPV 2024 (décret n° 2023-1314)" if generation == "2024"
                 else "QPV 2015 (décret n° 2014-1750, remplacé en 2024)")
        values = dict(source=shown_source, publisher=src.publisher if official else "origine non vérifiée",
                      licence=src.licence if official else "",
                      vintage=(f"{label}, fichier du {date}" if official
                               else f"{label}, fichier importé le {now[:10]} (sha256 {digest[:12]}…)"),
                      status=status, edge_m=None, near_m=None)
        code_col = "code_qp"
        if read.shared:
            read.notes.append(f"QPV partagés avec des communes hors du territoire : {', '.join(read.shared)}")
    notes = list(read.notes)
    if official:
        notes.insert(0, why)
    else:
        notes.insert(0, f"fichier importé : {source_name} (sha256 {digest}) — statut « provisoire » : seule une couche "
                        "téléchargée à la source officielle (cq-geo data update) ou dont la somme de contrôle est celle "
                        "d'une publication officielle connue est dite « officielle »")
    added, replaced, removed = _geometry_changes(store.polygon_rows(layer), read.rows, code_col)
    by_code = {r[code_col]: r for r in read.rows}
    hist = [{"layer": layer, "code": c, "action": "add", "polys": by_code[c]["polys"]} for c in added]
    hist += [{"layer": layer, "code": c, "action": "replace", "polys": by_code[c]["polys"]} for c in replaced]
    hist += [{"layer": layer, "code": c, "action": "remove", "polys": []} for c in removed]
    for h in hist:
        h.update(status=status, author=author or "cq-geo", source=values["source"], sha256=digest, at=now)
    metadata = dict(sha256=digest, imported_at=now, feature_count=len(read.rows),
                    note="; ".join(notes + [f"{read.features_read} entité(s) lue(s) dans {read.described}"]), **values)
    rep = ImportReport(layer, read.described, values["source"], digest, len(read.rows), status,
                       features_read=read.features_read, notes=notes, added=added, replaced=replaced, removed=removed,
                       official=official, origin=origin)
    return _Plan(layer, read.rows, metadata, hist, rep)


def import_official(store: Store, kind: str, path, *, source: str | None = None, vintage: str | None = None,
                    territory_file=None, layer: str | None = None, force: bool = False, origin: str = "file",
                    url: str | None = None, progress=None) -> ImportReport:
    """Import an official file into *store*: *kind* ``qpv``, ``qpv2015`` or ``communes``.

    The file is read (GeoJSON, GeoPackage, shapefile, zip — see
    :mod:`cq_geo.data.sources`) and its features go through :func:`import_records`.
    On any problem a :class:`~cq_geo.errors.DataError` is raised and the store
    is unchanged. The same file (same sha256) already installed is not
    imported again unless *force*.
    """
    from . import sources

    kind, _ = _kind_and_layer(kind, None)
    path = Path(path)
    if not path.is_file():
        raise DataError(f"fichier introuvable : {path}")
    digest = sources.file_sha256(path)
    records, described = sources.read_records(path, kind, layer=layer)
    return import_records(store, kind, records, source_name=path.name, source_sha256=digest, origin=origin,
                          url=url or source, described=described, territory_file=territory_file, force=force,
                          vintage=vintage or _file_date(path), progress=progress)


def import_local(store: Store, path, tier: str, *, name_field: str | None = None, accept_overlap: bool = False,
                 author: str = "", territory_file=None, layer: str | None = None, progress=None) -> ImportReport:
    """Import zones drawn by the agglomeration (*tier* ``poche`` or ``qva``); they become ``provisional``.

    Checks: each feature attached to a zone of the tier (suggestions for
    unknown names), valid polygons, inside the zone's commune(s) within the
    commune layer's tolerance, no overlap with another zone of the tier unless
    *accept_overlap*. All problems are listed in one :class:`DataError`.
    """
    from . import sources
    from ..model import load_definition

    _kind_and_layer("local", tier, load_definition(territory_file).local_tier_ids)
    path = Path(path)
    if not path.is_file():
        raise DataError(f"fichier introuvable : {path}")
    digest = sources.file_sha256(path)
    records, described = sources.read_records(path, "local", layer=layer)
    return import_records(store, "local", records, tier=tier, source_name=path.name, source_sha256=digest,
                          name_field=name_field, described=described, territory_file=territory_file,
                          accept_overlap=accept_overlap, author=author, progress=progress)


def _local_layer_status(rows) -> str:
    return worst_status(r["status"] for r in rows)


def _plan_local(store, tier, records, definition, commune_polys, *, source_name, digest, name_field, described,
                accept_overlap, author, now, commune_edge) -> _Plan:
    from ..report import fr_int
    from . import sources

    read = sources.select_local(records, definition, tier, name_field=name_field, described=described,
                                commune_polys=commune_polys)
    tol = max(float(commune_edge or 0.0), 10.0)
    shapely = _shapely()
    problems, notes = [], []
    for r in read.rows:
        cpolys = [p for c in r["communes"].split(";") for p in commune_polys.get(c, [])]
        if not cpolys:
            problems.append(f"{r['name']} : contour de commune absent du magasin")
            continue
        cnames = ", ".join(definition.commune_name(c) for c in r["communes"].split(";"))
        if shapely is not None:
            geom = shapely.from_wkb(polygons_wkb(r["polys"]))
            allowed = shapely.from_wkb(polygons_wkb(cpolys)).buffer(tol)
            outside = geom.difference(allowed).area
        else:
            import numpy as np

            pts = np.concatenate([ring for p in r["polys"] for ring in p])
            share_out = 1.0 - points_in_polygons(pts[:, 0], pts[:, 1], cpolys).mean()
            outside = polygons_area(r["polys"]) * share_out if share_out > 0.5 else 0.0
        if outside > 1.0:
            problems.append(
                f"{r['name']} ({r['code']}) : {fr_int(outside, sep=' ')} m² hors de sa commune ({cnames}), au-delà de "
                f"la tolérance de {tol:g} m — périmètre mal placé ou mauvais système de coordonnées ?"
            )
    if shapely is None:
        notes.append("shapely absent : position dans la commune contrôlée sur les sommets, chevauchements non "
                     "contrôlés")
    old_rows = store.polygon_rows(tier)
    new_codes = {r["code"] for r in read.rows}
    kept = [r for r in old_rows if r["code"] not in new_codes]
    overlaps: dict[str, list[str]] = {}
    if shapely is not None:
        cands = [(r["code"], shapely.from_wkb(polygons_wkb(r["polys"]))) for r in kept + read.rows]
        for i, (code_a, ga) in enumerate(cands):
            for code_b, gb in cands[i + 1:]:
                if code_a not in new_codes and code_b not in new_codes:
                    continue
                if ga.intersects(gb):
                    area = ga.intersection(gb).area
                    if area > 1.0:
                        overlaps.setdefault(code_a, []).append(code_b)
                        overlaps.setdefault(code_b, []).append(code_a)
                        if not accept_overlap:
                            problems.append(f"{code_a} et {code_b} se chevauchent sur {fr_int(area, sep=' ')} m² "
                                            f"(acceptez-le avec --accept-overlap si c'est voulu)")
    if problems:
        raise DataError(f"{read.described} : import refusé, {len(problems)} problème(s) :\n"
                        + "\n".join(f"  - {p}" for p in problems))
    new_rows = [{"code": r["code"], "name": r["name"], "status": "provisional", "communes": r["communes"],
                 "source": source_name, "sha256": digest, "imported_at": now, "validated_by": "", "validated_at": "",
                 "overlap_accepted": int(r["code"] in overlaps), "polys": r["polys"]} for r in read.rows]
    rows = [{k: r.get(k) for k in list(LAYER_COLUMNS[tier]) + ["polys"]} for r in kept] + new_rows
    old_codes = {r["code"] for r in old_rows}
    replaced = sorted(new_codes & old_codes)
    added = sorted(new_codes - old_codes)
    sources_used = sorted({str(r["source"]) for r in rows if r.get("source")})
    metadata = dict(source="import local : " + ", ".join(sources_used), publisher=definition.name, licence="",
                    vintage=f"dessin importé le {now[:10]}", sha256=digest, imported_at=now,
                    status=_local_layer_status(rows), feature_count=len(rows), edge_m=None, near_m=None,
                    note=f"{len(rows)} zone(s), dernier import : {read.described}")
    hist = [{"layer": tier, "code": r["code"], "action": "replace" if r["code"] in replaced else "add",
             "status": "provisional", "author": author or "", "source": source_name, "sha256": digest, "at": now,
             "polys": r["polys"]} for r in new_rows]
    notes += [f"chevauchement accepté : {c} ↔ {', '.join(o)}" for c, o in sorted(overlaps.items()) if c in new_codes]
    notes.append("zones provisoires : à valider avec cq-geo data validate-zone CODE --by NOM")
    rep = ImportReport(tier, read.described, source_name, digest, len(rows), _local_layer_status(rows),
                       features_read=read.features_read, notes=notes, added=added, replaced=replaced)
    return _Plan(tier, rows, metadata, hist, rep)


def validate_zone(store: Store, code: str, by: str, territory_file=None) -> dict[str, Any]:
    """Mark a locally drawn zone ``validated``, recording who and when. Returns the updated row (no geometry)."""
    from ..model import load_definition, suggest

    by = (by or "").strip()
    if not by:
        raise DataError("indiquez qui valide avec --by (service ou fonction)")
    definition = load_definition(territory_file)
    with store.writing():
        qpv_codes = {r["code_qp"] for r in store.polygon_rows("qpv")}
        if code in qpv_codes:
            raise DataError(f"{code} est un QPV : son périmètre est officiel (ANCT), il ne se valide pas localement")
        all_codes = []
        for tier in definition.local_tier_ids:
            rows = store.polygon_rows(tier)
            all_codes += [r["code"] for r in rows]
            match = [r for r in rows if r["code"] == code]
            if not match:
                continue
            now = now_iso()
            for r in match:
                r.update(status="validated", validated_by=by, validated_at=now)
            with store.change(f"validation {code}") as work:
                work.write_features(tier, rows)
                work.set_metadata(tier, status=_local_layer_status(rows), feature_count=len(rows))
                work.append_history([{"layer": tier, "code": code, "action": "validate", "status": "validated",
                                      "author": by, "source": match[0].get("source"), "sha256": match[0].get("sha256"),
                                      "at": now, "polys": match[0]["polys"]}])
            out = dict(match[0])
            out.pop("polys", None)
            out.pop("fid", None)
            return out
    zone = next((z for z in definition.zones if z.code == code), None)
    if zone is not None:
        raise DataError(f"la zone {code} ({zone.name}) n'a pas encore de périmètre importé : "
                        f"cq-geo data import local FICHIER --tier {zone.tier}")
    choices = all_codes + [z.code for z in definition.zones if z.tier in definition.local_tier_ids]
    raise DataError(f"zone inconnue : {code!r}{suggest(code, choices)}")


def update_from_network(store: Store, only: str | None = None, *, base_urls: dict[str, str] | None = None,
                        urls: dict[str, str] | None = None, progress_factory=None, timeout: float = 60.0,
                        retries: int = 3, backoff: float = 2.0, territory_file=None,
                        force: bool = False, sha256: dict[str, str] | None = None) -> list[ImportReport]:
    """Download the official layers (``communes`` and ``qpv``, or *only* one) and install them, all or nothing.

    Every file is downloaded and checked before anything is installed; the
    layers are then installed in **one** atomic change (the QPV checks use the
    new commune outlines). *progress_factory(label)* returns a
    ``progress(done, total)`` callback (the CLI gives a tqdm bar). *sha256*:
    expected checksums by layer (a different file is refused). A layer is
    official when it comes from its official URL (see :mod:`cq_geo.data.sources`);
    a layer downloaded from another address (*urls*) is a « fichier importé ».
    """
    from ..model import load_definition
    from . import sources

    layers = [only] if only else ["communes", "qpv"]
    for layer in layers:
        if layer not in sources.SOURCES:
            raise DataError(f"couche inconnue pour la mise à jour : {layer!r} (qpv ou communes)")
    siren = load_definition(territory_file).siren
    with store.writing():
        created = store.create(territory_file=territory_file) if not store.exists() else False
        tmp = store.path.with_name(f".{store.path.name}.download-{uuid.uuid4().hex[:8]}")
        try:
            got = {}
            for layer in layers:
                url = (urls or {}).get(layer) or sources.source_url(layer, base_urls, siren=siren)
                progress = progress_factory(layer) if progress_factory else None
                try:
                    got[layer] = (url, sources.download(url, tmp, timeout=timeout, retries=retries, backoff=backoff,
                                                        progress=progress, expected_sha256=(sha256 or {}).get(layer)))
                except sources.NetworkError as exc:
                    raise DataError(f"{exc}\n{sources.manual_install_hint(layer)}") from exc
                finally:
                    if progress is not None and hasattr(progress, "close"):
                        progress.close()
            plans = []
            commune_rows = None
            for layer in ("communes", "qpv"):
                if layer not in got:
                    continue
                url, d = got[layer]
                records, described = sources.read_records(d.path, layer)
                described = described.replace(d.path.name, Path(url.split("?")[0]).name or layer, 1)
                plan = _plan_import(store, layer, layer, records, source_name=d.path.name, source_sha256=d.sha256,
                                    origin="download", url=url, name_field=None, described=described,
                                    territory_file=territory_file, force=force, accept_overlap=False, author="cq-geo",
                                    vintage=_http_date(d.last_modified) or now_iso()[:10], commune_rows=commune_rows)
                if layer == "communes" and plan.report.changed:
                    commune_rows = plan.rows
                plans.append(plan)
            todo = [p for p in plans if p.report.changed]
            if todo:
                with store.change("mise à jour " + ", ".join(p.layer for p in todo)) as work:
                    for p in todo:
                        p.apply(work)
            return [p.report for p in plans]
        except BaseException:
            if created:
                store.remove()
            raise
        finally:
            shutil.rmtree(tmp, ignore_errors=True)


def _todo(layer: str, store_opt: str) -> str:
    return {
        "communes": f"cq-geo data update --only communes{store_opt} (ou cq-geo data import communes FICHIER{store_opt})",
        "qpv": f"cq-geo data update --only qpv{store_opt} (ou cq-geo data import qpv FICHIER{store_opt})",
        "qpv2015": f"cq-geo data import qpv2015 FICHIER{store_opt} (facultatif, pour comparer)",
        "poche": f"cq-geo data import local FICHIER --tier poche{store_opt}",
        "qva": f"cq-geo data import local FICHIER --tier qva{store_opt}",
    }.get(layer) or f"cq-geo data import local FICHIER --tier {layer}{store_opt}"


def status_layer_entries(meta, rows, definition, store_opt: str, layers=LAYERS) -> list[dict[str, Any]]:
    """The per-layer entries of the status report (GeoPackage or shared store; *layers*: those to list)."""
    from ..report import LAYER_STATUS_FR

    entries = []
    for layer in layers:
        m = meta.get(layer) or {}
        status = m.get("status") or "missing"
        entry = {
            "layer": layer, "status": status, "status_fr": LAYER_STATUS_FR.get(status, status),
            "vintage": m.get("vintage") or "", "feature_count": int(m.get("feature_count") or 0),
            "source": m.get("source") or "", "publisher": m.get("publisher") or "", "licence": m.get("licence") or "",
            "sha256": m.get("sha256") or "", "imported_at": m.get("imported_at") or "", "note": m.get("note") or "",
            "missing": [], "provisional": [], "not_in_definition": [], "todo": [],
        }
        code_col = CODE_COLUMN[layer]
        codes = {r.get(code_col) for r in rows.get(layer, [])}
        if layer == "communes":
            entry["missing"] = [c for c in definition.communes if c not in codes]
            if status != "official":
                entry["todo"].append(_todo(layer, store_opt))
        elif layer == "qpv2015":
            if status == "missing":
                entry["todo"].append(_todo(layer, store_opt))
        else:
            zones = [z for z in definition.zones_of(layer) if z.geometry == "perimeter"]
            entry["missing"] = [z.code for z in zones if z.code not in codes]
            entry["not_in_definition"] = sorted(c for c in codes if c not in {z.code for z in definition.zones_of(layer)})
            if layer in definition.local_tier_ids:
                entry["provisional"] = sorted(r["code"] for r in rows.get(layer, []) if r.get("status") == "provisional")
            if entry["missing"] or (layer == "qpv" and status not in ("official", "missing")):
                entry["todo"].append(_todo(layer, store_opt))  # a « fichier importé » is not the official layer
            if entry["provisional"]:
                entry["todo"].append(f"cq-geo data validate-zone CODE --by NOM{store_opt}")
        entries.append(entry)
    return entries


def status_report(store_path=None, territory_file=None) -> dict[str, Any]:
    """What is installed, layer by layer, and what is missing with the command that fixes it.

    Works without a store (then it describes the embedded baseline).
    """
    from .pgstore import shared_url

    if shared_url(store_path):  # the shared store (PostGIS)
        from .pgstore import shared_status_report

        return shared_status_report(shared_url(store_path), territory_file=territory_file)
    from ..model import load_definition
    from ..paths import default_store_path, resolve_store
    from ..report import LAYER_STATUS_FR

    definition = load_definition(territory_file)
    resolved, origin = resolve_store(store_path)
    path = resolved if resolved is not None else default_store_path()
    store = Store(path)
    store_opt = f" --store {path}" if origin == "argument" else ""
    store.recover_if_needed()
    exists = store.exists()
    damaged = ""
    if exists:
        try:
            validate_store_file(path)
            meta = store.metadata()
            listed = store_layers(definition)  # the tiers of the territory file too
            present = set(store.layers()) | (set(meta) & set(listed))
            rows = {layer: store.polygon_rows(layer) for layer in listed if layer in present}
            history_count = len(store.polygon_rows(HISTORY_LAYER))
        except DataError as exc:
            return _damaged_report(store, origin, str(exc), store_opt)
    else:
        from ..geo.layers import load_baseline_communes

        geoms, info = load_baseline_communes()
        meta = {"communes": {**info.to_dict(), "imported_at": "", "note": "contours embarqués (aucun magasin)"}}
        rows = {"communes": [{"insee": c} for c in geoms]}
        history_count = 0
    layers = status_layer_entries(meta, rows, definition, store_opt, layers=store_layers(definition))
    # what the answers rest on (whole-commune zones take the commune outlines)
    if exists:
        territory = load_store_territory(path, territory_file=territory_file)
    else:
        from ..territory import Territory

        geoms, info = load_baseline_communes()
        territory = Territory(definition, geoms, info)
    for entry in layers:
        info = territory.layers.get(entry["layer"])
        if info is not None:
            entry["in_answers"] = {"status": info.status, "status_fr": LAYER_STATUS_FR.get(info.status, info.status),
                                   "feature_count": info.feature_count, "source": info.source}
    prev = store.previous_path
    return {
        "store": str(path), "exists": exists, "origin": origin if exists or origin != "baseline" else "baseline",
        "damaged": damaged,
        "previous_state": prev.is_file(),
        "previous_modified": (datetime.fromtimestamp(prev.stat().st_mtime, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
                              if prev.is_file() else ""),
        "history_count": history_count,
        "layers": layers,
        "create_with": "" if exists else f"cq-geo data update{store_opt}",
        "shared_copy": _shared_copy(path) if exists else None,
    }


def _shared_copy(path):
    """Origin and age of a local copy of the shared store (``cq-geo data pull``), else None."""
    from .pgstore import copy_age

    return copy_age(path)


def _damaged_report(store: Store, origin: str, problem: str, store_opt: str) -> dict[str, Any]:
    """The status of a store that cannot be read: the problem, the previous state, what to do."""
    prev = store.previous_path
    prev_ok = ""
    if prev.is_file():
        try:
            validate_store_file(prev)
            prev_ok = "valide"
        except DataError as exc:
            prev_ok = f"lui aussi illisible ({exc})"
    todo = [f"cq-geo data rollback{store_opt} (restaure l'état précédent, {prev_ok})"] if prev_ok == "valide" else []
    todo.append(f"ou réinstallez les couches dans un nouveau magasin : déplacez {store.path.name}, puis "
                f"cq-geo data update{store_opt}")
    return {
        "store": str(store.path), "exists": True, "origin": origin, "damaged": problem,
        "previous_state": prev.is_file(), "previous_state_check": prev_ok,
        "previous_modified": (datetime.fromtimestamp(prev.stat().st_mtime, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
                              if prev.is_file() else ""),
        "history_count": 0, "layers": [], "todo": todo, "create_with": "",
    }


def status_text(report: dict[str, Any]) -> str:
    """The status report in French."""
    lines = [f"Magasin de données : {report['store']}"]
    if report.get("damaged"):
        lines.append(f"  ENDOMMAGÉ : {report['damaged']}")
        lines.append("  (les commandes qui le lisent s'arrêtent avec ce message)")
        if report["previous_state"]:
            lines.append(f"  état précédent conservé ({report['previous_modified']}) : "
                         f"{report.get('previous_state_check', '')}")
        lines.extend(f"    → {t}" for t in report.get("todo", []))
        return "\n".join(lines)
    if not report["exists"]:
        if report["origin"] == "argument":
            lines.append(f"  (absent : les commandes avec --store {report['store']} s'arrêtent tant qu'il n'est pas "
                         f"créé par {report['create_with']} ou par un import ; sans --store, elles utilisent les "
                         "données embarquées)")
        else:
            lines.append(f"  (absent : les réponses utilisent les données embarquées ; il sera créé par "
                         f"{report['create_with']} ou par un import)")
    elif report.get("shared"):  # the shared store (PostGIS)
        last = report.get("last_change") or {}
        lines.append(f"  magasin partagé : {report['changes']} état(s) dans l'historique, dernier le {last.get('at', '')} "
                     f"({last.get('description', '')}, {last.get('author', '')}) : cq-geo data history, "
                     "cq-geo data rollback [--to ÉTAT]")
    elif report["previous_state"]:
        lines.append(f"  état précédent conservé ({report['previous_modified']}) : cq-geo data rollback pour le restaurer")
    if report.get("shared_copy"):
        c = report["shared_copy"]
        lines.append(f"  copie du magasin partagé {c['source']} (état {c['state']} du {c['state_at']}) faite le "
                     f"{c['pulled_at']}, il y a {c['age_text']} : cq-geo data pull pour la rafraîchir")
    for e in report["layers"]:
        head = f"- {e['layer']} : {e['status_fr']}, {e['feature_count']} entité(s)"
        if e["vintage"]:
            head += f", {e['vintage']}"
        lines.append(head)
        if e["source"]:
            lines.append(f"    source : {e['source']}" + (f" ({e['publisher']})" if e["publisher"] else ""))
        if e["imported_at"]:
            lines.append(f"    installée le : {e['imported_at']}" + (f", sha256 {e['sha256'][:12]}…" if e["sha256"] else ""))
        ans = e.get("in_answers")
        if ans and (ans["status"] != e["status"] or ans["feature_count"] != e["feature_count"]):
            lines.append(f"    dans les réponses : {ans['status_fr']}, {ans['feature_count']} zone(s) — {ans['source']}")
        if e["missing"]:
            lines.append(f"    manquant : {', '.join(e['missing'])}")
        if e["provisional"]:
            lines.append(f"    provisoire(s), à valider : {', '.join(e['provisional'])}")
        if e["not_in_definition"]:
            lines.append(f"    hors définition du territoire (ignoré) : {', '.join(e['not_in_definition'])}")
        for t in e["todo"]:
            lines.append(f"    → {t}")
    if report.get("ban") is not None:  # the shared store's address index (offline geocoder)
        lines.extend(_ban_status_lines(report["ban"]))
    return "\n".join(lines)


def _ban_status_lines(ban: dict[str, Any]) -> list[str]:
    """The BAN address index in the status text (rows, source file and its sha256, import date)."""
    if not ban.get("present"):
        return ["- index BAN (géocodage hors ligne) : absent", f"    → {ban['todo']}"]
    lines = [f"- index BAN (géocodage hors ligne) : {ban['numbers']} adresses numérotées, {ban['streets']} voies "
             "et lieux-dits",
             f"    source : {ban['source']}" + (f" + {ban['lieux_dits_source']}" if ban.get("lieux_dits_source") else ""),
             f"    installé le : {ban['imported_at']}" + (f", sha256 {ban['sha256'][:12]}…" if ban["sha256"] else "")]
    return lines
