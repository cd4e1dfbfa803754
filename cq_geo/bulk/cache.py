"""The resume file of a batch's geocoding: answers kept on disk as they come (``--resume``)."""

from __future__ import annotations

import hashlib
import hmac
import json
import os
from pathlib import Path

from .errors import BatchError
from .files import write_error

__all__ = ["CACHE_VERSION", "GeocodeCache", "QUALITIES", "RESULT_TYPES", "valid_entry", "result_entry"]


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
            entry = valid_entry(entry)
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
QUALITIES = ("precise", "approximate", "ambiguous", "not_found")
RESULT_TYPES = ("housenumber", "street", "locality", "municipality")
_BOUNDS: list = []  # cq_geo.geo.crs.METRO_LONLAT_BOUNDS, imported at the first check (crs imports numpy)


def valid_entry(entry) -> dict | None:
    """A resume cache entry as cq-geo writes it, or None (checked like any input).

    >>> valid_entry({"k": "0" * 32, "q": "precise", "lon": 999, "lat": 50.3, "s": 0.9, "t": "street", "r": ""}) is None
    True
    """
    if not isinstance(entry, dict) or not isinstance(entry.get("k"), str) or not _KEY_RE.fullmatch(entry["k"]):
        return None
    q = entry.get("q")
    if q not in QUALITIES:
        return None
    for name in ("t", "r", "w", "c"):
        if not isinstance(entry.get(name, ""), str):
            return None
    if entry.get("t", "") not in ("",) + RESULT_TYPES:
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


def result_entry(result) -> dict:
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

