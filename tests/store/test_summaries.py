"""Trace summaries computed for many traces at once agree with each trace's own spans, one by one,
through eviction (a partly evicted trace, an orphan root) and the chunk-range shortcut."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kubespan.otlp.attributes import new_attribute_table
from kubespan.store import SpanStore, summaries
from kubespan.store.rows import TraceSummary
from tests.support.spanfactory import S, batch, trace_id


def expected(store: SpanStore, tid: bytes) -> TraceSummary | None:
    """The summary from the trace's rows (by start, then arrival), computed span by span."""
    reader = store.reader()
    rows = sorted((row for row in reader.span_rows(reader.search().tolist()) if row.trace_id == tid),
                  key=lambda row: (row.start, row.ordinal))
    if not rows:
        return None
    ids = {row.span_id for row in rows}
    roots = [row for row in rows if not row.parent_id]
    orphan = not roots
    if orphan:
        roots = [row for row in rows if row.parent_id not in ids]
    root = roots[0] if roots else None
    first, last = min(row.start for row in rows), max(row.end for row in rows)
    return TraceSummary(
        trace_id=tid, root_service=root.service if root else "", root_name=root.name if root else "",
        start=first, end=last, duration=last - first, span_count=len(rows),
        error_count=sum(row.status == 2 for row in rows), services=tuple(sorted({row.service for row in rows})),
        root=root.ordinal if root else None, orphan_root=orphan and root is not None)


@st.composite
def spans(draw):
    out = []
    for index in range(draw(st.integers(1, 60))):
        trace = draw(st.integers(1, 8))
        same = [s.span for s in out if s.trace == trace]
        parent = draw(st.sampled_from([0, 999] + same)) if same and draw(st.booleans()) else 0
        out.append(S(trace=trace, span=index + 1, parent=parent, name=draw(st.sampled_from(["a", "b", "c"])),
                     service=draw(st.sampled_from(["kubelet", "containerd", "apiserver"])),
                     status=draw(st.integers(0, 2)), start=draw(st.integers(0, 50)), duration=draw(st.integers(0, 9))))
    return out


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(spans(), st.integers(1, 60), st.integers(1, 7), st.booleans())
def test_summaries_at_once_agree_with_each_trace_alone(spans, max_spans, per_batch, searched):
    """`searched`: every chunk finds a trace's spans through its sorted trace column (big ones do)."""
    saved = summaries.SEARCHED_CHUNK_SPANS
    summaries.SEARCHED_CHUNK_SPANS = 1 if searched else saved
    try:
        check(spans, max_spans, per_batch)
    finally:
        summaries.SEARCHED_CHUNK_SPANS = saved


def check(spans, max_spans: int, per_batch: int) -> None:
    table = new_attribute_table()
    store = SpanStore(table, max_spans=max_spans)
    for first in range(0, len(spans), per_batch):
        store.consume_traces(batch(spans[first:first + per_batch], table))
    asked = [trace_id(n) for n in (3, 1, 9, 2, 3, 8, 4, 5, 6, 7)]
    found = store.reader().trace_summaries(asked)
    assert found == [summary for tid in asked if (summary := expected(store, tid)) is not None]
    reader = store.reader()  # the list order: newest first start of the live spans, then the newest row
    live = [summary for n in range(1, 9) if (summary := expected(store, trace_id(n))) is not None]
    live.sort(key=lambda summary: (summary.start, reader.snap.trace_lookup(summary.trace_id)), reverse=True)
    order = reader.trace_order()
    assert [reader.snap.trace_ids[row] for row in order.array().tolist()] == [summary.trace_id for summary in live]
    for tid in asked:
        summary = expected(store, tid)
        ordinals = store.reader().trace_ordinals(tid)
        assert len(ordinals) == (summary.span_count if summary else 0)
        assert [row.start for row in store.reader().span_rows(ordinals)] == sorted(
            row.start for row in store.reader().span_rows(ordinals))
