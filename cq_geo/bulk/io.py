"""Files of the batch: CSV and XLSX in; CSV, XLSX and GeoPackage out.

Reading keeps every cell as text, exactly as typed: no number or date
guessing, column names kept even when duplicated or blank, every line a row
(a blank line is a row, marked « ligne vide »; a line with the wrong number of
fields is a row, marked « ligne mal formée »).

CSV input: the delimiter (``;``, ``,``, tab or ``|``) is read from the header
line; the encoding is UTF-8 with BOM when the file starts with one, else UTF-8
when the bytes decode as UTF-8, else CP1252 (what French Excel writes; Latin-1
text is CP1252 text), else Latin-1. ``encoding=`` overrides it.

Writing is atomic (a temporary file beside the output, renamed at the end), so
an interrupted run never leaves half a file. Text cells that a spreadsheet
would run as a formula (starting with ``=``, ``+``, ``-``, ``@``, tab or carriage
return) get a leading apostrophe in CSV and XLSX; plain numbers such as
``-3.5`` or ``+33612345678`` cannot hold a formula and are left as they are.

Examples
--------
>>> detect_encoding("Hélesmes;59171\\n".encode("cp1252")), detect_encoding(b"\\xef\\xbb\\xbfa;b\\n")
('cp1252', 'utf-8-sig')
>>> detect_delimiter('nom;"adresse, ville";cp')
';'
>>> neutralise_text("=HYPERLINK(\\"x\\")"), neutralise_text("-3,5"), neutralise_text("@SUM(A1)")
('\\'=HYPERLINK("x")', '-3,5', "'@SUM(A1)")
"""

from __future__ import annotations

import csv
import hashlib
import io
import os
import re
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import CqGeoError
from .cells import DANGER_RE, ILLEGAL_XLSX, neutralise_text, xlsx_text  # noqa: F401 - part of this module's API
from .xlsx import MAX_ROWS as _XLSX_SHEET_ROWS

__all__ = [
    "InputTable",
    "BatchFileError",
    "read_table",
    "detect_encoding",
    "detect_delimiter",
    "neutralise_text",
    "xlsx_text",
    "write_csv",
    "write_csv_passthrough",
    "write_xlsx",
    "write_gpkg",
    "atomic_path",
    "partial_path",
    "stale_partials",
    "write_error",
    "file_sha256",
    "output_format",
    "XLSX_MAX_ROWS",
]

#: Data rows an XLSX sheet can hold (its 1 048 576 rows, less the header).
XLSX_MAX_ROWS = _XLSX_SHEET_ROWS - 1
#: Pieces of rows joined at once when writing a CSV (a megabyte or so).
_WRITE_ITEMS = 16384
#: Rows formatted and written together by the CSV copy writer.
_WRITE_ROWS = 65536
#: Bytes written between two requests to the system to start writing them to disk.
_WRITEBACK_BYTES = 32 << 20


class BatchFileError(CqGeoError, ValueError):
    """An input file cannot be read, or an output cannot be written."""


@dataclass
class InputTable:
    """A table read from a file: every cell as text, and how the file was written."""

    data: Any  # pandas DataFrame of str, columns = the header as written
    format: str  # "csv" or "xlsx"
    problems: Any  # numpy array: per row '' or the French reason it is invalid
    encoding: str | None = None
    delimiter: str | None = None
    newline: str = "\r\n"
    sha256: str = ""
    notes: list[str] = field(default_factory=list)
    #: The header as written (all columns, even when *data* holds only some of them).
    header: list[str] = field(default_factory=list)
    #: CSV without quotes only: the lines as text, for a byte-exact copy of the input cells
    #: (see :func:`write_csv_passthrough`); *counts* are the fields per line, *danger* marks
    #: lines with a field a spreadsheet could run as a formula.
    header_line: str | None = None
    body: str | None = None
    counts: Any = None
    danger: Any = None

    @property
    def partial(self) -> bool:
        """True when *data* holds only the columns asked for (the others stay in *body*)."""
        return self.data.shape[1] != len(self.header)


def file_sha256(path) -> str:
    """SHA-256 of a file (hex)."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def output_format(path) -> str:
    """``csv``, ``xlsx`` or ``gpkg`` from a file name, or a French error."""
    suffix = Path(path).suffix.lower()
    formats = {".csv": "csv", ".txt": "csv", ".tsv": "csv", ".xlsx": "xlsx", ".gpkg": "gpkg"}
    if suffix not in formats:
        raise BatchFileError(f"format de sortie inconnu pour {Path(path).name} : choisissez .csv, .xlsx ou .gpkg")
    return formats[suffix]


# -- encodings and delimiters ----------------------------------------------------------------------
def detect_encoding(raw: bytes) -> str:
    """``utf-8-sig`` (BOM), ``utf-8``, ``cp1252`` or ``latin-1``: the first that fits, in that order."""
    if raw.startswith(b"\xef\xbb\xbf"):
        return "utf-8-sig"
    try:
        raw.decode("utf-8")
        return "utf-8"
    except UnicodeDecodeError:
        pass
    try:
        raw.decode("cp1252")
        return "cp1252"
    except UnicodeDecodeError:
        return "latin-1"


def detect_delimiter(header: str) -> str:
    """The delimiter of a CSV header line: the most frequent of ``;`` ``,`` tab ``|`` outside quotes.

    Ties go to ``;`` (French Excel), then ``,``. A header with none of them is one column (``,``).
    """
    unquoted = re.sub(r'"[^"]*"', "", header)
    counts = {d: unquoted.count(d) for d in (";", ",", "\t", "|")}
    best = max(counts, key=lambda d: counts[d])  # dict order breaks ties: ; then , then tab
    return best if counts[best] else ","


# -- reading ----------------------------------------------------------------------------------------
def read_table(path, *, encoding: str | None = None, delimiter: str | None = None, sheet: str | None = None,
               only: list[str] | None = None, numeric: list[str] | None = None) -> InputTable:
    """Read a CSV or XLSX file as text; see the module docstring for the rules.

    *only*: names of the columns needed; a CSV without quotes then parses just
    those (each must appear once in the header), and keeps its lines as text.
    *numeric*: among them, columns of numbers (coordinates): when every cell of
    them is a plain number (decimal comma or point), they are read as floats
    directly, which is much faster; otherwise as text like the others.
    """
    path = Path(path)
    if path.is_dir():
        raise BatchFileError(f"{path} est un dossier : donnez le fichier CSV ou XLSX à lire")
    if not path.is_file():
        raise BatchFileError(f"fichier introuvable : {path}")
    suffix = path.suffix.lower()
    if suffix in (".xls", ".ods", ".xlsb"):
        raise BatchFileError(f"format {suffix} non pris en charge : enregistrez le fichier en .xlsx ou en .csv")
    try:
        if suffix in (".xlsx", ".xlsm"):
            return _read_xlsx(path, sheet)
        return _read_csv(path, encoding, delimiter, only, numeric)
    except OSError as exc:
        raise BatchFileError(f"lecture de {path.name} impossible ({exc.strerror or type(exc).__name__}) : "
                             "vérifiez que le fichier est lisible") from exc


def _decode(raw: bytes, encoding: str | None, path: Path) -> tuple[str, str]:
    if encoding:
        enc = encoding.lower().replace("_", "-")
        if enc in ("utf8", "utf-8") and raw.startswith(b"\xef\xbb\xbf"):
            enc = "utf-8-sig"
        try:
            return raw.decode(enc), enc
        except LookupError:
            raise BatchFileError(f"encodage inconnu : {encoding!r} (ex. utf-8, cp1252, latin-1)") from None
        except UnicodeDecodeError as exc:
            raise BatchFileError(
                f"{path.name} n'est pas lisible en {encoding} (octet {exc.start}) : essayez --encoding cp1252 "
                "ou laissez cq-geo détecter l'encodage"
            ) from None
    if not raw.startswith(b"\xef\xbb\xbf"):
        try:  # what detect_encoding tries first, without decoding twice
            return raw.decode("utf-8"), "utf-8"
        except UnicodeDecodeError:
            pass
    enc = detect_encoding(raw)
    return raw.decode(enc), enc


def _read_csv(path: Path, encoding: str | None, delimiter: str | None, only: list[str] | None = None,
              numeric: list[str] | None = None) -> InputTable:
    import numpy as np

    # pandas is imported only where it is first needed: batch_file imports it in a
    # second thread meanwhile, while this one reads and scans the raw bytes.
    raw = path.read_bytes()
    sha = hashlib.sha256(raw).hexdigest()
    text, enc = _decode(raw, encoding, path)
    if "\r" in text and "\n" not in text:  # old Mac line endings: one CR per line
        raw, text = raw.replace(b"\r", b"\n"), text.replace("\r", "\n")
    if not text or text.isspace():  # (isspace stops at the first other character: no copy of the text)
        raise BatchFileError(f"{path.name} est vide : il faut au moins une ligne d'en-tête avec les noms de colonnes")
    first_nl = text.find("\n")
    header_line = text if first_nl < 0 else text[:first_nl]
    newline = "\r\n" if header_line.endswith("\r") else "\n"
    header_line = header_line.rstrip("\r")
    if delimiter:
        delim = {"tab": "\t", "\\t": "\t", "point-virgule": ";", "virgule": ","}.get(delimiter, delimiter)
        if len(delim) != 1:
            raise BatchFileError(f"séparateur invalide : {delimiter!r} (un seul caractère : ; , tab |)")
    else:
        delim = detect_delimiter(header_line)
    single_byte = enc in ("utf-8", "utf-8-sig", "cp1252", "latin-1", "iso-8859-1", "ascii") and ord(delim) < 128

    header_out = body_out = counts_out = danger = None
    empty = None
    bare_cr = b"\r" in raw and raw.count(b"\r") != raw.count(b"\r\n")  # a CR alone ends a line for the C parser
    if '"' in text or not single_byte or bare_cr:
        import pandas as pd

        rows = list(csv.reader(io.StringIO(text, newline=""), delimiter=delim, strict=False))
        del text
        names = rows[0] if rows else []
        body = rows[1:]
        counts = np.fromiter(map(len, body), dtype="int64", count=len(body))
        width = len(names)
        padded = [r[:width] + [""] * (width - len(r)) if len(r) != width else r for r in body]
        data = pd.DataFrame(padded, columns=range(width), dtype=object) if padded else pd.DataFrame(columns=range(width), dtype=object)
        data = data.fillna("")
        blank_line = counts == 0
        usecols = None
        long_rows = np.flatnonzero(counts > width)
        trailing = [i for i in long_rows.tolist() if not any(body[i][width:])]
    else:
        # No quotes: a line is a row and its fields are split by the delimiter. Field
        # counts come from the raw bytes (ASCII delimiters never occur inside a
        # multi-byte UTF-8 character), the cells from pandas' C parser.
        header_out = header_line
        del text
        names = header_line.split(delim)
        width = len(names)
        buf = np.frombuffer(raw, dtype=np.uint8)
        nl = np.flatnonzero(buf == 10)
        start = int(nl[0]) + 1 if len(nl) else len(buf)
        ends = nl[1:] if len(nl) else nl
        if start < len(buf) and (not len(ends) or ends[-1] != len(buf) - 1):
            ends = np.append(ends, len(buf))  # last line without a final newline
        starts = np.concatenate(([start], ends[:-1] + 1)) if len(ends) else ends
        nlines = len(ends)
        body_out = raw[start:]
        dl = np.flatnonzero(buf[start:] == ord(delim)) + start
        # delimiters per line: those before its end, less those before the previous line's end
        last_dl = np.searchsorted(dl, ends)  # delimiters before each line's end
        counts = np.diff(last_dl, prepend=0).astype("int64") + 1
        raw_counts = counts.copy()
        length = ends - starts
        cr = np.zeros(nlines, dtype=bool)
        if nlines:
            cr = (length > 0) & (buf[np.maximum(ends - 1, 0)] == 13)
        blank_line = (length - cr) == 0
        empty = (length - cr) == (counts - 1)  # nothing but delimiters
        counts[blank_line] = 0
        counts_out = counts.copy()
        long_rows = np.flatnonzero(counts > width)
        trailing = []
        for i in long_rows.tolist():
            extra = raw[starts[i]:ends[i]].rstrip(b"\r").split(delim.encode("ascii"))[width:]
            if not any(extra):
                trailing.append(i)
        field_starts = np.concatenate((starts, dl + 1))
        field_starts = field_starts[field_starts < len(buf)]
        first = buf[field_starts]
        # a formula sign, or a control character (a spreadsheet drops it, and what follows may be one)
        hit = np.isin(first, np.frombuffer(b"=+-@\t", dtype=np.uint8)) | ((first < 32) & (first != 10) & (first != 13))
        danger = np.zeros(nlines, dtype=bool)
        danger[np.searchsorted(ends, field_starts[hit])] = True
        ncols = max(width, int(counts.max(initial=0)))
        usecols = None
        if only:
            pos = [[i for i, n in enumerate(names) if n == name] for name in only]
            if all(len(p) == 1 for p in pos):
                usecols = sorted({p[0] for p in pos})
        data = None
        import pandas as pd

        options = dict(
            sep=delim, header=None, names=range(ncols), usecols=usecols, keep_default_na=False, na_filter=False,
            skip_blank_lines=False, quoting=csv.QUOTE_NONE, engine="c", encoding="utf-8" if enc == "utf-8-sig" else enc,
        )
        num_pos = {i for i, n in enumerate(names) if n in set(numeric or ())} & set(usecols or ())
        if nlines and num_pos:
            # pandas' fast converter ("high") is correctly rounded for fields of at most 15
            # characters whose value is 0 or between 1e-7 and 1e15 (15 digits at most, one
            # exact power of ten): then it gives the round-trip converter's values.
            short = all(_max_field_length(c, starts, ends, dl, raw_counts, last_dl) <= 15 for c in num_pos)
            dtypes = {i: ("float64" if i in num_pos else str) for i in usecols}
            for dec in ((",", ".") if delim == ";" else (".",)):
                data = None
                if short:
                    try:
                        data = pd.read_csv(io.BytesIO(raw[start:]), decimal=dec, float_precision="high", dtype=dtypes,
                                           **options)
                    except (ValueError, TypeError):
                        data = None
                    if data is not None and not all(_exact_range(data[c].to_numpy()) for c in num_pos):
                        data = None
                if data is None:
                    try:  # every coordinate a plain number: floats straight from the C parser
                        data = pd.read_csv(io.BytesIO(raw[start:]), decimal=dec, float_precision="round_trip",
                                           dtype=dtypes, **options)
                    except (ValueError, TypeError):
                        data = None
                if data is not None:
                    break
        if nlines and data is None:
            try:
                data = pd.read_csv(io.BytesIO(raw[start:]), dtype=str, **options)
            except pd.errors.ParserError:  # e.g. every line shorter than the columns asked for
                options["usecols"] = None
                data = pd.read_csv(io.BytesIO(raw[start:]), dtype=str, **options)
        if nlines:
            if len(data) != nlines:  # never expected: the C parser and the line count disagree
                raise BatchFileError(f"lecture de {path.name} incohérente ({len(data)} lignes lues pour {nlines})")
            data = data.iloc[:, :width] if usecols is None else data[usecols]
        else:
            data = pd.DataFrame(columns=range(width) if usecols is None else usecols, dtype=object)
    del raw
    # Extra fields that are all empty (a trailing delimiter) do not make a row malformed.
    counts = counts.copy()
    counts[trailing] = width
    problems = _row_problems(data, counts, blank_line, width, empty)
    columns = list(data.columns)
    data.columns = [names[i] for i in columns]
    data.index = pd.RangeIndex(len(data))
    return InputTable(data, "csv", problems, encoding=enc, delimiter=delim, newline=newline, sha256=sha,
                      header=list(names), header_line=header_out, body=body_out, counts=counts_out, danger=danger)


def _max_field_length(col: int, starts, ends, dl, counts, last_dl) -> int:
    """Longest field of column *col* (0-based) over the lines (*counts*: fields per line,
    *last_dl*: index in *dl* of the delimiter after each line's last field)."""
    import numpy as np

    if not len(starts):
        return 0
    has = counts > col
    if not has.any():
        return 0
    first = last_dl - (counts - 1)  # index in dl of each line's first delimiter
    if col == 0:
        begin = starts
    else:
        begin = np.take(dl, np.clip(first + col - 1, 0, len(dl) - 1)) + 1 if len(dl) else starts
    if len(dl):
        end = np.where(col < counts - 1, np.take(dl, np.clip(first + col, 0, len(dl) - 1)), ends)
    else:
        end = ends
    return int(np.where(has, end - begin, 0).max())


def _exact_range(values) -> bool:
    """True when every value is NaN, 0, or between 1e-7 and 1e15 in absolute value."""
    import numpy as np

    a = np.abs(values[~np.isnan(values)])
    return bool(((a == 0) | ((a >= 1e-7) & (a <= 1e15))).all())


def _row_problems(data, counts, blank_line, width: int, empty=None):
    import numpy as np

    n = len(data)
    problems = np.full(n, "", dtype=object)
    if not n:
        return problems
    if empty is None:
        empty = np.ones(n, dtype=bool)
        for j in range(data.shape[1]):
            empty &= (data.iloc[:, j].to_numpy(dtype=object) == "")
    bad = (counts != width) & ~blank_line & ~empty
    for c in np.unique(counts[bad]):
        what = "champ" if c == 1 else "champs"
        detail = "le surplus est ignoré" if c > width else "les cellules manquantes sont laissées vides"
        problems[bad & (counts == c)] = f"ligne mal formée : {c} {what} au lieu de {width} ({detail})"
    problems[blank_line | empty] = "ligne vide"
    return problems


def _xlsx_text(value) -> str:
    import datetime as dt

    if value is None:
        return ""
    if isinstance(value, bool):
        return "VRAI" if value else "FAUX"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if value.is_integer() and abs(value) < 1e15:
            return str(int(value))
        return repr(value)
    if isinstance(value, dt.datetime):
        return value.date().isoformat() if value.time() == dt.time(0) else value.isoformat(sep=" ")
    if isinstance(value, (dt.date, dt.time)):
        return value.isoformat()
    return str(value)


def _read_xlsx(path: Path, sheet: str | None) -> InputTable:
    """Read the first visible sheet (or *sheet*) of a workbook as text; see :func:`read_table`.

    Formula cells give the value the spreadsheet computed last. A formula saved
    without its value (by some tools) is read as its literal when it is one
    (``="texte"``, ``=12``), else as an empty cell; the notes name those cells.
    """
    import numpy as np
    import pandas as pd

    try:
        from openpyxl import load_workbook
    except ImportError:
        from ..errors import MissingDependency

        raise MissingDependency("lire un fichier XLSX demande openpyxl : pip install 'cq-geo[batch]'") from None
    sha = file_sha256(path)
    notes: list[str] = []
    damaged = (f"{path.name} est un classeur XLSX abîmé ou incomplet ({{}}) : ouvrez-le dans un tableur et "
               "enregistrez-le à nouveau en .xlsx, ou enregistrez-le en .csv")
    try:
        wb = load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # noqa: BLE001 - openpyxl raises many kinds
        raise BatchFileError(f"{path.name} n'est pas un classeur XLSX lisible ({type(exc).__name__}) : "
                             "ouvrez-le dans un tableur et enregistrez-le en .xlsx ou en .csv") from None
    formulas_wb = None
    try:
        ws = _pick_sheet(wb, sheet, path, notes)
        try:
            rows = [[_xlsx_text(v) for v in row] for row in ws.iter_rows(values_only=True)]
            if _has_formulas(wb, ws):
                formulas_wb = load_workbook(path, read_only=True, data_only=False)
                _fill_uncached_formulas(rows, formulas_wb[ws.title], notes)
        except CqGeoError:
            raise
        except Exception as exc:  # noqa: BLE001 - a bad deflate stream, cut XML…
            raise BatchFileError(damaged.format(type(exc).__name__)) from None
    finally:
        wb.close()
        if formulas_wb is not None:
            formulas_wb.close()
    while rows and not any(rows[-1]):
        rows.pop()
    if not rows:
        raise BatchFileError(f"la feuille « {ws.title} » de {path.name} est vide : il faut au moins une ligne "
                             "d'en-tête avec les noms de colonnes")
    width = max(len(r) for r in rows)
    header = rows[0] + [""] * (width - len(rows[0]))
    while width > 1 and not header[width - 1] and not any(len(r) >= width and r[width - 1] for r in rows[1:]):
        width -= 1
    header = header[:width]
    body = [r[:width] + [""] * (width - len(r)) for r in rows[1:]]
    data = pd.DataFrame(body, columns=range(width), dtype=object) if body else pd.DataFrame(columns=range(width), dtype=object)
    counts = np.full(len(body), width, dtype="int64")
    blank = np.array([not any(r) for r in body], dtype=bool)
    problems = _row_problems(data, counts, blank, width)
    data.columns = list(header)
    return InputTable(data, "xlsx", problems, sha256=sha, header=list(header), notes=notes)


def _pick_sheet(wb, sheet: str | None, path: Path, notes: list[str]):
    """The sheet named *sheet*, else the first visible one; a note says which when it matters."""
    names = wb.sheetnames
    if sheet is not None:
        if sheet not in names:
            shown = ", ".join(f"« {n} »" for n in names)
            raise BatchFileError(f"feuille « {sheet} » absente de {path.name} (feuilles : {shown})")
        ws = wb[sheet]
        if getattr(ws, "sheet_state", "visible") != "visible":
            notes.append(f"feuille lue : « {ws.title} » (demandée par --sheet ; elle est masquée dans le classeur)")
        return ws
    visible = [ws for ws in wb.worksheets if getattr(ws, "sheet_state", "visible") == "visible"]
    if not visible:
        raise BatchFileError(f"{path.name} n'a aucune feuille visible : indiquez la feuille à lire avec --sheet "
                             f"({', '.join(f'« {n} »' for n in names)})")
    ws = visible[0]
    hidden = [w.title for w in wb.worksheets if w not in visible]
    if hidden or len(names) > 1:
        more = f" ; feuilles masquées ignorées : {', '.join(f'« {h} »' for h in hidden)}" if hidden else ""
        notes.append(f"feuille lue : « {ws.title} » (la première feuille visible ; --sheet pour une autre){more}")
    return ws


_FORMULA_TAG = re.compile(rb"<(?:\w+:)?f[\s>/]")


def _has_formulas(wb, ws) -> bool:
    """True when the sheet's XML holds a formula (read in pieces, never whole)."""
    member = getattr(ws, "_worksheet_path", None)
    archive = getattr(wb, "_archive", None)
    if member is None or archive is None:
        return True  # cannot tell: check cell by cell
    tail = b""
    with archive.open(member) as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            if _FORMULA_TAG.search(tail + block):
                return True
            tail = block[-16:]
    return False


_STRING_LITERAL = re.compile(r'=\s*"((?:[^"]|"")*)"\s*')
_NUMBER_LITERAL = re.compile(r"=\s*([+-]?(?:\d+(?:[.,]\d*)?|[.,]\d+)(?:[eE][+-]?\d+)?)\s*")


def formula_literal(formula: str) -> str | None:
    """The value of a formula that is a plain literal (``="texte"``, ``=12``), else None.

    >>> formula_literal('="rue ""Haute"" 12"'), formula_literal("=3.5"), formula_literal("=A1+1")
    ('rue "Haute" 12', '3.5', None)
    """
    m = _STRING_LITERAL.fullmatch(formula)
    if m:
        return m.group(1).replace('""', '"')
    m = _NUMBER_LITERAL.fullmatch(formula)
    if m:
        return m.group(1)
    return None


def _fill_uncached_formulas(rows: list[list[str]], ws, notes: list[str]) -> None:
    """Cells whose formula has no saved value: their literal when it is one, else '' and a note."""
    from openpyxl.utils import get_column_letter

    empty_cells: list[str] = []
    literal_cells: list[str] = []
    for i, row in enumerate(ws.iter_rows(values_only=True)):
        if i >= len(rows):
            break
        got = rows[i]
        for j, value in enumerate(row):
            if not (isinstance(value, str) and value.startswith("=") and len(value) > 1):
                continue
            if j < len(got) and got[j] != "":
                continue  # the value computed by the spreadsheet was saved
            ref = f"{get_column_letter(j + 1)}{i + 1}"
            literal = formula_literal(value)
            if literal is None:
                empty_cells.append(ref)
                continue
            while len(got) <= j:
                got.append("")
            got[j] = literal
            literal_cells.append(ref)

    def shown(refs):
        return ", ".join(refs[:10]) + (f"… ({len(refs)} en tout)" if len(refs) > 10 else "")

    if empty_cells:
        notes.append(
            f"{len(empty_cells)} cellule(s) contiennent une formule sans valeur calculée ({shown(empty_cells)}) : "
            "elles sont lues vides ; ouvrez le fichier dans un tableur, enregistrez-le (les formules sont "
            "alors calculées) et relancez"
        )
    if literal_cells:
        notes.append(
            f"{len(literal_cells)} cellule(s) contiennent une formule sans valeur calculée dont la valeur "
            f"est écrite telle quelle ({shown(literal_cells)}) : cette valeur est lue"
        )


# -- formula injection -------------------------------------------------------------------------------
def _neutralise_strings(values: list[str]) -> list[str]:
    """:func:`neutralise_text` on a list; a single C-level scan skips clean columns."""
    if not values or not DANGER_RE.search("\x00".join(values)):
        return values
    return [neutralise_text(v) for v in values]


# -- cells as text -------------------------------------------------------------------------------------
def _float_texts(values, decimal: str, encoding: str | None = None) -> list:
    """Shortest round-trip text of each float ('' for NaN), with *decimal* as decimal mark.

    The column is formatted by numpy and fixed up in one joined string (C speed).

    >>> _float_texts([3.5, float("nan"), 12.0, -0.25], ",")
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


def _column_texts(series, decimal: str) -> list[str]:
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
        return _float_texts(series.to_numpy(), decimal)
    if pd.api.types.is_integer_dtype(dtype):
        return series.astype(str).tolist()
    values = series.to_numpy(dtype=object)
    if len(values) and pd.api.types.infer_dtype(values, skipna=False) != "string":
        values = np.array(["" if v is None or (isinstance(v, float) and v != v) else str(v) for v in values], dtype=object)
    return _neutralise_strings(values.tolist())


def _digit_tables():
    """For 0 to 9999: the 4 ASCII digits (zero-padded), the number of digits, the trailing zeros."""
    import numpy as np

    numbers = np.arange(10_000)
    digits = np.stack([(numbers // 10 ** (3 - j)) % 10 + 48 for j in range(4)], axis=1).astype(np.uint8)
    ndigits = np.array([len(str(i)) for i in range(10_000)], dtype="intp")
    zeros = np.array([4 if i == 0 else len(str(i)) - len(str(i).rstrip("0")) for i in range(10_000)], dtype="intp")
    return digits, ndigits, zeros


def _float_row_bytes(columns, delimiter: str, decimal: str, encoding: str) -> list:
    """Per row, ``delimiter + text`` of each float column, as one bytes object.

    The texts are those of :func:`_float_texts` (shortest round-trip, '' for
    NaN); values with at most 7 decimals (coordinates, distances) are written
    digit by digit with numpy, the others (rare) one by one as :func:`_float_texts` does.

    >>> _float_row_bytes([[3.5, float("nan"), -0.0], [50.25, 1e-05, 12.0]], ";", ",", "utf-8")
    [b';3,5;50,25', b';;1e-05', b';-0;12']
    """
    import numpy as np

    arrays = [np.asarray(c, dtype="float64") for c in columns]
    n = len(arrays[0]) if arrays else 0
    d = delimiter.encode(encoding, errors="replace")
    dec = decimal.encode(encoding, errors="replace")
    if not n:
        return []
    if (len(d) != 1 or len(dec) != 1 or b"\n" in d + dec or b"\x00" in d + dec
            or "-0123456789".encode(encoding, errors="replace") != b"-0123456789"):
        texts = [_float_texts(a, decimal, encoding) for a in arrays]
        return [d + d.join(parts) for parts in zip(*texts)]
    scale = 10 ** 7
    dig4, nd4, tz4 = _digit_tables()
    # Each column is 4 little-endian words (16 bytes), zero bytes dropped at the end:
    # [delimiter, sign, -, -] [integer part: 8 digits in 2 words] [decimal mark, 3 digits] [4 digits]
    w4 = dig4.view("<u4").ravel()  # 4 ASCII digits of 0..9999 as one word
    full = np.uint32(0xFFFFFFFF)
    byte_masks = np.array([sum(0xFF << (8 * j) for j in range(4) if j >= 4 - m) for m in range(5)], dtype="<u4")
    head_masks = np.array([sum(0xFF << (8 * j) for j in range(4) if j < m) for m in range(5)], dtype="<u4")
    words = []
    slow = np.zeros(n, dtype=bool)
    for v in arrays:
        finite = np.isfinite(v)
        a = np.abs(np.where(finite, v, 0.0))
        with np.errstate(invalid="ignore", over="ignore"):
            k = np.rint(a * scale)
            # exactly k / 10**7: the shortest round-trip text is k's digits (repr's fixed notation)
            fast = finite & (a < 1e8) & ((a >= 1e-4) | (a == 0)) & (k / scale == a)
        slow |= finite & ~fast
        k = np.where(fast, k, 0).astype("int64")
        ip, fp = np.divmod(k, scale)
        ihi, ilo = np.divmod(ip.astype("intp"), 10_000)
        ndig = np.where(ihi > 0, 4 + nd4[ihi], nd4[ilo])  # digits of the integer part (1 to 8)
        keep = np.where(fast, full, np.uint32(0))
        w0 = np.where(fast & np.signbit(v), np.uint32(d[0] | (ord("-") << 8)), np.uint32(d[0]))
        w1 = w4[ihi] & byte_masks[np.clip(ndig - 4, 0, 4)] & keep
        w2 = w4[ilo] & byte_masks[np.minimum(ndig, 4)] & keep
        fhi, flo = np.divmod(fp.astype("intp"), 10_000)  # 7 decimals: 3 + 4 digits, trailing zeros dropped
        shown = 7 - np.where(flo != 0, tz4[flo], 4 + np.minimum(tz4[fhi], 3))  # decimals shown (0 to 7)
        w3 = ((w4[fhi] & np.uint32(0xFFFFFF00)) | np.uint32(dec[0])) & head_masks[np.minimum(shown + 1, 4) * (shown > 0)]
        w5 = w4[flo] & head_masks[np.clip(shown - 3, 0, 4)]
        words += [w0, w1, w2, w3 & keep, w5 & keep] if ihi.any() else [w0, w2, w3 & keep, w5 & keep]
    words.append(np.full(n, 10, dtype="<u4"))
    mat = np.stack(words, axis=1).view(np.uint8)
    rows = mat[mat != 0].tobytes().split(b"\n")[:n]
    for i in np.flatnonzero(slow).tolist():
        rows[i] = d + d.join(_float_texts([a[i]], decimal, encoding)[0] for a in arrays)
    return rows


def _quote_csv(values: list[str], delimiter: str) -> list[str]:
    joined = "\x00".join(values)
    if not any(ch in joined for ch in (delimiter, '"', "\n", "\r")):
        return values
    special = re.compile("[" + re.escape(delimiter) + '"\n\r]')
    return ['"' + v.replace('"', '""') + '"' if special.search(v) else v for v in values]


# -- writing -----------------------------------------------------------------------------------------
@contextmanager
def atomic_path(path):
    """Yield a temporary path beside *path*; on success it replaces *path* at once.

    On any failure the temporary file is removed (nothing half-written is left);
    a system error (disk full, no permission…) becomes a :class:`BatchFileError`
    with a French message (:func:`write_error`).
    """
    tmp = partial_path(path)
    try:
        yield tmp
        publish(tmp, path)
    except OSError as exc:
        _unlink_quietly(tmp)
        raise write_error(exc, path) from exc
    except BaseException:
        _unlink_quietly(tmp)
        raise


def _unlink_quietly(path) -> None:
    try:
        Path(path).unlink(missing_ok=True)
    except OSError:
        pass


#: Temporary files: ``.<name>.<pid>.partiel<suffix>`` beside the file they become.
_PARTIAL_RE = re.compile(r"^\.(?P<name>.+)\.(?P<pid>\d+)\.partiel(?P<suffix>\.[^.]*)?$")


def partial_path(path) -> Path:
    """The temporary name beside *path* where it is written before :func:`publish`.

    Named after the whole file name and the process id: ``.resultats.csv.1234.partiel.csv``.
    """
    path = Path(path)
    return path.with_name(f".{path.name}.{os.getpid()}.partiel{path.suffix}")


def stale_partials(path) -> list[Path]:
    """Temporary files of *path* left by an interrupted run (their process is gone).

    >>> stale_partials("/nonexistent-folder/sortie.csv")
    []
    """
    path = Path(path)
    out = []
    try:
        names = os.listdir(path.parent)
    except OSError:
        return out
    for name in names:
        m = _PARTIAL_RE.match(name)
        if m is None or m["name"] != path.name or (m["suffix"] or "") != path.suffix:
            continue
        pid = int(m["pid"])
        if pid != os.getpid() and _process_alive(pid):
            continue  # another run on the same output, still working
        if pid == os.getpid():
            continue
        candidate = path.parent / name
        if candidate.is_file() and not candidate.is_symlink():
            out.append(candidate)
    return out


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError, OSError):
        return True
    return True


def publish(tmp, path) -> None:
    """Make the written file *tmp* durable, then put it in place of *path* at once."""
    with open(tmp, "rb+") as fh:
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def write_error(exc: OSError, path) -> BatchFileError:
    """A French :class:`BatchFileError` saying why *path* could not be written, and what to do.

    >>> import errno
    >>> str(write_error(OSError(errno.ENOSPC, "No space left on device"), "/data/sortie.csv"))[:44]
    'disque plein : sortie.csv non écrit (aucun f'
    """
    import errno

    name = Path(path).name
    folder = Path(path).parent
    code = exc.errno
    if code in (errno.ENOSPC, errno.EDQUOT, errno.EFBIG):
        return BatchFileError(
            f"disque plein : {name} non écrit (aucun fichier partiel n'est laissé) ; libérez de la place "
            f"dans {folder} ou choisissez une sortie sur un autre disque"
        )
    if code in (errno.EACCES, errno.EPERM, errno.EROFS):
        return BatchFileError(
            f"écriture refusée pour {name} dans {folder} (dossier en lecture seule, fichier protégé ou ouvert "
            "dans un autre logiciel) : fermez-le, vérifiez les droits ou choisissez un autre dossier"
        )
    if code == errno.EISDIR:
        return BatchFileError(f"{path} est un dossier : donnez un nom de fichier (ex. {Path(path) / 'resultats.csv'})")
    if code in (errno.ENOENT, errno.ENOTDIR):
        return BatchFileError(f"dossier de sortie introuvable pour {name} ({folder}) : créez-le ou choisissez un dossier existant")
    if code == errno.ENAMETOOLONG:
        return BatchFileError(f"nom de fichier trop long : {name} ; choisissez un nom plus court")
    return BatchFileError(f"écriture de {name} impossible ({exc.strerror or exc}) : choisissez un autre dossier")


def _categorical_block(block, delimiter: str, encoding: str | None = None) -> list:
    """Consecutive categorical columns as one text column of delimiter-joined cells.

    Rows are grouped by their combination of categories (few, even in millions
    of rows): each combination's text is built once.
    """
    combos, key = _categorical_combos(block, delimiter, encoding)
    return combos[key].tolist()


def combination_key(arrays) -> tuple[Any, Any]:
    """Group rows by their combination of codes (integer arrays, -1 allowed).

    Returns ``(group of each row, first row of each group)``, groups numbered
    0, 1, … in order of first appearance. The codes are packed into one integer
    per row, renumbered only when the next column would overflow 63 bits.

    >>> key, first = combination_key([[0, 1, 0, 0], [2, -1, 2, 1]])
    >>> key.tolist(), first.tolist()
    ([0, 1, 0, 2], [0, 1, 3])
    """
    import numpy as np
    import pandas as pd

    n = len(arrays[0])
    key = np.zeros(n, dtype="int64")
    bound = 1  # key < bound
    for codes in arrays:
        c = np.asarray(codes).astype("int64") + 1
        size = int(c.max(initial=0)) + 1
        if bound * size >= 2 ** 63:
            key, uniques = pd.factorize(key)
            key, bound = key.astype("int64"), max(len(uniques), 1)
        key = key * size + c
        bound *= size
    key, _ = pd.factorize(key)
    key = key.astype("int64")
    groups = int(key.max(initial=-1)) + 1
    first = np.full(groups, -1, dtype="int64")
    first[key[::-1]] = np.arange(n - 1, -1, -1)
    return key, first


def _categorical_combos(block, delimiter: str, encoding: str | None = None):
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
        texts.append(_quote_csv([cats[c] for c in codes], delimiter))
    joined = [delimiter.join(parts) for parts in zip(*texts)] if groups else []
    if encoding:
        joined = [j.encode(encoding, errors="replace") for j in joined]
    combos = np.empty(len(joined), dtype=object)
    combos[:] = joined
    return combos, key


def _low_cardinality(series) -> bool:
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


def write_csv(data, path, *, delimiter: str = ";", encoding: str = "utf-8", newline: str = "\r\n",
              decimal: str | None = None) -> None:
    """Write a DataFrame as CSV, atomically; formulas neutralised, fields quoted when needed.

    *decimal* defaults to ``,`` with the ``;`` delimiter (French Excel), else ``.``.
    Characters the encoding cannot hold become ``?``.
    """
    if decimal is None:
        decimal = "," if delimiter == ";" else "."
    header = _quote_csv(_neutralise_strings([str(c) for c in data.columns]), delimiter)
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
        if _low_cardinality(s):
            block.append(s)
            continue
        if block:
            cols.append(_categorical_block(block, delimiter, encoding))
            block = []
        if encoding and pd.api.types.is_float_dtype(s.dtype):
            cols.append(_float_texts(s.to_numpy(), decimal, encoding))
            continue
        texts = _quote_csv(_column_texts(s, decimal), delimiter)
        cols.append([t.encode(encoding, errors="replace") for t in texts] if encoding else texts)
    if block:
        cols.append(_categorical_block(block, delimiter, encoding))
    return cols


def write_csv_passthrough(table: InputTable, new, path, *, decimal: str | None = None, progress=None) -> None:
    """Write the input lines as they are, followed by the columns of *new*: CSV in, CSV out.

    For a CSV without quotes (:attr:`InputTable.body` set), written back with its
    own delimiter and encoding: each input cell is copied byte for byte, except
    cells a spreadsheet could run as a formula (neutralised) and malformed lines
    (padded or cut to the header's width), which are rebuilt field by field.
    *progress*: ``progress(rows written, rows)`` after each chunk of rows.
    """
    import numpy as np

    if table.body is None or table.header_line is None:
        raise BatchFileError("copie directe impossible : fichier avec guillemets")
    delim = table.delimiter or ";"
    if decimal is None:
        decimal = "," if delim == ";" else "."
    width = len(table.header)
    n = len(table.counts)
    enc = table.encoding or "utf-8"
    piece = "utf-8" if enc == "utf-8-sig" else enc  # the BOM is written once, at the start
    lines = table.body.split(b"\n", n)[:n] if n else []
    if b"\r\n" in table.body:  # CR LF ends a line for the C parser, whatever the header's ending
        lines = [line[:-1] if line.endswith(b"\r") else line for line in lines]
    if len(lines) != len(new):
        raise BatchFileError(f"copie directe incohérente ({len(lines)} lignes pour {len(new)} résultats)")
    fix = np.flatnonzero((table.counts != width) | table.danger)
    for i in fix.tolist():
        text = lines[i].decode(piece)
        fields = text.split(delim) if text else []
        fields = (fields + [""] * width)[:width]
        lines[i] = delim.join(neutralise_text(f) for f in fields).encode(piece, errors="replace")
    header = delim.join(_neutralise_strings(table.header_line.split(delim)))
    new_header = _quote_csv(_neutralise_strings([str(c) for c in new.columns]), delim)
    d = delim.encode(piece)
    nl = table.newline.encode(piece)
    head = d.join([header.encode(piece, errors="replace")] + [h.encode(piece, errors="replace") for h in new_header])
    # Each row is its input line followed by a few pieces (each starting with the delimiter).
    # Rows go out by chunks: while one chunk is joined and written, a second thread formats
    # the numbers of the next one, and the disk starts on what is written.
    pieces = _row_pieces(new, delim, decimal, piece) if len(new) else []
    if pieces and pieces[-1][0] == "combos":
        pieces[-1] = ("combos", np.array([c + nl for c in pieces[-1][1]] + [b""], dtype=object)[:-1], pieces[-1][2])
    else:
        pieces.append(("same", nl, None))
    step = 1 + len(pieces)
    floats = [values for kind, values, _ in pieces if kind == "floats"]

    def float_rows(a: int, b: int) -> list:
        return [_float_row_bytes([c[a:b] for c in cols], delim, decimal, piece) for cols in floats]

    from concurrent.futures import ThreadPoolExecutor

    with atomic_path(path) as tmp, open(tmp, "wb") as fh, ThreadPoolExecutor(1, thread_name_prefix="cq-geo-csv") as pool:
        fh.write((b"\xef\xbb\xbf" if enc == "utf-8-sig" else b"") + head + nl)
        done = flushed = fh.tell()
        bounds = list(range(0, len(new), _WRITE_ROWS)) + [len(new)]
        chunks = list(zip(bounds[:-1], bounds[1:]))
        ahead = [pool.submit(float_rows, a, b) for a, b in chunks[:2]]
        for k, (a, b) in enumerate(chunks):
            formatted = iter(ahead.pop(0).result())
            if k + 2 < len(chunks):
                ahead.append(pool.submit(float_rows, *chunks[k + 2]))
            out = [b""] * (step * (b - a))
            out[0::step] = lines[a:b]
            for j, (kind, values, key) in enumerate(pieces, start=1):
                if kind == "combos":
                    out[j::step] = values[key[a:b]].tolist()
                elif kind == "same":
                    out[j::step] = [values] * (b - a)
                elif kind == "floats":
                    out[j::step] = next(formatted)
                else:
                    out[j::step] = values[a:b]
            # joined by slices of about a megabyte: cheaper than one join of the whole chunk
            for i in range(0, len(out), _WRITE_ITEMS):
                done += fh.write(b"".join(out[i:i + _WRITE_ITEMS]))
            if done - flushed >= _WRITEBACK_BYTES and hasattr(os, "posix_fadvise"):
                # start writing these bytes to disk now: the final fsync has less to wait for
                fh.flush()
                os.posix_fadvise(fh.fileno(), flushed, done - flushed, os.POSIX_FADV_DONTNEED)
                flushed = done
            if progress is not None:
                progress(b, len(new))


def _row_pieces(new, delimiter: str, decimal: str, encoding: str) -> list:
    """The cells of *new* per row as a few pieces, each ``delimiter + cells`` in bytes.

    A piece is ``("combos", texts, key)`` for a run of low-cardinality columns
    (row i's text: ``texts[key[i]]``), ``("floats", arrays, None)`` for a run of
    float columns (their texts: :func:`_float_row_bytes` of the arrays), or
    ``("rows", list, None)`` for another column.
    """
    import numpy as np
    import pandas as pd

    d = delimiter.encode(encoding)
    pieces: list = []
    block: list = []
    floats: list = []

    def flush():
        if block:
            combos, key = _categorical_combos(block, delimiter, encoding)
            pieces.append(("combos", np.array([d + c for c in combos] + [b""], dtype=object)[:-1], key))
            block.clear()
        if floats:
            pieces.append(("floats", list(floats), None))
            floats.clear()

    for j in range(new.shape[1]):
        s = new.iloc[:, j]
        if _low_cardinality(s):
            if floats:
                flush()
            block.append(s)
        elif pd.api.types.is_float_dtype(s.dtype):
            if block:
                flush()
            floats.append(s.to_numpy())
        else:
            flush()
            texts = _quote_csv(_column_texts(s, decimal), delimiter)
            pieces.append(("rows", [d + t.encode(encoding, errors="replace") for t in texts], None))
    flush()
    return pieces


def write_xlsx(data, path, sheet_name: str = "Résultats", *, progress=None) -> None:
    """Write a DataFrame as a one-sheet XLSX (:mod:`cq_geo.bulk.xlsx`), atomically; input text stays text (never a formula).

    Header in bold and frozen; numeric columns as numbers (NaN: empty cell),
    booleans as « oui »/« non », every other cell as text (:func:`xlsx_text`).
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
