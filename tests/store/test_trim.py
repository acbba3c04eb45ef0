"""Evicting most of a chunk copies its live spans out, so evicted columns are freed."""

from __future__ import annotations

from kubespan.otlp.attributes import new_attribute_table
from kubespan.store import SpanStore
from kubespan.store import writer as writer_module
from kubespan.store.chunk import live_tail
from tests.support.spanfactory import S, batch


def test_a_request_far_bigger_than_the_bound_keeps_columns_for_the_live_spans_only():
    table = new_attribute_table()
    store = SpanStore(table, max_spans=1000)
    store.consume_traces(batch([S(i // 5 + 1, i + 1, name=f"op{i}", attrs={"i": i}) for i in range(40_000)], table))
    chunks = store.writer.chunks()
    assert len(store) == 1000 and [c.n for c in chunks] == [1000]
    assert chunks[0].attr_flat.size == 1000 and store.stats()["traces"] == 200
    assert store.memory_bytes() < 2 * 1000 * 200 + sum(map(len, chunks[0].raw_parts)) + store.writer._traces.nbytes()
    reader = store.reader()
    assert [reader.span_detail(o).span.name for o in (39_000, 39_999)] == ["op39000", "op39999"]
    assert reader.span_row(39_500).attributes == (("i", 39_500),)


def test_rows_and_details_stay_right_through_trims_and_merges(monkeypatch):
    monkeypatch.setattr(writer_module, "TRIM_SPANS", 3)
    monkeypatch.setattr(writer_module, "MERGE_TAIL", 3)
    trimmed = []

    def counted(chunk, floor):
        trimmed.append(live_tail(chunk, floor))
        return trimmed[-1]

    monkeypatch.setattr(writer_module, "live_tail", counted)
    table = new_attribute_table()
    store = SpanStore(table, max_spans=37)
    made = 0
    for size in [5, 1, 9, 2, 30, 3, 7, 1, 1, 40, 4, 6] * 3:
        spans = [S(made + i + 1, made + i + 1, name=f"op{made + i}", attrs={"n": made + i}) for i in range(size)]
        store.consume_traces(batch(spans, table))
        made += size
        reader = store.reader()
        live = reader.search().tolist()
        assert live == list(range(max(0, made - 37), made))
        assert [reader.span_detail(o).span.name for o in live] == [f"op{o}" for o in live]
        assert [row.attributes for row in reader.span_rows(live)] == [(("n", o),) for o in live]
        assert all(c.stop - c.base == c.n for c in store.writer.chunks())
    assert len(trimmed) >= 3 and any(chunk.raw_skip for chunk in trimmed)
