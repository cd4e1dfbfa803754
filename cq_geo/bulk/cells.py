"""Spreadsheet cell safety shared by the CSV/XLSX writers (:mod:`cq_geo.bulk.writers`, :mod:`cq_geo.bulk.fastcsv`, :mod:`cq_geo.bulk.xlsx`).

A text a spreadsheet would run as a formula gets a leading ``'``; XLSX cannot hold most
control characters. Standard library only.
"""

from __future__ import annotations

import re

__all__ = ["DANGER_RE", "ILLEGAL_XLSX", "neutralise_text", "xlsx_text"]

_DANGER = ("=", "+", "-", "@", "\t", "\r")
_NUMBER = re.compile(r"[+-]?(?:\d+(?:[.,]\d*)?|[.,]\d+)(?:[eE][+-]?\d+)?")
#: Control characters a spreadsheet drops or shows as nothing (all but tab, LF, CR); XLSX cannot hold them.
_CONTROL = "".join(chr(c) for c in range(32) if chr(c) not in "\t\n\r")
#: A cell (in a NUL-joined column) that may start a formula, leading control characters skipped.
DANGER_RE = re.compile(r"(?:^|\x00)[\x00-\x08\x0b\x0c\x0e-\x1f]*[=+\-@\t\r]")
#: Characters an XLSX cell cannot hold.
ILLEGAL_XLSX = re.compile(r"[\000-\010]|[\013-\014]|[\016-\037]")


def neutralise_text(value: str) -> str:
    r"""Prefix with ``'`` a text a spreadsheet would run as a formula; numbers are left alone.

    Leading control characters (NUL…), which a spreadsheet drops before reading
    the cell, are removed first from such a cell: ``"\x00=1+1"`` gives ``"'=1+1"``.

    >>> neutralise_text("\x00=1+1"), neutralise_text("\x01abc")
    ("'=1+1", '\x01abc')
    """
    if not value:
        return value
    if value[0] in _CONTROL:
        core = value.lstrip(_CONTROL)
        if core and core[0] in _DANGER and not _NUMBER.fullmatch(core):
            return "'" + core
        return value
    if value[0] in _DANGER and not _NUMBER.fullmatch(value):
        return "'" + value
    return value


def xlsx_text(value: str) -> str:
    """Text for an XLSX cell: neutralised, without the control characters XLSX cannot hold.

    >>> xlsx_text("=a\\x00b")
    "'=ab"
    """
    return neutralise_text(ILLEGAL_XLSX.sub("", value))
