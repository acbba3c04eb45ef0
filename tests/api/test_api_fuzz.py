"""Hostile and malformed requests to every query endpoint: always a clear answer, never a 5xx or a
traceback, and the server keeps serving."""

from __future__ import annotations

import os
import urllib.parse

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.support.api_server import fixture_store, start_api

EXAMPLES = int(os.environ.get("KUBESPAN_FUZZ_EXAMPLES", "150"))
"""Requests per run (random each run; `KUBESPAN_FUZZ_EXAMPLES=4000` for a longer search)."""
PATHS = ["/api/search", "/api/traces/{id}", "/api/v2/traces/{id}", "/api/search/tags", "/api/v2/search/tags",
         "/api/search/tag/{tag}/values", "/api/v2/search/tag/{tag}/values", "/api/metrics/query_range",
         "/api/metrics/query", "/api/services", "/api/services/{tag}/operations", "/api/operations", "/api/traces",
         "/api/dependencies", "/jaeger/api/traces/{id}", "/api/v3/services", "/api/v3/operations", "/api/v3/traces",
         "/api/v3/traces/{id}"]
PARAMS = ["q", "query", "tags", "tag", "limit", "spss", "start", "end", "minDuration", "maxDuration", "scope", "step",
          "since", "service", "operation", "lookback", "endTs", "keep_hierarchy", "match_depth", "ancestor_depth",
          "query.service_name", "query.start_time_min", "query.start_time_max", "query.attributes", "spanKind",
          "maxStaleValues", "exemplars", "mode", "traceID"]
TEXT = st.one_of(
    st.text(max_size=40),
    st.sampled_from(["{", "}", "{ name = }", '{ name =~ "(a" }', "-1", "0", "99999999999999999999", "nan", "1e400",
                     "2026-13-45T00:00:00Z", "{}", '{"a":1}', "[", "\x00\x1b[2J", "{ } | rate(", "now-1h",
                     '{ span.a = "x" } >> { span.b = "y" } ~ { .c = 1 }', "a" * 3000, "%ff%fe", "true", "-5s"]),
)


@pytest.fixture(scope="module")
def api():
    running = start_api(fixture_store())
    yield running
    running.stop()


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(path=st.sampled_from(PATHS), piece=TEXT, params=st.lists(st.tuples(st.sampled_from(PARAMS), TEXT), max_size=5))
def test_no_request_gets_a_server_error_or_a_traceback(api, path, piece, params):
    quoted = urllib.parse.quote(piece, safe="") or "x"
    status, _, body = api.get(path.replace("{id}", quoted).replace("{tag}", quoted), params)
    assert 200 <= status < 500 and status != 0, (status, body[:200])
    assert b"Traceback" not in body and b'File "' not in body


def test_the_server_still_answers_after_the_storm(api):
    assert api.get("/ready")[0] == 200
    assert api.counters.snapshot()["api_requests"] >= 1
