"""Batch eligibility: every row of a table in, every row out, a status and a reason for each.

:func:`batch` takes a pandas DataFrame whose rows are places, given by
coordinates (WGS84 ``lon``/``lat`` or Lambert-93 ``x``/``y``) or by address
columns (geocoded offline from the BAN, or online). It returns the same rows,
in the same order, with their columns untouched, plus:

===================== ==========================================================
``cq_status``         ``ok``, ``to_check``, ``not_found``, ``invalid``, ``outside_territory``
``cq_reason``         a French sentence: the answer, and what to check
``cq_lon``/``cq_lat`` the position used (WGS84), empty when there is none
``cq_geocode_*``      score, type and quality of the geocoder's answer (address rows), and
                      the candidate communes of an ambiguous address
lookup columns        :attr:`cq_geo.territory.Territory.lookup_columns` (commune, team, one set per tier…)
===================== ==========================================================

and a :class:`~cq_geo.bulk.summary.BatchSummary` (counts by status, QPV, tier,
team and commune; the rows to check). Files (CSV, XLSX in; CSV, XLSX,
GeoPackage out) are handled by :func:`batch_file` and ``cq-geo batch``.

The rules of ``cq_status`` (docs/traitement-par-lot.md):

``invalid``            blank or malformed row, missing or non-numeric coordinates,
                       Lambert-93 numbers in lon/lat columns (or degrees in x/y),
                       swapped lat/lon, point outside metropolitan France, empty address
``not_found``          the geocoder found nothing usable
``outside_territory``  a valid position outside the territory (the agglomeration of the file)
``to_check``           an approximate or ambiguous geocode (an ambiguous address gets no
                       position, commune or zone of its own), a point on the limit of
                       (or near, or in an unknown perimeter for) the geography that
                       decides the answer, near a commune limit or the territory's edge
``ok``                 everything else: the answer can be used as it is

Rows are classified together: statuses and reasons are computed once per
distinct combination of answers (a few hundred in a file of a million rows)
and spread back as pandas categoricals.

Examples
--------
>>> import pandas as pd
>>> rows = pd.DataFrame({"nom": ["Mairie", "Paris", "vide"],
...                      "lon": ["3,3957", "2.35", ""], "lat": ["50,3290", "48.85", ""]})
>>> out, summary = batch(rows, lon_col="lon", lat_col="lat")
>>> list(out["cq_status"])
['to_check', 'outside_territory', 'invalid']
>>> out.loc[2, "cq_reason"]
'coordonnées manquantes'
>>> list(out.columns[:4])
['nom', 'lon', 'lat', 'cq_status']
>>> summary.total, summary.counts["invalid"]
(3, 1)
"""

from __future__ import annotations

import hashlib
import hmac
from functools import partial
from pathlib import Path
from typing import Any, Callable, NamedTuple, Sequence

from ..errors import CqGeoError
from ..files import file_sha256
from ..vocabulary import BATCH_STATUS_FR as STATUS_FR  # the status codes and their words: one place
from ..vocabulary import BATCH_STATUSES as STATUSES
from .cache import GeocodeCache
from .errors import BatchError, BatchFileError
from .files import atomic_path, output_format, partial_path, publish, stale_partials, write_error
from .places import Rows, column, geocode_addresses, get_geocoder, read_coordinates, split_names
from .rules import as_categorical, status_and_reason
from .targets import (
    SIDE_SUFFIXES,
    check_existing,
    check_output_folder,
    check_targets,
    read_salt,
    real_path,
    same_file,
    side_file,
    store_check,
    store_paths,
)

__all__ = [
    "batch",
    "batch_file",
    "BatchResult",
    "FileResult",
    "BatchError",
    "STATUSES",
    "STATUS_FR",
    "RESULT_COLUMNS",
    "GeocodeCache",
    "pseudonym_ids",
    "side_file",
    "store_paths",
    "store_check",
    "SIDE_SUFFIXES",
]

#: Columns added before the lookup columns.
RESULT_COLUMNS = [
    "cq_status",
    "cq_reason",
    "cq_lon",
    "cq_lat",
    "cq_geocode_score",
    "cq_geocode_type",
    "cq_geocode_quality",
    "cq_geocode_candidates",
]


class BatchResult(NamedTuple):
    """What :func:`batch` returns: unpack it as ``data, summary = batch(...)``."""

    data: Any  # pandas.DataFrame
    summary: Any  # cq_geo.bulk.summary.BatchSummary


# -- pseudonyms ---------------------------------------------------------------------------------------
def pseudonym_ids(identities, salt: str):
    """Salted hash ids (16 hex digits, HMAC-SHA256) of identity strings; '' stays ''.

    The same identity with the same salt always gets the same id, so files
    pseudonymised with one salt can be matched; without the salt the id cannot
    be traced back to the address.

    >>> pseudonym_ids(["12 rue des Essais Denain", "", "12 rue des Essais Denain"], "sel")[0] == \\
    ...     pseudonym_ids(["12 rue des essais  denain"], "sel")[0]
    True
    >>> pseudonym_ids(["x", ""], "sel")[1]
    ''
    """
    key = salt.encode("utf-8")
    out = []
    for ident in identities:
        norm = " ".join(str(ident).casefold().split())
        out.append(hmac.new(key, norm.encode("utf-8"), hashlib.sha256).hexdigest()[:16] if norm else "")
    return out



# -- the API ------------------------------------------------------------------------------------------
def batch(
    data,
    *,
    territory=None,
    lon_col: str | None = None,
    lat_col: str | None = None,
    x_col: str | None = None,
    y_col: str | None = None,
    address_cols: Sequence[str] | str | None = None,
    postcode_col: str | None = None,
    city_col: str | None = None,
    geocoder="offline",
    store=None,
    progress: Callable[[int, int], None] | None = None,
    cache: GeocodeCache | None = None,
    pseudonymise: bool = False,
    salt: str | None = None,
    row_problems=None,
    first_row_number: int = 2,
) -> BatchResult:
    """Classify every row of *data*; return ``(enriched DataFrame, summary)``.

    Parameters
    ----------
    data : pandas DataFrame; its columns are kept as they are (duplicated or
        blank names included), new columns are appended after them.
    territory : a :class:`~cq_geo.territory.Territory` (default: :func:`~cq_geo.load_territory` with *store*).
    lon_col, lat_col : WGS84 degrees (decimal commas accepted).
    x_col, y_col : Lambert-93 metres (EPSG:2154).
    address_cols : address columns (list or ``"numero,voie"``), joined with spaces;
        with *postcode_col* and *city_col* they make the query sent to the geocoder.
        With coordinates too, rows with usable coordinates keep them and the others are geocoded.
    geocoder : ``"offline"`` (BAN on this computer), ``"online"``, ``"none"`` or a geocoder object
        (:class:`cq_geo.geocode.Geocoder`).
    progress : ``progress(done, total)`` called while geocoding.
    cache : a :class:`GeocodeCache` that keeps geocoded addresses (``--resume``).
    pseudonymise : drop the address and coordinate columns (and ``cq_lon``/``cq_lat``),
        add ``cq_id``, a salted hash of the address (or coordinates), first of the new columns.
    salt : the salt of ``cq_id`` (required with *pseudonymise*).
    row_problems : per row, a French reason that makes the row ``invalid`` ('' for none),
        e.g. malformed lines found by the file reader.
    first_row_number : number of the first row in the summary's list of rows to check
        (2: a spreadsheet whose row 1 is the header).

    Raises :class:`BatchError` (French message) for missing or ambiguous columns;
    bad rows never raise, they come out ``invalid`` with their reason.
    """
    out, summarise = classify_rows(
        data, territory=territory, lon_col=lon_col, lat_col=lat_col, x_col=x_col, y_col=y_col,
        address_cols=address_cols, postcode_col=postcode_col, city_col=city_col, geocoder=geocoder, store=store,
        progress=progress, cache=cache, pseudonymise=pseudonymise, salt=salt, row_problems=row_problems,
        first_row_number=first_row_number,
    )
    return BatchResult(out, summarise())



def classify_rows(data, *, territory=None, lon_col=None, lat_col=None, x_col=None, y_col=None, address_cols=None,
                  postcode_col=None, city_col=None, geocoder="offline", store=None, progress=None, cache=None,
                  pseudonymise=False, salt=None, row_problems=None, first_row_number=2):
    """:func:`batch` without its summary: ``(enriched DataFrame, summarise)``, where ``summarise()``
    builds the :class:`~cq_geo.bulk.summary.BatchSummary` (:func:`batch_file` calls it in a second
    thread while the output is written)."""
    import numpy as np
    import pandas as pd

    from .summary import build_summary

    if not isinstance(data, pd.DataFrame):
        raise BatchError("batch() attend un pandas.DataFrame")
    if territory is None:
        from ..territory import load_territory

        territory = load_territory(store=store)
    address_cols = split_names(address_cols)
    by_coords, by_address = _check_request(data, territory, lon_col, lat_col, x_col, y_col, address_cols,
                                           postcode_col, city_col, pseudonymise, salt)
    pre = _known_problems(row_problems, len(data))
    known_bad = pre != ""
    rows = Rows.empty(len(data), by_address)
    if by_coords:
        read_coordinates(rows, data, lon_col, lat_col, x_col, y_col, known_bad)
    if by_address:
        geocode_addresses(rows, data, address_cols, postcode_col, city_col, geocoder, store, cache, progress,
                           territory, known_bad, by_coords, x_col is not None, pseudonymise)
    pre = np.where(known_bad, pre, rows.reason)
    if x_col is not None:
        lookup = territory.lookup_many(x=rows.xs, y=rows.ys, flags=True)
        from ..geo.crs import l93_to_lonlat

        rows.lon, rows.lat = l93_to_lonlat(rows.xs, rows.ys)
    else:
        lookup = territory.lookup_many(lon=rows.lon, lat=rows.lat, flags=True)
    cat = as_categorical
    status, reason = status_and_reason(lookup, cat(pre), cat(rows.quality), cat(rows.greason), territory,
                                       cat(rows.gcity) if by_address else None, cat(rows.gwarn) if by_address else None,
                                       cat(rows.gcands) if by_address else None)
    out = _assemble(data, rows, lookup, status, reason, territory, pseudonymise, salt)
    # batch_file builds the summary in a thread while the output is written: on its own
    # shallow copy of the frame, so that neither touches the other's pandas internals
    return out, partial(build_summary, out.copy(deep=False), territory, first_row_number=first_row_number,
                        pseudonymised=pseudonymise, identity_cols=[] if pseudonymise else rows.used_cols)


def _check_request(data, territory, lon_col, lat_col, x_col, y_col, address_cols, postcode_col, city_col,
                   pseudonymise: bool, salt) -> tuple[bool, bool]:
    """``(by coordinates, by address)`` from the options, or a French :class:`BatchError`."""
    if (lon_col is None) != (lat_col is None):
        raise BatchError("donnez les deux colonnes --lon-col et --lat-col (ou aucune)")
    if (x_col is None) != (y_col is None):
        raise BatchError("donnez les deux colonnes --x-col et --y-col (ou aucune)")
    if lon_col is not None and x_col is not None:
        raise BatchError("donnez des colonnes lon/lat (WGS84) ou x/y (Lambert-93), pas les deux")
    by_coords = lon_col is not None or x_col is not None
    by_address = bool(address_cols) or city_col is not None or postcode_col is not None
    if not by_coords and not by_address:
        raise BatchError(
            "indiquez où sont les lieux : --lon-col/--lat-col, --x-col/--y-col (Lambert-93) "
            "ou --address-cols (avec --postcode-col, --city-col)"
        )
    if pseudonymise and not salt:
        raise BatchError("--pseudonymise demande un sel (--salt)")
    taken = [c for c in data.columns if str(c) in set(RESULT_COLUMNS + territory.lookup_columns + ["cq_id"])]
    if taken:
        raise BatchError(
            f"le tableau contient déjà des colonnes de résultat ({', '.join(map(str, taken[:5]))}) : "
            "est-ce la sortie d'un traitement précédent ? Repartez du fichier d'origine"
        )
    return by_coords, by_address


def _known_problems(row_problems, n: int):
    """Per row, the problem known before looking (blank or malformed line), '' for none."""
    import numpy as np
    import pandas as pd

    pre = np.full(n, "", dtype=object)
    if row_problems is not None:
        rp = np.asarray(row_problems, dtype=object)
        if len(rp) != n:
            raise BatchError("row_problems doit avoir une valeur par ligne")
        pre[:] = np.where(pd.isna(rp), "", rp)
    return pre




def _assemble(data, rows: Rows, lookup, status, reason, territory, pseudonymise: bool, salt):
    """*data*'s columns (less the address and coordinates when pseudonymised), then the result columns."""
    import numpy as np

    out = data.copy(deep=False)
    if pseudonymise:
        drop_names = set(rows.used_cols)
        drop = {i for i, c in enumerate(data.columns) if str(c) in drop_names}
        identities = rows.identities
        if identities is None:
            a_col = column(data, rows.used_cols[0], "").astype(str).to_numpy(dtype=object)
            b_col = column(data, rows.used_cols[1], "").astype(str).to_numpy(dtype=object)
            identities = np.array([f"{x.strip()} {y.strip()}".strip() for x, y in zip(a_col, b_col)], dtype=object)
        out = out.iloc[:, [i for i in range(data.shape[1]) if i not in drop]].copy(deep=False)
        out["cq_id"] = pseudonym_ids(identities, salt)  # type: ignore[arg-type]
    valid = lookup["cq_valid"].to_numpy()
    new: dict[str, Any] = {
        "cq_status": status,
        "cq_reason": reason,
        "cq_lon": np.where(valid, np.round(rows.lon, 7), np.nan),
        "cq_lat": np.where(valid, np.round(rows.lat, 7), np.nan),
        "cq_geocode_score": rows.gscore,
        "cq_geocode_type": as_categorical(rows.gtype),
        "cq_geocode_quality": as_categorical(rows.quality),
        "cq_geocode_candidates": as_categorical(rows.gcands),
    }
    if pseudonymise:
        del new["cq_lon"], new["cq_lat"]
    for name, values in new.items():
        out[name] = values
    for name in territory.lookup_columns:
        out[name] = lookup[name].to_numpy() if name in ("cq_valid", "cq_qpv_distance_m") else lookup[name].array
    return out


# -- files --------------------------------------------------------------------------------------------
class FileResult(NamedTuple):
    """What :func:`batch_file` did."""

    summary: Any  # BatchSummary
    output: Path
    summary_files: list[Path]
    input_sha256: str
    salt: str | None
    salt_file: Path | None
    notes: list[str]
    #: Rows that got a position (and so an answer: a commune, a zone, or « hors du territoire »).
    #: 0 means nothing usable came out (``cq-geo batch`` exits with code 3).
    usable: int = 0



# Over 80 lines only by its 30 keyword options and their docstring: the body is the list of steps,
# each a helper below.
def batch_file(
    input_path,
    output_path,
    *,
    lon_col: str | None = None,
    lat_col: str | None = None,
    x_col: str | None = None,
    y_col: str | None = None,
    address_cols: Sequence[str] | str | None = None,
    postcode_col: str | None = None,
    city_col: str | None = None,
    geocoder="offline",
    store=None,
    territory=None,
    territory_file=None,
    encoding: str | None = None,
    delimiter: str | None = None,
    sheet: str | None = None,
    output_encoding: str | None = None,
    output_delimiter: str | None = None,
    decimal: str | None = None,
    crs: int = 2154,
    resume: bool = False,
    pseudonymise: bool = False,
    salt: str | None = None,
    progress: Callable[[int, int], None] | None = None,
    write_summary: bool = True,
    stage: Callable[[str], None] | None = None,
    write_progress: Callable[[int, int], None] | None = None,
    overwrite: bool = False,
) -> FileResult:
    """Read *input_path* (CSV or XLSX), classify every row, write *output_path* (CSV, XLSX or GeoPackage).

    Beside the output, named after its whole name (:func:`side_file`):
    ``<sortie>.resume.xlsx`` and ``<sortie>.resume.html`` (the summary), while
    geocoding ``<sortie>.reprise-geocodage.jsonl`` (removed at the end; kept by an
    interrupted run for *resume*), and with *pseudonymise* and no *salt*,
    ``<sortie>.sel.txt`` (the generated salt; an existing one is reused, never
    replaced). Each is written under a temporary name first (``.<nom>.<pid>.partiel…``)
    and put in place when complete; temporary files left by an interrupted run on the
    same output are removed.

    The input file is only read, and checked unchanged at the end. Paths are
    resolved (``..``, symbolic links) before anything: no file written may be the
    input or the data store, the output's folder must exist, and an existing output
    or summary is replaced only with *overwrite* (an interrupted run's resume file:
    *resume* or *overwrite*). Every such mistake, and a write that fails (disk full,
    no permission), raises :class:`~cq_geo.bulk.files.BatchFileError` with a French
    message; a failed write leaves no partial file.

    Options: see :func:`batch` and ``cq-geo batch --help``; *stage* receives a French
    line at each step, and *write_progress* ``(rows written, rows)`` while a CSV or
    XLSX output is written. Without *territory*, the territory of *store* (and
    *territory_file*) is loaded while the file is read.
    """
    import numpy  # noqa: F401  (imported here, before the second thread imports it too)

    say = stage or (lambda text: None)
    src, out = real_path(input_path), real_path(output_path)
    fmt = output_format(out)
    if pseudonymise and fmt == "gpkg":
        raise BatchFileError("--pseudonymise retire les positions : une sortie GeoPackage n'aurait pas de points ; choisissez .csv ou .xlsx")
    check_output_folder(out, Path(output_path))
    by_address = bool(split_names(address_cols)) or postcode_col is not None or city_col is not None
    geocoding = by_address and not (isinstance(geocoder, str) and geocoder == "none")
    targets = _targets(out, write_summary, pseudonymise and not salt, geocoding)
    notes = _prepare_targets(src, targets, store, overwrite, resume)
    # CSV to CSV with the input's delimiter and encoding, not pseudonymised: only the
    # columns needed are parsed, the input lines are copied as they are.
    passthrough = fmt == "csv" and not pseudonymise and output_encoding is None and output_delimiter is None
    places = [c for c in (lon_col, lat_col, x_col, y_col) if c]
    needed = places + [c for c in (postcode_col, city_col) if c] + split_names(address_cols)
    table, territory = _read_input(src, territory, store, territory_file, encoding, delimiter, sheet,
                                   needed if passthrough else None, places)
    # a decimal comma in a comma-separated file needs quoted cells: the general writer
    passthrough = passthrough and table.body is not None and not (decimal is not None and decimal == table.delimiter)
    notes += table.notes
    say(f"{len(table.data):,} lignes lues (".replace(",", " ") + f"{table.format.upper()}"
        + (f", {table.encoding}, séparateur {table.delimiter!r}" if table.format == "csv" else "") + ")")
    _refuse_results(table.header, territory)
    salt, salt_file = _salt(targets.get("salt"), salt, out, notes)
    cache = None
    if geocoding:
        cache, geocoder = _open_cache(targets["cache"], geocoder, store, resume, salt if pseudonymise else None, notes)
    say("Classement des lignes…")
    data, summarise = _classify_keeping_cache(
        table.data, territory=territory, lon_col=lon_col, lat_col=lat_col, x_col=x_col, y_col=y_col,
        address_cols=address_cols, postcode_col=postcode_col, city_col=city_col, geocoder=geocoder,
        store=store, progress=progress, cache=cache, pseudonymise=pseudonymise, salt=salt,
        row_problems=table.problems, first_row_number=2,
    )
    if len(data) != len(table.data):  # the promise of the batch: never a row lost
        raise BatchError(f"{len(table.data)} lignes lues mais {len(data)} à écrire : sortie non écrite")
    say(f"Écriture de {out.name}…")
    sidecars = [targets["summary_xlsx"], targets["summary_html"]] if write_summary else []
    write = partial(_write_output, data, table, out, fmt, passthrough, decimal, output_encoding, output_delimiter,
                    crs, write_progress)
    summary, input_sha256 = _write_all(write, summarise, table, notes, src, out, sidecars, Path(input_path).name,
                                       cache)
    if cache is not None:
        cache.remove()
    if input_sha256 != table.sha256:
        raise BatchFileError(f"{src.name} a changé pendant le traitement : relancez quand il ne bouge plus")
    usable = int(numpy.asarray(data["cq_valid"].to_numpy(dtype=bool)).sum()) if len(data) else 0
    return FileResult(summary, out, sidecars, table.sha256, salt if salt_file else None, salt_file, notes, usable)


def _targets(out: Path, write_summary: bool, salt_file: bool, geocoding: bool) -> dict[str, Path]:
    """The files a run writes, by role (``output``, ``summary_xlsx``…: :data:`SIDE_SUFFIXES`)."""
    targets: dict[str, Path] = {"output": out}
    if write_summary:
        targets["summary_xlsx"] = side_file(out, "summary_xlsx")
        targets["summary_html"] = side_file(out, "summary_html")
    if salt_file:
        targets["salt"] = side_file(out, "salt")
    if geocoding:
        targets["cache"] = side_file(out, "cache")
    return targets


def _prepare_targets(src: Path, targets: dict[str, Path], store, overwrite: bool, resume: bool) -> list[str]:
    """Check what the run will write (:mod:`cq_geo.bulk.targets`), remove the temporary files an
    interrupted run left; the notes for the summary."""
    is_store = store_check(store)
    check_targets(src, targets, is_store)
    check_existing(targets, overwrite, resume)
    stale = [p for path in targets.values() for p in stale_partials(path)
             if not same_file(p, src) and not is_store(p)]
    for p in stale:
        try:
            p.unlink()
        except OSError:
            pass
    if stale:
        return [f"{len(stale)} fichier(s) temporaire(s) laissé(s) par un traitement interrompu supprimé(s)"]
    return []


def _read_input(src: Path, territory, store, territory_file, encoding, delimiter, sheet, only, numeric):
    """``(table, territory)``: while the file is read, a second thread loads the territory and,
    for a large file, builds what a large batch needs (Territory.warm_up)."""
    from concurrent.futures import ThreadPoolExecutor

    from .readers import read_table

    with ThreadPoolExecutor(1, thread_name_prefix="cq-geo-batch") as pool:
        large = src.is_file() and src.stat().st_size >= _LARGE_FILE_BYTES
        ready = pool.submit(_ready_territory, territory, store, large, territory_file)
        try:
            table = read_table(src, encoding=encoding, delimiter=delimiter, sheet=sheet, only=only, numeric=numeric)
        finally:
            territory = ready.result()
    return table, territory


def _refuse_results(header, territory) -> None:
    """A file that already holds result columns is refused (the output of an earlier run?)."""
    taken = [c for c in header if str(c) in set(RESULT_COLUMNS + territory.lookup_columns + ["cq_id"])]
    if taken:
        raise BatchError(
            f"le fichier contient déjà des colonnes de résultat ({', '.join(map(str, taken[:5]))}) : "
            "est-ce la sortie d'un traitement précédent ? Repartez du fichier d'origine"
        )


def _salt(salt_file: Path | None, salt: str | None, out: Path, notes: list[str]) -> tuple[str | None, Path | None]:
    """``(salt, salt file)``: with a *salt_file* (pseudonymised, no salt given), the salt it keeps,
    or a new one written there; else *salt* as given and no file."""
    if salt_file is None:
        return salt, None
    if salt_file.is_file():
        notes.append(f"sel repris de {salt_file.name} (jamais remplacé : déplacez ce fichier pour en tirer un nouveau)")
        return read_salt(salt_file), salt_file
    import secrets

    salt = secrets.token_hex(16)
    with atomic_path(salt_file) as tmp:
        tmp.write_text(
            "# Sel de la pseudonymisation (colonne cq_id) de " + out.name + "\n"
            "# À garder pour relier d'autres fichiers pseudonymisés avec le même sel (--salt).\n"
            "# Ne le transmettez pas avec les résultats : il permettrait de retrouver les adresses.\n"
            + salt + "\n",
            encoding="utf-8",
        )
    return salt, salt_file


def _open_cache(cache_path: Path, geocoder, store, resume: bool, salt, notes: list[str]):
    """``(resume cache, geocoder)`` of a run that geocodes; what was resumed goes to *notes*."""
    gc = get_geocoder(geocoder, store)
    if resume and not cache_path.is_file():
        notes.append("--resume : aucun traitement interrompu à reprendre, toutes les adresses sont géocodées")
    cache = GeocodeCache(cache_path, getattr(gc, "name", type(gc).__name__), resume=resume, salt=salt)
    if cache.resumed:
        notes.append(f"reprise : {cache.resumed} adresses déjà géocodées reprises de {cache_path.name}")
    if cache.dropped:
        notes.append(f"reprise : {cache.dropped} entrée(s) invalide(s) de {cache_path.name} ignorée(s), "
                     "adresses géocodées à nouveau")
    return cache, gc


def _classify_keeping_cache(data, **options):
    """:func:`classify_rows`; when it fails, the resume cache is closed with what is geocoded (``--resume``)."""
    cache = options["cache"]
    try:
        return classify_rows(data, **options)
    except CqGeoError:
        if cache is not None:
            cache.close()
        raise
    except Exception as exc:  # the geocoder failed: keep what is done for --resume
        if cache is None:
            raise
        try:
            cache.close()
        except CqGeoError:
            pass
        if isinstance(exc, OSError):  # writing the resume file failed (disk full…)
            raise write_error(exc, cache.path) from exc
        raise BatchError(
            f"traitement interrompu ({type(exc).__name__} : {exc}) ; {len(cache.entries)} adresses géocodées "
            f"sont gardées dans {cache.path.name} : relancez la même commande avec --resume pour reprendre"
        ) from exc
    except BaseException:
        if cache is not None:
            cache.close()
        raise


def _write_all(write, summarise, table, notes: list[str], src: Path, out: Path, sidecars: list[Path],
               input_name: str, cache):
    """Write the output (``write()``) and the summary files *sidecars*: ``(summary, input's SHA-256)``.

    A second thread computes the summary, writes its files under temporary names and
    checks the input's checksum while this one writes the output: writing and syncing
    to disk leave the processor mostly idle. The summary files are put in place only
    once the output is.
    """
    from concurrent.futures import ThreadPoolExecutor

    staged = [partial_path(f) for f in sidecars]

    def summary_files():
        summary = summarise()
        summary.input_rows = len(table.data)
        summary.notes = notes + summary.notes
        if staged:
            summary.write_xlsx(staged[0])
            staged[1].write_text(summary.to_html(f"Résumé du traitement par lot — {input_name}"), encoding="utf-8")
        return summary

    failed_path = out
    try:
        with ThreadPoolExecutor(1, thread_name_prefix="cq-geo-batch") as pool:
            summary_job = pool.submit(summary_files)
            checksum_job = pool.submit(file_sha256, src)
            try:
                write()
            finally:
                try:
                    summary_job.result()  # let it end before the temporary files are removed
                except BaseException:  # noqa: BLE001 - raised again below
                    pass
        failed_path = sidecars[0] if sidecars else out
        summary = summary_job.result()
        input_sha256 = checksum_job.result()
        for tmp, final in zip(staged, sidecars):
            failed_path = final
            publish(tmp, final)
    except BaseException as exc:
        if cache is not None:  # kept for --resume: the geocoding is done
            cache.close()
        if isinstance(exc, OSError):
            raise write_error(exc, failed_path) from exc
        raise
    finally:
        for tmp in staged:
            try:
                tmp.unlink(missing_ok=True)
            except OSError:
                pass
    return summary, input_sha256

#: Input files from this size on get the territory's large-batch structures built while they are read.
_LARGE_FILE_BYTES = 4 << 20


def _ready_territory(territory, store, large: bool, territory_file=None):
    """The territory (loaded when not given), warmed up for a large batch; pandas imported."""
    import pandas  # noqa: F401  (the reader needs it once it has scanned the raw bytes)

    if territory is None:
        from ..territory import load_territory

        territory = load_territory(store=store, territory_file=territory_file)
    if large:
        territory.warm_up()
    return territory


def _write_output(data, table, out: Path, fmt: str, passthrough: bool, decimal, output_encoding, output_delimiter,
                  crs: int, progress=None) -> None:
    """Write the enriched rows to *out* in format *fmt* (see :func:`batch_file`)."""
    from .writers import write_csv, write_gpkg, write_xlsx

    if passthrough:
        from .fastcsv import write_csv_passthrough

        write_csv_passthrough(table, data.iloc[:, table.data.shape[1]:], out, decimal=decimal, progress=progress)
    elif fmt == "csv":
        if table.format == "csv":
            enc = output_encoding or table.encoding or "utf-8"
            delim = output_delimiter or table.delimiter or ";"
        else:
            enc = output_encoding or "utf-8-sig"
            delim = output_delimiter or ";"
        delim = {"tab": "\t", "\\t": "\t"}.get(delim, delim)
        write_csv(data, out, delimiter=delim, encoding=enc, newline=table.newline, decimal=decimal)
    elif fmt == "xlsx":
        write_xlsx(data, out, progress=progress)
    else:
        write_gpkg(data, out, crs=crs)
