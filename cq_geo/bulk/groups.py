"""Rows grouped by their combination of codes: the batch's rules and writers work once per group."""

from __future__ import annotations

from typing import Any

__all__ = ["combination_key"]


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

