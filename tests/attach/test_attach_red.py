"""kubespan's `/api/kubespan/red`: the Services rows from the live aggregates in one request give the same
numbers as the three TraceQL metrics queries over the same spans (every kind of filter), and attach asks
it instead of the three queries when the remote offers it."""

from __future__ import annotations

import json
import time

import pytest

from kubespan.api.kubespan_red import key_filter
from kubespan.query import compile_query
from kubespan.remote.client import RemoteClient
from kubespan.remote.metrics import RemoteMetrics
from kubespan.remote.red import fetch_red, kubespan_red
from kubespan.remote.settings import RemoteSettings
from tests.attach.fake_remote import Canned
from tests.support.tempo import get

NS = 1_000_000_000
SLOT_NS = 5 * NS

FILTERS = ["{ }", '{ resource.service.name = "kubelet" }', '{ name = "syncPod" }',
           '{ resource.service.name = "kubelet" && name = "syncPod" }', "{ status = error }",
           '{ span.k8s.pod =~ "kube-system/.*" }', '{ resource.service.name = "kubelet" && name = "nope" }',
           '{ resource.service.name = "kubelet" } >> { resource.service.name = "containerd" }']


def _numbers(rows) -> list[tuple]:
    """Each row's numbers; the sparkline as its sum (its slots are the query's steps on one side)."""
    return [(r.service, r.operation, r.spans, round(r.rate, 9), round(r.error_pct, 9), r.p50, r.p90, r.p99,
             sum(r.sparkline)) for r in rows]


def _window() -> tuple[int, int]:
    """The last hour up to now (a range query's steps end at now), on 5 s bounds: the range query's steps
    (720 points) are the aggregates' slots (they count whole slots). The fixture's spans end a minute ago."""
    end = time.time_ns() // SLOT_NS * SLOT_NS
    return end - 720 * SLOT_NS, end


@pytest.mark.parametrize("traceql", FILTERS)
def test_the_red_endpoint_answers_what_the_three_queries_answer(kubespan_api, traceql):
    client = RemoteClient(RemoteSettings(kubespan_api.url))
    start, end = _window()
    fast, fast_notes = kubespan_red(client, traceql, start, end, 720)
    slow, slow_notes = fetch_red(client, traceql, start, end, 720)
    assert _numbers(fast) == _numbers(slow) and fast_notes == slow_notes == []
    if "nope" not in traceql:
        assert len(fast) >= 2 and sum(r.spans for r in fast if r.is_service) > 0


def test_key_filters_are_read_from_the_live_rows():
    def keeps(text):
        found = key_filter(compile_query(text).root)
        return None if found is None else [found(k) for k in (("a", "x"), ("a", "y"), ("b", "x"))]

    assert keeps("{ }") == [True, True, True]
    assert keeps('{ resource.service.name = "a" }') == [True, True, False]
    assert keeps('{ name = "x" }') == [True, False, True]
    assert keeps('{ resource.service.name = "a" && name = "x" }') == [True, False, False]
    assert keeps('{ name = "x" && name = "y" }') == [False, False, False]
    for other in ('{ .service.name = "a" }', '{ span.service.name = "a" }', '{ name != "x" }',
                  '{ resource.service.name = "" }', '{ name = "x" || name = "y" }', "{ status = error }",
                  '{ name = "x" } >> { name = "y" }', '{ resource.service.name =~ "a" }'):
        assert keeps(other) is None, other


def test_the_red_endpoint_is_advertised_and_refuses_bad_requests(kubespan_api):
    status, _, body = get(kubespan_api.url + "/api/status/buildinfo")
    assert status == 200 and "red" in json.loads(body)["features"]
    for params, said in (({"start": "soon"}, "start"), ({"start": "2000", "end": "1000"}, "end must be after"),
                         ({"points": "0"}, "invalid points"), ({"points": "x"}, "invalid points"),
                         ({"q": "{ nope"}, "parse error"), ({"q": "{ } | count() > 2"}, "no pipeline")):
        status, _, body = get(kubespan_api.url + "/api/kubespan/red", params)
        assert status == 400 and said in body.decode() and body.decode().count("\n") <= 1, (params, body)
    status, _, body = get(kubespan_api.url + "/api/kubespan/red")  # the last hour, every span
    answer = json.loads(body)
    assert status == 200 and answer["notes"] == [] and set(answer["rows"][0]) == {
        "service", "operation", "spans", "rate", "errorPct", "p50", "p90", "p99", "sparkline"}


def test_attach_asks_the_red_endpoint_once_per_refresh(fake):
    row = {"service": "kubelet", "operation": "", "spans": 12, "rate": 0.04, "errorPct": 25.0, "p50": 0.001,
           "p90": 0.002, "p99": 0.004, "sparkline": [3, 9]}
    fake.answers["/api/kubespan/red"] = Canned(body=json.dumps({"rows": [row], "notes": ["n"]}).encode())
    metrics = RemoteMetrics(RemoteClient(RemoteSettings(fake.url)), kind=lambda: "kubespan", graph=lambda: True,
                            red=lambda: True, refresh_s=60)
    metrics.filter = '{ resource.service.name = "kubelet" }'
    rows = metrics.rows(1000 * NS, 1300 * NS)
    assert [(r.service, r.spans, r.error_pct, r.p90, r.sparkline) for r in rows] == [
        ("kubelet", 12, 25.0, 0.002, (3, 9))] and metrics.notes() == ["n"]
    assert metrics.rows(1000 * NS, 1300 * NS) == rows and len(fake.seen) == 1
    assert "/api/kubespan/red?" in fake.seen[0].path and "points=24" in fake.seen[0].path
    fake.answers["/api/kubespan/red"] = Canned(body=b'{"rows": [{"service": 3}]}')
    metrics.filter = "{ }"
    assert metrics.rows(1000 * NS, 1300 * NS) == [] and "rows[0] is not a row" in metrics.notes()[0]


def test_the_aggregates_are_kept_current_only_while_the_api_is_used():
    from kubespan.api.warm import Warmer
    from kubespan.stats import Counters

    counters, now, calls = Counters(), [0.0], []
    warmer = Warmer([lambda: calls.append(now[0])], counters, idle_after_s=300, clock=lambda: now[0])
    assert warmer.active()  # the first round, when the API starts
    warmer.rounds = 1
    assert not warmer.active()  # then nobody is attached: nothing is counted
    counters.add("api_requests", 1)  # a Grafana or Jaeger client: nobody reads these aggregates
    assert not warmer.active()
    counters.add("api_kubespan_requests", 1)  # an attached viewer polls kubespan's status
    assert warmer.active()
    now[0] = 299.0
    assert warmer.active()
    now[0] = 301.0
    assert not warmer.active()  # nobody asked for five minutes
    counters.add("api_kubespan_requests", 1)
    assert warmer.active()
    now[0] = 602.0
    assert not warmer.active()


def test_the_api_counts_the_stored_spans_before_anyone_asks():
    """A store filled before the API starts: its warm-up thread counts it, so the first request for the
    Services rows reads only what arrived since."""
    from tests.attach.conftest import recent_shift
    from tests.support.api_server import fixture_store, start_api

    api = start_api(fixture_store(recent_shift()))
    try:
        red, stop = api.component.red, api.store.snapshot().stop
        deadline = time.monotonic() + 30
        while red.every.next_ordinal < stop and time.monotonic() < deadline:
            time.sleep(0.01)
        assert red.every.next_ordinal == stop and api.counters.get("api_requests") == 0
        assert sum(row.spans for row in red.every.rows(*_window()) if row.is_service) == len(api.store)
    finally:
        api.stop()


def test_requests_that_answer_a_key_say_so_and_polls_do_not(fake):
    """The first search of a filter and a view's first numbers carry `X-Kubespan-Interactive: 1` (a kubespan
    serves them from a CPU budget of their own); the polls that follow do not."""
    from kubespan.remote.feed import TraceFeed

    fake.answers["/api/search"] = Canned(body=b'{"traces": []}')
    fake.answers["/api/kubespan/red"] = Canned(body=b'{"rows": [], "notes": []}')
    client = RemoteClient(RemoteSettings(fake.url))
    feed = TraceFeed(client, "{ }", limit=10, lookback_s=60)
    feed.poll()
    feed.poll()
    metrics = RemoteMetrics(client, kind=lambda: "kubespan", graph=lambda: True, red=lambda: True, refresh_s=0)
    metrics.rows(1000 * NS, 1300 * NS)
    metrics.rows(1000 * NS, 1300 * NS)
    metrics.filter = "{ status = error }"
    metrics.rows(1000 * NS, 1300 * NS)
    said = [(seen.path.split("?")[0], seen.headers.get("x-kubespan-interactive")) for seen in fake.seen]
    assert said == [("/api/search", "1"), ("/api/search", None), ("/api/kubespan/red", "1"),
                    ("/api/kubespan/red", None), ("/api/kubespan/red", "1")]
    with client.interactive():
        with client.interactive(False):  # an inner block never turns it off
            client.get("/api/search")
    client.get("/api/search")
    assert [seen.headers.get("x-kubespan-interactive") for seen in fake.seen[-2:]] == ["1", None]
