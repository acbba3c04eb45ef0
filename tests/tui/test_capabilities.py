"""A source that cannot answer a view (a remote Tempo has no flat span list, no pod view) gets
its note in that view, no query is sent and the filter bar counts none; `n` without folding
says so."""

from __future__ import annotations

from kubespan.tui.source.base import Capabilities
from tests.tui.helpers import ready, screen_text, wait_for
from tests.tui.test_toasts import toast_texts

NOTE = "not available from this source"


async def test_views_a_source_cannot_answer_show_its_note(app_factory):
    app = app_factory()
    app.source.capabilities = Capabilities(spans=False, pods=False, fold=False)
    asked = []
    app.source.find_spans = lambda *args, **kwargs: asked.append("spans")
    app.source.pods = lambda *args, **kwargs: asked.append("pods") or []
    async with app.run_test(size=(120, 36), notifications=True) as pilot:
        await ready(pilot, app)
        await pilot.press("2")
        await pilot.pause()
        assert f"Spans: not offered here ({NOTE})" in screen_text(app)
        assert "0 spans" in screen_text(app) and "12 traces" not in screen_text(app)  # the bar counts this view
        await pilot.press("3")
        await pilot.pause()
        assert f"Pods: not offered here ({NOTE})" in screen_text(app) and "0 pods" in screen_text(app)
        await pilot.press("1", "n")
        await wait_for(pilot, lambda: any("Folding" in text for text in toast_texts(app)), what="fold note")
        assert f"Folding repeated roots: {NOTE}" in " ".join(toast_texts(app))
        assert not app.trace_list.fold and asked == []
        assert app.trace_list.row_count() == 12  # the traces themselves are still listed
