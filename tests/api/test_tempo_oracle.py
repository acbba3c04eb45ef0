"""The k8s fixture and Tempo's golden answers on it: what the comparisons rely on."""

from __future__ import annotations

import json
import time
from collections import Counter

import pytest

from tests.support.golden_tempo import (
    Capture,
    capture_path,
    golden_path,
    list_names,
    load_capture,
    load_cases,
    load_golden,
    place_fixture,
)
from tests.support.k8s_fixture import BLOG_TRACE_ID, NOOP_TRACE_ID, fixture_bounds, load_fixture
from tests.support.tempo import (
    TempoPorts,
    TempoProcess,
    get,
    require,
    search_count,
    send_requests,
    tempo_bin,
    wait_until,
)


def _spans(requests):
    for req in requests:
        for rs in req.resource_spans:
            service = next(a.value.string_value for a in rs.resource.attributes if a.key == "service.name")
            for ss in rs.scope_spans:
                for span in ss.spans:
                    yield service, span


def _attr(span, key):
    return next((a.value.string_value for a in span.attributes if a.key == key), None)


@pytest.fixture(scope="module")
def fixture_spans():
    return list(_spans(load_fixture()))


def test_the_walkthrough_trace_has_the_blogs_eleven_spans(fixture_spans):
    trace = [(svc, s) for svc, s in fixture_spans if s.trace_id.hex() == BLOG_TRACE_ID]
    assert Counter(svc for svc, _ in trace) == {"kubelet": 6, "containerd": 5}
    by_id = {s.span_id: s for _, s in trace}
    root = next(s for _, s in trace if not s.parent_span_id)
    assert root.name == "syncPod" and root.end_time_unix_nano - root.start_time_unix_nano == 1_334_000_000

    def depth(span):
        return 1 if not span.parent_span_id else 1 + depth(by_id[span.parent_span_id])

    assert max(depth(s) for _, s in trace) == 3
    kubelet_calls = sorted((s.start_time_unix_nano, s.name) for svc, s in trace if svc == "kubelet" and s is not root)
    assert [n.split("/")[1] for _, n in kubelet_calls] == [
        "ImageStatus", "PullImage", "ImageStatus", "CreateContainer", "StartContainer"]
    for svc, s in trace:  # each containerd server span sits inside its kubelet client span
        if svc == "containerd":
            parent = by_id[s.parent_span_id]
            assert parent.name == s.name
            assert parent.start_time_unix_nano <= s.start_time_unix_nano
            assert s.end_time_unix_nano <= parent.end_time_unix_nano


def test_the_walkthrough_search_finds_nine_traces(fixture_spans):
    traces = {s.trace_id.hex() for svc, s in fixture_spans
              if svc == "kubelet" and s.name == "syncPod" and _attr(s, "k8s.pod") == "default/echo-command"}
    assert len(traces) == 9 and BLOG_TRACE_ID in traces and NOOP_TRACE_ID in traces


def test_the_fixture_has_the_shapes_the_comparisons_need(fixture_spans):
    services = Counter(svc for svc, _ in fixture_spans)
    assert set(services) == {"apiserver", "kubelet", "containerd", "etcd"}
    spans = [s for _, s in fixture_spans]
    ids = {s.span_id for s in spans}
    assert sum(len(s.links) for s in spans) > 10
    assert sum(1 for s in spans if s.status.code == 2) >= 5
    assert any(s.status.code == 1 for s in spans)  # containerd 1.7's status OK
    assert sum(len(s.events) for s in spans) > 1000
    assert any(s.parent_span_id and s.parent_span_id not in ids for s in spans)  # orphans of an open watch
    etcd = [s for svc, s in fixture_spans if svc == "etcd"]
    kinds = {a.value.WhichOneof("value") for s in etcd for a in s.attributes}
    assert {"string_value", "int_value", "bool_value"} <= kinds
    lo, hi = fixture_bounds(load_fixture())
    assert 0 < hi - lo < 300 * 10**9  # Tempo searches recent data: the fixture must fit a few minutes


@pytest.mark.parametrize("list_name", list_names())
def test_every_case_has_tempos_answer(list_name):
    capture = load_capture(list_name)
    meta = json.loads(capture_path(list_name).read_text())
    assert meta["fixture"] == "tests/data/k8s_fixture.jsonl.gz" and "tempo_buildinfo" in meta
    cases = load_cases(list_name)
    stored = {p.stem for p in golden_path(list_name, "x").parent.glob("*.json")} - {"_capture"}
    assert stored == {c.name for c in cases}, "recapture the list with scripts/tempo_golden.py"
    for case in cases:
        golden = load_golden(list_name, case.name)
        path, params = case.resolved(capture)
        assert golden["request"]["path"] == path and [tuple(p) for p in golden["request"]["params"]] == params
        assert golden["status"] in (200, 400, 404) and ("json" in golden or "text" in golden or "base64" in golden)


def test_placeholders_resolve_to_the_capture_window():
    capture = Capture(shift_ns=5, start=1_800_000_000, end=1_800_000_121)
    assert capture.resolve("{start}-{end}") == "1800000000-1800000121"
    assert capture.resolve("{start-60}/{end+119}") == "1799999940/1800000240"
    assert capture.resolve("{start_ns}") == "1800000000000000000"
    assert capture.resolve("{end_ms-1}") == "1800000120000"
    assert capture.resolve("{start_rfc3339}") == "2027-01-15T08:00:00Z"


@pytest.mark.slow
def test_a_live_tempo_still_answers_the_walkthrough_like_the_golden_file():
    binary = require(tempo_bin(), "TEMPO_BIN")
    tempo = TempoProcess(binary, TempoPorts.free()).start()
    try:
        capture, requests = place_fixture(time.time())
        send_requests(tempo.otlp_http, requests)
        wait_until(lambda: search_count(tempo.api, capture.start, capture.end) == 727, 120, "the fixture")
        golden = load_golden("search", "walkthrough")
        path, params = next(c for c in load_cases("search") if c.name == "walkthrough").resolved(capture)
        status, _, body = get(tempo.api + path, params)
        assert status == 200
        ids = [t["traceID"] for t in json.loads(body)["traces"]]
        assert sorted(ids) == sorted(t["traceID"] for t in golden["json"]["traces"])
    finally:
        tempo.stop()
