"""The attribute table shrinks when the spans holding its ids are evicted (StoreWriter._compact_attributes)."""

from __future__ import annotations

from kubespan.otlp.attributes import new_attribute_table
from kubespan.otlp.decode import decode_request
from kubespan.otlp.decode_pool import DecodePool
from kubespan.pipeline import Pipeline
from kubespan.query import compile_query
from kubespan.store import SpanStore
from tests.support.spanfactory import S, batch, request


def unique_span(index: int) -> S:
    return S(trace=index % 7 + 1, span=index + 1, attrs={"request.id": f"r-{index}", "method": "GET"},
             resource={"host.name": "node1"})


def test_unique_values_of_evicted_spans_leave_the_table():
    table = new_attribute_table()
    store = SpanStore(table, max_spans=100)
    store.writer.compact_attributes_min = 1
    for index in range(2_000):
        store.consume_traces(batch([unique_span(index)], table))
    assert table.generation > 0
    assert len(table) <= 2 * 100 + 3  # the live spans' values (plus what arrived since the last compaction)
    assert store.search(compile_query("request.id=r-1999")).tolist() == [1_999]
    assert store.search(compile_query("request.id=r-5")).tolist() == []
    assert store.search(compile_query("method=GET")).size == 100
    assert store.search(compile_query("host.name=node1")).size == 100
    assert dict(store.span_rows([1_950])[0].attributes) == {"request.id": "r-1950", "method": "GET"}
    values = store.reader().tag_values("request.id", limit=1_000)
    assert sorted(value.text for value in values) == sorted(f"r-{i}" for i in range(1_900, 2_000))


def test_a_batch_decoded_before_a_compaction_is_moved_into_the_new_table():
    table = new_attribute_table()
    pipeline = Pipeline(table)
    store = SpanStore(table, max_spans=10)
    store.writer.compact_attributes_min = 1
    pipeline.add_consumer(store)
    late, _ = decode_request(request([unique_span(10_000)]).SerializeToString(), table)  # old generation
    for index in range(100):
        pipeline.export_traces(request([unique_span(index)]).SerializeToString())
    assert late.storage is not table.storage
    pipeline.consume(late)
    assert dict(store.span_rows([100])[0].attributes) == {"request.id": "r-10000", "method": "GET"}
    assert store.search(compile_query("request.id=r-10000")).tolist() == [100]


def test_decode_workers_start_over_with_the_table():
    table = new_attribute_table()
    pipeline = Pipeline(table)
    pool = DecodePool(table, 1)
    pipeline.decode = pool.decode
    store = SpanStore(table, max_spans=20)
    store.writer.compact_attributes_min = 1
    pipeline.add_consumer(store)
    try:
        for index in range(300):
            pipeline.export_traces(request([unique_span(index)]).SerializeToString())
    finally:
        pool.close()
    assert table.generation > 5 and len(table) <= 2 * 20 + 3
    rows = store.span_rows(range(280, 300))
    assert [dict(row.attributes)["request.id"] for row in rows] == [f"r-{i}" for i in range(280, 300)]
    assert [dict(row.resource_attributes) for row in rows] == [{"service.name": "svc", "host.name": "node1"}] * 20
