"""The online geocoder: the IGN Géoplateforme API, or any addok server with the same API.

Used **only when asked** (``--geocoder online``, or ``CQ_GEO_GEOCODER=online``):
the addresses are then sent over the network to the server. The default base
URL is the Géoplateforme's (``https://data.geopf.fr/geocodage``); set
``base_url`` (or ``CQ_GEO_GEOCODER_URL``) to use a self-hosted addok.

Endpoints (docs/geocodage.md): ``GET {base}/search``, ``GET {base}/reverse``
(GeocodeJSON FeatureCollection) and ``POST {base}/search/csv`` (multipart, the
CSV comes back with ``result_*`` columns, read here *by name*).

The client keeps under the public limit (50 requests/s per IP) with its own
pace (45/s by default), waits as told by ``Retry-After`` on HTTP 429, retries
with growing pauses on 5xx answers, cut connections and timeouts, splits batch
files under 50 MB and 200,000 lines, and checks that every row came back.
Standard library only (urllib by default; any other HTTP stack through ``transport``).

Examples
--------
>>> g = OnlineGeocoder("http://127.0.0.1:9/geocodage", retries=0, timeout=0.5)
>>> g.search_url
'http://127.0.0.1:9/geocodage/search'
>>> try:
...     g.geocode("12 rue des Essais 59220 Denain")
... except OnlineGeocoderError as err:
...     print(str(err)[:40])
géocodeur en ligne injoignable (http://1
"""

from __future__ import annotations

import csv
import email.utils
import http.client
import io
import json
import os
import random
import socket
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from typing import Any, Callable, Iterable

from .._version import __version__
from .base import (
    DEFAULT_RADIUS_M,
    AddressQuery,
    Candidate,
    GeocodeResult,
    OnlineGeocoderError,
    QualityThresholds,
    assess,
)

__all__ = ["OnlineGeocoder", "urllib_transport", "DEFAULT_BASE_URL", "URL_ENV", "MAX_BATCH_BYTES", "MAX_BATCH_LINES"]

#: The IGN Géoplateforme geocoder (replaced api-adresse.data.gouv.fr in January 2026).
DEFAULT_BASE_URL = "https://data.geopf.fr/geocodage"
URL_ENV = "CQ_GEO_GEOCODER_URL"
#: Limits of one batch file on the public service (kept under, with a margin).
MAX_BATCH_BYTES = 50 * 1024 * 1024
MAX_BATCH_LINES = 200_000
_RETRY_STATUSES = {500, 502, 503, 504}


class _Pacer:
    """At most *rate* requests per second (shared by the threads of one client)."""

    def __init__(self, rate: float):
        self.interval = 1.0 / rate if rate and rate > 0 else 0.0
        self._next = 0.0
        self._lock = threading.Lock()

    def wait(self) -> None:
        if not self.interval:
            return
        with self._lock:
            now = time.monotonic()
            start = max(now, self._next)
            self._next = start + self.interval
        if start > now:
            time.sleep(start - now)

    def hold(self, seconds: float) -> None:
        """Nobody sends before *seconds* from now (after a 429)."""
        with self._lock:
            self._next = max(self._next, time.monotonic() + seconds)


def _retry_after(value: str | None, default: float) -> float:
    """Seconds to wait from a ``Retry-After`` header (seconds or an HTTP date)."""
    if not value:
        return default
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
        return max(0.0, when.timestamp() - time.time())
    except (TypeError, ValueError, IndexError):
        return default


def _float(v) -> float | None:
    try:
        return float(v) if v not in (None, "") else None
    except (TypeError, ValueError):
        return None


class OnlineGeocoder:
    """Client of the Géoplateforme / addok geocoding API.

    Parameters
    ----------
    base_url : API root, e.g. ``https://data.geopf.fr/geocodage`` or
        ``http://127.0.0.1:7878`` (addok); default ``CQ_GEO_GEOCODER_URL`` then
        :data:`DEFAULT_BASE_URL`.
    timeout : seconds per request (a batch file gets 10 times more).
    rate : maximum requests per second (the public service allows 50).
    retries : new attempts after a 5xx answer, a timeout or a cut connection.
    max_429 : how many HTTP 429 answers in a row are waited out before giving up.
    batch_lines, batch_bytes : size of one batch file sent to ``/search/csv``.
    thresholds : the quality model (default from ``CQ_GEO_QUALITY``).
    transport : how HTTP requests are sent: ``transport(method, url, data,
        headers, timeout) -> (status, headers, body)`` with lower-case header
        names, every HTTP status returned (not raised) and :class:`OSError`
        raised when no complete answer came. Default :func:`urllib_transport`;
        the QGIS plugin passes one built on QGIS's network stack (proxy and
        certificates of the user's QGIS settings).
    """

    name = "online"

    def __init__(
        self,
        base_url: str | None = None,
        timeout: float = 10.0,
        rate: float = 45.0,
        retries: int = 4,
        max_429: int = 10,
        batch_lines: int = 5000,
        batch_bytes: int = 45 * 1024 * 1024,
        thresholds: QualityThresholds | None = None,
        backoff: float = 0.5,
        transport: Callable[..., tuple[int, dict[str, str], bytes]] | None = None,
    ):
        base = (base_url or os.environ.get(URL_ENV, "").strip() or DEFAULT_BASE_URL).rstrip("/")
        if not base.startswith(("http://", "https://")):
            raise OnlineGeocoderError(f"adresse du géocodeur en ligne invalide : {base!r} (http:// ou https:// attendu)")
        self.base_url = base
        self.timeout = float(timeout)
        self.retries = max(0, int(retries))
        self.max_429 = max(0, int(max_429))
        self.batch_lines = max(1, min(int(batch_lines), MAX_BATCH_LINES - 1))
        self.batch_bytes = max(1024, min(int(batch_bytes), MAX_BATCH_BYTES - 1024 * 1024))
        self.thresholds = thresholds or QualityThresholds.from_env()
        self.backoff = float(backoff)
        self._pacer = _Pacer(rate)
        self.user_agent = f"cq-geo/{__version__} (Contrat Quartiers 2030)"
        self.requests_sent = 0
        #: ``transport(method, url, data, headers, timeout) -> (status, headers, body)``; see :func:`urllib_transport`.
        self.transport = transport or urllib_transport

    @property
    def source(self) -> str:
        return f"online:{self.base_url}"

    @property
    def search_url(self) -> str:
        return f"{self.base_url}/search"

    # -- HTTP ------------------------------------------------------------------------------------------
    def _request(self, url: str, data: bytes | None = None, headers: dict[str, str] | None = None,
                 timeout: float | None = None) -> tuple[bytes, dict[str, str]]:
        """One request with pacing, 429 waits and retries; returns (body, headers with lower-case keys)."""
        attempt = 0
        waits_429 = 0
        last_error = ""
        method = "POST" if data is not None else "GET"
        while True:
            self._pacer.wait()
            self.requests_sent += 1
            wait = timeout or self.timeout
            try:
                status, resp_headers, body = self.transport(method, url, data,
                                                            {"User-Agent": self.user_agent, **(headers or {})}, wait)
                resp_headers = {str(k).lower(): str(v) for k, v in (resp_headers or {}).items()}
            except (socket.timeout, TimeoutError):
                last_error = f"délai dépassé ({wait:g} s)"
            except OSError as exc:
                reason = getattr(exc, "reason", exc)
                if isinstance(reason, (socket.timeout, TimeoutError)) or "timed out" in str(reason):
                    last_error = f"délai dépassé ({wait:g} s)"
                else:
                    last_error = str(reason)
            else:
                if 200 <= status < 300:
                    return body, resp_headers
                detail = _error_detail(body)
                if status == 429:
                    waits_429 += 1
                    if waits_429 > self.max_429:
                        raise OnlineGeocoderError(
                            f"le géocodeur en ligne refuse les requêtes (HTTP 429, trop de requêtes) "
                            f"après {self.max_429} attentes : réessayez plus tard ({self.base_url})"
                        )
                    self._pacer.hold(_retry_after(resp_headers.get("retry-after"), 5.0))
                    continue
                if status in _RETRY_STATUSES:
                    last_error = f"HTTP {status}{detail}"
                else:
                    raise OnlineGeocoderError(_http_message(status, detail, self.base_url))
            attempt += 1
            if attempt > self.retries:
                raise OnlineGeocoderError(
                    f"géocodeur en ligne injoignable ({self.base_url}) : {last_error} "
                    f"({attempt} tentative{'s' if attempt > 1 else ''}) ; vérifiez la connexion, "
                    "ou utilisez le géocodeur hors ligne (--geocoder offline)"
                )
            time.sleep(self.backoff * (2 ** (attempt - 1)) * (1.0 + 0.25 * random.random()))

    def _get_json(self, path: str, params: dict[str, Any]) -> dict[str, Any]:
        query = urllib.parse.urlencode({k: v for k, v in params.items() if v not in (None, "")})
        body, _ = self._request(f"{self.base_url}{path}?{query}")
        try:
            data = json.loads(body.decode("utf-8"))
        except (UnicodeDecodeError, ValueError) as exc:
            raise OnlineGeocoderError(f"réponse illisible du géocodeur en ligne ({self.base_url}{path}) : {exc}") from None
        if not isinstance(data, dict) or not isinstance(data.get("features"), list):
            raise OnlineGeocoderError(f"réponse inattendue du géocodeur en ligne ({self.base_url}{path}) : "
                                      "FeatureCollection GeoJSON attendue")
        return data

    # -- search / reverse -------------------------------------------------------------------------
    def search(self, q: str, limit: int = 5, postcode: str = "", citycode: str = "", type: str = "",
               autocomplete: bool = False) -> dict[str, Any]:
        """The raw GeocodeJSON answer of ``/search`` (a FeatureCollection)."""
        q = (q or "").strip()
        if len(q) < 3 or not q[0].isalnum():
            raise OnlineGeocoderError(
                f"adresse trop courte ou invalide pour le géocodeur en ligne : {q!r} "
                "(au moins 3 caractères, commençant par une lettre ou un chiffre)"
            )
        return self._get_json("/search", {
            "q": q, "limit": max(1, min(int(limit), 50)), "postcode": postcode, "citycode": citycode,
            "type": type, "autocomplete": "1" if autocomplete else "0",
        })

    def geocode(self, query: AddressQuery | str, limit: int = 5) -> GeocodeResult:
        """Geocode one address with ``/search``; the quality comes from :func:`assess`."""
        q = AddressQuery(query) if isinstance(query, str) else query
        text = " ".join(p for p in (q.text, q.city) if p).strip()
        if len(text) < 3:
            return GeocodeResult(q.text, "not_found", [], "adresse vide ou trop courte", self.source)
        data = self.search(text, limit=max(limit, 2), postcode=q.postcode, citycode=q.citycode)
        cands = [c for c in (_candidate(f) for f in data["features"]) if c is not None]
        for c in cands:
            _check_number(q.text, c)
        result = assess(q.text, cands, self.thresholds, self.source)
        result.candidates = result.candidates[:limit]
        return result

    def reverse(self, lon: float, lat: float, limit: int = 1, type: str = "") -> list[Candidate]:
        """Addresses near a point (``/reverse``), nearest first."""
        data = self._get_json("/reverse", {"lon": f"{lon:.6f}", "lat": f"{lat:.6f}", "limit": limit, "type": type})
        return [c for c in (_candidate(f) for f in data["features"]) if c is not None]

    # -- batch ---------------------------------------------------------------------------------------
    def geocode_many(
        self, queries: Iterable[AddressQuery | str], progress: Callable[[int, int], None] | None = None,
        refine: bool = True,
    ) -> list[GeocodeResult]:
        """Geocode many addresses with ``/search/csv`` batch files.

        Rows whose answer is too close to call from the batch columns alone
        (second score within the margin) are asked again one by one with
        ``/search`` when *refine* is true, to know whether the second candidate
        is another place (``ambiguous``) or the same one.
        """
        qs = [AddressQuery(q) if isinstance(q, str) else q for q in queries]
        total = len(qs)
        results: list[GeocodeResult | None] = [None] * total
        done = 0
        for start, end in self._chunks(qs):
            rows = self._post_csv(qs[start:end])
            for k, row in enumerate(rows):
                results[start + k] = self._row_result(qs[start + k], row)
            done = end
            if progress is not None:
                progress(done, total)
        if refine:
            t = self.thresholds
            for i, r in enumerate(results):
                if r is not None and r.best is not None and r.score_next is not None and (
                    r.best.score - r.score_next < t.margin
                ):
                    results[i] = self.geocode(qs[i])
        return [r for r in results if r is not None]

    def _chunks(self, qs: list[AddressQuery]) -> list[tuple[int, int]]:
        out, start, size = [], 0, 0
        for i, q in enumerate(qs):
            line = len(_csv_line(i, q).encode("utf-8"))
            if i > start and (i - start >= self.batch_lines or size + line > self.batch_bytes):
                out.append((start, i))
                start, size = i, 0
            size += line
        if start < len(qs):
            out.append((start, len(qs)))
        return out

    def _post_csv(self, qs: list[AddressQuery]) -> list[dict[str, str]]:
        """Send one batch file; return one row (dict by column name) per query, in order."""
        text = "cq_id,q,postcode,citycode\n" + "".join(_csv_line(i, q) for i, q in enumerate(qs))
        boundary = f"cqgeo{uuid.uuid4().hex}"
        # Filter columns only when used: addok-csv 1.1 with addok 1.3 fails (HTTP 500) on filter fields.
        fields = [("columns", "q")]
        fields += [("postcode", "postcode")] if any(q.postcode for q in qs) else []
        fields += [("citycode", "citycode")] if any(q.citycode for q in qs) else []
        body = io.BytesIO()
        for name, value in fields:
            body.write(f"--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n".encode())
        body.write(f"--{boundary}\r\nContent-Disposition: form-data; name=\"data\"; filename=\"adresses.csv\"\r\n"
                   "Content-Type: text/csv; charset=utf-8\r\n\r\n".encode())
        body.write(text.encode("utf-8"))
        body.write(f"\r\n--{boundary}--\r\n".encode())
        payload = body.getvalue()
        attempts = 0
        while True:
            raw, _headers = self._request(
                f"{self.base_url}/search/csv", data=payload,
                headers={"Content-Type": f"multipart/form-data; boundary={boundary}"}, timeout=self.timeout * 10,
            )
            try:
                return _parse_csv_answer(raw, len(qs))
            except OnlineGeocoderError:
                attempts += 1
                if attempts > self.retries:
                    raise
                time.sleep(self.backoff * (2 ** (attempts - 1)))

    def _row_result(self, q: AddressQuery, row: dict[str, str]) -> GeocodeResult:
        status = (row.get("result_status") or "").strip()
        score = _float(row.get("result_score"))
        lon, lat = _float(row.get("longitude")), _float(row.get("latitude"))
        if status in ("not-found", "skipped", "error") or score is None or lon is None or lat is None:
            reason = {"skipped": "adresse vide", "error": "erreur du géocodeur pour cette ligne"}.get(
                status, "aucune adresse trouvée")
            return GeocodeResult(q.text, "not_found", [], reason, self.source)
        cand = Candidate(
            lon=lon, lat=lat, label=row.get("result_label", ""), score=score,
            type=row.get("result_type", "") or "", citycode=row.get("result_citycode", "") or "",
            postcode=row.get("result_postcode", "") or "", city=row.get("result_city", "") or "",
            street=row.get("result_street", "") or "", housenumber=row.get("result_housenumber", "") or "",
            oldcitycode=row.get("result_oldcitycode", "") or "", oldcity=row.get("result_oldcity", "") or "",
        )
        _check_number(q.text, cand)
        return assess(q.text, [cand], self.thresholds, self.source, score_next=_float(row.get("result_score_next")))


def urllib_transport(method: str, url: str, data: bytes | None, headers: dict[str, str],
                     timeout: float) -> tuple[int, dict[str, str], bytes]:
    """The default transport of :class:`OnlineGeocoder` (standard library ``urllib``).

    Returns ``(status, headers with lower-case keys, body)`` for every HTTP
    answer, errors included (4xx/5xx are answers, not exceptions); raises
    :class:`OSError` when no complete answer came (refused or cut connection,
    timeout, body shorter than its ``Content-Length``).

    >>> urllib_transport("GET", "http://127.0.0.1:9/", None, {}, 0.5)
    Traceback (most recent call last):
    ...
    urllib.error.URLError: <urlopen error [Errno 111] Connection refused>
    """
    req = urllib.request.Request(url, data=data, headers=dict(headers or {}), method=method)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            status, resp_headers, body = resp.status, resp.headers, resp.read()
    except urllib.error.HTTPError as exc:
        status, resp_headers = exc.code, exc.headers
        try:
            body = exc.read()
        except (OSError, http.client.HTTPException):
            body = b""
    except http.client.HTTPException as exc:  # IncompleteRead, RemoteDisconnected…: not OSError subclasses
        raise OSError(f"réponse interrompue ({exc.__class__.__name__})") from exc
    out = {k.lower(): v for k, v in (resp_headers.items() if resp_headers is not None else ())}
    length = out.get("content-length")
    if length is not None and length.isdigit() and int(length) != len(body):
        raise OSError(f"réponse incomplète ({len(body)} octets sur {length})")
    return int(status), out, body


def _check_number(text: str, cand: Candidate) -> None:
    """Flag a candidate whose house number is not the one typed (the server gave another, or the street).

    >>> c = Candidate(3.39, 50.33, "11 Rue X 59220 Denain", 0.9, "housenumber", housenumber="11")
    >>> _check_number("13 rue x denain", c); c.approximate_number
    True
    >>> c = Candidate(3.39, 50.33, "12 bis Rue X", 0.9, "housenumber", housenumber="12bis")
    >>> _check_number("12 B rue x", c); c.approximate_number
    True
    >>> _check_number("12 bis rue x", c); c.approximate_number
    False
    """
    from .normalize import parse_address

    typed = parse_address(text)
    cand.radius_m = cand.radius_m or DEFAULT_RADIUS_M.get(cand.type, 250.0)
    if not typed.housenumber:
        cand.approximate_number = False
        return
    if cand.type != "housenumber":
        cand.approximate_number = True
        return
    got = parse_address(f"{cand.housenumber} x")
    cand.approximate_number = (got.housenumber, got.rep) != (typed.housenumber, typed.rep)
    if cand.approximate_number:
        cand.radius_m = max(cand.radius_m, 30.0)


def _csv_line(i: int, q: AddressQuery) -> str:
    buf = io.StringIO()
    text = " ".join(p for p in (q.text, q.city) if p).replace("\n", " ").replace("\r", " ")
    csv.writer(buf, lineterminator="\n").writerow([i, text, q.postcode, q.citycode])
    return buf.getvalue()


def _parse_csv_answer(raw: bytes, expected: int) -> list[dict[str, str]]:
    """Rows of a ``/search/csv`` answer by input order; checks nothing was lost on the way."""
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise OnlineGeocoderError(f"réponse CSV du géocodeur illisible (UTF-8 attendu) : {exc}") from None
    sample = text[:4096]
    delimiter = ";" if sample.split("\n", 1)[0].count(";") > sample.split("\n", 1)[0].count(",") else ","
    reader = csv.DictReader(io.StringIO(text), delimiter=delimiter)
    fields = reader.fieldnames or []
    needed = {"cq_id", "result_score"}
    if not needed <= set(fields) or not ({"latitude", "longitude"} <= set(fields)):
        raise OnlineGeocoderError(
            "réponse CSV du géocodeur sans les colonnes attendues (cq_id, latitude, longitude, result_score) : "
            f"{', '.join(fields[:12]) or 'aucune'}"
        )
    rows: dict[int, dict[str, str]] = {}
    for row in reader:
        if None in row or any(v is None for v in row.values()):
            raise OnlineGeocoderError("réponse CSV du géocodeur tronquée (ligne incomplète)")
        try:
            rows[int(row["cq_id"])] = row
        except (TypeError, ValueError):
            raise OnlineGeocoderError(f"réponse CSV du géocodeur : identifiant de ligne illisible {row.get('cq_id')!r}") from None
    if len(rows) != expected or set(rows) != set(range(expected)):
        raise OnlineGeocoderError(
            f"réponse CSV du géocodeur tronquée : {len(rows)} lignes reçues sur {expected} envoyées"
        )
    return [rows[i] for i in range(expected)]


def _candidate(feature: dict[str, Any]) -> Candidate | None:
    try:
        lon, lat = feature["geometry"]["coordinates"][:2]
        p = feature.get("properties") or {}
        return Candidate(
            lon=float(lon), lat=float(lat), label=str(p.get("label", "")), score=float(p.get("score", 0.0)),
            type=str(p.get("type", "")), citycode=str(p.get("citycode", "") or ""),
            postcode=str(p.get("postcode", "") or ""), city=str(p.get("city", "") or ""),
            street=str(p.get("street", "") or (p.get("name", "") if p.get("type") in ("street", "locality") else "")
                       or ""),
            housenumber=str(p.get("housenumber", "") or ""), oldcitycode=str(p.get("oldcitycode", "") or ""),
            oldcity=str(p.get("oldcity", "") or ""),
        )
    except (KeyError, TypeError, ValueError, IndexError):
        return None


def _error_detail(body: bytes | None) -> str:
    """A short French-friendly detail from an error answer's body (JSON ``message`` or first line)."""
    try:
        text = (body or b"")[:2000].decode("utf-8", "replace")
    except Exception:  # noqa: BLE001 - best effort only
        return ""
    try:
        data = json.loads(text)
        msg = (data.get("description") or data.get("message") or data.get("title") or "") if isinstance(data, dict) else ""
    except ValueError:
        msg = text.strip().splitlines()[0] if text.strip() else ""
    return f" : {str(msg)[:200]}" if msg else ""


def _http_message(status: int, detail: str, base: str) -> str:
    if status == 400:
        return f"requête refusée par le géocodeur en ligne (HTTP 400){detail}"
    if status == 413:
        return f"fichier trop gros pour le géocodeur en ligne (HTTP 413){detail}"
    if status in (401, 403):
        return f"accès refusé par le géocodeur en ligne (HTTP {status}){detail} ({base})"
    if status == 404:
        return f"adresse du géocodeur en ligne introuvable (HTTP 404) : {base} — vérifiez CQ_GEO_GEOCODER_URL"
    return f"erreur du géocodeur en ligne (HTTP {status}){detail} ({base})"
