"""The Services (RED) and Graph views over the k8s fixture: snapshots at 80×24 and 160×45, keys, messages."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from textual.app import App, ComposeResult

from kubespan.metrics.live import LiveMetrics, live_metrics
from kubespan.metrics.slots import SLOT_NS
from kubespan.query import compile_query
from kubespan.tui.graph_drawing import draw_graph
from kubespan.tui.graph_view import GraphView
from kubespan.tui.messages import ApplyFilter
from kubespan.tui.services_view import ServicesView, sparkline
from tests.metrics.conftest import fixture_store
from tests.tui.helpers import wait_for

SIZES = ((80, 24), (160, 45))


def live_fixture() -> tuple[LiveMetrics, tuple[int, int]]:
    store = fixture_store(0)
    live = LiveMetrics(store.snapshot)
    live.refresh()
    live.graph.finish()
    starts = store.snapshot().column("start")
    return live, (int(starts.min()) // SLOT_NS * SLOT_NS, (int(starts.max()) // SLOT_NS + 1) * SLOT_NS)


class Host(App):
    """The views as the viewer shows them, fed once from a LiveMetrics."""

    def __init__(self, view: str) -> None:
        super().__init__()
        self.view = view
        self.live, self.window = live_fixture()
        self.messages: list = []

    def compose(self) -> ComposeResult:
        yield ServicesView(id="services") if self.view == "services" else GraphView(id="graph")

    def on_mount(self) -> None:
        if self.view == "services":
            view = self.query_one(ServicesView)
            view.set_rows(self.live.rows(*self.window), "2m05s of spans")
            view.focus()
        else:
            graph = self.query_one(GraphView)
            graph.set_edges(self.live.edges(*self.window))
            graph.focus_edges()

    def on_services_view_operation_chosen(self, message: ServicesView.OperationChosen) -> None:
        self.messages.append((message.service, message.operation))

    def on_apply_filter(self, message: ApplyFilter) -> None:
        self.messages.append((message.text, message.view))


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_services_view(snap_compare, size):
    assert snap_compare(Host("services"), terminal_size=size)


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_services_view_sorted_by_p99(snap_compare, size):
    assert snap_compare(Host("services"), terminal_size=size, press=["o", "o", "o", "o"])


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_graph_view(snap_compare, size):
    assert snap_compare(Host("graph"), terminal_size=size)


async def test_enter_on_an_operation_chooses_it_and_f_has_its_filter():
    app = Host("services")
    async with app.run_test(size=(120, 30)) as pilot:
        view = app.query_one(ServicesView)
        assert view.selected_row.service == "apiserver" and view.selected_row.is_service
        await pilot.press("down", "enter")
        await pilot.pause()
        service, operation = app.messages[-1]
        assert service == "apiserver" and operation == view.selected_row.operation
        assert compile_query(view.filter_text()).syntax == "traceql"


async def test_sort_keys_keep_operations_under_their_service():
    app = Host("services")
    async with app.run_test(size=(120, 30)) as pilot:
        view = app.query_one(ServicesView)
        await pilot.press("o")  # errors, highest first
        assert view.sort_column == "errors"
        services = [r for r in view.shown if r.is_service]
        assert [r.error_pct for r in services] == sorted((r.error_pct for r in services), reverse=True)
        await pilot.press("O")
        services = [r for r in view.shown if r.is_service]
        assert [r.error_pct for r in services] == sorted(r.error_pct for r in services)
        for index, row in enumerate(view.shown):
            if not row.is_service:
                owner = next(r for r in reversed(view.shown[:index]) if r.is_service)
                assert owner.service == row.service


async def test_enter_on_an_edge_filters_to_its_spans():
    app = Host("graph")
    async with app.run_test(size=(120, 30)) as pilot:
        await pilot.press("enter")
        await pilot.pause()
        ((query, view),) = app.messages
        assert view == "spans"
        assert query == ('{ resource.service.name = "kubelet" && kind = client } > '
                         '{ resource.service.name = "containerd" && kind = server }')
        for edge in app.live.edges(*app.window):
            app.query_one(GraphView).edge_list.set_edges([edge])
            assert compile_query(app.query_one(GraphView).filter_text()).syntax == "traceql"


def test_drawing_fits_80_columns_and_marks_kinds():
    live, window = live_fixture()
    lines = [line.plain for line in draw_graph(live.edges(*window), 80)]
    assert all(len(line) <= 80 for line in lines)
    assert any("kubelet" in line and "─┬─" in line for line in lines)
    assert any("┄▶ apiserver" in line and "link" in line for line in lines)
    assert any(line.startswith("user") and "╌▶" in line for line in lines)


def test_sparkline_scales_to_the_busiest_slot():
    assert sparkline((0, 1, 2, 4)) == " ▃▅█"
    assert sparkline((0, 0)) == "  "


class FixtureSource:
    """A data source that is not live (a dump): the views follow its newest span."""

    @dataclass(frozen=True)
    class Capabilities:
        live: bool = False

    capabilities = Capabilities()

    def __init__(self) -> None:
        self.store = fixture_store(0)

    def metrics(self) -> LiveMetrics:
        return live_metrics(self.store)


@dataclass(frozen=True)
class Search:
    query: object = None
    clause: object = None


class Fed(App):
    """The views fed by a source through their own refresh workers, as the viewer runs them."""

    def __init__(self, view: str) -> None:
        super().__init__()
        self.view, self.source = view, FixtureSource()

    def compose(self) -> ComposeResult:
        yield ServicesView(self.source, id="v") if self.view == "services" else GraphView(self.source, id="v")


async def test_services_refresh_from_the_source_and_the_filter_narrows_them():
    app = Fed("services")
    async with app.run_test(size=(120, 30)) as pilot:
        view = app.query_one(ServicesView)
        await wait_for(pilot, lambda: view.row_count() > 0, what="rows")
        assert {r.service for r in view.rows if r.is_service} == {"apiserver", "containerd", "etcd", "kubelet"}
        assert "last 5m00s" in view.window_text
        view.search = Search(compile_query("{ resource.service.name = \"etcd\" }"))
        await wait_for(pilot, lambda: {r.service for r in view.rows} == {"etcd"}, what="narrowed rows")


async def test_graph_refreshes_from_the_source():
    app = Fed("graph")
    async with app.run_test(size=(120, 30)) as pilot:
        edges = app.query_one(GraphView).edge_list
        await wait_for(pilot, lambda: edges.row_count() >= 5, what="edges")
        assert edges.edges[0].edge.client == "kubelet"
