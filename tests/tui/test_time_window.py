"""Time windows in the filter bar: `since 5m`, `between 12:00 12:05`, TraceQL `with (...)` hints."""

from __future__ import annotations

from datetime import timezone

import pytest

from kubespan.tui.time_window import TimeWindowError, parse_duration, split_time_clause
from tests.tui import data
from tests.tui.helpers import listed, ready, screen_text, searched, wait_for

SIZE = (120, 36)
NS = 1_000_000_000
DAY = data.BASE - data.BASE % (86400 * NS)  # 2023-05-23 00:00 UTC


@pytest.mark.parametrize(("text", "rest", "window"), [
    ("service=kubelet since 5m", "service=kubelet", (data.BASE - 300 * NS, None)),
    ("since 1h30m", "", (data.BASE - 5400 * NS, None)),
    ("{ status = error } with (since=5m)", "{ status = error }", (data.BASE - 300 * NS, None)),
    ('{ .x = 1 } with (start="11:00", end="11:30")', "{ .x = 1 }", (DAY + 11 * 3600 * NS, DAY + 11.5 * 3600 * NS)),
    ("syncPod between 11:46:45 11:46:48", "syncPod", (DAY + 42405 * NS, DAY + 42408 * NS)),
    ("between 23:50 and 00:10", "", (DAY + 85800 * NS, DAY + 87000 * NS)),
    ("since 11:46", "", (DAY + 42360 * NS, None)),
])
def test_time_clauses_split_off_and_resolve(text, rest, window):
    found_rest, clause = split_time_clause(text)
    assert found_rest == rest
    assert clause.resolve(data.BASE, data.BASE, timezone.utc) == tuple(None if w is None else int(w) for w in window)


def test_text_without_a_time_clause_is_left_alone():
    for text in ('name="since 5m"', "syncPod", "{ .since = 5 }", ""):
        assert split_time_clause(text) == (text, None)


@pytest.mark.parametrize("text", ["since boot", "between 25:00 12:00", "{ x } with (sample=true)",
                                  "{ x } with (since=abc)", "between 12:00 soon"])
def test_bad_time_clauses_are_errors_with_a_column(text):
    with pytest.raises(TimeWindowError) as raised:
        split_time_clause(text)
    assert raised.value.column >= 1


def test_durations():
    assert parse_duration("1h30m") == 5400 * NS
    assert parse_duration("250ms") == 250_000_000
    assert parse_duration("2d") == 172800 * NS


def started_in(app, start: int, end: int) -> set[bytes]:
    store = app.source.store
    return {row.trace_id for row in store.span_rows(store.search()) if start <= row.start < end}


async def test_between_keeps_traces_with_a_span_starting_in_the_window(app_factory):
    app = app_factory()
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot, app)
        app.filter_bar.apply("between 11:46:45 11:46:48")
        await wait_for(pilot, lambda: app.search.clause is not None and searched(app.trace_list, app))
        expected = started_in(app, DAY + 42405 * NS, DAY + 42408 * NS)
        assert 0 < len(expected) < 12
        assert set(listed(app.trace_list)) == expected
        app.filter_bar.apply('{ resource.service.name = "apiserver" } with (start="11:46:45", end="11:46:55")')
        await wait_for(pilot, lambda: "apiserver" in app.search.text and searched(app.trace_list, app))
        assert {s.root_service for s in app.source.store.trace_summaries(listed(app.trace_list))} == {"apiserver"}


async def test_since_counts_back_from_the_wall_clock(app_factory):
    app = app_factory()
    app.source.wall_clock = lambda: (data.BASE + 6 * NS) / NS  # "now" is six seconds after the first trace
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot, app)
        app.filter_bar.apply("since 2s")
        await wait_for(pilot, lambda: app.search.clause is not None and searched(app.trace_list, app))
        assert set(listed(app.trace_list)) == started_in(app, data.BASE + 4 * NS, 1 << 62)
        app.source.wall_clock = lambda: (data.BASE + 3600 * NS) / NS
        app.filter_bar.apply("since 5m")
        await wait_for(pilot, lambda: app.search.text == "since 5m" and searched(app.trace_list, app))
        assert app.trace_list.row_count() == 0


async def test_a_bad_time_clause_is_shown_inline(app_factory):
    app = app_factory()
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot, app)
        assert not app.filter_bar.apply("service=kubelet since boot")
        await pilot.pause()
        assert app.filter_bar.has_class("-error") and "give a duration" in screen_text(app)


def test_readme_documents_the_filter_bar_time_windows():
    import re
    from pathlib import Path

    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    viewer = readme[readme.index("### The viewer"):readme.index("### The query language")]
    paragraph = viewer[viewer.index("A time window ends the filter"):].split("\n\n")[0]
    examples = re.findall(r"`([^`]*(?:since|between)[^`]*)`", paragraph)
    assert len(examples) >= 3, examples
    for example in examples:
        rest, clause = split_time_clause(example)
        assert clause is not None and rest.strip() and rest.strip() != example, example
