"""The k8s fixture as the official OpenTelemetry SDK's `ReadableSpan`s, so a test can send it through the
SDK's own OTLP exporters (the path a real instrumented program takes) instead of hand-made requests."""

from __future__ import annotations

from typing import Any

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import Event, ReadableSpan
from opentelemetry.sdk.util.instrumentation import InstrumentationScope
from opentelemetry.trace import Link, SpanContext, SpanKind, Status, StatusCode, TraceFlags

KINDS = {0: SpanKind.INTERNAL, 1: SpanKind.INTERNAL, 2: SpanKind.SERVER, 3: SpanKind.CLIENT, 4: SpanKind.PRODUCER,
         5: SpanKind.CONSUMER}
STATUS = {0: StatusCode.UNSET, 1: StatusCode.OK, 2: StatusCode.ERROR}


def _value(any_value: Any) -> Any:
    kind = any_value.WhichOneof("value")
    if kind == "array_value":
        return tuple(_value(v) for v in any_value.array_value.values)
    if kind is None or kind == "kvlist_value":
        raise ValueError(f"the SDK cannot carry an attribute of type {kind}")
    return getattr(any_value, kind)


def _attributes(pairs: Any) -> dict[str, Any]:
    return {kv.key: _value(kv.value) for kv in pairs}


def _context(trace_id: bytes, span_id: bytes, remote: bool = False) -> SpanContext:
    return SpanContext(int.from_bytes(trace_id, "big"), int.from_bytes(span_id, "big"), is_remote=remote,
                       trace_flags=TraceFlags(TraceFlags.SAMPLED))


def readable_spans(requests: list[ExportTraceServiceRequest]) -> list[ReadableSpan]:
    """Every span of `requests` with its resource, scope, attributes, events, links, kind and status.

    The SDK's kind has no UNSPECIFIED: such spans become INTERNAL (the fixture has none)."""
    out = []
    for request in requests:
        for resource_spans in request.resource_spans:
            resource = Resource(_attributes(resource_spans.resource.attributes))
            for scope_spans in resource_spans.scope_spans:
                scope = InstrumentationScope(scope_spans.scope.name, scope_spans.scope.version or None)
                for span in scope_spans.spans:
                    parent = _context(span.trace_id, span.parent_span_id, True) if span.parent_span_id else None
                    status = STATUS[span.status.code]
                    out.append(ReadableSpan(
                        span.name, _context(span.trace_id, span.span_id), parent, resource,
                        _attributes(span.attributes),
                        [Event(e.name, _attributes(e.attributes), e.time_unix_nano) for e in span.events],
                        [Link(_context(link.trace_id, link.span_id, True), _attributes(link.attributes))
                         for link in span.links],
                        KINDS[span.kind], None,
                        Status(status, span.status.message or None) if status is StatusCode.ERROR else Status(status),
                        span.start_time_unix_nano, span.end_time_unix_nano, instrumentation_scope=scope))
    return out
