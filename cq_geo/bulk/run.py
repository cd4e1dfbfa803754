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
import json
import os
from functools import partial
from pathlib import Path
from typing import Any, Callable, NamedTuple, Sequence

from ..errors import CqGeoError
from ..vocabulary import BATCH_STATUS_FR as STATUS_FR  # the status codes and their words: one place
from ..vocabulary import BATCH_STATUSES as STATUSES

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
_QUALITY_FR = {"approximate": "géocodage approximatif", "ambiguous": "adresse ambiguë"}
#: Geocoded rows sent to the geocoder at once (and written to the resume cache together).
GEOCODE_CHUNK = 200


class BatchError(CqGeoError, ValueError):
    """A batch cannot start: missing or ambiguous columns, incompatible options."""


class BatchResult(NamedTuple):
    """What :func:`batch` returns: unpack it as ``data, summary = batch(...)``."""

    data: Any  # pandas.DataFrame
    summary: Any  # cq_geo.bulk.summary.BatchSummary


# -- columns ----------------------------------------------------------------------------------------
def _column(data, name: str, option: str):
    """The one column of *data* called *name* (a Series), or a French error."""
    cols = list(data.columns)
    hits = [i for i, c in enumerate(cols) if str(c) == str(name)]
    if not hits:
        from difflib import get_close_matches

        close = get_close_matches(str(name), [str(c) for c in cols], n=1)
        hint = f" ; vouliez-vous dire « {close[0]} » ?" if close else ""
        shown = ", ".join(f"« {c} »" for c in cols[:30]) or "aucune"
        raise BatchError(f"colonne « {name} » ({option}) absente du fichier{hint} (colonnes : {shown})")
    if len(hits) > 1:
        raise BatchError(f"colonne « {name} » ({option}) présente {len(hits)} fois : renommez l'une d'elles")
    return data.iloc[:, hits[0]]


def _split_names(value) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [v.strip() for v in value.split(",") if v.strip()]
    return [str(v) for v in value]


# -- numbers ----------------------------------------------------------------------------------------
def _parse_numbers(series):
    """Numbers of a column of strings or numbers: ``(values, blank, bad)``.

    Accepts French decimal commas and spaces as thousands separators. *blank*
    marks empty cells, *bad* cells that are not numbers (both NaN in *values*).

    >>> import pandas as pd
    >>> v, blank, bad = _parse_numbers(pd.Series(["3,5", " 728 213,4 ", "", "abc", "-1e3"]))
    >>> v.tolist()[:2], blank.tolist(), bad.tolist()
    ([3.5, 728213.4], [False, False, True, False, False], [False, False, False, True, False])
    """
    import numpy as np
    import pandas as pd

    if pd.api.types.is_numeric_dtype(series.dtype) and not pd.api.types.is_bool_dtype(series.dtype):
        values = series.to_numpy(dtype="float64", na_value=np.nan)
        blank = np.isnan(values)
        return values, blank, np.zeros(len(values), dtype=bool)
    raw = series.to_numpy(dtype=object)
    try:  # fast path: every cell is a plain number
        values = np.asarray(raw, dtype="float64")
        blank = np.isnan(values)
        return values, blank, np.zeros(len(values), dtype=bool)
    except (TypeError, ValueError):
        pass
    if pd.api.types.infer_dtype(raw, skipna=False) == "string":
        try:  # decimal commas only: one replace on the joined column (C speed)
            parts = "\x00".join(raw).replace(",", ".").split("\x00")
            if len(parts) == len(raw):
                values = np.asarray(parts, dtype="float64")
                blank = np.isnan(values)
                return values, blank, np.zeros(len(values), dtype=bool)
        except (TypeError, ValueError):
            pass
    s = pd.Series(raw, dtype=object).fillna("").astype(str)
    cleaned = s.str.replace(r"[\s\u00a0\u202f']", "", regex=True).str.replace(",", ".", regex=False)
    blank = (cleaned == "").to_numpy() | cleaned.str.lower().isin(["nan", "na", "null", "none"]).to_numpy()
    values = pd.to_numeric(cleaned.where(~blank, None), errors="coerce").to_numpy(dtype="float64", na_value=np.nan)
    bad = np.isnan(values) & ~blank
    return values, blank, bad


def _in_box(a, b, box):
    with __import__("numpy").errstate(invalid="ignore"):
        return (a >= box[0]) & (a <= box[2]) & (b >= box[1]) & (b <= box[3])


# -- geocoding cache (resume) -------------------------------------------------------------------------
#: Version of the resume cache's format (its first line says it).
CACHE_VERSION = 2


class GeocodeCache:
    """Geocoded addresses kept on disk as they come, so that an interrupted run resumes.

    One JSON line per address: a salted hash of the query (HMAC-SHA256; the
    address itself is not stored), the quality, the position, score, type, the
    geocoder's reason and, for an ambiguous address, the candidate communes. With
    *salt* (the pseudonymisation salt) the salt is not written in the file, which
    cannot then be matched against a list of addresses; without it, a random salt
    is drawn and kept in the file's first line. Entries are checked when read back
    like any input: an entry that is not what cq-geo writes (a position outside
    metropolitan France, an unknown quality…) is dropped and its address geocoded
    again (:attr:`dropped` counts them). A file that is not a resume cache at all
    raises :class:`BatchError`.

    >>> import tempfile, pathlib
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "cache.jsonl"
    >>> c = GeocodeCache(path, "test", resume=False, salt="sel")
    >>> k = c.key("test", "1 rue des Essais", "59220", "Denain")
    >>> c.put(k, {"q": "precise", "lon": 3.4, "lat": 50.3, "s": 0.9, "t": "housenumber", "r": ""})
    >>> c.close()
    >>> GeocodeCache(path, "test", resume=True, salt="sel").get(k)["q"]
    'precise'
    """

    def __init__(self, path, geocoder_name: str, resume: bool, salt: str | None = None):
        self.path = Path(path)
        self.geocoder_name = geocoder_name
        self.entries: dict[str, dict] = {}
        self.resumed = 0
        self.dropped = 0
        self._salt = salt
        self._key_salt = salt
        if resume and self.path.is_file():
            self._load()
        if self._key_salt is None:
            import secrets

            self._key_salt = secrets.token_hex(16)
        mode = "a" if self.entries else "w"
        from .files import write_error

        try:
            self._fh = open(self.path, mode, encoding="utf-8")
            if mode == "w":
                head = {"cq_geo_geocode_cache": CACHE_VERSION, "geocoder": geocoder_name, "check": self._check()}
                if salt is None:
                    head["key_salt"] = self._key_salt
                self._fh.write(json.dumps(head) + "\n")
                self._fh.flush()
        except OSError as exc:
            raise write_error(exc, self.path) from exc

    def _check(self) -> str:
        return hmac.new(str(self._key_salt).encode("utf-8"), b"cq-geo resume cache", hashlib.sha256).hexdigest()[:16]

    def _damaged(self, why: str) -> BatchError:
        return BatchError(
            f"le fichier de reprise {self.path.name} est illisible ({why}) : ce n'est pas un fichier de reprise de "
            "cq-geo, ou il est abîmé ; relancez sans --resume avec --overwrite (toutes les adresses sont géocodées "
            "à nouveau)"
        )

    def _load(self) -> None:
        try:
            raw = self.path.read_bytes()
        except OSError as exc:
            raise self._damaged(exc.strerror or type(exc).__name__) from None
        if not raw.strip():  # created, then interrupted before anything was written in it
            return
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            raise self._damaged("contenu binaire") from None
        lines = text.split("\n")
        try:
            head = json.loads(lines[0])
        except ValueError:
            head = None
        if not isinstance(head, dict) or "cq_geo_geocode_cache" not in head:
            raise self._damaged("première ligne inattendue")
        if head.get("cq_geo_geocode_cache") != CACHE_VERSION:
            raise BatchError(f"le fichier de reprise {self.path.name} vient d'une autre version de cq-geo : "
                             "relancez sans --resume avec --overwrite")
        if head.get("geocoder") != self.geocoder_name:
            raise BatchError(
                f"le fichier de reprise {self.path.name} vient d'un autre géocodeur ({str(head.get('geocoder'))[:40]!r}) : "
                "relancez avec le même géocodeur, ou sans --resume avec --overwrite"
            )
        if self._salt is None:
            key_salt = head.get("key_salt")
            if not isinstance(key_salt, str) or not key_salt:
                raise BatchError(f"le fichier de reprise {self.path.name} vient d'un traitement pseudonymisé : "
                                 "relancez la même commande (avec --pseudonymise et le même sel)")
            self._key_salt = key_salt
        if head.get("check") != self._check():
            raise BatchError(f"le fichier de reprise {self.path.name} a été écrit avec un autre sel : redonnez le "
                             "même --salt (ou gardez le même fichier .sel.txt), ou relancez sans --resume avec --overwrite")
        for line in lines[1:]:
            if not line.strip():
                continue
            try:
                entry = json.loads(line)
            except ValueError:  # a line cut by the interruption, or edited
                self.dropped += 1
                continue
            entry = _valid_entry(entry)
            if entry is None:
                self.dropped += 1
                continue
            self.entries[entry["k"]] = entry
        self.resumed = len(self.entries)

    def key(self, geocoder_name: str, text: str, postcode: str, city: str) -> str:
        """The salted hash under which the answer for this query is kept."""
        raw = "\x1f".join((geocoder_name, text, postcode, city)).encode("utf-8")
        return hmac.new(str(self._key_salt).encode("utf-8"), raw, hashlib.sha256).hexdigest()[:32]

    def get(self, key: str) -> dict | None:
        return self.entries.get(key)

    def put(self, key: str, entry: dict) -> None:
        entry = {"k": key, **entry}
        self.entries[key] = entry
        self._fh.write(json.dumps(entry, ensure_ascii=False) + "\n")

    def flush(self) -> None:
        from .files import write_error

        try:
            self._fh.flush()
            os.fsync(self._fh.fileno())
        except OSError as exc:
            raise write_error(exc, self.path) from exc

    def close(self) -> None:
        if not self._fh.closed:
            try:
                self.flush()
            finally:
                try:
                    self._fh.close()
                except OSError:
                    pass

    def remove(self) -> None:
        try:
            self.close()
        finally:
            self.path.unlink(missing_ok=True)


_KEY_RE = __import__("re").compile(r"[0-9a-f]{32}")
# what a valid entry may hold (cq_geo.geocode.base.QUALITIES and RESULT_TYPES, kept here so that the
# check needs no import per entry; tests/unit/test_batch_safety.py checks they agree)
_QUALITIES = ("precise", "approximate", "ambiguous", "not_found")
_RESULT_TYPES = ("housenumber", "street", "locality", "municipality")
_BOUNDS: list = []  # cq_geo.geo.crs.METRO_LONLAT_BOUNDS, imported at the first check (crs imports numpy)


def _valid_entry(entry) -> dict | None:
    """A resume cache entry as cq-geo writes it, or None (checked like any input).

    >>> _valid_entry({"k": "0" * 32, "q": "precise", "lon": 999, "lat": 50.3, "s": 0.9, "t": "street", "r": ""}) is None
    True
    """
    if not isinstance(entry, dict) or not isinstance(entry.get("k"), str) or not _KEY_RE.fullmatch(entry["k"]):
        return None
    q = entry.get("q")
    if q not in _QUALITIES:
        return None
    for name in ("t", "r", "w", "c"):
        if not isinstance(entry.get(name, ""), str):
            return None
    if entry.get("t", "") not in ("",) + _RESULT_TYPES:
        return None
    if len(entry.get("r", "")) > 2000 or len(entry.get("w", "")) > 2000 or len(entry.get("c", "")) > 10:
        return None
    cands = entry.get("cc", [])
    if not isinstance(cands, list) or len(cands) > 50 or not all(
            isinstance(c, list) and len(c) == 2 and all(isinstance(x, str) and len(x) <= 200 for x in c) for c in cands):
        return None
    import math

    lon, lat, score = entry.get("lon"), entry.get("lat"), entry.get("s")
    if q == "not_found":
        return entry if lon is None and lat is None else None

    def number(v):
        return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)

    if not (number(lon) and number(lat)):
        return None
    if not _BOUNDS:
        from ..geo.crs import METRO_LONLAT_BOUNDS

        _BOUNDS.extend(METRO_LONLAT_BOUNDS)
    b = _BOUNDS
    if not (b[0] <= lon <= b[2] and b[1] <= lat <= b[3]):
        return None
    if score is not None and not (number(score) and 0 <= score <= 1.5):
        return None
    return entry


def _result_entry(result) -> dict:
    best = result.best
    if best is None or result.quality == "not_found":
        return {"q": "not_found", "lon": None, "lat": None, "s": None, "t": "", "r": result.reason or ""}
    entry = {
        "q": result.quality, "lon": float(best.lon), "lat": float(best.lat), "s": round(float(best.score), 4),
        "t": best.type or "", "r": result.reason or "", "c": best.citycode or "",
    }
    if result.quality == "ambiguous":
        seen: dict[str, str] = {}
        for cand in result.candidates:
            code = cand.citycode or ""
            if code not in seen:
                seen[code] = cand.city or ""
        entry["cc"] = [[code, city] for code, city in seen.items()][:50]
    return entry


_GENERIC_REASON = {
    "not_found": "aucune adresse correspondante dans la base d'adresses (détail retiré : sortie pseudonymisée)",
    "ambiguous": "plusieurs lieux possibles",
}
_GENERIC_TYPE = {"housenumber": "position du numéro le plus proche", "street": "position de la voie",
                 "locality": "position du lieu-dit", "municipality": "position de la commune"}


def _generic_reason(entry: dict) -> str:
    """The geocoder's reason in words that quote nothing of the address (``--pseudonymise``).

    >>> _generic_reason({"q": "not_found", "r": "commune « Chez M. X » inconnue"})[:41]
    'aucune adresse correspondante dans la bas'
    >>> _generic_reason({"q": "approximate", "t": "street", "r": "numéro 12 absent de la rue X"})
    'position de la voie'
    """
    q = entry.get("q")
    if q in _GENERIC_REASON:
        return _GENERIC_REASON[q]
    if q == "approximate":
        return _GENERIC_TYPE.get(entry.get("t") or "", "correspondance partielle")
    return ""


def _candidates_text(entry: dict, territory) -> str:
    """« Denain (59172), Raismes (59491) »: the candidate communes of an ambiguous address."""
    if entry.get("q") != "ambiguous":
        return ""
    d = territory.definition
    out = []
    for code, city in entry.get("cc") or []:
        if code in d.communes:
            out.append(f"{d.commune_name(code)} ({code})")
        elif code:
            out.append(f"{city or 'commune'} ({code}, hors {territory.vocabulary.agglo})")
        elif city:
            out.append(city)
    return ", ".join(out) if out else ""


_CROSS_KIND = {"housenumber": "du numéro le plus proche", "street": "de la voie", "locality": "du lieu-dit",
               "municipality": "de la commune"}


def _street_crossings(territory, results) -> list[str]:
    """Per result, '' or the French warning that its street crosses a perimeter.

    For approximate answers that carry known positions along their street
    (``Candidate.support``), as ``cq-geo lookup "adresse"`` does: all the
    streets of a chunk are looked up in one vectorised call.
    """
    import numpy as np

    owner: list[int] = []
    lons: list[float] = []
    lats: list[float] = []
    for i, r in enumerate(results):
        best = r.best
        if best is None or r.quality in ("precise", "not_found") or len(getattr(best, "support", ()) or ()) < 2:
            continue
        pts = list(best.support) + [(best.lon, best.lat)]
        owner += [i] * len(pts)
        lons += [float(p[0]) for p in pts]
        lats += [float(p[1]) for p in pts]
    out = [""] * len(results)
    if not owner:
        return out
    df = territory.lookup_many(lon=np.array(lons), lat=np.array(lats))
    own = np.array(owner)
    starts = np.flatnonzero(np.r_[True, own[1:] != own[:-1]])
    ends = np.r_[starts[1:], len(own)]
    cols = {tier: _tier_cols(tier) for tier in territory.tier_ids}
    found: dict[int, list[str]] = {}
    for tier, (code_col, name_col, status_col) in cols.items():
        status = df[status_col].astype(str).to_numpy()
        inside = np.where(np.isin(status, ["inside", "boundary"]), df[code_col].astype(str).to_numpy(), "")
        names = df[name_col].astype(str).to_numpy()
        for a, b in zip(starts.tolist(), ends.tolist()):
            if len(set(inside[a:b].tolist())) > 1:
                i = int(own[a])
                zone = sorted({n for n, c in zip(names[a:b].tolist(), inside[a:b].tolist()) if c})
                kind = _CROSS_KIND.get(results[i].best.type, "de la voie")
                found.setdefault(i, []).append(
                    f"la voie traverse le périmètre {territory.vocabulary.crossing(tier)} {', '.join(zone)} (position {kind}, pas du numéro)"
                )
    for i, texts in found.items():
        out[i] = "; ".join(texts)
    return out


def _geocode(geocoder, queries: list, keys: list[str], cache: GeocodeCache | None, progress,
             territory=None) -> list[dict]:
    """Geocode distinct queries in chunks; results (entries) aligned with *queries*."""
    out: list[dict | None] = [None] * len(queries)
    todo = []
    for i, key in enumerate(keys):
        hit = cache.get(key) if cache is not None else None
        if hit is not None:
            out[i] = hit
        else:
            todo.append(i)
    total = len(queries)
    done = total - len(todo)
    if progress is not None:
        progress(done, total)
    for start in range(0, len(todo), GEOCODE_CHUNK):
        chunk = todo[start:start + GEOCODE_CHUNK]
        results = geocoder.geocode_many([queries[i] for i in chunk])
        if len(results) != len(chunk):
            raise BatchError(f"le géocodeur a rendu {len(results)} réponses pour {len(chunk)} adresses")
        crossings = _street_crossings(territory, results) if territory is not None else [""] * len(results)
        for i, result, crossing in zip(chunk, results, crossings):
            entry = _result_entry(result)
            if crossing:
                entry["w"] = crossing
            out[i] = entry
            if cache is not None:
                cache.put(keys[i], entry)
        if cache is not None:
            cache.flush()
        done += len(chunk)
        if progress is not None:
            progress(done, total)
    return out  # type: ignore[return-value]


def _get_geocoder(geocoder, store):
    if geocoder is None or isinstance(geocoder, str):
        kind = geocoder or "offline"
        if kind not in ("offline", "online", "none"):
            raise BatchError(f"géocodeur inconnu : {kind!r} (offline, online ou none)")
        if kind == "none":
            return None
        from ..geocode import get_geocoder

        return get_geocoder(kind, store=store)
    for attr in ("geocode_many", "name"):
        if not hasattr(geocoder, attr):
            raise BatchError(f"geocoder doit être 'offline', 'online', 'none' ou un géocodeur (il manque {attr})")
    return geocoder


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


# -- status and reason --------------------------------------------------------------------------------
def _tier_cols(tier: str) -> tuple[str, str, str]:
    """(code, name, status) lookup columns of *tier* (a local tier's column holds the zone's name)."""
    from ..model import REGULATORY_TIER

    if tier == REGULATORY_TIER:
        return f"cq_{tier}_code", f"cq_{tier}_name", f"cq_{tier}_status"
    return f"cq_{tier}", f"cq_{tier}", f"cq_{tier}_status"


def _decide(row: dict, territory) -> tuple[str, str]:
    """Status and French reason of one distinct combination of answers (flags from ``cq_flags``)."""
    vocab = territory.vocabulary
    texts = territory.vocabulary.warning_texts()
    agglo, of_agglo = vocab.agglo, vocab.of_agglo
    if row["pre"]:
        return "invalid", row["pre"]
    quality = row["quality"]
    if quality == "not_found":
        reason = row["greason"]
        return "not_found", "adresse introuvable" + (f" : {reason}" if reason else "")
    if quality == "ambiguous":  # no position of its own: no commune, no zone (see cq_geocode_candidates)
        why = row["greason"]
        label = _QUALITY_FR["ambiguous"]
        head = why if why.startswith(label) else label + (f" ({why})" if why else "")
        first = str(row.get("cands") or "").split(" (")[0]
        where = f" ; lieux possibles : {row['cands']}" if first and first not in head else ""
        return "to_check", (f"{head}{where} — aucune commune ni zone retenue : précisez l'adresse "
                            "(numéro, commune, code postal)")
    flags = set(territory.warning_names(int(row["flags"] or 0)))
    if not row["valid"]:
        if "swapped" in flags:
            return "invalid", "latitude et longitude semblent inversées"
        if "not_france" in flags:
            return "invalid", "point hors de la France métropolitaine : vérifiez les coordonnées"
        return "invalid", "coordonnées manquantes ou non numériques"
    issues: list[str] = []
    if quality in _QUALITY_FR:
        label, why = _QUALITY_FR[quality], row["greason"]
        if why.startswith(label):  # the geocoder's reason already names it
            issues.append(why)
        else:
            issues.append(label + (f" ({why})" if why else ""))
    if row.get("gwarn"):
        issues.append(row["gwarn"])
    if "outside" in flags:
        city = row.get("citycode", "")
        if city and city in row["definition"].communes:
            issues.append(f"l'adresse est à {row['definition'].commune_name(city)} selon la base d'adresses, "
                          "mais la position tombe hors du territoire")
            return "to_check", f"hors du territoire {of_agglo} selon la position — à vérifier : " + "; ".join(issues)
        if "territory_edge" in flags:
            issues.append(texts["territory_edge"])
            return "to_check", (f"hors du territoire {of_agglo}, tout près de sa limite — à vérifier : "
                                + "; ".join(issues))
        return "outside_territory", f"hors du territoire {of_agglo}"
    answer = None
    tier_ids = territory.tier_ids
    from ..model import REGULATORY_TIER as regulatory

    for tier in tier_ids:
        status = row[f"{tier}_status"]
        is_q = tier == regulatory
        if status in ("inside", "boundary"):
            answer = vocab.answer(tier, status, name=row[f"{tier}_name"], code=row[f"{tier}_code"] if is_q else "")
            if status == "boundary":
                issues.append(texts["qpv_boundary" if is_q else f"{tier}_edge"])
            if is_q and "qpv_not_official" in flags:
                issues.append(texts["qpv_not_official"])
            break
        if status == "near":
            issues.append(texts["qpv_near" if is_q else f"{tier}_edge"])
        elif status == "unknown":
            issues.append(texts[f"{tier}_unknown"])
    if answer is None:  # « hors » only the tiers known here, the unknown ones named (never « hors » and « inconnu »)
        known = [t for t in tier_ids if row[f"{t}_status"] != "unknown"]
        answer = vocab.outside_all(known)
        answer = " ; ".join(x for x in (answer, ", ".join(vocab.unknown(t) for t in tier_ids if t not in known)) if x)
    for flag in ("territory_edge", "commune_edge"):
        if flag in flags:
            issues.append(texts[flag])
    city = row.get("citycode", "")
    if city and city != row["insee"]:
        d = row["definition"]
        name = d.commune_name(city) if city in d.communes else f"commune {city}, hors {agglo}"
        issues.append(f"l'adresse est à {name} selon la base d'adresses, la position tombe à {row['commune']}")
    answer = f"{row['commune']} : {answer}" if row["commune"] else answer
    if issues:
        return "to_check", f"{answer} — à vérifier : " + "; ".join(issues)
    return "ok", answer


def _cat(values):
    """A categorical of an object array of strings; instant when every cell is ''."""
    import numpy as np
    import pandas as pd

    if not np.asarray(values, dtype=object).any():
        return pd.Categorical.from_codes(np.zeros(len(values), dtype="int8"), categories=pd.Index([""]))
    return pd.Categorical(values)


def _codes(values):
    """Integer codes (and categories) of a categorical or any 1-d array."""
    import pandas as pd

    if isinstance(getattr(values, "dtype", None), pd.CategoricalDtype):
        cat = values if isinstance(values, pd.Categorical) else values.array
        return cat.codes.astype("int64"), cat.categories
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    return codes.astype("int64"), uniques


def _combine(arrays) -> tuple[Any, Any]:
    """Group rows by the combination of several code arrays: ``(group per row, first row per group)``."""
    from .groups import combination_key

    return combination_key(arrays)


def _status_and_reason(lookup, pre, quality, greason, territory, citycode=None, gwarn=None, cands=None):
    """``cq_status`` and ``cq_reason`` as categoricals, computed once per distinct combination."""
    import numpy as np
    import pandas as pd

    parts = {
        "pre": pre, "quality": quality, "greason": greason, "citycode": citycode, "gwarn": gwarn, "cands": cands,
        "valid": lookup["cq_valid"].to_numpy(), "flags": lookup["cq_flags"].to_numpy(),
        "commune": lookup["cq_commune"], "insee": lookup["cq_commune_insee"],
    }
    for tier in territory.tier_ids:
        code_col, name_col, status_col = _tier_cols(tier)
        parts.update({f"{tier}_code": lookup[code_col], f"{tier}_name": lookup[name_col],
                      f"{tier}_status": lookup[status_col]})
    for name in ("citycode", "gwarn", "cands"):
        if parts[name] is None:
            del parts[name]
    coded = {name: _codes(values) for name, values in parts.items()}
    group, first = _combine([c for c, _ in coded.values()])
    status_codes = np.zeros(len(first), dtype="int8")
    reasons: list[str] = []
    for g, row_i in enumerate(first):
        row: dict[str, Any] = {"citycode": "", "gwarn": "", "cands": "", "definition": territory.definition}
        for name, (codes, cats) in coded.items():
            c = codes[row_i]
            value = cats[c] if c >= 0 else ""
            row[name] = "" if value is None or (isinstance(value, float) and value != value) else value
        row["valid"] = bool(row["valid"])
        status, reason = _decide(row, territory)
        status_codes[g] = STATUSES.index(status)
        reasons.append(reason)
    status = pd.Categorical.from_codes(status_codes[group], categories=pd.Index(STATUSES))
    uniq, inverse = np.unique(np.array(reasons, dtype=object), return_inverse=True)
    reason = pd.Categorical.from_codes(inverse[group], categories=pd.Index(uniq))
    return status, reason


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
    _deferred_summary: bool = False,
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
    import numpy as np
    import pandas as pd

    from .summary import build_summary

    if not isinstance(data, pd.DataFrame):
        raise BatchError("batch() attend un pandas.DataFrame")
    n = len(data)
    if territory is None:
        from ..territory import load_territory

        territory = load_territory(store=store)
    address_cols = _split_names(address_cols)
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

    # -- problems known before looking (blank/malformed rows) --------------------------------------
    pre = np.full(n, "", dtype=object)
    if row_problems is not None:
        rp = np.asarray(row_problems, dtype=object)
        if len(rp) != n:
            raise BatchError("row_problems doit avoir une valeur par ligne")
        pre[:] = np.where(pd.isna(rp), "", rp)
    known_bad = pre != ""

    lon = np.full(n, np.nan)
    lat = np.full(n, np.nan)
    xs = np.full(n, np.nan)
    ys = np.full(n, np.nan)
    coord_ok = np.zeros(n, dtype=bool)
    coord_reason = np.full(n, "", dtype=object)
    used_cols: list[str] = []
    if by_coords:
        names = (lon_col, lat_col) if lon_col is not None else (x_col, y_col)
        used_cols += list(names)
        a, a_blank, a_bad = _parse_numbers(_column(data, names[0], "--lon-col" if lon_col else "--x-col"))
        b, b_blank, b_bad = _parse_numbers(_column(data, names[1], "--lat-col" if lat_col else "--y-col"))
        from ..geo.crs import METRO_L93_BOUNDS, METRO_LONLAT_BOUNDS

        blank = a_blank & b_blank
        coord_reason[(a_blank | b_blank) & ~blank] = "une des deux coordonnées manque"
        coord_reason[blank] = "coordonnées manquantes"
        coord_reason[a_bad] = f"valeur non numérique dans la colonne « {names[0]} »"
        coord_reason[b_bad] = f"valeur non numérique dans la colonne « {names[1]} »"
        coord_reason[a_bad & b_bad] = f"valeurs non numériques dans les colonnes « {names[0]} » et « {names[1]} »"
        if lon_col is not None:
            l93 = _in_box(a, b, METRO_L93_BOUNDS) | _in_box(b, a, METRO_L93_BOUNDS)
            coord_reason[l93] = (
                f"les colonnes « {lon_col} »/« {lat_col} » contiennent des coordonnées Lambert-93 (mètres), "
                "pas des degrés : relancez avec --x-col et --y-col"
            )
        else:
            deg = _in_box(a, b, METRO_LONLAT_BOUNDS) | _in_box(b, a, METRO_LONLAT_BOUNDS)
            coord_reason[deg] = (
                f"les colonnes « {x_col} »/« {y_col} » contiennent des degrés (longitude/latitude), "
                "pas des mètres Lambert-93 : relancez avec --lon-col et --lat-col"
            )
        coord_ok = (coord_reason == "") & ~known_bad
        if lon_col is not None:
            lon = np.where(coord_ok, a, np.nan)
            lat = np.where(coord_ok, b, np.nan)
        else:
            xs = np.where(coord_ok, a, np.nan)
            ys = np.where(coord_ok, b, np.nan)

    # -- geocoding ------------------------------------------------------------------------------------
    quality = np.full(n, "", dtype=object)
    if by_address:
        greason = np.full(n, "", dtype=object)
        gtype = np.full(n, "", dtype=object)
        gcity = np.full(n, "", dtype=object)  # INSEE code of the geocoded address
        gwarn = np.full(n, "", dtype=object)  # « la voie traverse le périmètre … »
        gcands = np.full(n, "", dtype=object)  # candidate communes of an ambiguous address
    else:  # written only when geocoding: one array of '' serves them all
        greason = gtype = gcity = gwarn = gcands = quality
    gscore = np.full(n, np.nan)
    identities = None
    if by_address:
        parts_cols = [_column(data, c, "--address-cols") for c in address_cols]
        pc = _column(data, postcode_col, "--postcode-col") if postcode_col else None
        city = _column(data, city_col, "--city-col") if city_col else None
        used_cols += address_cols + [c for c in (postcode_col, city_col) if c]

        def clean(series):
            return series.astype(object).where(series.notna(), "").astype(str).str.strip().to_numpy(dtype=object)

        street = [clean(s) for s in parts_cols]
        postcode = clean(pc) if pc is not None else np.full(n, "", dtype=object)
        cityv = clean(city) if city is not None else np.full(n, "", dtype=object)
        texts = [" ".join(p for p in vals if p) for vals in zip(*street, postcode, cityv)] if n else []
        texts = np.array(texts, dtype=object) if n else np.zeros(0, dtype=object)
        identities = texts
        need = ~coord_ok & ~known_bad
        empty = np.array([t == "" for t in texts], dtype=bool) if n else np.zeros(0, dtype=bool)
        if isinstance(geocoder, str) and geocoder == "none" and not by_coords:
            raise BatchError("--geocoder none : il faut des colonnes de coordonnées pour placer les lignes")
        gc = _get_geocoder(geocoder, store) if (need & ~empty).any() else None
        if gc is not None:
            from ..geocode.base import AddressQuery

            rows = np.flatnonzero(need & ~empty)
            distinct: dict[tuple, int] = {}
            inverse = np.empty(len(rows), dtype="int64")
            for j, i in enumerate(rows):
                k = (texts[i], postcode[i], cityv[i])
                inverse[j] = distinct.setdefault(k, len(distinct))
            keys_t = list(distinct)
            queries = [AddressQuery(text=t, postcode=p, city=c) for t, p, c in keys_t]
            hkeys = [cache.key(gc.name, t, p, c) for t, p, c in keys_t] if cache is not None else [""] * len(keys_t)
            entries = _geocode(gc, queries, hkeys, cache, progress, territory)
            q_arr = np.array([e["q"] for e in entries] + [""], dtype=object)
            quality[rows] = q_arr[inverse]
            if pseudonymise:  # the geocoder's reasons may quote the address: generic words only
                greason[rows] = np.array([_generic_reason(e) for e in entries], dtype=object)[inverse]
            else:
                greason[rows] = np.array([e.get("r") or "" for e in entries], dtype=object)[inverse]
            gcands[rows] = np.array([_candidates_text(e, territory) for e in entries], dtype=object)[inverse]
            gtype[rows] = np.array([e.get("t") or "" for e in entries], dtype=object)[inverse]
            gcity[rows] = np.array([e.get("c") or "" for e in entries], dtype=object)[inverse]
            gwarn[rows] = np.array([e.get("w") or "" for e in entries], dtype=object)[inverse]
            gscore[rows] = np.array([np.nan if e.get("s") is None else e["s"] for e in entries], dtype=float)[inverse]
            glon = np.array([np.nan if e.get("lon") is None else e["lon"] for e in entries], dtype=float)[inverse]
            glat = np.array([np.nan if e.get("lat") is None else e["lat"] for e in entries], dtype=float)[inverse]
            # an ambiguous address has no position of its own: no commune or zone answer (issue 14)
            found = ~np.isin(q_arr[inverse], ["not_found", "ambiguous"])
            got = rows[found]
            if x_col is not None:  # put geocoded rows in Lambert-93 with the others
                from ..geo.crs import lonlat_to_l93

                xs[got], ys[got] = lonlat_to_l93(glon[found], glat[found])
            else:
                lon[got], lat[got] = glon[found], glat[found]
            coord_reason[rows] = ""
        no_place = need & (empty | (gc is None))
        if by_coords:
            # rows without usable coordinates keep the coordinate reason unless an address was tried
            coord_reason[no_place & empty & (coord_reason == "")] = "ni coordonnées ni adresse"
        else:
            coord_reason[no_place & empty] = "adresse vide"
    pre = np.where(known_bad, pre, coord_reason)

    # -- lookup ---------------------------------------------------------------------------------------
    if x_col is not None:
        lookup = territory.lookup_many(x=xs, y=ys, flags=True)
        from ..geo.crs import l93_to_lonlat

        lon, lat = l93_to_lonlat(xs, ys)
    else:
        lookup = territory.lookup_many(lon=lon, lat=lat, flags=True)
    valid = lookup["cq_valid"].to_numpy()
    status, reason = _status_and_reason(lookup, _cat(pre), _cat(quality), _cat(greason), territory,
                                        _cat(gcity) if by_address else None, _cat(gwarn) if by_address else None,
                                        _cat(gcands) if by_address else None)

    # -- assemble -------------------------------------------------------------------------------------
    out = data.copy(deep=False)
    drop: list[int] = []
    if pseudonymise:
        drop_names = set(used_cols)
        drop = [i for i, c in enumerate(data.columns) if str(c) in drop_names]
        if identities is None:
            a_col = _column(data, used_cols[0], "").astype(str).to_numpy(dtype=object)
            b_col = _column(data, used_cols[1], "").astype(str).to_numpy(dtype=object)
            identities = np.array([f"{x.strip()} {y.strip()}".strip() for x, y in zip(a_col, b_col)], dtype=object)
        out = out.iloc[:, [i for i in range(data.shape[1]) if i not in set(drop)]].copy(deep=False)
        out["cq_id"] = pseudonym_ids(identities, salt)  # type: ignore[arg-type]
    cq_lon = np.where(valid, np.round(lon, 7), np.nan)
    cq_lat = np.where(valid, np.round(lat, 7), np.nan)
    new: dict[str, Any] = {
        "cq_status": status,
        "cq_reason": reason,
        "cq_lon": cq_lon,
        "cq_lat": cq_lat,
        "cq_geocode_score": gscore,
        "cq_geocode_type": _cat(gtype),
        "cq_geocode_quality": _cat(quality),
        "cq_geocode_candidates": _cat(gcands),
    }
    if pseudonymise:
        del new["cq_lon"], new["cq_lat"]
    for name, values in new.items():
        out[name] = values
    for name in territory.lookup_columns:
        out[name] = lookup[name].to_numpy() if name in ("cq_valid", "cq_qpv_distance_m") else lookup[name].array
    summarise = partial(build_summary, out.copy(deep=False), territory, first_row_number=first_row_number,
                        pseudonymised=pseudonymise, identity_cols=[] if pseudonymise else used_cols)
    # batch_file builds the summary in a thread while the output is written: on its own
    # shallow copy of the frame, so that neither touches the other's pandas internals
    return BatchResult(out, summarise if _deferred_summary else summarise())


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


#: Side files written beside the output, named after its whole name (``resultats.csv.resume.xlsx``).
SIDE_SUFFIXES = {
    "summary_xlsx": ".resume.xlsx",
    "summary_html": ".resume.html",
    "salt": ".sel.txt",
    "cache": ".reprise-geocodage.jsonl",
}
_SIDE_ROLE = {
    "output": "la sortie",
    "summary_xlsx": "le résumé XLSX",
    "summary_html": "le résumé HTML",
    "salt": "le fichier du sel",
    "cache": "le fichier de reprise",
}


def side_file(output, kind: str) -> Path:
    """The side file *kind* (``summary_xlsx``, ``summary_html``, ``salt``, ``cache``) of *output*.

    >>> side_file("resultats.csv", "salt").name, side_file("resultats.xlsx", "salt").name
    ('resultats.csv.sel.txt', 'resultats.xlsx.sel.txt')
    """
    output = Path(output)
    return output.with_name(output.name + SIDE_SUFFIXES[kind])


def _real(path) -> Path:
    """*path* made absolute with symbolic links and ``..`` resolved (also below folders that do not exist)."""
    return Path(os.path.realpath(os.path.abspath(os.path.expanduser(os.fspath(path)))))


def store_paths(store=None) -> list[Path]:
    """The data store files a batch must never write (resolved): the store in use and the user's default one.

    One small function so that it can lean on :mod:`cq_geo.data.store` once that module
    says it; until then it follows :func:`cq_geo.paths.resolve_store`.
    """
    from ..paths import default_store_path, resolve_store

    found: list[Path] = []
    try:
        path, _origin = resolve_store(store)
        if path is not None:
            found.append(_real(path))
    except Exception:  # noqa: BLE001 - no store to protect
        pass
    try:
        found.append(_real(default_store_path()))
    except Exception:  # noqa: BLE001 - platformdirs absent
        pass
    return found


def _is_store(path: Path, stores: list[Path]) -> bool:
    """True for a store file or one of its companions (``.prev``, ``-wal``, ``-journal``…)."""
    for st in stores:
        if path == st:
            return True
        if path.parent == st.parent and (path.name.startswith(st.name + ".") or path.name.startswith(st.name + "-")):
            return True
    return False


def store_check(store=None) -> Callable[[Path], bool]:
    """``is_store(path)``: True when *path* is the data store or one of its files.

    Uses :func:`store_paths` (the store in use and the user's default one, their
    ``.prev``/``-wal``… companions), and :func:`cq_geo.data.store.is_store_path` when
    that function exists (it also recognises any file holding a cq-geo store).
    """
    stores = store_paths(store)
    try:
        from ..data.store import is_store_path
    except ImportError:
        is_store_path = None

    def is_store(path: Path) -> bool:
        if _is_store(Path(path), stores):
            return True
        if is_store_path is not None:
            try:
                return bool(is_store_path(path, store))
            except Exception:  # noqa: BLE001 - an unreadable store: the path check above stands
                return False
        return False

    return is_store


def _same_file(a: Path, b: Path) -> bool:
    """True when *a* and *b* are one file: same resolved path, or same file on disk (hard link)."""
    if a == b:
        return True
    try:
        return os.path.samefile(a, b)
    except OSError:
        return False


def _check_targets(src: Path, targets: dict[str, Path], is_store: Callable[[Path], bool]) -> None:
    """No file the batch writes (*targets* and their temporary files) may be the input or the store."""
    from .files import BatchFileError, partial_path

    for kind, path in targets.items():
        for p, temp in ((path, False), (partial_path(path), True)):
            what = _SIDE_ROLE[kind] + (" (fichier temporaire)" if temp else "")
            if _same_file(p, src):
                if kind == "output" and not temp:
                    raise BatchFileError("le fichier de sortie ne peut pas être le fichier d'entrée : "
                                         "l'entrée n'est jamais modifiée")
                raise BatchFileError(
                    f"{p.name} ({what}, écrit à côté de la sortie) serait le fichier d'entrée : "
                    "choisissez un autre nom de sortie (l'entrée n'est jamais modifiée)"
                )
            if is_store(p):
                raise BatchFileError(
                    f"{p.name} ({what}) serait un fichier du magasin de données de cq-geo ({p.parent}) : "
                    "choisissez un autre nom ou un autre dossier de sortie"
                )


def _check_output_folder(out: Path, given: Path) -> None:
    """The output's folder exists and is a folder; the output is not a folder."""
    from .files import BatchFileError

    folder = out.parent
    if out.is_dir():
        raise BatchFileError(f"{given} est un dossier : donnez un nom de fichier (ex. {given / 'resultats.csv'})")
    if not folder.exists():
        raise BatchFileError(f"le dossier de sortie {folder} n'existe pas : créez-le, ou choisissez un dossier existant")
    if not folder.is_dir():
        raise BatchFileError(f"{given} : {folder} est un fichier, pas un dossier ; choisissez un dossier de sortie")


def _check_existing(targets: dict[str, Path], overwrite: bool, resume: bool) -> None:
    """Nothing is replaced without --overwrite (the resume cache is read with --resume, the salt file reused)."""
    from .files import BatchFileError

    for kind, path in targets.items():
        if not os.path.lexists(path):
            continue
        if path.is_dir():
            raise BatchFileError(f"{path} ({_SIDE_ROLE[kind]}) est un dossier : choisissez un autre nom de sortie")
        if kind == "salt":
            continue  # read and reused, never replaced
        if kind == "cache":
            if resume or overwrite:
                continue
            raise BatchFileError(
                f"un traitement interrompu a laissé {path.name} : relancez la même commande avec --resume pour le "
                "reprendre, ou avec --overwrite pour repartir de zéro"
            )
        if not overwrite:
            raise BatchFileError(
                f"{path.name} ({_SIDE_ROLE[kind]}) existe déjà : ajoutez --overwrite pour le remplacer, "
                "ou choisissez un autre nom de sortie"
            )


def _read_salt(path: Path) -> str | None:
    """The salt kept in a salt file (its last line that is not a comment), or None."""
    from .files import BatchFileError

    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        raise BatchFileError(f"{path.name} (fichier du sel) est illisible : donnez le sel avec --salt, "
                             "ou déplacez ce fichier") from None
    kept = [ln.strip() for ln in text.splitlines() if ln.strip() and not ln.lstrip().startswith("#")]
    if not kept:
        raise BatchFileError(f"{path.name} (fichier du sel) ne contient pas de sel : donnez le sel avec --salt, "
                             "ou déplacez ce fichier")
    return kept[-1]


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
    import secrets
    from concurrent.futures import ThreadPoolExecutor

    import numpy  # noqa: F401  (imported here, before the second thread imports it too)

    from .files import BatchFileError, file_sha256, output_format, stale_partials, write_error
    from .readers import read_table

    given = Path(output_path)
    src = _real(input_path)
    out = _real(output_path)
    fmt = output_format(out)
    say = stage or (lambda text: None)
    if pseudonymise and fmt == "gpkg":
        raise BatchFileError("--pseudonymise retire les positions : une sortie GeoPackage n'aurait pas de points ; choisissez .csv ou .xlsx")
    _check_output_folder(out, given)
    by_address = bool(_split_names(address_cols)) or postcode_col is not None or city_col is not None
    geocoding = by_address and not (isinstance(geocoder, str) and geocoder == "none")
    targets: dict[str, Path] = {"output": out}
    if write_summary:
        targets["summary_xlsx"] = side_file(out, "summary_xlsx")
        targets["summary_html"] = side_file(out, "summary_html")
    if pseudonymise and not salt:
        targets["salt"] = side_file(out, "salt")
    if geocoding:
        targets["cache"] = side_file(out, "cache")
    is_store = store_check(store)
    _check_targets(src, targets, is_store)
    _check_existing(targets, overwrite, resume)
    notes_before: list[str] = []
    stale = [p for path in targets.values() for p in stale_partials(path)
             if not _same_file(p, src) and not is_store(p)]
    for p in stale:
        try:
            p.unlink()
        except OSError:
            pass
    if stale:
        notes_before.append(f"{len(stale)} fichier(s) temporaire(s) laissé(s) par un traitement interrompu "
                            "supprimé(s)")

    # CSV to CSV with the input's delimiter and encoding, not pseudonymised: only the
    # columns needed are parsed, the input lines are copied as they are.
    passthrough = fmt == "csv" and not pseudonymise and output_encoding is None and output_delimiter is None
    needed = [c for c in (lon_col, lat_col, x_col, y_col, postcode_col, city_col) if c] + _split_names(address_cols)
    # While the file is read, a second thread loads the territory and, for a large
    # file, builds what a large batch needs (Territory.warm_up).
    with ThreadPoolExecutor(1, thread_name_prefix="cq-geo-batch") as pool:
        large = src.is_file() and src.stat().st_size >= _LARGE_FILE_BYTES
        ready = pool.submit(_ready_territory, territory, store, large, territory_file)
        try:
            table = read_table(src, encoding=encoding, delimiter=delimiter, sheet=sheet,
                               only=needed if passthrough else None,
                               numeric=[c for c in (lon_col, lat_col, x_col, y_col) if c])
        finally:
            territory = ready.result()
    # a decimal comma in a comma-separated file needs quoted cells: the general writer
    passthrough = passthrough and table.body is not None and not (decimal is not None and decimal == table.delimiter)
    notes = notes_before + list(table.notes)
    say(f"{len(table.data):,} lignes lues (".replace(",", " ") + f"{table.format.upper()}"
        + (f", {table.encoding}, séparateur {table.delimiter!r}" if table.format == "csv" else "") + ")")
    taken = [c for c in table.header if str(c) in set(RESULT_COLUMNS + territory.lookup_columns + ["cq_id"])]
    if taken:
        raise BatchError(
            f"le fichier contient déjà des colonnes de résultat ({', '.join(map(str, taken[:5]))}) : "
            "est-ce la sortie d'un traitement précédent ? Repartez du fichier d'origine"
        )

    salt_file = None
    if pseudonymise and not salt:
        salt_file = targets["salt"]
        if salt_file.is_file():
            salt = _read_salt(salt_file)
            notes.append(f"sel repris de {salt_file.name} (jamais remplacé : déplacez ce fichier pour en tirer un nouveau)")
        else:
            from .files import atomic_path

            salt = secrets.token_hex(16)
            with atomic_path(salt_file) as tmp:
                tmp.write_text(
                    "# Sel de la pseudonymisation (colonne cq_id) de " + out.name + "\n"
                    "# À garder pour relier d'autres fichiers pseudonymisés avec le même sel (--salt).\n"
                    "# Ne le transmettez pas avec les résultats : il permettrait de retrouver les adresses.\n"
                    + salt + "\n",
                    encoding="utf-8",
                )

    cache = None
    cache_path = targets.get("cache")
    if geocoding:
        gc = _get_geocoder(geocoder, store)
        if resume and not cache_path.is_file():
            notes.append("--resume : aucun traitement interrompu à reprendre, toutes les adresses sont géocodées")
        cache = GeocodeCache(cache_path, getattr(gc, "name", type(gc).__name__), resume=resume,
                             salt=salt if pseudonymise else None)
        geocoder = gc
        if cache.resumed:
            notes.append(f"reprise : {cache.resumed} adresses déjà géocodées reprises de {cache_path.name}")
        if cache.dropped:
            notes.append(f"reprise : {cache.dropped} entrée(s) invalide(s) de {cache_path.name} ignorée(s), "
                         "adresses géocodées à nouveau")
    say("Classement des lignes…")
    try:
        result = batch(
            table.data, territory=territory, lon_col=lon_col, lat_col=lat_col, x_col=x_col, y_col=y_col,
            address_cols=address_cols, postcode_col=postcode_col, city_col=city_col, geocoder=geocoder,
            store=store, progress=progress, cache=cache, pseudonymise=pseudonymise, salt=salt,
            row_problems=table.problems, first_row_number=2, _deferred_summary=True,
        )
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
            raise write_error(exc, cache_path) from exc
        raise BatchError(
            f"traitement interrompu ({type(exc).__name__} : {exc}) ; {len(cache.entries)} adresses géocodées "
            f"sont gardées dans {cache_path.name} : relancez la même commande avec --resume pour reprendre"
        ) from exc
    except BaseException:
        if cache is not None:
            cache.close()
        raise
    data, summarise = result
    if len(data) != len(table.data):  # the promise of the batch: never a row lost
        raise BatchError(f"{len(table.data)} lignes lues mais {len(data)} à écrire : sortie non écrite")

    say(f"Écriture de {out.name}…")
    # A second thread computes the summary, writes its files under temporary names and
    # checks the input's checksum while this one writes the output: writing and syncing
    # to disk leave the processor mostly idle. The summary files are put in place only
    # once the output is.
    from .files import partial_path, publish

    sidecars = [targets["summary_xlsx"], targets["summary_html"]] if write_summary else []
    staged = [partial_path(f) for f in sidecars]

    def summary_files():
        summary = summarise()
        summary.input_rows = len(table.data)
        summary.notes = notes + summary.notes
        if staged:
            summary.write_xlsx(staged[0])
            staged[1].write_text(summary.to_html(f"Résumé du traitement par lot — {Path(input_path).name}"),
                                 encoding="utf-8")
        return summary

    failed_path = out
    try:
        with ThreadPoolExecutor(1, thread_name_prefix="cq-geo-batch") as pool:
            summary_job = pool.submit(summary_files)
            checksum_job = pool.submit(file_sha256, src)
            try:
                _write_output(data, table, out, fmt, passthrough, decimal, output_encoding, output_delimiter, crs,
                              write_progress)
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
    if cache is not None:
        cache.remove()
    if input_sha256 != table.sha256:
        raise BatchFileError(f"{src.name} a changé pendant le traitement : relancez quand il ne bouge plus")
    usable = int(numpy.asarray(data["cq_valid"].to_numpy(dtype=bool)).sum()) if len(data) else 0
    return FileResult(summary, out, sidecars, table.sha256, salt if salt_file else None, salt_file, notes, usable)


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
