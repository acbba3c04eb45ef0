"""Readable at 80×24: whole column titles, service names, axis labels that do not collide,
and a waterfall/detail split that follows the trace's size and moves with + and -."""

from __future__ import annotations

import re

from kubespan.tui.format import format_duration
from kubespan.tui.trace_view import TraceView
from tests.tui import data
from tests.tui.helpers import open_trace, ready, screen_text, wait_for

SMALL = (80, 24)
DURATION = re.compile(r"^\d+(\.\d+)?(ns|µs|ms|s)$|^\d+m\d\ds$|^\d+h\d\dm$")


def lines_of(app) -> list[str]:
    return screen_text(app).splitlines()


async def test_trace_list_at_80_columns_keeps_whole_titles_and_names(app_factory):
    app = app_factory()
    async with app.run_test(size=SMALL) as pilot:
        await ready(pilot, app)
        header = lines_of(app)[1]
        assert "…" not in header
        assert header.split() == ["START▼", "SERVICE", "ROOT", "SPAN", "DURATION", "SPANS", "ERR"]
        row = lines_of(app)[2]
        assert "apiserver" in row and "KubernetesAPI" in row and "3.00ms" in row


async def test_span_list_at_80_columns_shows_whole_span_names(app_factory):
    app = app_factory()
    async with app.run_test(size=SMALL) as pilot:
        await ready(pilot, app)
        await pilot.press("t")
        await wait_for(pilot, lambda: app.span_list.row_count() == 66)
        text = screen_text(app)
        assert "pkg.cri.server.CreateContainer" in text and "…" not in lines_of(app)[1]


async def test_waterfall_axis_labels_do_not_collide(app_factory):
    for size in (SMALL, (100, 30), (160, 45)):
        app = app_factory()
        async with app.run_test(size=size) as pilot:
            await ready(pilot, app)
            await open_trace(pilot, app, data.trace_id(2))
            await pilot.pause()
            header = next(line for line in lines_of(app) if line.startswith("SPAN ("))
            axis = header.split("DURATION", 1)[1]
            labels = re.findall(r"\|(\S+)", axis)
            assert len(labels) >= 2, axis
            for label in labels:
                assert DURATION.match(label), (size, axis)
            assert labels[-1] == format_duration(1_330_000_000)


async def test_split_follows_the_trace_size(app_factory):
    app = app_factory(data.orphan_trace(1) + data.sync_pod_trace(2, "default/web-0"))
    async with app.run_test(size=(120, 40)) as pilot:
        await ready(pilot, app)
        await open_trace(pilot, app, data.trace_id(1))  # one span: the waterfall is its header, the row and the rule
        await pilot.pause()
        small = app.waterfall.region.height
        assert small == 3
        assert app.detail.region.height >= 30
        await open_trace(pilot, app, data.trace_id(2))  # seven spans
        await pilot.pause()
        assert app.waterfall.region.height == 9


async def test_split_moves_with_plus_and_minus_and_resets_with_equals(app_factory):
    app = app_factory(data.sync_pod_trace(2, "default/web-0"))
    async with app.run_test(size=(120, 40)) as pilot:
        await ready(pilot, app)
        await pilot.press("enter")
        await pilot.pause()
        auto = app.waterfall.region.height
        await pilot.press("plus", "plus")
        await pilot.pause()
        assert app.waterfall.region.height == auto + 4
        await pilot.press("minus")
        await pilot.pause()
        assert app.waterfall.region.height == auto + 2
        for _ in range(30):
            await pilot.press("minus")
        await pilot.pause()
        assert app.waterfall.region.height == 3  # never less than header, a row and the rule
        await pilot.press("equals_sign")
        await pilot.pause()
        assert app.waterfall.region.height == auto
        total = app.query_one(TraceView).region.height
        for _ in range(30):
            await pilot.press("plus")
        await pilot.pause()
        assert app.detail.region.height >= 3 and app.waterfall.region.height < total
