"""The user's data store: one GeoPackage holding the territory's layers and what they are.

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
``near_m`` and a ``note``. :func:`read_store_rows` returns the geometries and
:func:`cq_geo.territory.load_store_territory` builds the :class:`~cq_geo.territory.Territory`
from them, so every answer says which version of which layer it rests on.

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
- **nothing written over the store**: :func:`cq_geo.data.store.is_store_path` tells other
  commands (``cq-geo batch -o``…) that a path is a store;
- temporary files left by an interrupted run are removed by the next writer.

Writing needs only the standard library and numpy (:func:`cq_geo.data.imports.import_records`,
used by the QGIS plugin); reading files (``data import``) needs the ``geo``
extra (pyogrio), lookups need shapely.

Choose the store (GeoPackage or shared) with :func:`cq_geo.data.store.open_store`.

>>> import tempfile, pathlib
>>> store = open_local_store(pathlib.Path(tempfile.mkdtemp()) / "cq-geo.gpkg")
>>> store.layer_info("communes").status, store.layer_info("qpv").status
('simplified', 'missing')
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import sqlite3
import sys
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterator

from ..errors import DataError
from ..geo.layers import LayerInfo
from ..model import GEOMETRY_STATUSES
from .common import (
    CODE_COLUMN,
    CRS,
    HISTORY_LAYER,
    LAYER_COLUMNS,
    LAYERS,
    LOCK_TIMEOUT_ENV,
    METADATA_COLUMNS,
    METADATA_TABLE,
    SRS_ID,
    StoreRows,
    baseline_polygons,
    column_value,
    connect_ro,
    crash_point,
    info_from_row,
    now_iso,
    table_names,
)
from .journal import (
    drop_lock,
    fsync_dir,
    fsync_file,
    hold_lock,
    link_or_copy,
    lock_fd,
    lock_timeout,
    reenter_lock,
    unlock_fd,
)
from .polygons import gpkg_blob, gpkg_blob_to_wkb, polys_of, register_sql_functions, wkb_polygons


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
        from ..geo.gpkg import read_gpkg_blob as decode
    else:
        import shapely

        def decode(blob):
            wkb = gpkg_blob_to_wkb(blob)
            return shapely.from_wkb(wkb) if wkb else None

    geom_col = _geometry_column(con, layer)
    cur = con.execute(f'SELECT * FROM "{layer}"')
    names = [d[0] for d in cur.description]
    rows = []
    for values in cur:
        row = dict(zip(names, values))
        row["geometry"] = decode(row.pop(geom_col))
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
                "VALUES (?, 'features', ?, ?, ?)", (layer, layer, description, SRS_ID))
    con.execute("INSERT INTO gpkg_geometry_columns VALUES (?, 'geom', 'MULTIPOLYGON', ?, 0, 0)", (layer, SRS_ID))
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

    *con* must have the R-tree functions registered (:func:`register_sql_functions`).
    """
    if layer not in table_names(con):
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
        values.append((blob, *(column_value(layer, c, r.get(c)) for c in cols)))
    con.executemany(f'INSERT INTO "{layer}" ({col_sql}) VALUES ({", ".join("?" * (len(cols) + 1))})', values)
    # extent and count, as GDAL keeps them
    ext = con.execute(f'SELECT min(minx), min(miny), max(maxx), max(maxy) FROM "rtree_{layer}_{geom_col}"').fetchone() \
        if f"rtree_{layer}_{geom_col}" in table_names(con) else (None, None, None, None)
    con.execute("UPDATE gpkg_contents SET min_x = ?, min_y = ?, max_x = ?, max_y = ?, "
                "last_change = strftime('%Y-%m-%dT%H:%M:%fZ','now') WHERE table_name = ?", (*ext, layer))
    if "gpkg_ogr_contents" in table_names(con):
        count = con.execute(f'SELECT count(*) FROM "{layer}"').fetchone()[0]
        con.execute("UPDATE gpkg_ogr_contents SET feature_count = ? WHERE table_name = ?", (count, layer))


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
            register_sql_functions(self._con)
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
        if frame.crs is not None and frame.crs.to_epsg() != SRS_ID:
            frame = frame.to_crs(CRS)
        cols = [c for c in LAYER_COLUMNS[layer] if c in frame.columns]
        rows = [{**{c: v for c, v in zip(cols, values)}, "polys": polys_of(g)}
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
            h["polys"] = r["polys"] if "polys" in r else polys_of(r.get("geometry"))
            out.append(h)
        _write_features(self.connect(), HISTORY_LAYER, out, append=True)

    def set_metadata(self, layer: str, **values: Any) -> None:
        """Insert or update the metadata row of *layer* (``status``, ``source``, ``sha256``…)."""
        con = self.connect()
        unknown = set(values) - set(METADATA_COLUMNS)
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
    if "gpkg_ogr_contents" in table_names(con):
        con.execute("DELETE FROM gpkg_ogr_contents WHERE table_name = ?", (name,))


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
        nested = reenter_lock(key)
        if nested is not None:
            with nested:
                yield self
            return
        timeout = lock_timeout(timeout)
        try:
            fd = os.open(self.lock_path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as exc:
            raise DataError(f"impossible de poser le verrou {self.lock_path} : dossier en lecture seule ? "
                            f"Le magasin ne peut pas être modifié ici ({exc})") from exc
        try:
            if not lock_fd(fd, blocking=False):
                other = ""
                with contextlib.suppress(OSError, ValueError):
                    other = os.pread(fd, 64, 0).decode().strip() if hasattr(os, "pread") else ""
                msg = (f"le magasin {self.path} est en cours de modification par une autre commande"
                       f"{f' (processus {other})' if other else ''} : attente de la fin (au plus {timeout:.0f} s)…")
                (notice or (lambda m: print(f"cq-geo : {m}", file=sys.stderr, flush=True)))(msg)
                deadline = time.monotonic() + timeout
                while not lock_fd(fd, blocking=False):
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
                unlock_fd(fd)
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
            if lock_fd(fd, blocking=False):
                try:
                    self._recover()
                finally:
                    unlock_fd(fd)
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
        fsync_dir(self.path.parent)
        journal.unlink()
        fsync_dir(self.path.parent)

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
        crash_point(f"{step}:before-journal")
        os.replace(tmp, journal)
        fsync_dir(self.path.parent)
        crash_point(f"{step}:after-journal")
        try:
            for i, (src, dst) in enumerate(renames, 1):
                os.replace(src, dst)
                crash_point(f"{step}:after-rename-{i}")
        except PermissionError as exc:  # Windows: the file is open elsewhere; undo what can be undone
            raise DataError(f"impossible de remplacer {self.path} : fichier ouvert dans un autre logiciel "
                            f"(QGIS ?) — fermez-le : la modification sera terminée à la prochaine commande "
                            f"cq-geo data ({exc})") from exc
        fsync_dir(self.path.parent)
        journal.unlink()
        fsync_dir(self.path.parent)

    # -- reading ------------------------------------------------------------------------------
    @contextlib.contextmanager
    def connect(self) -> Iterator[sqlite3.Connection]:
        """A read-only sqlite3 connection (closed when the ``with`` block ends)."""
        if not self.exists():
            raise DataError(f"magasin de données introuvable : {self.path}")
        con = connect_ro(self.path)
        try:
            yield con
        finally:
            con.close()

    def metadata(self) -> dict[str, dict[str, Any]]:
        """The ``cq_layers`` table: ``{layer: {source, status, …}}``."""
        with self.connect() as con:
            return read_metadata(con)

    def layer_info(self, layer: str) -> LayerInfo:
        """The :class:`~cq_geo.geo.layers.LayerInfo` of *layer* from the metadata table."""
        return info_from_row(layer, self.metadata().get(layer))

    def layers(self) -> list[str]:
        """Spatial layers present in the store (among :data:`LAYERS`)."""
        with self.connect() as con:
            present = {r[0] for r in con.execute("SELECT table_name FROM gpkg_contents WHERE data_type = 'features'")}
        return [name for name in LAYERS if name in present]

    def rows(self, layer: str) -> list[dict[str, Any]]:
        """Rows of spatial *layer* (shapely geometry under ``"geometry"``); [] when absent."""
        with self.connect() as con:
            if layer not in table_names(con):
                return []
            return read_layer_rows(con, layer)

    def polygon_rows(self, layer: str) -> list[dict[str, Any]]:
        """Rows of spatial *layer* with numpy rings under ``"polys"`` (no shapely); [] when absent."""
        with self.connect() as con:
            if layer not in table_names(con):
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
        from ..files import file_sha256

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
                fsync_file(work_path)
                link_or_copy(self.path, prev_tmp)
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
            if name not in table_names(con):
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
                link_or_copy(self.path, to_prev)
                link_or_copy(prev, to_store)
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
            polys, meta = baseline_polygons()
            codes = [c for c in definition.communes if c in polys]
            tmp = self._tmp_name()
            try:
                con = sqlite3.connect(tmp)
                try:
                    register_sql_functions(con)
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
                fsync_file(tmp)
                os.replace(tmp, self.path)
                fsync_dir(self.path.parent)
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


def _create_metadata_table(con: sqlite3.Connection) -> None:
    con.execute(
        f"""CREATE TABLE IF NOT EXISTS {METADATA_TABLE} (
            fid INTEGER PRIMARY KEY AUTOINCREMENT,
            layer TEXT NOT NULL UNIQUE, source TEXT, publisher TEXT, licence TEXT, vintage TEXT,
            sha256 TEXT, imported_at TEXT, status TEXT NOT NULL DEFAULT 'missing',
            feature_count INTEGER NOT NULL DEFAULT 0, edge_m REAL, near_m REAL, note TEXT)"""
    )
    _register_attributes(con, METADATA_TABLE, "cq-geo : provenance et statut de chaque couche")


def read_metadata(con: sqlite3.Connection) -> dict[str, dict[str, Any]]:
    if METADATA_TABLE not in table_names(con):
        raise DataError("magasin de données invalide : table cq_layers absente (fichier créé par un autre outil ?)")
    cur = con.execute(f"SELECT {', '.join(METADATA_COLUMNS)} FROM {METADATA_TABLE}")
    return {row[0]: dict(zip(METADATA_COLUMNS, row)) for row in cur}


def check_store_rows(con: sqlite3.Connection, label) -> None:
    """Row-level checks of a store (empty codes, text in number columns, unreadable geometries, bad metadata).

    Raises :class:`~cq_geo.errors.DataError` naming the table and the row.
    """
    tables = table_names(con)
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
        con = connect_ro(path)
        try:
            if integrity and con.execute("PRAGMA quick_check").fetchone()[0] != "ok":
                raise DataError(f"{path} : fichier GeoPackage corrompu (contrôle d'intégrité SQLite)")
            tables = table_names(con)
            if "gpkg_contents" not in tables:
                raise DataError(f"{path} : ce n'est pas un GeoPackage")
            meta = read_metadata(con)
            check_store_rows(con, path)
            srs = dict(con.execute("SELECT table_name, srs_id FROM gpkg_contents WHERE data_type = 'features'"))
            for layer in ("communes", "qpv", "poche", "qva", HISTORY_LAYER):
                if layer not in srs:
                    raise DataError(f"{path} : couche « {layer} » absente du magasin")
            for layer, srs_id in srs.items():
                if layer in LAYERS + (HISTORY_LAYER,) and srs_id != SRS_ID:
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


# -- opening ---------------------------------------------------------------------------------------
def local_store_at(path: str | os.PathLike | None = None) -> Store:
    """The GeoPackage :class:`Store` at *path* / ``CQ_GEO_STORE`` / the user's data directory (not created, not checked)."""
    from ..paths import default_store_path, resolve_store

    resolved, _origin = resolve_store(path)
    return Store(resolved if resolved is not None else default_store_path())


def open_local_store(path: str | os.PathLike | None = None, create: bool = True, territory_file=None) -> Store:
    """The GeoPackage store at *path* (else ``CQ_GEO_STORE``, else the user's data directory), recovered and checked.

    With *create*, a missing store is created and seeded from the embedded
    baseline; without, a missing store raises :class:`~cq_geo.errors.DataError`.

    >>> import tempfile, pathlib
    >>> open_local_store(pathlib.Path(tempfile.mkdtemp()) / "cq-geo.gpkg").layer_info("qpv").status
    'missing'
    """
    store = local_store_at(path)
    store.recover_if_needed()
    if not store.exists():
        if not create:
            raise DataError(f"magasin de données introuvable : {store.path} (créé par cq-geo data update ou data import)")
        store.create(territory_file=territory_file)
    else:
        validate_store_file(store.path, integrity=False)
    return store


# -- the territory's geometries from a store -------------------------------------------------------
def read_store_rows(path: str | os.PathLike, territory_file=None) -> StoreRows:
    """The territory's geometries and provenance in a store file (:class:`~cq_geo.data.common.StoreRows`).

    Commune outlines, QPV perimeters and local zones as polygons, each layer's
    metadata row: :func:`cq_geo.territory.load_store_territory` builds the
    :class:`~cq_geo.territory.Territory` from them.
    """
    from ..model import load_definition

    path = Path(path)
    Store(path).recover_if_needed()
    definition = load_definition(territory_file)
    try:
        con = connect_ro(path)
    except sqlite3.Error as exc:
        raise DataError(f"magasin de données illisible : {path} ({exc})") from exc
    try:
        meta = read_metadata(con)
        check_store_rows(con, f"magasin de données {path}")
        tables = table_names(con)
        commune_rows = read_layer_rows(con, "communes", polygons=True) if "communes" in tables else []
        tier_rows = {t: (read_layer_rows(con, t, polygons=True) if t in tables else []) for t in definition.tier_ids}
    except sqlite3.DatabaseError as exc:
        raise DataError(f"magasin de données illisible : {path} ({exc})") from exc
    finally:
        con.close()
    return StoreRows(meta, commune_rows, tier_rows, definition, path)
