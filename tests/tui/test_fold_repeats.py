"""`n` folds the kubelet's PLEG noise: repeated roots of one service and name become one row
with a count and p50/p99; Enter lists them; `n` again unfolds. The README's k3d section
shows how to drop them at ingest instead."""

from __future__ import annotations

import re
from pathlib import Path

from kubespan.tui.source.base import RootGroup
from tests.tui import data
from tests.tui.helpers import listed, ready, screen_text, searched, wait_for

SIZE = (160, 45)
LIST_POD_SANDBOX = "runtime.v1.RuntimeService/ListPodSandbox"
README = Path(__file__).resolve().parents[2] / "README.md"


def pleg_relist(t: int, duration_ms: int) -> list[bytes]:
    """The kubelet's PLEG relist: a CRI client root with containerd's server span under it."""
    root = data.make_span(t, 0, LIST_POD_SANDBOX, dur=duration_ms, kind=3)
    server = data.make_span(t, 11, LIST_POD_SANDBOX, parent=0, dur=duration_ms, kind=2)
    return [data.request("kubelet", [root]), data.request("containerd", [server], scope="")]


def noisy_cluster() -> list[bytes]:
    requests: list[bytes] = []
    for t in range(100, 200):  # 100 relists of 1..100 ms: p50 50 ms, p99 99 ms
        requests += pleg_relist(t, t - 99)
    return requests + data.sync_pod_trace(300, "default/echo-command") + data.apiserver_trace(301, "default/web-0")


async def test_n_folds_repeated_roots_into_one_row_with_count_and_percentiles(app_factory):
    app = app_factory(noisy_cluster())
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot, app)
        assert app.trace_list.row_count() == 102
        await pilot.press("n")
        await wait_for(pilot, lambda: searched(app.trace_list, app) and app.trace_list.row_count() == 3, what="folded")
        rows = [app.trace_list.row(index) for index in range(3)]
        [group] = [row for row in rows if isinstance(row, RootGroup)]
        assert (group.service, group.name, group.count, group.spans) == ("kubelet", LIST_POD_SANDBOX, 100, 200)
        assert (group.p50, group.p99) == (50_000_000, 99_000_000)
        text = screen_text(app)
        assert "×100 …vice/ListPodSandbox  p50 50.0ms p99 99.0ms" in text
        assert "syncPod" in text and "KubernetesAPI" in text  # rare roots stay listed one by one
        assert "3 traces" in text
        await pilot.press("n")
        await wait_for(pilot, lambda: searched(app.trace_list, app) and app.trace_list.row_count() == 102,
                       what="unfolded")


async def test_enter_on_a_folded_row_lists_the_traces_it_stands_for(app_factory):
    app = app_factory(noisy_cluster())
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot, app)
        await pilot.press("n")
        await wait_for(pilot, lambda: searched(app.trace_list, app) and app.trace_list.row_count() == 3, what="folded")
        index = next(i for i in range(3) if isinstance(app.trace_list.row(i), RootGroup))
        app.trace_list.move_cursor(index)
        await pilot.press("enter")
        assert app.search.text == f'{{ trace:rootService = "kubelet" && trace:rootName = "{LIST_POD_SANDBOX}" }}'
        assert not app.trace_list.fold
        await wait_for(pilot, lambda: searched(app.trace_list, app) and app.trace_list.row_count() == 100,
                       what="the folded traces")
        assert set(listed(app.trace_list)) == {data.trace_id(t) for t in range(100, 200)}


def readme_k3d_drop_queries() -> list[str]:
    text = README.read_text()
    section = text[text.index("## Trace your local Kubernetes cluster"):]
    section = section[: section.index("\n## ", 1)]
    return re.findall(r"--drop '([^']+)'", section)


def test_readme_k3d_section_drops_pleg_list_pod_sandbox_at_ingest():
    """The README's `--drop` line for the PLEG noise drops the relists and nothing else."""
    from kubespan.service.options import ServiceOptions, service_config
    from kubespan.service.service import Service

    queries = readme_k3d_drop_queries()
    assert queries, "the README's k3d section shows no --drop line"
    service = Service(service_config(ServiceOptions(grpc="127.0.0.1:0", http=None, store=True, max_spans=10_000,
                                                    drop=tuple(queries))))
    service.start()
    try:
        for raw in noisy_cluster():
            service.pipeline.export_traces(raw)
        reader = service.store.reader()
        names = {row.name for row in reader.span_rows(reader.search(None).tolist())}
        assert LIST_POD_SANDBOX not in names and {"syncPod", "KubernetesAPI"} <= names
        assert service.counters.snapshot()["dropped_spans"] == 200
    finally:
        service.shutdown()
