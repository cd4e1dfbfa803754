"""Progress bars the French way (tqdm with « Écriture : 45 % … 483 726 lignes/s »).

tqdm writes ``desc: 45%|…| 12/100 [00:01<00:02, 483726.13 lignes/s]``: the
colon, the per cent sign and the rate follow English typography. :func:`tqdm_fr`
gives the same bar with French spacing and numbers.

>>> fr_meter("Écriture: 45%|████▌     | 450/1000 [00:01<00:01, 483726.13 lignes/s]")
'Écriture : 45 %|████▌     | 450/1000 [00:01<00:01, 483\\u202f726 lignes/s]'
>>> fr_meter("lecture BAN: 1.20MB [00:02, 612.35kB/s]")
'lecture BAN : 1,20MB [00:02, 612kB/s]'
"""

from __future__ import annotations

import re

__all__ = ["tqdm_fr", "fr_meter"]

_RATE = re.compile(r"(\d+(?:\.\d+)?)(\s?[^\s\],/]*)/s\]")


def _fr_number(text: str) -> str:
    value = float(text)
    if value >= 100:
        return f"{value:,.0f}".replace(",", "\u202f")
    return f"{value:.1f}".replace(".", ",")


def fr_meter(line: str) -> str:
    """A tqdm status line with French typography."""
    line = re.sub(r"^([^:|\[]+?): ", r"\1 : ", line, count=1)
    line = re.sub(r"(\d+)%\|", r"\1 %|", line, count=1)
    line = _RATE.sub(lambda m: f"{_fr_number(m.group(1))}{m.group(2)}/s]", line)
    line = re.sub(r"(\d+)\.(\d+)([kMG]?B)\b", r"\1,\2\3", line)
    return line


def tqdm_fr(*args, **kwargs):
    """A ``tqdm.tqdm`` whose status line is French (same arguments as tqdm)."""
    from tqdm import tqdm

    class FrenchTqdm(tqdm):
        @staticmethod
        def format_meter(*a, **k):
            return fr_meter(tqdm.format_meter(*a, **k))

    return FrenchTqdm(*args, **kwargs)
