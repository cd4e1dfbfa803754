"""The local BAN index: read the official per-département BAN file, keep the territory, store it.

``cq-geo data import ban adresses-59.csv.gz`` (or ``cq-geo ban-import``) calls
:func:`import_ban`. The official file (see docs/geocodage.md) is read by
column *name* (``;``-separated, UTF-8, gzip or plain); rows are kept when
their ``code_insee`` or their ``code_insee_ancienne_commune`` is a commune of
the territory. The index is written into the data store (a GeoPackage, which
is an SQLite file) as three plain tables, replaced together in one atomic
change of the store:

=====================  ==========================================================
``cq_ban_streets``     one row per street (or lieu-dit) and commune: name, key,
                       INSEE code, postcode, former commune, representative
                       position, extent
``cq_ban_numbers``     one row per address: street, number, suffix, lon, lat
``cq_ban_meta``        provenance: source file, sha256, counts, import date
=====================  ==========================================================

:func:`load_ban_index` reads them back into a :class:`BanIndex` (arrays, fast
to load) used by :class:`cq_geo.geocode.ban.BanGeocoder`.

Examples
--------
>>> import tempfile, pathlib
>>> fixture = pathlib.Path(__file__).resolve().parents[2] / "tests/fixtures/ban_synthetic/adresses-synthetic.csv"
>>> db = pathlib.Path(tempfile.mkdtemp()) / "ban.sqlite"
>>> stats = import_ban(fixture, db)
>>> stats["rows_kept"] > 0, stats["streets"] > 0
(True, True)
>>> index = load_ban_index(db)
>>> len(index.streets) == stats["streets"]
True
"""

from __future__ import annotations

import csv
import datetime as _dt
import gzip
import io
import json
import os
import sqlite3
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable

from ..errors import DataError
from ..files import file_sha256
from ..vocabulary import ban_file_names
from .base import BanIndexMissing
from .normalize import city_key, normalize_rep, street_key

__all__ = ["import_ban", "find_lieux_dits", "load_ban_index", "BanIndex", "BAN_COLUMNS", "REQUIRED_COLUMNS", "index_info", "TABLES"]

#: The 23 columns of the official ``adresses-XX.csv`` (read by name, order not relied on).
BAN_COLUMNS = (
    "id", "id_fantoir", "numero", "rep", "nom_voie", "code_postal", "code_insee", "nom_commune",
    "code_insee_ancienne_commune", "nom_ancienne_commune", "x", "y", "lon", "lat", "type_position", "alias",
    "nom_ld", "libelle_acheminement", "nom_afnor", "source_position", "source_nom_voie",
    "certification_commune", "cad_parcelles",
)
REQUIRED_COLUMNS = ("numero", "rep", "nom_voie", "code_postal", "code_insee", "nom_commune", "lon", "lat")
TABLES = ("cq_ban_streets", "cq_ban_numbers", "cq_ban_meta")
FORMAT_VERSION = "1"
#: ``numero`` of a lieu-dit / toponym row in BAL-style files.
LOCALITY_NUMBER = 99999

_SCHEMA = """
CREATE TABLE cq_ban_streets (
    street_id INTEGER PRIMARY KEY, name TEXT NOT NULL, key TEXT NOT NULL, kind TEXT NOT NULL,
    code_insee TEXT NOT NULL, nom_commune TEXT NOT NULL, code_postal TEXT,
    code_insee_ancienne TEXT, nom_ancienne TEXT,
    lon REAL NOT NULL, lat REAL NOT NULL, lon_min REAL, lat_min REAL, lon_max REAL, lat_max REAL,
    n INTEGER NOT NULL
);
CREATE TABLE cq_ban_numbers (
    street_id INTEGER NOT NULL, numero INTEGER NOT NULL, rep TEXT NOT NULL, lon REAL NOT NULL, lat REAL NOT NULL
);
CREATE INDEX cq_ban_numbers_street ON cq_ban_numbers (street_id);
CREATE TABLE cq_ban_meta (key TEXT PRIMARY KEY, value TEXT);
"""


# -- reading the official file -----------------------------------------------------------------
class _Progress(io.RawIOBase):
    """A raw file wrapper that reports bytes read (for a progress bar over a gzip file)."""

    def __init__(self, raw, total: int, callback: Callable[[int, int], None] | None):
        self._raw, self._total, self._cb, self._done, self._last = raw, total, callback, 0, 0

    def readable(self) -> bool:
        return True

    def readinto(self, b) -> int:
        n = self._raw.readinto(b)
        self._done += n or 0
        if self._cb and (self._done - self._last >= 1 << 20 or not n):
            self._last = self._done
            self._cb(min(self._done, self._total), self._total)
        return n


def _open_text(path: Path, progress) -> tuple[Any, Any]:
    raw = open(path, "rb")
    head = raw.read(2)
    raw.seek(0)
    total = os.path.getsize(path)
    counted = io.BufferedReader(_Progress(raw, total, progress), buffer_size=1 << 16)
    stream = gzip.GzipFile(fileobj=counted, mode="rb") if head == b"\x1f\x8b" else counted
    return raw, io.TextIOWrapper(stream, encoding="utf-8-sig", newline="")


@contextmanager
def _ban_rows(path: Path, progress):
    """The rows of a BAN CSV file (``;``, gzip or plain), its reading errors as French :class:`DataError`."""
    raw, text = _open_text(path, progress)
    try:
        yield csv.reader(text, delimiter=";")
    except UnicodeDecodeError as exc:
        raise DataError(f"{path.name} : encodage UTF-8 attendu ({exc})") from None
    except (OSError, EOFError, gzip.BadGzipFile) as exc:
        raise DataError(f"{path.name} : fichier illisible ou tronqué ({exc})") from None
    except csv.Error as exc:
        raise DataError(f"{path.name} : CSV illisible ({exc})") from None
    finally:
        raw.close()


@dataclass
class _Street:
    name: str
    insee: str
    commune: str
    postcodes: dict[str, int] = field(default_factory=dict)
    anc: str = ""
    anc_name: str = ""
    kind: str = "street"
    numbers: list[tuple[int, str, float, float]] = field(default_factory=list)


def _address_columns(path: Path, header: list[str], expected: str = "adresses-XX.csv.gz") -> dict[str, int]:
    """Column positions of a BAN address file's *header* (lower case); a French error for any other file."""
    if len(header) == 1 and "," in header[0]:
        raise DataError(f"{path.name} : séparateur « ; » attendu (fichier BAN officiel adresses-XX.csv.gz)")
    missing = [c for c in REQUIRED_COLUMNS if c not in header]
    if missing and "nom_lieu_dit" in header:
        raise DataError(
            f"{path.name} : c'est le fichier des lieux-dits de la BAN ; donnez le fichier des adresses "
            f"({expected}), avec --lieux-dits pour celui-ci (lu d'office s'il est à côté)"
        )
    if missing:
        raise DataError(
            f"{path.name} : ce n'est pas un fichier d'adresses de la BAN (colonnes manquantes : {', '.join(missing)}) ; "
            f"attendu : {expected} (https://adresse.data.gouv.fr/data/ban/adresses/latest/csv/)"
        )
    return {name: header.index(name) for name in header if name in BAN_COLUMNS or name in REQUIRED_COLUMNS}


def _read_ban(path: Path, communes: set[str], progress=None,
              expected: str = "adresses-XX.csv.gz") -> tuple[dict[tuple, _Street], dict[str, Any]]:
    """Read the BAN CSV; return streets of the territory and counts (with the communes outside it)."""
    from ..geo.crs import METRO_LONLAT_BOUNDS

    lo0, la0, lo1, la1 = METRO_LONLAT_BOUNDS
    streets: dict[tuple, _Street] = {}
    counts: dict[str, Any] = {"rows_read": 0, "rows_kept": 0, "rows_invalid": 0}
    outside: dict[str, list] = {}  # communes of the file outside the territory: insee -> [name, postcodes]
    with _ban_rows(path, progress) as reader:
        try:
            header = next(reader)
        except StopIteration:
            raise DataError(f"{path.name} : fichier vide") from None
        header = [h.strip().lower() for h in header]
        col = _address_columns(path, header, expected)
        i_num, i_rep, i_voie, i_cp = col["numero"], col["rep"], col["nom_voie"], col["code_postal"]
        i_insee, i_com, i_lon, i_lat = col["code_insee"], col["nom_commune"], col["lon"], col["lat"]
        i_id = col.get("id")  # INSEE_VOIE_NUMERO[_suffix]: the VOIE part tells homonymous streets apart
        i_anc = col.get("code_insee_ancienne_commune")
        i_anc_name = col.get("nom_ancienne_commune")
        width = len(header)
        for row in reader:
            counts["rows_read"] += 1
            if len(row) < width:
                if not row:
                    continue
                counts["rows_invalid"] += 1
                continue
            insee = row[i_insee].strip()
            anc = row[i_anc].strip() if i_anc is not None else ""
            if insee not in communes and anc not in communes:
                known = outside.get(insee)
                if known is None:
                    known = outside[insee] = [row[i_com].strip(), set()]
                known[1].add(row[i_cp].strip())
                continue
            try:
                lon, lat = float(row[i_lon]), float(row[i_lat])
                num = int(row[i_num]) if row[i_num].strip() else LOCALITY_NUMBER
            except ValueError:
                counts["rows_invalid"] += 1
                continue
            if not (lo0 <= lon <= lo1 and la0 <= lat <= la1):
                counts["rows_invalid"] += 1
                continue
            name = row[i_voie].strip()
            if not name:
                counts["rows_invalid"] += 1
                continue
            voie = ""
            if i_id is not None:
                parts = row[i_id].split("_")
                voie = parts[1].lower() if len(parts) >= 3 else ""
            key = (insee, anc, name, voie)
            st = streets.get(key)
            if st is None:
                st = streets[key] = _Street(name, insee, row[i_com].strip(), anc=anc,
                                            anc_name=row[i_anc_name].strip() if i_anc_name is not None else "")
            cp = row[i_cp].strip()
            if cp:
                st.postcodes[cp] = st.postcodes.get(cp, 0) + 1
            st.numbers.append((num, normalize_rep(row[i_rep]), lon, lat))
            counts["rows_kept"] += 1
    counts["outside"] = {k: [v[0], sorted(p for p in v[1] if p)] for k, v in sorted(outside.items())}
    return streets, counts


#: Columns of the BAN's ``lieux-dits-XX-beta.csv`` needed here (13 columns in all, read by name).
LIEUX_DITS_REQUIRED = ("nom_lieu_dit", "code_insee", "nom_commune", "lon", "lat")


def find_lieux_dits(addresses: Path) -> Path | None:
    """The BAN's lieux-dits file next to *addresses* (``adresses-59.csv.gz`` → ``lieux-dits-59-beta.csv.gz``).

    >>> find_lieux_dits(Path("/nowhere/adresses-59.csv.gz")) is None
    True
    """
    import re

    m = re.match(r"adresses-(\w+?)\.csv", addresses.name)
    if not m:
        return None
    for name in (f"lieux-dits-{m.group(1)}-beta.csv.gz", f"lieux-dits-{m.group(1)}-beta.csv",
                 f"lieux-dits-{m.group(1)}.csv.gz", f"lieux-dits-{m.group(1)}.csv"):
        candidate = addresses.with_name(name)
        if candidate.is_file():
            return candidate
    return None


def _read_lieux_dits(path: Path, communes: set[str], streets: dict[tuple, _Street], progress=None) -> dict[str, int]:
    """Add the lieux-dits of the territory (BAN ``lieux-dits-XX-beta.csv``) to *streets*, as localities.

    A lieu-dit already present as a street of the same commune (with numbers) is not added twice.
    """
    from ..geo.crs import METRO_LONLAT_BOUNDS

    lo0, la0, lo1, la1 = METRO_LONLAT_BOUNDS
    known = {(s.insee, s.anc, street_key(s.name)) for s in streets.values()}
    counts = {"read": 0, "kept": 0, "invalid": 0, "duplicates": 0}
    with _ban_rows(path, progress) as reader:
        try:
            header = [h.strip().lower() for h in next(reader)]
        except StopIteration:
            raise DataError(f"{path.name} : fichier vide") from None
        missing = [c for c in LIEUX_DITS_REQUIRED if c not in header]
        if missing:
            raise DataError(
                f"{path.name} : ce n'est pas un fichier des lieux-dits de la BAN (colonnes manquantes : "
                f"{', '.join(missing)}) ; attendu : lieux-dits-59-beta.csv.gz"
            )
        col = {name: i for i, name in enumerate(header)}
        i_name, i_insee, i_com, i_lon, i_lat = (col[c] for c in LIEUX_DITS_REQUIRED)
        i_cp, i_id = col.get("code_postal"), col.get("id")
        i_anc, i_anc_name = col.get("code_insee_ancienne_commune"), col.get("nom_ancienne_commune")
        width = len(header)
        for row in reader:
            if not row:
                continue
            counts["read"] += 1
            if len(row) < width:
                counts["invalid"] += 1
                continue
            insee = row[i_insee].strip()
            anc = row[i_anc].strip() if i_anc is not None else ""
            if insee not in communes and anc not in communes:
                continue
            name = row[i_name].strip()
            try:
                lon, lat = float(row[i_lon]), float(row[i_lat])
            except ValueError:
                counts["invalid"] += 1
                continue
            if not name or not (lo0 <= lon <= lo1 and la0 <= lat <= la1):
                counts["invalid"] += 1
                continue
            k = (insee, anc, street_key(name))
            if k in known:
                counts["duplicates"] += 1
                continue
            known.add(k)
            st = streets[(insee, anc, name, "ld:" + (row[i_id].strip() if i_id is not None else ""))] = _Street(
                name, insee, row[i_com].strip(), anc=anc,
                anc_name=row[i_anc_name].strip() if i_anc_name is not None else "", kind="locality")
            cp = row[i_cp].strip() if i_cp is not None else ""
            if cp:
                st.postcodes[cp] = 1
            st.numbers.append((LOCALITY_NUMBER, "", lon, lat))
            counts["kept"] += 1
    return counts


def _street_rows(streets: dict[tuple, _Street]) -> tuple[list[tuple], list[tuple]]:
    srows, nrows = [], []
    for sid, st in enumerate(sorted(streets.values(), key=lambda s: (s.insee, s.anc, s.name))):
        pts = st.numbers
        n = len(pts)
        mlon = sum(p[2] for p in pts) / n
        mlat = sum(p[3] for p in pts) / n
        rep = min(pts, key=lambda p: (p[2] - mlon) ** 2 + (p[3] - mlat) ** 2)  # medoid-ish: on the street
        only_locality = all(p[0] == LOCALITY_NUMBER for p in pts)
        postcode = max(st.postcodes, key=st.postcodes.get) if st.postcodes else ""
        srows.append((
            sid, st.name, street_key(st.name), "locality" if only_locality else "street", st.insee, st.commune,
            postcode, st.anc, st.anc_name, rep[2], rep[3],
            min(p[2] for p in pts), min(p[3] for p in pts), max(p[2] for p in pts), max(p[3] for p in pts), n,
        ))
        for num, r, lon, lat in sorted(pts):
            if num != LOCALITY_NUMBER:
                nrows.append((sid, num, r, lon, lat))
    return srows, nrows


def _write_tables(con: sqlite3.Connection, srows, nrows, meta: dict[str, Any]) -> None:
    for t in TABLES:
        con.execute(f"DROP TABLE IF EXISTS {t}")
    con.executescript(_SCHEMA)
    con.executemany(f"INSERT INTO cq_ban_streets VALUES ({', '.join('?' * 16)})", srows)
    con.executemany("INSERT INTO cq_ban_numbers VALUES (?, ?, ?, ?, ?)", nrows)
    con.executemany("INSERT INTO cq_ban_meta VALUES (?, ?)",
                    [(k, v if isinstance(v, str) else json.dumps(v, ensure_ascii=False)) for k, v in meta.items()])


def import_ban(
    path: str | os.PathLike,
    store: str | os.PathLike | None = None,
    communes: Iterable[str] | None = None,
    progress: Callable[[int, int], None] | None = None,
    territory_file=None,
    lieux_dits: str | os.PathLike | bool | None = None,
) -> dict[str, Any]:
    """Import the official BAN address file into the data store; return counts.

    Parameters
    ----------
    path : ``adresses-59.csv.gz`` (gzip or plain CSV, ``;``, UTF-8); never modified.
    store : the data store (GeoPackage); by default ``CQ_GEO_STORE`` then the
        user's store, created if absent. A path ending in ``.sqlite`` or
        ``.db`` is written as a plain SQLite file (tests, benchmarks).
    communes : INSEE codes to keep; by default the territory's communes.
    progress : ``progress(bytes_read, total_bytes)`` while reading.
    lieux_dits : the BAN's lieux-dits file (``lieux-dits-59-beta.csv.gz``,
        13 columns): its lieux-dits without numbered address become findable.
        By default (None) the one lying next to *path* is read when present;
        False: none.

    Returns ``{"rows_read", "rows_kept", "rows_invalid", "streets", "numbers",
    "localities", "lieux_dits_file", "communes", "store"}``. Raises :class:`~cq_geo.errors.DataError` with a
    French message for a file that is not a BAN address file or holds no
    address of the territory.
    """
    path = Path(path)
    if not path.is_file():
        raise DataError(f"fichier BAN introuvable : {path}")
    deps: tuple[str, ...] = ()
    if communes is None:
        from ..model import load_definition

        definition = load_definition(territory_file)
        communes, deps = definition.communes, definition.departements
    wanted = {str(c) for c in communes}
    streets, counts = _read_ban(path, wanted, progress, expected=ban_file_names(deps))
    if not counts["rows_kept"]:
        raise _no_address_error(path, counts["rows_read"], deps)
    ld_path = _lieux_dits_path(path, lieux_dits)
    ld_counts = _read_lieux_dits(ld_path, wanted, streets, progress) if ld_path is not None else {}
    srows, nrows = _street_rows(streets)
    found = sorted({s.insee for s in streets.values()})
    meta = {
        "format_version": FORMAT_VERSION,
        "source": path.name,
        "sha256": file_sha256(path),
        "imported_at": _dt.datetime.now(_dt.timezone.utc).replace(microsecond=0).isoformat(),
        "rows_read": counts["rows_read"],
        "rows_kept": counts["rows_kept"],
        "rows_invalid": counts["rows_invalid"],
        "streets": len(srows),
        "numbers": len(nrows),
        "localities": sum(1 for r in srows if r[3] == "locality"),
        "lieux_dits_source": ld_path.name if ld_path is not None else "",
        "lieux_dits_sha256": file_sha256(ld_path) if ld_path is not None else "",
        "lieux_dits_kept": ld_counts.get("kept", 0),
        "communes": found,
        "communes_missing": sorted(wanted - set(found)),
        # names and postcodes of the file's other communes: an address there is said to be outside
        "outside_communes": counts["outside"],
    }
    target = _write(store, srows, nrows, meta, territory_file=territory_file)
    out = {k: meta[k] for k in ("rows_read", "rows_kept", "rows_invalid", "streets", "numbers", "localities",
                                "lieux_dits_kept")}
    out["lieux_dits_file"] = str(ld_path) if ld_path is not None else ""
    out["lieux_dits_expected"] = ban_file_names(deps, "lieux-dits")
    out.update(communes=len(found), communes_missing=meta["communes_missing"], store=str(target))
    return out


def _no_address_error(path: Path, rows_read: int, deps: tuple[str, ...]) -> DataError:
    """The French error for a BAN file holding no address of the territory (the expected file named)."""
    return DataError(
        f"{path.name} : aucune adresse des communes du territoire ({rows_read} lignes lues) ; "
        + (f"le fichier du département {deps[0]} (adresses-{deps[0]}.csv.gz) est attendu" if len(deps) == 1 else
           "les fichiers des départements " + ", ".join(f"adresses-{d}.csv.gz" for d in deps) + " sont attendus"
           if deps else "le fichier du département du territoire (adresses-XX.csv.gz) est attendu")
    )


def _lieux_dits_path(addresses: Path, lieux_dits) -> Path | None:
    """The lieux-dits file to read: the one given, else (None) the one next to *addresses*; False/True: none."""
    if lieux_dits is None:
        return find_lieux_dits(addresses)
    if lieux_dits is False or lieux_dits is True:
        return None
    ld_path = Path(lieux_dits)
    if not ld_path.is_file():
        raise DataError(f"fichier des lieux-dits introuvable : {ld_path}")
    return ld_path


def _meta_rows(meta: dict[str, Any]) -> list[tuple[str, str]]:
    """``cq_ban_meta`` rows: text values as they are, the others (numbers, lists, dicts) as JSON."""
    return [(k, v if isinstance(v, str) else json.dumps(v, ensure_ascii=False)) for k, v in meta.items()]


def _write(store, srows, nrows, meta, territory_file=None) -> Path | str:
    """Write the tables atomically, into the data store (GeoPackage or shared store) or a plain SQLite file.

    The shared store (``postgresql://…``, ``service=…``, also through
    ``CQ_GEO_STORE``) gets the same tables in the territory's schema, replaced in
    one transaction (:func:`cq_geo.data.pgstore.write_shared_ban`).
    """
    from ..data.pgstore import shared_url

    url = shared_url(store)
    if url:
        from ..data.pgstore import write_shared_ban

        return write_shared_ban(url, srows, nrows, _meta_rows(meta), territory_file=territory_file)
    if store is not None and Path(store).suffix.lower() in (".sqlite", ".db", ".sqlite3"):
        target = Path(store)
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(f".{target.name}.tmp")
        if target.exists():
            import shutil

            shutil.copy2(target, tmp)
        con = sqlite3.connect(tmp)
        try:
            _write_tables(con, srows, nrows, meta)
            con.commit()
        finally:
            con.close()
        os.replace(tmp, target)
        return target
    from ..data.store import open_store

    st = open_store(store, create=True)
    with st.change(f"index BAN ({meta['source']})") as work:
        con = work.connect()
        _write_tables(con, srows, nrows, meta)
        con.commit()
    return st.path


# -- reading the index back ----------------------------------------------------------------------
@dataclass
class BanIndex:
    """The BAN index in memory (parallel lists; numbers as arrays sliced per street).

    ``streets`` holds tuples ``(name, key, kind, insee, commune, postcode, anc,
    anc_name, lon, lat, lon_min, lat_min, lon_max, lat_max, n)``; the numbers
    of street *i* are ``numero[start[i]:end[i]]`` (sorted), with ``rep``,
    ``lon`` and ``lat`` aligned.
    """

    streets: list[tuple]
    numero: Any
    rep: list[str]
    lon: Any
    lat: Any
    start: Any
    end: Any
    meta: dict[str, Any]
    path: Path | None = None


def _resolve(store) -> Path:
    from ..paths import resolve_store

    path, origin = resolve_store(store)
    if path is None or not path.is_file():
        where = f" ({path})" if path is not None else ""
        raise BanIndexMissing(
            f"index BAN absent{where} : le géocodage hors ligne a besoin du fichier de la BAN. "
            "Téléchargez adresses-59.csv.gz (https://adresse.data.gouv.fr/data/ban/adresses/latest/csv/) "
            "puis : cq-geo data import ban adresses-59.csv.gz"
        )
    return path


def _shared(store) -> str | None:
    """The shared store's address when *store* (or ``CQ_GEO_STORE``) names one, else None."""
    from ..data.pgstore import shared_url

    return shared_url(store)


def _shared_missing(url: str) -> BanIndexMissing:
    from ..data.pgstore import safe_label

    label = safe_label(url)
    return BanIndexMissing(
        f"index BAN absent du magasin partagé {label} : un éditeur l'importe une fois pour l'équipe avec "
        f"cq-geo data import ban adresses-59.csv.gz --store {label} (fichier de la BAN : "
        "https://adresse.data.gouv.fr/data/ban/adresses/latest/csv/)"
    )


def index_info(store=None, territory_file=None) -> dict[str, Any] | None:
    """The provenance of the BAN index in *store* (``cq_ban_meta``), or None when absent.

    *store* may be the shared store (``postgresql://…``, ``service=…``); *territory_file* then selects its schema.
    """
    url = _shared(store)
    if url:
        from ..data.pgstore import read_shared_ban

        got = read_shared_ban(url, territory_file=territory_file, meta_only=True)
        return {k: _json_or_str(v) for k, v in got[0]} if got else None
    try:
        path = _resolve(store)
    except BanIndexMissing:
        return None
    con = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        try:
            rows = con.execute("SELECT key, value FROM cq_ban_meta").fetchall()
        except sqlite3.Error:
            return None
    finally:
        con.close()
    return {k: _json_or_str(v) for k, v in rows}


def _json_or_str(v):
    try:
        return json.loads(v)
    except (TypeError, ValueError):
        return v


def load_ban_index(store=None, territory_file=None) -> BanIndex:
    """Read the BAN index from *store* (path, shared store, or ``CQ_GEO_STORE`` / the user's store).

    From the shared store (``postgresql://…``, ``service=…``; *territory_file*
    selects the schema) the same rows come back in the same order, so the
    offline geocoder gives the same answers as from a local index.
    """
    url = _shared(store)
    if url:
        return _load_shared(url, territory_file)
    path = _resolve(store)
    try:
        con = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    except sqlite3.Error as exc:
        raise DataError(f"magasin de données illisible : {path} ({exc})") from exc
    try:
        names = {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        if not set(TABLES) <= names:
            raise BanIndexMissing(
                f"index BAN absent du magasin {path} : importez d'abord le fichier de la BAN "
                "(cq-geo data import ban adresses-59.csv.gz)"
            )
        meta = {k: _json_or_str(v) for k, v in con.execute("SELECT key, value FROM cq_ban_meta")}
        streets = con.execute(
            "SELECT name, key, kind, code_insee, nom_commune, code_postal, code_insee_ancienne, nom_ancienne, "
            "lon, lat, lon_min, lat_min, lon_max, lat_max, n FROM cq_ban_streets ORDER BY street_id"
        ).fetchall()
        # ties (the same number twice) in insertion order: the shared store sorts the same way
        numbers = con.execute("SELECT street_id, numero, rep, lon, lat FROM cq_ban_numbers "
                              "ORDER BY street_id, numero, rep, lon, lat").fetchall()
    except sqlite3.Error as exc:
        raise DataError(f"index BAN illisible dans {path} ({exc})") from exc
    finally:
        con.close()
    return _index_from_rows(streets, numbers, meta, path)


_SHARED_INDEX: dict[tuple, tuple[list, BanIndex]] = {}  # (address, territory file) -> (meta rows, index)


def _load_shared(url: str, territory_file=None) -> BanIndex:
    """The index of the shared store; kept while its provenance (file, sha256, import date) is unchanged, so a
    caller asking often (the QGIS locator) reads only ``cq_ban_meta`` until the next import."""
    from ..data.pgstore import read_shared_ban

    key = (url, str(territory_file or ""))
    kept = _SHARED_INDEX.get(key)
    if kept is not None:
        now = read_shared_ban(url, territory_file=territory_file, meta_only=True)
        if now is not None and now[0] == kept[0]:
            return kept[1]
    got = read_shared_ban(url, territory_file=territory_file)
    if got is None:
        raise _shared_missing(url)
    meta_rows, streets, numbers = got
    index = _index_from_rows([s[1:] for s in streets], numbers, {k: _json_or_str(v) for k, v in meta_rows}, None)
    _SHARED_INDEX.clear()
    _SHARED_INDEX[key] = (list(meta_rows), index)
    return index


def _index_from_rows(streets: list[tuple], numbers, meta: dict[str, Any], path: Path | None) -> BanIndex:
    """The :class:`BanIndex` from street rows (by id, without it) and number rows ``(street_id, numero, rep,
    lon, lat)`` sorted by street."""
    import numpy as np

    sid, numero, rep, lon, lat = (list(c) for c in zip(*numbers)) if numbers else ([], [], [], [], [])
    sid_a = np.asarray(sid, dtype="int64")
    ids = np.arange(len(streets))
    start = np.searchsorted(sid_a, ids, side="left")
    end = np.searchsorted(sid_a, ids, side="right")
    return BanIndex(
        streets=streets, numero=np.asarray(numero, dtype="int64"), rep=rep,
        lon=np.asarray(lon, dtype="float64"), lat=np.asarray(lat, dtype="float64"),
        start=start, end=end, meta=meta, path=path,
    )


def shared_index_copier(url: str, territory_file=None) -> Callable[[Any], dict[str, Any] | None]:
    """A step for :func:`cq_geo.data.pgstore.pull` (its *also*): copy the shared store's BAN index into the local
    store, in the same atomic change as the layers (``cq-geo data pull`` uses it).

    The step returns ``{"numbers", "streets", "source", "imported_at"}``, or None when the shared store has no
    index (the local one, if any, is then left as it is).
    """

    def copy(work) -> dict[str, Any] | None:
        from ..data.pgstore import read_shared_ban

        got = read_shared_ban(url, territory_file=territory_file)
        if got is None:
            return None
        meta_rows, streets, numbers = got
        con = work.connect()
        _write_tables(con, streets, numbers, {})
        con.executemany("INSERT INTO cq_ban_meta VALUES (?, ?)", meta_rows)
        con.commit()
        meta = dict(meta_rows)
        return {"numbers": len(numbers), "streets": len(streets), "source": meta.get("source", ""),
                "imported_at": meta.get("imported_at", "")}

    return copy


def commune_keys(index: BanIndex) -> dict[str, set[tuple[str, str]]]:
    """``{city key: {(insee, former insee)}}`` for current and former commune names.

    >>> keys = commune_keys(BanIndex([("R", "r", "street", "59172", "Denain", "59220", "", "", 0, 0, 0, 0, 0, 0, 1)],
    ...                              [], [], [], [], [], [], {}))
    >>> keys["denain"]
    {('59172', '')}
    """
    out: dict[str, set[tuple[str, str]]] = {}
    for s in index.streets:
        out.setdefault(city_key(s[4]), set()).add((s[3], ""))
        if s[6] and s[7]:
            out.setdefault(city_key(s[7]), set()).add((s[3], s[6]))
    return out

