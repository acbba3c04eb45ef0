"""The k8s fixture shared by the Tempo golden files and kubespan's API tests: loading it, shifting its
timestamps (Tempo searches recent data only, so the capture moves the fixture to "just now" and records by
how much), and the identifiers tests refer to. Built by :mod:`tests.support.k8s_fixture_build`."""

from __future__ import annotations

import gzip
from pathlib import Path

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from kubespan.otlp.jsoncodec import decode_traces_json

FIXTURE_PATH = Path(__file__).resolve().parents[1] / "data" / "k8s_fixture.jsonl.gz"
FIXTURE_START_NS = 1_684_842_360_000_000_000  # 2023-05-23 11:46:00 UTC, the first span starts after it
BLOG_TRACE_ID = "2fb1aa0c3d5e4f60718293a4b5c6d7e8"  # the walkthrough's 11-span syncPod create trace
NOOP_TRACE_ID = "005e159824c1a2b3c4d5e6f708192a3b"  # a 1-span syncPod whose id starts with zeros


def fixture_lines() -> list[bytes]:
    """The stored OTLP/JSON lines, one export request each."""
    return [line for line in gzip.decompress(FIXTURE_PATH.read_bytes()).splitlines() if line.strip()]


def shift_request(req: ExportTraceServiceRequest, shift_ns: int) -> ExportTraceServiceRequest:
    """Moves every span and event of `req` by `shift_ns` (in place); returns it."""
    if shift_ns:
        for rs in req.resource_spans:
            for ss in rs.scope_spans:
                for span in ss.spans:
                    span.start_time_unix_nano += shift_ns
                    span.end_time_unix_nano += shift_ns
                    for ev in span.events:
                        ev.time_unix_nano += shift_ns
    return req


def load_fixture(shift_ns: int = 0) -> list[ExportTraceServiceRequest]:
    """The fixture's export requests, timestamps moved by `shift_ns`."""
    return [shift_request(decode_traces_json(line), shift_ns) for line in fixture_lines()]


def fixture_bounds(requests: list[ExportTraceServiceRequest]) -> tuple[int, int]:
    """(earliest span start, latest span end) in unix nanoseconds."""
    starts, ends = [], []
    for req in requests:
        for rs in req.resource_spans:
            for ss in rs.scope_spans:
                for span in ss.spans:
                    starts.append(span.start_time_unix_nano)
                    ends.append(span.end_time_unix_nano)
    return min(starts), max(ends)
