"""A writer that cannot keep up: receivers push back, retries deliver every span once."""

from __future__ import annotations

import json
import os
import threading

import grpc
import pytest

from kubespan.pipeline import Pipeline
from kubespan.receive.grpc_server import GrpcReceiver
from kubespan.receive.http_server import HttpReceiver
from kubespan.receive.settings import ReceiverSettings
from kubespan.stats import Counters
from kubespan.writers import formats
from kubespan.writers.stream import StreamWriter
from tests.receive.test_receive_grpc import stub
from tests.receive.test_receive_http import post
from tests.support.requests import request_with_ids

VALID = (16, 8)
BAD_TRACE = (5, 8)


class Gate:
    """A jsonl formatter that waits until opened, so the writer's queue fills up."""

    def __init__(self) -> None:
        self.opened = threading.Event()

    def __call__(self, batch):
        assert self.opened.wait(30), "the test never opened the gate"
        return formats.jsonl(batch)


class GatedWriter:
    """A StreamWriter to a temporary file whose formatter blocks until `release()`."""

    def __init__(self, path: str, counters: Counters, **limits) -> None:
        self.path = path
        self.gate = Gate()
        self.writer = StreamWriter.to_file("dump", path, self.gate, counters, **limits)

    def release(self) -> None:
        self.gate.opened.set()
        assert self.writer.wait_drained(30)

    def span_ids(self) -> list[str]:
        with open(self.path, encoding="utf-8") as dump:
            return [span["spanId"] for line in dump for span in _spans(json.loads(line))]


def _spans(request: dict):
    for resource_spans in request["resourceSpans"]:
        for scope_spans in resource_spans["scopeSpans"]:
            yield from scope_spans["spans"]


@pytest.fixture
def gated(tmp_path):
    counters = Counters()
    gated = GatedWriter(str(tmp_path / "dump.jsonl"), counters, max_queue_spans=2)
    pipeline = Pipeline(consumers=[gated.writer], counters=counters)
    yield gated, pipeline
    gated.gate.opened.set()
    gated.writer.close()


def first_and_second() -> tuple:
    """The request that fills the queue, and one with a bad id that must wait for room."""
    first = request_with_ids([VALID, VALID])
    second = request_with_ids([VALID, BAD_TRACE, VALID])
    for index, span in enumerate(second.resource_spans[0].scope_spans[0].spans):
        span.span_id = bytes([0xA0 + index]) * 8
    return first, second


def test_pipeline_counts_rejections_once_per_accepted_request(gated):
    from kubespan.pipeline import Backpressure

    writer, pipeline = gated
    first, second = first_and_second()
    assert pipeline.export_traces(first.SerializeToString()).rejected_spans == 0
    for _ in range(3):
        with pytest.raises(Backpressure):
            pipeline.export_traces(second.SerializeToString())
    assert pipeline.counters.get("rejected_spans") == 0
    writer.release()
    assert pipeline.export_traces(second.SerializeToString()).rejected_spans == 1
    assert pipeline.counters.get("rejected_spans") == 1
    assert pipeline.counters.get("refused_requests") == 3


def test_grpc_unavailable_then_retry_writes_every_span_once(gated):
    from google.rpc import error_details_pb2
    from grpc_status import rpc_status

    writer, pipeline = gated
    receiver = GrpcReceiver(pipeline, ReceiverSettings(), "127.0.0.1:0")
    address = receiver.start()
    try:
        first, second = first_and_second()
        stub(address).Export(first, timeout=10)
        for _ in range(2):
            with pytest.raises(grpc.RpcError) as error:
                stub(address).Export(second, timeout=10)
            assert error.value.code() == grpc.StatusCode.UNAVAILABLE
        retry = error_details_pb2.RetryInfo()
        assert rpc_status.from_call(error.value).details[0].Unpack(retry) and retry.retry_delay.seconds >= 1
        writer.release()
        response = stub(address).Export(second, timeout=10)
        assert response.partial_success.rejected_spans == 1
    finally:
        receiver.stop(grace=None)
    assert_written_once(writer, pipeline)


def test_http_503_then_retry_writes_every_span_once(gated):
    writer, pipeline = gated
    receiver = HttpReceiver(pipeline, ReceiverSettings(), "127.0.0.1:0")
    address = receiver.start()
    try:
        first, second = first_and_second()
        assert post(address, first.SerializeToString())[0] == 200
        for _ in range(2):
            status, headers, _ = post(address, second.SerializeToString())
            assert status == 503 and int(headers["Retry-After"]) >= 1
        writer.release()
        assert post(address, second.SerializeToString())[0] == 200
    finally:
        receiver.stop()
    assert_written_once(writer, pipeline)


def assert_written_once(writer: GatedWriter, pipeline: Pipeline) -> None:
    """Four valid spans, each written exactly once; the bad one rejected once."""
    writer.writer.close()
    ids = writer.span_ids()
    assert len(ids) == len(set(ids)) == 4
    assert pipeline.counters.get("written_spans") == pipeline.counters.get("received_spans") == 4
    assert pipeline.counters.get("rejected_spans") == 1
    assert os.path.getsize(writer.path) > 0
