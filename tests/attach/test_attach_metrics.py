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
