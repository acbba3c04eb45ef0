"""TraceQL hints through /api/search, against a real Tempo's answers (tests/golden/tempo/traceql-hints).

With `with(most_recent=true)` and more matching traces than `limit`, Tempo answers the newest traces
(newest first), and so must kubespan, exactly: the same traces, in the same order, with the same
spansets. (Without the hint Tempo returns whichever traces its jobs found first; kubespan answers the
newest either way.)
"""

from __future__ import annotations

import json

import pytest

from tests.support.api_server import fixture_store, start_api
from tests.support.golden_compare import canonical_search, first_difference
from tests.support.golden_tempo import load_capture, load_cases, load_golden

LIST = "traceql-hints"


@pytest.fixture(scope="module")
def api():
    running = start_api(fixture_store(load_capture(LIST).shift_ns))
    yield running
    running.stop()


@pytest.mark.parametrize("case", load_cases(LIST), ids=lambda case: case.name)
def test_most_recent_answers_the_newest_traces_like_tempo(api, case):
    golden = load_golden(LIST, case.name)
    path, params = case.resolved(load_capture(LIST))
    assert "most_recent=true" in dict(params)["q"].replace(" ", "")
    status, _, body = api.get(path, params)
    assert status == golden["status"] == 200, body[:300]
    mine, theirs = canonical_search(json.loads(body)), canonical_search(golden["json"])
    assert len(theirs["traces"]) == int(dict(params)["limit"])  # more matched than the limit
    starts = [int(t["startTimeUnixNano"]) for t in json.loads(body)["traces"]]
    assert starts == sorted(starts, reverse=True)
    assert first_difference(mine, theirs) is None
