"""Which store: the user's GeoPackage (:mod:`cq_geo.data.gpkg_store`) or the shared PostGIS store
(:mod:`cq_geo.data.pgstore`), from ``--store`` / ``CQ_GEO_STORE`` / the user's data directory; and the
files no output may overwrite.

The store's jobs live beside it: :mod:`~cq_geo.data.common` (what both stores use),
:mod:`~cq_geo.data.gpkg_store` (the GeoPackage: schema, reading, writing, changes),
:mod:`~cq_geo.data.journal` (one writer, crash-safe commits), :mod:`~cq_geo.data.imports`
(imports, validation, network update), :mod:`~cq_geo.status` (``data status``);
:func:`cq_geo.territory.load_store_territory` builds the territory from a store's geometries.

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
"""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

from ..errors import DataError
from .common import METADATA_TABLE, connect_ro, table_names
from .gpkg_store import Store, local_store_at, open_local_store

__all__ = ["open_store", "store_at", "is_store_path", "refuse_store_output", "protected_paths"]


def open_store(path: str | os.PathLike | None = None, create: bool = True, territory_file=None):
    """The data store at *path* (else ``CQ_GEO_STORE``, else the user's data directory).

    With *create*, a missing store is created and seeded from the embedded
    baseline; without, a missing store raises :class:`~cq_geo.errors.DataError`.
    The shared store (PostGIS, :class:`cq_geo.data.pgstore.PgStore`) is created by ``data init-shared``.
    """
    from .pgstore import PgStore, shared_url

    url = shared_url(path)
    if not url:
        return open_local_store(path, create=create, territory_file=territory_file)
    store = PgStore(url, territory_file=territory_file)
    if not store.exists():
        store.create()
    return store


def store_at(path: str | os.PathLike | None = None, territory_file=None):
    """The :class:`Store` at *path* / ``CQ_GEO_STORE`` / the user's data directory, without creating or checking it.

    A ``postgresql://…`` or ``service=…`` address gives the shared store (:class:`cq_geo.data.pgstore.PgStore`).
    """
    from .pgstore import PgStore, shared_url

    url = shared_url(path)
    if url:
        return PgStore(url, territory_file=territory_file)
    return local_store_at(path)


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
            con = connect_ro(p)
            try:
                return METADATA_TABLE in table_names(con) and "gpkg_contents" in table_names(con)
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
