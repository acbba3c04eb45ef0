"""`SpanSource` over one `TraceBatch`, and the span-by-span evaluation of generic field expressions."""

from __future__ import annotations

from typing import Any

from opentelemetry.proto.common.v1.common_pb2 import InstrumentationScope
from opentelemetry.proto.trace.v1.trace_pb2 import Span

from kubespan.model import AttributeTable, TraceBatch
from kubespan.query.ast import Field, Literal
from kubespan.query.fields import Facts, SpanSource, TraceFacts, field_value, trace_facts
from kubespan.query.nodes import COMPARISON, BinOp, Operand, UnOp
from kubespan.query.values import NIL, TRUE, Value, binary, unary


class BatchSource:
    """The spans of one batch (positions are the batch's span indexes)."""

    def __init__(self, batch: TraceBatch, table: AttributeTable) -> None:
        self.batch, self.table, self.spans = batch, table, batch.spans
        self._raw: list[bytes] | None = None
        self._messages: dict[int, Span] = {}
        self._scopes: dict[int, InstrumentationScope] = {}
        self._facts: TraceFacts | None = None

    def trace_key(self, i: int) -> Any:
        return self.spans.trace_id[i]

    def trace_id(self, i: int) -> bytes:
        return self.spans.trace_id[i]

    def span_id(self, i: int) -> bytes:
        return self.spans.span_id[i]

    def parent_id(self, i: int) -> bytes:
        parent = self.spans.parent_id[i]
        return parent if any(parent) else b""

    def name(self, i: int) -> str:
        return self.spans.name[i]

    def service(self, i: int) -> str:
        return self.batch.resources[self._resource(i)].service

    def _resource(self, i: int) -> int:
        return self.batch.scopes[self.spans.scope[i]].resource

    def kind(self, i: int) -> int:
        return self.spans.kind[i]

    def status(self, i: int) -> int:
        return self.spans.status[i]

    def start(self, i: int) -> int:
        return _int64(self.spans.start[i])

    def end(self, i: int) -> int:
        return _int64(self.spans.end[i])

    def attributes(self, i: int) -> list[tuple[str, Any]]:
        attributes = self.table.attributes
        return [(attributes[a].key, attributes[a].value) for a in self.spans.attribute_ids[i]]

    def resource_attributes(self, i: int) -> list[tuple[str, Any]]:
        attributes = self.table.attributes
        return [(attributes[a].key, attributes[a].value) for a in self.batch.resources[self._resource(i)].attribute_ids]

    def message(self, i: int) -> Span:
        found = self._messages.get(i)
        if found is None:
            if self._raw is None:
                from kubespan.otlp.wire import split_spans

                self._raw = split_spans(self.batch.raw)
            found = self._messages[i] = Span.FromString(self._raw[i])
        return found

    def scope(self, i: int) -> InstrumentationScope:
        index = self.spans.scope[i]
        found = self._scopes.get(index)
        if found is None:
            found = self._scopes[index] = InstrumentationScope.FromString(self.batch.scopes[index].raw)
        return found

    def facts(self) -> TraceFacts:
        if self._facts is None:
            self._facts = trace_facts(self, range(len(self.spans)))
        return self._facts


def _int64(value: int) -> int:
    """Timestamps as the store keeps them (int64, wrapping)."""
    return value - (1 << 64) if value >= (1 << 63) else value


def evaluate_field(expr: Operand, src: SpanSource, i: int, facts: Facts) -> Value:
    """A generic field expression's typed value for span `i` (Tempo's `execute`)."""
    if isinstance(expr, Literal):
        return NIL if expr.type == "nil" else (expr.type, expr.value)
    if isinstance(expr, Field):
        return field_value(expr, src, i, facts)
    if isinstance(expr, BinOp):
        left = evaluate_field(expr.left, src, i, facts)
        if expr.op in ("&&", "||") and left[0] == "bool" and left[1] == (expr.op == "||"):
            return left
        right = evaluate_field(expr.right, src, i, facts)
        if expr.op in COMPARISON:
            left, right = _storage_typed(expr.left, left, expr.right, right)
        return binary(expr.op, left, right)
    if isinstance(expr, UnOp):
        if expr.op in ("exists", "not_exists") and isinstance(expr.inner, Field):
            return _existence(expr.op, expr.inner, src, i, facts)
        return unary(expr.op, evaluate_field(expr.inner, src, i, facts))
    raise TypeError(f"not a field expression: {expr!r}")


_NUMBER_TYPES = {"int": "int", "duration": "int", "float": "float"}


def _storage_typed(left_node: Operand, left: Value, right_node: Operand, right: Value) -> tuple[Value, Value]:
    """An attribute compared with a number literal: like Tempo's storage, an int literal sees only
    int values and a float literal only floats (`{ event.latency_ms > 10 }` misses 12.5)."""
    for field, value, literal, put in ((left_node, left, right_node, 0), (right_node, right, left_node, 1)):
        if isinstance(field, Field) and field.kind == "attr" and isinstance(literal, Literal) \
                and literal.type in _NUMBER_TYPES:
            want = _NUMBER_TYPES[literal.type]
            if value[0] == "arr":
                value = ("arr", [v for v in value[1] if v[0] == want])
            elif value[0] in ("int", "float") and value[0] != want:
                value = NIL
            return (value, right) if put == 0 else (left, value)
    return left, right


def _existence(op: str, field: Field, src: SpanSource, i: int, facts: Facts) -> Value:
    value = field_value(field, src, i, facts)
    present = value[0] != "nil"
    return ("bool", present if op == "exists" else not present)


def is_true(value: Value) -> bool:
    return value == TRUE
