"""OTLP/gRPC receiver end to end: the official SDK exporter, raw stubs, every error path."""

from __future__ import annotations

import grpc
import pytest
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter
from opentelemetry.proto.collector.logs.v1 import logs_service_pb2, logs_service_pb2_grpc
from opentelemetry.proto.collector.metrics.v1 import metrics_service_pb2, metrics_service_pb2_grpc
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2, trace_service_pb2_grpc
from opentelemetry.sdk.trace.export import SpanExportResult

from kubespan.pipeline import Backpressure, Pipeline
from kubespan.receive.grpc_server import GrpcReceiver
from kubespan.receive.settings import ReceiverSettings
from tests.support.otel_sdk import sdk_spans
from tests.support.requests import k8s_request, request_with_ids

Request = trace_service_pb2.ExportTraceServiceRequest


def stub(address: str) -> trace_service_pb2_grpc.TraceServiceStub:
    return trace_service_pb2_grpc.TraceServiceStub(grpc.insecure_channel(address))


def assert_still_serving(address: str, recorder) -> None:
    before = recorder.span_count
    response = stub(address).Export(k8s_request(spans=2), timeout=10)
    assert not response.partial_success.rejected_spans
    assert recorder.span_count == before + 2


@pytest.mark.parametrize("compression", [None, grpc.Compression.Gzip])
def test_sdk_exporter_spans_arrive_intact(grpc_address, recorder, compression):
    spans = sdk_spans()
    exporter = OTLPSpanExporter(endpoint=grpc_address, insecure=True, compression=compression)
    assert exporter.export(spans) == SpanExportResult.SUCCESS
    exporter.shutdown()
    assert recorder.wait_for_spans(len(spans))
    assert [batch.request for batch in recorder.batches] == [encode_spans(spans)]


def test_received_columns_match_the_spans(grpc_address, recorder, pipeline):
    spans = sdk_spans()
    OTLPSpanExporter(endpoint=grpc_address, insecure=True).export(spans)
    batch = recorder.batches[0]
    by_name = {span.name: span for span in spans}
    assert sorted(batch.spans.name) == sorted(by_name)
    for index, name in enumerate(batch.spans.name):
        span = by_name[name]
        assert batch.spans.trace_id[index] == span.context.trace_id.to_bytes(16, "big")
        assert batch.spans.span_id[index] == span.context.span_id.to_bytes(8, "big")
        assert batch.spans.start[index] == span.start_time
        assert batch.spans.end[index] == span.end_time
        keys = [pipeline.table.attributes[i].key for i in batch.spans.attribute_ids[index]]
        assert keys == list(span.attributes)
    assert batch.resources[0].service == "kubelet"
    assert batch.scopes[0].name == "k8s.io/kubelet" and batch.scopes[0].version == "1.27.1"
    assert batch.spans.event_names[batch.spans.name.index("syncPod")] == ("pod started",)


def test_empty_request_succeeds_and_reaches_no_consumer(grpc_address, recorder):
    response = stub(grpc_address).Export(Request(), timeout=10)
    assert response.SerializeToString() == b"\x0a\x00"  # the Collector's empty partial_success
    assert not recorder.batches


def test_spans_with_bad_ids_are_rejected_one_by_one(grpc_address, recorder):
    request = request_with_ids([(16, 8), (5, 8), (16, 3), (16, 8), (0, 8)])
    response = stub(grpc_address).Export(request, timeout=10)
    assert response.partial_success.rejected_spans == 3
    assert "invalid trace id" in response.partial_success.error_message
    assert "invalid span id" in response.partial_success.error_message
    assert recorder.span_count == 2
    kept = [span for _, _, span in recorder.spans()]
    assert all(len(span.trace_id) == 16 and len(span.span_id) == 8 for span in kept)
    assert_still_serving(grpc_address, recorder)


def test_garbage_is_internal_like_the_collector(grpc_address, recorder, pipeline):
    call = grpc.insecure_channel(grpc_address).unary_unary(
        "/opentelemetry.proto.collector.trace.v1.TraceService/Export"
    )
    with pytest.raises(grpc.RpcError) as error:
        call(b"\x0a\xff\xff\xff\xff\x0f garbage", timeout=10)
    assert error.value.code() == grpc.StatusCode.INTERNAL
    assert "unmarshalling" in error.value.details()
    assert pipeline.counters.get("invalid_requests") == 1
    assert_still_serving(grpc_address, recorder)


def test_oversize_request_is_resource_exhausted_even_when_gzipped(recorder):
    pipeline = Pipeline(consumers=[recorder])
    receiver = GrpcReceiver(pipeline, ReceiverSettings(max_recv_mib=0.05), "127.0.0.1:0")
    address = receiver.start()
    try:
        big = k8s_request(spans=1, name="x" * 200_000)
        for compression in (None, grpc.Compression.Gzip):
            with pytest.raises(grpc.RpcError) as error:
                stub(address).Export(big, timeout=10, compression=compression)
            assert error.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
        assert_still_serving(address, recorder)
    finally:
        receiver.stop(grace=None)


def test_logs_and_metrics_are_accepted_and_counted(grpc_address, pipeline):
    channel = grpc.insecure_channel(grpc_address)
    logs = logs_service_pb2.ExportLogsServiceRequest()
    logs.resource_logs.add().scope_logs.add().log_records.add().body.string_value = "hello"
    logs_service_pb2_grpc.LogsServiceStub(channel).Export(logs, timeout=10)
    metrics = metrics_service_pb2.ExportMetricsServiceRequest()
    metrics.resource_metrics.add().scope_metrics.add().metrics.add(name="pods")
    metrics_service_pb2_grpc.MetricsServiceStub(channel).Export(metrics, timeout=10)
    assert pipeline.counters.get("received_logs") == 1
    assert pipeline.counters.get("received_metrics") == 1


class Full:
    """A consumer that is always full."""

    def has_room(self, spans: int, size: int = 0) -> bool:
        return False

    def consume_traces(self, batch) -> None:
        raise AssertionError("a refused batch must reach no consumer")


def test_full_consumer_answers_unavailable_with_retry_info(recorder):
    from google.rpc import error_details_pb2
    from grpc_status import rpc_status

    pipeline = Pipeline(consumers=[recorder, Full()])
    receiver = GrpcReceiver(pipeline, ReceiverSettings(), "127.0.0.1:0")
    address = receiver.start()
    try:
        with pytest.raises(grpc.RpcError) as error:
            stub(address).Export(k8s_request(spans=3), timeout=10)
        assert error.value.code() == grpc.StatusCode.UNAVAILABLE
        status = rpc_status.from_call(error.value)
        retry = error_details_pb2.RetryInfo()
        assert status.details[0].Unpack(retry) and retry.retry_delay.seconds >= 1
        assert recorder.span_count == 0
        assert pipeline.counters.get("refused_spans") == 3
    finally:
        receiver.stop(grace=None)
    assert issubclass(Backpressure, Exception)
