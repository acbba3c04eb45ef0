"""Typed TraceQL values for many spans at once: `values.py`'s operators over numpy columns.

A `Column` holds one typed value per span: a type code per span, the integer payload (int,
duration, bool as 0/1, status and kind codes; for a string, a number naming where it came from,
equal numbers meaning equal strings, or -1), the float payload and the strings. The
operators below give, span for span, what `values.binary`/`values.unary` give for the same
pair of values: each pair of operand types present is handled by the branch Tempo's
`BinaryOperation.execute` takes for it. Where numpy and Python could disagree (arrays,
integer division at int64's edge, a float division by zero of NaN, `-` of the smallest
duration) the span is marked `odd`, and the caller evaluates it span by span instead.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from kubespan.query.regex import compile_regex
from kubespan.query.values import NIL, matching, typed, types_valid

NIL_T, INT, FLOAT, DURATION, STR, BOOL, STATUS, KIND, ARR = range(9)
TYPE_NAMES = ("nil", "int", "float", "duration", "str", "bool", "status", "kind", "arr")
TYPE_CODES = {name: code for code, name in enumerate(TYPE_NAMES)}
STATUS_NAMES = ("unset", "ok", "error")
KIND_NAMES = ("unspecified", "internal", "server", "client", "producer", "consumer")
INT64_MIN = np.iinfo(np.int64).min
_NUMERIC = (INT, FLOAT, DURATION)

Bools = npt.NDArray[np.bool_]
Ints = npt.NDArray[np.int64]


@dataclass(slots=True)
class Column:
    """One typed value per span (see the module docstring); `odd` spans need the span-by-span path."""

    type: npt.NDArray[np.int8]
    num: Ints
    real: npt.NDArray[np.float64]
    text: npt.NDArray[np.object_]
    odd: Bools

    def __len__(self) -> int:
        return len(self.type)

    def take(self, index: Any) -> Column:
        return Column(self.type[index], self.num[index], self.real[index], self.text[index], self.odd[index])

    def needs_python(self) -> Bools:
        """Spans whose value the columns cannot carry (arrays) or may have got wrong."""
        needed: Bools = self.odd | (self.type == ARR)
        return needed

    def value(self, i: int) -> tuple[str, Any]:
        """Span i's value as a `values` tuple (not for arrays)."""
        code = int(self.type[i])
        if code in (INT, DURATION):
            return (TYPE_NAMES[code], int(self.num[i]))
        if code == FLOAT:
            return ("float", float(self.real[i]))
        if code == STR:
            return ("str", self.text[i])
        if code == BOOL:
            return ("bool", bool(self.num[i]))
        if code == STATUS:
            return ("status", STATUS_NAMES[int(self.num[i])])
        if code == KIND:
            return ("kind", KIND_NAMES[int(self.num[i])])
        return NIL


def empty(n: int) -> Column:
    """n nil values."""
    return Column(np.zeros(n, np.int8), np.zeros(n, np.int64), np.zeros(n, np.float64),
                  np.empty(n, object), np.zeros(n, bool))


def constant(value: tuple[str, Any], n: int) -> Column:
    """n copies of one `values` tuple."""
    column = empty(n)
    put(column, slice(None), value)
    return column


def put(column: Column, where: Any, value: tuple[str, Any]) -> None:
    """Store one `values` tuple at `where` (an index, slice or mask)."""
    type_, python = value
    if type_ == "arr":
        column.type[where] = ARR
        return
    code = TYPE_CODES[type_]
    column.type[where] = code
    if code in (INT, DURATION):
        column.num[where] = python
    elif code == BOOL:
        column.num[where] = int(python)
    elif code == FLOAT:
        column.real[where] = python
    elif code == STR:
        column.text[where], column.num[where] = python, -1
    elif code == STATUS:
        column.num[where] = STATUS_NAMES.index(python)
    elif code == KIND:
        column.num[where] = KIND_NAMES.index(python)


def from_values(values: Sequence[tuple[str, Any]]) -> Column:
    """A column of `values` tuples (arrays are kept as ARR: `needs_python`)."""
    n = len(values)
    types = np.fromiter((TYPE_CODES[type_] for type_, _ in values), np.int8, n)
    num = np.zeros(n, np.int64)
    real = np.zeros(n, np.float64)
    text = np.empty(n, object)
    for code in np.unique(types).tolist():
        where = np.flatnonzero(types == code)
        items = [values[i][1] for i in where.tolist()]
        if code in (INT, DURATION, BOOL):
            num[where] = np.array(items, np.int64) if code != BOOL else np.array(items, bool)
        elif code == FLOAT:
            real[where] = items
        elif code == STR:
            text[where], num[where] = np.array(items + [None], object)[:-1], -1
        elif code in (STATUS, KIND):
            names = STATUS_NAMES if code == STATUS else KIND_NAMES
            num[where] = [names.index(item) for item in items]
    return Column(types, num, real, text, np.zeros(n, bool))


def from_python(values: Sequence[Any]) -> Column:
    """A column of attribute values as Python objects (`values.typed` of each)."""
    return from_values([typed(value) for value in values])


def concat(parts: Sequence[Column]) -> Column:
    if not parts:
        return empty(0)
    return Column(*(np.concatenate([getattr(p, name) for p in parts]) for name in Column.__slots__))


def codes(types: npt.NDArray[np.int8], num: Ints, names: Sequence[str], type_: int) -> None:
    """Mark status/kind codes outside their names as nil, as `fields.field_value` does."""
    bad = (num < 0) | (num >= len(names))
    types[:] = np.where(bad, NIL_T, type_)


def is_true(column: Column) -> Bools:
    """`values.is_true` per span."""
    true: Bools = (column.type == BOOL) & (column.num == 1)
    return true


def storage_typed(column: Column, want: int) -> Column:
    """An attribute compared with a number literal sees only values of the literal's storage type."""
    wrong = ((column.type == INT) | (column.type == FLOAT)) & (column.type != want)
    if not wrong.any():
        return column
    return Column(np.where(wrong, np.int8(NIL_T), column.type), column.num, column.real, column.text, column.odd)


# ------------------------------------------------------------------ binary operators


def binary(op: str, left: Column, right: Column) -> Column:
    """`values.binary(op, l, r)` for every span."""
    n = len(left)
    out = empty(n)
    out.odd = left.odd | right.odd
    pairs = left.type.astype(np.int16) * 16 + right.type
    present = np.flatnonzero(np.bincount(pairs, minlength=256))
    for pair in present.tolist():
        where: Any = slice(None) if len(present) == 1 else np.flatnonzero(pairs == pair)
        lt, rt = divmod(pair, 16)
        _pair(op, lt, rt, left, right, out, where)
    return out


def _pair(op: str, lt: int, rt: int, left: Column, right: Column, out: Column, where: Any) -> None:
    if ARR in (lt, rt):
        out.odd[where] = True
        return
    if not matching(TYPE_NAMES[lt], TYPE_NAMES[rt]) or not types_valid(op, TYPE_NAMES[lt], TYPE_NAMES[rt]):
        _bools(out, where, False)
        return
    if lt == rt == STR and op not in ("=", "!="):
        a, b = left.text[where], right.text[where]
        if op in ("=~", "!~"):
            hits = [compile_regex(y, 1).matches(x) for x, y in zip(a.tolist(), b.tolist())]
            _bools(out, where, np.array(hits, bool) == (op == "=~"))
        else:
            _bools(out, where, np.asarray(_ORDER[op](a, b), bool))
        return
    if lt == rt == INT:
        _integers(op, left.num[where], right.num[where], out, where)
        return
    if lt == rt == BOOL and op in ("&&", "||"):
        a, b = left.num[where] == 1, right.num[where] == 1
        _bools(out, where, (a & b) if op == "&&" else (a | b))
        return
    _fallback(op, lt, rt, left.take(where), right.take(where), out, where)


_ORDER: dict[str, Callable[[Any, Any], Any]] = {"<": np.less, "<=": np.less_equal, ">": np.greater,
                                                ">=": np.greater_equal, "=": np.equal, "!=": np.not_equal}


def _bools(out: Column, where: Any, values: Any) -> None:
    out.type[where] = BOOL
    out.num[where] = values


def _integers(op: str, a: Ints, b: Ints, out: Column, where: Any) -> None:
    if op in _ORDER:
        _bools(out, where, _ORDER[op](a, b))
        return
    out.type[where] = INT
    if op == "+":
        out.num[where] = a + b
    elif op == "-":
        out.num[where] = a - b
    elif op == "*":
        out.num[where] = a * b
    elif op in ("/", "%"):
        edge = (a == INT64_MIN) | (b == INT64_MIN)
        if edge.any():
            _mark(out, where, edge)
        safe = np.where(b == 0, 1, b)
        quotient = np.abs(a) // np.abs(safe) * np.where((a >= 0) == (safe >= 0), 1, -1)
        out.num[where] = quotient if op == "/" else a - safe * quotient
        out.type[where] = np.where(b == 0, np.int8(NIL_T), np.int8(INT))
    elif op == "^":
        with np.errstate(all="ignore"):
            power = np.power(a.astype(np.float64), b.astype(np.float64))
        bad = ~np.isfinite(power) | (np.abs(power) >= 2.0**63)
        out.num[where] = np.where(bad, INT64_MIN, np.where(bad, 0, power).astype(np.int64))
    else:
        out.type[where] = BOOL  # && || between ints: Tempo's catch-all says false
        out.num[where] = 0


def _mark(out: Column, where: Any, flags: Bools) -> None:
    """Set `odd` on the spans of `where` whose flag is set."""
    if isinstance(where, slice):
        out.odd[where] |= flags
    else:
        out.odd[where[flags]] = True


def _floats(column: Column, code: int) -> npt.NDArray[np.float64]:
    return column.real if code == FLOAT else column.num.astype(np.float64)


def _fallback(op: str, lt: int, rt: int, left: Column, right: Column, out: Column, where: Any) -> None:
    """Tempo's catch-all: arithmetic and ordering as float64, `=`/`!=` by `Static.Equals`."""
    if op in ("=", "!="):
        if NIL_T in (lt, rt):
            _bools(out, where, False)
            return
        if FLOAT in (lt, rt):
            equal = _floats(left, lt) == _floats(right, rt)
        elif lt == rt == STR:
            equal = np.asarray(np.equal(left.text, right.text), bool)
        else:
            equal = left.num == right.num
        _bools(out, where, equal if op == "=" else ~equal)
        return
    if lt not in _NUMERIC or rt not in _NUMERIC:
        _bools(out, where, False)
        return
    a, b = _floats(left, lt), _floats(right, rt)
    if op in _ORDER:
        _bools(out, where, _ORDER[op](a, b))
        return
    out.type[where] = FLOAT
    with np.errstate(all="ignore"):
        if op == "+":
            result = a + b
        elif op == "-":
            result = a - b
        elif op == "*":
            result = a * b
        elif op == "/":
            _mark(out, where, (b == 0) & np.isnan(a))  # Python: copysign(inf, nan)
            result = a / b
        elif op == "%":
            result = np.fmod(a, b)
        elif op == "^":
            result = np.power(a, b)
            result[np.isinf(result) & np.isfinite(a) & np.isfinite(b)] = np.nan  # math.pow raises: nan
        else:
            _bools(out, where, False)
            return
    out.real[where] = result


# ------------------------------------------------------------------ unary operators


def unary(op: str, column: Column) -> Column:
    """`values.unary(op, v)` for every span (`exists`/`not_exists` of a value, not of a field)."""
    n = len(column)
    types = column.type
    out = empty(n)
    out.odd = column.odd | (types == ARR)
    if op in ("exists", "not_exists"):
        _bools(out, slice(None), (types != NIL_T) == (op == "exists"))
    elif op == "!":
        boolean = types == BOOL
        out.type[:] = np.where(boolean, np.int8(BOOL), np.int8(NIL_T))
        out.num[:] = np.where(boolean, 1 - column.num, 0)
    elif op == "-":
        out.type[:] = np.where(np.isin(types, _NUMERIC), types, np.int8(NIL_T))
        out.num[:] = -column.num
        out.real[:] = -column.real
        out.odd |= (types == DURATION) & (column.num == INT64_MIN)  # Python's int does not wrap there
    else:
        raise ValueError(f"unknown unary operator {op}")
    return out
