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
