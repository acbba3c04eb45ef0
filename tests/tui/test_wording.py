"""What the viewer says: quit hint, key names, section headings, singular counts."""

from __future__ import annotations

from tests.tui import data
from tests.tui.helpers import open_trace, ready, screen_text, wait_for
from tests.tui.test_toasts import toast_texts

SIZE = (120, 36)


def test_plural_says_one_span_and_two_spans():
    from kubespan.tui.format import plural

    assert plural(1, "span") == "1 span"
    assert plural(0, "error") == "0 errors"
    assert plural(2, "trace") == "2 traces"
    assert plural(12_345, "span") == "12.3k spans"


async def test_ctrl_c_says_how_to_quit_without_markup(app_factory):
    app = app_factory()
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await ready(pilot, app)
        await pilot.press("ctrl+c")
        await wait_for(pilot, lambda: any("quit" in text for text in toast_texts(app)), what="quit toast")
        text = " ".join(toast_texts(app))
        assert "[b]" not in text and "[/b]" not in text
        assert "Press q (or ctrl+q) to quit the app" in text


async def test_help_names_keys_as_typed(app_factory):
    app = app_factory()
    async with app.run_test(size=(120, 80)) as pilot:
        await ready(pilot, app)
        await pilot.press("question_mark")
        await pilot.pause()
        text = screen_text(app)
        for raw in ("slash", "question_mark", "pageup", "escape"):
            assert raw not in text, raw
        assert "/ " in text and "? " in text and "PgUp" in text and "Esc" in text


async def test_scope_heading_names_the_scope_not_a_zero_count(app_factory):
    app = app_factory()
    async with app.run_test(size=(120, 80)) as pilot:
        await ready(pilot, app)
        await open_trace(pilot, app, data.trace_id(2))
        await pilot.pause()
        text = screen_text(app)
        assert "Scope (0)" not in text
        assert "── Scope k8s.io/kubernetes/pkg/kubelet 1.27.1" in text


async def test_one_span_trace_says_one_span(app_factory):
    app = app_factory(data.orphan_trace(1))
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot, app)
        text = screen_text(app)
        assert "1 trace" in text and "1 traces" not in text
        await pilot.press("enter")
        await pilot.pause()
        text = screen_text(app)
        assert "1 spans" not in text and "1 span" in text
