"""Every hostile request of the corpus, over each of its transports, against real receivers.

For each one: the answer (status, partial success), the spans that reached the
consumers, the counters, an error message that quotes client text only bounded and
escaped, no traceback in the logs, and a valid request accepted right afterwards.
"""

from __future__ import annotations

import gzip
import logging
import re

import pytest

from kubespan.pipeline import Pipeline
from tests.hostile import payloads
from tests.hostile.cases import CASES, JSON_TYPE, PROTOBUF_TYPE, Case
from tests.hostile.clients import Answer, send_grpc, send_http
from tests.support.recorder import Recorder

MESSAGE_LIMIT = 400
"""Longest error text an answer may carry (messages quote at most 64 characters of input)."""
RAW_CONTROL = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")

PARAMS = [pytest.param(case, transport, id=f"{case.name}-{transport}")
          for case in CASES for transport in case.transports]


_BUILT: dict[str, bytes] = {}


def payload(case: Case) -> bytes:
    """The case's request body, built once for all its transports."""
    if case.name not in _BUILT:
        _BUILT.clear()
        _BUILT[case.name] = case.build()
    return _BUILT[case.name]


def send(case: Case, transport: str, address: str) -> Answer:
    body = payload(case)
    if transport == "grpc":
        return send_grpc(address, body, gzip=case.gzip)
    headers = dict(case.headers if case.headers is not None else
                   PROTOBUF_TYPE if transport == "http" else JSON_TYPE)
    if case.gzip:
        body = gzip.compress(body, compresslevel=1)
        headers["Content-Encoding"] = "gzip"
    return send_http(address, body, headers, case.method)


def follow_up(transport: str, address: str) -> Answer:
    """A valid two-span request over the same transport."""
    if transport == "grpc":
        return send_grpc(address, payloads.valid(2))
    if transport == "json":
        return send_http(address, payloads.json_valid(), JSON_TYPE)
    return send_http(address, payloads.valid(2), PROTOBUF_TYPE)


@pytest.fixture
def address(request, transport: str) -> str:
    name = "grpc_address" if transport == "grpc" else "http_address"
    return request.getfixturevalue(name)


@pytest.mark.parametrize(("case", "transport"), PARAMS)
def test_hostile_request(case: Case, transport: str, address: str, recorder: Recorder,
                         pipeline: Pipeline, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    answer = send(case, transport, address)

    want = case.expect.grpc if transport == "grpc" else case.expect.http
    assert answer.status == want, answer
    assert recorder.span_count == case.expect.accepted
    assert answer.rejected == case.expect.rejected
    for text in (answer.message, answer.partial_message):
        assert len(text) <= MESSAGE_LIMIT and not RAW_CONTROL.search(text), text
    assert pipeline.counters.get("received_spans") == case.expect.accepted
    assert pipeline.counters.get("rejected_spans") == case.expect.rejected
    assert pipeline.counters.get("invalid_requests") == case.expect.invalid_count(transport)

    after = follow_up(transport, address)
    assert after.status in ("OK", 200) and after.rejected == 0
    assert recorder.span_count == case.expect.accepted + 2
    assert not [r for r in caplog.records if r.exc_info or r.levelno >= logging.ERROR]


def test_corpus_is_large_and_names_are_unique() -> None:
    names = [case.name for case in CASES]
    assert len(names) == len(set(names)) and len(names) >= 40
    assert {"grpc", "http", "json"} == {t for case in CASES for t in case.transports}
