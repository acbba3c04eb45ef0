"""Snapshots of every screen at 80×24 (the smallest usual terminal) and 160×45,
deterministic data, frozen clock, UTC."""

from __future__ import annotations

import pytest

from tests.tui import data
from tests.tui.conftest import make_app
from tests.tui.helpers import listed, open_trace, ready, searched, wait_for

SIZES = pytest.mark.parametrize("size", [(80, 24), (160, 45)], ids=["80x24", "160x45"])


def app_with(requests=None):
    return make_app(data.cluster() if requests is None else requests, save_dir="/nonexistent")


def snap(snap_compare, app, size, steps=None) -> bool:
    async def run_before(pilot):
        await ready(pilot, app)
        if steps is not None:
            await steps(pilot)
        await pilot.pause()

    return snap_compare(app, terminal_size=size, run_before=run_before)


@SIZES
def test_trace_list(snap_compare, size):
    """Newest trace first; error counts in red; services per trace; status line."""
    assert snap(snap_compare, app_with(), size)


@SIZES
def test_span_list(snap_compare, size):
    app = app_with()

    async def steps(pilot):
        await pilot.press("t")
        await wait_for(pilot, lambda: app.span_list.row_count() == 66)

    assert snap(snap_compare, app, size, steps)


@SIZES
def test_waterfall_and_detail(snap_compare, size):
    """A failing syncPod: kubelet CRI calls with containerd under them; errors marked."""
    app = app_with()

    async def steps(pilot):
        app.trace_list.move_cursor(listed(app.trace_list).index(data.trace_id(2)))
        await pilot.press("enter", "down", "down", "down")

    assert snap(snap_compare, app, size, steps)


@SIZES
def test_waterfall_folded_and_orphan(snap_compare, size):
    app = app_with(data.sync_pod_trace(1, "default/web-0") + data.orphan_trace(1))

    async def steps(pilot):
        await pilot.press("enter", "left")

    assert snap(snap_compare, app, size, steps)


@SIZES
def test_detail_focused(snap_compare, size):
    app = app_with()

    async def steps(pilot):
        await open_trace(pilot, app, data.trace_id(2))
        await pilot.press("enter", "pagedown")

    assert snap(snap_compare, app, size, steps)


@SIZES
def test_filter_syntax_error(snap_compare, size):
    app = app_with()

    async def steps(pilot):
        app.filter_bar.input.cursor_blink = False
        await pilot.press("slash", *"{ name", "enter")
        await wait_for(pilot, lambda: app.filter_bar.has_class("-error"))

    assert snap(snap_compare, app, size, steps)


@SIZES
def test_filtered_and_paused(snap_compare, size):
    app = app_with()

    async def steps(pilot):
        app.filter_bar.apply("k8s.pod=default/web-0")
        await wait_for(pilot, lambda: app.trace_list.row_count() == 2 and searched(app.trace_list, app))
        app.action_pause()
        app.clear_notifications()

    assert snap(snap_compare, app, size, steps)


@SIZES
def test_pod_view(snap_compare, size):
    app = app_with()

    async def steps(pilot):
        await pilot.press("P")
        await wait_for(pilot, lambda: len(app.pod_list.pods) == 3)

    assert snap(snap_compare, app, size, steps)


@SIZES
def test_pod_view_by_node_sorted_by_errors(snap_compare, size):
    """`b` groups by node (the NAMESPACE column comes back), `o` sorts by errors."""
    app = app_with()

    async def steps(pilot):
        await pilot.press("P")
        await wait_for(pilot, lambda: len(app.pod_list.pods) == 3)
        await pilot.press("b", "o")

    assert snap(snap_compare, app, size, steps)


@SIZES
def test_trace_list_folded(snap_compare, size):
    """`n`: the PLEG relists folded into one row with their count and p50/p99."""
    from tests.tui.test_fold_repeats import noisy_cluster

    app = app_with(noisy_cluster())

    async def steps(pilot):
        await pilot.press("n")
        await wait_for(pilot, lambda: searched(app.trace_list, app) and app.trace_list.row_count() == 3)

    assert snap(snap_compare, app, size, steps)


@SIZES
def test_help_screen(snap_compare, size):
    app = app_with()

    async def steps(pilot):
        await pilot.press("question_mark")

    assert snap(snap_compare, app, size, steps)


@SIZES
def test_hostile_text(snap_compare, size):
    """Markup shows literally; ESC, BEL, CR and bidi overrides show as escapes."""
    app = app_with(data.hostile_trace(1))

    async def steps(pilot):
        await pilot.press("enter", "down", "down")

    assert snap(snap_compare, app, size, steps)


@SIZES
def test_full_value_modal(snap_compare, size):
    """A 1 MB attribute opens in a scrollable view."""
    app = app_with(data.hostile_trace(1))

    async def steps(pilot):
        from kubespan.tui.value_screen import ValueScreen

        await pilot.press("enter")
        await wait_for(pilot, lambda: app.view == "trace" and app.trace_view.data is not None, what="trace")
        await pilot.press("enter")
        await wait_for(pilot, lambda: any(line.item and line.item.label == "big" for line in app.detail.lines))
        labels = [line.item.label if line.item else "" for line in app.detail.lines]
        app.detail.move_cursor(labels.index("big"))
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, ValueScreen), what="value screen")
        await pilot.pause()

    assert snap(snap_compare, app, size, steps)


@SIZES
def test_forwarding_counters_in_footer(snap_compare, size):
    app = app_with()
    app.source.counters.add("forward_queue_spans", 12)
    app.source.counters.add("forward_dropped_spans", 3)
    app.source.counters.add("unauthenticated_requests", 2)
    app.source.forward_status = lambda: [{"target": "grpc://jaeger:4317 (gzip)", "failing": True, "queue_spans": 1200}]
    app.source.warnings.append(
        "WARNING: the gRPC receiver on 0.0.0.0:4317 is reachable from other machines without auth or TLS")
    assert snap(snap_compare, app, size)


def demo_requests(spans: int = 1500) -> list[bytes]:
    from kubespan.k8s.demo import DemoCluster

    return [request.SerializeToString() for request in DemoCluster(seed=1, k8s_version="1.27").requests(spans)]


@SIZES
def test_demo_cluster_traces(snap_compare, size):
    """The demo k3s cluster (seed 1): apiserver requests, kubelet syncs, PLEG relists."""
    assert snap(snap_compare, app_with(demo_requests()), size)


@SIZES
def test_demo_cluster_pods(snap_compare, size):
    app = app_with(demo_requests())

    async def steps(pilot):
        await pilot.press("P")
        await wait_for(pilot, lambda: app.pod_list.row_count() > 0)

    assert snap(snap_compare, app, size, steps)


@SIZES
def test_empty_waiting_for_spans(snap_compare, size):
    """First start: where to send spans."""
    assert snap(snap_compare, app_with([]), size)
