"""Filter masks remembered per chunk (kubespan/store/engine_memo.py) answer as a fresh evaluation,
through arrivals, merges, evictions and both compactions; trace-level filters are not remembered."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kubespan.otlp.attributes import new_attribute_table
from kubespan.query import compile_query
from kubespan.store import SpanStore, engine_memo
from kubespan.store.engine import Evaluator
from tests.store.test_store_property import SHORT_TERMS, TQL_CONDS, span_lists
from tests.support.spanfactory import S, batch

QUERIES = st.one_of(SHORT_TERMS, TQL_CONDS.map(lambda cond: "{ " + cond + " }"),
                    st.sampled_from(["{ trace:duration > 1ms }", '{ trace:rootName = "syncPod" }',
                                     "{ .flag } && { kind = server }", "{ } >> { status = error }"]))


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(span_lists(), st.lists(QUERIES, min_size=1, max_size=4), st.integers(3, 25), st.booleans())
def test_remembered_masks_answer_as_a_fresh_evaluation(spans, texts, max_spans, compact):
    saved = engine_memo.MEMO_MIN_SPANS
    engine_memo.MEMO_MIN_SPANS = 1  # every chunk remembers (segments do at full size)
    try:
        table = new_attribute_table()
        store = SpanStore(table, max_spans=max_spans)
        if compact:
            store.writer.compact_attributes_min = 1
        queries = [compile_query(text) for text in texts]
        fed: list[S] = []
        for index, span in enumerate(spans):
            store.consume_traces(batch([span], table))
            fed.append(span)
            if index % 3 and index != len(spans) - 1:
                continue
            kept = fed[-max_spans:]
            first = len(fed) - len(kept)
            for query, text in zip(queries, texts):
                naive = [first + i for i, hit in enumerate(query.match_batch(batch(kept, table), table)) if hit]
                for _ in range(2):  # the second time from the memo
                    assert store.search(query).tolist() == naive, text
    finally:
        engine_memo.MEMO_MIN_SPANS = saved


def test_a_repeated_filter_evaluates_only_the_chunks_it_has_not_seen(monkeypatch):
    table = new_attribute_table()
    store = SpanStore(table, max_spans=1_000_000)
    size = engine_memo.MEMO_MIN_SPANS
    for part in range(3):
        store.consume_traces(batch([S(trace=part * size + i + 1, span=i + 1, attrs={"n": i % 3})
                                    for i in range(size)], table))
    evaluated = []
    original = Evaluator.expr

    def counted(self, expr, chunk):
        evaluated.append(chunk.n)
        return original(self, expr, chunk)

    monkeypatch.setattr(Evaluator, "expr", counted)
    query = compile_query("n=1")
    first = store.search(query).tolist()
    chunks = len(evaluated)
    assert chunks >= 1 and len(first) == sum(1 for i in range(3 * size) if i % size % 3 == 1)
    evaluated.clear()
    assert store.search(query).tolist() == first and evaluated == []  # every chunk remembered it
    store.consume_traces(batch([S(trace=10**6, span=1, attrs={"n": 1})], table))
    assert store.search(query).tolist() == first + [3 * size]
    assert len(evaluated) <= 2  # the new batch (and the chunk it was merged into), not the rest
    evaluated.clear()
    store.writer.compact_attributes_min = 0
    with store.writer.lock:
        store.writer._compact_attributes()  # renumbered chunks: the same spans, their masks kept
        store.writer._compact_traces()
    assert store.search(query).tolist() == first + [3 * size]
    assert len(evaluated) <= 2
    evaluated.clear()
    store.search(compile_query("{ trace:duration > 1ms && .n = 1 }"))
    store.search(compile_query("{ trace:duration > 1ms && .n = 1 }"))
    assert len(evaluated) >= 2 * chunks  # a trace-level filter is evaluated every time
