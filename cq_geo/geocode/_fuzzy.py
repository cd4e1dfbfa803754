"""Fuzzy string scores: rapidfuzz when installed (fast), else a pure-Python stand-in (difflib).

QGIS on Windows does not ship rapidfuzz; the plugin must still geocode, only
slower. The stand-in gives the same kind of 0-100 scores (``ratio``: edit
similarity; ``WRatio``: the best of ratio, token-set and partial scores) and
the same ``extract`` results shape ``(choice, score, index)``.

>>> fuzz, process = get()
>>> round(fuzz.ratio("essais", "esais"))
91
>>> [c for c, _, _ in process.extract("essai", ["essais", "gare"], scorer=fuzz.ratio, limit=2, score_cutoff=50)]
['essais']
>>> _Fuzz.ratio("rue essais", "rue esais") == _Fuzz.ratio("rue essais", "rue esais")
True
"""

from __future__ import annotations

from difflib import SequenceMatcher

__all__ = ["get"]


def get():
    """``(fuzz, process)``: rapidfuzz's modules, or the pure-Python stand-ins."""
    try:
        from rapidfuzz import fuzz, process

        return fuzz, process
    except ImportError:
        return _Fuzz, _Process


class _Fuzz:
    @staticmethod
    def ratio(a: str, b: str, **_) -> float:
        if not a and not b:
            return 100.0
        return 100.0 * SequenceMatcher(None, a, b, autojunk=False).ratio()

    @staticmethod
    def WRatio(a: str, b: str, **_) -> float:  # noqa: N802 - rapidfuzz's name
        if not a or not b:
            return 0.0
        base = _Fuzz.ratio(a, b)
        ta, tb = set(a.split()), set(b.split())
        inter = " ".join(sorted(ta & tb))
        rest_a, rest_b = " ".join(sorted(ta - tb)), " ".join(sorted(tb - ta))
        token_set = max(_Fuzz.ratio(inter, f"{inter} {rest_a}".strip()), _Fuzz.ratio(inter, f"{inter} {rest_b}".strip()),
                        _Fuzz.ratio(f"{inter} {rest_a}".strip(), f"{inter} {rest_b}".strip())) if inter else 0.0
        short, long_ = (a, b) if len(a) <= len(b) else (b, a)
        partial = 0.0
        if len(long_) >= 1.5 * len(short):
            m = SequenceMatcher(None, short, long_, autojunk=False)
            for block in m.get_matching_blocks():
                start = max(0, block.b - block.a)
                partial = max(partial, _Fuzz.ratio(short, long_[start:start + len(short)]))
            partial *= 0.9
        return max(base, token_set * 0.95, partial)


class _Process:
    @staticmethod
    def extract(query: str, choices, scorer=_Fuzz.ratio, limit: int = 5, score_cutoff: float = 0.0):
        scored = []
        for i, choice in enumerate(choices):
            s = scorer(query, choice)
            if s >= score_cutoff:
                scored.append((choice, s, i))
        scored.sort(key=lambda t: (-t[1], t[2]))
        return scored[:limit]

    @staticmethod
    def extractOne(query: str, choices, scorer=_Fuzz.ratio, score_cutoff: float = 0.0):  # noqa: N802
        found = _Process.extract(query, choices, scorer=scorer, limit=1, score_cutoff=score_cutoff)
        return found[0] if found else None
