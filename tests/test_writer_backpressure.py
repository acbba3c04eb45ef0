"""A writer that cannot keep up: receivers push back, and a retry is counted once."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import grpc
import pytest

from kubespan.pipeline import Backpressure, Pipeline
from kubespan.receive.grpc_server import GrpcReceiver
from kubespan.receive.http_server import HttpReceiver
from kubespan.receive.settings import ReceiverSettings
from kubespan.stats import Counters
from kubespan.writers import formats
from kubespan.writers.stream import StreamWriter
from tests.requests import request_with_ids
from tests.test_receive_grpc import stub
from tests.test_receive_http import post

WITH_ONE_BAD_ID = request_with_ids([(16, 8), (5, 8), (16, 8)]).SerializeToString()


class Switch:
    """A consumer that is full until `room` is set."""

    def __init__(self) -> None:
        self.room = threading.Event()
        self.spans = 0

    def has_room(self, spans: int, size: int = 0) -> bool:
        return self.room.is_set()

    def consume_traces(self, batch) -> None:
        self.spans += batch.span_count


def test_rejected_spans_count_once_per_accepted_request_not_per_attempt():
    switch = Switch()
    pipeline = Pipeline(consumers=[switch])
    for _ in range(3):
        with pytest.raises(Backpressure):
            pipeline.export_traces(WITH_ONE_BAD_ID)
    assert pipeline.counters.get("rejected_spans") == 0
    switch.room.set()
    assert pipeline.export_traces(WITH_ONE_BAD_ID).rejected_spans == 1
    assert pipeline.counters.get("rejected_spans") == 1
    assert (pipeline.counters.get("received_spans"), switch.spans) == (2, 2)
    assert pipeline.counters.get("refused_requests") == 3


def test_grpc_unavailable_then_retry_counts_rejections_once():
    switch = Switch()
    pipeline = Pipeline(consumers=[switch])
    receiver = GrpcReceiver(pipeline, ReceiverSettings(), "127.0.0.1:0")
    address = receiver.start()
    try:
        with pytest.raises(grpc.RpcError) as error:
            stub(address).Export.future(_request(), timeout=10).result()
        assert error.value.code() == grpc.StatusCode.UNAVAILABLE
        switch.room.set()
        assert stub(address).Export(_request(), timeout=10).partial_success.rejected_spans == 1
    finally:
        receiver.stop(grace=None)
    assert pipeline.counters.get("rejected_spans") == 1 and switch.spans == 2


def test_http_503_then_retry_counts_rejections_once():
    switch = Switch()
    pipeline = Pipeline(consumers=[switch])
    receiver = HttpReceiver(pipeline, ReceiverSettings(), "127.0.0.1:0")
    address = receiver.start()
    try:
        status, headers, _ = post(address, WITH_ONE_BAD_ID)
        assert status == 503 and int(headers["Retry-After"]) >= 1
        switch.room.set()
        assert post(address, WITH_ONE_BAD_ID)[0] == 200
    finally:
        receiver.stop()
    assert pipeline.counters.get("rejected_spans") == 1 and switch.spans == 2


def _request():
    from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

    return ExportTraceServiceRequest.FromString(WITH_ONE_BAD_ID)


def test_a_stalled_writer_refuses_then_loses_nothing_it_accepted(tmp_path: Path):
    gate = threading.Event()

    def stalled(batch):
        assert gate.wait(30), "the test never opened the gate"
        return formats.jsonl(batch)

    counters = Counters()
    path = tmp_path / "dump.jsonl"
    writer = StreamWriter.to_file("dump", str(path), stalled, counters, max_queue_spans=2)
    pipeline = Pipeline(consumers=[writer], counters=counters)
    try:
        pipeline.export_traces(request_with_ids([(16, 8), (16, 8)]).SerializeToString())
        with pytest.raises(Backpressure):
            pipeline.export_traces(WITH_ONE_BAD_ID)
    finally:
        gate.set()
        writer.close()
    lines = path.read_text().splitlines()
    assert len(lines) == 2 and all(json.loads(line)["resourceSpans"] for line in lines)
    assert counters.get("written_spans") == counters.get("received_spans") == 2
    assert counters.get("rejected_spans") == 0


def test_the_writer_queue_is_bounded_in_bytes_too(tmp_path: Path):
    gate = threading.Event()

    def stalled(batch):
        assert gate.wait(30), "the test never opened the gate"
        return formats.jsonl(batch)

    big = request_with_ids([(16, 8)])
    big.resource_spans[0].scope_spans[0].spans[0].name = "x" * 100_000
    raw = big.SerializeToString()
    counters = Counters()
    writer = StreamWriter.to_file("dump", str(tmp_path / "d.jsonl"), stalled, counters,
                                  max_queue_spans=1_000, max_queue_bytes=150_000)
    pipeline = Pipeline(consumers=[writer], counters=counters)
    try:
        pipeline.export_traces(raw)  # an empty queue always has room
        assert counters.snapshot()["dump_queue_bytes"] == len(raw)
        with pytest.raises(Backpressure):
            pipeline.export_traces(raw)
        assert counters.get("refused_requests") == 1
    finally:
        gate.set()
        writer.close()
    assert counters.snapshot()["dump_queue_bytes"] == 0
    assert counters.get("written_spans") == 1


def test_writer_queue_mib_reaches_the_writers(tmp_path: Path):
    from kubespan.cli.main import build_parser
    from kubespan.cli.options import runtime_config
    from kubespan.runtime import Runtime

    args = build_parser().parse_args(["serve", "--dump", str(tmp_path / "d.jsonl"), "--writer-queue-mib", "0.5"])
    runtime = Runtime(runtime_config(args))
    try:
        assert runtime.writers[0].max_queue_bytes == 512 * 1024
    finally:
        runtime.stop()
