"""Traces as Tempo returns them: spans grouped by resource and scope, written by Go's jsonpb.

Grouping (seen on Tempo and kept in its blocks): one `ResourceSpans` per distinct resource, in the
order the resources first arrived; within it one `ScopeSpans` per distinct scope, in order of
arrival; spans in order of arrival. The JSON is gogo/jsonpb's: lowerCamelCase names, ids in base64,
enums by name, 64-bit integers as strings, `status` always present, doubles as Go prints them.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from google.protobuf.json_format import MessageToDict
from opentelemetry.proto.common.v1.common_pb2 import InstrumentationScope
from opentelemetry.proto.resource.v1.resource_pb2 import Resource
from opentelemetry.proto.trace.v1.trace_pb2 import ResourceSpans, Span, TracesData


@dataclass(frozen=True, slots=True)
class StoredSpan:
    """A stored span with what it was exported under; `resource_key`/`scope_key` identify equal ones."""

    ordinal: int
    span: Span
    resource: Resource
    scope: InstrumentationScope
    resource_key: object
    scope_key: object
    resource_schema_url: str = ""
    scope_schema_url: str = ""


DEDICATED_RESOURCE = ("k8s.cluster.name", "k8s.namespace.name", "k8s.pod.name", "k8s.container.name")
DEDICATED_SPAN = (("http.request.method", "string_value"), ("http.response.status_code", "int_value"),
                  ("url.path", "string_value"), ("url.route", "string_value"), ("server.address", "string_value"),
                  ("server.port", "int_value"), ("http.method", "string_value"), ("http.url", "string_value"),
                  ("http.route", "string_value"), ("http.status_code", "int_value"))
"""Tempo's default dedicated columns (`backend.DefaultDedicatedColumns`): attributes of these names and
types are stored in columns of their own and come back after the others, in this order; `service.name`
comes back last of a resource's attributes."""


def _reordered(attributes, dedicated: tuple[tuple[str, str], ...], last: tuple[str, ...] = ()) -> list | None:
    """`attributes` in the order Tempo returns them, or None when that is their order already."""
    moved = {name: kind for name, kind in dedicated}
    generic, special = [], {}
    for kv in attributes:
        kind = kv.value.WhichOneof("value")
        if kv.key in last and kind == "string_value" or moved.get(kv.key) == kind:
            special[kv.key] = kv
        else:
            generic.append(kv)
    if not special:
        return None
    order = [name for name, _ in dedicated] + list(last)
    out = generic + [special[name] for name in order if name in special]
    return None if [kv.key for kv in out] == [kv.key for kv in attributes] else out


def as_tempo_resource(resource: Resource) -> Resource:
    """A copy with the attributes in Tempo's order (dedicated k8s columns, then `service.name`, last)."""
    order = _reordered(resource.attributes, tuple((n, "string_value") for n in DEDICATED_RESOURCE), ("service.name",))
    if order is None:
        return resource
    out = Resource()
    out.CopyFrom(resource)
    del out.attributes[:]
    out.attributes.extend(order)
    return out


def as_tempo_span(span: Span) -> Span:
    """`span` with its attributes in Tempo's order (the dedicated HTTP/URL/server columns last)."""
    order = _reordered(span.attributes, DEDICATED_SPAN)
    if order is not None:
        kept = [type(kv)() for kv in order]
        for new, old in zip(kept, order):
            new.CopyFrom(old)
        del span.attributes[:]
        span.attributes.extend(kept)
    return span


def jaeger_sorted(span: Span) -> Span:
    """`span` as Jaeger's adjusters leave it: attributes by key, events by name (and theirs by key)."""
    holders: list[Span | Span.Event | Span.Link] = [span, *span.events, *span.links]
    for holder in holders:
        ordered = sorted(holder.attributes, key=lambda kv: kv.key)
        copies = [type(kv)() for kv in ordered]
        for new, old in zip(copies, ordered):
            new.CopyFrom(old)
        del holder.attributes[:]
        holder.attributes.extend(copies)
    events = sorted(span.events, key=lambda e: e.name)
    event_copies = [Span.Event() for _ in events]
    for new_event, old_event in zip(event_copies, events):
        new_event.CopyFrom(old_event)
    del span.events[:]
    span.events.extend(event_copies)
    return span


def group_spans(spans: Iterable[StoredSpan], jaeger: bool = False) -> list[ResourceSpans]:
    """`ResourceSpans` messages in Tempo's order (see the module docstring); `spans` in any order.
    `jaeger`: attributes and events as Jaeger's adjusters sort them instead of Tempo's column order."""
    resources: dict[object, ResourceSpans] = {}
    scopes: dict[tuple[object, object], Any] = {}
    for stored in sorted(spans, key=lambda s: s.ordinal):
        rs = resources.get(stored.resource_key)
        if rs is None:
            resource = stored.resource if jaeger else as_tempo_resource(stored.resource)
            rs = ResourceSpans(resource=resource, schema_url=stored.resource_schema_url)
            resources[stored.resource_key] = rs
            if jaeger:
                ordered = sorted(rs.resource.attributes, key=lambda kv: kv.key)
                copies = [type(kv)() for kv in ordered]
                for new, old in zip(copies, ordered):
                    new.CopyFrom(old)
                del rs.resource.attributes[:]
                rs.resource.attributes.extend(copies)
        key = (stored.resource_key, stored.scope_key)
        ss = scopes.get(key)
        if ss is None:
            ss = scopes[key] = rs.scope_spans.add(scope=stored.scope, schema_url=stored.scope_schema_url)
        ss.spans.append(jaeger_sorted(stored.span) if jaeger else as_tempo_span(stored.span))
    return list(resources.values())


def traces_data(resource_spans: list[ResourceSpans]) -> bytes:
    """The protobuf body of a v1 trace: Tempo's `Trace` has OTLP's `TracesData` wire shape."""
    return TracesData(resource_spans=resource_spans).SerializeToString()


def resource_spans_json(resource_spans: list[ResourceSpans]) -> list[dict]:
    from kubespan.api.throttle import checkpoint

    out = []
    for rs in resource_spans:
        checkpoint()
        obj = go_numbers(MessageToDict(rs))
        obj.setdefault("resource", {})
        for ss in obj.get("scopeSpans", []):
            ss.setdefault("scope", {})
            for span in ss.get("spans", []):
                span.setdefault("status", {})
        out.append(obj)
    return out


def go_numbers(value: Any) -> Any:
    """Doubles as Go's encoder writes them: integral values without `.0`, NaN/Inf as strings. Dicts and
    lists (fresh ones, as `MessageToDict` makes) are changed in place and returned; only containers and
    floats are visited (a trace's JSON is mostly strings)."""
    if isinstance(value, float):
        return _go_float(value)
    stack = [value] if isinstance(value, (dict, list)) else []
    while stack:
        node = stack.pop()
        for key, item in (node.items() if isinstance(node, dict) else enumerate(node)):
            if isinstance(item, (dict, list)):
                stack.append(item)
            elif isinstance(item, float):
                node[key] = _go_float(item)
    return value


def _go_float(value: float) -> Any:
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "Infinity" if value > 0 else "-Infinity"
    if value.is_integer() and abs(value) < 1e21:
        return int(value)
    return value


def any_value_json(value: Any) -> dict:
    """An OTLP AnyValue (from a python value as the store keeps them) in jsonpb form."""
    if isinstance(value, bool):
        return {"boolValue": value}
    if isinstance(value, int):
        return {"intValue": str(value)}
    if isinstance(value, float):
        return {"doubleValue": go_numbers(value)}
    if isinstance(value, bytes):
        import base64

        return {"bytesValue": base64.b64encode(value).decode()}
    if isinstance(value, (list, tuple)):
        return {"arrayValue": {"values": [any_value_json(v) for v in value]}}
    if isinstance(value, dict):
        return {"kvlistValue": {"values": [{"key": k, "value": any_value_json(v)} for k, v in value.items()]}}
    return {"stringValue": "" if value is None else str(value)}
