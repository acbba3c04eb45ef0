"""Short, deterministic fuzz runs of every target (scripts/fuzz_campaign.py runs long ones).

`derandomize=True` and no example database: CI sees the same inputs on every run.
"""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings

from tests.fuzz.targets import TARGETS, check_json, check_proto, check_query

SHORT = settings(
    max_examples=100,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
OUTCOMES = {"json": {"rejected", "decoded"}, "proto": {"undecodable", "partial", "decoded"},
            "query": {"rejected", "shorthand", "traceql"}}


@SHORT
@given(TARGETS["json"].strategy)
def test_json_decoder_decodes_or_raises_its_own_error(data: bytes) -> None:
    assert check_json(data) in OUTCOMES["json"]


@SHORT
@given(TARGETS["proto"].strategy)
def test_protobuf_to_store_agrees_with_the_official_parse(raw: bytes) -> None:
    assert check_proto(raw) in OUTCOMES["proto"]


@settings(SHORT, max_examples=400)
@given(TARGETS["query"].strategy)
def test_query_parses_or_raises_and_store_agrees_with_naive(text: str) -> None:
    assert check_query(text) in OUTCOMES["query"]
