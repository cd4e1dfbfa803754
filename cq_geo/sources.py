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

from .errors import DataError, MissingDependency

__all__ = [
    "SOURCES",
    "Source",
    "source_url",
    "download",
    "Download",
    "file_sha256",
    "split_insee",
    "normalise_name",
    "read_vector",
    "read_qpv",
    "read_communes",
    "read_local_zones",
    "QpvRead",
    "CommunesRead",
    "LocalRead",
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
    ),
    "communes": Source(
        layer="communes", base="geo_api",
        path="/epcis/{siren}/communes?format=geojson&geometry=contour&fields=nom,code,codesPostaux,population",
        publisher="IGN ADMIN EXPRESS via geo.api.gouv.fr (Etalab / DINUM)",
        licence="Licence Ouverte / Etalab 2.0",
        title="Contours des communes (ADMIN EXPRESS, simplifiés à 5 m)",
    ),
}

#: Accepted CRS for the official files (EPSG codes); CRS84 is EPSG:4326 with lon/lat order.
OFFICIAL_CRS = {4326: "WGS84", 2154: "Lambert-93", 4171: "RGF93 géographique"}
_MAX_BYTES = 600 * 2**20
_MIN_BYTES = 64


def source_url(layer: str, base_urls: dict[str, str] | None = None, siren: str = "200042190") -> str:
    """Full URL of *layer*'s official source (base URL from *base_urls*, the environment, or the default)."""
    src = SOURCES[layer]
    base = (base_urls or {}).get(src.base) or os.environ.get(_BASE_ENV[src.base], "").strip() or BASE_URLS[src.base]
    return base.rstrip("/") + src.path.format(siren=siren)


def file_sha256(path: str | os.PathLike) -> str:
    """Hex sha256 of a file."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


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


def _check_url(url: str) -> None:
    from urllib.parse import urlparse

    u = urlparse(url)
    if u.scheme == "https":
        return
    if u.scheme == "http" and u.hostname in ("127.0.0.1", "localhost", "::1"):
        return  # local mirror / tests
    raise DataError(f"adresse refusée : {url} (seul HTTPS est accepté, ou http sur la machine locale)")


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
    import http.client
    import socket
    import urllib.error
    import urllib.request

    from ._version import __version__

    _check_url(url)
    dest_dir = Path(dest_dir)
    dest_dir.mkdir(parents=True, exist_ok=True)
    last = ""
    for attempt in range(retries + 1):
        if attempt:
            time.sleep(min(backoff * 2 ** (attempt - 1), 60.0))
        fd, tmp = tempfile.mkstemp(prefix=".download-", suffix=".part", dir=dest_dir)
        h = hashlib.sha256()
        done = 0
        try:
            req = urllib.request.Request(url, headers={"User-Agent": f"cq-geo/{__version__}"})
            try:
                with urllib.request.urlopen(req, timeout=timeout) as resp, os.fdopen(fd, "wb") as out:
                    fd = None
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
                    last_modified = resp.headers.get("Last-Modified", "")
                    content_type = resp.headers.get("Content-Type", "")
            except urllib.error.HTTPError as exc:
                if exc.code >= 500 or exc.code == 429:
                    wait = exc.headers.get("Retry-After", "") if exc.headers else ""
                    if wait.isdigit():
                        time.sleep(min(int(wait), 60))
                    raise _Retry(f"erreur du serveur HTTP {exc.code}")
                raise DataError(f"téléchargement refusé par le serveur : HTTP {exc.code} pour {url}") from exc
            except (urllib.error.URLError, socket.timeout, TimeoutError, ConnectionError,
                    http.client.HTTPException) as exc:
                raise _Retry(f"erreur réseau ({getattr(exc, 'reason', exc)})")
            if done < min_bytes:
                raise DataError(f"fichier téléchargé trop petit ({done} octets) : {url}")
            digest = h.hexdigest()
            if expected_sha256 and digest.lower() != expected_sha256.lower():
                raise DataError(f"somme de contrôle différente de celle attendue pour {url} : {digest}")
            final = dest_dir / f"download-{digest[:12]}{_guess_suffix(Path(tmp))}"
            os.replace(tmp, final)
            return Download(final, digest, done, url, last_modified, content_type, attempt + 1)
        except _Retry as exc:
            last = str(exc)
        finally:
            if fd is not None:
                os.close(fd)
            if os.path.exists(tmp):
                os.unlink(tmp)
    raise DataError(f"téléchargement impossible après {retries + 1} essais : {last} — {url}")


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


def _zip_member(path: Path, prefer: Callable[[str], int] | None) -> str:
    try:
        with zipfile.ZipFile(path) as zf:
            bad = zf.testzip()
            if bad is not None:
                raise DataError(f"{path.name} : archive zip corrompue (membre {bad})")
            names = [n for n in zf.namelist() if n.lower().endswith(_VECTOR_EXT) and not n.startswith("__MACOSX")]
    except zipfile.BadZipFile as exc:
        raise DataError(f"{path.name} : archive zip tronquée ou corrompue ({exc})") from exc
    except (OSError, EOFError) as exc:
        raise DataError(f"{path.name} : archive zip illisible ({exc})") from exc
    if not names:
        raise DataError(f"{path.name} : l'archive ne contient aucun fichier GeoJSON, GeoPackage ou shapefile")
    ranked = sorted(names, key=lambda n: (-(prefer(n) if prefer else 0), n))
    return ranked[0]


def read_vector(path: str | os.PathLike, layer: str | None = None, prefer: Callable[[str], int] | None = None):
    """Read a GeoJSON / GeoPackage / shapefile (possibly zipped) into a GeoDataFrame.

    Returns ``(frame, description)`` where *description* names the member read.
    Empty, truncated or unreadable files raise :class:`~cq_geo.errors.DataError`.
    """
    _need_geo()
    import pyogrio

    path = Path(path)
    if not path.is_file():
        raise DataError(f"fichier introuvable : {path}")
    if path.stat().st_size == 0:
        raise DataError(f"{path.name} : fichier vide")
    with open(path, "rb") as f:
        head = f.read(4)
    target, described = str(path), path.name
    if head.startswith(b"PK") or path.suffix.lower() == ".zip":
        member = _zip_member(path, prefer)
        target, described = f"/vsizip/{path}/{member}", f"{path.name} › {member}"
    elif path.suffix.lower() not in _VECTOR_EXT:
        raise DataError(f"{path.name} : format non pris en charge (attendu : GeoJSON, GeoPackage, shapefile ou zip)")
    try:
        if layer is None:
            layers = pyogrio.list_layers(target)
            polygonal = [str(n) for n, t in layers if t and "polygon" in str(t).lower()]
            if len(layers) > 1:
                if not polygonal:
                    raise DataError(f"{described} : aucune couche de polygones")
                layer = polygonal[0]
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

    from .crs import METRO_L93_BOUNDS

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
_QPV2024 = re.compile(r"^QN\d{5,6}[A-Z]$")
_QPV2015 = re.compile(r"^QP\d{6}$")


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


@dataclass
class QpvRead:
    """A QPV file read for the territory: the frame to store and what happened."""

    frame: Any  # GeoDataFrame in EPSG:2154, columns of the qpv layer
    described: str
    generation: str  # "2024" or "2015"
    features_read: int
    codes_read: int
    repaired: list[str] = field(default_factory=list)
    shared: list[str] = field(default_factory=list)
    unknown: list[str] = field(default_factory=list)  # touching the territory, absent from its definition
    absent: list[str] = field(default_factory=list)  # in the definition, absent from the file
    notes: list[str] = field(default_factory=list)


def read_qpv(path, definition, commune_geoms: dict[str, Any], generation: str = "2024",
             layer: str | None = None) -> QpvRead:
    """Read an official QPV file and keep what concerns the territory.

    *generation* ``"2024"`` expects ``QN…`` codes, ``"2015"`` ``QP…`` codes
    (the other generation is refused with a message naming the right command).
    *commune_geoms* (Lambert-93) is used when a row has no INSEE code (2015
    files only list commune names).
    """
    import numpy as np
    import pandas as pd
    import shapely

    frame, described = read_vector(path, layer=layer, prefer=_qpv_member_score)
    cols = _columns(frame)
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
    codes = frame[code_col].astype("string").str.strip().fillna("")
    empty = int((codes == "").sum())
    if empty:
        raise DataError(f"{described} : {empty} entité(s) sans code QPV")
    is2024, is2015 = codes.str.match(_QPV2024.pattern), codes.str.match(_QPV2015.pattern)
    if generation == "2024" and is2015.mean() > 0.5:
        raise DataError(f"{described} : fichier des QPV 2015 (codes QP…) : importez-le avec « cq-geo data import qpv2015 »")
    if generation == "2015" and is2024.mean() > 0.5:
        raise DataError(f"{described} : fichier des QPV 2024 (codes QN…) : importez-le avec « cq-geo data import qpv »")
    good = is2024 if generation == "2024" else is2015
    if not good.all():
        bad = sorted(set(codes[~good]))[:5]
        raise DataError(f"{described} : code(s) QPV invalide(s) : {', '.join(bad)}")
    frame = _to_l93(frame, described, official=True)

    names = frame[name_col].astype("string").fillna("").str.strip()
    per_code = pd.DataFrame({"code": codes, "name": names.map(normalise_name)}).groupby("code")["name"].nunique()
    dup = sorted(per_code[per_code > 1].index)
    if dup:
        raise DataError(f"{described} : codes QPV en double avec des noms différents : {', '.join(dup[:5])}")

    territory = set(definition.communes)
    name_to_insee = {normalise_name(c.name): c.insee for c in definition.communes.values()}
    insee_lists, outside_names = [], []
    for i in range(len(frame)):
        found = split_insee(frame[insee_col].iloc[i]) if insee_col else []
        others = []
        if not found and cname_col:
            for n in re.split(r"[;,|]+", str(frame[cname_col].iloc[i] or "")):
                key = normalise_name(n)
                if key in name_to_insee:
                    found.append(name_to_insee[key])
                elif key:
                    others.append(n.strip())
        insee_lists.append(found)
        outside_names.append(others)
    by_insee = np.array([bool(territory.intersection(lst)) for lst in insee_lists])

    # rows without any commune information: keep them when most of the QPV lies in the territory
    no_info = np.array([not lst and not o for lst, o in zip(insee_lists, outside_names)])
    by_geom = np.zeros(len(frame), dtype=bool)
    if no_info.any() and commune_geoms:
        outline = shapely.union_all([commune_geoms[c] for c in territory if c in commune_geoms])
        shapely.prepare(outline)
        geoms = frame.geometry.values
        cand = np.flatnonzero(no_info & shapely.intersects(outline, geoms))
        for i in cand:
            g, _ = _repair(geoms[i])
            if g is not None and g.area > 0 and shapely.intersection(outline, g).area >= 0.5 * g.area:
                by_geom[i] = True
    selected = set(codes[by_insee | by_geom])
    keep = np.flatnonzero(codes.isin(selected).to_numpy())  # every feature of a kept QPV (split files)
    if len(keep) == 0:
        raise DataError(
            f"{described} : aucun QPV ne touche les communes du territoire ({len(frame)} entités lues, "
            f"{codes.nunique()} codes) — fichier d'une autre région ?"
        )

    groups: dict[str, dict[str, Any]] = {}
    for i in keep:
        code = str(codes.iloc[i])
        g = groups.setdefault(code, {"name": "", "insee": [], "others": [], "geoms": []})
        g["name"] = g["name"] or str(names.iloc[i])
        g["insee"].extend(x for x in insee_lists[i] if x not in g["insee"])
        g["others"].extend(x for x in outside_names[i] if x not in g["others"])
        g["geoms"].append(frame.geometry.values[i])

    out_rows, repaired_codes, shared_codes, notes = [], [], [], []
    for code, g in sorted(groups.items()):
        parts, repaired = [], False
        for geom in g["geoms"]:
            geom, rep = _repair(geom)
            repaired |= rep
            if geom is not None:
                parts.append(geom)
        if not parts:
            raise DataError(f"{described} : le QPV {code} n'a pas de géométrie polygonale")
        for a in range(len(parts)):
            for b in range(a + 1, len(parts)):
                inter = shapely.intersection(parts[a], parts[b]).area
                if inter > 0.5 * min(parts[a].area, parts[b].area) and inter > 1.0:
                    raise DataError(f"{described} : le QPV {code} figure en double (entités superposées)")
        geom = shapely.union_all(parts) if len(parts) > 1 else parts[0]
        if not geom.is_valid or geom.geom_type not in ("Polygon", "MultiPolygon"):
            geom, _ = _repair(geom)
            repaired = True
        in_terr = [c for c in g["insee"] if c in territory]
        out_terr = [c for c in g["insee"] if c not in territory]
        shared = bool(out_terr or g["others"])
        if repaired:
            repaired_codes.append(code)
        if shared:
            shared_codes.append(code)
        out_rows.append({
            "code_qp": code, "lib_qp": g["name"], "insee_com": ";".join(g["insee"] + g["others"]),
            "insee_territory": ";".join(in_terr), "shared": int(shared), "repaired": int(repaired), "geometry": geom,
        })
    import geopandas as gpd

    out = gpd.GeoDataFrame(out_rows, geometry="geometry", crs=2154)
    known = {z.code for z in definition.zones_of("qpv")}
    kept = set(out["code_qp"])
    unknown = sorted(kept - known) if generation == "2024" else []
    absent = sorted(known - kept) if generation == "2024" else []
    if repaired_codes:
        notes.append(f"géométries invalides réparées : {', '.join(repaired_codes)}")
    if unknown:
        notes.append(f"QPV touchant le territoire absents de sa définition (territory.toml) : {', '.join(unknown)}")
    if absent:
        notes.append(f"QPV de la définition du territoire absents du fichier : {', '.join(absent)}")
    return QpvRead(out, described, generation, len(frame), int(codes.nunique()), repaired_codes, shared_codes,
                   unknown, absent, notes)


# -- communes ----------------------------------------------------------------------------------
@dataclass
class CommunesRead:
    """A commune file read for the territory."""

    frame: Any  # GeoDataFrame EPSG:2154: insee, name
    described: str
    features_read: int
    repaired: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    flavour: str = "admin-express"  # or "geo.api" (properties code/nom/codesPostaux)


def read_communes(path, definition, layer: str | None = None) -> CommunesRead:
    """Read commune outlines (geo.api.gouv.fr GeoJSON or ADMIN EXPRESS ``COMMUNE``); all members required."""
    import geopandas as gpd

    def prefer(n: str) -> int:
        n = n.lower()
        return (5 if "commune" in n and "associee" not in n and "arrondissement" not in n else 0) + (
            3 if n.endswith(".gpkg") else 1 if n.endswith(".shp") else 0)

    frame, described = read_vector(path, layer=layer, prefer=prefer)
    cols = _columns(frame)
    code_col = _pick(cols, "insee_com", "code_insee", "code", "insee")
    if code_col is None:
        raise DataError(
            f"{described} : schéma inattendu : colonne INSEE_COM, code_insee ou code absente "
            f"(colonnes : {', '.join(cols.values())})"
        )
    name_col = _pick(cols, "nom", "nom_officiel", "nom_com", "name", "nom_m")
    frame = _to_l93(frame, described, official=True)
    codes = frame[code_col].map(lambda v: (split_insee(v) or [""])[0])
    members = set(definition.communes)
    sub = frame[codes.isin(members)].copy()
    sub["insee"] = codes[codes.isin(members)]
    dup = sorted(sub["insee"][sub["insee"].duplicated()].unique())
    if dup:
        raise DataError(f"{described} : communes en double : {', '.join(dup)}")
    missing = sorted(members - set(sub["insee"]))
    if len(sub) == 0:
        raise DataError(f"{described} : aucune commune du territoire dans le fichier ({len(frame)} entités lues)")
    if missing:
        names = ", ".join(f"{definition.commune_name(c)} ({c})" for c in missing[:8])
        raise DataError(f"{described} : {len(missing)} commune(s) du territoire absente(s) du fichier : {names}")
    repaired, geoms = [], []
    for code, geom in zip(sub["insee"], sub.geometry.values):
        geom, rep = _repair(geom)
        if geom is None:
            raise DataError(f"{described} : la commune {code} n'a pas de géométrie polygonale")
        if rep:
            repaired.append(code)
        geoms.append(geom)
    out = gpd.GeoDataFrame(
        {"insee": list(sub["insee"]),
         "name": [definition.commune_name(c) or (str(n) if name_col else "") for c, n in
                  zip(sub["insee"], sub[name_col] if name_col else sub["insee"])]},
        geometry=gpd.GeoSeries(geoms, crs=2154),
    ).sort_values("insee").reset_index(drop=True)
    notes = [f"géométries invalides réparées : {', '.join(repaired)}"] if repaired else []
    flavour = "geo.api" if "codespostaux" in cols or code_col.lower() == "code" else "admin-express"
    return CommunesRead(out, described, len(frame), repaired, notes, flavour)


# -- local zones -------------------------------------------------------------------------------
@dataclass
class LocalRead:
    """Local zones read from a drawn file, matched to the territory's zones."""

    frame: Any  # GeoDataFrame EPSG:2154: code, name, communes, geometry (one row per zone)
    described: str
    name_field: str
    features_read: int


_LEADING_WORDS = re.compile(r"^(quartier|cite|residence)( (du|de la|de l|des|de|d))? ")
_NAME_FIELDS = ("code", "nom", "name", "libelle", "lib", "zone", "quartier", "poche")


def read_local_zones(path, definition, tier: str, name_field: str | None = None, layer: str | None = None,
                     commune_geoms: dict[str, Any] | None = None) -> LocalRead:
    """Read a drawn file and attach each feature to a zone of *tier* by code or name.

    Names are matched without case, accents or punctuation, on the zone code,
    its full name or the part after « : » (``Cité Saint Marck`` for
    ``Escaudain : Cité Saint Marck``); a short name shared by several zones
    (« Centre ») goes to the zone of the commune where it is drawn, given
    *commune_geoms* (Lambert-93). Unknown names raise a
    :class:`~cq_geo.errors.DataError` listing every one with suggestions.
    Several features of the same zone are merged. Invalid geometries are refused
    with the reason.
    """
    import geopandas as gpd
    import shapely

    from .model import suggest

    frame, described = read_vector(path, layer=layer)
    cols = _columns(frame)
    if name_field:
        field_col = cols.get(name_field.lower())
        if field_col is None:
            raise DataError(
                f"{described} : champ « {name_field} » absent{suggest(name_field, list(cols.values()))} "
                f"(champs : {', '.join(cols.values())})"
            )
    else:
        field_col = _pick(cols, *_NAME_FIELDS)
        if field_col is None:
            raise DataError(
                f"{described} : aucun champ de nom reconnu ({', '.join(_NAME_FIELDS)}) ; "
                f"indiquez-le avec --name-field (champs : {', '.join(cols.values())})"
            )
    frame = _to_l93(frame, described, official=False)
    zones = definition.zones_of(tier)
    index: dict[str, set[str]] = {}
    for z in zones:
        keys = {normalise_name(z.code), normalise_name(z.name)}
        if " : " in z.name:
            short = normalise_name(z.name.split(" : ", 1)[1])
            keys.add(short)
            keys.add(_LEADING_WORDS.sub("", short))  # « Limon » for « quartier du Limon »
        for k in keys:
            index.setdefault(k, set()).add(z.code)
    choices = [z.name for z in zones] + [z.code for z in zones]
    zmap = {z.code: z for z in zones}
    problems, by_code = [], {}
    for i, (value, geom) in enumerate(zip(frame[field_col], frame.geometry.values)):
        label = "" if value is None else str(value).strip()
        where = f"entité n° {i + 1} (« {label} »)"
        codes = index.get(normalise_name(label), set())
        if not label:
            problems.append(f"entité n° {i + 1} : champ « {field_col} » vide")
            continue
        if not codes:
            problems.append(f"{where} : aucune zone « {tier} » de ce nom{suggest(label, choices)}")
            continue
        if len(codes) > 1 and commune_geoms and geom is not None and not geom.is_empty:
            # a short name shared by several communes (« Centre »): the one where it is drawn
            spot = geom.representative_point() if geom.is_valid else geom.centroid
            here = {c for c in codes if any(
                commune_geoms.get(i) is not None and commune_geoms[i].covers(spot) for i in zmap[c].communes)}
            codes = here if len(here) == 1 else codes
        if len(codes) > 1:
            problems.append(f"{where} : nom ambigu ({', '.join(sorted(codes))}) : utilisez le code")
            continue
        if geom is None or geom.is_empty:
            problems.append(f"{where} : géométrie vide")
            continue
        if geom.geom_type not in ("Polygon", "MultiPolygon"):
            problems.append(f"{where} : un polygone est attendu (trouvé : {geom.geom_type})")
            continue
        if not geom.is_valid:
            reason = shapely.is_valid_reason(geom)
            problems.append(
                f"{where} : géométrie invalide ({reason}) — dans QGIS : boîte à outils de traitements › "
                "Géométrie vectorielle › Réparer les géométries"
            )
            continue
        by_code.setdefault(next(iter(codes)), []).append(geom)
    if problems:
        raise DataError(f"{described} : {len(problems)} problème(s) :\n" + "\n".join(f"  - {p}" for p in problems))
    rows = []
    for code, geoms in by_code.items():
        geom = shapely.union_all(geoms) if len(geoms) > 1 else geoms[0]
        rows.append({"code": code, "name": zmap[code].name, "communes": ";".join(zmap[code].communes), "geometry": geom})
    out = gpd.GeoDataFrame(rows, geometry="geometry", crs=2154)
    return LocalRead(out, described, field_col, len(frame))
