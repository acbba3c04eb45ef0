"""Clients that break HTTP itself: they leave mid-request or send what is not HTTP.

The HTTP receiver answers what can be answered, counts abandoned requests, logs no
traceback, and keeps serving.
"""

from __future__ import annotations

import logging
import socket
import struct
import time

import pytest

from kubespan.pipeline import Pipeline
from tests.hostile import payloads
from tests.hostile.clients import PROTOBUF, send_http
from tests.support.recorder import Recorder

HEAD = b"POST /v1/traces HTTP/1.1\r\nHost: kubespan\r\nContent-Type: application/x-protobuf\r\n"
BODY = payloads.valid(50)

ABANDONED = {
    "content_length_then_close": HEAD + b"Content-Length: 100000\r\n\r\n" + BODY[:100],
    "gzip_then_close": HEAD + b"Content-Encoding: gzip\r\nContent-Length: 100000\r\n\r\n"
    + payloads.gzipped(BODY)[:60],
    "chunked_then_close": HEAD + b"Transfer-Encoding: chunked\r\n\r\n100\r\n" + BODY[:10],
}


def connect(address: str, reset: bool) -> socket.socket:
    host, _, port = address.rpartition(":")
    sock = socket.create_connection((host, int(port)), timeout=10)
    if reset:  # close with RST instead of FIN
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    return sock


def wait_for(predicate, timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.005)
    return True


def assert_quiet_and_serving(address: str, recorder: Recorder, caplog) -> None:
    before = recorder.span_count
    answer = send_http(address, payloads.valid(2), {"Content-Type": PROTOBUF})
    assert answer.status == 200 and recorder.span_count == before + 2
    assert not [r for r in caplog.records if r.exc_info or r.levelno >= logging.ERROR]


@pytest.mark.parametrize("reset", [False, True], ids=["fin", "rst"])
def test_clients_leaving_mid_body_are_counted_not_logged(http_address: str, pipeline: Pipeline,
                                                          recorder: Recorder, caplog, reset: bool) -> None:
    caplog.set_level(logging.DEBUG)
    for count, request in enumerate(ABANDONED.values(), 1):
        connect(http_address, reset).sendall(request) or None
        assert wait_for(lambda count=count: pipeline.counters.get("aborted_requests") >= count), request[:120]
    assert pipeline.counters.get("invalid_requests") == 0
    assert recorder.span_count == 0
    assert_quiet_and_serving(http_address, recorder, caplog)


@pytest.mark.parametrize("request_bytes", [
    HEAD + b"X-Evil: a\x7f\x1b[2J\r\nContent-Length: 0\r\n\r\n",
    b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + bytes(64),  # a TLS ClientHello
    b"POST /v1/traces HTTP/9.9\r\n\r\n",
    HEAD + b"Content-Length: -5\r\n\r\n",
], ids=["control_char_header", "tls_on_plain_port", "bad_version", "negative_length"])
def test_malformed_http_gets_400_without_traceback(http_address: str, recorder: Recorder,
                                                   caplog, request_bytes: bytes) -> None:
    caplog.set_level(logging.DEBUG)
    with connect(http_address, reset=False) as sock:
        sock.sendall(request_bytes)
        answer = b"".join(iter(lambda: sock.recv(65536), b""))
    assert answer.startswith(b"HTTP/1.") and b" 400 " in answer.split(b"\r\n")[0], answer[:200]
    assert b"\x1b" not in answer
    assert_quiet_and_serving(http_address, recorder, caplog)


def test_client_leaving_mid_headers_is_harmless(http_address: str, recorder: Recorder, caplog) -> None:
    caplog.set_level(logging.DEBUG)
    with connect(http_address, reset=True) as sock:
        sock.sendall(HEAD[:40])
    assert_quiet_and_serving(http_address, recorder, caplog)
