"""A search that evaluates the newest chunks first and stops early answers byte for byte what evaluating
every span answers: late spans of old traces, clocks out of step with arrival, windows, evictions."""

from __future__ import annotations

import json
import random

import pytest

from kubespan.otlp.attributes import new_attribute_table
from kubespan.store import SpanStore, StoreReader
from tests.support.api_server import start_api
from tests.support.spanfactory import S, batch

QUERIES = [
    '{ resource.service.name = "kubelet" && name = "syncPod" }',
    '{ name = "syncPod" }',
    '{ span.pod = "p-3" }',
    '{ span.pod =~ "p-1.*" || status = error }',
    '{ resource.service.name = "api" && duration > 500ns }',
    '{ name = "nothing-has-this" }',
    '{ }',
]


def _store() -> SpanStore:
    rng = random.Random(11)
    table = new_attribute_table()
    store = SpanStore(table, max_spans=6_000)
    span = 0
    for round_ in range(80):
        spans = []
        for _ in range(rng.randrange(30, 150)):
            span += 1
            if rng.random() < 0.85:
                trace = round_ * 100 + rng.randrange(12)
            else:  # a late span of an older trace
                trace = rng.randrange(0, round_ * 100 + 1)
            start = span * 1000 + (rng.randrange(-400_000, 400_000) if rng.random() < 0.2 else 0)  # skewed clocks
            spans.append(S(trace + 1, span, name=rng.choice(["syncPod", "GET", "PUT"]), start=max(0, start),
                           service=rng.choice(["kubelet", "api"]), status=2 if rng.random() < 0.05 else 0,
                           duration=rng.randrange(100, 1000), attrs={"pod": f"p-{rng.randrange(40)}"}))
        store.consume_traces(batch(spans, table))
    replayed = [S(900_000 + i // 4, 100_000 + i, name="syncPod", service="kubelet", start=i, attrs={"pod": "p-3"})
                for i in range(200)]  # the newest spans to arrive are the oldest by start (a replayed dump)
    store.consume_traces(batch(replayed, table))
    return store


@pytest.fixture(scope="module")
def api():
    store = _store()
    running = start_api(store)
    yield running
    running.stop()


def _answer(api, params: dict) -> str:
    status, _, body = api.get("/api/search", params)
    assert status == 200, body[:300]
    return body.decode()


@pytest.mark.parametrize("query", QUERIES)
def test_stopping_early_answers_what_evaluating_every_span_answers(api, query, monkeypatch):
    snap = api.store.snapshot()
    assert len(snap.chunks) > 3 and snap.floor > 0  # several chunks to stop in, and evictions
    first = snap.column("start").min() // 1_000_000_000
    last = snap.column("end").max() // 1_000_000_000 + 1
    cases = [{"limit": str(limit)} for limit in (1, 3, 20, 500)]
    cases += [{"limit": "5", "start": str(first), "end": str(last)}, {"limit": "7", "spss": "1"}]
    early = [_answer(api, {"q": query, **case}) for case in cases]
    monkeypatch.setattr(StoreReader, "chunk_matches", lambda self, query, deadline=None: None)
    full = [_answer(api, {"q": query, **case}) for case in cases]
    assert early == full
    assert any(json.loads(answer)["traces"] for answer in full) or "nothing" in query


def test_a_search_for_few_traces_leaves_old_chunks_unread(api, monkeypatch):
    from kubespan.store.chunk_matches import ChunkMatches

    read: set[int] = set()
    ordinals = ChunkMatches.ordinals
    monkeypatch.setattr(ChunkMatches, "ordinals", lambda self, k: read.add(k) or ordinals(self, k))
    assert json.loads(_answer(api, {"q": '{ name = "syncPod" }', "limit": "3"}))["traces"]
    assert 0 < len(read) < len(api.store.snapshot().chunks) and 0 not in read


def test_a_chunk_that_cannot_stop_the_search_still_offers_its_traces():
    """Chunks by arrival: matches at t=0, matches at t=100, no match at t=200, matches at t=150 (the newest
    chunk, out of time order). The newest trace is the one at 150, though an early stop after the chunk
    at t=100 would look safe if that last chunk were passed over."""
    from kubespan.api.trace_choice import choose_traces, distinct_rows, newest_matches
    from kubespan.query import compile_query

    table = new_attribute_table()
    store = SpanStore(table, max_spans=10_000)
    for first, (start, name) in enumerate([(0, "hit"), (100, "hit"), (200, "miss"), (150, "hit")]):
        store.consume_traces(batch([S(first * 100 + i + 1, first * 100 + i + 1, name=name, start=start + i % 3)
                                    for i in range(50)], table))
    reader = store.reader()
    assert len(reader.snap.chunks) == 4
    query = compile_query('{ name = "hit" }')
    matched = newest_matches(reader, reader.chunk_matches(query), 0, 0, 1)
    rows = distinct_rows(reader.snap.column("trace")[matched - reader.snap.floor], reader.snap.n_traces)
    full = reader.search(query)
    every = distinct_rows(reader.snap.column("trace")[full - reader.snap.floor], reader.snap.n_traces)
    assert choose_traces(reader, rows, 0, 0, 1).tolist() == choose_traces(reader, every, 0, 0, 1).tolist()
    assert int(reader.snap.trace_start[choose_traces(reader, rows, 0, 0, 1)[0]]) % 1000 == 152
