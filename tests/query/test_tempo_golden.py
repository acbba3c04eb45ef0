"""kubespan answers the fixture's queries as a real Tempo did (tests/golden/query/tempo_search.json).

The golden file was written by `scripts/tempo_query_golden.py` against Tempo built from source;
CI has no Tempo, so the answers are data here. A query Tempo refused (400) must be a
`QuerySyntaxError` in kubespan; otherwise the spans Tempo returned must be exactly the spans
kubespan finds, span for span.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from kubespan.otlp.attributes import new_attribute_table
from kubespan.otlp.decode import decode_request
from kubespan.query import QuerySyntaxError, compile_query
from kubespan.store import SpanStore
from tests.query.tempo_fixture import build_request, span_key
from tests.query.tempo_queries import QUERIES

GOLDEN = json.loads((Path(__file__).parents[1] / "golden" / "query" / "tempo_search.json").read_text())


@pytest.fixture(scope="module")
def store() -> SpanStore:
    table = new_attribute_table()
    store = SpanStore(table)
    batch, rejections = decode_request(build_request(GOLDEN["base_ns"]).SerializeToString(), table)
    assert not rejections.count
    store.consume_traces(batch)
    return store


def test_every_query_has_a_golden_answer() -> None:
    assert set(QUERIES) == set(GOLDEN["answers"])


NOT_YET = {'{ span:statusMessage =~ "pull failed:.*" }', '{ span:statusMessage =~ ".*unknown" }',
           '{ event.level =~ "err.*" }'}
"""Intrinsics and scopes the full TraceQL work adds (span:statusMessage, event.)."""


@pytest.mark.parametrize("query", [pytest.param(q, marks=pytest.mark.xfail(strict=True, reason="not supported yet"))
                                   if q in NOT_YET else q for q in QUERIES])
def test_same_spans_as_tempo(store: SpanStore, query: str) -> None:
    answer = GOLDEN["answers"][query]
    if "error" in answer:
        with pytest.raises(QuerySyntaxError):
            compile_query(query)
        return
    expected = sorted({span for spanset in answer["spansets"] for span in spanset["spans"]})
    rows = store.span_rows(store.search(compile_query(query)).tolist())
    assert sorted(span_key(r.trace_id.hex(), r.span_id.hex()) for r in rows) == expected
