"""OTLP/HTTP receiver end to end: the official SDK exporter, hand-posted JSON, every error path."""

from __future__ import annotations

import gzip
import json
import urllib.error
import urllib.request

import pytest
from google.rpc import status_pb2
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.exporter.otlp.proto.http import Compression
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceResponse
from opentelemetry.sdk.trace.export import SpanExportResult

from kubespan.pipeline import Pipeline
from kubespan.receive.http_server import HttpReceiver
from kubespan.receive.settings import ReceiverSettings
from tests.support.otel_sdk import sdk_spans
from tests.support.requests import k8s_request, request_with_ids

PROTOBUF = "application/x-protobuf"
JSON = "application/json"

SPEC_EXAMPLE = {
    "resourceSpans": [{
        "resource": {"attributes": [{"key": "service.name", "value": {"stringValue": "my.service"}}]},
        "scopeSpans": [{
            "scope": {"name": "my.library", "version": "1.0.0"},
            "spans": [{
                "traceId": "5B8EFFF798038103D269B633813FC60C",
                "spanId": "EEE19B7EC3C1B174",
                "parentSpanId": "EEE19B7EC3C1B173",
                "name": "I'm a server span",
                "startTimeUnixNano": "1544712660000000000",
                "endTimeUnixNano": 1544712661000000000,
                "kind": 2,
                "attributes": [{"key": "my.span.attr", "value": {"stringValue": "some value"}}],
                "someFutureField": {"ignored": True},
            }],
        }],
    }]
}


def post(address: str, body: bytes, content_type: str = PROTOBUF, method: str = "POST",
         path: str = "/v1/traces", headers: dict | None = None) -> tuple[int, dict, bytes]:
    request = urllib.request.Request(
        f"http://{address}{path}", data=body if method == "POST" else None, method=method,
        headers={"Content-Type": content_type, **(headers or {})},
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()


def assert_still_serving(address: str, recorder) -> None:
    before = recorder.span_count
    status, _, _ = post(address, k8s_request(spans=2).SerializeToString())
    assert status == 200 and recorder.span_count == before + 2


@pytest.mark.parametrize("compression", [Compression.NoCompression, Compression.Gzip])
def test_sdk_exporter_spans_arrive_intact(http_address, recorder, compression):
    spans = sdk_spans()
    exporter = OTLPSpanExporter(endpoint=f"http://{http_address}/v1/traces", compression=compression)
    assert exporter.export(spans) == SpanExportResult.SUCCESS
    exporter.shutdown()
    assert [batch.request for batch in recorder.batches] == [encode_spans(spans)]


def test_hand_posted_json_is_decoded_and_answered_in_json(http_address, recorder):
    status, headers, body = post(http_address, json.dumps(SPEC_EXAMPLE).encode(), "application/json; charset=utf-8")
    assert status == 200
    assert headers["Content-Type"].startswith(JSON)
    assert json.loads(body) == {"partialSuccess": {}}
    [(resource_spans, scope_spans, span)] = list(recorder.spans())
    assert span.trace_id.hex() == "5b8efff798038103d269b633813fc60c"
    assert span.parent_span_id.hex() == "eee19b7ec3c1b173"
    assert span.kind == 2 and span.end_time_unix_nano == 1544712661000000000
    assert scope_spans.scope.version == "1.0.0"
    assert resource_spans.resource.attributes[0].value.string_value == "my.service"


def test_gzipped_protobuf(http_address, recorder):
    body = gzip.compress(k8s_request(spans=4).SerializeToString())
    status, headers, payload = post(http_address, body, headers={"Content-Encoding": "gzip"})
    assert status == 200 and headers["Content-Type"] == PROTOBUF
    assert payload == b"\x0a\x00"
    assert recorder.span_count == 4


def test_partial_success_for_bad_ids_in_both_encodings(http_address, recorder):
    status, _, body = post(http_address, request_with_ids([(16, 8), (4, 8)]).SerializeToString())
    response = ExportTraceServiceResponse.FromString(body)
    assert status == 200 and response.partial_success.rejected_spans == 1
    document = {"resourceSpans": [{"scopeSpans": [{"spans": [
        {"traceId": "01" * 16, "spanId": "02" * 8, "name": "ok"},
        {"traceId": "01" * 16, "spanId": "0203", "name": "short id"},
    ]}]}]}
    status, _, body = post(http_address, json.dumps(document).encode(), JSON)
    answer = json.loads(body)
    assert status == 200 and answer["partialSuccess"]["rejectedSpans"] in (1, "1")
    assert "invalid span id" in answer["partialSuccess"]["errorMessage"]
    assert recorder.span_count == 2


def error_status(body: bytes, content_type: str):
    if content_type == JSON:
        return json.loads(body)
    return status_pb2.Status.FromString(body)


@pytest.mark.parametrize("content_type", [PROTOBUF, JSON])
def test_undecodable_body_is_400_with_a_status_body(http_address, recorder, pipeline, content_type):
    status, headers, body = post(http_address, b"\x0a\xff\xff garbage {", content_type)
    assert status == 400 and headers["Content-Type"] == content_type
    decoded = error_status(body, content_type)
    message = decoded["message"] if content_type == JSON else decoded.message
    assert message
    assert pipeline.counters.get("invalid_requests") == 1
    assert_still_serving(http_address, recorder)


def test_other_methods_are_405(http_address):
    status, headers, body = post(http_address, b"", method="GET")
    assert status == 405 and body == b"405 method not allowed, supported: [POST]"
    assert headers["Content-Type"].startswith("text/plain")


def test_other_media_types_are_415(http_address):
    status, _, body = post(http_address, b"{}", "text/plain")
    assert status == 415
    assert body == b"415 unsupported media type, supported: [application/json, application/x-protobuf]"


def test_unknown_path_is_404(http_address):
    assert post(http_address, b"", path="/v1/nothing")[0] == 404


def test_unknown_content_encoding_is_400(http_address, recorder):
    status, _, body = post(http_address, b"xx", headers={"Content-Encoding": "br"})
    assert status == 400 and b"unsupported Content-Encoding: br" in body
    assert_still_serving(http_address, recorder)


def test_oversize_and_gzip_bomb_are_413_without_inflating(recorder):
    pipeline = Pipeline(consumers=[recorder])
    receiver = HttpReceiver(pipeline, ReceiverSettings(max_recv_mib=1), "127.0.0.1:0")
    address = receiver.start()
    try:
        status, _, _ = post(address, b"\x00" * (2 << 20))
        assert status == 413
        bomb = gzip.compress(b"\x00" * (512 << 20), compresslevel=9)
        assert len(bomb) < 1 << 20
        status, _, body = post(address, bomb, headers={"Content-Encoding": "gzip"})
        assert status == 413 and b"too large" in body
        assert_still_serving(address, recorder)
    finally:
        receiver.stop()


def test_truncated_gzip_is_400(http_address):
    body = gzip.compress(k8s_request().SerializeToString())[:-12]
    assert post(http_address, body, headers={"Content-Encoding": "gzip"})[0] == 400


@pytest.mark.parametrize("path,key", [("/v1/logs", "received_logs"), ("/v1/metrics", "received_metrics")])
def test_logs_and_metrics_are_accepted_and_counted(http_address, pipeline, path, key):
    inner = {"/v1/logs": {"resourceLogs": [{"scopeLogs": [{"logRecords": [{}, {}]}]}]},
             "/v1/metrics": {"resourceMetrics": [{"scopeMetrics": [{"metrics": [{"name": "a"}, {"name": "b"}]}]}]}}
    status, _, body = post(http_address, json.dumps(inner[path]).encode(), JSON, path=path)
    assert status == 200 and json.loads(body) == {"partialSuccess": {}}
    assert pipeline.counters.get(key) == 2
