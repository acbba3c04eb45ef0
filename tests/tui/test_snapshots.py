"""Snapshots of every screen at 120×36, deterministic data, frozen clock, UTC."""

from __future__ import annotations

from tests.tui import data
from tests.tui.conftest import make_app
from tests.tui.helpers import ready, wait_for

SIZE = (120, 36)


def app_with(requests=None):
    return make_app(data.cluster() if requests is None else requests, save_dir="/nonexistent")


def snap(snap_compare, app, steps=None) -> bool:
    async def run_before(pilot):
        await ready(pilot, app)
        if steps is not None:
            await steps(pilot)
        await pilot.pause()

    return snap_compare(app, terminal_size=SIZE, run_before=run_before)


def test_trace_list(snap_compare):
    """Newest trace first; error counts in red; services per trace; status line."""
    assert snap(snap_compare, app_with())


def test_span_list(snap_compare):
    app = app_with()

    async def steps(pilot):
        await pilot.press("t")
        await wait_for(pilot, lambda: app.span_list.row_count() == 66)

    assert snap(snap_compare, app, steps)


def test_waterfall_and_detail(snap_compare):
    """A failing syncPod: kubelet CRI calls with containerd under them; errors marked."""
    app = app_with()

    async def steps(pilot):
        app.trace_list.move_cursor(app.trace_list.trace_ids.index(data.trace_id(2)))
        await pilot.press("enter", "down", "down", "down")

    assert snap(snap_compare, app, steps)


def test_waterfall_folded_and_orphan(snap_compare):
    app = app_with(data.sync_pod_trace(1, "default/web-0") + data.orphan_trace(1))

    async def steps(pilot):
        await pilot.press("enter", "left")

    assert snap(snap_compare, app, steps)


def test_detail_focused(snap_compare):
    app = app_with()

    async def steps(pilot):
        app.open_trace(data.trace_id(2))
        await pilot.press("enter", "pagedown")

    assert snap(snap_compare, app, steps)


def test_filter_syntax_error(snap_compare):
    app = app_with()

    async def steps(pilot):
        app.filter_bar.input.cursor_blink = False
        await pilot.press("slash", *"{ name", "enter")
        await wait_for(pilot, lambda: app.filter_bar.has_class("-error"))

    assert snap(snap_compare, app, steps)


def test_filtered_and_paused(snap_compare):
    app = app_with()

    async def steps(pilot):
        app.filter_bar.apply("k8s.pod=default/web-0")
        await wait_for(pilot, lambda: app.trace_list.row_count() == 2 and not app._searching)
        app.action_pause()
        app.clear_notifications()

    assert snap(snap_compare, app, steps)


def test_pod_view(snap_compare):
    app = app_with()

    async def steps(pilot):
        await pilot.press("P")
        await wait_for(pilot, lambda: app.pod_list.row_count() == 3)

    assert snap(snap_compare, app, steps)


def test_help_screen(snap_compare):
    app = app_with()

    async def steps(pilot):
        await pilot.press("question_mark")

    assert snap(snap_compare, app, steps)


def test_hostile_text(snap_compare):
    """Markup shows literally; ESC, BEL, CR and bidi overrides show as escapes."""
    app = app_with(data.hostile_trace(1))

    async def steps(pilot):
        await pilot.press("enter", "down", "down")

    assert snap(snap_compare, app, steps)


def test_full_value_modal(snap_compare):
    """A 1 MB attribute opens in a scrollable view."""
    app = app_with(data.hostile_trace(1))

    async def steps(pilot):
        await pilot.press("enter", "enter")
        labels = [line.item.label if line.item else "" for line in app.detail.lines]
        app.detail.move_cursor(labels.index("big"))
        await pilot.press("enter")

    assert snap(snap_compare, app, steps)


def test_forwarding_counters_in_footer(snap_compare):
    app = app_with()
    app.counters.add("forward_queue_spans", 12)
    app.counters.add("forward_dropped_spans", 3)
    app.warnings.append("WARNING: the gRPC receiver on 0.0.0.0:4317 is reachable from other machines without auth or TLS")
    assert snap(snap_compare, app)


def demo_requests(spans: int = 1500) -> list[bytes]:
    from kubespan.k8s.demo import DemoCluster

    return [request.SerializeToString() for request in DemoCluster(seed=1, k8s_version="1.27").requests(spans)]


def test_demo_cluster_traces(snap_compare):
    """The demo k3s cluster (seed 1): apiserver requests, kubelet syncs, PLEG relists."""
    assert snap(snap_compare, app_with(demo_requests()))


def test_demo_cluster_pods(snap_compare):
    app = app_with(demo_requests())

    async def steps(pilot):
        await pilot.press("P")
        await wait_for(pilot, lambda: app.pod_list.row_count() > 0)

    assert snap(snap_compare, app, steps)


def test_empty_waiting_for_spans(snap_compare):
    """First start: where to send spans."""
    assert snap(snap_compare, app_with([]))
