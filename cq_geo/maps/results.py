"""Batch results read for the map: points, their category, commune, QPV and reason.

A CSV, XLSX or GeoPackage path (or a pandas DataFrame) from ``cq-geo batch`` or
any table with coordinates; missing columns are computed the way ``cq-geo batch``
does. The input is only read.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..errors import CqGeoError, MissingDependency
from .style import POINT_CATEGORIES, POINT_SHAPES, point_categories  # noqa: F401 (read_results's example)


class MapInputError(CqGeoError, ValueError):
    """A results file (or table) given to the map cannot be used; the message says why, in French."""


#: Values of ``cq_status`` (batch output) and what the map does with them.
BATCH_STATUSES = ("ok", "to_check", "outside_territory", "not_found", "invalid")


@dataclass
class MapResults:
    """The points of a results table as the map draws them (one entry per input row)."""

    lon: np.ndarray
    lat: np.ndarray
    category: np.ndarray  # index into categories, -1 = not drawn
    commune_insee: np.ndarray
    commune: np.ndarray
    qpv_code: np.ndarray
    zone: np.ndarray  # names of the zones that cover the point (text)
    reason: np.ndarray
    total: int
    source: str
    first_row: int = 1  # number shown for the first row (2 in a CSV: its header is line 1)
    #: (key, French label, colour) of each category, and its marker shape (:func:`~cq_geo.maps.style.point_categories`)
    categories: list = field(default_factory=lambda: list(POINT_CATEGORIES))
    shapes: list = field(default_factory=lambda: list(POINT_SHAPES))

    @property
    def drawn(self) -> np.ndarray:
        return self.category >= 0


def read_results_table(path: Path):
    import pandas as pd

    suffix = path.suffix.lower()
    if suffix == ".gpkg":
        try:
            import geopandas as gpd
        except ImportError as exc:
            raise MissingDependency("lire un GeoPackage demande geopandas : pip install \"cq-geo[geo]\"") from exc
        try:
            gdf = gpd.read_file(path)
        except Exception as exc:
            raise MapInputError(f"GeoPackage illisible : {path} ({exc})") from exc
        if gdf.geometry is None or len(gdf) and not (gdf.geometry.geom_type.dropna() == "Point").all():
            raise MapInputError(f"{path} : une couche de points est attendue")
        if gdf.crs is not None and len(gdf):
            gdf = gdf.to_crs(4326)
        df = pd.DataFrame(gdf.drop(columns=gdf.geometry.name))
        empty = gdf.geometry.isna() | gdf.geometry.is_empty
        df["cq_lon"] = np.where(empty, np.nan, gdf.geometry.x.where(~empty))
        df["cq_lat"] = np.where(empty, np.nan, gdf.geometry.y.where(~empty))
        return df
    if suffix == ".xlsx":
        try:
            import openpyxl  # noqa: F401
        except ImportError as exc:
            raise MissingDependency("lire un fichier XLSX demande openpyxl : pip install \"cq-geo[batch]\"") from exc
        try:
            return pd.read_excel(path, dtype=str, keep_default_na=False)
        except Exception as exc:
            raise MapInputError(f"{path} : classeur XLSX illisible ({exc})") from exc
    if suffix not in (".csv", ".txt", ".tsv"):
        raise MapInputError(f"{path} : format non pris en charge (CSV, XLSX ou GeoPackage attendu)")
    raw = path.read_bytes()
    for encoding in ("utf-8-sig", "cp1252"):
        try:
            text = raw.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    first = next((line for line in text.splitlines() if line.strip()), "")
    if not first:
        raise MapInputError(f"{path} : fichier vide")
    sep = max((";", ",", "\t"), key=first.count)
    import io

    try:
        return pd.read_csv(io.StringIO(text), sep=sep, dtype=str, keep_default_na=False, skip_blank_lines=True)
    except Exception as exc:
        raise MapInputError(f"{path} : CSV illisible ({exc})") from exc


def find_column(df, *names):
    lower = {str(c).lower(): c for c in df.columns}
    for name in names:
        if name in lower:
            return lower[name]
    return None


def read_results(results, territory) -> MapResults:
    """Read batch results (a CSV, XLSX or GeoPackage path, or a pandas DataFrame) for the map.

    Coordinates come from ``cq_lon``/``cq_lat`` (or ``lon``/``lat``) in WGS84
    degrees. ``cq_status`` and the lookup columns are used when present; for
    missing columns the points are classified as ``cq-geo batch`` does (:func:`cq_geo.bulk.run.batch`).
    The input is only read.

    Examples
    --------
    >>> import pandas as pd
    >>> from cq_geo.territory import load_territory
    >>> r = read_results(pd.DataFrame({"lon": [3.3957, 2.35, None], "lat": [50.329, 48.85, None]}), load_territory())
    >>> [POINT_CATEGORIES[c][0] if c >= 0 else None for c in r.category]
    ['to_check', 'outside', None]
    """
    import pandas as pd

    df, source, first_row = _load(results)
    lon, lat = _coordinates(df, source)
    n = len(df)
    have = {c: find_column(df, c) for c in ("cq_status", "cq_primary_tier", "cq_commune_insee", "cq_commune",
                                             "cq_qpv_code", "cq_qpv_name", "cq_qpv_status", "cq_reason",
                                             "cq_warnings", *(f"cq_{t}" for t in territory.definition.local_tier_ids))}
    need_lookup = any(have[c] is None for c in ("cq_status", "cq_primary_tier", "cq_commune_insee", "cq_qpv_code"))
    looked = None
    if need_lookup and n:  # classify the points the way ``cq-geo batch`` does (same statuses, same reasons)
        from ..bulk.run import batch

        looked, _ = batch(pd.DataFrame({"lon": lon, "lat": lat}), territory=territory, lon_col="lon", lat_col="lat",
                          geocoder="none")

    def text(col: str) -> np.ndarray:
        if have.get(col) is not None:
            return df[have[col]].fillna("").astype(str).to_numpy(dtype=object)
        if looked is not None and col in looked.columns:
            return looked[col].astype(str).to_numpy(dtype=object)
        return np.full(n, "", dtype=object)

    if have["cq_status"] is not None:
        status = _checked_statuses(text("cq_status"), source)
    else:
        status = text("cq_status") if looked is not None else np.full(n, "invalid", dtype=object)
    categories, shapes = point_categories(territory.vocabulary)
    index = {key: i for i, (key, _, _) in enumerate(categories)}
    category = _categories(status, text("cq_primary_tier"), np.isfinite(lon) & np.isfinite(lat), index)
    zone_cols = ["cq_qpv_name"] + [f"cq_{t}" for t in territory.definition.local_tier_ids]
    zone = np.array([" ; ".join(v for v in vals if v) for vals in zip(*(text(c) for c in zone_cols))], dtype=object)
    reason = text("cq_reason") if (have["cq_reason"] is not None or looked is not None) else text("cq_warnings")
    qpv_code = text("cq_qpv_code")
    if have["cq_qpv_status"] is not None or looked is not None:
        qstatus = text("cq_qpv_status")
        qpv_code = np.where(np.isin(qstatus, ["inside", "boundary"]), qpv_code, "")
    return MapResults(lon=lon, lat=lat, category=category, commune_insee=text("cq_commune_insee"),
                      commune=text("cq_commune"), qpv_code=qpv_code, zone=zone, reason=reason, total=n, source=source,
                      first_row=first_row, categories=categories, shapes=shapes)


def _load(results):
    """(table, name shown in messages, number of the first row) of a path or a DataFrame."""
    import pandas as pd

    if isinstance(results, pd.DataFrame):
        return results, "table", 1
    path = Path(results)
    if not path.is_file():
        raise MapInputError(f"fichier de résultats introuvable : {path}")
    return read_results_table(path), path.name, 1 if path.suffix.lower() == ".gpkg" else 2


def _coordinates(df, source: str) -> tuple[np.ndarray, np.ndarray]:
    """Longitudes and latitudes (NaN where missing or not a number; a French decimal comma is read)."""
    from ..territory import to_float

    lon_col, lat_col = find_column(df, "cq_lon", "lon", "longitude"), find_column(df, "cq_lat", "lat", "latitude")
    if lon_col is None or lat_col is None:
        raise MapInputError(
            f"{source} : colonnes de coordonnées introuvables (cq_lon/cq_lat ou lon/lat attendues ; "
            f"colonnes présentes : {', '.join(map(str, df.columns[:20])) or 'aucune'})"
        )

    def floats(col):
        values = df[col].to_numpy()
        try:
            return np.asarray(values, dtype="float64")
        except (TypeError, ValueError):
            return np.array([to_float(v) if str(v).strip() not in ("", "nan", "None") else np.nan for v in values],
                            dtype="float64")

    return floats(lon_col), floats(lat_col)


def _checked_statuses(values: np.ndarray, source: str) -> np.ndarray:
    """The ``cq_status`` column, lower case; an unknown value stops with a French message."""
    status = np.array([s.strip().lower() for s in values], dtype=object)
    bad = sorted(set(status) - set(BATCH_STATUSES) - {""})
    if bad:
        raise MapInputError(
            f"{source} : valeur(s) de cq_status inconnue(s) : {', '.join(map(repr, bad[:5]))} "
            f"(valeurs attendues : {', '.join(BATCH_STATUSES)})"
        )
    return status


def _categories(status: np.ndarray, tier: np.ndarray, finite: np.ndarray, index: dict[str, int]) -> np.ndarray:
    """Index into the categories (*index*: key → position) of each point (-1: not drawn): by status,
    « ok » points by tier."""
    category = np.full(len(status), -1, dtype="int64")
    for i, s in enumerate(status):
        if not finite[i] or s in ("not_found", "invalid"):
            continue
        if s == "to_check":
            category[i] = index["to_check"]
        elif s == "outside_territory":
            category[i] = index["outside"]
        else:
            category[i] = index.get(str(tier[i]).strip().lower() or "none", index["none"])
    return category
