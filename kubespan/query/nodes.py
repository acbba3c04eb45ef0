"""TraceQL syntax nodes beyond the span conditions of `ast.py`: field arithmetic and pipelines.

A field expression is a tree of `BinOp`/`UnOp` over `Literal` and `Field` leaves; the parser
lowers the simple shapes (`field OP literal`, `&& || !` between them) to `Cond`/`And`/`Or`/`Not`,
which both evaluators answer from indexes, and keeps the rest generic (`kubespan.query.values`
evaluates them as Tempo's `BinaryOperation.execute` does). A `Pipeline` is a sequence of
stages (spanset expressions, `ScalarFilter`, `GroupBy`, `Select`, `Coalesce`) evaluated per
trace. TraceQL metrics (issue of its own) will add first and second stages over `Pipeline`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Union

from kubespan.query.ast import Expr, Field, Filter, Literal, SpansetOp

# Field kinds (Field.kind) of the intrinsics, besides those ast.py already has
# ("name", "service", "kind", "status", "duration", "trace", "span", "parent", "event", "attr").
INTRINSICS: dict[str, str] = {
    # legacy unscoped spellings
    "duration": "duration", "name": "name", "status": "status", "statusMessage": "status_message",
    "kind": "kind", "parent": "parent_intrinsic", "rootName": "root_name", "rootServiceName": "root_service",
    "traceDuration": "trace_duration", "nestedSetLeft": "nested_left", "nestedSetRight": "nested_right",
    "nestedSetParent": "nested_parent",
}
SCOPED_INTRINSICS: dict[tuple[str, str], str] = {
    ("trace", "duration"): "trace_duration", ("trace", "rootName"): "root_name",
    ("trace", "rootService"): "root_service", ("trace", "id"): "trace_id",
    ("span", "duration"): "duration", ("span", "name"): "name", ("span", "kind"): "kind",
    ("span", "status"): "status", ("span", "statusMessage"): "status_message", ("span", "id"): "span_id",
    ("span", "parentID"): "parent_id", ("span", "childCount"): "child_count",
    ("event", "name"): "event", ("event", "timeSinceStart"): "event_time",
    ("link", "traceID"): "link_trace_id", ("link", "spanID"): "link_span_id",
    ("instrumentation", "name"): "scope_name", ("instrumentation", "version"): "scope_version",
}
INTRINSIC_TYPES: dict[str, str] = {
    "duration": "duration", "name": "str", "status": "status", "status_message": "str", "kind": "kind",
    "parent_intrinsic": "nil", "root_name": "str", "root_service": "str", "trace_duration": "duration",
    "nested_left": "int", "nested_right": "int", "nested_parent": "int", "trace_id": "str", "span_id": "str",
    "parent_id": "str", "child_count": "int", "event": "str", "event_time": "duration", "link_trace_id": "str",
    "link_span_id": "str", "scope_name": "str", "scope_version": "str", "service": "str",
}
"""What each intrinsic holds; attributes have no static type ("attribute")."""
CANONICAL: dict[str, str] = {
    "duration": "duration", "name": "name", "status": "status", "status_message": "statusMessage",
    "kind": "kind", "parent_intrinsic": "parent", "root_name": "rootName", "root_service": "rootServiceName",
    "trace_duration": "traceDuration", "nested_left": "nestedSetLeft", "nested_right": "nestedSetRight",
    "nested_parent": "nestedSetParent", "trace_id": "trace:id", "span_id": "span:id",
    "parent_id": "span:parentID", "child_count": "span:childCount", "event": "event:name",
    "event_time": "event:timeSinceStart", "link_trace_id": "link:traceID", "link_span_id": "link:spanID",
    "scope_name": "instrumentation:name", "scope_version": "instrumentation:version",
    "service": "resource.service.name",
}
"""How the stringer writes each intrinsic (Tempo's `Intrinsic.String()`)."""

COMPARISON = ("=", "!=", "<", "<=", ">", ">=", "=~", "!~")
SPANSET_OPS = ("&&", "||", ">", "<", ">>", "<<", "~", "!>", "!<", "!>>", "!<<", "!~", "&>", "&<", "&>>",
               "&<<", "&~")
AGGREGATES = ("count", "avg", "max", "min", "sum")


@dataclass(frozen=True, slots=True)
class BinOp:
    """`left OP right` over field values: arithmetic, comparisons, `&&`/`||` (Tempo's BinaryOperation)."""

    op: str
    left: Operand
    right: Operand


@dataclass(frozen=True, slots=True)
class UnOp:
    """`-x`, `!x`, and `x != nil` ("exists") / `x = nil` ("not_exists")."""

    op: str  # "-", "!", "exists", "not_exists"
    inner: Operand


@dataclass(frozen=True, slots=True)
class Aggregate:
    """`count()`, `avg(f)`, `max(f)`, `min(f)`, `sum(f)` over the spans of a spanset."""

    op: str
    expr: Operand | None = None


Operand = Union[BinOp, UnOp, Aggregate, Literal, Field]
"""A field expression (Tempo's FieldExpression), or in a scalar filter an expression over aggregates."""


@dataclass(frozen=True, slots=True)
class ScalarFilter:
    """`aggregate OP number`: keeps the spansets whose aggregate compares true."""

    op: str
    left: Aggregate
    right: Literal  # int, float or duration


@dataclass(frozen=True, slots=True)
class GroupBy:
    expr: Operand


@dataclass(frozen=True, slots=True)
class Select:
    fields: tuple[Field, ...]


@dataclass(frozen=True, slots=True)
class Coalesce:
    pass


@dataclass(frozen=True, slots=True)
class Pipeline:
    """Stages separated by `|`; the first sees one spanset per trace (all its spans)."""

    stages: tuple[Stage, ...]


Stage = Union[Filter, SpansetOp, Pipeline, ScalarFilter, GroupBy, Select, Coalesce]
"""One stage of a pipeline: a spanset expression (parenthesized pipelines included) or a pipeline stage."""
QueryNode = Union[Stage, Operand, Expr]
"""Any node of a parsed query (what the stringer prints)."""


@dataclass(frozen=True, slots=True)
class Hint:
    name: str
    value: Literal

