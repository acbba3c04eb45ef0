"""Tempo's power-of-two histograms and the quantiles it reads from them, vectorised.

A value v ≥ 2 falls in the bucket whose upper bound is the next power of two ≥ v (durations in
nanoseconds, then shown in seconds; integers as they are). A quantile is read per interval and
series from the buckets that hold spans: the bucket where the rank ceil(p·n) falls, interpolated
exponentially between the previous non-empty bucket's bound and this one's (Log2Quantile).
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

Floats = npt.NDArray[np.float64]
Ints = npt.NDArray[np.int64]


def log2_exponent(values: Ints) -> Ints:
    """For each v ≥ 2: e such that 2**e is the smallest power of two ≥ v (the bit length of v - 1)."""
    below = values.astype(np.int64) - 1
    exponent = np.frexp(below.astype(np.float64))[1].astype(np.int64)
    big = exponent > 53  # the float may have rounded up to the next power of two
    if big.any():
        too_high = (below[big] >> (exponent[big] - 1)) == 0
        exponent[np.flatnonzero(big)[too_high]] -= 1
    return exponent


def bucket_bounds(exponents: Ints, durations: bool) -> Floats:
    """Upper bound of each bucket: 2**e, in seconds for durations (nanoseconds / 1e9)."""
    bounds = np.ldexp(1.0, exponents.astype(np.int32))
    return bounds / 1e9 if durations else bounds


def quantiles_per_cell(cell: Ints, bound: Floats, count: Ints, cells: int, p: float) -> Floats:
    """The p-quantile of every cell (0 where a cell has no spans).

    `cell`, `bound`, `count` describe the non-empty buckets, sorted by cell then bound.
    """
    out = np.zeros(cells, np.float64)
    if not len(cell) or math.isnan(p) or not 0 <= p <= 1:
        return out
    starts = np.flatnonzero(np.r_[True, cell[1:] != cell[:-1]])
    ends = np.r_[starts[1:], len(cell)]
    totals = np.add.reduceat(count, starts)
    want = np.maximum(np.ceil(p * totals.astype(np.float64)).astype(np.int64), 1)
    cum = np.cumsum(count)
    before_cell = cum[starts] - count[starts]
    inclusive = cum - np.repeat(before_cell, ends - starts)  # running count within the cell
    target = np.repeat(want, ends - starts)
    reached = inclusive >= target
    # first bucket of each cell where the running count reaches the wanted rank
    first = np.minimum.reduceat(np.where(reached, np.arange(len(cell)), len(cell)), starts)
    exact = inclusive[first] == want
    prior = first - 1
    has_prior = first > starts
    max_v = _log2(bound[first])
    min_v = np.where(has_prior, _log2(bound[np.maximum(prior, 0)]), max_v - 1)
    consumed = inclusive[first] - count[first]
    interp = (want - consumed) / count[first]
    value = np.where(exact, bound[first], np.power(2.0, min_v + (max_v - min_v) * interp))
    out[cell[starts]] = value
    return out


def _log2(values: Floats) -> Floats:
    """log2 as Go's math.Log2 computes it: exact for powers of two."""
    mantissa, exponent = np.frexp(values)
    return np.where(mantissa == 0.5, exponent - 1.0, np.log(mantissa) * (1 / math.log(2)) + exponent)
