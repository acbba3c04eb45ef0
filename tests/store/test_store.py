"""SpanStore: ingest, eviction, trace summaries, rows and details."""

from __future__ import annotations

import threading

import numpy as np

from kubespan.model import AttributeTable
from kubespan.otlp.attributes import new_attribute_table
from kubespan.query import compile_query
from kubespan.stats import Counters
from kubespan.store import SpanStore, TracePage
from kubespan.store import chunk as chunk_module
from kubespan.store import writer as store_module
from tests.support.spanfactory import T0, S, batch, request, span_id, trace_id


def make(max_spans: int = 1_000_000, **kwargs) -> tuple[SpanStore, AttributeTable]:
    table = new_attribute_table()
    return SpanStore(table, max_spans=max_spans, **kwargs), table


def feed(store: SpanStore, table: AttributeTable, spans: list[S]) -> None:
    store.consume_traces(batch(spans, table))


def test_ingest_counts_and_version():
    store, table = make()
    assert len(store) == 0 and store.search().tolist() == []
    feed(store, table, [S(1, 1), S(1, 2, parent=1)])
    v1 = store.version
    feed(store, table, [S(2, 3)])
    assert store.version > v1 > 0
    assert len(store) == 3
    assert store.search().tolist() == [0, 1, 2]
    assert store.stats()["traces"] == 2


def test_max_spans_zero_keeps_nothing():
    store, table = make(max_spans=0)
    feed(store, table, [S(1, 1), S(1, 2)])
    assert len(store) == 0 and store.stats()["evicted_spans"] == 0 and store.stats()["traces"] == 0
    assert store.search(compile_query("svc")).tolist() == []


def test_eviction_is_exact_and_oldest_first():
    store, table = make(max_spans=5)
    for index in range(1, 13):
        feed(store, table, [S(index, index, name=f"s{index}")])
    assert len(store) == 5
    assert store.stats()["evicted_spans"] == 7
    assert store.search().tolist() == list(range(7, 12))
    assert store.span_row(6) is None and store.span_detail(6) is None
    assert store.span_row(7).name == "s8"
    assert [r.name for r in store.span_rows([0, 11, 7])] == ["s12", "s8"]
    assert store.trace_summary(trace_id(1)) is None
    assert store.stats()["traces"] == 5


def test_eviction_in_the_middle_of_a_batch_updates_summaries():
    store, table = make(max_spans=3)
    feed(store, table, [S(1, 1, start=0, duration=10, status=2), S(1, 2, parent=1, start=5, duration=100),
                        S(1, 3, parent=1, start=50, duration=10, status=2)])
    summary = store.trace_summary(trace_id(1))
    assert (summary.span_count, summary.error_count, summary.root) == (3, 2, 0)
    feed(store, table, [S(2, 4, start=1000)])
    summary = store.trace_summary(trace_id(1))
    assert summary.span_count == 2 and summary.error_count == 1
    assert summary.start == T0 + 5 and summary.end == T0 + 105
    assert summary.root_name == "op" and summary.root == 1  # span 2 is now an orphan root
    assert store.search_traces() == [trace_id(2), trace_id(1)]


def test_late_spans_update_summary_and_root():
    store, table = make()
    feed(store, table, [S(1, 2, parent=1, name="child", service="containerd", start=100, status=2)])
    early = store.trace_summary(trace_id(1))
    assert early.root_name == "child" and early.root == 0  # orphan shown as root
    feed(store, table, [S(1, 1, name="syncPod", service="kubelet", start=0, duration=1000),
                        S(1, 3, parent=2, name="grandchild", service="containerd", start=200, status=2)])
    summary = store.trace_summary(trace_id(1))
    assert summary.root_name == "syncPod" and summary.root_service == "kubelet" and summary.root == 1
    assert summary.span_count == 3 and summary.error_count == 2
    assert summary.services == ("containerd", "kubelet")
    assert summary.start == T0 and summary.end == T0 + 1200 and summary.duration == 1200
    assert store.trace_ordinals(trace_id(1)) == [1, 0, 2]  # by start time


def test_trace_without_root_uses_earliest_orphan():
    store, table = make()
    feed(store, table, [S(7, 5, parent=50, start=30, name="b"), S(7, 4, parent=40, start=10, name="a"),
                        S(7, 6, parent=4, start=5, name="c")])
    summary = store.trace_summary(trace_id(7))
    assert summary.root_name == "a" and summary.root == 1


def test_search_traces_newest_first_and_filtered():
    store, table = make()
    feed(store, table, [S(1, 1, start=100), S(2, 2, start=300, service="kubelet"), S(3, 3, start=200)])
    feed(store, table, [S(1, 4, parent=1, start=400, service="kubelet")])
    assert store.search_traces() == [trace_id(2), trace_id(3), trace_id(1)]
    assert store.search_traces(compile_query("service=kubelet")) == [trace_id(2), trace_id(1)]
    summaries = store.trace_summaries([trace_id(3), b"unknown", trace_id(1)])
    assert [s.trace_id for s in summaries] == [trace_id(3), trace_id(1)]


def test_span_row_and_detail_round_trip():
    store, table = make()
    spans = [S(1, 1, name="syncPod", service="kubelet", kind=2, status=1, attrs={"k8s.pod": "default/a", "n": 3},
               resource={"host.name": "node"}, events=("e1",)),
             S(1, 2, parent=1)]
    req = request(spans)
    decoded = batch(spans, table)
    store.consume_traces(decoded)
    row = store.span_row(0)
    assert row.trace_id == trace_id(1) and row.span_id == span_id(1) and row.parent_id == b""
    assert (row.name, row.service, row.kind, row.status) == ("syncPod", "kubelet", 2, 1)
    assert row.duration == 1000 and row.start == T0
    assert row.attributes == (("k8s.pod", "default/a"), ("n", 3))
    assert row.resource_attributes == (("service.name", "kubelet"), ("host.name", "node"))
    assert store.span_row(1).parent_id == span_id(1)
    detail = store.span_detail(0)
    original = req.resource_spans[0]
    assert detail.span.SerializeToString() == original.scope_spans[0].spans[0].SerializeToString()
    assert detail.resource == original.resource and detail.scope == original.scope_spans[0].scope
    assert detail.service == "kubelet" and detail.span.events[0].name == "e1"


def test_attribute_values_counts_span_and_resource_values():
    store, table = make()
    feed(store, table, [S(1, 1, attrs={"port": 80}), S(1, 2, attrs={"port": "80"}), S(1, 3, attrs={"port": 443}),
                        S(2, 4, service="kubelet")])
    assert store.attribute_values("port") == [("80", 2), ("443", 1)]
    assert store.attribute_values("service.name") == [("svc", 3), ("kubelet", 1)]
    assert store.attribute_values("port", limit=1) == [("80", 2)]
    assert store.attribute_values("nope") == []


def test_merging_many_batches_and_segments(monkeypatch):
    monkeypatch.setattr(store_module, "MERGE_TAIL", 3)
    monkeypatch.setattr(chunk_module, "COALESCE_BYTES", 2000)
    store, table = make(max_spans=2500)
    store.writer._segment = 1024
    for index in range(200):
        feed(store, table, [S(index % 17 + 1, index * 20 + j + 1, name=f"n{j}", attrs={"i": index})
                            for j in range(20)])
    assert len(store) == 2500 and store.stats()["evicted_spans"] == 1500
    assert store.search(compile_query("i=199 name=n3")).tolist() == [3983]
    assert store.span_row(3983).attributes == (("i", 199),)
    for ordinal in (1500, 2222, 3983, 3999):  # request blobs were concatenated when chunks merged
        detail = store.span_detail(ordinal)
        assert detail.span.span_id == span_id(ordinal + 1)
        assert detail.span.attributes[0].value.int_value == ordinal // 20
    assert store.stats()["segments"] < 10


def test_trace_table_is_compacted(monkeypatch):
    store, table = make(max_spans=10)
    monkeypatch.setattr(type(store.writer._traces), "needs_compaction",
                        lambda self, budget=0: len(self.ids) - self.live > 20)
    for index in range(1, 200):
        feed(store, table, [S(index, 1, name=f"t{index}")])
    assert len(store.writer._traces.ids) < 40
    assert store.search_traces()[0] == trace_id(199)
    assert store.trace_summary(trace_id(195)).root_name == "t195"
    assert store.search(compile_query("trace=000000000000000000000000000000c3")).tolist() == [194]


def test_memory_bound_evicts():
    store, table = make(max_memory_mib=0.05)
    for index in range(1, 400):
        feed(store, table, [S(index, 1, attrs={"payload": "x" * 200})])
    assert 0 < len(store) < 399
    assert store.stats()["evicted_spans"] == 399 - len(store)
    assert store.memory_bytes() <= 0.05 * 1024 * 1024


def test_counters_gauges():
    counters = Counters()
    table = new_attribute_table()
    store = SpanStore(table, max_spans=1, counters=counters)
    store.consume_traces(batch([S(1, 1), S(2, 2)], table))
    snapshot = counters.snapshot()
    assert (snapshot["stored_spans"], snapshot["evicted_spans"], snapshot["traces"]) == (1, 1, 1)


def test_reads_while_writing():
    store, table = make(max_spans=3000)
    errors: list[BaseException] = []
    done = threading.Event()

    def reader():
        query = compile_query("{ } > { .i > 10 }")
        try:
            while not done.is_set():
                ordinals = store.search(query)
                store.span_rows(ordinals[-5:])
                store.trace_summaries(store.search_traces()[:10])
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    thread = threading.Thread(target=reader)
    thread.start()
    for index in range(300):
        feed(store, table, [S(index + 1, 1, attrs={"i": index}), S(index + 1, 2, parent=1, attrs={"i": index})])
    done.set()
    thread.join()
    assert not errors
    assert np.all(np.diff(store.search()) == 1)


def test_scan_cache_is_bounded_and_incremental(monkeypatch):
    from kubespan.store import engine_index as engine  # where cached_scan lives

    monkeypatch.setattr(engine, "SCAN_CACHE_ENTRIES", 3)
    store, table = make()
    feed(store, table, [S(1, 1, attrs={"k": f"value-{i}"}) for i in range(5)])
    for word in ("va", "val", "valu", "value", "value-"):
        assert len(store.search(compile_query(word))) == 5
    assert len(store.writer._scan_cache) == 3
    feed(store, table, [S(2, 9, attrs={"k": "value-new"})])
    assert store.search(compile_query("value-")).tolist() == [0, 1, 2, 3, 4, 5]
    assert store.search(compile_query("k=~value-n.*")).tolist() == [5]


def test_trace_pages_and_orphan_roots():
    store, table = make()
    feed(store, table, [S(t, t, start=t * 10, parent=99 if t == 2 else 0) for t in range(1, 6)])
    assert store.trace_page(None, 1, 2) == TracePage(5, [trace_id(4), trace_id(3)])
    assert store.search_traces(None, offset=4) == [trace_id(1)]
    assert store.trace_page(compile_query("nothing-matches"), 0, 10) == TracePage(0, [])
    assert store.trace_summary(trace_id(2)).orphan_root and not store.trace_summary(trace_id(3)).orphan_root


def test_attribute_stats():
    store, table = make()
    feed(store, table, [S(1, 1, attrs={"k8s.pod": "a"}, status=2, start=5),
                        S(1, 2, attrs={"k8s.pod": "a"}, start=50),
                        S(2, 3, attrs={"k8s.pod": "b"}),
                        S(3, 4, resource={"k8s.pod": "b"}, status=2, start=100)])
    stats = store.attribute_stats("k8s.pod")
    assert [(s.value, s.spans, s.errors, s.last_end) for s in stats] == [
        ("a", 2, 1, T0 + 1050), ("b", 2, 1, T0 + 1100)]
    store2, table2 = make(max_spans=2)
    feed(store2, table2, [S(1, 1, attrs={"k8s.pod": "a"}, status=2), S(1, 2, attrs={"k8s.pod": "a"}),
                          S(1, 3, attrs={"k8s.pod": "a"})])
    assert [(s.spans, s.errors) for s in store2.attribute_stats("k8s.pod")] == [(2, 0)]


def test_index_ahead_sorts_sealed_segments_only(monkeypatch):
    monkeypatch.setattr(chunk_module, "INDEXED_CHUNK_SPANS", 1024)
    store, table = make()
    store.writer._segment = 1024
    indexer = store.index_ahead()
    for index in range(120):
        feed(store, table, [S(index + 1, index * 20 + j + 1, attrs={"i": index % 7}) for j in range(20)])
    assert indexer.wait(10)
    sealed = store.writer._sealed
    assert sealed and all(chunk.attr_perm is not None for chunk in sealed)
    assert store.writer._open is None or store.writer._open.attr_perm is None  # still growing: scanned, not sorted
    expected = [o for o in range(2400) if (o // 20) % 7 == 3]
    assert store.search(compile_query("i=3")).tolist() == expected
