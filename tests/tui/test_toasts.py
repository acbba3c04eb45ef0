"""Toasts render network text literally: markup shown as typed, control characters escaped,
and `y` writes the OSC 52 clipboard sequence with the value itself."""

from __future__ import annotations

import base64

from textual.widgets._toast import Toast

from kubespan.tui import messages
from kubespan.tui.source.base import SourceError
from tests.tui import data
from tests.tui.helpers import ready, screen_text, wait_for

SIZE = (160, 50)
RAW = ("\x1b", "\x07", "\r", "\u202e", "\u202c")


def toast_texts(app) -> list[str]:
    return [str(toast.render()) for toast in app.screen.query(Toast)]


async def wait_toast(pilot, app, needle: str) -> str:
    await wait_for(pilot, lambda: any(needle in text for text in toast_texts(app)), what=f"toast {needle!r}")
    await pilot.pause()
    text = screen_text(app)
    for char in RAW:
        assert char not in text, repr(char)
    return text


def capture_writes(app) -> list[str]:
    written: list[str] = []
    original = app._driver.write

    def write(data: str) -> None:
        written.append(data)
        original(data)

    app._driver.write = write
    return written


async def open_hostile_detail(pilot, app, label: str) -> None:
    await ready(pilot, app)
    await pilot.press("enter", "enter")
    labels = [line.item.label if line.item else "" for line in app.detail.lines]
    app.detail.move_cursor(labels.index(label))
    await pilot.pause()


async def test_copy_toast_shows_markup_literally_and_emits_osc52(app_factory):
    app = app_factory(data.hostile_trace(1))
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await open_hostile_detail(pilot, app, "markup")
        written = capture_writes(app)
        await pilot.press("y")
        text = await wait_toast(pilot, app, "Copied markup")
        assert "Copied markup: [bold red]x[/]" in text
        expected = base64.b64encode(b"[bold red]x[/]").decode()
        assert f"\x1b]52;c;{expected}\a" in written
        assert app.clipboard == "[bold red]x[/]"


async def test_copy_toast_escapes_an_osc52_payload_but_copies_it_verbatim(app_factory):
    app = app_factory(data.hostile_trace(1))
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await open_hostile_detail(pilot, app, "payload")
        written = capture_writes(app)
        await pilot.press("y")
        text = await wait_toast(pilot, app, "Copied payload")
        assert "steal \\x1b]52;c;aGVsbG8=\\x07 clipboard" in text
        clipboard = [chunk for chunk in written if chunk.startswith("\x1b]52;c;")]
        assert clipboard == [f"\x1b]52;c;{base64.b64encode(data.HOSTILE_NAMES[1].encode()).decode()}\a"]


async def test_add_to_filter_toast_shows_a_link_literally(app_factory):
    app = app_factory(data.hostile_trace(1))
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await ready(pilot, app)
        await pilot.press("enter")
        names = [line.row.name for line in app.waterfall.lines]
        app.waterfall.move_cursor(names.index("[link=file:///etc/passwd]click[/link]"))
        await pilot.press("enter")
        labels = [line.item.label if line.item else "" for line in app.detail.lines]
        app.detail.move_cursor(labels.index("[link=file:///etc/passwd]click[/link]"))
        await pilot.press("f")
        text = await wait_toast(pilot, app, "Filter: ")
        assert "[link=file:///etc/passwd]click[/link]" in text.replace("\n", "")


async def test_error_toasts_from_searches_loads_and_workers_are_inert(app_factory):
    app = app_factory()
    hostile = "boom [bold red]x[/] \x1b]52;c;aGVsbG8=\x07 [link=file:///etc/passwd]y[/link]"
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await ready(pilot, app)

        def refuse(*args, **kwargs):
            raise SourceError(hostile)

        app.source.find_traces = refuse
        app.filter_bar.apply("service=kubelet")
        text = await wait_toast(pilot, app, "search failed")
        assert "boom [bold red]x[/] \\x1b]52;c;aGVsbG8=\\x07" in text
        app.clear_notifications()
        app.post_message(messages.LoadProgress(path="/tmp/[red]f[/].json", done=1, total=1, spans=0,
                                               finished=True, error=hostile, warnings=[hostile]))
        text = await wait_toast(pilot, app, "/tmp/[red]f[/].json: boom [bold red]x[/]")
        assert "[link=file:///etc/passwd]y[/link]" in "".join(toast_texts(app))
