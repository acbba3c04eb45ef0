"""Waiting on conditions (never fixed sleeps) and reading what is on screen."""

from __future__ import annotations

import time


def screen_text(app) -> str:
    return "\n".join(strip.text for strip in app.screen._compositor.render_strips())


async def wait_for(pilot, condition, timeout: float = 10.0, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await pilot.pause()


def searched(lst, app) -> bool:
    """The list shows the answer to the applied filter and has no search running."""
    return lst.result_search is app.search and not lst.searching


async def ready(pilot, app) -> None:
    """The first search has been applied to the trace list."""
    await wait_for(pilot, lambda: searched(app.trace_list, app), what="first search")
    await pilot.pause()


async def open_trace(pilot, app, trace_id: bytes, select: bytes | None = None) -> None:
    """Open a trace as Enter does, and wait until it is shown."""
    from kubespan.tui.messages import OpenTrace

    app.post_message(OpenTrace(trace_id, select))
    await wait_for(pilot, lambda: app.view == "trace" and app.trace_view.data is not None
                   and app.trace_view.data.trace_id == trace_id, what="trace shown")
    await pilot.pause()


def listed(lst) -> list:
    """Every key the list's answer holds, in list order (trace ids, span ordinals)."""
    result = lst.result
    return [] if result is None else [result.key(index) for index in range(result.total)]
