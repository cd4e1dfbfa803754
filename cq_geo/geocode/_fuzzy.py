"""Fuzzy string scores, identical with rapidfuzz (fast) and without it (pure Python, slower).

QGIS on Windows and Debian's system Python do not ship rapidfuzz; the plugin
must still geocode, with the **same answers**. So every score the geocoder
uses is defined here from one measure, the *Indel similarity*
``100 × (1 − (insertions + deletions) / (len(a) + len(b)))`` (rapidfuzz's
``fuzz.ratio``). With rapidfuzz it is computed by ``rapidfuzz.fuzz.ratio``;
without it by a bit-parallel longest-common-subsequence in pure Python (the
same number, not an approximation). Scores are rounded to 6 decimals so the
two backends compare and sort alike; ties are broken by position.

>>> round(ratio("essais", "esais"), 2)
90.91
>>> [c for c, _, _ in extract("essai", ["essais", "gare"], limit=2, score_cutoff=50)]
['essais']
>>> token_ratio("jaures jean", "jean jaures")
100.0
>>> use_rapidfuzz(False); r = ratio("abbe lemire", "abbe lemir"); use_rapidfuzz(True)
>>> r == ratio("abbe lemire", "abbe lemir")
True
"""

from __future__ import annotations

__all__ = ["ratio", "token_ratio", "extract", "use_rapidfuzz", "backend"]

_rf_ratio = None
_rf_extract = None
_enabled = True


def _load() -> None:
    global _rf_ratio, _rf_extract
    try:
        from rapidfuzz import fuzz, process

        _rf_ratio, _rf_extract = fuzz.ratio, process.extract
    except ImportError:
        _rf_ratio = _rf_extract = False


def use_rapidfuzz(enabled: bool = True) -> None:
    """Use rapidfuzz when installed (default), or force the pure-Python scores (tests, benchmarks)."""
    global _enabled
    _enabled = bool(enabled)


def backend() -> str:
    """``"rapidfuzz"`` or ``"python"``: what computes the scores now."""
    if _rf_ratio is None:
        _load()
    return "rapidfuzz" if (_enabled and _rf_ratio) else "python"


def _lcs(a: str, b: str) -> int:
    """Length of the longest common subsequence (Hyyrö's bit-parallel algorithm)."""
    if len(a) < len(b):
        a, b = b, a
    if not b:
        return 0
    masks: dict[str, int] = {}
    bit = 1
    for ch in a:
        masks[ch] = masks.get(ch, 0) | bit
        bit <<= 1
    full = (1 << len(a)) - 1
    s = full
    for ch in b:
        m = masks.get(ch)
        if m:
            u = s & m
            s = ((s + u) | (s - u)) & full
    return len(a) - bin(s).count("1")


def _py_ratio(a: str, b: str) -> float:
    total = len(a) + len(b)
    if not total:
        return 100.0
    return round(100.0 * 2 * _lcs(a, b) / total, 6)


def ratio(a: str, b: str) -> float:
    """Indel similarity of *a* and *b*, 0–100 (rapidfuzz's ``fuzz.ratio``), rounded to 6 decimals."""
    if _rf_ratio is None:
        _load()
    if _enabled and _rf_ratio:
        if not a and not b:
            return 100.0
        return round(_rf_ratio(a, b), 6)
    return _py_ratio(a, b)


def token_ratio(a: str, b: str) -> float:
    """The best of the plain ratio, the ratio of the sorted words, and 95 % of the word-set ratio.

    Words typed in another order ("Jaurès Jean") or one word more or less
    ("rue du docteur Schweitzer" for "rue Schweitzer") still score high.

    >>> token_ratio("docteur schweitzer", "schweitzer") >= 90
    True
    """
    best = ratio(a, b)
    ta, tb = a.split(), b.split()
    if len(ta) > 1 or len(tb) > 1:
        best = max(best, ratio(" ".join(sorted(ta)), " ".join(sorted(tb))))
        sa, sb = set(ta), set(tb)
        inter = sa & sb
        if inter:
            i = " ".join(sorted(inter))
            ra, rb = " ".join(sorted(sa - sb)), " ".join(sorted(sb - sa))
            ia, ib = f"{i} {ra}".strip(), f"{i} {rb}".strip()
            best = max(best, round(0.95 * max(ratio(i, ia), ratio(i, ib), ratio(ia, ib)), 6))
    return best


def extract(query: str, choices: list[str], limit: int = 5, score_cutoff: float = 0.0,
            scorer=None) -> list[tuple[str, float, int]]:
    """The *limit* best ``(choice, score, index)`` scoring at least *score_cutoff*, best first, ties by index.

    *scorer* defaults to :func:`ratio` (fast path through rapidfuzz when installed);
    any other scorer of this module is applied choice by choice.
    """
    if _rf_ratio is None:
        _load()
    if (scorer is None or scorer is ratio) and _enabled and _rf_extract:
        found = _rf_extract(query, choices, scorer=_rf_ratio, limit=None, score_cutoff=max(0.0, score_cutoff - 0.01))
        scored = [(c, round(s, 6), i) for c, s, i in found]
        scored = [t for t in scored if t[1] >= score_cutoff]
    else:
        score = scorer or ratio
        scored = []
        for i, c in enumerate(choices):
            s = score(query, c)
            if s >= score_cutoff:
                scored.append((c, s, i))
    scored.sort(key=lambda t: (-t[1], t[2]))
    return scored[:limit]
