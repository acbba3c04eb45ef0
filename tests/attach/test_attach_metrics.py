"""The Services and Graph views over a remote: the k8s fixture in kubespan's API, and attach's views show
the local views' numbers on the same spans (unfiltered and filtered); a metrics endpoint that answers
400, 500, garbage or too late leaves a note and the last numbers, never a traceback."""

from __future__ import annotations

import json
import threading

import pytest

from kubespan.remote.client import RemoteClient
from kubespan.remote.metrics import RemoteMetrics
from kubespan.remote.settings import RemoteSettings
from tests.attach.app_support import attach_app
from tests.attach.conftest import recent_shift
from tests.attach.fake_remote import Canned
from tests.support.api_server import fixture_store, start_api
from tests.tui.conftest import make_app
from tests.tui.helpers import ready, screen_text, searched, wait_for

NS = 1_000_000_000


@pytest.fixture(scope="module")
def fixture_api():
    """The k8s fixture (its last span a minute ago) in kubespan's API; the local viewer reads the same store."""
    api = start_api(fixture_store(recent_shift()))
    yield api
    api.stop()


def _red(rows) -> list[tuple]:
    """What the Services view shows, but the sparkline's slots (local: 5 s slots, remote: the query's steps)."""
    return [(r.service, r.operation, r.spans, round(r.rate, 9), round(r.error_pct, 9), r.p50, r.p90, r.p99,
             sum(r.sparkline)) for r in rows]


async def _services(pilot, app) -> list[tuple]:
    await pilot.press("4")
    pane = app.pane("services")
    await wait_for(pilot, lambda: pane.row_count() > 0, timeout=30, what="the Services view's rows")
    return _red(pane.rows)


async def _edges(pilot, app) -> list:
    await pilot.press("5")
    edge_list = app.pane("graph").edge_list
    await wait_for(pilot, lambda: edge_list.row_count() > 0, timeout=30, what="the Graph view's edges")
    return list(edge_list.edges)


async def _filter(pilot, app, text: str) -> None:
    app.filter_bar.input.value = text
    app.filter_bar.input.focus()
    await pilot.press("enter")
    await wait_for(pilot, lambda: app.search.text == text, what="filter applied")


async def _local_numbers(store, text: str = "") -> tuple[list, list, list]:
    app = make_app(store=store, save_dir="/nonexistent")
    async with app.run_test(size=(160, 45)) as pilot:
        await ready(pilot, app)
        services, edges = await _services(pilot, app), await _edges(pilot, app)
        filtered = []
        if text:
            await pilot.press("4")
            await _filter(pilot, app, text)
            pane = app.pane("services")
            await wait_for(pilot, lambda: pane.rows and all(r.service == "kubelet" for r in pane.rows),
                           what="the filtered rows")
            filtered = _red(pane.rows)
    return services, edges, filtered


async def test_services_and_graph_match_the_local_views(fixture_api):
    local_services, local_edges, local_filtered = await _local_numbers(fixture_api.store, "service=kubelet")
    app = attach_app(fixture_api.url)
    try:
        async with app.run_test(size=(160, 45)) as pilot:
            await wait_for(pilot, lambda: searched(app.trace_list, app), what="the trace list")
            assert await _services(pilot, app) == local_services
            assert len(local_services) == 84 and local_services[0][:3] == ("apiserver", "", 1815)
            assert await _edges(pilot, app) == local_edges
            assert {e.edge.connection for e in local_edges} == {"", "virtual_node", "link"}
            await pilot.press("4")
            await _filter(pilot, app, "service=kubelet")
            pane = app.pane("services")
            await wait_for(pilot, lambda: pane.rows and all(r.service == "kubelet" for r in pane.rows),
                           what="the filtered rows")
            assert _red(pane.rows) == local_filtered and len(local_filtered) > 1
    finally:
        app.source.close()


def test_the_queries_sent_are_tempos(fake):
    """Three TraceQL metrics queries with the filter as sent to search, exemplars off, whole-second steps."""
    fake.answers["/api/metrics/query_range"] = Canned(body=b'{"series":[]}')
    fake.answers["/api/metrics/query"] = Canned(body=b'{"series":[]}')
    metrics = _metrics(fake.url)
    metrics.filter = '{ resource.service.name = "kubelet" }'
    assert metrics.rows(1000 * NS, 1300 * NS) == [] and metrics.notes() == []
    sent = [seen.path for seen in fake.seen]
    assert len(sent) == 3 and "/api/metrics/query_range?" in sent[0] and "step=13s" in sent[0]
    assert "exemplars=0" in sent[0] and "start=1000000000000" in sent[0] and "end=1300000000000" in sent[0]
    assert "count_over_time%28%29+by+%28resource.service.name%2C+name%2C+status%29" in sent[0]
    assert "quantile_over_time%28duration%2C+0.5%2C+0.9%2C+0.99%29" in sent[1]


ANSWER = {"series": [
    {"labels": [{"key": "resource.service.name", "value": {"stringValue": "kubelet"}},
                {"key": "name", "value": {"stringValue": "syncPod"}},
                {"key": "status", "value": {"stringValue": "error"}}],
     "samples": [{"timestampMs": "1000000", "value": 3}, {"timestampMs": "1013000"}]},
    {"labels": [{"key": "resource.service.name", "value": {"stringValue": "kubelet"}},
                {"key": "name", "value": {"stringValue": "syncPod"}},
                {"key": "status", "value": {"stringValue": "unset"}}],
     "samples": [{"timestampMs": "1013000", "value": 9}]}]}
QUANTILES = {"series": [
    {"labels": [{"key": "resource.service.name", "value": {"stringValue": "kubelet"}},
                {"key": "name", "value": {"stringValue": "syncPod"}}, {"key": "p", "value": {"doubleValue": 0.9}}],
     "value": 0.25}]}


def _metrics(url: str, **settings) -> RemoteMetrics:
    return RemoteMetrics(RemoteClient(RemoteSettings(url, **settings)), kind=lambda: "tempo", graph=lambda: False,
                         refresh_s=0)


def test_rows_from_the_answers_then_a_failure_keeps_them_with_a_note(fake):
    fake.answers["/api/metrics/query_range"] = Canned(body=json.dumps(ANSWER).encode())
    fake.answers["/api/metrics/query"] = Canned(body=json.dumps(QUANTILES).encode())
    metrics = _metrics(fake.url)
    rows = metrics.rows(1000 * NS, 1300 * NS)
    assert [(r.service, r.operation, r.spans, r.error_pct, r.sparkline) for r in rows] == [
        ("kubelet", "", 12, 25.0, (3, 9)), ("kubelet", "syncPod", 12, 25.0, (3, 9))]
    assert rows[1].p90 == 0.25 and rows[1].p50 == 0.0 and rows[0].rate == 12 / 300
    for status, body, said in ((500, b"internal error\n", "rates: 500"), (400, b"bad query\n", "rates: 400"),
                               (200, b'{"series": 7}', "series is not a list")):
        fake.answers["/api/metrics/query_range"] = Canned(status, body, "text/plain")
        assert metrics.rows(1000 * NS, 1300 * NS) == rows
        assert said in metrics.notes()[0] and metrics.notes()[0].endswith("(showing the last answer)")
    fake.answers["/api/metrics/query_range"] = Canned(body=json.dumps(ANSWER).encode())
    assert metrics.rows(1000 * NS, 1300 * NS) == rows and metrics.notes() == []
    metrics.filter = "{ status = error }"  # another filter's failure: no numbers of the old one
    fake.answers["/api/metrics/query_range"] = Canned(500, b"boom\n", "text/plain")
    assert metrics.rows(1000 * NS, 1300 * NS) == [] and metrics.notes()[0].startswith("rates: 500")


def test_partial_answers_and_long_windows_are_said(fake):
    partial = dict(ANSWER, status="PARTIAL", message="Response exceeds maximum series limit of 2")
    fake.answers["/api/metrics/query_range"] = Canned(body=json.dumps(partial).encode())
    fake.answers["/api/metrics/query"] = Canned(body=json.dumps(QUANTILES).encode())
    metrics = _metrics(fake.url)
    metrics.rows(0, 48 * 3600 * NS)
    assert metrics.notes() == ["window cut to its last 24 h (the limit of metrics queries)",
                               "partial answer: Response exceeds maximum series limit of 2"]
    assert "start=86400000000000" in fake.seen[0].path


async def test_a_failing_metrics_endpoint_is_a_note_in_the_views(fake):
    """The viewer over a remote whose metrics answer, then fail (500), then time out: the rows stay, the
    note says why; the graph says its own failure; nothing raises."""
    release = threading.Event()
    fake.answers["/api/status/buildinfo"] = Canned(body=b'{"version":"2.9.0"}')
    fake.answers["/api/search"] = Canned(body=b'{"traces":[]}')
    fake.answers["/api/metrics/query_range"] = Canned(body=json.dumps(ANSWER).encode())
    fake.answers["/api/metrics/query"] = Canned(body=json.dumps(QUANTILES).encode())
    app = attach_app(fake.url, wall_clock=lambda: 1300.0, refresh_s=0.2, timeout_s=0.5)
    try:
        async with app.run_test(size=(120, 30)) as pilot:
            await pilot.press("4")
            pane = app.pane("services")
            await wait_for(pilot, lambda: pane.row_count() == 2, what="the rows")
            fake.answers["/api/metrics/query_range"] = Canned(500, b"internal error\n", "text/plain")
            await wait_for(pilot, lambda: "rates: 500 Internal Server Error" in screen_text(app), what="500 note")
            assert pane.row_count() == 2 and "syncPod" in screen_text(app)
            fake.answers["/api/metrics/query_range"] = Canned(body=b"{}", delay=release)
            await wait_for(pilot, lambda: "no answer within 0.5 s" in " ".join(pane.notes), timeout=30,
                           what="the timeout's note")
            assert pane.row_count() == 2 and "⚠ rates: " in screen_text(app)
            fake.answers["/api/metrics/query"] = Canned(502, b"bad gateway\n", "text/plain")
            await pilot.press("5")
            await wait_for(pilot, lambda: "graph: 502" in screen_text(app), timeout=30, what="the graph's note")
            assert app.is_running
    finally:
        release.set()
        app.source.close()


def test_the_graph_endpoint_is_advertised_and_refuses_bad_windows(fixture_api):
    from tests.support.tempo import get

    status, _, body = get(fixture_api.url + "/api/status/buildinfo")
    assert status == 200 and "service-graph" in json.loads(body)["features"]
    status, _, body = get(fixture_api.url + "/api/kubespan/graph", {"start": "soon"})
    assert status == 400 and body.decode().count("\n") <= 1 and "start" in body.decode()
    status, _, body = get(fixture_api.url + "/api/kubespan/graph", {"start": "2000", "end": "1000"})
    assert status == 400 and "end must be after start" in body.decode()
    status, _, body = get(fixture_api.url + "/api/kubespan/graph")  # the last hour
    answer = json.loads(body)
    assert status == 200 and answer["notes"] == [] and {"client", "server", "connection", "calls", "rate",
                                                         "errorPct", "p90"} == set(answer["edges"][0])


def test_an_older_kubespan_without_the_graph_endpoint_says_so(fake):
    """A kubespan whose buildinfo lists no `service-graph`: the Graph view is not offered, with a note."""
    from kubespan.query import compile_query
    from kubespan.remote.detect import detect
    from kubespan.tui.source.remote import RemoteSource

    fake.answers["/api/status/buildinfo"] = Canned(body=b'{"version":"2.9.0-kubespan.0.9","branch":"kubespan"}')
    settings = RemoteSettings(fake.url)
    client = RemoteClient(settings)
    source = RemoteSource(settings, compile_query=compile_query, client=client, info=detect(client))
    try:
        assert source.capabilities.metrics and not source.capabilities.graph
        assert "no graph endpoint" in source.capabilities.missing_note
        assert source.metrics().edges(0, 300 * NS) == [] and not any("graph" in s.path for s in fake.seen)
    finally:
        source.close()


async def test_a_tag_lookup_failing_after_the_suggestion_gave_up_is_not_reported(monkeypatch):
    """A 429 that arrives after the suggestion stopped waiting is retried later, never "Task exception was
    never retrieved" on the terminal (seen in the benchmark over a busy API)."""
    import asyncio
    import gc

    from kubespan.tui import tag_suggester
    from kubespan.tui.source.base import SourceError

    release = threading.Event()

    class Busy:
        def tag_values(self, key, limit):
            release.wait(10)
            raise SourceError("429 Too Many Requests: too many queries")

    monkeypatch.setattr(tag_suggester, "ANSWER_TIMEOUT_S", 0.01)
    unreported: list = []
    loop = asyncio.get_running_loop()
    loop.set_exception_handler(lambda _, context: unreported.append(context))
    suggester = tag_suggester.TagSuggester(Busy())
    task = suggester._values_task(".k8s.pod")
    assert await suggester._wait(task) == []
    release.set()
    await asyncio.wait([task])
    del task
    suggester._values.clear()
    gc.collect()
    await asyncio.sleep(0)
    assert unreported == []
