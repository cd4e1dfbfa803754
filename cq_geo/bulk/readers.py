"""Inputs of the batch: CSV and XLSX files read as text, every line a row.

Reading keeps every cell as text, exactly as typed: no number or date
guessing, column names kept even when duplicated or blank, every line a row
(a blank line is a row, marked « ligne vide »; a line with the wrong number of
fields is a row, marked « ligne mal formée »).

CSV input: the delimiter (``;``, ``,``, tab or ``|``) is read from the header
line; the encoding is UTF-8 with BOM when the file starts with one, else UTF-8
when the bytes decode as UTF-8, else CP1252 (what French Excel writes; Latin-1
text is CP1252 text), else Latin-1. ``encoding=`` overrides it. A CSV without
quotes goes through the byte-level reader of :mod:`cq_geo.bulk.fastcsv`, any
other through :mod:`csv`.

Examples
--------
>>> detect_encoding("Hélesmes;59171\\n".encode("cp1252")), detect_encoding(b"\\xef\\xbb\\xbfa;b\\n")
('cp1252', 'utf-8-sig')
>>> detect_delimiter('nom;"adresse, ville";cp')
';'
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import CqGeoError
from ..files import file_sha256
from . import fastcsv
from .files import BatchFileError

__all__ = ["InputTable", "read_table", "detect_encoding", "detect_delimiter", "formula_literal"]


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
    delim = _delimiter(delimiter) if delimiter else detect_delimiter(header_line)
    if not _plain_lines(raw, text, enc, delim):
        data, names, counts, blank_line, trailing = _parse_with_csv(text, delim)
        del text, raw
        table = InputTable(data, "csv", None, header=list(names))
        empty = None
    else:
        # No quotes: a line is a row and its fields are split by the delimiter (fastcsv).
        del text
        names = header_line.split(delim)
        scan = fastcsv.scan_lines(raw, delim, len(names))
        body = raw[scan.start:]
        del raw
        data = fastcsv.read_cells(body, scan, names, delim, enc, path.name, only, numeric)
        table = InputTable(data, "csv", None, header=list(names), header_line=header_line, body=body,
                           counts=scan.counts, danger=scan.danger)
        counts, blank_line, trailing, empty = scan.counts, scan.blank, scan.trailing, scan.empty
    import pandas as pd

    # Extra fields that are all empty (a trailing delimiter) do not make a row malformed.
    counts = counts.copy()
    counts[trailing] = len(names)
    table.problems = _row_problems(data, counts, blank_line, len(names), empty)
    data.columns = [names[i] for i in list(data.columns)]
    data.index = pd.RangeIndex(len(data))
    table.encoding, table.delimiter, table.newline, table.sha256 = enc, delim, newline, sha
    return table


def _plain_lines(raw: bytes, text: str, enc: str, delim: str) -> bool:
    """True when each line is a row whose fields the delimiter splits (no quotes, an ASCII
    delimiter in a single-byte or UTF-8 encoding, no CR alone): :mod:`cq_geo.bulk.fastcsv` reads it."""
    single_byte = enc in ("utf-8", "utf-8-sig", "cp1252", "latin-1", "iso-8859-1", "ascii") and ord(delim) < 128
    bare_cr = b"\r" in raw and raw.count(b"\r") != raw.count(b"\r\n")  # a CR alone ends a line for the C parser
    return '"' not in text and single_byte and not bare_cr


def _delimiter(given: str) -> str:
    """The delimiter asked for (``tab``, ``point-virgule``… accepted), or a French error."""
    delim = {"tab": "\t", "\\t": "\t", "point-virgule": ";", "virgule": ","}.get(given, given)
    if len(delim) != 1:
        raise BatchFileError(f"séparateur invalide : {given!r} (un seul caractère : ; , tab |)")
    return delim


def _parse_with_csv(text: str, delim: str):
    """A CSV with quotes (or in a multi-byte encoding…) through :mod:`csv`:
    ``(cells, header, fields per line, blank lines, lines with only empty extra fields)``."""
    import numpy as np
    import pandas as pd

    rows = list(csv.reader(io.StringIO(text, newline=""), delimiter=delim, strict=False))
    names = rows[0] if rows else []
    body = rows[1:]
    counts = np.fromiter(map(len, body), dtype="int64", count=len(body))
    width = len(names)
    padded = [r[:width] + [""] * (width - len(r)) if len(r) != width else r for r in body]
    data = pd.DataFrame(padded, columns=range(width), dtype=object) if padded else pd.DataFrame(columns=range(width), dtype=object)
    data = data.fillna("")
    blank_line = counts == 0
    long_rows = np.flatnonzero(counts > width)
    trailing = [i for i in long_rows.tolist() if not any(body[i][width:])]
    return data, names, counts, blank_line, trailing


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

