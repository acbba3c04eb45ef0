"""What happens to series after the first function: `topk`/`bottomk`, comparison filters and
arithmetic between pipelines, with Tempo's rules (ast_metrics.go, ast_metrics_math.go).

- `topk(n)` keeps, at every interval, the n highest points (NaN points never count); ties go to
  the series whose label values sort first. A series kept nowhere disappears.
- `> 10` and friends drop the points that fail; a series with no point left disappears.
- `A / B` matches series by their labels (without `__name__`); a side with a single unlabelled
  series applies to every series of the other. Division by zero gives NaN, NaN stays NaN.
"""

from __future__ import annotations

import functools
import math
from typing import Any

import numpy as np
import numpy.typing as npt

from kubespan.metrics.ast import Scalar, SecondStage, SeriesFilter, TopK
from kubespan.metrics.series import NAME_LABEL, Label, Series, SeriesKey, SeriesSet

_TYPE_ORDER = {"int": 3, "double": 4, "string": 5, "nil": 5, "bool": 6}


def apply_second(steps: tuple[SecondStage, ...], series: SeriesSet, intervals: int) -> SeriesSet:
    for step in steps:
        if isinstance(step, TopK):
            series = top_k(series, step.limit, step.op == "bottomk")
        else:
            series = filter_points(series, step)
    return series


def filter_points(series: SeriesSet, step: SeriesFilter) -> SeriesSet:
    compare = {"=": np.equal, "!=": np.not_equal, "<": np.less, "<=": np.less_equal,
               ">": np.greater, ">=": np.greater_equal}[step.op]
    out: SeriesSet = {}
    for key, one in series.items():
        with np.errstate(invalid="ignore"):
            passing = compare(one.values, step.value) & ~np.isnan(one.values)
        if passing.any():
            out[key] = Series(one.labels, np.where(passing, one.values, np.nan), one.exemplars)
    return out


def top_k(series: SeriesSet, limit: int, bottom: bool = False) -> SeriesSet:
    """The `limit` highest (or lowest) points at every interval."""
    if len(series) <= limit:
        return series
    keys = sorted(series, key=functools.cmp_to_key(_compare_keys))  # "less" first
    table = np.vstack([series[key].values for key in keys])
    rank = np.arange(len(keys))
    keep = np.zeros(table.shape, bool)
    for column in range(table.shape[1]):
        values = table[:, column]
        valid = np.flatnonzero(~np.isnan(values))
        if not len(valid):
            continue
        if bottom:
            order = np.lexsort((rank[valid], values[valid]))
        else:
            order = np.lexsort((-rank[valid], -values[valid]))
        keep[valid[order[:limit]], column] = True
    out: SeriesSet = {}
    for row, key in enumerate(keys):
        if keep[row].any():
            one = series[key]
            out[key] = Series(one.labels, np.where(keep[row], table[row], np.nan), one.exemplars)
    return out


def _compare_keys(a: SeriesKey, b: SeriesKey) -> int:
    """Tempo's compareSeriesMapKey: negative if `a` ranks below `b` when values tie."""
    for i in range(max(len(a), len(b))):
        name_a, (type_a, value_a) = a[i] if i < len(a) else ("", ("", None))
        name_b, (type_b, value_b) = b[i] if i < len(b) else ("", ("", None))
        text_a = _string_of(type_a, value_a)
        text_b = _string_of(type_b, value_b)
        if text_a != text_b:
            return 1 if text_a < text_b else -1
        if name_a != name_b:
            return 1 if name_a < name_b else -1
        order_a, order_b = _TYPE_ORDER.get(type_a, 0), _TYPE_ORDER.get(type_b, 0)
        if order_a != order_b:
            return -1 if order_a < order_b else 1
        code_a, code_b = _code_of(type_a, value_a), _code_of(type_b, value_b)
        if code_a != code_b:
            return -1 if code_a < code_b else 1
    return 0


def _string_of(kind: str, value: Any) -> str:
    if kind == "string":
        return str(value)
    return "nil" if kind == "nil" else ""


def _code_of(kind: str, value: Any) -> int:
    if kind == "int":
        return int(value) & (2**64 - 1)
    if kind == "double":
        return int(np.float64(value).view(np.uint64))
    if kind == "bool":
        return int(bool(value))
    return 0


# ---------------------------------------------------------------------- arithmetic
def apply_math(op: str, left: SeriesSet | Scalar, right: SeriesSet | Scalar) -> SeriesSet:
    if isinstance(left, Scalar) and isinstance(right, Scalar):  # folded by the parser; kept for safety
        return {}
    if isinstance(left, Scalar):
        assert not isinstance(right, Scalar)
        return {key: Series(one.labels, _arith(op, np.float64(left.value), one.values)) for key, one in right.items()}
    if isinstance(right, Scalar):
        return {key: Series(one.labels, _arith(op, one.values, np.float64(right.value))) for key, one in left.items()}
    unlabelled: SeriesKey = ()
    target = left if unlabelled in right else right
    out: SeriesSet = {}
    for key in target:
        lhs = left.get(key, left.get(unlabelled))
        rhs = right.get(key, right.get(unlabelled))
        if lhs is None or rhs is None:
            continue
        n = min(len(lhs.values), len(rhs.values))
        out[key] = Series(_merge_labels(op, lhs.labels, rhs.labels), _arith(op, lhs.values[:n], rhs.values[:n]))
    return out


def _arith(op: str, a: Any, b: Any) -> npt.NDArray[np.float64]:
    with np.errstate(divide="ignore", invalid="ignore"):
        if op == "+":
            return np.asarray(a + b, np.float64)
        if op == "-":
            return np.asarray(a - b, np.float64)
        if op == "*":
            return np.asarray(a * b, np.float64)
        result = np.asarray(np.true_divide(a, b), np.float64)
        return np.where(np.asarray(b) == 0, math.nan, result)


def _merge_labels(op: str, left: tuple[Label, ...], right: tuple[Label, ...]) -> tuple[Label, ...]:
    names = {name for name, _ in left}
    out = list(left) + [label for label in right if label[0] != NAME_LABEL and label[0] not in names]
    left_name = dict(left).get(NAME_LABEL)
    right_name = dict(right).get(NAME_LABEL)
    if left_name is None or right_name is None or left_name[0] != "string" or right_name[0] != "string":
        return tuple(label for label in out if label[0] != NAME_LABEL)
    combined = ("string", f"({left_name[1]} {op} {right_name[1]})")
    return tuple((name, combined if name == NAME_LABEL else value) for name, value in out)
