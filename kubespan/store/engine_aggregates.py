"""Per-spanset aggregates and by() keys over numpy columns, for `engine_pipeline`."""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from kubespan.query import columns as col
from kubespan.query.columns import Column

Ints = npt.NDArray[np.int64]
Bools = npt.NDArray[np.bool_]


def vector_aggregate(op: str, values: Column, set_: Ints, use: Bools, first: Ints, set_type: Ints,
                      n: int) -> Column:
    """sum/avg/min/max per spanset over the spans flagged `use` (one numeric type per spanset)."""
    out = col.empty(n)
    counts = np.bincount(set_[use], minlength=n)
    real = (set_type == col.FLOAT) & (counts > 0)
    whole = np.isin(set_type, (col.INT, col.DURATION)) & (counts > 0)
    out.type[whole | real] = set_type[whole | real]
    is_real = use & (values.type == col.FLOAT)
    is_whole = use & ~is_real
    if op in ("sum", "avg"):
        total = np.zeros(n, np.int64)
        np.add.at(total, set_[is_whole], values.num[is_whole])
        acc = np.zeros(n)
        acc[real] = values.real[first[real]]  # Python adds to the first value, left to right
        rest = is_real & (np.arange(len(set_)) != first[set_])
        with np.errstate(over="ignore", invalid="ignore"):  # inf and nan, as Python's floats give them
            np.add.at(acc, set_[rest], values.real[rest])
        if op == "sum":
            out.num[whole], out.real[real] = total[whole], acc[real]
            return out
        count = np.maximum(counts, 1)
        with np.errstate(over="ignore", invalid="ignore"):
            out.real[real] = acc[real] / count[real]
        ints = whole & (set_type == col.INT)
        out.type[ints], out.real[ints] = col.FLOAT, total[ints] / count[ints]
        durations = whole & (set_type == col.DURATION)
        quotient = np.abs(total) // count * np.where(total >= 0, 1, -1)
        out.num[durations] = quotient[durations]
        return out
    ufunc = np.minimum if op == "min" else np.maximum
    extreme = np.iinfo(np.int64).max if op == "min" else np.iinfo(np.int64).min
    best = np.full(n, extreme, np.int64)
    ufunc.at(best, set_[is_whole], values.num[is_whole])
    best_real = np.full(n, np.inf if op == "min" else -np.inf)
    ufunc.at(best_real, set_[is_real], values.real[is_real])
    out.num[whole], out.real[real] = best[whole], best_real[real]
    return out


def aggregate_holds(op: str, values: Column, want: tuple[str, Any]) -> Bools:
    """`spansets.scalar_true` per spanset."""
    wanted = col.constant(want, len(values))
    if op in ("=", "!="):
        equal = col.is_true(col.binary("=", values, wanted))
        return equal if op == "=" else ~equal
    numeric = np.isin(values.type, (col.INT, col.DURATION))
    floats = np.where(values.type == col.FLOAT, values.real, np.where(numeric, values.num, np.nan))
    return np.asarray(col.binary(op, _float_column(floats), _float_column(np.full(len(values), float(want[1])))).num,
                      bool)


def _float_column(values: npt.NDArray[np.float64]) -> Column:
    n = len(values)
    return Column(np.full(n, col.FLOAT, np.int8), np.zeros(n, np.int64), values, np.empty(n, object),
                  np.zeros(n, bool))


def group_keys(values: Column) -> tuple[Ints, Ints]:
    """(type, payload) per span: equal exactly when `map_key` of the values is equal (not for arrays, NaN)."""
    kind = values.type.astype(np.int64)
    key = np.where(np.isin(values.type, (col.NIL_T, col.FLOAT, col.STR)), 0, values.num)
    floats = np.flatnonzero(values.type == col.FLOAT)
    key[floats] = (values.real[floats] + 0.0).view(np.int64)  # -0.0 groups with 0.0, as Python's == has it
    strings = np.flatnonzero(values.type == col.STR)
    if len(strings):
        codes: dict[str, int] = {}
        known = values.num[strings] >= 0  # where the string came from names it: one dict entry per source
        sources, first, inverse = np.unique(values.num[strings[known]], return_index=True, return_inverse=True)
        texts = values.text[strings[known]][first].tolist()
        key[strings[known]] = np.array([codes.setdefault(t, len(codes)) for t in texts], np.int64)[inverse]
        unknown = strings[~known]
        key[unknown] = [codes.setdefault(t, len(codes)) for t in values.text[unknown].tolist()]
    return kind, key


def group_order(set_: Ints, kind: Ints, key: Ints) -> Ints:
    """A stable order of the spans by (spanset, kind, key): one argsort of a combined key when the
    kinds agree and the keys' range allows it, else a lexsort."""
    n = len(set_)
    if n and (kind == kind[0]).all():
        low, high = int(key.min()), int(key.max())
        width = high - low + 1
        if width * (int(set_[-1]) + 1) < 1 << 62:  # set_ is non-decreasing: its last is its largest
            return np.argsort(set_ * width + (key - low), kind="stable")
    return np.lexsort((key, kind, set_))
