"""kubespan's own TraceQL examples (tests/query/traceql_examples.yaml): every valid one parses,
prints back to the same tree and gives the same answer in both evaluators; every invalid one is
refused with a column and a message that says why."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from kubespan.otlp.attributes import new_attribute_table
from kubespan.otlp.decode import decode_request
from kubespan.query import QuerySyntaxError, compile_query
from kubespan.store import SpanStore
from tests.query.tempo_fixture import build_request

EXAMPLES = yaml.safe_load((Path(__file__).parent / "traceql_examples.yaml").read_text())


@pytest.fixture(scope="module")
def loaded():
    table = new_attribute_table()
    store = SpanStore(table)
    batch, _ = decode_request(build_request(1_700_000_000_000_000_000).SerializeToString(), table)
    store.consume_traces(batch)
    return store, batch, table


@pytest.mark.parametrize("text", EXAMPLES["valid"])
def test_valid_examples_parse_print_back_and_agree(loaded, text: str) -> None:
    query = compile_query(text)
    assert query.syntax == "traceql"
    printed = query.to_traceql()
    again = compile_query(printed)
    assert again.root == query.root and again.hints == query.hints, printed
    assert again.to_traceql() == printed
    store, batch, table = loaded
    naive = [i for i, hit in enumerate(query.match_batch(batch, table)) if hit]
    assert store.search(query).tolist() == naive


@pytest.mark.parametrize("case", EXAMPLES["invalid"], ids=[c["query"] for c in EXAMPLES["invalid"]])
def test_invalid_examples_are_refused_with_a_column(case: dict) -> None:
    with pytest.raises(QuerySyntaxError) as err:
        compile_query(case["query"])
    assert case["error"] in err.value.message
    assert 1 <= err.value.column <= len(case["query"]) + 1
