"""Typed TraceQL values and the operators over them, as Tempo's `BinaryOperation.execute` runs them.

A value is a `(type, python value)` pair: `int` (int64, wrapping), `float`, `str`, `bool`,
`duration` (ns), `status`/`kind` (their TraceQL names), `nil`, or `arr` (a list of typed
values: an array attribute, or the values of a field over a span's events or links).
Operand types are checked first: mismatched types give `false`, never an error. On arrays
every operator matches when any element does, `!=` and `!~` included (a real Tempo answers
`{ span.tags != "web" }` with a span tagged `["web", "canary"]`).
"""

from __future__ import annotations

import math
from typing import Any

from kubespan.query.regex import compile_regex

Value = tuple[str, Any]
"""A typed TraceQL value: its type name and its Python value (see above)."""

NIL: Value = ("nil", None)
TRUE: Value = ("bool", True)
FALSE: Value = ("bool", False)
NUMERIC = ("int", "float", "duration")
BOOLEAN_OPS = ("&&", "||", "=", "!=", "=~", "!~", "<", "<=", ">", ">=")
_VALID = {
    "bool": {"&&", "||", "=", "!="},
    "num": {"+", "-", "*", "/", "%", "^", "=", "!=", "<", "<=", ">", ">="},
    "str": {"=", "!=", "=~", "!~", "<", "<=", ">", ">="},
    "other": {"=", "!="},
}


def typed(value: Any) -> Value:
    """An attribute's Python value as a typed value (bytes and maps are not TraceQL values)."""
    if isinstance(value, bool):
        return ("bool", value)
    if isinstance(value, int):
        return ("int", value)
    if isinstance(value, float):
        return ("float", value)
    if isinstance(value, str):
        return ("str", value)
    if isinstance(value, list):
        items = [item for item in map(typed, value) if item[0] not in ("nil", "arr")]
        if len(items) <= 1:  # Tempo's storage keeps a one-element array as its element
            return items[0] if items else NIL
        return ("arr", items)
    return NIL


def matching(left: str, right: str) -> bool:
    """Tempo's `isMatchingOperand` ("attribute" is a type known only at run time)."""
    if "attribute" in (left, right) or left == right or "nil" in (left, right):
        return True
    return left in NUMERIC and right in NUMERIC


def type_class(type_: str) -> str:
    if type_ in NUMERIC:
        return "num"
    return type_ if type_ in ("bool", "str") else "other"


def types_valid(op: str, left: str, right: str) -> bool:
    """Tempo's `binaryTypesValid`."""
    return all(t == "attribute" or op in _VALID[type_class(t)] for t in (left, right))


def wrap64(number: int) -> int:
    return ((number + (1 << 63)) % (1 << 64)) - (1 << 63)


def as_float(value: Value) -> float:
    return float(value[1]) if value[0] in NUMERIC else math.nan


def equals(left: Value, right: Value) -> bool:
    """Tempo's `Static.Equals`: nil equals nothing; numbers across int, float and duration."""
    lt, rt = left[0], right[0]
    if lt == "nil" or rt == "nil":
        return False
    if lt in NUMERIC and rt in NUMERIC:
        if lt == "float" or rt == "float":
            return as_float(left) == as_float(right)
        same: bool = left[1] == right[1]
        return same
    return lt == rt and left[1] == right[1]


def binary(op: str, left: Value, right: Value) -> Value:
    lt, rt = left[0], right[0]
    if lt == "arr" or rt == "arr":
        return _array(op, left, right)
    if not matching(lt, rt) or not types_valid(op, lt, rt):
        return FALSE
    if lt == "str" and rt == "str":
        a, b = left[1], right[1]
        if op in ("=~", "!~"):
            return ("bool", compile_regex(b, 1).matches(a) == (op == "=~"))
        compare = _COMPARE.get(op)
        if compare is not None and op not in ("=", "!="):
            return ("bool", compare(a, b))
    elif lt == "int" and rt == "int":
        return _integers(op, left[1], right[1])
    elif lt == "bool" and rt == "bool" and op in ("&&", "||"):
        return ("bool", (left[1] and right[1]) if op == "&&" else (left[1] or right[1]))
    return _fallback(op, left, right)


def _integers(op: str, a: int, b: int) -> Value:
    if op == "+":
        return ("int", wrap64(a + b))
    if op == "-":
        return ("int", wrap64(a - b))
    if op == "*":
        return ("int", wrap64(a * b))
    if op in ("/", "%"):
        if b == 0:
            return NIL  # Tempo fails the query ("division by zero"); here the span does not match
        quotient = abs(a) // abs(b) * (1 if (a >= 0) == (b >= 0) else -1)
        return ("int", wrap64(quotient)) if op == "/" else ("int", a - b * quotient)
    if op == "^":
        return ("int", _int_power(a, b))
    if op in ("=", "!="):
        return ("bool", (a == b) == (op == "="))
    return ("bool", _COMPARE[op](a, b))


def _int_power(base: int, exponent: int) -> int:
    """`int(math.Pow(float64(base), float64(exponent)))` as Go computes it."""
    try:
        result = math.pow(base, exponent)
    except (OverflowError, ValueError):
        return -(1 << 63)
    if math.isnan(result) or math.isinf(result) or abs(result) >= 2**63:
        return -(1 << 63)
    return int(result)


def _fallback(op: str, left: Value, right: Value) -> Value:
    """Tempo's catch-all: arithmetic and ordering as float64, `=`/`!=` by `Equals`."""
    if op == "=":
        return ("bool", equals(left, right))
    if op == "!=":
        return ("bool", left[0] != "nil" and right[0] != "nil" and not equals(left, right))
    a, b = as_float(left), as_float(right)
    if op in _COMPARE:
        return ("bool", _COMPARE[op](a, b))
    try:
        if op == "+":
            return ("float", a + b)
        if op == "-":
            return ("float", a - b)
        if op == "*":
            return ("float", a * b)
        if op == "/":
            return ("float", a / b if b else (math.copysign(math.inf, a) * math.copysign(1, b) if a else math.nan))
        if op == "%":
            return ("float", math.fmod(a, b) if b else math.nan)
        if op == "^":
            return ("float", math.pow(a, b))
    except (OverflowError, ValueError):
        return ("float", math.nan)
    return FALSE


def _array(op: str, left: Value, right: Value) -> Value:
    """An array against a scalar: true when any element satisfies the operator."""
    if op not in BOOLEAN_OPS or (left[0] == "arr" and right[0] == "arr"):
        return FALSE
    if left[0] == "arr":
        items, scalar, flipped = left[1], right, False
    else:
        items, scalar, flipped = right[1], left, True
    for item in items:
        result = binary(op, scalar, item) if flipped else binary(op, item, scalar)
        if result == TRUE:
            return TRUE
    return FALSE


_COMPARE = {"<": lambda a, b: a < b, "<=": lambda a, b: a <= b, ">": lambda a, b: a > b,
            ">=": lambda a, b: a >= b, "=": lambda a, b: a == b, "!=": lambda a, b: a != b}


def unary(op: str, value: Value) -> Value:
    type_ = value[0]
    if op == "exists":
        return ("bool", type_ != "nil")
    if op == "not_exists":
        return ("bool", type_ == "nil")
    if op == "!":
        return ("bool", not value[1]) if type_ == "bool" else NIL
    if op == "-":
        if type_ == "int":
            return ("int", wrap64(-value[1]))
        if type_ in ("float", "duration"):
            return (type_, -value[1])
        return NIL
    raise ValueError(f"unknown unary operator {op}")


def go_duration(nanos: int) -> str:
    """A duration as Go's `time.Duration.String` writes it (`1.5s`, `499.444444ms`, `1h0m0s`)."""
    if nanos == 0:
        return "0s"
    sign, value = ("-" if nanos < 0 else ""), abs(nanos)
    if value < 1000:
        return f"{sign}{value}ns"
    if value < 1_000_000:
        return f"{sign}{_fraction(value, 1000)}µs"
    if value < 1_000_000_000:
        return f"{sign}{_fraction(value, 1_000_000)}ms"
    hours, rest = divmod(value, 3_600_000_000_000)
    minutes, rest = divmod(rest, 60_000_000_000)
    prefix = f"{hours}h{minutes}m" if hours else (f"{minutes}m" if minutes else "")
    return f"{sign}{prefix}{_fraction(rest, 1_000_000_000)}s"


def _fraction(value: int, unit: int) -> str:
    whole, part = divmod(value, unit)
    digits = str(part).rjust(len(str(unit)) - 1, "0").rstrip("0")
    return f"{whole}.{digits}" if digits else str(whole)


def display(value: Value) -> str:
    """A typed value as text, as Tempo shows it in search results."""
    type_, python = value
    if type_ == "duration":
        return go_duration(python)
    if type_ == "bool":
        return "true" if python else "false"
    if type_ == "nil":
        return "nil"
    if type_ == "arr":
        return "[" + ", ".join(display(item) for item in python) + "]"
    return str(python)
