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

Every change is atomic: the store is copied aside, the copy is written and
validated, the current file is kept as ``<store>.prev`` and the copy replaces
the store with :func:`os.replace`. :meth:`Store.rollback` swaps the store and
its previous state (a second rollback undoes the first). The previous state is
the whole file before the last change, whatever that change was (a layer
import or a table written by another module).

Reading (lookups) needs only the standard library, shapely and numpy;
writing layers needs the ``geo`` extra (geopandas, pyogrio).

Helper for other modules (e.g. the offline geocoder keeping an address index
in the same file)::

    from cq_geo.store import open_store
    store = open_store()                     # --store / CQ_GEO_STORE / user store, created if absent
    store.path                               # pathlib.Path of the GeoPackage
    with store.connect() as con:             # read-only sqlite3 connection
        con.execute("SELECT count(*) FROM communes").fetchone()
    store.write_table("ban_index", dataframe, indexes=["citycode"])   # replace a table, atomically
    store.read_table("ban_index")            # back as a pandas DataFrame
    with store.change("mon changement") as work:   # any other atomic change
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
import os
import shutil
import sqlite3
import struct
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterator

from .errors import DataError, MissingDependency
from .layers import LayerInfo
from .model import GEOMETRY_STATUSES, TIERS

__all__ = [
    "Store",
    "StoreChange",
    "open_store",
    "load_store_territory",
    "LAYERS",
    "LOCAL_TIERS",
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


# -- reading GeoPackage geometries without GDAL ----------------------------------------------
_ENVELOPE_BYTES = {0: 0, 1: 32, 2: 48, 3: 48, 4: 64}


def gpkg_blob_to_wkb(blob: bytes) -> bytes | None:
    """The WKB inside a GeoPackage geometry blob (``None`` for an empty geometry).

    >>> import shapely
    >>> wkb = shapely.to_wkb(shapely.Point(1, 2))
    >>> header = b"GP" + bytes([0, 0b00000001]) + struct.pack("<i", 2154)
    >>> shapely.from_wkb(gpkg_blob_to_wkb(header + wkb)).wkt
    'POINT (1 2)'
    """
    if blob is None:
        return None
    blob = bytes(blob)
    if blob[:2] != b"GP":
        raise DataError("géométrie GeoPackage illisible (en-tête « GP » absent)")
    flags = blob[3]
    if flags & 0b00010000:
        return None
    envelope = _ENVELOPE_BYTES.get((flags >> 1) & 0b111)
    if envelope is None:
        raise DataError("géométrie GeoPackage illisible (enveloppe inconnue)")
    return blob[8 + envelope:]


def _connect_ro(path: Path) -> sqlite3.Connection:
    return sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)


def _tables(con: sqlite3.Connection) -> set[str]:
    return {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type IN ('table', 'view')")}


def _geometry_column(con: sqlite3.Connection, table: str) -> str:
    row = con.execute("SELECT column_name FROM gpkg_geometry_columns WHERE table_name = ?", (table,)).fetchone()
    if row is None:
        raise DataError(f"magasin de données : la couche « {table} » n'a pas de colonne géométrique")
    return row[0]


def read_layer_rows(con: sqlite3.Connection, layer: str, *, polygons: bool = False) -> list[dict[str, Any]]:
    """Rows of a spatial layer as dicts, with its shapely geometry under ``"geometry"``.

    With *polygons*, the geometry is a :class:`cq_geo.gpkg.Polygons` read with
    sqlite3 + numpy only (what lookups use: no shapely, no GDAL).
    """
    if polygons:
        from .gpkg import read_gpkg_blob

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


def _need_geo():
    try:
        import geopandas  # noqa: F401
        import pyogrio  # noqa: F401
    except ImportError as exc:
        raise MissingDependency(
            "l'écriture du magasin de données demande les bibliothèques SIG : pip install \"cq-geo[geo]\""
        ) from exc


def empty_frame(layer: str):
    """An empty GeoDataFrame with the columns of *layer* (EPSG:2154)."""
    import geopandas as gpd
    import pandas as pd

    cols = {name: pd.Series([], dtype="object" if dtype == "str" else dtype) for name, dtype in LAYER_COLUMNS[layer].items()}
    return gpd.GeoDataFrame(cols, geometry=gpd.GeoSeries([], crs=CRS))


def _multi(geom):
    import shapely

    if geom is None:
        return None
    if geom.geom_type == "Polygon":
        return shapely.MultiPolygon([geom])
    return geom


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
        return self._con

    def close(self) -> None:
        if self._con is not None:
            self._con.commit()
            self._con.close()
            self._con = None

    # the writers below go through GDAL (pyogrio): close our connection first
    def write_layer(self, layer: str, frame) -> None:
        """Replace spatial *layer* of the working copy with GeoDataFrame *frame* (reprojected to EPSG:2154)."""
        _need_geo()
        import pyogrio

        self.close()
        frame = frame.to_crs(CRS) if frame.crs is not None and frame.crs.to_epsg() != _SRS_ID else frame
        if frame.crs is None:
            frame = frame.set_crs(CRS)
        frame = frame.copy()
        frame["geometry"] = [_multi(g) for g in frame.geometry]
        pyogrio.write_dataframe(frame, self.path, layer=layer, driver="GPKG", geometry_type="MultiPolygon",
                                promote_to_multi=True)

    def append_history(self, rows: list[dict[str, Any]]) -> None:
        """Add rows (``layer``, ``code``, ``action``, ``status``, ``author``, ``source``, ``sha256``, ``geometry``)."""
        if not rows:
            return
        _need_geo()
        import geopandas as gpd
        import pyogrio

        self.close()
        at = now_iso()
        cols = {name: [str(r.get(name) or "") if name != "at" else (r.get("at") or at) for r in rows]
                for name in LAYER_COLUMNS["history"]}
        frame = gpd.GeoDataFrame(cols, geometry=gpd.GeoSeries([_multi(r.get("geometry")) for r in rows], crs=CRS))
        pyogrio.write_dataframe(frame, self.path, layer=HISTORY_LAYER, driver="GPKG", geometry_type="MultiPolygon",
                                append=True, promote_to_multi=True)

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
        con.commit()

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

    def exists(self) -> bool:
        return self.path.is_file()

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
        """The :class:`~cq_geo.layers.LayerInfo` of *layer* from the metadata table."""
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
        """An atomic change: yields a :class:`StoreChange` on a working copy.

        On success the copy is validated (structure, CRS, counts, plus
        ``validate(path)`` if given), the current store becomes the previous
        state and the copy replaces it. On any error the store is untouched.
        """
        if not self.exists():
            raise DataError(f"magasin de données introuvable : {self.path}")
        wal = self.path.with_name(self.path.name + "-wal")
        if wal.exists() and wal.stat().st_size > 0:
            raise DataError(f"le magasin {self.path} est ouvert en écriture dans un autre logiciel (QGIS ?) : "
                            "enregistrez et fermez-le, puis recommencez")
        work_path = self.path.with_name(f".{self.path.name}.{uuid.uuid4().hex[:8]}.tmp.gpkg")
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
            prev_tmp = self.previous_path.with_name(self.previous_path.name + f".{uuid.uuid4().hex[:8]}.tmp.gpkg")
            try:  # the current file becomes the previous state: a hard link, no copy, where possible
                os.link(self.path, prev_tmp)
            except OSError:
                shutil.copy2(self.path, prev_tmp)
            try:
                os.replace(prev_tmp, self.previous_path)
                os.replace(work_path, self.path)
            except PermissionError as exc:  # Windows: the file is open elsewhere
                with contextlib.suppress(OSError):
                    prev_tmp.unlink()
                raise DataError(f"impossible de remplacer {self.path} : fichier ouvert dans un autre logiciel "
                                f"(QGIS ?) — fermez-le et recommencez ({exc})") from exc
        finally:
            work.close()
            for p in (work_path,):
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
        """Swap the store and its previous state (a second rollback undoes the first)."""
        prev = self.previous_path
        if not prev.is_file():
            raise DataError(f"aucun état précédent à restaurer pour {self.path} (aucune modification depuis la création)")
        validate_store_file(prev)
        tmp = self.path.with_name(f".{self.path.name}.{uuid.uuid4().hex[:8]}.tmp.gpkg")
        os.replace(self.path, tmp)
        os.replace(prev, self.path)
        os.replace(tmp, prev)

    def create(self, territory_file=None) -> None:
        """Create the store, seeded from the embedded baseline (atomic; refuses to overwrite)."""
        _need_geo()
        import geopandas as gpd

        from .layers import load_baseline_communes
        from .model import load_definition

        if self.exists():
            raise DataError(f"le magasin de données existe déjà : {self.path}")
        definition = load_definition(territory_file)
        geoms, info = load_baseline_communes()
        codes = [c for c in definition.communes if c in geoms]
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_name(f".{self.path.name}.{uuid.uuid4().hex[:8]}.tmp.gpkg")
        try:
            work = StoreChange(tmp, "création")
            communes = gpd.GeoDataFrame(
                {"insee": codes, "name": [definition.commune_name(c) for c in codes]},
                geometry=gpd.GeoSeries([geoms[c] for c in codes], crs=CRS),
            )
            work.write_layer("communes", communes)
            for layer in ("qpv", "poche", "qva", HISTORY_LAYER):
                work.write_layer(layer, empty_frame(layer))
            con = work.connect()
            _create_metadata_table(con)
            now = now_iso()
            work.set_metadata(
                "communes", source=info.source, publisher=info.publisher, licence=info.licence, vintage=info.vintage,
                sha256=info.sha256, imported_at=now, status=info.status, feature_count=len(codes),
                edge_m=info.edge_m, near_m=info.near_m, note="contours embarqués (cq-geo)",
            )
            for layer in ("qpv", "poche", "qva"):
                work.set_metadata(layer, status="missing", feature_count=0, imported_at="", source="", note="")
            work.close()
            work.append_history([{"layer": "communes", "code": c, "action": "seed", "status": info.status,
                                  "author": "cq-geo", "source": info.source, "sha256": info.sha256,
                                  "geometry": geoms[c]} for c in codes])
            validate_store_file(tmp)
            os.replace(tmp, self.path)
        finally:
            with contextlib.suppress(FileNotFoundError):
                tmp.unlink()


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


def validate_store_file(path: str | os.PathLike, integrity: bool = True) -> None:
    """Check a store file: sqlite integrity (if *integrity*), layers in EPSG:2154, metadata counts.

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
                    if row["status"] not in GEOMETRY_STATUSES:
                        raise DataError(f"{path} : statut inconnu pour la couche « {layer} » : {row['status']!r}")
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
    from .paths import default_store_path, resolve_store

    resolved, _origin = resolve_store(path)
    store = Store(resolved if resolved is not None else default_store_path())
    if not store.exists():
        if not create:
            raise DataError(f"magasin de données introuvable : {store.path} (créé par cq-geo data update ou data import)")
        store.create(territory_file=territory_file)
    else:
        validate_store_file(store.path, integrity=False)
    return store


# -- territory from a store ---------------------------------------------------------------------
def load_store_territory(path: str | os.PathLike, territory_file=None):
    """Build the :class:`~cq_geo.territory.Territory` from a store file.

    Commune outlines, QPV perimeters and local zones come from the store;
    each layer's provenance (:class:`~cq_geo.layers.LayerInfo`) comes from its
    metadata row, so an answer says which version it rests on. Zones the
    territory definition does not know are ignored (``cq-geo data status``
    lists them).
    """
    from .model import load_definition
    from .territory import Territory

    path = Path(path)
    definition = load_definition(territory_file)
    known = {z.code: z for z in definition.zones}
    try:
        con = _connect_ro(path)
    except sqlite3.Error as exc:
        raise DataError(f"magasin de données illisible : {path} ({exc})") from exc
    try:
        meta = _read_metadata(con)
        tables = _tables(con)
        commune_rows = read_layer_rows(con, "communes", polygons=True) if "communes" in tables else []
        tier_rows = {t: (read_layer_rows(con, t, polygons=True) if t in tables else []) for t in TIERS}
    except sqlite3.DatabaseError as exc:
        raise DataError(f"magasin de données illisible : {path} ({exc})") from exc
    finally:
        con.close()

    commune_geoms = {r["insee"]: r["geometry"] for r in commune_rows if r["geometry"] is not None}
    commune_info = _info_from_row("communes", meta.get("communes"))
    if not commune_geoms:
        raise DataError(f"magasin de données {path} : aucun contour de commune")
    commune_info.feature_count = len(commune_geoms)

    zone_geoms: dict[str, tuple[Any, str]] = {}
    layer_infos: dict[str, LayerInfo] = {}
    for tier in TIERS:
        row = meta.get(tier)
        info = _info_from_row(tier, row)
        code_col = CODE_COLUMN[tier]
        statuses = []
        for r in tier_rows[tier]:
            code = r.get(code_col)
            zone = known.get(code)
            if zone is None or zone.tier != tier or r["geometry"] is None:
                continue
            status = r.get("status") if tier in LOCAL_TIERS else info.status
            status = status if status in GEOMETRY_STATUSES else "provisional"
            zone_geoms[code] = (r["geometry"], status)
            statuses.append(status)
        if not statuses:
            continue  # let the territory derive it (missing, or whole communes)
        if tier in LOCAL_TIERS:
            whole = [z for z in definition.zones_of(tier) if z.geometry == "commune" and z.code not in zone_geoms]
            if whole:
                statuses.append(commune_info.status)
                info.source = f"{info.source} ; communes entières : {commune_info.source}"
            info.status = worst_status(statuses)
            info.edge_m = info.near_m = None
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

    def to_dict(self) -> dict[str, Any]:
        from dataclasses import asdict

        out = asdict(self)
        out["described"] = str(self.described)
        return out

    def to_text(self) -> str:
        """A French summary (what the CLI prints)."""
        from .report import LAYER_STATUS_FR

        if not self.changed:
            return f"{self.layer} : déjà à jour ({self.described}, sha256 {self.sha256[:12]}…) — aucun changement"
        lines = [
            f"{self.layer} : {self.feature_count} entité(s) installée(s), statut "
            f"{LAYER_STATUS_FR.get(self.status, self.status)} — {self.described}",
            f"  sha256 de la source : {self.sha256}",
        ]
        if self.features_read:
            lines.append(f"  {self.features_read} entité(s) lue(s) dans le fichier")
        for label, codes in (("ajoutées", self.added), ("remplacées", self.replaced), ("retirées", self.removed)):
            if codes:
                lines.append(f"  zones {label} : {', '.join(codes)}")
        lines.extend(f"  ! {n}" for n in self.notes)
        return "\n".join(lines)


def _file_date(path: Path) -> str:
    return datetime.fromtimestamp(path.stat().st_mtime, timezone.utc).strftime("%Y-%m-%d")


def _http_date(value: str) -> str:
    from email.utils import parsedate_to_datetime

    try:
        return parsedate_to_datetime(value).strftime("%Y-%m-%d") if value else ""
    except (TypeError, ValueError):
        return ""


def _geometry_changes(old_rows, new_frame, code_col):
    """(added, replaced, removed, unchanged) codes between old rows and a new frame."""
    old = {r[code_col]: r["geometry"] for r in old_rows}
    new = dict(zip(new_frame[code_col], new_frame.geometry.values))
    added = sorted(set(new) - set(old))
    removed = sorted(set(old) - set(new))
    replaced, unchanged = [], []
    for code in sorted(set(new) & set(old)):
        a, b = old[code], new[code]
        same = a is not None and b is not None and a.equals_exact(_multi(b), 0.01)
        (unchanged if same else replaced).append(code)
    return added, replaced, removed, unchanged


def import_official(store: Store, kind: str, path, *, source: str | None = None, vintage: str | None = None,
                    territory_file=None, layer: str | None = None, force: bool = False) -> ImportReport:
    """Import an official file into *store*: *kind* ``qpv``, ``qpv2015`` or ``communes``.

    The file is read and checked (see :mod:`cq_geo.sources`); on any problem a
    :class:`~cq_geo.errors.DataError` is raised and the store is unchanged. The
    same file (same sha256) already installed is not imported again unless *force*.
    """
    from . import sources
    from .model import load_definition

    if kind not in ("qpv", "qpv2015", "communes"):
        raise DataError(f"type d'import inconnu : {kind!r} (qpv, qpv2015, communes ou local)")
    path = Path(path)
    digest = sources.file_sha256(path) if path.is_file() else ""
    meta = store.metadata().get(kind) or {}
    if digest and not force and meta.get("sha256") == digest and meta.get("status") not in (None, "missing"):
        return ImportReport(kind, path.name, meta.get("source") or "", digest, int(meta.get("feature_count") or 0),
                            meta.get("status") or "", changed=False)
    definition = load_definition(territory_file)
    date = vintage or (_file_date(path) if path.is_file() else "")
    if kind == "communes":
        read = sources.read_communes(path, definition, layer=layer)
        src = sources.SOURCES["communes"]
        is_api = read.flavour == "geo.api" or (source is not None and "/epcis/" in source)
        values = dict(
            source=source or path.name,
            publisher=src.publisher if is_api else "IGN (ADMIN EXPRESS)",
            licence=src.licence,
            vintage=(f"geo.api.gouv.fr, téléchargé le {date}" if is_api else f"fichier du {date}"),
            status="official", edge_m=5.0, near_m=10.0,
        )
        frame, code_col, features_read, notes = read.frame, "insee", read.features_read, read.notes
    else:
        generation = "2015" if kind == "qpv2015" else "2024"
        communes = {r["insee"]: r["geometry"] for r in store.rows("communes")}
        read = sources.read_qpv(path, definition, communes, generation=generation, layer=layer)
        src = sources.SOURCES["qpv"]
        label = "QPV 2024 (décret n° 2023-1314)" if generation == "2024" else "QPV 2015 (décret n° 2014-1750, remplacé en 2024)"
        values = dict(source=source or path.name, publisher=src.publisher, licence=src.licence,
                      vintage=f"{label}, fichier du {date}", status="official", edge_m=None, near_m=None)
        frame, code_col, features_read = read.frame, "code_qp", read.features_read
        notes = list(read.notes)
        if read.shared:
            notes.append(f"QPV partagés avec des communes hors du territoire : {', '.join(read.shared)}")
    added, replaced, removed, _ = _geometry_changes(store.rows(kind), frame, code_col)
    now = now_iso()
    with store.change(f"import {kind}") as work:
        work.write_layer(kind, frame)
        work.set_metadata(kind, sha256=digest, imported_at=now, feature_count=len(frame),
                          note="; ".join(notes + [f"{features_read} entité(s) lue(s) dans {read.described}"]), **values)
        geoms = dict(zip(frame[code_col], frame.geometry.values))
        hist = [{"layer": kind, "code": c, "action": "add", "geometry": geoms[c]} for c in added]
        hist += [{"layer": kind, "code": c, "action": "replace", "geometry": geoms[c]} for c in replaced]
        hist += [{"layer": kind, "code": c, "action": "remove", "geometry": None} for c in removed]
        for h in hist:
            h.update(status="official", author="cq-geo", source=values["source"], sha256=digest, at=now)
        work.append_history(hist)
    return ImportReport(kind, read.described, values["source"], digest, len(frame), "official",
                        features_read=features_read, notes=notes, added=added, replaced=replaced, removed=removed)


def _local_layer_status(rows) -> str:
    return worst_status(r["status"] for r in rows)


def import_local(store: Store, path, tier: str, *, name_field: str | None = None, accept_overlap: bool = False,
                 author: str = "", territory_file=None, layer: str | None = None) -> ImportReport:
    """Import zones drawn by the agglomeration (*tier* ``poche`` or ``qva``); they become ``provisional``.

    Checks: each feature attached to a zone of the tier (suggestions for
    unknown names), valid polygons, inside the zone's commune(s) within the
    commune layer's tolerance, no overlap with another zone of the tier unless
    *accept_overlap*. All problems are listed in one :class:`DataError`.
    """
    import geopandas as gpd
    import shapely

    from . import sources
    from .model import load_definition, suggest

    if tier not in LOCAL_TIERS:
        raise DataError(f"niveau {tier!r} non importable localement{suggest(tier, LOCAL_TIERS)} (poche ou qva)")
    path = Path(path)
    definition = load_definition(territory_file)
    communes = {r["insee"]: r["geometry"] for r in store.rows("communes")}
    read = sources.read_local_zones(path, definition, tier, name_field=name_field, layer=layer, commune_geoms=communes)
    digest = sources.file_sha256(path)
    cinfo = store.layer_info("communes")
    tol = max(float(cinfo.edge_m or 0.0), 10.0)
    problems = []
    for code, name, zc, geom in zip(read.frame["code"], read.frame["name"], read.frame["communes"], read.frame.geometry):
        cgeoms = [communes[c] for c in zc.split(";") if c in communes]
        if not cgeoms:
            problems.append(f"{name} : contour de commune absent du magasin")
            continue
        allowed = shapely.union_all(cgeoms).buffer(tol)
        outside = geom.difference(allowed)
        if outside.area > 1.0:
            cnames = ", ".join(definition.commune_name(c) for c in zc.split(";"))
            problems.append(
                f"{name} ({code}) : {outside.area:,.0f} m² hors de sa commune ({cnames}), au-delà de la tolérance "
                f"de {tol:g} m — périmètre mal placé ou mauvais système de coordonnées ?".replace(",", " ")
            )
    old_rows = store.rows(tier)
    new_codes = set(read.frame["code"])
    kept = [r for r in old_rows if r["code"] not in new_codes]
    overlaps: dict[str, list[str]] = {}
    candidates = [(r["code"], r["geometry"]) for r in kept] + list(zip(read.frame["code"], read.frame.geometry))
    for i, (code_a, ga) in enumerate(candidates):
        for code_b, gb in candidates[i + 1:]:
            if code_a not in new_codes and code_b not in new_codes:
                continue
            if ga is not None and gb is not None and ga.intersects(gb):
                area = ga.intersection(gb).area
                if area > 1.0:
                    overlaps.setdefault(code_a, []).append(code_b)
                    overlaps.setdefault(code_b, []).append(code_a)
                    if not accept_overlap:
                        problems.append(
                            f"{code_a} et {code_b} se chevauchent sur {area:,.0f} m² (acceptez-le avec "
                            f"--accept-overlap si c'est voulu)".replace(",", " ")
                        )
    if problems:
        raise DataError(f"{read.described} : import refusé, {len(problems)} problème(s) :\n"
                        + "\n".join(f"  - {p}" for p in problems))
    now = now_iso()
    new_rows = []
    for code, name, zc, geom in zip(read.frame["code"], read.frame["name"], read.frame["communes"], read.frame.geometry):
        new_rows.append({
            "code": code, "name": name, "status": "provisional", "communes": zc, "source": path.name, "sha256": digest,
            "imported_at": now, "validated_by": "", "validated_at": "", "overlap_accepted": int(code in overlaps),
            "geometry": geom,
        })
    rows = [{k: r.get(k) for k in list(LAYER_COLUMNS[tier]) + ["geometry"]} for r in kept] + new_rows
    frame = gpd.GeoDataFrame(rows, geometry="geometry", crs=CRS)
    replaced = sorted(new_codes & {r["code"] for r in old_rows})
    added = sorted(new_codes - set(replaced))
    sources_used = sorted({str(r["source"]) for r in rows if r.get("source")})
    with store.change(f"import local {tier}") as work:
        work.write_layer(tier, frame)
        work.set_metadata(
            tier, source="import local : " + ", ".join(sources_used), publisher=definition.name,
            licence="", vintage=f"dessin importé le {now[:10]}", sha256=digest, imported_at=now,
            status=_local_layer_status(rows), feature_count=len(rows), edge_m=None, near_m=None,
            note=f"{len(rows)} zone(s), dernier import : {read.described}",
        )
        work.append_history([{
            "layer": tier, "code": r["code"], "action": "replace" if r["code"] in replaced else "add",
            "status": "provisional", "author": author or "", "source": path.name, "sha256": digest, "at": now,
            "geometry": r["geometry"],
        } for r in new_rows])
    notes = [f"chevauchement accepté : {c} ↔ {', '.join(o)}" for c, o in sorted(overlaps.items()) if c in new_codes]
    notes.append("zones provisoires : à valider avec cq-geo data validate-zone CODE --by NOM")
    return ImportReport(tier, read.described, path.name, digest, len(rows), _local_layer_status(rows),
                        features_read=read.features_read, notes=notes, added=added, replaced=replaced)


def validate_zone(store: Store, code: str, by: str, territory_file=None) -> dict[str, Any]:
    """Mark a locally drawn zone ``validated``, recording who and when. Returns the updated row (no geometry)."""
    import geopandas as gpd

    from .model import suggest

    by = (by or "").strip()
    if not by:
        raise DataError("indiquez qui valide avec --by (service ou fonction)")
    qpv_codes = {r["code_qp"] for r in store.rows("qpv")}
    if code in qpv_codes:
        raise DataError(f"{code} est un QPV : son périmètre est officiel (ANCT), il ne se valide pas localement")
    all_codes = []
    for tier in LOCAL_TIERS:
        rows = store.rows(tier)
        all_codes += [r["code"] for r in rows]
        match = [r for r in rows if r["code"] == code]
        if not match:
            continue
        now = now_iso()
        for r in match:
            r.update(status="validated", validated_by=by, validated_at=now)
        clean = [{k: r.get(k) for k in list(LAYER_COLUMNS[tier]) + ["geometry"]} for r in rows]
        frame = gpd.GeoDataFrame(clean, geometry="geometry", crs=CRS)
        with store.change(f"validation {code}") as work:
            work.write_layer(tier, frame)
            work.set_metadata(tier, status=_local_layer_status(rows), feature_count=len(rows))
            work.append_history([{"layer": tier, "code": code, "action": "validate", "status": "validated",
                                  "author": by, "source": match[0].get("source"), "sha256": match[0].get("sha256"),
                                  "at": now, "geometry": match[0]["geometry"]}])
        out = dict(match[0])
        out.pop("geometry", None)
        out.pop("fid", None)
        return out
    from .model import load_definition

    definition = load_definition(territory_file)
    zone = next((z for z in definition.zones if z.code == code), None)
    if zone is not None:
        raise DataError(f"la zone {code} ({zone.name}) n'a pas encore de périmètre importé : "
                        f"cq-geo data import local FICHIER --tier {zone.tier}")
    choices = all_codes + [z.code for z in definition.zones if z.tier in LOCAL_TIERS]
    raise DataError(f"zone inconnue : {code!r}{suggest(code, choices)}")


def update_from_network(store: Store, only: str | None = None, *, base_urls: dict[str, str] | None = None,
                        urls: dict[str, str] | None = None, progress_factory=None, timeout: float = 60.0,
                        retries: int = 3, backoff: float = 2.0, territory_file=None,
                        force: bool = False, sha256: dict[str, str] | None = None) -> list[ImportReport]:
    """Download the official layers (``communes`` then ``qpv``, or *only* one) and install them.

    Every file is downloaded and checked before anything is installed; each
    layer is then installed atomically. *progress_factory(label)* returns a
    ``progress(done, total)`` callback (the CLI gives a tqdm bar). *sha256*:
    expected checksums by layer (a different file is refused).
    """
    import tempfile

    from . import sources
    from .model import load_definition

    layers = [only] if only else ["communes", "qpv"]
    for layer in layers:
        if layer not in sources.SOURCES:
            raise DataError(f"couche inconnue pour la mise à jour : {layer!r} (qpv ou communes)")
    siren = load_definition(territory_file).siren
    reports = []
    with tempfile.TemporaryDirectory(prefix=".cq-geo-download-", dir=store.path.parent) as tmp:
        got = {}
        for layer in layers:
            url = (urls or {}).get(layer) or sources.source_url(layer, base_urls, siren=siren)
            progress = progress_factory(layer) if progress_factory else None
            try:
                got[layer] = sources.download(url, tmp, timeout=timeout, retries=retries, backoff=backoff,
                                              progress=progress, expected_sha256=(sha256 or {}).get(layer))
            finally:
                if progress is not None and hasattr(progress, "close"):
                    progress.close()
        for layer in layers:
            d = got[layer]
            date = _http_date(d.last_modified) or now_iso()[:10]
            reports.append(import_official(store, layer, d.path, source=d.url, vintage=date,
                                           territory_file=territory_file, force=force))
    return reports


def _todo(layer: str, store_opt: str) -> str:
    return {
        "communes": f"cq-geo data update --only communes{store_opt} (ou cq-geo data import communes FICHIER{store_opt})",
        "qpv": f"cq-geo data update --only qpv{store_opt} (ou cq-geo data import qpv FICHIER{store_opt})",
        "qpv2015": f"cq-geo data import qpv2015 FICHIER{store_opt} (facultatif, pour comparer)",
        "poche": f"cq-geo data import local FICHIER --tier poche{store_opt}",
        "qva": f"cq-geo data import local FICHIER --tier qva{store_opt}",
    }[layer]


def status_report(store_path=None, territory_file=None) -> dict[str, Any]:
    """What is installed, layer by layer, and what is missing with the command that fixes it.

    Works without a store (then it describes the embedded baseline).
    """
    from .model import load_definition
    from .paths import default_store_path, resolve_store
    from .report import LAYER_STATUS_FR

    definition = load_definition(territory_file)
    resolved, origin = resolve_store(store_path)
    path = resolved if resolved is not None else default_store_path()
    store = Store(path)
    store_opt = f" --store {path}" if origin == "argument" else ""
    exists = store.exists()
    if exists:
        validate_store_file(path)
        meta = store.metadata()
        present = set(store.layers())
        rows = {layer: store.rows(layer) for layer in LAYERS if layer in present}
        history_count = len(store.rows(HISTORY_LAYER))
    else:
        from .layers import load_baseline_communes

        geoms, info = load_baseline_communes()
        meta = {"communes": {**info.to_dict(), "imported_at": "", "note": "contours embarqués (aucun magasin)"}}
        rows = {"communes": [{"insee": c} for c in geoms]}
        history_count = 0
    layers = []
    for layer in LAYERS:
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
            if layer in LOCAL_TIERS:
                entry["provisional"] = sorted(r["code"] for r in rows.get(layer, []) if r.get("status") == "provisional")
            if entry["missing"]:
                entry["todo"].append(_todo(layer, store_opt))
            if entry["provisional"]:
                entry["todo"].append(f"cq-geo data validate-zone CODE --by NOM{store_opt}")
        layers.append(entry)
    # what the answers rest on (whole-commune zones take the commune outlines)
    if exists:
        territory = load_store_territory(path, territory_file=territory_file)
    else:
        from .territory import Territory

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
        "previous_state": prev.is_file(),
        "previous_modified": (datetime.fromtimestamp(prev.stat().st_mtime, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
                              if prev.is_file() else ""),
        "history_count": history_count,
        "layers": layers,
        "create_with": "" if exists else f"cq-geo data update{store_opt}",
    }


def status_text(report: dict[str, Any]) -> str:
    """The status report in French."""
    lines = [f"Magasin de données : {report['store']}"]
    if not report["exists"]:
        lines.append(f"  (absent : les réponses utilisent les données embarquées ; il sera créé par {report['create_with']}"
                     " ou par un import)")
    elif report["previous_state"]:
        lines.append(f"  état précédent conservé ({report['previous_modified']}) : cq-geo data rollback pour le restaurer")
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
    return "\n".join(lines)
