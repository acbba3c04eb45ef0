"""The Services (4) and Graph (5) views inside the viewer: keys, help, palette, Enter, `f`, snapshots."""

from __future__ import annotations

import dataclasses

import pytest

from kubespan.tui.help_screen import help_sections
from kubespan.tui.source.base import TraceSort
from tests.tui import data
from tests.tui.conftest import make_app
from tests.tui.helpers import ready, screen_text, searched, wait_for

SIZES = pytest.mark.parametrize("size", [(80, 24), (160, 45)], ids=["80x24", "160x45"])
SIZE = (120, 36)


async def show(pilot, app, key: str) -> None:
    """Press `key` (4 or 5) and wait for the view's first numbers."""
    await pilot.press(key)
    if key == "4":
        await wait_for(pilot, lambda: app.pane("services").row_count() > 0, what="services rows")
    else:
        await wait_for(pilot, lambda: app.pane("graph").edge_list.row_count() > 0, what="edges")
    await pilot.pause()


def snap(snap_compare, size, key: str, *keys: str) -> bool:
    app = make_app(data.cluster(), save_dir="/nonexistent")

    async def run_before(pilot):
        await ready(pilot, app)
        await show(pilot, app, key)
        if keys:
            await pilot.press(*keys)
        await pilot.pause()

    return snap_compare(app, terminal_size=size, run_before=run_before)


@SIZES
def test_services_in_the_viewer(snap_compare, size):
    """Services, then their operations; rate, error %, p50/p90/p99 and a sparkline over the last 5 minutes
    of spans (the fixture is old: the window ends at its newest span)."""
    assert snap(snap_compare, size, "4")


@SIZES
def test_graph_in_the_viewer(snap_compare, size):
    """kubelet calls containerd (client/server pairs); `user` calls the roots that are server spans."""
    assert snap(snap_compare, size, "5")


async def test_keys_4_and_5_show_the_views_and_escape_returns(app_factory):
    app = app_factory()
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot, app)
        await show(pilot, app, "4")
        assert app.view == "services"
        services = app.pane("services")
        assert {row.service for row in services.rows if row.is_service} == {"kubelet", "containerd", "apiserver"}
        assert "last 5m00s of spans" in services.window_text
        await wait_for(pilot, lambda: "3 services" in screen_text(app), what="count in the filter bar")
        await show(pilot, app, "5")
        assert app.view == "graph"
        edges = {(e.edge.client, e.edge.server) for e in app.pane("graph").edge_list.edges}
        assert ("kubelet", "containerd") in edges
        await pilot.press("escape")
        assert app.view == "traces"


async def test_enter_on_an_operation_lists_its_slowest_traces(app_factory):
    app = app_factory()
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot, app)
        await show(pilot, app, "4")
        services = app.pane("services")
        pull = next(i for i, r in enumerate(services.shown)
                    if r.service == "kubelet" and r.operation == "runtime.v1.ImageService/PullImage")
        services.move_cursor(pull)
        await pilot.press("enter")
        await wait_for(pilot, lambda: app.view == "traces" and searched(app.trace_list, app), what="trace list")
        assert app.search.text == ('{ resource.service.name = "kubelet" && '
                                   'name = "runtime.v1.ImageService/PullImage" }')
        assert app.trace_list.sort == TraceSort.DURATION
        rows = app.trace_list.result.rows(0, app.trace_list.result.total)
        assert len(rows) == 8  # every syncPod trace (12 traces: 3 apiserver, 1 orphan)
        durations = [row.duration for row in rows]
        assert durations == sorted(durations, reverse=True)


async def test_f_adds_the_operation_to_the_filter(app_factory):
    app = app_factory()
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot, app)
        app.filter_bar.apply("kind=client")
        await show(pilot, app, "4")
        services = app.pane("services")
        await wait_for(pilot, lambda: {r.service for r in services.rows} == {"kubelet", "apiserver"},
                       what="rows narrowed by the filter")
        pull = next(i for i, r in enumerate(services.shown)
                    if r.service == "kubelet" and r.operation == "runtime.v1.ImageService/PullImage")
        services.move_cursor(pull)
        await pilot.press("f")
        await wait_for(pilot, lambda: app.search.text == 'kind=client service="kubelet" '
                       'name="runtime.v1.ImageService/PullImage"', what="narrowed filter")
        assert app.view == "services"
        await wait_for(pilot, lambda: [(r.service, r.operation) for r in services.rows]
                       == [("kubelet", ""), ("kubelet", "runtime.v1.ImageService/PullImage")],
                       what="one operation left")
        assert services.rows[1].rate > 0 and services.rows[1].error_pct > 0


async def test_enter_on_an_edge_lists_its_spans_and_f_adds_it(app_factory):
    app = app_factory()
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot, app)
        await show(pilot, app, "5")
        graph = app.pane("graph")
        index = next(i for i, e in enumerate(graph.edge_list.edges)
                     if (e.edge.client, e.edge.server) == ("kubelet", "containerd"))
        graph.edge_list.move_cursor(index)
        await pilot.press("f")
        query = ('{ resource.service.name = "kubelet" && kind = client } > '
                 '{ resource.service.name = "containerd" && kind = server }')
        await wait_for(pilot, lambda: app.search.text == query, what="edge filter")
        await pilot.press("enter")
        await wait_for(pilot, lambda: app.view == "spans" and searched(app.span_list, app), what="span list")
        rows = app.span_list.result.rows(0, app.span_list.result.total)
        assert {row.service for row in rows} == {"containerd"}
        assert len(rows) == 16  # RunPodSandbox and PullImage of 8 syncPods: the server spans under kubelet clients


async def test_help_and_palette_name_the_views(app_factory):
    app = app_factory()
    async with app.run_test(size=(120, 80)) as pilot:
        await ready(pilot, app)
        keys = {binding.key: binding.description for binding in help_sections(app.BINDINGS)[0][1]}
        assert keys["4"] == "Services" and keys["5"] == "Graph"
        await pilot.press("question_mark")
        await pilot.pause()
        text = screen_text(app)
        assert "Services" in text and "Graph" in text and "Reverse sort" in text


async def test_a_source_without_metrics_says_so(app_factory):
    app = app_factory()
    app.source.capabilities = dataclasses.replace(app.source.capabilities, metrics=False, graph=False,
                                                  missing_note="not available from a remote Tempo yet")
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot, app)
        await pilot.press("4")
        note = "not offered here (not available from a remote Tempo yet)"
        await wait_for(pilot, lambda: f"Services: {note}" in screen_text(app), what="note in the Services view")
        await pilot.press("5")
        await wait_for(pilot, lambda: f"Graph: {note}" in screen_text(app), what="note in the Graph view")
