"""Every span arrives whole through `kubespan serve --jsonl`: SDK exporters (gRPC and
HTTP/protobuf, with and without gzip) and OTLP/JSON posted by hand, every value type."""

from __future__ import annotations

import base64
import json
import urllib.request

import grpc
import pytest
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter as GrpcExporter
from opentelemetry.exporter.otlp.proto.http import Compression
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter as HttpExporter
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor, SpanExportResult
from opentelemetry.trace import Link, SpanKind, Status, StatusCode

from kubespan.otlp.jsoncodec import decode_traces_json
from tests.support.otel_sdk import Collect
from tests.support.serve_process import ServeProcess

VALUE_TYPES = {"string_value", "bool_value", "int_value", "double_value", "bytes_value", "array_value",
               "kvlist_value"}
EVERY_TYPE = {"s": "text", "b": True, "i": -(2**62), "d": 0.125, "raw": b"\x00\xff\x10",
              "list": ["a", "b"], "map": {"inner": 1, "nested": {"deep": "yes"}}}


def every_type_spans() -> list[ReadableSpan]:
    """SDK spans carrying each attribute value type on the span, an event, a link and the resource."""
    collect = Collect()
    provider = TracerProvider(resource=Resource.create({"service.name": "kubelet", "node.raw": b"\x01"}))
    provider.add_span_processor(SimpleSpanProcessor(collect))
    tracer = provider.get_tracer("k8s.io/kubelet", "1.27.1", schema_url="https://opentelemetry.io/schemas/1.21.0")
    with tracer.start_as_current_span("syncPod", kind=SpanKind.SERVER, attributes=EVERY_TYPE) as root:
        root.add_event("started", EVERY_TYPE)
        root.set_status(Status(StatusCode.ERROR, "failed"))
        link = Link(root.get_span_context(), EVERY_TYPE)
        with tracer.start_as_current_span("RunPodSandbox", kind=SpanKind.CLIENT, links=[link]):
            pass
    provider.shutdown()
    return collect.spans


def triples(requests: list[ExportTraceServiceRequest]) -> list:
    return [(rs.resource, rs.schema_url, ss.scope, ss.schema_url, span)
            for request in requests for rs in request.resource_spans
            for ss in rs.scope_spans for span in ss.spans]


def value_types(span) -> set[str]:
    return {kv.value.WhichOneof("value") for kv in span.attributes}


@pytest.fixture
def serve():
    process = ServeProcess("--grpc", "127.0.0.1:0", "--http", "127.0.0.1:0", "--jsonl")
    yield process
    process.kill()


def export(serve: ServeProcess, transport: str, gzip: bool, spans: list[ReadableSpan]) -> None:
    if transport == "grpc":
        exporter = GrpcExporter(endpoint=serve.addresses["grpc"], insecure=True,
                                compression=grpc.Compression.Gzip if gzip else None)
    else:
        exporter = HttpExporter(endpoint=f"http://{serve.addresses['http']}/v1/traces",
                                compression=Compression.Gzip if gzip else Compression.NoCompression)
    assert exporter.export(spans) == SpanExportResult.SUCCESS
    exporter.shutdown()


@pytest.mark.parametrize("gzip", [False, True], ids=["plain", "gzip"])
@pytest.mark.parametrize("transport", ["grpc", "http"])
def test_sdk_spans_arrive_intact_through_jsonl(serve, transport: str, gzip: bool):
    spans = every_type_spans()
    export(serve, transport, gzip, spans)
    received = [decode_traces_json(line) for line in serve.read_stdout_lines(len(spans))]
    assert triples(received) == triples([encode_spans(spans)])
    root = next(span for *_, span in triples(received) if span.name == "syncPod")
    child = next(span for *_, span in triples(received) if span.name == "RunPodSandbox")
    assert len(root.trace_id) == 16 and len(root.span_id) == 8 and child.parent_span_id == root.span_id
    assert root.start_time_unix_nano and root.end_time_unix_nano >= root.start_time_unix_nano
    assert (root.kind, root.status.code, root.status.message) == (2, 2, "failed")
    assert value_types(root) == value_types(root.events[0]) == value_types(child.links[0]) == VALUE_TYPES
    summary = serve.stop()
    assert summary["received_spans"] == summary["written_spans"] == len(spans)


def _value(value) -> dict:
    """`value` as OTLP/JSON, written by hand the way the spec shows it."""
    if isinstance(value, bool):
        return {"boolValue": value}
    if isinstance(value, int):
        return {"intValue": str(value)}
    if isinstance(value, float):
        return {"doubleValue": value}
    if isinstance(value, bytes):
        return {"bytesValue": base64.b64encode(value).decode()}
    if isinstance(value, list):
        return {"arrayValue": {"values": [_value(item) for item in value]}}
    if isinstance(value, dict):
        return {"kvlistValue": {"values": _attributes(value)}}
    return {"stringValue": value}


def _attributes(values: dict) -> list[dict]:
    return [{"key": key, "value": _value(value)} for key, value in values.items()]


HAND_WRITTEN = {"resourceSpans": [{
    "resource": {"attributes": _attributes({"service.name": "my.service", **EVERY_TYPE})},
    "schemaUrl": "https://opentelemetry.io/schemas/1.21.0",
    "scopeSpans": [{
        "scope": {"name": "my.library", "version": "1.0.0", "attributes": _attributes(EVERY_TYPE)},
        "spans": [{
            "traceId": "5b8efff798038103d269b633813fc60c", "spanId": "eee19b7ec3c1b174",
            "parentSpanId": "eee19b7ec3c1b173", "name": "I'm a server span", "kind": 2,
            "startTimeUnixNano": "1544712660000000000", "endTimeUnixNano": "1544712661000000000",
            "attributes": _attributes(EVERY_TYPE),
            "events": [{"timeUnixNano": "1544712660500000000", "name": "ev", "attributes": _attributes(EVERY_TYPE)}],
            "links": [{"traceId": "5b8efff798038103d269b633813fc60d", "spanId": "eee19b7ec3c1b175",
                       "attributes": _attributes(EVERY_TYPE)}],
            "status": {"code": 2, "message": "boom"},
        }, {
            "traceId": "5b8efff798038103d269b633813fc60c", "spanId": "eee19b7ec3c1b173", "name": "root",
            "kind": 1, "startTimeUnixNano": "1544712660000000000", "endTimeUnixNano": "1544712662000000000",
        }],
    }],
}]}


def test_hand_posted_json_arrives_intact_through_jsonl(serve):
    body = json.dumps(HAND_WRITTEN).encode()
    request = urllib.request.Request(f"http://{serve.addresses['http']}/v1/traces", data=body,
                                     headers={"Content-Type": "application/json"}, method="POST")
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.status == 200 and json.loads(response.read()) == {"partialSuccess": {}}
    received = [decode_traces_json(line) for line in serve.read_stdout_lines(2)]
    assert triples(received) == triples([decode_traces_json(body)])
    resource, _, scope, _, span = triples(received)[0]
    assert span.span_id.hex() == "eee19b7ec3c1b174" and span.status.message == "boom"
    assert value_types(span) == value_types(span.events[0]) == value_types(span.links[0]) == VALUE_TYPES
    assert value_types(scope) == VALUE_TYPES and value_types(resource) == VALUE_TYPES
