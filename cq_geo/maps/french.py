"""French formatting shared by the map and the eligibility sheet (numbers, dates, plurals, escaping).

>>> fr_date(_dt.date(2026, 11, 1)), plural(2, "commune"), fr_count(158351)
('1er novembre 2026', '2 communes', '158\u202f351')
"""

from __future__ import annotations

import datetime as _dt
import html as _html
from typing import Any

MONTHS = ["janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août", "septembre", "octobre",
          "novembre", "décembre"]


def esc(value: Any) -> str:
    """*value* as text safe in HTML (quotes too)."""
    return _html.escape(str(value), quote=True)


def fr_count(n: int) -> str:
    """French thousands separator (narrow no-break space).

    >>> fr_count(158351)
    '158\\u202f351'
    """
    from ..report import fr_int

    return fr_int(int(n))


def fr_date(day: _dt.date) -> str:
    """A date the French way.

    >>> fr_date(_dt.date(2026, 11, 1))
    '1er novembre 2026'
    """
    return f"{'1er' if day.day == 1 else day.day} {MONTHS[day.month - 1]} {day.year}"


def plural(n: int, word: str, plural: str | None = None) -> str:
    """« 1 commune », « 2 communes » (*plural* when the plural is not *word* + s)."""
    return f"{fr_count(n)} {word if n <= 1 else (plural or word + 's')}"
