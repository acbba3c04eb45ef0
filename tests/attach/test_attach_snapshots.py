"""Snapshots of every view in attach mode at 80×24 and 160×45: the viewer over kubespan's API holding the
TUI tests' deterministic cluster, with the wall clock frozen (the live window, the refresh time) and the
latency steady, so the footer's remote parts are the same on every run."""

from __future__ import annotations

import pytest

from kubespan.remote.client import RemoteError
from tests.attach.app_support import attach_app
from tests.support.api_server import start_api
from tests.tui import data
from tests.tui.conftest import make_store
from tests.tui.helpers import screen_text, searched, wait_for

SIZES = pytest.mark.parametrize("size", [(80, 24), (160, 45)], ids=["80x24", "160x45"])
NOW_S = data.BASE / 1e9 + 120


@pytest.fixture(scope="module")
def cluster_api():
    store, _, _ = make_store(data.cluster())
    api = start_api(store)
    yield api
    api.stop()


def snap(snap_compare, url: str, size, steps=None) -> bool:
    app = attach_app(url, wall_clock=lambda: NOW_S, steady=True)

    async def run_before(pilot):
        await wait_for(pilot, lambda: searched(app.trace_list, app) and app.trace_list.row_count() > 0
                       and "refreshed" in screen_text(app), what="the first answer, in the list and the footer")
        if steps is not None:
            await steps(pilot, app)
        await pilot.pause()

    try:
        return snap_compare(app, terminal_size=size, run_before=run_before)
    finally:
        app.source.close()


def _footer_current(app) -> bool:
    """The footer was last drawn from a status that counts the followed list as it is now."""
    feed = app.source.poller.followed
    return feed is not None and app.source_status.stored == len(feed.page.traces)


async def _filter(pilot, app, text: str) -> None:
    app.filter_bar.input.value = text
    app.filter_bar.input.focus()
    await pilot.press("enter")
    await wait_for(pilot, lambda: searched(app.trace_list, app) and app.search.text == text, what="filtered")
    # the footer reads the source's status on a timer: wait until it shows the filtered list's count (a
    # loaded machine took the snapshot before it did, with the unfiltered list's "12 traces listed")
    await wait_for(pilot, lambda: _footer_current(app), what="the footer's count of the followed list")


@SIZES
def test_attach_trace_list(snap_compare, cluster_api, size):
    assert snap(snap_compare, cluster_api.url, size)


@SIZES
def test_attach_filter_translated(snap_compare, cluster_api, size):
    async def steps(pilot, app):
        await _filter(pilot, app, "service=kubelet k8s.pod=default/echo-command")

    assert snap(snap_compare, cluster_api.url, size, steps)


@SIZES
def test_attach_trace_view(snap_compare, cluster_api, size):
    async def steps(pilot, app):
        app.trace_list.focus()
        await pilot.press("enter")
        await wait_for(pilot, lambda: app.view == "trace" and app.trace_view.data is not None, what="trace")

    assert snap(snap_compare, cluster_api.url, size, steps)


@SIZES
@pytest.mark.parametrize("key", ["2", "3"], ids=["spans", "pods"])
def test_attach_views_not_offered(snap_compare, cluster_api, size, key):
    async def steps(pilot, app):
        await pilot.press(key)
        await wait_for(pilot, lambda: ": not offered here (Tempo's API" in screen_text(app),
                       what="the view's note")

    assert snap(snap_compare, cluster_api.url, size, steps)


@SIZES
def test_attach_services(snap_compare, cluster_api, size):
    """The Services view over the remote's TraceQL metrics (the numbers are checked against the local
    view's in test_attach_metrics.py)."""
    async def steps(pilot, app):
        await pilot.press("4")
        services = app.pane("services")
        await wait_for(pilot, lambda: services.row_count() > 0 and "RATE/S" in screen_text(app),
                       what="the Services view's rows")

    assert snap(snap_compare, cluster_api.url, size, steps)


@SIZES
def test_attach_graph(snap_compare, cluster_api, size):
    async def steps(pilot, app):
        await pilot.press("5")
        graph = app.pane("graph")
        await wait_for(pilot, lambda: graph.edge_list.row_count() > 0, what="the Graph view's edges")

    assert snap(snap_compare, cluster_api.url, size, steps)


@SIZES
def test_attach_unreachable(snap_compare, cluster_api, size):
    async def steps(pilot, app):
        app.source.poller.failed(RemoteError("unreachable", f"{cluster_api.url}: connection refused"))
        await wait_for(pilot, lambda: "unreachable, retrying" in screen_text(app), what="the footer's note")

    assert snap(snap_compare, cluster_api.url, size, steps)


@SIZES
def test_attach_paused_with_help(snap_compare, cluster_api, size):
    async def steps(pilot, app):
        await pilot.press("p")
        await pilot.press("question_mark")

    assert snap(snap_compare, cluster_api.url, size, steps)
