"""A small, fast writer of XLSX workbooks (Office Open XML spreadsheets).

Every XLSX file cq-geo writes goes through here: the batch output
(:func:`cq_geo.bulk.writers.write_xlsx`) and the batch summary
(:meth:`cq_geo.bulk.summary.BatchSummary.write_xlsx`). Reading XLSX stays
on openpyxl.

What a workbook holds
---------------------
A zip (deflate, low compression level: :data:`COMPRESSLEVEL`) of these parts::

    [Content_Types].xml            the type of every part below
    _rels/.rels                    → xl/workbook.xml
    xl/workbook.xml                the sheets, in order, by name
    xl/_rels/workbook.xml.rels     → the sheets, styles and shared strings
    xl/styles.xml                  cell styles: 0 normal, 1 bold, 2 per cent (« 45,7 % »), 3 date
    xl/sharedStrings.xml           every distinct text of the workbook, once
    xl/worksheets/sheetN.xml       rows and cells

Rows and cells carry their position (``<row r="7">``, ``<c r="B7">``), so an
empty cell is simply left out and every reader (Excel, LibreOffice, openpyxl,
pandas) puts the others where they belong. A sheet can have column widths
(``<cols>``) and a frozen header row (``<pane ySplit="1" …>``).

Cells
-----
* numbers (ints, floats) are numbers; NaN, infinities and None are empty cells;
* booleans are the codes ``true`` / ``false`` (columns of files carry codes);
* everything else is text, passed through :func:`cq_geo.bulk.cells.xlsx_text`:
  control characters XLSX cannot hold are dropped and a text a spreadsheet
  would run as a formula gets a leading apostrophe. A cell is never a
  formula. Texts are XML-escaped, keep leading and trailing spaces
  (``xml:space="preserve"``) and are cut at 32 767 characters (the most a
  cell holds, as openpyxl does). Empty texts are empty cells.

Texts go through the shared strings table: a cell is then
``<c r="B7" t="s"><v>12</v></c>`` however long its text, and a text repeated
over many rows (statuses, reasons, communes) is written once. A text column
of :data:`INLINE_FROM` rows or more whose values are mostly distinct
(identifiers, names, coordinates as typed) is written inline instead (``<c r="B7" t="inlineStr"><is><t>…</t></is></c>``,
as openpyxl does): sharing would save nothing, and skipping the table makes
such a column about a third faster to write.

Speed
-----
A table is written column by column, not cell by cell: each distinct value of
a column (each category of a pandas categorical, each distinct text) is
turned into its cell XML once, the rows then pick theirs by index (numpy);
numbers are formatted once per column chunk. A row is then one join of its
cells' XML and one replacement of the row-number placeholder, and rows are
encoded and streamed into the zip by chunks of :data:`CHUNK_ROWS`, while a
second thread compresses the previous chunk (zlib releases the GIL). About
0.1 µs per cell on a laptop, against 10 µs with openpyxl.

Example
-------
>>> import io, zipfile, pandas as pd
>>> sheet = Sheet("Feuille", widths={"A": 30}, freeze="A2")
>>> sheet.table(pd.DataFrame({"statut": ["à vérifier", "à vérifier", "=1+1"], "n": [1, 2.5, None]}))
>>> buf = io.BytesIO()
>>> write_workbook(buf, [sheet])
>>> xml = zipfile.ZipFile(buf).read("xl/worksheets/sheet1.xml").decode()
>>> print(xml[xml.index('<row r="3">'):xml.index("</sheetData>")])
<row r="3"><c r="A3" t="s"><v>2</v></c><c r="B3"><v>2.5</v></c></row><row r="4"><c r="A4" t="s"><v>3</v></c></row>
>>> print(zipfile.ZipFile(buf).read("xl/sharedStrings.xml").decode().split("<si>", 1)[1])
<t>statut</t></si><si><t>n</t></si><si><t>à vérifier</t></si><si><t>'=1+1</t></si></sst>
"""

from __future__ import annotations

import math
import queue
import threading
import zipfile
from itertools import repeat
from typing import Any, Callable, Iterable

__all__ = ["Sheet", "write_workbook", "column_letter", "COMPRESSLEVEL", "MAX_ROWS", "MAX_COLUMNS", "MAX_TEXT", "PERCENT",
           "DATE", "BOLD"]

#: zlib level of the zip: 1 writes about twice as fast as 6, for files about 30 % larger (benchmarks/xlsx.py).
COMPRESSLEVEL = 1
#: Rows and columns of a sheet; characters of a cell.
MAX_ROWS = 1_048_576
MAX_COLUMNS = 16_384
MAX_TEXT = 32_767
#: Rows formatted, encoded and written together.
CHUNK_ROWS = 8192
#: Rows from which a text column of mostly distinct values is written inline (not shared).
INLINE_FROM = 1000
#: Parts from this size (bytes, uncompressed) on are written with ZIP64 sizes.
_ZIP64_FROM = (1 << 31) - (1 << 24)
#: Stands for the row number in the XML of a cell until the row is written (XLSX text never holds it).
_ROW = "\x00"

_NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_NS_R = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_NS_PKG = "http://schemas.openxmlformats.org/package/2006/relationships"
_XML = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
_SHEET_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"

_STYLES = (
    _XML + f'<styleSheet xmlns="{_NS}">'
    '<numFmts count="2"><numFmt numFmtId="164" formatCode="0.0\\ %"/><numFmt numFmtId="165" formatCode="dd/mm/yyyy"/></numFmts>'
    '<fonts count="2">'
    '<font><sz val="11"/><name val="Calibri"/><family val="2"/></font>'
    '<font><b/><sz val="11"/><name val="Calibri"/><family val="2"/></font>'
    "</fonts>"
    '<fills count="2"><fill><patternFill patternType="none"/></fill><fill><patternFill patternType="gray125"/></fill></fills>'
    '<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>'
    '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>'
    '<cellXfs count="4">'
    '<xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>'
    '<xf numFmtId="0" fontId="1" fillId="0" borderId="0" xfId="0" applyFont="1"/>'
    '<xf numFmtId="164" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>'
    '<xf numFmtId="165" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>'
    "</cellXfs>"
    '<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles>'
    "</styleSheet>"
)
#: Style index of bold cells in ``cellXfs``.
BOLD = 1
#: Style index of shares (a number 0.457 shown « 45,7 % »: it stays a number, charts and sums work).
PERCENT = 2
#: Style index of dates (a serial day number shown dd/mm/yyyy).
DATE = 3


# -- small helpers -----------------------------------------------------------------------------------
def column_letter(index: int) -> str:
    """The letters of a 0-based column index.

    >>> column_letter(0), column_letter(25), column_letter(26), column_letter(16383)
    ('A', 'Z', 'AA', 'XFD')
    """
    if not 0 <= index < MAX_COLUMNS:
        raise ValueError(f"colonne {index + 1} : une feuille XLSX a au plus {MAX_COLUMNS} colonnes")
    letters = ""
    index += 1
    while index:
        index, rem = divmod(index - 1, 26)
        letters = chr(65 + rem) + letters
    return letters


def _column_index(letters: str) -> int:
    """0-based index of column letters: ``"C"`` → 2."""
    n = 0
    for ch in letters.upper():
        if not "A" <= ch <= "Z":
            raise ValueError(f"colonne « {letters} » : des lettres A à XFD sont attendues")
        n = n * 26 + ord(ch) - 64
    if not 1 <= n <= MAX_COLUMNS:
        raise ValueError(f"colonne « {letters} » : une feuille XLSX a au plus {MAX_COLUMNS} colonnes")
    return n - 1


def _attr(text: str) -> str:
    """Text for an XML attribute value between double quotes."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")


def _escape_many(texts: list[str]) -> list[str]:
    """XML element text of each text, escaped in one pass over them all (they hold no NUL)."""
    if not texts:
        return []
    joined = _ROW.join(texts)
    if "&" in joined:
        joined = joined.replace("&", "&amp;")
    if "<" in joined:
        joined = joined.replace("<", "&lt;")
    if ">" in joined:
        joined = joined.replace(">", "&gt;")
    if "\r" in joined:  # a parser would read a raw CR as LF
        joined = joined.replace("\r", "&#13;")
    return joined.split(_ROW)


def _clip(text: str) -> str:
    """*text* cut to what a cell holds (32 767 UTF-16 units, never half a character)."""
    if len(text) <= MAX_TEXT // 2 or len(text.encode("utf-16-le")) <= 2 * MAX_TEXT:
        return text
    return text.encode("utf-16-le")[: 2 * MAX_TEXT].decode("utf-16-le", errors="ignore")


def _clean_many(texts: list[str]) -> list[str]:
    """:func:`~cq_geo.bulk.cells.xlsx_text` on each text (one scan of the lot when all are clean), cut to a cell."""
    from .cells import DANGER_RE, ILLEGAL_XLSX, xlsx_text

    if not texts:
        return texts
    if ILLEGAL_XLSX.search("\n".join(texts)) or DANGER_RE.search("\x00".join(texts)):
        texts = [xlsx_text(t) for t in texts]
    if max(map(len, texts)) > MAX_TEXT // 2:
        texts = [_clip(t) for t in texts]
    return texts


class _SharedStrings:
    """The shared strings table of a workbook: each distinct text once, in order of first use."""

    def __init__(self) -> None:
        self.index: dict[str, int] = {}
        self.texts: list[str] = []

    def add(self, texts: list[str]) -> list[int]:
        """The index of each (clean) text, adding the new ones (dictionary work at C speed)."""
        get = self.index.get
        out = list(map(get, texts))
        if None in out:
            new = list(dict.fromkeys([t for t, k in zip(texts, out) if k is None]))
            start = len(self.texts)
            self.index.update(zip(new, range(start, start + len(new))))
            self.texts.extend(new)
            out = list(map(get, texts))
        return out

    def xml_chunks(self) -> Iterable[bytes]:
        yield (_XML + f'<sst xmlns="{_NS}" uniqueCount="{len(self.texts)}">').encode()
        for a in range(0, len(self.texts), 65536):
            part = self.texts[a : a + 65536]
            escaped = _escape_many(part)
            if any(t != t.strip() for t in part):  # some need xml:space="preserve"
                items = "".join(
                    f'<si><t xml:space="preserve">{e}</t></si>' if t[:1].isspace() or t[-1:].isspace() else f"<si><t>{e}</t></si>"
                    for t, e in zip(part, escaped)
                )
            else:
                items = "<si><t>" + "</t></si><si><t>".join(escaped) + "</t></si>"
            yield items.encode("utf-8")
        yield b"</sst>"


# -- values → cell XML ---------------------------------------------------------------------------------
def _is_missing(value) -> bool:
    if value is None:
        return True
    try:
        return bool(value != value) or (isinstance(value, float) and math.isinf(value))
    except (TypeError, ValueError):  # pd.NA compares to NA, arrays…
        try:
            import pandas as pd

            return bool(pd.isna(value))
        except (TypeError, ValueError):
            return False


def _kinds(values: list, numbers: bool) -> tuple[list, list[str]]:
    """For each value: ``("n", text)``, ``("s", None)`` or ``None`` (empty); and the texts of the ``"s"`` ones.

    Numbers are numbers when *numbers*, else text; booleans are the codes ``true``/``false`` (a file's
    columns carry codes, see docs/ligne-de-commande.md).
    """
    import numpy as np

    kinds: list = []
    texts: list[str] = []
    for v in values:
        if isinstance(v, (bool, np.bool_)):
            kinds.append(("s", None))
            texts.append("true" if v else "false")
        elif _is_missing(v):
            kinds.append(None)
        elif numbers and isinstance(v, (int, np.integer)):
            kinds.append(("n", str(int(v))))
        elif numbers and isinstance(v, (float, np.floating)):
            kinds.append(("n", repr(float(v))))
        else:
            kinds.append(("s", None))
            texts.append(str(v))
    return kinds, texts


def _cells(values: list, letter: str, style: int, strings: _SharedStrings, numbers: bool) -> list[str]:
    """The XML of a cell for each value (``""`` for an empty cell), the row number left as a placeholder."""
    kinds, texts = _kinds(values, numbers)
    clean = _clean_many(texts)
    ids = iter(strings.add([t for t in clean if t]))
    clean_iter = iter(clean)
    s = f' s="{style}"' if style else ""
    out = []
    for k in kinds:
        if k is None:
            out.append("")
        elif k[0] == "n":
            out.append(f'<c r="{letter}{_ROW}"{s}><v>{k[1]}</v></c>')
        elif next(clean_iter):
            out.append(f'<c r="{letter}{_ROW}"{s} t="s"><v>{next(ids)}</v></c>')
        else:
            out.append("")
    return out


def _text_cells(texts: list[str], letter: str, style: int, strings: _SharedStrings) -> list[str]:
    """Cell XML of texts (``""`` for an empty one); faster than :func:`_cells` when all are str."""
    clean = _clean_many(texts)
    ids = strings.add([t for t in clean if t])
    pre, suf = f'<c r="{letter}{_ROW}"' + (f' s="{style}"' if style else "") + ' t="s"><v>', "</v></c>"
    if len(ids) == len(clean):
        return (pre + (suf + "\x01" + pre).join(map(str, ids)) + suf).split("\x01") if ids else []
    ids_iter = iter(ids)
    return [pre + str(next(ids_iter)) + suf if t else "" for t in clean]


def _inline_cells(texts: list[str], letter: str) -> list[str]:
    """Cell XML of texts written in the cell (``t="inlineStr"``), ``""`` for an empty one."""
    clean = _clean_many(texts)
    escaped = _escape_many(clean)
    pre, pre_space = f'<c r="{letter}{_ROW}" t="inlineStr"><is><t>', f'<c r="{letter}{_ROW}" t="inlineStr"><is><t xml:space="preserve">'
    if any(t != t.strip() for t in clean):
        return [(pre_space if t != t.strip() else pre) + e + "</t></is></c>" if t else "" for t, e in zip(clean, escaped)]
    return [pre + e + "</t></is></c>" if e else "" for e in escaped]


def _number_cells(values, letter: str, integers: bool, style: int = 0) -> list[str]:
    """Cell XML of numbers: the column formatted in one joined string (C speed); NaN and ±inf empty."""
    import numpy as np

    pre, suf = f'<c r="{letter}{_ROW}"' + (f' s="{style}"' if style else "") + "><v>", "</v></c>"
    if integers:
        ok = None
        texts = map(str, values.tolist())
    else:
        ok = np.isfinite(values)
        if ok.all():
            ok = None
        texts = map(repr, (values if ok is None else values[ok]).tolist())
    joined = "\x01".join(texts)
    if not joined:
        return [""] * len(values)
    if not integers:
        joined = (joined + "\x01").replace(".0\x01", "\x01")[:-1]  # 12.0 → 12
    cells = (pre + joined.replace("\x01", suf + "\x01" + pre) + suf).split("\x01")
    if ok is None:
        return cells
    out = np.full(len(values), "", dtype=object)
    out[ok] = cells
    return out.tolist()


class _Column:
    """The cell XML of one column of a table, by chunks of rows.

    Kinds: ``table`` (cell XML of each distinct value, picked by code: categoricals,
    booleans, texts), ``numbers`` (formatted chunk by chunk), ``empty``.
    """

    def __init__(self, series, letter: str, strings: _SharedStrings, object_numbers: bool, style: int = 0):
        import numpy as np
        import pandas as pd

        self.letter = letter
        self.style = style
        self.kind = "table"
        self.values = None
        dtype = series.dtype
        n = len(series)
        if isinstance(dtype, pd.CategoricalDtype):
            cats = list(series.cat.categories)
            if all(isinstance(c, str) for c in cats):
                table = _text_cells(cats, letter, 0, strings)
            else:
                table = _cells(cats, letter, 0, strings, object_numbers)
            codes = series.cat.codes.to_numpy()
            if (codes < 0).any():
                codes = np.where(codes < 0, len(cats), codes)
            self._set_table(table, codes)
        elif pd.api.types.is_bool_dtype(dtype) and not series.hasnans:
            self._set_table(_text_cells(["false", "true"], letter, 0, strings), series.to_numpy(dtype=bool).astype("intp"))
        elif pd.api.types.is_float_dtype(dtype):  # numpy or nullable floats: NA, NaN, ±inf are empty cells
            self.kind, self.values, self.integers = "numbers", series.to_numpy(dtype="float64", na_value=np.nan), False
            if not np.isfinite(self.values).any():
                self.kind = "empty"
        elif pd.api.types.is_integer_dtype(dtype) and not series.hasnans:
            self.kind, self.values, self.integers = "numbers", series.to_numpy(), True
        else:
            values = series.to_numpy(dtype=object)
            if n and pd.api.types.infer_dtype(values, skipna=True) == "string":
                codes, uniques = pd.factorize(values)  # None and NaN: code -1
                if n >= INLINE_FROM and len(uniques) > n // 2:  # mostly distinct (identifiers…): sharing saves nothing
                    table = _inline_cells(list(uniques), letter)
                else:
                    table = _text_cells(list(uniques), letter, 0, strings)
                if (codes < 0).any():
                    codes = np.where(codes < 0, len(table), codes)
                self._set_table(table, codes)
            else:  # numbers, booleans, dates, NA… among the values: one by one
                numbers = object_numbers or pd.api.types.is_numeric_dtype(dtype) and not pd.api.types.is_bool_dtype(dtype)
                self._set_table(_cells(values.tolist(), letter, 0, strings, numbers), np.arange(n))

    def _set_table(self, table: list[str], codes) -> None:
        import numpy as np

        if not any(table):
            self.kind = "empty"
            return
        self.table = np.array(table + [""], dtype=object)
        self.codes = codes

    def max_bytes(self) -> int:
        """Bytes of the XML of the longest cell of the column, at most (row number left out)."""
        if self.kind == "table":
            return 4 * max(map(len, self.table.tolist()))  # UTF-8: 4 bytes a character at most
        return 48 if self.kind == "numbers" else 0

    def chunk(self, a: int, b: int) -> list[str] | None:
        """Cell XML of rows a to b (``None``: all empty)."""
        if self.kind == "table":
            return self.table[self.codes[a:b]].tolist()
        if self.kind == "numbers":
            return _number_cells(self.values[a:b], self.letter, self.integers, self.style)
        return None


# -- sheets --------------------------------------------------------------------------------------------
_BAD_NAME = set('[]:*?/\\')


def _parse_cell(ref: str) -> tuple[int, int]:
    """0-based (column, row) of an A1 reference."""
    letters = ref.rstrip("0123456789")
    digits = ref[len(letters):]
    if not letters or not digits:
        raise ValueError(f"« {ref} » n'est pas une référence de cellule (A2, B3…)")
    return _column_index(letters), int(digits) - 1


class Sheet:
    """A worksheet to write: tables and rows, one under the other, then :func:`write_workbook`.

    *widths*: column widths in characters, by letter (``{"A": 42, "C": 90}``).
    *freeze*: the first cell that scrolls (``"A2"``: the first row stays in view, as
    openpyxl's ``freeze_panes``). *auto_widths*: the columns without a width get one
    from their header and their first values (between 6 and 60 characters), so that
    nothing is cut when the file opens. *autofilter*: a filter on the first table
    (its header row and all its rows). Tables are kept by reference and turned into
    XML only when the workbook is written.
    """

    def __init__(self, name: str, *, widths: dict[str, float] | None = None, freeze: str | None = None,
                 auto_widths: bool = False, autofilter: bool = False):
        if not name or len(name) > 31 or _BAD_NAME & set(name) or name[0] == "'" or name[-1] == "'":
            raise ValueError(f"« {name} » ne peut pas nommer une feuille XLSX (1 à 31 caractères, sans [ ] : * ? / \\)")
        self.name = name
        self.widths = {_column_index(k): float(v) for k, v in (widths or {}).items()}
        self.freeze = _parse_cell(freeze) if freeze else None
        self.rows = 0  # rows used so far (blank ones included)
        self.columns = 0  # columns used so far
        self._blocks: list[tuple] = []
        self.auto_widths = auto_widths
        self.autofilter = autofilter
        self._filter: str | None = None

    def _grow(self, rows: int, columns: int) -> None:
        if self.rows + rows > MAX_ROWS:
            raise ValueError(f"{self.rows + rows:,} lignes : une feuille XLSX en a au plus {MAX_ROWS:,}".replace(",", " "))
        if columns > MAX_COLUMNS:
            raise ValueError(f"{columns} colonnes : une feuille XLSX en a au plus {MAX_COLUMNS}")
        self.rows += rows
        self.columns = max(self.columns, columns)

    def row(self, values: Iterable[Any], *, bold: bool = False) -> None:
        """One row of cells: numbers as numbers, the rest as text (see the module docstring)."""
        values = list(values)
        self._grow(1, len(values))
        self._blocks.append(("row", values, bold))

    def blank(self, count: int = 1) -> None:
        """Leave *count* empty rows."""
        self._grow(count, 0)
        self._blocks.append(("blank", count))

    def table(self, data, *, header: bool = True, bold_header: bool = True, object_numbers: bool = False,
              styles: dict[str, int] | None = None) -> None:
        """A pandas DataFrame: its column names (bold) on a row, then its rows.

        Numeric columns are numbers, boolean columns the codes ``true``/``false``. In text
        (object) and categorical columns, every value is text unless
        *object_numbers*: then the ints and floats among them are numbers.
        *styles*: a cell style by column name for numeric columns (:data:`PERCENT`).
        """
        first_row = self.rows + 1
        if header:
            self.row([str(c) for c in data.columns], bold=bold_header)
        self._grow(len(data), data.shape[1])
        if self.autofilter and self._filter is None and data.shape[1]:
            self._filter = f"A{first_row}:{column_letter(data.shape[1] - 1)}{max(self.rows, first_row)}"
        if self.auto_widths:
            self._auto_widths(data)
        self._blocks.append(("table", data, object_numbers, dict(styles or {})))

    def _auto_widths(self, data, sample: int = 2000) -> None:
        """Widths from the header and the first *sample* values of each column not given one."""
        for j, name in enumerate(data.columns):
            if j in self.widths:
                continue
            values = data.iloc[:sample, j]
            lengths = [len(str(v)) for v in values.tolist() if v is not None and v == v]
            longest = sorted(lengths)[int(0.95 * (len(lengths) - 1))] if lengths else 0
            self.widths[j] = float(min(60, max(6, len(str(name)) + 3, longest + 2)))

    # -- XML ---------------------------------------------------------------------------------------------
    def _head(self, selected: bool) -> str:
        last = f"{column_letter(max(self.columns, 1) - 1)}{max(self.rows, 1)}"
        dim = "A1" if last == "A1" else f"A1:{last}"
        view = '<sheetView tabSelected="1" workbookViewId="0"' if selected else '<sheetView workbookViewId="0"'
        if self.freeze and self.freeze != (0, 0):
            x, y = self.freeze
            ref = f"{column_letter(x)}{y + 1}"
            pane = "bottomRight" if x and y else ("bottomLeft" if y else "topRight")
            split = (f' xSplit="{x}"' if x else "") + (f' ySplit="{y}"' if y else "")
            view += (f'><pane{split} topLeftCell="{ref}" activePane="{pane}" state="frozen"/>'
                     f'<selection pane="{pane}" activeCell="{ref}" sqref="{ref}"/></sheetView>')
        else:
            view += "/>"
        cols = "".join(
            f'<col min="{i + 1}" max="{i + 1}" width="{w:g}" customWidth="1"/>' for i, w in sorted(self.widths.items())
        )
        return (
            _XML + f'<worksheet xmlns="{_NS}" xmlns:r="{_NS_R}"><dimension ref="{dim}"/>'
            f"<sheetViews>{view}</sheetViews>"
            '<sheetFormatPr defaultRowHeight="15"/>' + (f"<cols>{cols}</cols>" if cols else "") + "<sheetData>"
        )

    def _prepare(self, strings: _SharedStrings) -> tuple[list, int]:
        """The blocks with the cell XML of their columns, and a bound on the sheet's size in bytes.

        Texts enter the shared strings table here, sheet by sheet, in order.
        """
        blocks: list = []
        bound = 1024 + 64 * len(self.widths)
        digits = len(str(max(self.rows, 1)))
        for kind, *block in self._blocks:
            if kind == "blank":
                blocks.append(("blank", block[0]))
            elif kind == "row":
                values, bold = block
                cells = [_cells([v], column_letter(j), BOLD if bold else 0, strings, True)[0] for j, v in enumerate(values)]
                blocks.append(("row", "".join(cells)))
                bound += 4 * len(blocks[-1][1]) + 32 + digits * (len(values) + 1)
            else:
                data, object_numbers, styles = block
                columns = [_Column(data.iloc[:, j], column_letter(j), strings, object_numbers,
                                   styles.get(str(data.columns[j]), 0)) for j in range(data.shape[1])]
                columns = [c for c in columns if c.kind != "empty"]
                blocks.append(("table", len(data), columns))
                row_bytes = 32 + digits * (len(columns) + 1) + sum(c.max_bytes() for c in columns)
                bound += row_bytes * len(data)
        return blocks, bound

    @staticmethod
    def _xml_chunks(head: str, blocks: list, progress: Callable[[int], None] | None = None,
                    tail: str = "") -> Iterable[bytes]:
        """The sheet's XML, by chunks of UTF-8 bytes; ``progress(rows)`` after each chunk of a table."""
        yield head.encode("utf-8")
        r = 1  # number of the next row
        pending: list[str] = []  # single rows, written with the next chunk
        for kind, *block in blocks:
            if kind == "blank":
                r += block[0]
            elif kind == "row":
                pending.append(f'<row r="{r}">' + block[0].replace(_ROW, str(r)) + "</row>")
                r += 1
            else:
                n, columns = block
                if pending:
                    yield "".join(pending).encode("utf-8")
                    pending = []
                for a in range(0, n, CHUNK_ROWS):
                    b = min(n, a + CHUNK_ROWS)
                    cols = [c for c in (col.chunk(a, b) for col in columns) if c is not None]
                    if not cols:
                        cols = [[""] * (b - a)]
                    templates = map("".join, zip(repeat('<row r="' + _ROW + '">'), *cols, repeat("</row>")))
                    yield "".join(map(str.replace, templates, repeat(_ROW), map(str, range(r + a, r + b)))).encode("utf-8")
                    if progress is not None:
                        progress(b - a)
                r += n
        if pending:
            yield "".join(pending).encode("utf-8")
        yield b"</sheetData>" + tail.encode("utf-8") + b"</worksheet>"


# -- the workbook --------------------------------------------------------------------------------------
class _BackgroundWriter:
    """Writes chunks to a file object in a second thread (zlib compresses there, without the GIL)."""

    def __init__(self, fh):
        self.fh = fh
        self.error: BaseException | None = None
        self.queue: queue.Queue = queue.Queue(maxsize=4)
        self.thread = threading.Thread(target=self._run, name="cq-geo-xlsx", daemon=True)
        self.thread.start()

    def _run(self) -> None:
        while True:
            data = self.queue.get()
            if data is None:
                return
            if self.error is None:
                try:
                    self.fh.write(data)
                except BaseException as exc:  # noqa: BLE001 - handed back to the writing thread
                    self.error = exc

    def write(self, data: bytes) -> None:
        if self.error is not None:
            raise self.error
        self.queue.put(data)

    def close(self) -> None:
        """Wait for the last chunk; raise what the thread met."""
        self.queue.put(None)
        self.thread.join()
        if self.error is not None:
            raise self.error


def _rels(targets: list[tuple[str, str]]) -> str:
    items = "".join(f'<Relationship Id="rId{i}" Type="{t}" Target="{target}"/>' for i, (t, target) in enumerate(targets, 1))
    return _XML + f'<Relationships xmlns="{_NS_PKG}">{items}</Relationships>'


def write_workbook(path, sheets: list[Sheet], *, compresslevel: int | None = None,
                   progress: Callable[[int, int], None] | None = None) -> None:
    """Write *sheets* as an XLSX workbook at *path* (a path or a binary file object).

    The file is written in place: callers wanting an atomic output write to a
    temporary path (:func:`cq_geo.bulk.files.atomic_path`). *progress* is called
    as ``progress(done, total)`` with the table rows written so far.
    """
    if not sheets:
        raise ValueError("un classeur XLSX a au moins une feuille")
    names = [s.name.casefold() for s in sheets]
    if len(set(names)) != len(names):
        raise ValueError("deux feuilles du classeur ont le même nom")
    level = COMPRESSLEVEL if compresslevel is None else compresslevel
    doc = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
    n = len(sheets)
    content_types = (
        _XML + '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
        '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
        '<Default Extension="xml" ContentType="application/xml"/>'
        '<Override PartName="/xl/workbook.xml" '
        'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
        + "".join(f'<Override PartName="/xl/worksheets/sheet{i}.xml" ContentType="{_SHEET_TYPE}"/>' for i in range(1, n + 1))
        + '<Override PartName="/xl/styles.xml" '
        'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/>'
        '<Override PartName="/xl/sharedStrings.xml" '
        'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/>'
        "</Types>"
    )
    workbook = (
        _XML + f'<workbook xmlns="{_NS}" xmlns:r="{_NS_R}"><bookViews><workbookView activeTab="0"/></bookViews><sheets>'
        + "".join(f'<sheet name="{_attr(s.name)}" sheetId="{i}" r:id="rId{i}"/>' for i, s in enumerate(sheets, 1))
        + "</sheets></workbook>"
    )
    workbook_rels = _rels(
        [(f"{doc}/worksheet", f"worksheets/sheet{i}.xml") for i in range(1, n + 1)]
        + [(f"{doc}/styles", "styles.xml"), (f"{doc}/sharedStrings", "sharedStrings.xml")]
    )
    strings = _SharedStrings()
    total = sum(len(block[1]) for sheet in sheets for block in sheet._blocks if block[0] == "table")
    done = 0

    def advance(rows: int) -> None:
        nonlocal done
        done += rows
        progress(done, total)  # type: ignore[misc]

    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=level) as zf:
        zf.writestr("[Content_Types].xml", content_types)
        zf.writestr("_rels/.rels", _rels([(f"{doc}/officeDocument", "xl/workbook.xml")]))
        zf.writestr("xl/workbook.xml", workbook)
        zf.writestr("xl/_rels/workbook.xml.rels", workbook_rels)
        zf.writestr("xl/styles.xml", _STYLES)
        for i, sheet in enumerate(sheets, 1):
            blocks, bound = sheet._prepare(strings)
            tail = f'<autoFilter ref="{sheet._filter}"/>' if sheet._filter else ""
            chunks = Sheet._xml_chunks(sheet._head(i == 1), blocks, advance if progress is not None else None, tail)
            _write_part(zf, f"xl/worksheets/sheet{i}.xml", chunks, bound)
            del blocks
        bound = 256 + sum(map(len, strings.texts)) * 6 + 64 * len(strings.texts)  # « & » → « &amp; » at worst
        _write_part(zf, "xl/sharedStrings.xml", strings.xml_chunks(), bound)


def _write_part(zf: zipfile.ZipFile, name: str, chunks: Iterable[bytes], bound: int) -> None:
    """Stream *chunks* into the zip member *name*, compressed in a second thread.

    *bound*: bytes the part cannot pass. A part that may pass 2 GiB is written
    with ZIP64 sizes (zipfile needs to know before it starts); the others keep
    the plain zip format every reader takes.
    """
    with zf.open(name, "w", force_zip64=bound >= _ZIP64_FROM) as fh:
        out = _BackgroundWriter(fh)
        try:
            for chunk in chunks:
                out.write(chunk)
        finally:
            out.close()
