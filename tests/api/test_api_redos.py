"""Hostile regexes through the query API: every endpoint that takes TraceQL answers at once over a span
named `aaaa…!` (RE2: linear time), and syntax only a backtracking engine has is a 400 with a column.

The bound is loose (busy CI machines); with a backtracking engine these inputs would take years."""

from __future__ import annotations

import json
import time

import pytest

from kubespan.otlp.attributes import new_attribute_table
from kubespan.store import SpanStore
from tests.fuzz.strategies import REDOS
from tests.support.api_server import start_api
from tests.support.spanfactory import T0, S, batch

HOSTILE = "a" * 5000 + "!"
SECONDS = 2.0
LINEAR_TIME = [p for p in REDOS if not any(x in p for x in ("\\1", "(?=", "(?<!", "(?>"))]
BACKTRACKING_ONLY = [p for p in REDOS if p not in LINEAR_TIME]


@pytest.fixture(scope="module")
def api():
    table = new_attribute_table()
    store = SpanStore(table)
    store.consume_traces(batch([S(1, 1, name=HOSTILE, attrs={"a": HOSTILE})], table))
    running = start_api(store)
    yield running
    running.stop()


def _endpoints(pattern: str) -> list[tuple[str, dict]]:
    q = f"{{ name =~ `{pattern}` || span.a !~ `{pattern}` }}"
    return [("/api/search", {"q": q}), ("/api/v2/search/tags", {"q": q}),
            ("/api/v2/search/tag/span.a/values", {"q": q}), ("/api/v2/traces/1", {"q": q}),
            ("/api/metrics/query_range", {"q": q + " | count_over_time()", "start": str(T0 // 10**9 - 60),
                                          "end": str(T0 // 10**9 + 60)})]


@pytest.mark.parametrize("pattern", LINEAR_TIME)
def test_every_traceql_endpoint_answers_a_redos_pattern_at_once(api, pattern):
    for path, params in _endpoints(pattern):
        began = time.monotonic()
        status, _, body = api.get(path, params)
        assert status == 200, (path, body[:200])
        assert time.monotonic() - began < SECONDS, path
        if path == "/api/search":  # the span's `a` does not match, so `!~` holds: the regex ran
            assert len(json.loads(body)["traces"]) == 1


@pytest.mark.parametrize("pattern", BACKTRACKING_ONLY)
def test_backtracking_only_syntax_is_a_400_with_a_column(api, pattern):
    status, _, body = api.get("/api/search", {"q": f"{{ name =~ `{pattern}` }}"})
    assert status == 400 and body.startswith(b"invalid TraceQL query: parse error at line 1, col "), body
    assert b"linear time" in body
