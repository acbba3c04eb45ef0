"""The value of any TraceQL field for one span, from a batch or from the store.

Both evaluators read fields through a `SpanSource` (`BatchSource` over a `TraceBatch`,
`ChunkSource` over a stored chunk): span columns, attributes, the span's protobuf message
(decoded on demand, for its status message, events and links) and its scope. Trace-level
values (root name and service, trace duration, child counts) come from `TraceFacts`, built
once per source over every span the source can see.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from opentelemetry.proto.common.v1.common_pb2 import InstrumentationScope, KeyValue
from opentelemetry.proto.trace.v1.trace_pb2 import Span

from kubespan.query.ast import Field
from kubespan.query.values import NIL, Value, typed

KIND_NAMES = ("unspecified", "internal", "server", "client", "producer", "consumer")
STATUS_NAMES = ("unset", "ok", "error")


class SpanSource(Protocol):
    def trace_key(self, i: int) -> Any: ...
    def span_id(self, i: int) -> bytes: ...
    def parent_id(self, i: int) -> bytes: ...
    def trace_id(self, i: int) -> bytes: ...
    def name(self, i: int) -> str: ...
    def service(self, i: int) -> str: ...
    def kind(self, i: int) -> int: ...
    def status(self, i: int) -> int: ...
    def start(self, i: int) -> int: ...
    def end(self, i: int) -> int: ...
    def attributes(self, i: int) -> list[tuple[str, Any]]: ...
    def resource_attributes(self, i: int) -> list[tuple[str, Any]]: ...
    def message(self, i: int) -> Span: ...
    def scope(self, i: int) -> InstrumentationScope: ...


@dataclass(slots=True)
class TraceFacts:
    """Per trace: root name and service ("" without a root), start, end; children per span id."""

    root_name: dict[Any, str]
    root_service: dict[Any, str]
    start: dict[Any, int]
    end: dict[Any, int]
    children: dict[tuple[Any, bytes], int]


class Facts(Protocol):
    """What `field_value` reads of `TraceFacts` (a store builds each table lazily)."""

    @property
    def root_name(self) -> Mapping[Any, str]: ...
    @property
    def root_service(self) -> Mapping[Any, str]: ...
    @property
    def start(self) -> Mapping[Any, int]: ...
    @property
    def end(self) -> Mapping[Any, int]: ...
    @property
    def children(self) -> Mapping[tuple[Any, bytes], int]: ...


def trace_facts(src: SpanSource, positions: Iterable[int]) -> TraceFacts:
    facts = TraceFacts({}, {}, {}, {}, {})
    for i in positions:
        trace = src.trace_key(i)
        start, end = src.start(i), src.end(i)
        facts.start[trace] = min(facts.start.get(trace, start), start)
        facts.end[trace] = max(facts.end.get(trace, end), end)
        parent = src.parent_id(i)
        if not parent:
            if trace not in facts.root_name:
                facts.root_name[trace], facts.root_service[trace] = src.name(i), src.service(i)
        else:
            key = (trace, parent)
            facts.children[key] = facts.children.get(key, 0) + 1
    return facts


def _values(pairs: list[tuple[str, Any]], key: str) -> list[Value]:
    return [typed(value) for k, value in pairs if k == key]


def _first(pairs: list[tuple[str, Any]], key: str) -> Value | None:
    for k, value in pairs:
        if k == key:
            return typed(value)
    return None


def _many(values: list[Value]) -> Value:
    values = [v for v in values if v[0] != "nil"]
    if not values:
        return NIL
    flat: list[Value] = []
    for value in values:
        flat += value[1] if value[0] == "arr" else [value]
    return ("arr", flat)


def field_value(field: Field, src: SpanSource, i: int, facts: Facts) -> Value:
    """The typed value of `field` for span `i` (`nil` when absent)."""
    kind = field.kind
    if kind == "attr":
        return attribute_value(field, src, i)
    if kind == "name":
        return ("str", src.name(i))
    if kind == "service":
        return ("str", src.service(i))
    if kind == "duration":
        return ("duration", src.end(i) - src.start(i))
    if kind == "kind":
        code = src.kind(i)
        return ("kind", KIND_NAMES[code]) if 0 <= code < len(KIND_NAMES) else NIL
    if kind == "status":
        code = src.status(i)
        return ("status", STATUS_NAMES[code]) if 0 <= code < len(STATUS_NAMES) else NIL
    if kind == "status_message":
        return ("str", src.message(i).status.message)
    if kind in ("span", "span_id"):
        return ("str", src.span_id(i).hex())
    if kind in ("parent", "parent_id"):
        parent = src.parent_id(i)
        return ("str", parent.hex()) if parent else NIL
    if kind in ("trace", "trace_id"):
        return ("str", src.trace_id(i).hex().lstrip("0"))
    trace = src.trace_key(i)
    if kind == "root_name":
        return ("str", facts.root_name.get(trace, ""))
    if kind == "root_service":
        return ("str", facts.root_service.get(trace, ""))
    if kind == "trace_duration":
        return ("duration", facts.end[trace] - facts.start[trace])
    if kind == "child_count":
        return ("int", facts.children.get((trace, src.span_id(i)), 0))
    if kind == "event":
        return _many([("str", e.name) for e in src.message(i).events])
    if kind == "event_time":
        start = src.start(i)
        return _many([("duration", e.time_unix_nano - start) for e in src.message(i).events])
    if kind in ("link_trace_id", "link_span_id"):
        links = src.message(i).links
        return _many([("str", (link.trace_id if kind == "link_trace_id" else link.span_id).hex()) for link in links])
    if kind == "scope_name":
        return ("str", src.scope(i).name)
    if kind == "scope_version":
        return ("str", src.scope(i).version)
    return NIL  # nestedSet* and other intrinsics kubespan does not compute


def attribute_value(field: Field, src: SpanSource, i: int) -> Value:
    scope, key = field.scope, field.key
    if scope == "span":
        return _first(src.attributes(i), key) or NIL
    if scope == "resource":
        return _first(src.resource_attributes(i), key) or NIL
    if scope == "any":
        found = _first(src.attributes(i), key)
        return found if found is not None else (_first(src.resource_attributes(i), key) or NIL)
    if scope in ("event", "link"):
        items = src.message(i).events if scope == "event" else src.message(i).links
        return _many([v for item in items for v in _values(_pairs(item.attributes), key)])
    if scope == "instrumentation":
        return _first(_pairs(src.scope(i).attributes), key) or NIL
    return NIL


def _pairs(key_values: Iterable[KeyValue]) -> list[tuple[str, Any]]:
    from kubespan.otlp.attributes import any_value_to_python

    return [(kv.key, any_value_to_python(kv.value)[0]) for kv in key_values]
