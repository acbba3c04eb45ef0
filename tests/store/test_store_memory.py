"""SpanStore memory budget: the accounting follows the live chunks and the attribute table through
merges, evictions and compactions."""

from __future__ import annotations

from kubespan.model import AttributeTable
from kubespan.otlp.attributes import new_attribute_table
from kubespan.store import SpanStore
from tests.support.spanfactory import S, batch

BUDGET_MB = 0.5


def live_bytes(store: SpanStore) -> int:
    """What the store really holds: every chunk it still references, whole, the trace table and the
    whole attribute table (dead ids included)."""
    writer = store.writer
    return sum(chunk.nbytes() for chunk in writer.chunks()) + writer._traces.nbytes() + writer.table.storage.nbytes()


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
    lowest = 1.0
    for _ in fill(store, table, 1500):
        estimate = store.memory_bytes()
        assert 0 < estimate <= budget
        # the estimate leaves out only the evicted spans' share of the table, compacted before it is 1/16 of the budget
        assert 0 <= live_bytes(store) - estimate <= budget / 16
        if store.evicted_spans:
            lowest = min(lowest, estimate / budget)
    assert store.evicted_spans > 0, "the budget was never reached"
    assert table.generation > 0, "the attribute table was never compacted"
    # whole chunks go, and the trace and attribute tables shrink at their compactions: 0.84-0.87 at the lowest
    assert lowest >= 0.8, "eviction freed far more than needed"
    assert len(store) + store.evicted_spans == 1500 * 8


def test_memory_budget_holds_with_a_span_bound_too():
    table = new_attribute_table()
    store = SpanStore(table, max_spans=2000, max_memory_mib=BUDGET_MB)
    for _ in fill(store, table, 600):
        assert len(store) <= 2000
        assert store.memory_bytes() <= store.max_memory_bytes
        assert live_bytes(store) <= store.max_memory_bytes * 17 / 16
    assert store.search().tolist() == list(range(600 * 8 - len(store), 600 * 8))
