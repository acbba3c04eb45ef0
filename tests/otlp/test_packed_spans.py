"""Span columns as packed arrays and as lists say the same (kubespan.model.PackedSpans, SpanColumns)."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from kubespan.k8s.demo import load_batch
from kubespan.model import SPAN_COLUMNS, PackedSpans, SpanColumns
from kubespan.otlp.attributes import new_attribute_table
from kubespan.otlp.decode import decode_request

span_rows = st.lists(st.tuples(
    st.binary(min_size=16, max_size=16), st.binary(min_size=8, max_size=8),
    st.sampled_from([b"", bytes(8), b"\x01" * 8]), st.sampled_from(["a", "b", "", "é"]),
    st.integers(0, 5), st.integers(0, 2**64 - 1), st.integers(0, 2**64 - 1), st.integers(-3, 3),
    st.integers(0, 3), st.lists(st.integers(0, 100), max_size=4),
    st.lists(st.sampled_from(["x", "", "y"]), max_size=3).map(tuple),
), max_size=20)


@settings(max_examples=150, derandomize=True, database=None)
@given(span_rows, st.lists(st.booleans(), min_size=20, max_size=20))
def test_lists_pack_and_unpack_unchanged(rows, keep):
    lists = SpanColumns.from_rows(rows).lists()
    packed = PackedSpans.from_lists(lists)
    assert packed.to_lists() == lists and len(packed) == len(rows)
    keep = keep[:len(rows)]
    by_lists = SpanColumns.from_lists(lists).subset(keep)
    by_arrays = SpanColumns(packed=packed).subset(keep)
    assert by_arrays.lists() == by_lists.lists() and len(by_arrays) == sum(keep)


def test_a_decoded_batch_reads_the_same_as_arrays_and_as_lists():
    table = new_attribute_table()
    for raw in load_batch(1_000, seed=5, batch_size=500):
        compiled_batch, _ = decode_request(raw, table)
        accessor_batch, _ = decode_request(raw, table, compiled=False)
        assert compiled_batch.spans.lists() == accessor_batch.spans.lists()
        assert compiled_batch.spans.packed().to_lists() == accessor_batch.spans.packed().to_lists()
        columns = dict(zip(SPAN_COLUMNS, compiled_batch.spans.lists()))
        assert compiled_batch.spans.name == columns["name"] and compiled_batch.spans.parent_id == columns["parent_id"]


def test_setting_a_list_column_replaces_the_arrays():
    table = new_attribute_table()
    batch, _ = decode_request(load_batch(10, seed=1, batch_size=10)[0], table)
    spans = batch.spans
    spans.name = ["renamed"] * len(spans)
    assert spans.packed().names == ["renamed"] and spans.packed().to_lists()[3] == ["renamed"] * len(spans)
