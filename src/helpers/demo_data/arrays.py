"""Vectorised helpers over numpy arrays: text concatenation, identifiers, amounts, group ranks.

The sources hold millions of text cells, so text is built from numpy object arrays with
element-wise ``+`` and Python string functions run once per *distinct* value only.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = [
    "cents_to_text",
    "concat",
    "id_width",
    "ids",
    "map_distinct",
    "rank_within_groups",
    "where",
]


def concat(*parts) -> np.ndarray:
    """Concatenate string arrays and plain strings element-wise (object arrays add as str)."""
    result = np.array("", dtype=object)
    for part in parts:
        result = result + np.asarray(part, dtype=object)
    return result


def ids(prefix: str, numbers: np.ndarray, width: int) -> np.ndarray:
    """Identifiers like ``CRM-000123``; widen the zero padding if the numbers need it."""
    numbers = np.asarray(numbers, dtype=np.int64)
    width = id_width(numbers, width)
    text = pd.Series(numbers).astype(str).str.zfill(width).to_numpy(dtype=object)
    return concat(prefix, text)


def id_width(numbers: np.ndarray, minimum: int) -> int:
    """Digits needed for the largest number, at least ``minimum``."""
    return max(minimum, len(str(int(numbers.max())))) if len(numbers) else minimum


def map_distinct(values: np.ndarray, func) -> np.ndarray:
    """Apply a Python string function once per distinct value (names repeat a lot)."""
    values = np.asarray(values, dtype=object)
    distinct, inverse = np.unique(values, return_inverse=True)
    return np.array([func(v) for v in distinct], dtype=object)[inverse.reshape(-1)]


def where(mask: np.ndarray, changed: np.ndarray, original: np.ndarray) -> np.ndarray:
    """``changed`` where ``mask`` is true, else ``original``, as an object array."""
    return np.where(mask, changed, original).astype(object)


def cents_to_text(cents: np.ndarray, decimal_mark: str) -> np.ndarray:
    """Amounts in integer cents as text with two decimals, e.g. ``-4590`` -> ``-45.90``."""
    cents = np.asarray(cents, dtype=np.int64)
    sign = np.where(cents < 0, "-", "").astype(object)
    absolute = np.abs(cents)
    euros = pd.Series(absolute // 100).astype(str).to_numpy(dtype=object)
    suffix = np.array([f"{decimal_mark}{c:02d}" for c in range(100)], dtype=object)
    return concat(sign, euros, suffix[absolute % 100])


def rank_within_groups(group: np.ndarray) -> np.ndarray:
    """0-based position of each element within its run of equal values (input sorted)."""
    n = len(group)
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    is_start = np.ones(n, dtype=bool)
    is_start[1:] = group[1:] != group[:-1]
    start_pos = np.maximum.accumulate(np.where(is_start, np.arange(n), 0))
    return np.arange(n) - start_pos
