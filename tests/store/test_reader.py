"""StoreReader: every read answers from one snapshot, unchanged by later writes."""

from __future__ import annotations

import numpy as np
import pytest

from kubespan.model import AttributeTable
from kubespan.otlp.attributes import new_attribute_table
from kubespan.query import compile_query
from kubespan.store import SpanStore, StoreReader, TagValue, TimeWindow
from kubespan.store.reader import newest_first
from tests.support.spanfactory import T0, S, batch, trace_id


def make(max_spans: int = 1_000_000) -> tuple[SpanStore, AttributeTable]:
    table = new_attribute_table()
    return SpanStore(table, max_spans=max_spans), table


def feed(store: SpanStore, table: AttributeTable, spans: list[S]) -> None:
    store.consume_traces(batch(spans, table))


def test_a_reader_keeps_its_snapshot_through_ingest_eviction_and_compaction(monkeypatch):
    store, table = make(max_spans=4)
    feed(store, table, [S(1, 1, name="a"), S(1, 2, parent=1, name="b", start=5), S(2, 3, name="c", start=9)])
    reader = store.reader()
    before = (reader.search().tolist(), reader.search_traces(), reader.trace_summaries([trace_id(1), trace_id(2)]),
              [r.name for r in reader.trace_spans(trace_id(1))], reader.span_detail(0).span.name)
    monkeypatch.setattr(type(store.writer._traces), "needs_compaction",
                        lambda self, budget=0: self.live < len(self.ids))
    for index in range(3, 30):  # evicts traces 1 and 2, revives no row, compacts the trace table
        feed(store, table, [S(index, index + 10, name=f"n{index}", start=100 + index)])
    assert store.search().tolist() == list(range(26, 30))
    assert store.trace_summary(trace_id(1)) is None and store.span_row(0) is None
    after = (reader.search().tolist(), reader.search_traces(), reader.trace_summaries([trace_id(1), trace_id(2)]),
             [r.name for r in reader.trace_spans(trace_id(1))], reader.span_detail(0).span.name)
    assert after == before
    assert before[0] == [0, 1, 2] and before[1] == [trace_id(2), trace_id(1)] and before[3] == ["a", "b"]
    assert [s.span_count for s in before[2]] == [2, 1]


def test_a_trace_id_seen_again_after_its_spans_left_takes_its_row_back():
    store, table = make(max_spans=2)
    feed(store, table, [S(1, 1, start=0)])
    feed(store, table, [S(2, 2, start=10), S(3, 3, start=20)])  # trace 1 evicted, its row dead
    reader = store.reader()
    feed(store, table, [S(1, 4, start=50, duration=7)])
    summary = store.trace_summary(trace_id(1))
    assert summary.span_count == 1 and summary.start == T0 + 50 and summary.duration == 7
    assert store.search_traces() == [trace_id(1), trace_id(3)]
    assert reader.trace_summary(trace_id(1)) is None  # the older snapshot had no live span of it
    assert store.stats()["traces"] == 2


def test_search_in_a_time_window():
    store, table = make()
    feed(store, table, [S(1, 1, start=0, duration=10), S(1, 2, start=20, duration=10), S(2, 3, start=40, duration=5)])
    reader = store.reader()
    assert reader.search(window=TimeWindow(T0 + 10, T0 + 25)).tolist() == [1]
    assert reader.search(window=TimeWindow(start=T0 + 20)).tolist() == [1, 2]
    assert reader.search(compile_query("name=op"), window=TimeWindow(end=T0 + 20)).tolist() == [0]
    page = reader.trace_page(None, 0, 10, window=TimeWindow(T0 + 35, None))
    assert (page.total, page.trace_ids) == (1, [trace_id(2)])


def test_tag_names_values_services_and_operations():
    store, table = make(max_spans=4)
    feed(store, table, [S(9, 9, attrs={"gone": "x"}, service="old")])
    feed(store, table, [
        S(1, 1, name="GET", service="api", attrs={"http.status_code": 200, "pod": "a"}, resource={"node": "n1"}),
        S(1, 2, name="PUT", service="api", attrs={"http.status_code": 200, "pod": "b"}, resource={"node": "n1"}),
        S(2, 3, name="sync", service="kubelet", attrs={"http.status_code": "200", "pod": "a"}),
        S(2, 4, name="sync", service="kubelet", attrs={"ratio": 0.5}),
    ])
    reader: StoreReader = store.reader()
    assert reader.tag_names() == {"span": ["http.status_code", "pod", "ratio"], "resource": ["node", "service.name"]}
    assert reader.tag_values("http.status_code") == [TagValue("int", 200, "200", 2), TagValue("str", "200", "200", 1)]
    assert [(v.text, v.spans) for v in reader.tag_values("pod")] == [("a", 2), ("b", 1)]
    assert [(v.text, v.spans) for v in reader.tag_values("node", "resource")] == [("n1", 2)]
    assert reader.tag_values("node", "span") == [] and reader.tag_values("gone") == []
    assert [(v.text, v.spans) for v in reader.tag_values("service.name")] == [("api", 2), ("kubelet", 2)]
    assert reader.services() == ["api", "kubelet"]
    assert reader.operations() == [("api", "GET"), ("api", "PUT"), ("kubelet", "sync")]
    assert reader.operations("kubelet") == [("kubelet", "sync")]
    assert [(s.value, s.spans) for s in reader.attribute_stats("http.status_code")] == [("200", 3)]


def test_an_unknown_scope_is_refused():
    store, _ = make()
    with pytest.raises(ValueError, match="unknown attribute scope 'event'"):
        store.reader().tag_values("k", "event")


def test_append_listeners_see_each_batch_once_stored():
    store, table = make(max_spans=3)
    seen = []
    store.writer.on_append(lambda chunk: seen.append((chunk.base, chunk.n, store.writer.evicted_spans)))
    feed(store, table, [S(1, 1), S(1, 2)])
    feed(store, table, [S(2, 3), S(2, 4)])
    assert seen == [(0, 2, 0), (2, 2, 0)] and store.evicted_spans == 1


def test_a_page_of_newest_traces_is_the_head_of_the_full_order():
    rng = np.random.default_rng(3)
    rows = np.sort(rng.choice(100_000, 20_000, replace=False))
    starts = rng.integers(0, 300, len(rows)) * 1_000  # many ties: broken by row, newest first
    full = np.lexsort((-rows, -starts))
    for count in (1, 7, 100, 4_999, 5_000, 20_000, None):
        got = newest_first(rows, starts, count)
        assert (got[:count] == full[:count]).all()
    store, table = make()
    feed(store, table, [S(t, t, start=(t * 7919) % 50) for t in range(1, 400)])
    every = store.search_traces()
    assert [store.trace_page(None, offset, 9).trace_ids for offset in (0, 9, 390)] == [
        every[0:9], every[9:18], every[390:399]]


def brute_force(store: SpanStore) -> dict[bytes, tuple[int, int, int, int]]:
    """Per trace id from the stored rows: (start, end, spans, errors)."""
    out: dict[bytes, list[int]] = {}
    for row in store.span_rows(store.search().tolist()):
        found = out.setdefault(row.trace_id, [row.start, row.end, 0, 0])
        found[0], found[1] = min(found[0], row.start), max(found[1], row.end)
        found[2] += 1
        found[3] += row.status == 2
    return {tid: tuple(values) for tid, values in out.items()}


def test_traces_sorted_by_start_duration_spans_and_errors_with_their_aggregates():
    store, table = make(max_spans=300)
    rng = np.random.default_rng(5)
    for index in range(40):  # traces come back in later batches; eviction leaves some partly stored
        spans = [S(int(t), index * 100 + j + 1, start=int(rng.integers(0, 10_000)), duration=int(rng.integers(1, 5000)),
                   status=2 if rng.random() < 0.2 else 0) for j, t in enumerate(rng.integers(1, 60, 20))]
        feed(store, table, spans)
    truth = brute_force(store)
    reader = store.reader()
    keys = {"start": lambda v: v[0], "duration": lambda v: v[1] - v[0], "spans": lambda v: v[2],
            "errors": lambda v: v[3]}
    for sort, key in keys.items():
        aggregates = reader.trace_aggregates(sort=sort)
        got = [key(truth[tid]) for tid in aggregates.trace_ids]
        assert got == sorted(got, reverse=True) and set(aggregates.trace_ids) == set(truth)
        rows = zip(aggregates.start, aggregates.end, aggregates.spans, aggregates.errors)
        assert [(int(a), int(b), int(c), int(d)) for a, b, c, d in rows] == [truth[t] for t in aggregates.trace_ids]
        assert reader.trace_page(None, 3, 5, sort=sort).trace_ids == aggregates.trace_ids[3:8]
    assert store.writer.evicted_spans > 0 and any(store.writer._traces.dirty)
    with pytest.raises(ValueError, match="unknown trace order 'name'"):
        reader.trace_page(sort="name")
