"""Requests refused for their bearer token: one stderr line per peer, rate-limited, never the token."""

from __future__ import annotations

import re

from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import (
    OTLPSpanExporter as GrpcExporter,
)
from opentelemetry.exporter.otlp.proto.http.trace_exporter import (
    OTLPSpanExporter as HttpExporter,
)
from opentelemetry.sdk.trace.export import SpanExportResult

from kubespan.receive.refusals import MISSING, WRONG, RefusalLog, grpc_peer, socket_peer
from kubespan.stats import Counters
from tests.support.otel_sdk import sdk_spans
from tests.support.serve_process import ServeProcess

TOKEN = "the-right-token-3f9a"
LINE = re.compile(r"kubespan: refused (\d+) requests? from (127\.0\.0\.1:\d+): (missing|wrong) bearer token\n")


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_the_first_refusal_is_said_at_once_then_at_most_once_an_interval() -> None:
    said: list[str] = []
    clock = Clock()
    counters = Counters()
    log = RefusalLog(counters, said.append, interval=3600, clock=clock)
    log.refused("127.0.0.1:53122", MISSING)
    assert said == ["kubespan: refused 1 request from 127.0.0.1:53122: missing bearer token"]
    for _ in range(11):
        log.refused("127.0.0.1:53122", MISSING)
    assert len(said) == 1  # the rest wait for the next round (a timer, or shutdown)
    log.flush()
    assert said[1:] == ["kubespan: refused 11 requests from 127.0.0.1:53122: missing bearer token"]
    assert counters.get("unauthenticated_requests") == 12 and log.latest == said[-1]
    log.flush()
    assert len(said) == 2  # nothing pending, nothing said


def test_many_peers_are_named_up_to_a_limit_then_summed() -> None:
    said: list[str] = []
    log = RefusalLog(Counters(), said.append, interval=3600, max_lines=2, clock=Clock())
    log.refused("10.0.0.9:1", WRONG)
    for port, times in ((2, 3), (3, 5), (4, 1), (5, 1)):
        for _ in range(times):
            log.refused(f"127.0.0.1:{port}", WRONG if port % 2 else MISSING)
    log.flush()
    assert said == [
        "kubespan: refused 1 request from 10.0.0.9:1: wrong bearer token",
        "kubespan: refused 5 requests from 127.0.0.1:3: wrong bearer token",
        "kubespan: refused 3 requests from 127.0.0.1:2: missing bearer token",
        "kubespan: refused 2 requests from 2 more peers: missing bearer token or wrong bearer token",
    ]


def test_the_next_round_comes_from_a_timer() -> None:
    said: list[str] = []
    clock = Clock()
    log = RefusalLog(Counters(), said.append, interval=0.05, clock=clock)
    log.refused("127.0.0.1:1", MISSING)
    clock.now += 0.01
    log.refused("127.0.0.1:1", MISSING)
    timer = log._timer
    assert timer is not None
    timer.join(10)
    assert said == ["kubespan: refused 1 request from 127.0.0.1:1: missing bearer token"] * 2


def test_peer_names() -> None:
    assert grpc_peer("ipv4:127.0.0.1:53122") == "127.0.0.1:53122"
    assert grpc_peer("ipv6:%5B::1%5D:53122") == "[::1]:53122"
    assert socket_peer(("::1", 8, 0, 0)) == "[::1]:8" and socket_peer(("127.0.0.1", 9)) == "127.0.0.1:9"


def test_serve_says_who_was_refused_and_why() -> None:
    server = ServeProcess("--grpc", "127.0.0.1:0", "--http", "127.0.0.1:0", "--token", TOKEN)
    exporters = [
        GrpcExporter(endpoint=server.addresses["grpc"], insecure=True, timeout=5),
        GrpcExporter(endpoint=server.addresses["grpc"], insecure=True, timeout=5,
                     headers={"authorization": "Bearer not-the-token"}),
        HttpExporter(endpoint=f"http://{server.addresses['http']}/v1/traces", timeout=5),
        HttpExporter(endpoint=f"http://{server.addresses['http']}/v1/traces", timeout=5,
                     headers={"Authorization": "Bearer not-the-token"}),
    ]
    try:
        for exporter in exporters:
            for _ in range(3):
                assert exporter.export(sdk_spans()) == SpanExportResult.FAILURE
            exporter.shutdown()
        counters = server.stop()
    finally:
        server.kill()
    lines = [line for line in server.stderr_lines if line.startswith("kubespan: refused")]
    assert all(LINE.fullmatch(line) for line in lines), lines
    assert sum(int(LINE.fullmatch(line).group(1)) for line in lines) == counters["unauthenticated_requests"] == 12
    reasons = [LINE.fullmatch(line).group(3) for line in lines]
    assert reasons.count("missing") >= 2 and reasons.count("wrong") >= 2
    assert len(lines) <= 8  # one at once and one at shutdown per peer, at most
    assert not any(TOKEN in line or "not-the-token" in line for line in server.stderr_lines)
