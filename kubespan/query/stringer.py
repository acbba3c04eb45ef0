"""Every TraceQL node printed back as TraceQL (like Tempo's `ast_stringer.go`).

`parse(to_traceql(parse(q)))` is the same tree (tests/query/test_traceql_roundtrip.py).
Sub-expressions other than fields and literals are parenthesized, so precedence never
changes on the way back.
"""

from __future__ import annotations

import json
import math

from kubespan.encode.go_strings import quote_traceql
from kubespan.query.ast import (
    KINDS,
    STATUSES,
    And,
    BareWord,
    Cond,
    Const,
    Expr,
    Field,
    Filter,
    Literal,
    Not,
    Or,
    Spanset,
    SpansetOp,
)
from kubespan.query.lexer import is_attribute_rune
from kubespan.query.nodes import (
    CANONICAL,
    Aggregate,
    BinOp,
    Coalesce,
    GroupBy,
    Hint,
    Operand,
    Pipeline,
    QueryNode,
    ScalarFilter,
    Select,
    UnOp,
)

_KIND_NAMES = {code: name for name, code in KINDS.items()}
_STATUS_NAMES = {code: name for name, code in STATUSES.items()}


def to_traceql(node: QueryNode, hints: tuple[Hint, ...] = ()) -> str:
    text = _node(node)
    if hints:
        text += " with(" + ", ".join(f"{h.name}={literal(h.value)}" for h in hints) + ")"
    return text


def _node(node: QueryNode) -> str:
    if isinstance(node, Filter):
        inner = _expr(node.expr)
        return "{ }" if inner == "true" else "{ " + inner + " }"
    if isinstance(node, SpansetOp):
        if _holds_pipeline(node):
            return f"({_node(node.left)}) {node.op} ({_node(node.right)})"
        return f"{_wrap_spanset(node.left)} {node.op} {_wrap_spanset(node.right)}"
    if isinstance(node, Pipeline):
        return " | ".join(_node(stage) for stage in node.stages)
    if isinstance(node, ScalarFilter):
        return scalar_filter(node.op, node.left, node.right)
    if isinstance(node, GroupBy):
        return f"by({_expr(node.expr)})"
    if isinstance(node, Select):
        return "select(" + ", ".join(field(f) for f in node.fields) + ")"
    if isinstance(node, Coalesce):
        return "coalesce()"
    return _expr(node)


def scalar_filter(op: str, left: Operand, right: Operand) -> str:
    """`left op right` written as a scalar filter (also before the parser has checked its sides)."""
    return f"{_scalar(left)} {op} {_scalar(right)}"


def _holds_pipeline(node: Spanset) -> bool:
    return isinstance(node, Pipeline) or (isinstance(node, SpansetOp) and (
        _holds_pipeline(node.left) or _holds_pipeline(node.right)))


def _wrap_spanset(node: Spanset) -> str:
    return _node(node) if isinstance(node, Filter) else f"({_node(node)})"


def _scalar(node: Operand) -> str:
    if isinstance(node, Aggregate):
        return f"{node.op}()" if node.expr is None else f"{node.op}({_expr(node.expr)})"
    if isinstance(node, BinOp):
        return f"({_scalar(node.left)} {node.op} {_scalar(node.right)})"
    return _expr(node)


def _expr(node: QueryNode) -> str:
    if isinstance(node, Literal):
        return literal(node)
    if isinstance(node, Field):
        return field(node)
    if isinstance(node, Const):
        return "true" if node.value else "false"
    if isinstance(node, Cond):
        return f"{field(node.field)} {node.op} {_cond_literal(node)}"
    if isinstance(node, (And, Or)):
        return f"{_wrap(node.left)} {'&&' if isinstance(node, And) else '||'} {_wrap(node.right)}"
    if isinstance(node, Not):
        return f"!{_wrap(node.inner)}"
    if isinstance(node, BinOp):
        return f"{_wrap(node.left)} {node.op} {_wrap(node.right)}"
    if isinstance(node, UnOp):
        if node.op == "exists":
            return f"{_wrap(node.inner)} != nil"
        if node.op == "not_exists":
            return f"{_wrap(node.inner)} = nil"
        return f"{node.op}{_wrap(node.inner)}"
    if isinstance(node, Aggregate):
        return _scalar(node)
    if isinstance(node, BareWord):
        return json.dumps(node.text)
    raise TypeError(f"not a TraceQL node: {node!r}")


def _wrap(node: Operand | Expr) -> str:
    text = _expr(node)
    return text if isinstance(node, (Literal, Field, Const)) else f"({text})"


def _cond_literal(cond: Cond) -> str:
    lit = cond.literal
    if cond.field.kind == "kind" and lit.type == "int":
        return _KIND_NAMES.get(lit.value, str(lit.value))
    if cond.field.kind == "status" and lit.type == "int":
        return _STATUS_NAMES.get(lit.value, str(lit.value))
    return literal(lit)


def literal(lit: Literal) -> str:
    type_, value = lit.type, lit.value
    if type_ == "str":
        return quote_traceql(value)
    if type_ == "bool":
        return "true" if value else "false"
    if type_ == "nil":
        return "nil"
    if type_ in ("status", "kind"):
        return str(value)
    if type_ == "float":
        if math.isnan(value) or math.isinf(value):
            return "(0.0 / 0.0)" if math.isnan(value) else ("(1.0 / 0.0)" if value > 0 else "(-1.0 / 0.0)")
        text = repr(float(value))
        return text if value >= 0 else f"({text})"
    if type_ == "duration":
        return f"{value}ns" if value >= 0 else f"(-{-value}ns)"
    if type_ == "int":
        if value == -(2**63):
            return "minInt"
        return str(value) if value >= 0 else f"({value})"
    if type_ == "loose":
        return quote_traceql(lit.text)
    return str(value)


def field(f: Field) -> str:
    if f.kind != "attr":
        return CANONICAL.get(f.kind, f.kind)
    scope = "." if f.scope == "any" else f.scope + "."
    name = f.key
    if not name or any(not is_attribute_rune(ch) for ch in name) or '"' in name:
        name = '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return scope + name
