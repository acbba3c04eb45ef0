"""What the UI thread must never do while keys are pressed: take a store snapshot (it waits
for the store's lock, which an arriving batch holds for up to a second while the attribute
table is compacted) or read the counters (their gauges take the same lock). Counted, not timed."""

from __future__ import annotations

import threading

from tests.tui import data
from tests.tui.helpers import listed, ready, searched, wait_for

SIZE = (120, 36)


def _record_ui_thread_calls(app) -> dict[str, int]:
    """Count snapshots and status reads made on the UI (main) thread from now on."""
    counts = {"snapshot": 0, "status": 0}
    writer, source = app.source.store.writer, app.source

    def counted(name, call):
        def wrapper(*args, **kwargs):
            if threading.current_thread() is threading.main_thread():
                counts[name] += 1
            return call(*args, **kwargs)
        return wrapper

    writer.snapshot = counted("snapshot", writer.snapshot)
    source.status = counted("status", source.status)
    return counts


async def test_keys_and_arriving_spans_read_the_store_on_workers_only(app_factory):
    app = app_factory()
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot, app)
        counts = _record_ui_thread_calls(app)
        await pilot.press("down", "down", "pagedown", "home")
        await pilot.press("down", "enter")
        await wait_for(pilot, lambda: app.view == "trace" and app.trace_view.data is not None, what="trace")
        await pilot.press("down", "down", "escape")
        await wait_for(pilot, lambda: app.view == "traces", what="back")
        await pilot.press("home")  # following again
        for raw in data.sync_pod_trace(60, "default/web-0"):  # the list follows, the footer counts
            app.pipeline.export_traces(raw)
        await wait_for(pilot, lambda: app.trace_list.row_count() == 13, what="new trace listed")
        await pilot.press("down", "p")
        for raw in data.sync_pod_trace(61, "default/web-1"):  # held rows are refreshed
            app.pipeline.export_traces(raw)
        await wait_for(pilot, lambda: app.feed == app.source.store.version, what="poll")
        await pilot.press("p", "t")
        await wait_for(pilot, lambda: app.span_list.row_count() > 0, what="span list")
        await pilot.press("t", "slash")
        app.filter_bar.input.value = "k8s.pod=default/web-0"
        await pilot.press("enter")
        await wait_for(pilot, lambda: app.search.text and searched(app.trace_list, app), what="filtered")
        assert 0 < app.trace_list.row_count() < 13
        await wait_for(pilot, lambda: app.source_status.stored == len(app.source.store), what="footer's count")
        assert counts == {"snapshot": 0, "status": 0}


async def test_moving_in_the_waterfall_reads_no_span_detail(app_factory):
    """A trace's spans come with their details (read on the worker that loaded it)."""
    app = app_factory()
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot, app)
        reads = []
        store = app.source.store
        original = store.reader

        def reader():
            made = original()
            span_detail = made.span_detail
            made_reads = reads

            class Counting:
                def __getattr__(self, name):
                    return getattr(made, name)

                def span_detail(self, ordinal):
                    made_reads.append((threading.current_thread() is threading.main_thread(), ordinal))
                    return span_detail(ordinal)

            return Counting()

        store.reader = reader
        app.trace_list.move_cursor(listed(app.trace_list).index(data.trace_id(2)))
        await pilot.press("enter")
        await wait_for(pilot, lambda: app.view == "trace" and app.trace_view.data is not None, what="trace")
        loaded = len(reads)
        assert loaded == len(app.waterfall.lines) and not any(on_ui for on_ui, _ in reads)
        for _ in range(len(app.waterfall.lines) - 1):
            await pilot.press("down")
        assert app.detail.ordinal == app.waterfall.selected_row.ordinal
        assert app.detail.lines and len(reads) == loaded


async def test_a_trace_list_answer_reads_ids_only_for_the_rows_asked(app_factory):
    """The answer is trace rows in list order; the ids and positions agree with the store's own page."""
    app = app_factory()
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot, app)
        result = app.trace_list.result
        store = app.source.store
        assert [result.key(i) for i in range(result.total)] == store.trace_page(None, 0, None).trace_ids
        assert result.position(data.trace_id(2)) == listed(app.trace_list).index(data.trace_id(2))
        assert result.position(b"\x00" * 16) is None


async def test_a_following_list_takes_new_rows_without_laying_the_screen_out(app_factory):
    """A re-search that changes only the row count (the list overflows before and after) and the
    filter bar's count (same width) repaints; it does not lay the whole screen out again."""
    app = app_factory(data.cluster(traces=60))
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot, app)
        assert app.trace_list.row_count() == 60 and app.trace_list.following
        await wait_for(pilot, lambda: app.source_status.stored == len(app.source.store), what="footer's count")
        for _ in range(3):  # the start's own layouts are done
            await pilot.pause()
        layouts = []
        screen = app.screen
        original = screen._refresh_layout

        def counted(*args, **kwargs):
            layouts.append({type(k).__name__: sorted(f"{type(w).__name__}#{w.id}" for w in v)
                            for k, v in screen._layout_widgets.items()})
            return original(*args, **kwargs)

        screen._refresh_layout = counted
        for raw in data.sync_pod_trace(70, "default/web-0"):
            app.pipeline.export_traces(raw)
        await wait_for(pilot, lambda: app.trace_list.row_count() == 61, what="new trace listed")
        await wait_for(pilot, lambda: "61 traces" in str(app.filter_bar.query_one("#filter-matches").render()),
                       what="count")
        await pilot.pause()
        assert layouts == []
        assert listed(app.trace_list)[0] == data.trace_id(70)
