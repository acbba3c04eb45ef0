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


async def ready(pilot, app) -> None:
    """The first search has been applied to the trace list."""
    await wait_for(pilot, lambda: app._searched.get("traces") == app.generation and not app._searching,
                   what="first search")
    await pilot.pause()
