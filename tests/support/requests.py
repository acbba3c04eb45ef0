"""Hand-built OTLP requests for receiver and decoder tests."""

from __future__ import annotations

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

START_NS = 1_700_000_000_000_000_000


def k8s_request(spans: int = 3, name: str = "syncPod", service: str = "kubelet") -> ExportTraceServiceRequest:
    """A kubelet-like request with `spans` spans of one trace."""
    request = ExportTraceServiceRequest()
    resource_spans = request.resource_spans.add()
    resource_spans.resource.attributes.add(key="service.name").value.string_value = service
    scope_spans = resource_spans.scope_spans.add()
    scope_spans.scope.name = "k8s.io/kubelet"
    for index in range(spans):
        span = scope_spans.spans.add(
            trace_id=bytes(range(1, 17)),
            span_id=(index + 1).to_bytes(8, "big"),
            name=name,
            kind=1,
            start_time_unix_nano=START_NS + index,
            end_time_unix_nano=START_NS + index + 1_000_000,
        )
        if index:
            span.parent_span_id = (1).to_bytes(8, "big")
        span.attributes.add(key="k8s.pod").value.string_value = "default/echo-command"
        span.attributes.add(key="net.peer.port").value.int_value = 54678
    return request


def request_with_ids(lengths: list[tuple[int, int]]) -> ExportTraceServiceRequest:
    """One span per (trace id length, span id length) pair."""
    request = ExportTraceServiceRequest()
    scope_spans = request.resource_spans.add().scope_spans.add()
    for index, (trace_len, span_len) in enumerate(lengths):
        scope_spans.spans.add(
            trace_id=bytes([index + 1]) * trace_len,
            span_id=bytes([index + 1]) * span_len,
            name=f"span-{index}",
            start_time_unix_nano=START_NS,
            end_time_unix_nano=START_NS + 1,
        )
    return request


def one_span_requests(request: ExportTraceServiceRequest) -> list[ExportTraceServiceRequest]:
    """A request per span of `request`, each with that span's resource and scope (schema URLs kept)."""
    out = []
    for resource_spans in request.resource_spans:
        for scope_spans in resource_spans.scope_spans:
            for span in scope_spans.spans:
                one = ExportTraceServiceRequest()
                rs = one.resource_spans.add(schema_url=resource_spans.schema_url)
                rs.resource.CopyFrom(resource_spans.resource)
                ss = rs.scope_spans.add(schema_url=scope_spans.schema_url)
                ss.scope.CopyFrom(scope_spans.scope)
                ss.spans.append(span)
                out.append(one)
    return out


def reference_span_lines(raw: bytes) -> list[str]:
    """What every span-line writer must write for a request: the request JSON of each one-span request."""
    from kubespan.encode.otlp_json import encode_request_json

    return [encode_request_json(one) for one in one_span_requests(ExportTraceServiceRequest.FromString(raw))]


def append_to_first_span(raw: bytes, tail: bytes) -> bytes:
    """`raw` with `tail` appended inside its first span, every enclosing length grown to match."""
    request = ExportTraceServiceRequest.FromString(raw)
    resource_spans = request.resource_spans[0]
    scope_spans = resource_spans.scope_spans[0]
    span = scope_spans.spans[0].SerializeToString() + tail
    rest_spans = b"".join(_field(2, s.SerializeToString()) for s in scope_spans.spans[1:])
    scope_fields = _field(1, scope_spans.scope.SerializeToString()) + _field(2, span) + rest_spans
    resource_fields = _field(1, resource_spans.resource.SerializeToString()) + _field(2, scope_fields)
    return _field(1, resource_fields)


def _field(number: int, payload: bytes) -> bytes:
    length, out = len(payload), bytearray([number << 3 | 2])
    while length >= 0x80:
        out.append(length & 0x7F | 0x80)
        length >>= 7
    out.append(length)
    return bytes(out) + payload
