"""tempo-cli, built from Tempo's source, against kubespan's API: every `query api` command works.

Runs where TEMPO_CLI names the binary; skipped otherwise with the build steps. The commands of
tests/golden/tempo/requests/tempo-cli.json are also run against kubespan holding the fixture exactly as
the real Tempo held it: each must send the listed request (which CI replays without tempo-cli, in
test_tempo_golden.py) and print what it printed for Tempo (kept with Tempo's answer).
"""

from __future__ import annotations

import json
import subprocess
import time

import pytest

from kubespan.receive.settings import ReceiverSettings
from tests.metrics.golden import diff_series
from tests.support.api_server import fixture_store, start_api
from tests.support.golden_compare import canonical_search, canonical_tags, first_difference, parse_error_prefix
from tests.support.golden_tempo import load_capture, load_cases, load_golden, place_fixture
from tests.support.k8s_fixture import BLOG_TRACE_ID
from tests.support.tempo import require, tempo_cli
from tests.support.tempo_cli_cases import request_difference, run_case

WALKTHROUGH = '{ resource.service.name = "kubelet" && name = "syncPod" && span.k8s.pod = "default/echo-command" }'


@pytest.fixture(scope="module")
def cli():
    return require(tempo_cli(), "TEMPO_CLI")


@pytest.fixture(scope="module")
def api():
    capture, _ = place_fixture(time.time())  # tempo-cli's windows are relative to now
    running = start_api(fixture_store(capture.shift_ns), receivers=ReceiverSettings(token="cli-token"))
    yield running
    running.stop()


def _run(cli: str, *args: str) -> dict:
    done = subprocess.run([cli, "query", "api", *args], capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr[-500:]
    return json.loads(done.stdout)


AUTH = "--header=Authorization=Bearer cli-token"


def test_search_finds_the_walkthrough_traces(cli, api):
    answer = _run(cli, "search", api.component.address, WALKTHROUGH, "now-1h", "now", AUTH, "--limit=20")
    assert len(answer["traces"]) == 9
    assert BLOG_TRACE_ID in {t["traceID"] for t in answer["traces"]}
    assert all(t["rootTraceName"] == "syncPod" for t in answer["traces"])


@pytest.mark.parametrize("version", [[], ["--v1"]])
def test_trace_id_fetches_the_blog_trace(cli, api, version):
    answer = _run(cli, "trace-id", api.url, BLOG_TRACE_ID, AUTH, *version)
    spans = [s for rs in answer["resourceSpans"] for ss in rs["scopeSpans"] for s in ss["spans"]]
    assert len(spans) == 11 and {s["name"] for s in spans} >= {"syncPod", "runtime.v1.ImageService/PullImage"}


def test_trace_id_with_a_filter_is_partial(cli, api):
    done = subprocess.run([cli, "query", "api", "trace-id", api.url, BLOG_TRACE_ID, AUTH,
                           '--q={ resource.service.name = "containerd" }'],
                          capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0 and "PARTIAL" in done.stderr
    spans = [s for rs in json.loads(done.stdout)["resourceSpans"] for ss in rs["scopeSpans"] for s in ss["spans"]]
    assert len(spans) == 5


def test_tags_and_values_and_metrics_answer(cli):
    capture, _ = place_fixture(time.time())
    open_api = start_api(fixture_store(capture.shift_ns))  # tempo-cli sends no header for these over HTTP
    try:
        address = open_api.component.address
        scopes = {s["name"]: s["tags"] for s in _run(cli, "search-tags", address, "now-1h", "now")["scopes"]}
        assert "k8s.pod" in scopes["span"] and "service.name" in scopes["resource"] and "name" in scopes["intrinsic"]
        values = _run(cli, "search-tag-values", address, "resource.service.name", "now-1h", "now")["tagValues"]
        assert {v["value"] for v in values} == {"apiserver", "containerd", "etcd", "kubelet"}
        answer = _run(cli, "metrics", address, "{ } | count_over_time()", "now-1h", "now")
        [series] = answer["series"]
        assert series["labels"] == [{"key": "__name__", "value": {"stringValue": "count_over_time"}}]
        assert sum(float(s.get("value", 0)) for s in series["samples"]) == 3116  # every span of the fixture
        assert answer["metrics"]["inspectedSpans"] == "3116"
    finally:
        open_api.stop()


def test_a_wrong_token_is_refused(cli, api):
    done = subprocess.run([cli, "query", "api", "trace-id", api.url, BLOG_TRACE_ID, "--header=Authorization=Bearer x"],
                          capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode != 0 and "401" in done.stderr


@pytest.fixture(scope="module")
def golden_api():
    running = start_api(fixture_store(load_capture("tempo-cli").shift_ns))
    yield running
    running.stop()


def _same_words(mine: str, tempos: str) -> bool:
    """A line tempo-cli printed: equal, or the same TraceQL parse error position (wording is kubespan's)."""
    prefix = "tempo-cli: error: failed to query. body: "
    if mine == tempos:
        return True
    if not (mine.startswith(prefix) and tempos.startswith(prefix)):
        return False
    error = parse_error_prefix(tempos[len(prefix):])
    return error is not None and parse_error_prefix(mine[len(prefix):]) == error and mine.endswith("400 Bad Request")


def _same_output(path: str, mine, tempos) -> str | None:
    if mine is None or tempos is None:
        return None if mine == tempos else f"{mine!r:.200} != {tempos!r:.200}"
    if path == "/api/search":
        mine, tempos = canonical_search(mine), canonical_search(tempos)
        if len(mine["traces"]) != len(tempos["traces"]):
            return f"{len(mine['traces'])} traces, Tempo {len(tempos['traces'])}"
        ours = {t["traceID"]: t for t in mine["traces"]}
        # past `limit` Tempo returns whichever traces its jobs found first (proto_notes/api.md); the ones
        # both returned must be equal, and with fewer than the limit they are all the same
        return next((first_difference(ours[t["traceID"]], t) for t in tempos["traces"] if t["traceID"] in ours), None)
    if "/search/tag" in path:
        return first_difference(canonical_tags(mine), canonical_tags(tempos))
    if path.startswith("/api/metrics/"):
        return "; ".join(diff_series(mine, tempos)) or None
    return first_difference(mine, tempos)


@pytest.mark.parametrize("case", load_cases("tempo-cli"), ids=lambda case: case.name)
def test_each_command_sends_the_listed_request_and_prints_what_it_printed_for_tempo(cli, golden_api, case):
    capture = load_capture("tempo-cli")
    tempos = load_golden("tempo-cli", case.name)["tempo_cli"]
    run = run_case(cli, case, capture, golden_api.url)
    assert request_difference(case, capture, run.recorded) is None
    assert run.exit_code == tempos["exit_code"], run.said
    assert len(run.said) == len(tempos["said"]) and all(map(_same_words, run.said, tempos["said"])), run.said
    assert _same_output(case.path, run.stdout_json(), tempos.get("stdout_json")) is None
