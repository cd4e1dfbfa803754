"""Official sources: where each layer comes from, how to read it, how to check it.

The one place that knows each official file format and URL:

- **QPV 2024** (ANCT, data.gouv.fr): the national file as GeoJSON (WGS84),
  GeoPackage or shapefile (Lambert-93 or WGS84), possibly zipped. Property
  names are normalised (``code_qp``/``CODE_QP``/``Code_QP``, ``lib_qp``/
  ``NOM_QP``/``nom_qp``, ``insee_com`` possibly multi-valued); features are
  dissolved by code; the QPV touching the territory's communes are kept
  (those also covering outside communes are flagged ``shared``); invalid
  geometries are repaired and reported.
- **QPV 2015** (previous generation, ``CODE_QP``/``NOM_QP``/``COMMUNE_QP``):
  same treatment, stored as the separate layer ``qpv2015``.
- **Communes**: geo.api.gouv.fr (``/epcis/{siren}/communes?format=geojson&
  geometry=contour``, IGN ADMIN EXPRESS simplified at 5 m) or an ADMIN
  EXPRESS ``COMMUNE`` file (``INSEE_COM`` or ``code_insee``).
- **Local zones** (poches, former QVA quarters): any polygon file drawn by the
  agglomeration, attached to the territory's named zones.

:func:`download` fetches a URL with the standard library only (timeouts,
retries with backoff, size/checksum checks, a progress callback). Base URLs
come from :data:`SOURCES` and may be overridden with the environment variables
``CQ_GEO_DATA_GOUV_URL`` and ``CQ_GEO_GEO_API_URL`` (tests point them to a
local server).

Examples
--------
>>> split_insee('="59014";59491, 5914|')
['59014', '59491', '05914']
>>> normalise_name("Cité  Saint-Marck")
'cite saint marck'
>>> source_url("qpv", base_urls={"data_gouv": "http://127.0.0.1:8000"})
'http://127.0.0.1:8000/api/1/datasets/r/942d4ee8-8142-4556-8ea1-335537ce1119'
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import tempfile
import time
import unicodedata
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from ..errors import DataError, MissingDependency

__all__ = [
    "SOURCES",
    "Source",
    "source_url",
    "download",
    "Download",
    "split_insee",
    "normalise_name",
    "read_vector",
    "read_qpv",
    "read_communes",
    "read_local_zones",
    "QpvRead",
    "CommunesRead",
    "LocalRead",
    "read_records",
    "records_from_frame",
    "select_qpv",
    "select_communes",
    "select_local",
    "polygons_touch",
    "NetworkError",
    "OFFICIAL_HOSTS",
    "OFFICIAL_RELEASES",
    "manual_install_hint",
    "check_url",
    "allowed_hosts",
    "looks_like_html",
    "preferred_member",
    "preferred_layer",
]


@dataclass(frozen=True)
class Source:
    """An official source: base URL key, path, publisher, licence."""

    layer: str
    base: str  # key of BASE_URLS
    path: str
    publisher: str
    licence: str
    title: str
    status: str = "official"
    #: the dataset's page, for installing the file by hand
    dataset_page: str = ""
    #: the ``cq-geo data import`` kind of a file downloaded by hand
    import_kind: str = ""


#: Default base URLs; override with CQ_GEO_DATA_GOUV_URL / CQ_GEO_GEO_API_URL.
BASE_URLS = {"data_gouv": "https://www.data.gouv.fr", "geo_api": "https://geo.api.gouv.fr"}
_BASE_ENV = {"data_gouv": "CQ_GEO_DATA_GOUV_URL", "geo_api": "CQ_GEO_GEO_API_URL"}

#: The official sources known to ``cq-geo data update``.
SOURCES = {
    "qpv": Source(
        layer="qpv", base="data_gouv",
        # stable redirect to the latest "Périmètres des quartiers prioritaires 2024" resource (zip)
        path="/api/1/datasets/r/942d4ee8-8142-4556-8ea1-335537ce1119",
        publisher="ANCT (Agence nationale de la cohésion des territoires)",
        licence="Licence Ouverte / Etalab 2.0",
        title="QPV 2024 — périmètres réglementaires (décret n° 2023-1314, modifié par le décret n° 2024-806)",
        dataset_page="https://www.data.gouv.fr/fr/datasets/quartiers-prioritaires-de-la-politique-de-la-ville-qpv/",
        import_kind="qpv",
    ),
    "communes": Source(
        layer="communes", base="geo_api",
        path="/epcis/{siren}/communes?format=geojson&geometry=contour&fields=nom,code,codesPostaux,population",
        publisher="IGN ADMIN EXPRESS via geo.api.gouv.fr (Etalab / DINUM)",
        licence="Licence Ouverte / Etalab 2.0",
        title="Contours des communes (ADMIN EXPRESS, simplifiés à 5 m)",
        dataset_page="https://geoservices.ign.fr/adminexpress (ADMIN EXPRESS, couche COMMUNE)",
        import_kind="communes",
    ),
}

#: Hosts a download may be redirected to (every hop is checked), besides the host of the URL asked for
#: and the hosts of the base URLs set in the environment.
OFFICIAL_HOSTS = frozenset({"www.data.gouv.fr", "data.gouv.fr", "static.data.gouv.fr", "geo.api.gouv.fr",
                            "data.geopf.fr"})

#: Known official releases, by sha256 of the file: a file imported by hand whose checksum is listed
#: here is labelled official. Add a release only after checking it against the publisher's site.
OFFICIAL_RELEASES: dict[str, str] = {}


class NetworkError(DataError):
    """The server could not be reached (offline, DNS, timeout, server errors after retries)."""


def manual_install_hint(layer: str) -> str:
    """How to install *layer* by hand on a machine without internet (French)."""
    src = SOURCES[layer]
    return (f"Sans accès à internet : téléchargez le fichier sur un autre poste ({src.title} — {src.dataset_page}), "
            f"copiez-le ici, puis installez-le avec : cq-geo data import {src.import_kind} FICHIER")

#: Accepted CRS for the official files (EPSG codes); CRS84 is EPSG:4326 with lon/lat order.
OFFICIAL_CRS = {4326: "WGS84", 2154: "Lambert-93", 4171: "RGF93 géographique"}
_MAX_BYTES = 600 * 2**20
_MIN_BYTES = 64


def source_url(layer: str, base_urls: dict[str, str] | None = None, siren: str | None = None) -> str:
    """Full URL of *layer*'s official source (base URL from *base_urls*, the environment, or the default).

    *siren*: the EPCI whose communes are asked for; by default the selected territory file's."""
    src = SOURCES[layer]
    if siren is None and "{siren}" in src.path:
        from ..model import load_definition

        siren = load_definition().siren
    base = (base_urls or {}).get(src.base) or os.environ.get(_BASE_ENV[src.base], "").strip() or BASE_URLS[src.base]
    return base.rstrip("/") + src.path.format(siren=siren)




# -- downloading ---------------------------------------------------------------------------
@dataclass
class Download:
    """A downloaded file: local path, sha256, size, URL, HTTP dates."""

    path: Path
    sha256: str
    size: int
    url: str
    last_modified: str = ""
    content_type: str = ""
    attempts: int = 1


class _Retry(Exception):
    pass


_LOOPBACK = ("127.0.0.1", "localhost", "::1")


def _check_url(url: str, allowed_hosts=None) -> None:
    """Refuse a URL the download rules forbid: not HTTPS (except on this machine), or a host not allowed."""
    from urllib.parse import urlparse

    u = urlparse(url)
    if u.scheme == "http" and u.hostname in _LOOPBACK:
        return  # local mirror / tests
    if u.scheme != "https":
        raise DataError(f"adresse refusée : {url} (seul HTTPS est accepté, ou http sur la machine locale)")
    if allowed_hosts is not None and (u.hostname or "").lower() not in allowed_hosts:
        raise DataError(f"adresse refusée : {url} (hôte {u.hostname} hors des sources autorisées : "
                        f"{', '.join(sorted(allowed_hosts))})")


def check_url(url: str, allowed: frozenset | None = None) -> None:
    """Public form of the download rules (the QGIS plugin checks each redirect hop with it).

    >>> check_url("https://www.data.gouv.fr/x", allowed_hosts("https://www.data.gouv.fr/x"))
    >>> check_url("http://example.org/x")
    Traceback (most recent call last):
    ...
    cq_geo.errors.DataError: adresse refusée : http://example.org/x (seul HTTPS est accepté, ou http sur la machine locale)
    """
    _check_url(url, allowed)


def looks_like_html(head: bytes, content_type: str = "") -> bool:
    """True when a download is a web page (maintenance, error page, captive portal), not data."""
    return _looks_like_html(head, content_type)


def allowed_hosts(url: str) -> frozenset:
    """Hosts a download of *url* may be redirected to: the official ones, *url*'s own, the configured mirrors."""
    from urllib.parse import urlparse

    hosts = set(OFFICIAL_HOSTS)
    for u in [url] + [os.environ.get(v, "") for v in _BASE_ENV.values()]:
        h = urlparse(u.strip()).hostname if u and u.strip() else None
        if h:
            hosts.add(h.lower())
    return frozenset(hosts)


def _opener(allowed):
    """A urllib opener whose redirects are checked at every hop."""
    import urllib.request

    class CheckedRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, req, fp, code, msg, headers, newurl):
            _check_url(newurl, allowed)
            return super().redirect_request(req, fp, code, msg, headers, newurl)

    return urllib.request.build_opener(CheckedRedirect)


def _looks_like_html(head: bytes, content_type: str) -> bool:
    text = head.lstrip().lower()
    return "text/html" in (content_type or "").lower() or text.startswith((b"<!doctype html", b"<html", b"<head"))


def download(
    url: str,
    dest_dir: str | os.PathLike,
    *,
    timeout: float = 60.0,
    retries: int = 3,
    backoff: float = 2.0,
    max_bytes: int = _MAX_BYTES,
    min_bytes: int = _MIN_BYTES,
    expected_sha256: str | None = None,
    progress: Callable[[int, int | None], None] | None = None,
) -> Download:
    """Download *url* into a new file of *dest_dir*, with retries and checks.

    A truncated body (fewer bytes than ``Content-Length``), a network error, a
    timeout or an HTTP 5xx/429 answer is retried up to *retries* more times,
    waiting ``backoff * 2**attempt`` seconds (``Retry-After`` is honoured up to
    60 s). HTTP 4xx fails at once. The file must hold between *min_bytes* and
    *max_bytes*, and match *expected_sha256* when given. *progress* is called
    with ``(bytes_done, total_or_None)``. Raises
    :class:`~cq_geo.errors.DataError` with a French message.
    """
    _check_url(url)
    opener = _opener(allowed_hosts(url))
    dest_dir = Path(dest_dir)
    dest_dir.mkdir(parents=True, exist_ok=True)
    last = ""
    for attempt in range(retries + 1):
        if attempt:
            time.sleep(min(backoff * 2 ** (attempt - 1), 60.0))
        fd, tmp = tempfile.mkstemp(prefix=".download-", suffix=".part", dir=dest_dir)
        try:
            with os.fdopen(fd, "wb") as out:
                done, digest, last_modified, content_type = _receive(opener, url, out, timeout=timeout,
                                                                     max_bytes=max_bytes, progress=progress)
            _check_received(tmp, url, done, digest, content_type, min_bytes=min_bytes, expected_sha256=expected_sha256)
            final = dest_dir / f"download-{digest[:12]}{_guess_suffix(Path(tmp))}"
            os.replace(tmp, final)
            return Download(final, digest, done, url, last_modified, content_type, attempt + 1)
        except _Retry as exc:
            last = str(exc)
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)
    raise NetworkError(f"téléchargement impossible après {retries + 1} essais : {last} — {url}")


def _receive(opener, url: str, out, *, timeout: float, max_bytes: int, progress) -> tuple[int, str, str, str]:
    """One GET of *url* written to *out*: ``(bytes, sha256, Last-Modified, Content-Type)``.

    Raises :class:`_Retry` when another attempt may succeed (truncated body, network
    error, HTTP 5xx/429), :class:`~cq_geo.errors.DataError` when it cannot.
    """
    import http.client
    import socket
    import urllib.error
    import urllib.request

    from .._version import __version__

    h = hashlib.sha256()
    done = 0
    req = urllib.request.Request(url, headers={"User-Agent": f"cq-geo/{__version__}"})
    try:
        with opener.open(req, timeout=timeout) as resp:
            total = resp.headers.get("Content-Length")
            total = int(total) if total and total.isdigit() else None
            if total is not None and total > max_bytes:
                raise DataError(f"fichier trop gros : {total} octets annoncés (maximum {max_bytes})")
            while True:
                try:
                    chunk = resp.read(1 << 16)
                except http.client.IncompleteRead as exc:
                    raise _Retry(f"réponse tronquée ({done + len(exc.partial)} octets reçus sur {total})")
                if not chunk:
                    break
                done += len(chunk)
                if done > max_bytes:
                    raise DataError(f"fichier trop gros : plus de {max_bytes} octets")
                h.update(chunk)
                out.write(chunk)
                if progress:
                    progress(done, total)
            if total is not None and done != total:
                raise _Retry(f"réponse tronquée ({done} octets reçus sur {total} annoncés)")
            return done, h.hexdigest(), resp.headers.get("Last-Modified", ""), resp.headers.get("Content-Type", "")
    except urllib.error.HTTPError as exc:
        if exc.code >= 500 or exc.code == 429:
            wait = exc.headers.get("Retry-After", "") if exc.headers else ""
            if wait.isdigit():
                time.sleep(min(int(wait), 60))
            raise _Retry(f"erreur du serveur HTTP {exc.code}")
        raise DataError(f"téléchargement refusé par le serveur : HTTP {exc.code} pour {url}") from exc
    except (urllib.error.URLError, socket.timeout, TimeoutError, ConnectionError, http.client.HTTPException) as exc:
        raise _Retry(f"erreur réseau ({getattr(exc, 'reason', exc)})")


def _check_received(tmp, url: str, done: int, digest: str, content_type: str, *, min_bytes: int,
                    expected_sha256: str | None) -> None:
    """Refuse a web page instead of data, a too small file, or a checksum other than the expected one."""
    with open(tmp, "rb") as f:
        head = f.read(512)
    if _looks_like_html(head, content_type):
        raise DataError(f"le serveur a envoyé une page web (HTML) au lieu des données : {url} — site en "
                        "maintenance, page d'erreur ou portail de connexion (Wi-Fi public) ? Réessayez plus "
                        "tard ou ouvrez l'adresse dans un navigateur")
    if done < min_bytes:
        raise DataError(f"fichier téléchargé trop petit ({done} octets) : {url}")
    if expected_sha256 and digest.lower() != expected_sha256.lower():
        raise DataError(f"somme de contrôle différente de celle attendue pour {url} : {digest}")


def _guess_suffix(path: Path) -> str:
    with open(path, "rb") as f:
        head = f.read(16)
    if head.startswith(b"PK"):
        return ".zip"
    if head.startswith(b"SQLite format 3"):
        return ".gpkg"
    if head.lstrip()[:1] in (b"{", b"["):
        return ".geojson"
    return ".bin"


# -- reading vector files --------------------------------------------------------------------
_VECTOR_EXT = (".gpkg", ".geojson", ".json", ".shp")


def _need_geo():
    try:
        import geopandas  # noqa: F401
        import pyogrio  # noqa: F401
        import pyproj  # noqa: F401
    except ImportError as exc:
        raise MissingDependency("la lecture des fichiers SIG demande : pip install \"cq-geo[geo]\"") from exc


def zip_member(path: str | os.PathLike, prefer: Callable[[str], int] | None = None,
               extensions: tuple[str, ...] = _VECTOR_EXT) -> str:
    """The vector file of a zip archive to read: the one *prefer* ranks highest, then the first by name.

    Members ending with one of *extensions* count (``__MACOSX`` copies aside); the
    archive is checked whole first (CRC of every member). A truncated, corrupt or
    empty archive raises :class:`~cq_geo.errors.DataError` in French. Standard
    library only: the QGIS plugin uses it too (with its own *extensions*).

    >>> import tempfile, zipfile, pathlib
    >>> z = pathlib.Path(tempfile.mkdtemp()) / "qpv.zip"
    >>> with zipfile.ZipFile(z, "w") as zf:
    ...     for name in ("lisezmoi.txt", "b/qp_2015.geojson", "a/qp_2024.geojson"):
    ...         zf.writestr(name, "{}")
    >>> zip_member(z), zip_member(z, prefer=lambda n: "2015" in n)
    ('a/qp_2024.geojson', 'b/qp_2015.geojson')
    """
    path = Path(path)
    try:
        with zipfile.ZipFile(path) as zf:
            bad = zf.testzip()
            if bad is not None:
                raise DataError(f"{path.name} : archive zip corrompue (membre {bad})")
            names = [n for n in zf.namelist() if n.lower().endswith(extensions) and not n.startswith("__MACOSX")]
    except zipfile.BadZipFile as exc:
        raise DataError(f"{path.name} : archive zip tronquée ou corrompue ({exc})") from exc
    except (OSError, EOFError) as exc:
        raise DataError(f"{path.name} : archive zip illisible ({exc})") from exc
    if not names:
        raise DataError(f"{path.name} : l'archive ne contient aucun fichier GeoJSON, GeoPackage ou shapefile")
    ranked = sorted(names, key=lambda n: (-(prefer(n) if prefer else 0), n))
    return ranked[0]


def vector_target(path: str | os.PathLike, prefer: Callable[[str], int] | None = None,
                  extensions: tuple[str, ...] = _VECTOR_EXT,
                  expected: str = "GeoJSON, GeoPackage, shapefile ou zip") -> tuple[str, str]:
    """What GDAL opens for the vector file *path*, and how to name it: ``(target, described)``.

    A zip (by its first bytes or its name) gives ``/vsizip/…`` on its best member
    (:func:`zip_member`); a missing, empty or unsupported file raises
    :class:`~cq_geo.errors.DataError` in French (*expected* lists the formats).
    Standard library only: the QGIS plugin opens its files through it too.

    >>> import tempfile, pathlib
    >>> f = pathlib.Path(tempfile.mkdtemp()) / "poches.geojson"
    >>> _ = f.write_text("{}")
    >>> vector_target(f)[1]
    'poches.geojson'
    """
    path = Path(path)
    if not path.is_file():
        raise DataError(f"fichier introuvable : {path}")
    if path.stat().st_size == 0:
        raise DataError(f"{path.name} : fichier vide")
    with open(path, "rb") as f:
        head = f.read(4)
    if head.startswith(b"PK") or path.suffix.lower() == ".zip":
        member = zip_member(path, prefer, extensions)
        return f"/vsizip/{path}/{member}", f"{path.name} › {member}"
    if path.suffix.lower() not in extensions:
        raise DataError(f"{path.name} : format non pris en charge (attendu : {expected})")
    return str(path), path.name


def read_vector(path: str | os.PathLike, layer: str | None = None, prefer: Callable[[str], int] | None = None,
                prefer_layer: Callable[[str], int] | None = None):
    """Read a GeoJSON / GeoPackage / shapefile (possibly zipped) into a GeoDataFrame.

    Returns ``(frame, description)`` where *description* names the member
    read and, for a file of several layers, the layer (the polygon layer with
    the best *prefer_layer* score, by name).
    Empty, truncated or unreadable files raise :class:`~cq_geo.errors.DataError`.
    """
    _need_geo()
    import pyogrio

    path = Path(path)
    target, described = vector_target(path, prefer)
    try:
        if layer is None:
            layers = pyogrio.list_layers(target)
            polygonal = [str(n) for n, t in layers if t and "polygon" in str(t).lower()]
            if len(layers) > 1:
                if not polygonal:
                    raise DataError(f"{described} : aucune couche de polygones")
                layer = sorted(polygonal, key=lambda n: -(prefer_layer(n) if prefer_layer else 0))[0]
        frame = pyogrio.read_dataframe(target, layer=layer)
    except DataError:
        raise
    except Exception as exc:  # pyogrio / GDAL errors: DataSourceError, FieldError, …
        raise DataError(f"{described} : fichier illisible ou tronqué ({str(exc).strip() or type(exc).__name__})") from exc
    if layer:
        described += f" (couche {layer})"
    if len(frame) == 0:
        raise DataError(f"{described} : aucune entité dans le fichier")
    return frame, described


def _to_l93(frame, described: str, official: bool):
    """Check the CRS and the coordinates, reproject to EPSG:2154."""
    import numpy as np
    import shapely

    from ..geo.crs import METRO_L93_BOUNDS

    crs = frame.crs
    if crs is None:
        if described.lower().endswith((".geojson", ".json")):
            frame = frame.set_crs(4326)  # RFC 7946: GeoJSON without crs is WGS84
            crs = frame.crs
        else:
            raise DataError(f"{described} : système de coordonnées absent (fichier .prj manquant ?)")
    epsg = crs.to_epsg()
    name = crs.to_string()
    if official and epsg not in OFFICIAL_CRS and name != "OGC:CRS84":
        raise DataError(
            f"{described} : système de coordonnées inattendu ({crs.name}, {name}) ; "
            "les fichiers officiels sont en WGS84 (EPSG:4326) ou en Lambert-93 (EPSG:2154)"
        )
    geoms = frame.geometry.values
    nonempty = ~(shapely.is_empty(geoms) | shapely.is_missing(geoms))
    if not nonempty.any():
        raise DataError(f"{described} : aucune géométrie")
    minx, miny, maxx, maxy = shapely.total_bounds(geoms[nonempty])
    if crs.is_geographic and (abs(minx) > 180 or abs(maxx) > 180 or abs(miny) > 90 or abs(maxy) > 90):
        raise DataError(
            f"{described} : coordonnées en mètres (x jusqu'à {maxx:,.0f}) alors que le fichier se déclare en "
            f"{crs.name} (degrés) : système de coordonnées erroné"
        )
    if crs.is_projected and max(abs(minx), abs(maxx), abs(miny), abs(maxy)) < 1000:
        raise DataError(
            f"{described} : coordonnées en degrés alors que le fichier se déclare en {crs.name} (mètres) : "
            "système de coordonnées erroné"
        )
    out = frame.to_crs(2154) if epsg != 2154 else frame
    b = shapely.bounds(out.geometry.values[nonempty])
    bx0, by0, bx1, by1 = METRO_L93_BOUNDS
    in_metro = (b[:, 2] >= bx0) & (b[:, 0] <= bx1) & (b[:, 3] >= by0) & (b[:, 1] <= by1)
    if not np.any(in_metro):
        raise DataError(f"{described} : aucune géométrie en France métropolitaine (système de coordonnées erroné ?)")
    return out


def _columns(frame) -> dict[str, str]:
    """Lower-case column name → actual name."""
    return {str(c).lower(): str(c) for c in frame.columns if c != frame.geometry.name}


def _pick(cols: dict[str, str], *names: str) -> str | None:
    for n in names:
        if n in cols:
            return cols[n]
    return None


_INSEE_SPLIT = re.compile(r"[;,|/\s]+")


def split_insee(value: Any) -> list[str]:
    """INSEE codes in a (possibly multi-valued, Excel-quoted, unpadded) cell."""
    if value is None or (isinstance(value, float) and value != value):
        return []
    text = str(value).strip()
    out = []
    for part in _INSEE_SPLIT.split(text):
        part = part.strip().strip("=").strip('"').strip("'").strip()
        if not part:
            continue
        if part.isdigit() and len(part) < 5:
            part = part.zfill(5)
        out.append(part.upper())
    return out


def normalise_name(text: Any) -> str:
    """Lower-case, accents and punctuation removed, spaces collapsed (for matching names)."""
    text = unicodedata.normalize("NFKD", str(text or "")).replace("œ", "oe").replace("Œ", "OE")
    text = "".join(c for c in text if not unicodedata.combining(c)).lower()
    return " ".join(re.sub(r"[^a-z0-9]+", " ", text).split())


def _repair(geom):
    """(polygonal geometry, repaired?) — invalid geometries made valid, non-polygonal parts dropped."""
    import shapely

    if geom is None or geom.is_empty:
        return None, False
    repaired = False
    if not geom.is_valid:
        geom = shapely.make_valid(geom)
        repaired = True
    if geom.geom_type not in ("Polygon", "MultiPolygon"):
        parts = [g for g in shapely.get_parts(geom) if g.geom_type in ("Polygon", "MultiPolygon")]
        geom = shapely.union_all(parts) if parts else None
        repaired = True
    return geom, repaired


# -- QPV ---------------------------------------------------------------------------------------
#: 2024 codes: QN + département (3 digits, 02A/02B for Corsica, 971-976 overseas) + 2 digits + 1 letter.
_QPV2024 = re.compile(r"^QN(\d{3}|02[AB])\d{2}[A-Z]$")
#: 2015 codes: QP + département (3 digits or 02A/02B) + 3 digits.
_QPV2015 = re.compile(r"^QP(\d{3}|02[AB])\d{3}$")


def _qpv_member_score(name: str) -> int:
    n = name.lower()
    score = 0
    if "qp" in n or "quartier" in n:
        score += 1
    if "hexagonale" in n or "metropole" in n or "france" in n:
        score += 4
    # Lambert-93 first (no reprojection); a shapefile reads ~8× faster than a GeoJSON inside a zip
    score += 3 if "lb93" in n or "l93" in n else 1 if "wgs84" in n else 0
    if any(k in n for k in ("guadeloupe", "guyane", "reunion", "martinique", "mayotte", "utm")):
        score -= 10
    score += {".gpkg": 3, ".shp": 2, ".geojson": 1, ".json": 0}[Path(n).suffix]
    return score


# -- records: (properties, WKB in EPSG:2154), the input of store.import_records ------------------
def _communes_layer_score(name: str) -> int:
    n = name.lower()
    if n == "commune":
        return 10
    if "associee" in n or "deleguee" in n or "arrondissement" in n:
        return -5
    return 5 if "commune" in n else 0


def _communes_member_score(n: str) -> int:
    n = n.lower()
    return (5 if "commune" in n and "associee" not in n and "arrondissement" not in n else 0) + (
        3 if n.endswith(".gpkg") else 1 if n.endswith(".shp") else 0)


def records_from_frame(frame) -> list[tuple[dict, bytes | None]]:
    """``(properties, WKB)`` records of a GeoDataFrame (geometry column excluded from the properties)."""
    import shapely

    cols = [c for c in frame.columns if c != frame.geometry.name]
    wkbs = shapely.to_wkb(frame.geometry.values, output_dimension=2)
    out = []
    for values, wkb in zip(frame[cols].itertuples(index=False, name=None), wkbs):
        props = {}
        for c, v in zip(cols, values):
            if v is not None and not isinstance(v, (str, bytes)) and hasattr(v, "item"):
                with contextlib.suppress(ValueError, TypeError):
                    v = v.item()
            if isinstance(v, float) and v != v:
                v = None
            props[str(c)] = v
        out.append((props, wkb))
    return out


def read_records(path, kind: str, layer: str | None = None) -> tuple[list[tuple[dict, bytes | None]], str]:
    """Read a file for an import of *kind* (``qpv``, ``qpv2015``, ``communes``, ``local``) into records in EPSG:2154.

    Returns ``(records, described)``. The CRS is checked and the geometries
    reprojected (official files: WGS84 or Lambert-93 only).
    """
    if kind in ("qpv", "qpv2015"):
        frame, described = read_vector(path, layer=layer, prefer=_qpv_member_score)
    elif kind == "communes":
        frame, described = read_vector(path, layer=layer, prefer=_communes_member_score,
                                       prefer_layer=_communes_layer_score)
    else:
        frame, described = read_vector(path, layer=layer)
    frame = _to_l93(frame, described, official=kind != "local")
    return records_from_frame(frame), described


def _columns_of(records) -> dict[str, str]:
    """Lower-case property name → actual name, over all records."""
    cols: dict[str, str] = {}
    for props, _ in records:
        for k in props:
            cols.setdefault(str(k).lower(), str(k))
    return cols


def _text(v) -> str:
    return "" if v is None else str(v).strip()


def _polys(wkb, described: str, what: str) -> list:
    from .polygons import wkb_polygons

    try:
        return wkb_polygons(wkb)
    except DataError as exc:
        raise DataError(f"{described} : {what} : {exc}") from exc


def _repair_polys(polys):
    """(polys, repaired?) — made valid with shapely when installed (non-polygonal parts dropped); else unchanged."""
    from .polygons import polygons_wkb, shapely_or_none, wkb_polygons

    shp = shapely_or_none()
    if shp is None or not polys:
        return polys, False
    geom = shp.from_wkb(polygons_wkb(polys))
    if geom.is_valid:
        return polys, False
    geom, _ = _repair(geom)
    return (wkb_polygons(shp.to_wkb(geom, output_dimension=2)) if geom is not None else []), True


def _union_polys(parts: list) -> list:
    """One set of polygons for several parts: a shapely union when installed, else the parts side by side."""
    from .polygons import polygons_wkb, shapely_or_none, wkb_polygons

    if len(parts) == 1:
        return parts[0]
    shp = shapely_or_none()
    if shp is None:
        return [p for part in parts for p in part]
    geom = shp.union_all([shp.from_wkb(polygons_wkb(p)) for p in parts])
    return wkb_polygons(shp.to_wkb(geom, output_dimension=2))


def _vertices(polys):
    import numpy as np

    return np.concatenate([r for p in polys for r in p]) if polys else np.zeros((0, 2))


def polygons_touch(a, b, tolerance: float) -> bool:
    """Do polygons *a* and *b* (numpy rings) touch within *tolerance* metres? numpy only.

    True when a vertex of one lies inside the other, or two vertices are closer
    than *tolerance* (enough to tell a perimeter from one shifted by kilometres).
    """
    import numpy as np

    from .polygons import points_in_polygons, polygons_bounds

    ba, bb = polygons_bounds(a), polygons_bounds(b)
    if ba is None or bb is None:
        return False
    if ba[0] > bb[2] + tolerance or bb[0] > ba[2] + tolerance or ba[1] > bb[3] + tolerance or bb[1] > ba[3] + tolerance:
        return False
    va, vb = _vertices(a), _vertices(b)
    if points_in_polygons(va[:, 0], va[:, 1], b).any() or points_in_polygons(vb[:, 0], vb[:, 1], a).any():
        return True
    for s in range(0, len(va), 256):
        d = np.hypot(va[s:s + 256, None, 0] - vb[None, :, 0], va[s:s + 256, None, 1] - vb[None, :, 1])
        if d.min() <= tolerance:
            return True
    return False


def _gap_m(a, b) -> float:
    """Distance between the centres of the boxes of *a* and *b* (m), for messages."""
    import math

    from .polygons import polygons_bounds

    ba, bb = polygons_bounds(a), polygons_bounds(b)
    return math.hypot((ba[0] + ba[2] - bb[0] - bb[2]) / 2, (ba[1] + ba[3] - bb[1] - bb[3]) / 2)


#: How far a QPV perimeter may lie from the communes it lists (m): the commune outlines may be simplified.
QPV_COMMUNE_TOLERANCE_M = 250.0


@dataclass
class QpvRead:
    """A QPV file read for the territory: the rows to store and what happened."""

    rows: list  # dicts: code_qp, lib_qp, insee_com, insee_territory, shared, repaired, polys (EPSG:2154)
    described: str
    generation: str  # "2024" or "2015"
    features_read: int
    codes_read: int
    repaired: list[str] = field(default_factory=list)
    shared: list[str] = field(default_factory=list)
    unknown: list[str] = field(default_factory=list)  # touching the territory, absent from its definition
    absent: list[str] = field(default_factory=list)  # in the definition, absent from the file
    notes: list[str] = field(default_factory=list)


def select_qpv(records, definition, commune_polys: dict[str, list], generation: str = "2024",
               described: str = "fichier") -> QpvRead:
    """Keep the QPV of *records* that concern the territory, and check them (numpy; shapely optional).

    Rows are kept by their INSEE codes (``insee_com``, several codes separated
    by ``;`` or ``,``), else by their commune names, else — no commune given —
    when most of their vertices lie in the territory. Only the codes of the
    rows kept are checked (the national file holds Corsican ``QN02A01M`` and
    overseas ``QN97414I`` codes). A kept QPV must touch the territory communes
    it lists (a file shifted by kilometres is refused).
    """
    records = list(records)
    if not records:
        raise DataError(f"{described} : aucune entité dans le fichier")
    code_col, name_col, insee_col, cname_col = _qpv_columns(records, described)
    codes = [_text(p.get(code_col)).upper() for p, _ in records]
    n_2015 = sum(c.startswith("QP") for c in codes)
    n_2024 = sum(c.startswith("QN") for c in codes)
    if generation == "2024" and n_2015 > len(codes) / 2:
        raise DataError(f"{described} : fichier des QPV 2015 (codes QP…) : importez-le avec « cq-geo data import qpv2015 »")
    if generation == "2015" and n_2024 > len(codes) / 2:
        raise DataError(f"{described} : fichier des QPV 2024 (codes QN…) : importez-le avec « cq-geo data import qpv »")

    territory = set(definition.communes)
    insee_lists, outside_names = _qpv_communes(records, definition, insee_col, cname_col)
    keep = _qpv_kept(records, codes, insee_lists, outside_names, territory, commune_polys, described)
    _check_qpv_codes(records, codes, keep, name_col, generation, described)
    groups: dict[str, dict[str, Any]] = {}
    for i in keep:
        g = groups.setdefault(codes[i], {"name": "", "insee": [], "others": [], "parts": []})
        g["name"] = g["name"] or _text(records[i][0].get(name_col))
        g["insee"].extend(x for x in insee_lists[i] if x not in g["insee"])
        g["others"].extend(x for x in outside_names[i] if x not in g["others"])
        g["parts"].append(_polys(records[i][1], described, f"QPV {codes[i]}"))

    from .polygons import shapely_or_none

    shp = shapely_or_none()
    out_rows, repaired_codes, shared_codes, notes, shifted = [], [], [], [], []
    for code, g in sorted(groups.items()):
        row, gap = _qpv_row(code, g, definition, territory, commune_polys, shp, described)
        if gap:
            shifted.append(gap)
        if row["repaired"]:
            repaired_codes.append(code)
        if row["shared"]:
            shared_codes.append(code)
        out_rows.append(row)
    if shifted:
        head = (f"le périmètre QPV {shifted[0]}" if len(shifted) == 1 else
                f"{len(shifted)} périmètres QPV ne touchent pas les communes qu'ils listent :\n"
                + "\n".join(f"  - {x}" for x in shifted[:15]))
        raise DataError(f"{described} : {head}\nPérimètres décalés, ou fichier dans un autre système de coordonnées "
                        "que celui qu'il déclare ? Import refusé.")
    if shp is None:
        notes.append("shapely absent : validité des géométries non contrôlée, parties d'un même QPV juxtaposées "
                     "sans fusion")
    known = {z.code for z in definition.zones_of("qpv")}
    kept = {r["code_qp"] for r in out_rows}
    unknown = sorted(kept - known) if generation == "2024" else []
    absent = sorted(known - kept) if generation == "2024" else []
    if repaired_codes:
        notes.append(f"géométries invalides réparées : {', '.join(repaired_codes)}")
    if unknown:
        notes.append(f"QPV touchant le territoire absents de sa définition (territory.toml) : {', '.join(unknown)}")
    if absent:
        notes.append(f"QPV de la définition du territoire absents du fichier : {', '.join(absent)}")
    return QpvRead(out_rows, described, generation, len(records), len(set(codes)), repaired_codes, shared_codes,
                   unknown, absent, notes)


def _qpv_columns(records, described: str) -> tuple[str, str, str | None, str | None]:
    """The columns of a QPV file: code, name (both required), INSEE codes and commune names (optional)."""
    cols = _columns_of(records)
    code_col = _pick(cols, "code_qp", "code_quartier", "codeqp", "code_qpv")
    if code_col is None:
        raise DataError(
            f"{described} : schéma inattendu : colonne code_qp absente (colonnes : {', '.join(cols.values())}) — "
            "est-ce bien le fichier des QPV de l'ANCT ?"
        )
    name_col = _pick(cols, "lib_qp", "nom_qp", "libelle_qp", "nom_quartier")
    if name_col is None:
        raise DataError(f"{described} : schéma inattendu : colonne lib_qp / nom_qp absente")
    insee_col = _pick(cols, "insee_com", "code_insee", "insee_com_qp", "codes_insee")
    cname_col = _pick(cols, "lib_com", "commune_qp", "nom_com", "communes")
    return code_col, name_col, insee_col, cname_col


def _qpv_communes(records, definition, insee_col, cname_col) -> tuple[list[list[str]], list[list[str]]]:
    """Each row's territory INSEE codes (from its codes, else its commune names) and its other communes' names."""
    name_to_insee = {normalise_name(c.name): c.insee for c in definition.communes.values()}
    insee_lists, outside_names = [], []
    for props, _ in records:
        found = split_insee(props.get(insee_col)) if insee_col else []
        others = []
        if not found and cname_col:
            for n in re.split(r"[;,|]+", _text(props.get(cname_col))):
                key = normalise_name(n)
                if key in name_to_insee:
                    found.append(name_to_insee[key])
                elif key:
                    others.append(n.strip())
        insee_lists.append(found)
        outside_names.append(others)
    return insee_lists, outside_names


def _qpv_kept(records, codes, insee_lists, outside_names, territory, commune_polys, described) -> list[int]:
    """The rows of the QPV concerning the territory (every feature of a kept code); fills *insee_lists* of the
    rows kept by position."""
    from .polygons import points_in_polygons

    by_insee = [bool(territory.intersection(lst)) for lst in insee_lists]
    # rows without any commune information: keep them when most of their vertices lie in the territory
    terr_polys = [p for c in territory for p in commune_polys.get(c, [])]
    selected = {codes[i] for i, ok in enumerate(by_insee) if ok}
    for i, (props, wkb) in enumerate(records):
        if by_insee[i] or insee_lists[i] or outside_names[i] or not terr_polys or codes[i] in selected:
            continue
        polys = _polys(wkb, described, f"entité n° {i + 1}")
        v = _vertices(polys)
        if len(v) and points_in_polygons(v[:, 0], v[:, 1], terr_polys).mean() >= 0.5:
            selected.add(codes[i])
            insee_lists[i] = sorted({c for c in territory if commune_polys.get(c) and
                                     points_in_polygons(v[:, 0], v[:, 1], commune_polys[c]).any()})
    keep = [i for i, c in enumerate(codes) if c in selected]  # every feature of a kept QPV (split files)
    if not keep:
        raise DataError(
            f"{described} : aucun QPV ne touche les communes du territoire ({len(records)} entités lues, "
            f"{len(set(codes))} codes) — fichier d'une autre région ?"
        )
    return keep


def _check_qpv_codes(records, codes, keep, name_col, generation, described) -> None:
    """The kept rows' codes: present, of the generation's pattern, one name per code."""
    pattern = _QPV2024 if generation == "2024" else _QPV2015
    empty = [i + 1 for i in keep if not codes[i]]
    if empty:
        raise DataError(f"{described} : entité(s) n° {', '.join(map(str, empty[:5]))} sans code QPV")
    bad = sorted({codes[i] for i in keep if not pattern.match(codes[i])})
    if bad:
        raise DataError(f"{described} : code(s) QPV invalide(s) parmi ceux du territoire : {', '.join(bad[:5])}")
    names_by_code: dict[str, set] = {}
    for i in keep:
        names_by_code.setdefault(codes[i], set()).add(normalise_name(records[i][0].get(name_col)))
    dup = sorted(c for c, n in names_by_code.items() if len(n) > 1)
    if dup:
        raise DataError(f"{described} : codes QPV en double avec des noms différents : {', '.join(dup[:5])}")


def _qpv_row(code, g, definition, territory, commune_polys, shp, described) -> tuple[dict[str, Any], str]:
    """The store row of QPV *code* from its parts (repaired, merged), and why it is shifted ("" when it is not)."""
    parts, repaired = [], False
    for polys in g["parts"]:
        polys, rep = _repair_polys(polys)
        repaired |= rep
        if polys:
            parts.append(polys)
    if not parts:
        raise DataError(f"{described} : le QPV {code} n'a pas de géométrie polygonale")
    if shp is not None and len(parts) > 1:
        from .polygons import polygons_wkb

        geoms = [shp.from_wkb(polygons_wkb(p)) for p in parts]
        for a in range(len(geoms)):
            for b in range(a + 1, len(geoms)):
                inter = shp.intersection(geoms[a], geoms[b]).area
                if inter > 0.5 * min(geoms[a].area, geoms[b].area) and inter > 1.0:
                    raise DataError(f"{described} : le QPV {code} figure en double (entités superposées)")
    polys = _union_polys(parts)
    polys, rep = _repair_polys(polys)
    repaired |= rep
    in_terr = [c for c in g["insee"] if c in territory]
    out_terr = [c for c in g["insee"] if c not in territory]
    listed = [p for c in in_terr for p in commune_polys.get(c, [])]
    gap = ""
    if listed and not polygons_touch(polys, listed, QPV_COMMUNE_TOLERANCE_M):
        cnames = ", ".join(f"{definition.commune_name(c)} ({c})" for c in in_terr)
        km = f"{_gap_m(polys, listed) / 1000:.1f}".replace(".", ",")
        gap = f"{code} ({g['name']}) ne touche pas {cnames} (à environ {km} km)"
    shared = bool(out_terr or g["others"])
    return {
        "code_qp": code, "lib_qp": g["name"], "insee_com": ";".join(g["insee"] + g["others"]),
        "insee_territory": ";".join(in_terr), "shared": int(shared), "repaired": int(repaired), "polys": polys,
    }, gap


def read_qpv(path, definition, commune_polys: dict[str, list], generation: str = "2024",
             layer: str | None = None) -> QpvRead:
    """Read an official QPV file (see :func:`read_records`) and keep what concerns the territory (:func:`select_qpv`)."""
    records, described = read_records(path, "qpv2015" if generation == "2015" else "qpv", layer=layer)
    return select_qpv(records, definition, commune_polys, generation, described)


# -- communes ----------------------------------------------------------------------------------
@dataclass
class CommunesRead:
    """A commune file read for the territory."""

    rows: list  # dicts: insee, name, polys (EPSG:2154)
    described: str
    features_read: int
    repaired: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    flavour: str = "admin-express"  # or "geo.api" (properties code/nom/codesPostaux)


def select_communes(records, definition, described: str = "fichier") -> CommunesRead:
    """The territory's communes among *records* (geo.api.gouv.fr or ADMIN EXPRESS ``COMMUNE``); all members required."""
    records = list(records)
    if not records:
        raise DataError(f"{described} : aucune entité dans le fichier")
    cols = _columns_of(records)
    code_col = _pick(cols, "insee_com", "code_insee", "code", "insee")
    if code_col is None:
        raise DataError(
            f"{described} : schéma inattendu : colonne INSEE_COM, code_insee ou code absente "
            f"(colonnes : {', '.join(cols.values())})"
        )
    members = set(definition.communes)
    found: dict[str, tuple] = {}
    dup = set()
    for i, (props, wkb) in enumerate(records):
        code = (split_insee(props.get(code_col)) or [""])[0]
        if code in members:
            if code in found:
                dup.add(code)
            found[code] = (i, wkb)
    if dup:
        raise DataError(f"{described} : communes en double : {', '.join(sorted(dup))}")
    if not found:
        raise DataError(f"{described} : aucune commune du territoire dans le fichier ({len(records)} entités lues)")
    missing = sorted(members - set(found))
    if missing:
        names = ", ".join(f"{definition.commune_name(c)} ({c})" for c in missing[:8])
        raise DataError(f"{described} : {len(missing)} commune(s) du territoire absente(s) du fichier : {names}")
    rows, repaired = [], []
    for code in sorted(found):
        polys, rep = _repair_polys(_polys(found[code][1], described, f"commune {code}"))
        if not polys:
            raise DataError(f"{described} : la commune {code} n'a pas de géométrie polygonale")
        if rep:
            repaired.append(code)
        rows.append({"insee": code, "name": definition.commune_name(code), "polys": polys})
    notes = [f"géométries invalides réparées : {', '.join(repaired)}"] if repaired else []
    flavour = "geo.api" if "codespostaux" in cols or code_col.lower() == "code" else "admin-express"
    return CommunesRead(rows, described, len(records), repaired, notes, flavour)


def read_communes(path, definition, layer: str | None = None) -> CommunesRead:
    """Read commune outlines (geo.api.gouv.fr GeoJSON or ADMIN EXPRESS ``COMMUNE`` layer, chosen by name)."""
    records, described = read_records(path, "communes", layer=layer)
    return select_communes(records, definition, described)


# -- local zones -------------------------------------------------------------------------------
@dataclass
class LocalRead:
    """Local zones read from a drawn file, matched to the territory's zones."""

    rows: list  # dicts: code, name, communes, polys (EPSG:2154), one per zone
    described: str
    name_field: str
    features_read: int


_LEADING_WORDS = re.compile(r"^(quartier|cite|residence)( (du|de la|de l|des|de|d))? ")
_NAME_FIELDS = ("code", "nom", "name", "libelle", "lib", "zone", "quartier", "poche")


def select_local(records, definition, tier: str, name_field: str | None = None, described: str = "fichier",
                 commune_polys: dict[str, list] | None = None) -> LocalRead:
    """Attach each record to a zone of *tier* by code or name.

    Names are matched without case, accents or punctuation, on the zone code,
    its full name or the part after « : » (``Cité Saint Marck`` for
    ``Escaudain : Cité Saint Marck``); a short name shared by several zones
    (« Centre ») goes to the zone of the commune where it is drawn, given
    *commune_polys* (Lambert-93). Unknown names raise a
    :class:`~cq_geo.errors.DataError` listing every one with suggestions.
    Several features of the same zone are merged. Invalid geometries are refused
    with the reason (when shapely is installed).
    """
    from ..model import suggest
    from .polygons import polygons_wkb, shapely_or_none

    records = list(records)
    if not records:
        raise DataError(f"{described} : aucune entité dans le fichier")
    field_col = _name_column(_columns_of(records), name_field, described)
    zones = definition.zones_of(tier)
    index = _zone_keys(zones)
    choices = [z.name for z in zones] + [z.code for z in zones]
    zmap = {z.code: z for z in zones}
    shp = shapely_or_none()
    problems, by_code = [], {}
    for i, (props, wkb) in enumerate(records):
        label = _text(props.get(field_col))
        where = f"entité n° {i + 1} (« {label} »)"
        codes = index.get(normalise_name(label), set())
        if not label:
            problems.append(f"entité n° {i + 1} : champ « {field_col} » vide")
            continue
        if not codes:
            problems.append(f"{where} : aucune zone « {tier} » de ce nom{suggest(label, choices)}")
            continue
        try:
            polys = _polys(wkb, described, where) if wkb is not None else []
        except DataError as exc:
            problems.append(f"{where} : {str(exc).split(' : ')[-1]}")
            continue
        if not polys:
            problems.append(f"{where} : géométrie vide")
            continue
        if len(codes) > 1 and commune_polys:
            codes = _drawn_in(codes, polys, zmap, commune_polys)
        if len(codes) > 1:
            problems.append(f"{where} : nom ambigu ({', '.join(sorted(codes))}) : utilisez le code")
            continue
        if shp is not None:
            geom = shp.from_wkb(polygons_wkb(polys))
            if not geom.is_valid:
                problems.append(
                    f"{where} : géométrie invalide ({shp.is_valid_reason(geom)}) — dans QGIS : boîte à outils de "
                    "traitements › Géométrie vectorielle › Réparer les géométries"
                )
                continue
        by_code.setdefault(next(iter(codes)), []).append(polys)
    if problems:
        raise DataError(f"{described} : {len(problems)} problème(s) :\n" + "\n".join(f"  - {p}" for p in problems))
    rows = [{"code": code, "name": zmap[code].name, "communes": ";".join(zmap[code].communes),
             "polys": _union_polys(parts)} for code, parts in by_code.items()]
    return LocalRead(rows, described, field_col, len(records))


def _name_column(cols: dict[str, str], name_field: str | None, described: str) -> str:
    """The column naming each zone: *name_field* (which must exist), else a usual one (``nom``, ``name``…)."""
    from ..model import suggest

    if name_field:
        field_col = cols.get(name_field.lower())
        if field_col is None:
            raise DataError(
                f"{described} : champ « {name_field} » absent{suggest(name_field, list(cols.values()))} "
                f"(champs : {', '.join(cols.values())})"
            )
        return field_col
    field_col = _pick(cols, *_NAME_FIELDS)
    if field_col is None:
        raise DataError(
            f"{described} : aucun champ de nom reconnu ({', '.join(_NAME_FIELDS)}) ; "
            f"indiquez-le avec --name-field (champs : {', '.join(cols.values())})"
        )
    return field_col


def _zone_keys(zones) -> dict[str, set[str]]:
    """Normalised code, full name and short name (after « : », with and without its leading words) -> zone codes."""
    index: dict[str, set[str]] = {}
    for z in zones:
        keys = {normalise_name(z.code), normalise_name(z.name)}
        if " : " in z.name:
            short = normalise_name(z.name.split(" : ", 1)[1])
            keys.add(short)
            keys.add(_LEADING_WORDS.sub("", short))  # « Limon » for « quartier du Limon »
        for k in keys:
            index.setdefault(k, set()).add(z.code)
    return index


def _drawn_in(codes: set[str], polys, zmap, commune_polys) -> set[str]:
    """A short name shared by several communes (« Centre »): the zone of the commune where it is drawn, if one."""
    import numpy as np

    from .polygons import points_in_polygons

    v = _vertices(polys)
    cx, cy = np.array([v[:, 0].mean()]), np.array([v[:, 1].mean()])
    here = {c for c in codes if any(commune_polys.get(k) and points_in_polygons(cx, cy, commune_polys[k])[0]
                                    for k in zmap[c].communes)}
    return here if len(here) == 1 else codes


def read_local_zones(path, definition, tier: str, name_field: str | None = None, layer: str | None = None,
                     commune_polys: dict[str, list] | None = None) -> LocalRead:
    """Read a drawn file (see :func:`read_records`) and attach its features to zones (:func:`select_local`)."""
    records, described = read_records(path, "local", layer=layer)
    return select_local(records, definition, tier, name_field, described, commune_polys)


# -- the same choices for readers other than pyogrio (the QGIS plugin reads files with QGIS) ---------
def preferred_member(names, kind: str) -> str | None:
    """The zip member an import of *kind* reads (e.g. ``SHP/QP2024_France_hexagonale_LB93.shp`` in the ANCT zip).

    >>> preferred_member(["GPKG/QP2024_France_Hexagonale_Outre_Mer_WGS84.gpkg",
    ...                   "SHP/QP2024_France_hexagonale_LB93.shp", "SHP/QP2024_Guyane_RGF95_UTM22N.shp"], "qpv")
    'SHP/QP2024_France_hexagonale_LB93.shp'
    """
    prefer = {"qpv": _qpv_member_score, "qpv2015": _qpv_member_score, "communes": _communes_member_score}.get(kind)
    names = [n for n in names if n.lower().endswith(_VECTOR_EXT) and not n.startswith("__MACOSX")]
    if not names:
        return None
    return sorted(names, key=lambda n: (-(prefer(n) if prefer else 0), n))[0]


def preferred_layer(layer_names, kind: str) -> str | None:
    """The layer an import of *kind* reads in a file of several polygon layers (``commune`` in ADMIN EXPRESS).

    >>> preferred_layer(["arrondissement", "commune", "commune_associee_ou_deleguee"], "communes")
    'commune'
    """
    names = list(layer_names)
    if not names:
        return None
    score = _communes_layer_score if kind == "communes" else (lambda n: 0)
    return sorted(names, key=lambda n: -score(n))[0]
