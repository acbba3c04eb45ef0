"""kubespan's Tempo API against the real Tempo's answers on the same fixture (tests/golden/tempo/).

Each captured request is replayed against kubespan holding the fixture moved exactly as it was for
Tempo, and the answers are compared field by field (golden_compare says what is loosened and why).
Deliberate differences are listed in DIFFERENT (and in proto_notes/api.md); there are no expected
failures: kubespan parses all of Tempo's TraceQL search grammar.
"""

from __future__ import annotations

import json

import pytest

from tests.metrics.golden import diff_series
from tests.support.api_server import fixture_store, start_api
from tests.support.golden_compare import (
    canonical_search,
    canonical_tags,
    drop_metrics,
    first_difference,
    parse_error_prefix,
    traces_data,
)
from tests.support.golden_tempo import load_capture, load_cases, load_golden

DIFFERENT = {
    ("search", "post-search"): (405, b"answers GET"), ("errors", "search-delete"): (405, b"answers GET"),
    ("errors", "traces-post"): (405, b"answers GET"),
    ("errors", "search-metrics-query"): (400, b"TraceQL metrics (rate) are not supported in search queries"),
}
"""Cases kubespan answers differently on purpose: only GET and HEAD reach a query endpoint (Tempo serves
any method like GET); a metrics query sent to search is refused (Tempo drops the metrics stage and
searches)."""
TEMPO_DEDICATED_TAGS = {"http.method", "http.request.method", "http.response.status_code", "http.route",
                        "http.status_code", "http.url", "server.address", "server.port", "url.path", "url.route",
                        "rpc.grpc.status_code", "rpc.method", "rpc.response.status_code", "rpc.service",
                        "rpc.system", "rpc.system.name"}
"""Column-stored attributes Tempo lists for a tag query with `q` whatever the spans matched. With `q`
Tempo's tag answers are also incomplete at times (it stops early: seen, the `message` event name left
out for `name = "…/StartContainer"`), so kubespan's must include Tempo's, not equal them."""


@pytest.fixture(scope="module")
def apis():
    running = {}

    def api_for(shift: int):
        if shift not in running:
            running[shift] = start_api(fixture_store(shift))
        return running[shift]

    yield api_for
    for api in running.values():
        api.stop()


def _kind(path: str) -> str:
    if path == "/api/search":
        return "search"
    if "/search/tag" in path:
        return "tags"
    return "metrics" if path.startswith("/api/metrics/") else "traces"


def _cases(*lists: str, cli_kind: str = ""):
    """The cases of `lists`, and tempo-cli's requests (tests/golden/tempo/requests/tempo-cli.json) of `cli_kind`."""
    cases = [pytest.param(name, case, id=f"{name}/{case.name}") for name in lists for case in load_cases(name)]
    return cases + [pytest.param("tempo-cli", case, id=f"tempo-cli/{case.name}") for case in load_cases("tempo-cli")
                    if _kind(case.path) == cli_kind]


def _ask(apis, list_name: str, case, **override):
    capture = load_capture(list_name)
    path, params = case.resolved(capture)
    params = [(k, v) for k, v in params if k not in override] + [(k, str(v)) for k, v in override.items()]
    api = apis(capture.shift_ns)
    return api.get(path.replace(" ", "%20"), params, dict(case.headers), case.method)


def _check_text(status: int, body: bytes, golden: dict) -> None:
    assert status == golden["status"], body[:300]
    text, theirs = body.decode(errors="replace"), golden.get("text", "")
    if text == theirs:
        return
    if "invalid regex" in theirs:  # Tempo gives no position for a bad regex, kubespan does
        assert text.startswith("invalid TraceQL query: ") and "invalid regex" in text, text
        return
    prefix = parse_error_prefix(theirs)
    assert prefix is not None and parse_error_prefix(text) == prefix, f"{text!r} != {theirs!r}"


@pytest.mark.parametrize("list_name,case", _cases("traces", "misc", cli_kind="traces"))
def test_traces_and_probes_match_tempo(apis, list_name, case):
    golden = load_golden(list_name, case.name)
    status, _, body = _ask(apis, list_name, case)
    assert status == golden["status"], body[:300]
    if "base64" in golden:
        assert traces_data(body, "/v2/" in case.path) == traces_data(golden["base64"], "/v2/" in case.path)
    elif "json" in golden and case.name == "buildinfo":
        assert set(json.loads(body)) - {"features"} == set(golden["json"])  # kubespan's own: what it adds
    elif "json" in golden:
        assert first_difference(drop_metrics(json.loads(body)), drop_metrics(golden["json"])) is None
    else:
        _check_text(status, body, golden)


def _limit(case) -> int:
    return int(dict(case.params).get("limit", 20))


@pytest.mark.parametrize("list_name,case", _cases("search", "errors", cli_kind="search"))
def test_search_matches_tempo(apis, list_name, case):
    golden = load_golden(list_name, case.name)
    status, _, body = _ask(apis, list_name, case)
    if (list_name, case.name) in DIFFERENT:
        expected, said = DIFFERENT[(list_name, case.name)]
        assert status == expected and said in body, body[:300]
        return
    if "json" not in golden:
        _check_text(status, body, golden)
        return
    assert status == golden["status"], body[:300]
    mine, theirs = canonical_search(json.loads(body)), canonical_search(golden["json"])
    if len(theirs["traces"]) < _limit(case):
        assert first_difference(mine, theirs) is None
        return
    # more traces matched than the limit: Tempo returns any of them, kubespan the newest
    full = canonical_search(json.loads(_ask(apis, list_name, case, limit=100000)[2]))
    full_ids = [t["traceID"] for t in full["traces"]]
    assert {t["traceID"] for t in theirs["traces"]} <= set(full_ids)
    assert [t["traceID"] for t in mine["traces"]] == full_ids[:_limit(case)]
    by_id = {t["traceID"]: t for t in full["traces"]}
    for trace in theirs["traces"]:
        assert first_difference(by_id[trace["traceID"]], trace) is None


@pytest.mark.parametrize("list_name,case", _cases("tags", cli_kind="tags"))
def test_tags_match_tempo(apis, list_name, case):
    golden = load_golden(list_name, case.name)
    status, _, body = _ask(apis, list_name, case)
    if "json" not in golden:
        _check_text(status, body, golden)
        return
    assert status == golden["status"], body[:300]
    mine, theirs = canonical_tags(json.loads(body)), canonical_tags(golden["json"])
    if "q" in dict(case.params):
        # with q Tempo stops early and lists column-stored names regardless: kubespan has all the rest
        if "scopes" in theirs:
            for scope, names in theirs["scopes"].items():
                assert set(names) - TEMPO_DEDICATED_TAGS <= set(mine["scopes"].get(scope, [])), scope
        else:
            assert all(value in mine["tagValues"] for value in theirs["tagValues"])
        return
    if "limit" in dict(case.params) and "tagValues" in theirs:
        full = canonical_tags(json.loads(_ask(apis, list_name, case, limit=0)[2]))["tagValues"]
        assert len(mine["tagValues"]) == len(theirs["tagValues"])
        assert all(v in full for v in theirs["tagValues"]) and all(v in full for v in mine["tagValues"])
        return
    assert first_difference(mine, theirs) is None


@pytest.mark.parametrize("list_name,case", _cases("metrics", cli_kind="metrics"))
def test_metrics_endpoints_answer_like_tempo(apis, list_name, case):
    golden = load_golden(list_name, case.name)
    status, _, body = _ask(apis, list_name, case)
    if "json" not in golden:
        _check_text(status, body, golden)
        return
    assert status == 200, body[:300]
    assert not diff_series(json.loads(body), golden["json"])
