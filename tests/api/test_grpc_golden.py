"""kubespan's streaming gRPC query API against a real Tempo's answers (tests/golden/tempo-grpc/, captured by
scripts/tempo_grpc_golden.py on the k8s fixture): every call replayed with a grpcio client, compared
message by message with what Tempo streamed, loosened where Tempo's own answers vary (as the HTTP golden
tests: tests/api/test_tempo_golden.py). Where TEMPO_CLI is set, tempo-cli's `--use-grpc` commands run
against kubespan and must print what they printed against Tempo."""

from __future__ import annotations

import os

import pytest

from tests.api.test_tempo_golden import TEMPO_DEDICATED_TAGS
from tests.metrics.golden import diff_series
from tests.support.api_server import fixture_store, start_api
from tests.support.golden_compare import canonical_search, canonical_tags, first_difference, parse_error_prefix
from tests.support.golden_grpc import GrpcCase, call, load_capture, load_cases, load_golden, run_cli
from tests.support.tempo import BUILD_HINT, tempo_cli

CASES = load_cases()


@pytest.fixture(scope="module")
def api():
    running = start_api(fixture_store(load_capture().shift_ns))
    yield running
    running.stop()


def _details_match(mine: str, theirs: str) -> bool:
    """Equal texts; for TraceQL parse errors, the same shape and column (kubespan words the rest its own way).
    A tag name's parse error keeps only the shape: kubespan points at the first word it cannot read, Tempo's
    parser at the token its grammar did not expect."""
    prefix = parse_error_prefix(theirs)
    if mine == theirs or (prefix is not None and parse_error_prefix(mine) == prefix):
        return True
    shape = "parse error at line 1, col "
    return theirs.startswith("please provide a valid tagName: ") and shape in theirs and \
        mine.partition(shape)[0] == theirs.partition(shape)[0] and shape in mine


def _search_limit(case: GrpcCase) -> int:
    return int(case.request.get("Limit") or 20)


def _check_search(api, case: GrpcCase, mine: dict, theirs: dict) -> None:
    mine, theirs = canonical_search(mine), canonical_search(theirs)
    if len(theirs.get("traces", [])) < _search_limit(case):
        assert first_difference(mine, theirs) is None
        return
    # more traces matched than the limit: Tempo returns any of them, kubespan the newest
    wider = GrpcCase(case.name, case.method, {**case.request, "Limit": 100000})
    full = canonical_search(call(api.component.address, wider, load_capture()).messages[-1])
    by_id = {t["traceID"]: t for t in full["traces"]}
    assert len(mine["traces"]) == len(theirs["traces"])
    assert [t["traceID"] for t in mine["traces"]] == [t["traceID"] for t in full["traces"]][:_search_limit(case)]
    for trace in theirs["traces"]:
        assert first_difference(by_id[trace["traceID"]], trace) is None


def _check_tags(case: GrpcCase, mine: dict, theirs: dict) -> None:
    mine, theirs = canonical_tags(mine), canonical_tags(theirs)
    if case.request.get("query"):  # Tempo stops early and lists column-stored names: kubespan has the rest
        if "scopes" in theirs:
            for scope, names in theirs["scopes"].items():
                assert set(names) - TEMPO_DEDICATED_TAGS <= set(mine["scopes"].get(scope, [])), scope
        else:
            assert all(value in mine["tagValues"] for value in theirs["tagValues"])
        return
    if case.request.get("maxTagValues"):  # which values come back over the limit is up to the server
        assert len(mine["tagValues"]) == len(theirs["tagValues"])
        return
    assert first_difference(mine, theirs) is None


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_grpc_answers_match_tempo(api, case):
    golden = load_golden(case.name)
    answer = call(api.component.address, case, load_capture())
    assert answer.code == golden["code"], answer.details
    if golden["code"] != "OK":
        assert _details_match(answer.details, golden["details"]), (answer.details, golden["details"])
        assert answer.messages == golden["messages"] == []
        return
    assert len(answer.messages) == len(golden["messages"]) == 1  # a quick query: Tempo streams the final answer only
    mine, theirs = answer.messages[0], golden["messages"][0]
    if case.method == "Search":
        _check_search(api, case, mine, theirs)
    elif case.method.startswith("Metrics"):
        assert not diff_series(mine, theirs)
    else:
        _check_tags(case, mine, theirs)


CLI_CASES = [c for c in CASES if c.cli]


@pytest.mark.parametrize("case", CLI_CASES, ids=[c.name for c in CLI_CASES])
def test_tempo_cli_over_grpc_prints_what_it_printed_against_tempo(api, case):
    cli = tempo_cli()
    if cli is None:
        pytest.skip(f"TEMPO_CLI not set (tempo-cli --use-grpc against kubespan): {BUILD_HINT}")
    golden = load_golden(case.name)["tempo_cli"]
    address = api.component.address
    run = run_cli(cli, case, load_capture(), address, env={**os.environ})
    assert run["exit_code"] == golden["exit_code"], run
    assert len(run["said"]) == len(golden["said"])
    for mine, theirs in zip(run["said"], golden["said"]):
        head, _, detail = theirs.partition(" desc = ")
        my_head, _, my_detail = mine.partition(" desc = ")
        assert my_head == head and _details_match(my_detail, detail), (mine, theirs)
    assert len(run["stdout_json"]) == len(golden["stdout_json"])
    for mine, theirs in zip(run["stdout_json"], golden["stdout_json"]):
        if case.method.startswith("Metrics"):
            assert not diff_series(mine, theirs)
        elif case.method == "Search":
            _check_search(api, case, mine, theirs)
        else:
            _check_tags(case, mine, theirs)
