"""Outputs of the batch: CSV (any delimiter and encoding), XLSX and GeoPackage, each written atomically.

Text cells that a spreadsheet would run as a formula (starting with ``=``, ``+``, ``-``,
``@``, tab or carriage return) get a leading apostrophe in CSV and XLSX; plain numbers
such as ``-3.5`` or ``+33612345678`` cannot hold a formula and are left as they are.
Low-cardinality columns (statuses, reasons, communes…) are turned into text once per
combination of their values (:func:`categorical_combos`). The byte-for-byte copy of an
input CSV is in :mod:`cq_geo.bulk.fastcsv`.

>>> float_texts([3.5, float("nan"), 12.0], ",")
['3,5', '', '12']
"""

from __future__ import annotations

import re

from .cells import DANGER_RE, neutralise_text
from .files import BatchFileError, atomic_path
from .groups import combination_key
from .xlsx import MAX_ROWS as _XLSX_SHEET_ROWS

__all__ = ["XLSX_MAX_ROWS", "write_csv", "write_xlsx", "write_gpkg", "float_texts", "column_texts", "quote_csv",
           "neutralise_strings", "categorical_combos", "low_cardinality"]

#: Data rows an XLSX sheet can hold (its 1 048 576 rows, less the header).
XLSX_MAX_ROWS = _XLSX_SHEET_ROWS - 1


# -- cells as text -------------------------------------------------------------------------------------
def neutralise_strings(values: list[str]) -> list[str]:
    """:func:`neutralise_text` on a list; a single C-level scan skips clean columns."""
    if not values or not DANGER_RE.search("\x00".join(values)):
        return values
    return [neutralise_text(v) for v in values]


def float_texts(values, decimal: str, encoding: str | None = None) -> list:
    """Shortest round-trip text of each float ('' for NaN), with *decimal* as decimal mark.

    The column is formatted by numpy and fixed up in one joined string (C speed).

    >>> float_texts([3.5, float("nan"), 12.0, -0.25], ",")
    ['3,5', '', '12', '-0,25']
    """
    import numpy as np

    arr = np.asarray(values, dtype="float64")
    if not len(arr):
        return []
    ok = np.isfinite(arr)
    n_ok = int(ok.sum())
    empty = b"" if encoding else ""
    if n_ok == 0:
        return [empty] * len(arr)
    joined = "\x00".join(map(repr, arr[ok].tolist())) + "\x00"
    joined = joined.replace(".0\x00", "\x00")
    if decimal != ".":
        joined = joined.replace(".", decimal)
    texts = joined.encode("ascii").split(b"\x00")[:-1] if encoding else joined.split("\x00")[:-1]
    if n_ok == len(arr):
        return texts
    out = np.full(len(arr), empty, dtype=object)
    out[ok] = texts
    return out.tolist()


def column_texts(series, decimal: str) -> list[str]:
    """The cells of a column as output text (before CSV quoting)."""
    import numpy as np
    import pandas as pd

    dtype = series.dtype
    if isinstance(dtype, pd.CategoricalDtype):
        cats = [neutralise_text("" if c is None else str(c)) for c in series.cat.categories]
        table = np.array(cats + [""], dtype=object)
        codes = series.cat.codes.to_numpy()
        return table[np.where(codes < 0, len(cats), codes)].tolist()
    if pd.api.types.is_bool_dtype(dtype):
        return np.where(series.to_numpy(dtype=bool), "true", "false").tolist()
    if pd.api.types.is_float_dtype(dtype):
        return float_texts(series.to_numpy(), decimal)
    if pd.api.types.is_integer_dtype(dtype):
        return series.astype(str).tolist()
    values = series.to_numpy(dtype=object)
    if len(values) and pd.api.types.infer_dtype(values, skipna=False) != "string":
        values = np.array(["" if v is None or (isinstance(v, float) and v != v) else str(v) for v in values], dtype=object)
    return neutralise_strings(values.tolist())



def quote_csv(values: list[str], delimiter: str) -> list[str]:
    joined = "\x00".join(values)
    if not any(ch in joined for ch in (delimiter, '"', "\n", "\r")):
        return values
    special = re.compile("[" + re.escape(delimiter) + '"\n\r]')
    return ['"' + v.replace('"', '""') + '"' if special.search(v) else v for v in values]


# -- low-cardinality columns ------------------------------------------------------------------------
def _categorical_block(block, delimiter: str, encoding: str | None = None) -> list:
    """Consecutive categorical columns as one text column of delimiter-joined cells.

    Rows are grouped by their combination of categories (few, even in millions
    of rows): each combination's text is built once.
    """
    combos, key = categorical_combos(block, delimiter, encoding)
    return combos[key].tolist()


def categorical_combos(block, delimiter: str, encoding: str | None = None):
    """``(texts, key)``: the text of each combination of categories of *block* (object
    array), and the combination of each row (see :func:`_categorical_block`)."""
    import numpy as np

    block = [_as_categorical(s) for s in block]
    key, first = combination_key([s.cat.codes.to_numpy() for s in block])
    groups = len(first)
    texts = []
    for s in block:
        cats = [neutralise_text("" if c is None else str(c)) for c in s.cat.categories] + [""]
        codes = s.cat.codes.to_numpy()[first]
        texts.append(quote_csv([cats[c] for c in codes], delimiter))
    joined = [delimiter.join(parts) for parts in zip(*texts)] if groups else []
    if encoding:
        joined = [j.encode(encoding, errors="replace") for j in joined]
    combos = np.empty(len(joined), dtype=object)
    combos[:] = joined
    return combos, key


def low_cardinality(series) -> bool:
    """Columns written through :func:`_categorical_block`: categoricals, booleans, empty floats."""
    import numpy as np
    import pandas as pd

    if not len(series):
        return False
    dtype = series.dtype
    if isinstance(dtype, pd.CategoricalDtype) or pd.api.types.is_bool_dtype(dtype):
        return True
    return pd.api.types.is_float_dtype(dtype) and bool(np.isnan(series.to_numpy(dtype="float64")).all())


def _as_categorical(series):
    import numpy as np
    import pandas as pd

    if isinstance(series.dtype, pd.CategoricalDtype):
        return series
    if pd.api.types.is_bool_dtype(series.dtype):
        values = series.to_numpy(dtype=bool)
        return pd.Series(pd.Categorical.from_codes(values.astype("int8"), categories=["false", "true"]))
    return pd.Series(pd.Categorical.from_codes(np.full(len(series), -1, dtype="int8"), categories=[]))


# -- writers ----------------------------------------------------------------------------------------
def write_csv(data, path, *, delimiter: str = ";", encoding: str = "utf-8", newline: str = "\r\n",
              decimal: str | None = None) -> None:
    """Write a DataFrame as CSV, atomically; formulas neutralised, fields quoted when needed.

    *decimal* defaults to ``,`` with the ``;`` delimiter (French Excel), else ``.``.
    Characters the encoding cannot hold become ``?``.
    """
    if decimal is None:
        decimal = "," if delimiter == ";" else "."
    header = quote_csv(neutralise_strings([str(c) for c in data.columns]), delimiter)
    cols = _new_column_texts(data, delimiter, decimal)
    lines = [delimiter.join(header)]
    if cols and len(data):
        lines += list(map(delimiter.join, zip(*cols)))
    text = newline.join(lines) + newline
    payload = text.encode(encoding, errors="replace")
    del text, lines, cols
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as fh:
            fh.write(payload)


def _new_column_texts(data, delimiter: str, decimal: str, encoding: str | None = None) -> list[list]:
    """Output texts of *data*'s columns, low-cardinality runs grouped (see :func:`write_csv`).

    With *encoding*, the cells come as bytes in that encoding.
    """
    import pandas as pd

    cols: list[list] = []
    block: list = []
    for j in range(data.shape[1]):
        s = data.iloc[:, j]
        if low_cardinality(s):
            block.append(s)
            continue
        if block:
            cols.append(_categorical_block(block, delimiter, encoding))
            block = []
        if encoding and pd.api.types.is_float_dtype(s.dtype):
            cols.append(float_texts(s.to_numpy(), decimal, encoding))
            continue
        texts = quote_csv(column_texts(s, decimal), delimiter)
        cols.append([t.encode(encoding, errors="replace") for t in texts] if encoding else texts)
    if block:
        cols.append(_categorical_block(block, delimiter, encoding))
    return cols


def write_xlsx(data, path, sheet_name: str = "Résultats", *, progress=None) -> None:
    """Write a DataFrame as a one-sheet XLSX (:mod:`cq_geo.bulk.xlsx`), atomically; input text stays text (never a formula).

    Header in bold and frozen; numeric columns as numbers (NaN: empty cell),
    booleans as « oui »/« non », every other cell as text (:func:`cq_geo.bulk.cells.xlsx_text`).
    *progress*: ``progress(rows written, rows)`` as the rows go out.
    """
    from .xlsx import Sheet, write_workbook

    if len(data) > XLSX_MAX_ROWS:
        raise BatchFileError(
            f"{len(data):,} lignes : trop pour un fichier XLSX (au plus {XLSX_MAX_ROWS:,}) ; choisissez une sortie .csv".replace(",", " ")
        )
    sheet = Sheet(sheet_name, freeze="A2", auto_widths=True, autofilter=True)
    sheet.table(data)
    with atomic_path(path) as tmp:
        write_workbook(tmp, [sheet], progress=progress)


def _gpkg_names(columns) -> list[str]:
    out: list[str] = []
    seen: set[str] = set()
    for i, c in enumerate(columns):
        name = str(c).strip() or f"colonne_{i + 1}"
        if name.lower() in ("fid", "geom", "geometry"):
            name = f"{name}_source"
        base, k = name, 2
        while name.lower() in seen:
            name = f"{base}_{k}"
            k += 1
        seen.add(name.lower())
        out.append(name)
    return out


def write_gpkg(data, path, *, crs: int = 2154, layer: str = "cq_lot") -> None:
    """Write points (from ``cq_lon``/``cq_lat``) as a GeoPackage layer, atomically.

    Rows without a position are kept with an empty geometry. Column names are
    made unique and non-blank (GeoPackage needs it): ``nom``, ``nom_2``, ``colonne_3``…
    """
    import numpy as np
    import pandas as pd

    try:
        import pyogrio
        import shapely
    except ImportError:
        from ..errors import MissingDependency

        raise MissingDependency("écrire un GeoPackage demande pyogrio : pip install 'cq-geo[geo]'") from None
    if crs not in (2154, 4326):
        raise BatchFileError(f"système de coordonnées {crs} non pris en charge : 2154 (Lambert-93) ou 4326 (WGS84)")
    if "cq_lon" not in data.columns:
        raise BatchFileError("pas de positions à écrire dans un GeoPackage (sortie pseudonymisée) : choisissez .csv ou .xlsx")
    lon = data["cq_lon"].to_numpy(dtype="float64")
    lat = data["cq_lat"].to_numpy(dtype="float64")
    if crs == 2154:
        from ..geo.crs import lonlat_to_l93

        x, y = lonlat_to_l93(lon, lat)
    else:
        x, y = lon, lat
    ok = np.isfinite(x) & np.isfinite(y)
    geoms = np.full(len(data), None, dtype=object)
    if ok.any():
        geoms[ok] = shapely.points(x[ok], y[ok])
    frame = {}
    for name, j in zip(_gpkg_names(data.columns), range(data.shape[1])):
        s = data.iloc[:, j]
        if isinstance(s.dtype, pd.CategoricalDtype):
            s = s.astype(str)
        frame[name] = s.to_numpy()
    df = pd.DataFrame(frame)
    with atomic_path(path) as tmp:
        # GeoPackage 1.2: read without warning by the older GDAL of QGIS 3.22 to 3.28
        pyogrio.write_dataframe(
            _as_geodataframe(df, geoms, crs), tmp, layer=layer, driver="GPKG", dataset_options={"VERSION": "1.2"},
        )


def _as_geodataframe(df, geoms, crs: int):
    import geopandas as gpd

    return gpd.GeoDataFrame(df, geometry=gpd.GeoSeries(geoms, crs=f"EPSG:{crs}"), crs=f"EPSG:{crs}")
