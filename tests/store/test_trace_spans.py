"""Finding a few traces' spans reads only the chunks whose trace rows can hold them, and misses none:
late spans of old traces, eviction, segment merges and trace-table compaction included."""

from __future__ import annotations

import random

import numpy as np

from kubespan.otlp.attributes import new_attribute_table
from kubespan.store import SpanStore
from kubespan.store.snapshot import Snapshot
from kubespan.store.trace_spans import trace_positions
from tests.support.spanfactory import S, batch, trace_id


def every_position(snap: Snapshot, rows: list[int]) -> dict[int, list[int]]:
    """The naive answer: every live span's ordinal, per wanted trace row."""
    wanted = set(rows)
    out: dict[int, list[int]] = {}
    for chunk, i in snap.live_slices():
        for k in range(i, chunk.n):
            if int(chunk.trace[k]) in wanted:
                out.setdefault(int(chunk.trace[k]), []).append(chunk.base + k)
    return out


def found(snap: Snapshot, rows: list[int]) -> dict[int, list[int]]:
    out: dict[int, list[int]] = {}
    for chunk, where in trace_positions(snap, np.array(rows, np.int64)):
        assert np.all(np.diff(where) > 0)
        for k in where.tolist():
            out.setdefault(int(chunk.trace[k]), []).append(chunk.base + k)
    return out


def test_trace_positions_match_a_scan_of_every_span(monkeypatch):
    rng = random.Random(7)
    table = new_attribute_table()
    store = SpanStore(table, max_spans=3_000)
    monkeypatch.setattr(type(store.writer._traces), "needs_compaction",
                        lambda self, budget=0: self.live * 2 < len(self.ids))
    span = 0
    for round_ in range(60):
        spans = []
        for _ in range(rng.randrange(20, 120)):
            # mostly new traces, sometimes a late span of a trace from many batches ago
            trace = round_ * 1000 + rng.randrange(40) if rng.random() < 0.9 else rng.randrange(1, 2 + round_ * 1000)
            span += 1
            spans.append(S(trace + 1, span, start=span))
        store.consume_traces(batch(spans, table))
        snap = store.snapshot()
        live = sorted({int(t) for t in snap.column("trace").tolist()})
        for size in (1, 3, 50):
            rows = rng.sample(live, min(size, len(live))) + [snap.n_traces - 1]
            assert found(snap, rows) == every_position(snap, rows)
    assert store.stats()["evicted_spans"] > 0


def test_a_compaction_renumbers_rows_and_the_cached_ranges_follow(monkeypatch):
    table = new_attribute_table()
    store = SpanStore(table, max_spans=40)
    monkeypatch.setattr(type(store.writer._traces), "needs_compaction",
                        lambda self, budget=0: self.live < len(self.ids))
    for index in range(200):
        store.consume_traces(batch([S(index + 1, index + 1, name=f"n{index}", start=index)], table))
        reader = store.reader()
        for trace in (index + 1, max(1, index - 20), max(1, index - 39)):
            spans = reader.trace_spans(trace_id(trace))
            assert [s.name for s in spans] == ([f"n{trace - 1}"] if index - trace < 39 else [])
