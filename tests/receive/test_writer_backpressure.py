"""A writer that cannot keep up: it refuses whole requests, loses nothing it took, and is
bounded in spans and bytes. Receivers answering UNAVAILABLE / 503 to such a refusal, and a
retry counted once: tests/test_backpressure.py."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import pytest

from kubespan.pipeline import Backpressure, Pipeline
from kubespan.stats import Counters
from kubespan.writers import formats
from kubespan.writers.stream import StreamWriter
from tests.support.requests import request_with_ids

WITH_ONE_BAD_ID = request_with_ids([(16, 8), (5, 8), (16, 8)]).SerializeToString()


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
    from kubespan.cli.config import service_options
    from kubespan.cli.main import build_parser
    from kubespan.service.options import service_config
    from kubespan.service.service import Service

    args = build_parser().parse_args(["serve", "--grpc", "off", "--http", "off", "--dump", str(tmp_path / "d.jsonl"),
                                      "--writer-queue-mib", "0.5"])
    runtime = Service(service_config(service_options(args)))
    runtime.start()
    try:
        assert runtime.writers[0].max_queue_bytes == 512 * 1024
    finally:
        runtime.shutdown()
