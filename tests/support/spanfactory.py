"""Small builders of OTLP requests for store and query tests."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from kubespan.model import AttributeTable, TraceBatch
from kubespan.otlp.decode import decode_request

T0 = 1_700_000_000_000_000_000


@dataclass
class S:
    """One span to build: ids are small ints turned into bytes."""

    trace: int
    span: int
    parent: int = 0
    name: str = "op"
    service: str = "svc"
    kind: int = 1
    status: int = 0
    start: int = 0  # ns after T0
    duration: int = 1000
    attrs: dict[str, Any] = field(default_factory=dict)
    resource: dict[str, Any] = field(default_factory=dict)
    events: tuple[str, ...] = ()


def trace_id(n: int) -> bytes:
    return n.to_bytes(16, "big")


def span_id(n: int) -> bytes:
    return n.to_bytes(8, "big")


def set_value(target, value: Any) -> None:
    if isinstance(value, bool):
        target.bool_value = value
    elif isinstance(value, int):
        target.int_value = value
    elif isinstance(value, float):
        target.double_value = value
    elif isinstance(value, bytes):
        target.bytes_value = value
    elif isinstance(value, list):
        array = target.array_value
        for item in value:
            set_value(array.values.add(), item)
    else:
        target.string_value = value


def request(spans: list[S]) -> ExportTraceServiceRequest:
    """One ResourceSpans per run of spans with the same (service, resource attrs)."""
    req = ExportTraceServiceRequest()
    last = None
    scope_spans = None
    for s in spans:
        key = (s.service, tuple(sorted(s.resource.items(), key=repr)))
        if key != last:
            rs = req.resource_spans.add()
            if s.service is not None:
                rs.resource.attributes.add(key="service.name").value.string_value = s.service
            for k, v in s.resource.items():
                set_value(rs.resource.attributes.add(key=k).value, v)
            scope_spans = rs.scope_spans.add()
            scope_spans.scope.name = "test"
            last = key
        span = scope_spans.spans.add(
            trace_id=trace_id(s.trace), span_id=span_id(s.span), name=s.name, kind=s.kind,
            start_time_unix_nano=T0 + s.start, end_time_unix_nano=T0 + s.start + s.duration,
        )
        if s.parent:
            span.parent_span_id = span_id(s.parent)
        span.status.code = s.status
        for k, v in s.attrs.items():
            set_value(span.attributes.add(key=k).value, v)
        for e in s.events:
            span.events.add(name=e, time_unix_nano=T0 + s.start)
    return req


def batch(spans: list[S], table: AttributeTable) -> TraceBatch:
    decoded, rejections = decode_request(request(spans).SerializeToString(), table)
    assert not rejections.count, rejections.message
    return decoded
