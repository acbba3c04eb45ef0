"""Orders: the trace list by start, duration, span count or errors (`o`); the span list by
start time, newest first (not arrival order), or by duration."""

from __future__ import annotations

from kubespan.tui.source.base import SpanSort, TraceSort
from tests.tui import data
from tests.tui.helpers import listed, ready, screen_text, searched, wait_for

SIZE = (120, 36)


def late_parent_first() -> list[bytes]:
    """A parent that started first but arrives last (spans are exported when they end)."""
    child = data.make_span(1, 1, "child", parent=0, start=100, dur=10)
    sibling = data.make_span(1, 2, "sibling", parent=0, start=300, dur=10)
    parent = data.make_span(1, 0, "parent", start=0, dur=500)
    return [data.request("svc", [child]), data.request("svc", [sibling]), data.request("svc", [parent])]


async def test_span_list_is_newest_start_first_not_arrival_order(app_factory):
    app = app_factory(late_parent_first())
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot, app)
        await pilot.press("t")
        await wait_for(pilot, lambda: app.span_list.row_count() == 3 and searched(app.span_list, app))
        names = [app.span_list.row(index).name for index in range(3)]
        assert names == ["sibling", "child", "parent"]
        assert "TIME▼" in screen_text(app)


async def test_span_list_sorts_by_duration_with_o(app_factory):
    app = app_factory(late_parent_first())
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot, app)
        await pilot.press("t")
        await wait_for(pilot, lambda: searched(app.span_list, app) and app.span_list.row_count() == 3)
        await pilot.press("o")
        assert app.span_list.sort is SpanSort.DURATION
        await wait_for(pilot, lambda: searched(app.span_list, app) and app.span_list.row(0).name == "parent")
        assert "DURATION▼" in screen_text(app)


async def test_trace_list_cycles_start_duration_spans_errors(app_factory):
    app = app_factory()
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot, app)
        store = app.source.store
        summaries = {s.trace_id: s for s in store.trace_summaries(listed(app.trace_list))}

        async def order(sort: TraceSort, column: str) -> list:
            await pilot.press("o")
            assert app.trace_list.sort is sort
            await wait_for(pilot, lambda: searched(app.trace_list, app) and app.trace_list.result_search is app.search
                           and app.trace_list.row_count() == 12, what=sort.value)
            await wait_for(pilot, lambda: f"{column}▼" in screen_text(app), what="arrow")
            return [summaries[trace_id] for trace_id in listed(app.trace_list)]

        by_duration = await order(TraceSort.DURATION, "DURATION")
        assert [s.duration for s in by_duration] == sorted((s.duration for s in by_duration), reverse=True)
        by_spans = await order(TraceSort.SPANS, "SPANS")
        assert [s.span_count for s in by_spans] == sorted((s.span_count for s in by_spans), reverse=True)
        by_errors = await order(TraceSort.ERRORS, "ERR")
        assert [s.error_count for s in by_errors][:2] == [3, 0]
        clean = by_errors[1:]
        assert [s.start for s in clean] == sorted((s.start for s in clean), reverse=True)  # newest among equals
        by_start = await order(TraceSort.START, "START")
        assert [s.start for s in by_start] == sorted((s.start for s in by_start), reverse=True)
