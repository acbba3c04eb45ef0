"""SpanStore memory budget: the accounting follows the live chunks through merges and evictions."""

from __future__ import annotations

from kubespan.model import AttributeTable
from kubespan.otlp.attributes import new_attribute_table
from kubespan.store import SpanStore
from tests.support.spanfactory import S, batch

BUDGET_MB = 0.5


def live_bytes(store: SpanStore) -> int:
    """What the store really holds: every chunk it still references, whole, plus the trace table."""
    return sum(chunk.nbytes() for chunk in store.writer.chunks()) + store.writer._traces.nbytes()


def fill(store: SpanStore, table: AttributeTable, batches: int, spans_per_batch: int = 8):
    """Feed batches of distinct spans; yield after each so callers can check invariants."""
    for index in range(batches):
        first = index * spans_per_batch
        spans = [S(first + i + 1, first + i + 1, name=f"op{i}", attrs={"payload": "x" * 120, "n": first + i})
                 for i in range(spans_per_batch)]
        store.consume_traces(batch(spans, table))
        yield index


def test_memory_estimate_matches_live_chunks_through_merges_and_evictions():
    table = new_attribute_table()
    store = SpanStore(table, max_spans=10**9, max_memory_mib=BUDGET_MB)
    budget = store.max_memory_bytes
    evictions = 0
    for _ in fill(store, table, 1500):
        estimate = store.memory_bytes()
        assert estimate == live_bytes(store)
        assert 0 < estimate <= budget
        evictions = store.evicted_spans
    assert evictions > 0, "the budget was never reached"
    assert store.memory_bytes() >= 0.8 * budget, "eviction freed far more than needed"
    assert len(store) + store.evicted_spans == 1500 * 8


def test_memory_budget_holds_with_a_span_bound_too():
    table = new_attribute_table()
    store = SpanStore(table, max_spans=2000, max_memory_mib=BUDGET_MB)
    for _ in fill(store, table, 600):
        assert len(store) <= 2000
        assert store.memory_bytes() <= store.max_memory_bytes
    assert store.search().tolist() == list(range(600 * 8 - len(store), 600 * 8))
