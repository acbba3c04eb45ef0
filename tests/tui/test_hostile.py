"""Network text is inert on screen: markup literal, control characters escaped."""

from __future__ import annotations

from tests.tui import data
from tests.tui.helpers import ready, screen_text, wait_for

RAW = ("\x1b", "\x07", "\r", "\u202e", "\u202c")


def assert_inert(text: str) -> None:
    for char in RAW:
        assert char not in text, repr(char)


async def test_hostile_names_and_values_are_escaped_everywhere(app_factory):
    app = app_factory(data.hostile_trace(1))
    async with app.run_test(size=(160, 60)) as pilot:
        await ready(pilot, app)
        text = screen_text(app)
        assert "[red]svc[/]" in text and "hostile root" in text
        assert_inert(text)
        # span list
        await pilot.press("t")
        await wait_for(pilot, lambda: app.span_list.row_count() == 7)
        text = screen_text(app)
        assert "steal \\x1b]52;c;aGVsbG8=\\x07 clipboard" in text
        assert "k8s.pod=evil/\\x1b[2Jpod" in text
        assert_inert(text)
        # waterfall and detail
        await pilot.press("t", "enter")
        text = screen_text(app)
        for shown in ("[bold red]x[/]", "clear \\x1b[2J screen", "carriage\\rreturn", "bidi \\u202eevil\\u202c end",
                      "[link=file:///etc/passwd]click[/link]"):
            assert shown in text, shown
        assert_inert(text)
        # the detail of a hostile span: key and value escaped
        app.waterfall.move_cursor(2)
        await pilot.pause()
        text = screen_text(app)
        assert "name         steal \\x1b]52;c;aGVsbG8=\\x07 clipboard" in text
        assert_inert(text)
        # every strip the widgets rendered is inert too (not just the final screen)
        for widget in (app.waterfall, app.detail):
            for y in range(widget.size.height):
                assert_inert(widget.render_line(y).text)


async def test_megabyte_value_is_bounded_in_the_detail_and_whole_in_the_modal(app_factory):
    app = app_factory(data.hostile_trace(1))
    async with app.run_test(size=(120, 36)) as pilot:
        await ready(pilot, app)
        await pilot.press("enter", "enter")
        labels = [line.item.label if line.item else "" for line in app.detail.lines]
        index = labels.index("big")
        assert len(app.detail.lines[index].text.plain) < 700
        assert "1,000,000 chars" in app.detail.lines[index].text.plain
        app.detail.move_cursor(index)
        await pilot.press("y")
        assert app.clipboard == "A" * 1_000_000
        await pilot.press("enter")
        await pilot.pause()
        log = app.screen.query_one("#value-log")
        assert sum(len(line) for line in log.lines) == 1_000_000
        await pilot.press("escape")
        assert app.focused is app.detail


async def test_copying_a_hostile_value_copies_it_verbatim(app_factory):
    """The clipboard gets the real value (the user asked for it); only the screen is escaped."""
    app = app_factory(data.hostile_trace(1))
    async with app.run_test(size=(120, 36)) as pilot:
        await ready(pilot, app)
        await pilot.press("enter", "enter")
        labels = [line.item.label if line.item else "" for line in app.detail.lines]
        app.detail.move_cursor(labels.index("payload"))
        await pilot.press("y")
        assert app.clipboard == data.HOSTILE_NAMES[1]
        assert_inert(screen_text(app))


C1_AND_OSC8 = ("\x9b", "\x9d", "\x1b]8;;", "\u2066")
CORPUS_NAME = ("osc8 \x1b]8;;http://evil.example\x07click\x1b]8;;\x07 csi \x9b31m osc \x9d0;t\x9c"
               " bell\x07 cr\r isolate \u2066x\u2069 [bold red]x[/] [link=http://evil.example]y[/link]")


async def test_c1_controls_and_osc8_links_from_the_network_are_inert(app_factory):
    """The hostile corpus' terminal escapes, received through the pipeline, stay text."""
    spans = [data.make_span(2, 0, CORPUS_NAME, dur=5, attrs={CORPUS_NAME: CORPUS_NAME}, error=True,
                            message=CORPUS_NAME)]
    app = app_factory([data.request(CORPUS_NAME, spans)])
    async with app.run_test(size=(200, 50)) as pilot:
        await ready(pilot, app)
        await pilot.press("t")
        await wait_for(pilot, lambda: app.span_list.row_count() == 1)
        await pilot.press("t", "enter")
        await pilot.pause()
        text = screen_text(app)
        for char in RAW + C1_AND_OSC8:
            assert char not in text, repr(char)
        for shown in ("\\x1b]8;;http://evil.example\\x07click", "\\x9b31m", "\\x9d0;t\\x9c", "\\u2066x\\u2069",
                      "[bold red]x[/]", "[link=http://evil.example]y[/link]"):
            assert shown in text, shown
        for widget in (app.waterfall, app.detail):
            for y in range(widget.size.height):
                line = widget.render_line(y).text
                assert not any(char in line for char in RAW + C1_AND_OSC8)
