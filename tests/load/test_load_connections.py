"""Slow, vanishing and idle clients: the receivers keep serving everyone else promptly."""

from __future__ import annotations

import resource
import time
from collections.abc import Iterator

import pytest

from kubespan.pipeline import Pipeline
from kubespan.receive.http_server import HttpReceiver
from kubespan.receive.settings import ReceiverSettings
from tests.support.forward_helpers import make_request, wait_until
from tests.support.load_clients import (
    Probe,
    Trickle,
    closed_by_server,
    connect,
    grpc_abandon_mid_message,
    http_abandon_mid_body,
    idle_http,
    idle_http2,
)
from tests.support.recorder import Recorder

PROMPT_S = 2.0
"""Slowest acceptable Export for a well-behaved client (loose: the machine is shared)."""
IDLE_CONNECTIONS = 2000


@pytest.fixture
def probe(grpc_address: str, http_address: str) -> Iterator[Probe]:
    client = Probe(grpc_address, http_address)
    yield client
    client.close()


def test_body_trickled_byte_by_byte_does_not_delay_others(probe: Probe, http_address: str,
                                                          recorder: Recorder) -> None:
    body = make_request(1, 10_000)
    trickle = Trickle(http_address, body, gap=0.01)
    trickle.start()
    rounds = 0
    while trickle.is_alive() or rounds < 5:
        probe.round(rounds * 4)
        rounds += 1
    trickle.join()
    assert trickle.error is None and trickle.status == 200
    assert probe.slowest < PROMPT_S, f"an Export took {probe.slowest:.2f} s while a body trickled in"
    assert recorder.wait_for_spans(probe.sent + 1)


def test_body_too_slow_is_cut_at_the_read_deadline(recorder: Recorder) -> None:
    pipeline = Pipeline(consumers=[recorder])
    receiver = HttpReceiver(pipeline, ReceiverSettings(grpc=None), "127.0.0.1:0")
    receiver.body_timeout = 0.5
    address = receiver.start()
    trickle = Trickle(address, make_request(1), gap=0.05)
    try:
        trickle.start()
        trickle.join(timeout=30)
        assert trickle.error is None and trickle.status == 408
        assert pipeline.counters.get("timed_out_requests") == 1
    finally:
        trickle.stop.set()
        receiver.stop()
    assert recorder.span_count == 0


def test_clients_hanging_up_mid_request_leave_the_receivers_serving(probe: Probe, grpc_address: str,
                                                                    http_address: str, recorder: Recorder,
                                                                    pipeline: Pipeline) -> None:
    for index in range(20):
        grpc_abandon_mid_message(grpc_address)
        http_abandon_mid_body(http_address)
        probe.round(index * 4)
    assert probe.slowest < PROMPT_S
    assert recorder.wait_for_spans(probe.sent)
    assert wait_until(lambda: pipeline.counters.get("aborted_requests") == 20)
    assert recorder.span_count == probe.sent, "nothing from the abandoned requests was accepted"
    assert not pipeline.counters.get("invalid_requests")


def test_stop_is_prompt_while_a_body_still_trickles(recorder: Recorder) -> None:
    from kubespan.receive.http_server import SHUTDOWN_GRACE_S

    receiver = HttpReceiver(Pipeline(consumers=[recorder]), ReceiverSettings(grpc=None), "127.0.0.1:0")
    trickle = Trickle(receiver.start(), make_request(50), gap=0.05)
    trickle.start()
    try:
        assert wait_until(lambda: receiver_has_connection(receiver))
        began = time.monotonic()
        receiver.stop()
        assert time.monotonic() - began < SHUTDOWN_GRACE_S + 3
    finally:
        trickle.stop.set()


def test_thousands_of_idle_connections_leave_the_receivers_serving(probe: Probe, grpc_address: str,
                                                                   http_address: str, recorder: Recorder) -> None:
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    assert soft >= 4 * IDLE_CONNECTIONS + 256, f"RLIMIT_NOFILE {soft} is too low for this test"
    idle = idle_http(http_address, IDLE_CONNECTIONS) + idle_http2(grpc_address, IDLE_CONNECTIONS)
    try:
        for index in range(10):
            probe.round(index * 4)
        assert probe.slowest < PROMPT_S, f"an Export took {probe.slowest:.2f} s with {len(idle)} idle connections"
        assert recorder.wait_for_spans(probe.sent)
    finally:
        for sock in idle:
            sock.close()


def test_idle_connections_are_closed_after_the_idle_limit(recorder: Recorder) -> None:
    from kubespan.receive.grpc_server import GrpcReceiver

    pipeline = Pipeline(consumers=[recorder])
    http = HttpReceiver(pipeline, ReceiverSettings(grpc=None), "127.0.0.1:0")
    grpc_receiver = GrpcReceiver(pipeline, ReceiverSettings(http=None), "127.0.0.1:0")
    http.keepalive_timeout = grpc_receiver.max_connection_idle = grpc_receiver.handshake_timeout = 0.5
    http_address, grpc_address = http.start(), grpc_receiver.start()
    idle = []
    try:
        silent = [connect(http_address), connect(grpc_address)]  # never send a byte
        idle = silent + idle_http(http_address, 3) + idle_http2(grpc_address, 3)
        assert all(closed_by_server(sock, timeout=10) for sock in idle)
    finally:
        for sock in idle:
            sock.close()
        http.stop()
        grpc_receiver.stop(grace=None)


def receiver_has_connection(receiver: HttpReceiver) -> bool:
    """Whether aiohttp holds an open connection (the trickling client's)."""
    server = receiver._runner.server if receiver._runner is not None else None
    return bool(server is not None and server.connections)
