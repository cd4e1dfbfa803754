"""Byte-level fast paths of the batch's CSV files (CSV without quotes in, CSV copy out).

Everything here has a plain counterpart that gives the same result (tests/unit/test_batch_files.py
compares them); these exist only because they are faster at the sizes users have. Gains measured
with ``benchmarks/batch.py --fastpaths`` (``benchmarks/results/batch_fastpaths.txt``): CPU time
of the whole ``batch_file`` CSV → CSV (4 columns, French decimal commas), each trick turned off
alone, at 100 000 / 1 000 000 rows (at 10 000 rows the run takes 0.06 s either way):

================================================================  ==============  ==============
trick                                                             100 000 rows    1 000 000 rows
================================================================  ==============  ==============
byte reader and line copy (vs :mod:`csv` and the general writer)  3.7× less CPU   5.4× less
line copy alone (vs all columns parsed and written again)         3.0×            4.0×
coordinates parsed as floats by the C parser (vs text, converted) 1.5×            1.7×
floats written as 32-bit digit words (vs ``repr``)                14 %            25 %
================================================================  ==============  ==============

(Plain pandas ``read_csv`` → ``batch`` → ``to_csv``: 4.7× and 6.3× the CPU time.) Dropped after
measuring, under 10 % up to a million rows: pandas' "high" float converter for short fields, the
floats of the next chunk formatted ahead in a second thread, ``posix_fadvise`` every 32 MB.

Reading (:func:`scan_lines`, :func:`read_cells`): a CSV without quotes, in a single-byte
or UTF-8 encoding, is one row per line. The lines, their field counts, the blank and
malformed lines and the fields a spreadsheet could run as a formula are found with numpy
on the raw bytes, and only the columns asked for are parsed by pandas' C parser (the
coordinates as floats directly when every cell is a plain number). Otherwise
(:mod:`cq_geo.bulk.readers`) the file goes through :mod:`csv`.

Writing (:func:`write_csv_passthrough`): each input line is copied byte for byte and the
result columns are appended; the low-cardinality columns are written once per combination,
the float columns digit by digit from tables (:func:`_float_row_bytes`), by chunks of rows.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .cells import neutralise_text
from .files import BatchFileError, atomic_path
from .writers import categorical_combos, column_texts, float_texts, low_cardinality, neutralise_strings, quote_csv

if TYPE_CHECKING:
    from .readers import InputTable

__all__ = ["LineScan", "scan_lines", "read_cells", "write_csv_passthrough"]

#: Pieces of rows joined at once when writing a CSV (a megabyte or so).
_WRITE_ITEMS = 16384
#: Rows formatted and written together by the CSV copy writer.
_WRITE_ROWS = 65536


# -- reading ------------------------------------------------------------------------------------------
@dataclass
class LineScan:
    """The lines of a CSV body without quotes, found on its raw bytes (see :func:`scan_lines`)."""

    start: int  # offset of the first line after the header
    starts: Any  # per line: offset of its first byte
    ends: Any  # per line: offset of its newline (or of the end of the file)
    counts: Any  # per line: fields, 0 for a blank line
    blank: Any  # per line: nothing at all (a CR at most)
    empty: Any  # per line: nothing but delimiters
    trailing: list  # lines longer than the header whose extra fields are all empty
    danger: Any  # per line: a field a spreadsheet could run as a formula

    @property
    def nlines(self) -> int:
        return len(self.ends)


def scan_lines(raw: bytes, delim: str, width: int) -> LineScan:
    """Lines, field counts and formula-like fields of a CSV without quotes (header: *width* fields).

    ASCII delimiters never occur inside a multi-byte UTF-8 character, so the bytes can be
    scanned whatever the encoding (single-byte or UTF-8).

    >>> s = scan_lines(b"a;b\\n1;2\\n\\n=3;4;;\\n", ";", 2)
    >>> s.counts.tolist(), s.blank.tolist(), s.trailing, s.danger.tolist()
    ([2, 0, 4], [False, True, False], [2], [False, False, True])
    """
    import numpy as np

    buf = np.frombuffer(raw, dtype=np.uint8)
    nl = np.flatnonzero(buf == 10)
    start = int(nl[0]) + 1 if len(nl) else len(buf)
    ends = nl[1:] if len(nl) else nl
    if start < len(buf) and (not len(ends) or ends[-1] != len(buf) - 1):
        ends = np.append(ends, len(buf))  # last line without a final newline
    starts = np.concatenate(([start], ends[:-1] + 1)) if len(ends) else ends
    nlines = len(ends)
    dl = np.flatnonzero(buf[start:] == ord(delim)) + start
    # delimiters per line: those before its end, less those before the previous line's end
    last_dl = np.searchsorted(dl, ends)  # delimiters before each line's end
    counts = np.diff(last_dl, prepend=0).astype("int64") + 1
    length = ends - starts
    cr = np.zeros(nlines, dtype=bool)
    if nlines:
        cr = (length > 0) & (buf[np.maximum(ends - 1, 0)] == 13)
    blank_line = (length - cr) == 0
    empty = (length - cr) == (counts - 1)  # nothing but delimiters
    counts[blank_line] = 0
    trailing = []
    for i in np.flatnonzero(counts > width).tolist():
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
    return LineScan(start, starts, ends, counts, blank_line, empty, trailing, danger)


def read_cells(body: bytes, scan: LineScan, names: list[str], delim: str, enc: str, file_name: str,
               only: list[str] | None = None, numeric: list[str] | None = None):
    """The cells of a CSV body (the bytes after its header line) without quotes, as a DataFrame
    whose columns are field positions.

    *only*: the columns to parse (each must appear once in *names*, else all are parsed);
    *numeric*: among them, coordinates read as floats when every cell is a plain number.
    """
    import pandas as pd

    width = len(names)
    usecols = None
    if only:
        pos = [[i for i, n in enumerate(names) if n == name] for name in only]
        if all(len(p) == 1 for p in pos):
            usecols = sorted({p[0] for p in pos})
    if not scan.nlines:
        return pd.DataFrame(columns=range(width) if usecols is None else usecols, dtype=object)
    ncols = max(width, int(scan.counts.max(initial=0)))
    options = dict(
        sep=delim, header=None, names=range(ncols), usecols=usecols, keep_default_na=False, na_filter=False,
        skip_blank_lines=False, quoting=csv.QUOTE_NONE, engine="c", encoding="utf-8" if enc == "utf-8-sig" else enc,
    )
    num_pos = {i for i, n in enumerate(names) if n in set(numeric or ())} & set(usecols or ())
    data = _read_floats(body, delim, options, usecols, num_pos) if num_pos else None
    if data is None:
        try:
            data = pd.read_csv(io.BytesIO(body), dtype=str, **options)
        except pd.errors.ParserError:  # e.g. every line shorter than the columns asked for
            options["usecols"] = None
            data = pd.read_csv(io.BytesIO(body), dtype=str, **options)
    if len(data) != scan.nlines:  # never expected: the C parser and the line count disagree
        raise BatchFileError(f"lecture de {file_name} incohérente ({len(data)} lignes lues pour {scan.nlines})")
    return data.iloc[:, :width] if usecols is None else data[usecols]


def _read_floats(body: bytes, delim: str, options: dict, usecols, num_pos: set):
    """The columns with the coordinates (*num_pos*) as floats straight from the C parser (its
    round-trip converter: the exact value of each text), or None when one of their cells is not
    a plain number (decimal comma tried first after ``;``)."""
    import pandas as pd

    dtypes = {i: ("float64" if i in num_pos else str) for i in usecols}
    for dec in ((",", ".") if delim == ";" else (".",)):
        try:
            return pd.read_csv(io.BytesIO(body), decimal=dec, float_precision="round_trip", dtype=dtypes, **options)
        except (ValueError, TypeError):
            pass
    return None


# -- writing ------------------------------------------------------------------------------------------
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

    The texts are those of :func:`~cq_geo.bulk.writers.float_texts` (shortest round-trip, '' for
    NaN); values with at most 7 decimals (coordinates, distances) are written
    digit by digit with numpy, the others (rare) one by one as :func:`~cq_geo.bulk.writers.float_texts` does.
    Measured: 0.37 s instead of 1.0 s of CPU for two columns of a million values (14 % of a whole
    100 000-row batch, 25 % of a million-row one).

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
        texts = [float_texts(a, decimal, encoding) for a in arrays]
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
        rows[i] = d + d.join(float_texts([a[i]], decimal, encoding)[0] for a in arrays)
    return rows



def write_csv_passthrough(table: InputTable, new, path, *, decimal: str | None = None, progress=None) -> None:
    """Write the input lines as they are, followed by the columns of *new*: CSV in, CSV out.

    For a CSV without quotes (:attr:`InputTable.body` set), written back with its
    own delimiter and encoding: each input cell is copied byte for byte, except
    cells a spreadsheet could run as a formula (neutralised) and malformed lines
    (padded or cut to the header's width), which are rebuilt field by field.
    *progress*: ``progress(rows written, rows)`` after each chunk of rows.
    """
    if table.body is None or table.header_line is None:
        raise BatchFileError("copie directe impossible : fichier avec guillemets")
    delim = table.delimiter or ";"
    if decimal is None:
        decimal = "," if delim == ";" else "."
    enc = table.encoding or "utf-8"
    piece = "utf-8" if enc == "utf-8-sig" else enc  # the BOM is written once, at the start
    lines = _input_lines(table, delim, piece)
    if len(lines) != len(new):
        raise BatchFileError(f"copie directe incohérente ({len(lines)} lignes pour {len(new)} résultats)")
    header = delim.join(neutralise_strings(table.header_line.split(delim)))
    new_header = quote_csv(neutralise_strings([str(c) for c in new.columns]), delim)
    d = delim.encode(piece)
    nl = table.newline.encode(piece)
    head = d.join([header.encode(piece, errors="replace")] + [h.encode(piece, errors="replace") for h in new_header])
    pieces = _row_pieces(new, delim, decimal, piece) if len(new) else []
    with atomic_path(path) as tmp, open(tmp, "wb") as fh:
        fh.write((b"\xef\xbb\xbf" if enc == "utf-8-sig" else b"") + head + nl)
        _write_rows(fh, lines, _end_pieces(pieces, nl), len(new), delim, decimal, piece, progress)


def _input_lines(table: InputTable, delim: str, encoding: str) -> list:
    """The body's lines as bytes (without their newline), malformed or formula-like ones rebuilt."""
    import numpy as np

    width = len(table.header)
    n = len(table.counts)
    lines = table.body.split(b"\n", n)[:n] if n else []
    if b"\r\n" in table.body:  # CR LF ends a line for the C parser, whatever the header's ending
        lines = [line[:-1] if line.endswith(b"\r") else line for line in lines]
    fix = np.flatnonzero((table.counts != width) | table.danger)
    for i in fix.tolist():
        text = lines[i].decode(encoding)
        fields = text.split(delim) if text else []
        fields = (fields + [""] * width)[:width]
        lines[i] = delim.join(neutralise_text(f) for f in fields).encode(encoding, errors="replace")
    return lines


def _end_pieces(pieces: list, nl: bytes) -> list:
    """*pieces* with the newline at the end of each row (joined to the last combination texts when it can)."""
    import numpy as np

    if pieces and pieces[-1][0] == "combos":
        pieces[-1] = ("combos", np.array([c + nl for c in pieces[-1][1]] + [b""], dtype=object)[:-1], pieces[-1][2])
    else:
        pieces.append(("same", nl, None))
    return pieces


def _write_rows(fh, lines: list, pieces: list, n: int, delim: str, decimal: str, encoding: str, progress) -> None:
    """Each row: its input line followed by a few pieces (each starting with the delimiter),
    by chunks of rows (joined by slices of about a megabyte: cheaper than one join of the whole chunk)."""
    step = 1 + len(pieces)
    for a in range(0, n, _WRITE_ROWS):
        b = min(a + _WRITE_ROWS, n)
        out = [b""] * (step * (b - a))
        out[0::step] = lines[a:b]
        for j, (kind, values, key) in enumerate(pieces, start=1):
            if kind == "combos":
                out[j::step] = values[key[a:b]].tolist()
            elif kind == "same":
                out[j::step] = [values] * (b - a)
            elif kind == "floats":
                out[j::step] = _float_row_bytes([c[a:b] for c in values], delim, decimal, encoding)
            else:
                out[j::step] = values[a:b]
        for i in range(0, len(out), _WRITE_ITEMS):
            fh.write(b"".join(out[i:i + _WRITE_ITEMS]))
        if progress is not None:
            progress(b, n)


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
            combos, key = categorical_combos(block, delimiter, encoding)
            pieces.append(("combos", np.array([d + c for c in combos] + [b""], dtype=object)[:-1], key))
            block.clear()
        if floats:
            pieces.append(("floats", list(floats), None))
            floats.clear()

    for j in range(new.shape[1]):
        s = new.iloc[:, j]
        if low_cardinality(s):
            if floats:
                flush()
            block.append(s)
        elif pd.api.types.is_float_dtype(s.dtype):
            if block:
                flush()
            floats.append(s.to_numpy())
        else:
            flush()
            texts = quote_csv(column_texts(s, decimal), delimiter)
            pieces.append(("rows", [d + t.encode(encoding, errors="replace") for t in texts], None))
    flush()
    return pieces

