"""From TraceQL's field expressions to what the evaluators answer fastest.

Constant sub-expressions are folded as Tempo folds them while parsing (`{ 1 = 2 }` is
`false`). `field OP literal` becomes a `Cond` (answered from the store's indexes),
`&&`/`||`/`!` between conditions become `And`/`Or`/`Not`, a bare attribute means
`attribute = true`; anything else (arithmetic, field against field, intrinsics the
indexes do not hold) stays a `BinOp`/`UnOp` tree, evaluated span by span.
"""

from __future__ import annotations

from kubespan.query.ast import (
    KINDS,
    STATUSES,
    And,
    Cond,
    Const,
    Expr,
    Field,
    Filter,
    Literal,
    Not,
    Or,
)
from kubespan.query.nodes import Aggregate, BinOp, Operand, UnOp
from kubespan.query.validate import references_span
from kubespan.query.values import NIL, Value, binary, unary

INDEXED_FIELDS = ("attr", "name", "kind", "status", "duration", "event", "root_name", "root_service",
                  "trace_duration")
"""Field kinds a `Cond` can be answered for from the store's columns and tables."""
INDEXED_SCOPES = ("span", "resource", "any")
_FLIP = {">": "<", "<": ">", ">=": "<=", "<=": ">="}


def to_value(literal: Literal) -> Value:
    return NIL if literal.type == "nil" else (literal.type, literal.value)


def to_literal(value: Value) -> Literal:
    type_, python = value
    if type_ == "bool":
        return Literal("bool", python, "true" if python else "false")
    return Literal(type_, python, str(python))


def fold_static(node: Operand) -> Operand:
    """`node` evaluated when it references no span (and its operands are all literals)."""
    if references_span(node):
        return node
    if isinstance(node, BinOp) and isinstance(node.left, Literal) and isinstance(node.right, Literal):
        result = binary(node.op, to_value(node.left), to_value(node.right))
    elif isinstance(node, UnOp) and isinstance(node.inner, Literal):
        result = unary(node.op, to_value(node.inner))
    else:
        return node
    return node if result == NIL else to_literal(result)


def lower_filter(expr: Operand) -> Filter:
    return Filter(lower_bool(expr))


def lower_bool(expr: Operand) -> Expr:
    """`expr` in a boolean position, as fast nodes where possible."""
    if isinstance(expr, Literal):
        return Const(expr.type == "bool" and expr.value is True)
    if isinstance(expr, Field):
        if expr.kind == "attr":
            return Cond(expr, "=", Literal("bool", True, "true"))
        return expr
    if isinstance(expr, BinOp):
        if expr.op in ("&&", "||"):
            make = And if expr.op == "&&" else Or
            return make(lower_bool(expr.left), lower_bool(expr.right))
        return _comparison(expr)
    if isinstance(expr, UnOp):
        inner = expr.inner
        if expr.op == "!":
            if isinstance(inner, Field) and inner.kind == "attr":
                return lower_bool(BinOp("=", inner, Literal("bool", False, "false")))
            return Not(lower_bool(inner))
        if expr.op in ("exists", "not_exists") and isinstance(inner, Field) and inner.kind == "attr" \
                and inner.scope in INDEXED_SCOPES:
            return Cond(inner, "!=" if expr.op == "exists" else "=", Literal("nil", None, "nil"))
    if isinstance(expr, Aggregate):
        raise TypeError(f"not a span condition: {expr!r}")
    return expr


def _comparison(expr: BinOp) -> Expr:
    left, right, op = expr.left, expr.right, expr.op
    if isinstance(left, Literal) and isinstance(right, Field):
        if op in ("=~", "!~"):
            return expr
        left, right, op = right, left, _FLIP.get(op, op)
    if not (isinstance(left, Field) and isinstance(right, Literal)) or left.kind not in INDEXED_FIELDS:
        return expr
    if left.kind == "attr" and left.scope not in INDEXED_SCOPES:
        return expr
    literal = right
    if left.kind in ("kind", "status"):
        if literal.type != left.kind or op not in ("=", "!="):
            return expr
        code = (KINDS if left.kind == "kind" else STATUSES)[literal.value]
        literal = Literal("int", code, literal.text)
    elif left.kind in ("name", "event", "root_name", "root_service") and literal.type != "str":
        return expr
    elif left.kind in ("duration", "trace_duration") and literal.type not in ("int", "float", "duration"):
        return expr
    return Cond(left, op, literal)
