"""`kubespan attach` over a real Grafana Tempo (built from source; skipped without TEMPO_BIN): the k8s
fixture sent to `kubespan serve`, forwarded by it to Tempo, then browsed, filtered with the walkthrough's
query, the echo-command trace opened, and a new trace followed as it arrives; the Services view's numbers
from Tempo's TraceQL metrics are the local view's, and the Graph view's edges what Tempo's structural
queries can tell (kubespan.remote.graph)."""

from __future__ import annotations

import time

import pytest

from kubespan.remote.client import RemoteClient
from kubespan.remote.detect import detect
from kubespan.remote.graph import TEMPO_NOTE, tempo_edges
from kubespan.remote.metrics import RemoteMetrics
from kubespan.remote.settings import RemoteSettings
from tests.attach.app_support import attach_app
from tests.attach.conftest import recent_shift
from tests.support.k8s_fixture import BLOG_TRACE_ID, fixture_bounds, load_fixture
from tests.support.serve_process import ServeProcess
from tests.support.spanfactory import T0, S, request, trace_id
from tests.support.tempo import TempoPorts, TempoProcess, require, search_count, send_requests, tempo_bin, wait_until
from tests.tui.helpers import screen_text, searched, wait_for

PORTS = TempoPorts(http=33200, otlp_grpc=34317, otlp_http=34318, grpc=39095, memberlist=37946)
"""attach's Tempo ports (TEMPO_HTTP=33200 …), apart from the other engineers' Tempos."""
NS = 1_000_000_000


@pytest.fixture(scope="module")
def tempo_with_fixture():
    binary = require(tempo_bin(), "TEMPO_BIN")
    tempo = TempoProcess(binary, PORTS).start()
    serve = ServeProcess("--grpc", "127.0.0.1:0", "--http", "127.0.0.1:0", "--api", "off",
                         "--forward", tempo.otlp_http)
    try:
        shift = recent_shift()
        requests = load_fixture(shift)
        send_requests(f"http://{serve.addresses['http']}", requests)
        now = int(time.time())
        wait_until(lambda: search_count(tempo.api, now - 3600, now + 60) >= 727, 120, "the fixture in Tempo")
        yield tempo, serve, shift
    finally:
        serve.stop()
        tempo.stop()


async def test_attach_to_tempo_filters_opens_and_follows(tempo_with_fixture):
    tempo, serve, _ = tempo_with_fixture
    assert detect(RemoteClient(RemoteSettings(tempo.api))).kind == "tempo"
    app = attach_app(tempo.api, refresh_s=1.0)
    try:
        async with app.run_test(size=(160, 45)) as pilot:
            await wait_for(pilot, lambda: app.trace_list.row_count() == 500, timeout=30, what="500 traces")
            await wait_for(pilot, lambda: "tempo " + tempo.api in screen_text(app), what="the footer's source")
            app.filter_bar.input.value = "service=kubelet name=syncPod k8s.pod=default/echo-command"
            app.filter_bar.input.focus()
            await pilot.press("enter")
            await wait_for(pilot, lambda: searched(app.trace_list, app) and app.trace_list.row_count() == 9,
                           timeout=30, what="the walkthrough's 9 traces")
            blog = bytes.fromhex(BLOG_TRACE_ID)
            app.trace_list.focus()
            app.trace_list.move_cursor(app.trace_list.result.position(blog))
            await pilot.press("enter")
            await wait_for(pilot, lambda: app.view == "trace" and app.trace_view.data is not None, timeout=30,
                           what="the echo-command trace")
            assert app.trace_view.data.trace_id == blog and len(app.waterfall.lines) == 11
            await pilot.press("escape")
            app.filter_bar.input.value = "service=kubespan-attach-test"
            app.filter_bar.input.focus()
            await pilot.press("enter")
            await wait_for(pilot, lambda: searched(app.trace_list, app), timeout=30, what="empty search")
            assert app.trace_list.row_count() == 0
            ago = time.time_ns() - T0
            new = request([S(4242, 1, name="arrived", service="kubespan-attach-test", start=ago - NS)])
            send_requests(f"http://{serve.addresses['http']}", [new])
            await wait_for(pilot, lambda: app.trace_list.row_count() == 1, timeout=60, what="the new trace")
            assert app.trace_list.result.key(0) == trace_id(4242)
    finally:
        app.source.close()


def _window(shift: int) -> tuple[int, int]:
    """A window around the fixture, in the past (Tempo's answers near "now" vary), before the trace the
    follow test sends."""
    start, end = fixture_bounds(load_fixture(shift))
    return start - 60 * NS, end + NS


def _local(shift: int):
    from kubespan.metrics.live import LiveMetrics
    from tests.support.api_server import fixture_store

    live = LiveMetrics(fixture_store(shift).snapshot)
    live.refresh()
    return live


def _red(rows) -> list[tuple]:
    """The numbers shown (quantiles to 12 digits: Go and numpy round the log2 interpolation's last bit apart)."""
    return [(r.service, r.operation, r.spans, round(r.error_pct, 9), *(float(f"{q:.12g}") for q in (r.p50, r.p90,
                                                                                                   r.p99)))
            for r in rows]


def test_services_numbers_from_tempo_are_the_local_ones(tempo_with_fixture):
    tempo, _, shift = tempo_with_fixture
    start, end = _window(shift)
    metrics = RemoteMetrics(RemoteClient(RemoteSettings(tempo.api)), kind=lambda: "tempo", graph=lambda: False)
    for text, query in (("{ }", None), ('{ resource.service.name = "kubelet" }', "service=kubelet")):
        metrics.filter = text
        local = _local(shift)
        if query is not None:
            from kubespan.query import compile_query

            local.set_query(compile_query(query))
        remote = metrics.rows(start, end)
        assert metrics.notes() == []
        assert _red(remote) == _red(local.rows(start, end)) and len(remote) > 4
        metrics._red.when = float("-inf")  # the next filter is asked at once


def test_graph_from_tempo_is_what_its_traceql_can_tell(tempo_with_fixture):
    """Client→server pairs as Tempo's metrics count a structural query (249 of the 251 apiserver→etcd
    calls the local graph pairs: the search endpoint lists all 251), and `user` calls into every root
    server span: the local graph's `user` and `link` edges into that service together."""
    tempo, _, shift = tempo_with_fixture
    start, end = _window(shift)
    edges, notes = tempo_edges(RemoteClient(RemoteSettings(tempo.api)), start, end)
    assert notes == [TEMPO_NOTE]
    local = {e.edge: e for e in _local(shift).edges(start, end)}
    found = {e.edge: e for e in edges}
    calls = {edge for edge in local if edge.connection == ""}
    assert {edge for edge in found if edge.connection == ""} == calls
    for edge in calls:
        assert abs(found[edge].calls - local[edge].calls) <= 0.01 * local[edge].calls, edge
    for edge in (edge for edge in found if edge.client == "user"):
        into = [e for e in local.values() if e.edge.server == edge.server and e.edge.connection in ("virtual_node",
                                                                                                    "link")]
        assert found[edge].calls == sum(e.calls for e in into), edge


async def test_services_and_graph_views_over_tempo(tempo_with_fixture):
    tempo, _, _ = tempo_with_fixture
    app = attach_app(tempo.api, refresh_s=1.0)
    try:
        async with app.run_test(size=(160, 45)) as pilot:
            await pilot.press("4")
            services = app.pane("services")
            await wait_for(pilot, lambda: services.row_count() > 0, timeout=30, what="the Services view's rows")
            assert {"kubelet", "apiserver", "containerd", "etcd"} <= {r.service for r in services.rows}
            await pilot.press("5")
            await wait_for(pilot, lambda: app.pane("graph").edge_list.row_count() > 0, timeout=30, what="edges")
            assert "from Tempo's TraceQL" in screen_text(app)
    finally:
        app.source.close()
