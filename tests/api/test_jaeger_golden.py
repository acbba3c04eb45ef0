"""kubespan's Jaeger query API against a real Jaeger's answers on the same fixture (tests/golden/jaeger/,
captured by scripts/jaeger_golden.py from Jaeger v1.75.0's query service over its memory store).

Each captured request is replayed against kubespan holding the fixture moved exactly as it was for
Jaeger, and the answers are compared field by field after `jaeger_compare.canonical` (which says what
is normalised and why). Jaeger's trace by id (`/api/traces/<id>`) is asked at `/jaeger/api/traces/<id>`,
where kubespan serves it. Deliberate differences are in DIFFERENT (and proto_notes/api.md). With
`JAEGER_BIN` set, the same requests also go to a live Jaeger fed the fixture now.
"""

from __future__ import annotations

import json
import re
import time

import pytest

from tests.support.api_server import fixture_store, start_api
from tests.support.golden_tempo import load_capture, load_cases, load_golden, place_fixture
from tests.support.jaeger import JaegerProcess, require_jaeger
from tests.support.jaeger_compare import canonical, first_difference, only, search_order
from tests.support.tempo import get, send_requests

GOLDEN = load_golden.__defaults__[0].parent / "jaeger"  # tests/golden/jaeger
LIST = "query"
DIFFERENT: dict[str, tuple[int, str]] = {
    "search-error-true": (200, "Jaeger v1.75.0's memory store reads the tag `error=true` (a string) as false and "
                               "returns traces with an OK span; kubespan returns traces with an error span"),
    "search-error-false": (200, "the same: kubespan's error=false keeps spans that are not errors, Jaeger's OK ones"),
    "search-limit-zero": (400, "limit=0 is the request's fault: 400 (Jaeger's memory store answers 500)"),
    "search-bad-tags": (400, "the JSON syntax error is Python's wording, not Go's"),
    "v3-traces-default-depth": (200, "no query.num_traces: kubespan searches 100 traces as later Jaeger versions do "
                                     "(v1.75.0 answers 500, search depth 0)"),
    "v3-traces-attributes": (200, "query.attributes is honoured as later Jaeger versions do (v1.75.0 ignores it)"),
    "search-event-tag": (200, "kubespan's Jaeger search does not look at event attributes (Jaeger's memory store "
                                "does)"),
}
"""Cases kubespan answers differently on purpose: its status there, and why (also in proto_notes/api.md)."""


def kubespan_path(path: str) -> str:
    """Jaeger's v1 trace by id lives under /jaeger in kubespan (Tempo's API owns /api/traces/<id>)."""
    return re.sub(r"^/api/traces/", "/jaeger/api/traces/", path)


@pytest.fixture(scope="module")
def kubespan():
    api = start_api(fixture_store(load_capture(LIST, GOLDEN).shift_ns))
    yield api
    api.stop()


def _ask(api, path: str, params) -> tuple[int, object]:
    status, _, body = api.get(kubespan_path(path).replace(" ", "%20"), params)
    try:
        return status, json.loads(body)
    except ValueError:
        return status, body.decode(errors="replace")


def _answer(golden: dict) -> object:
    return golden["json"] if "json" in golden else golden.get("text")


CASES = [pytest.param(case, id=case.name) for case in load_cases(LIST, GOLDEN)]


def _limit(path: str, params) -> tuple[str, int] | None:
    """The search's limit parameter and value (Jaeger's default 100 for v1)."""
    if path == "/api/traces" and not any(k == "traceID" for k, _ in params):
        return "limit", int(dict(params).get("limit") or 100)
    if path == "/api/v3/traces" and dict(params).get("query.num_traces"):
        return "query.num_traces", int(dict(params)["query.num_traces"])
    return None


def compare(api, path: str, params, status: int, theirs) -> str | None:
    """None when kubespan answers as Jaeger did, else where they differ. When Jaeger returned as many traces
    as the limit allows, which ones is up to its write order (random within one OTLP request): kubespan
    must return the newest of all matches, and every trace Jaeger returned must be among them and equal."""
    mine_status, mine = _ask(api, path, params)
    if mine_status != status:
        return f"status {mine_status} != {status}: {str(mine)[:300]}"
    limit = _limit(path, params) if status == 200 else None
    if limit is None or len(search_order(theirs)) < limit[1]:
        return first_difference(canonical(mine), canonical(theirs))
    wide = [(k, v) for k, v in params if k != limit[0]] + [(limit[0], "100000")]
    full = _ask(api, path, wide)[1]
    ids = search_order(full)
    if search_order(mine) != ids[:limit[1]] or not set(search_order(theirs)) <= set(ids):
        return f"traces {search_order(mine)} are not the newest of {ids}, or miss some of {search_order(theirs)}"
    return first_difference(only(canonical(full), set(search_order(theirs))), canonical(theirs))


@pytest.mark.parametrize("case", CASES)
def test_answers_match_jaeger(kubespan, case):
    golden = load_golden(LIST, case.name, GOLDEN)
    path, params = case.resolved(load_capture(LIST, GOLDEN))
    if case.name in DIFFERENT:
        status, why = DIFFERENT[case.name]
        assert _ask(kubespan, path, params)[0] == status, why
        return
    assert compare(kubespan, path, params, golden["status"], _answer(golden)) is None


@pytest.fixture(scope="module")
def live():
    """A live Jaeger and a kubespan, both fed the fixture moved to the last few minutes."""
    jaeger = JaegerProcess(require_jaeger()).start()
    capture, requests = place_fixture(time.time())
    try:
        send_requests(jaeger.otlp_http, requests)
        api = start_api(fixture_store(capture.shift_ns))
    except Exception:
        jaeger.stop()
        raise
    yield jaeger, api, capture
    api.stop()
    jaeger.stop()


def test_a_live_jaeger_answers_as_the_golden_files_say(live):
    jaeger, api, capture = live
    differences = []
    for case in load_cases(LIST, GOLDEN):
        path, params = case.resolved(capture)
        status, _, raw = get(jaeger.api + path, params)
        theirs = json.loads(raw) if raw[:1] in b"{[" else raw.decode(errors="replace")
        golden = load_golden(LIST, case.name, GOLDEN)
        assert status == golden["status"], f"{case.name}: Jaeger answered {status} now, {golden['status']} then"
        found = None if case.name in DIFFERENT else compare(api, path, params, status, theirs)
        if found:
            differences.append(f"{case.name}: {found}")
    assert differences == []
