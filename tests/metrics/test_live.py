"""LiveMetrics: one per store, shared by the API and the viewer; Jaeger's dependencies from its edges."""

from __future__ import annotations

from kubespan.metrics.live import live_metrics
from tests.metrics.conftest import fixture_store

END_MS = 1_684_842_600_000  # after the fixture (moved by 0)


def test_one_live_metrics_per_store_and_its_dependencies():
    store = fixture_store(0)
    live = live_metrics(store)
    assert live_metrics(store) is live and live_metrics(fixture_store(0)) is not live
    found = {(d["parent"], d["child"]): d["callCount"] for d in live.dependencies(END_MS, 3_600_000)}
    assert found == {("kubelet", "containerd"): 355, ("apiserver", "etcd"): 251, ("kubelet", "apiserver"): 25,
                     ("apiserver", "kubelet"): 2, ("user", "apiserver"): 269, ("user", "kubelet"): 10}
    assert live.dependencies(END_MS - 3_600_000, 60_000) == []  # an hour before the fixture: nothing


def test_rows_follow_new_spans_without_recounting():
    store = fixture_store(0)
    live = live_metrics(store)
    assert live.refresh() == 3116 and live.refresh() == 0
    starts = store.snapshot().column("start")
    rows = live.rows(int(starts.min()), int(starts.max()) + 1)
    assert sum(r.spans for r in rows if r.is_service) == 3116


def test_limits_are_said():
    store = fixture_store(0)
    live = live_metrics(store)
    live.red.table.max_keys = 3
    live.refresh()
    (note,) = live.notes()
    assert note.endswith("spans of operations past the first 3 left out")
