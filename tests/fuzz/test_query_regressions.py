"""Regression tests for query crashes found by fuzzing: every input here once raised
something other than `QuerySyntaxError`, or crashed an evaluator."""

from __future__ import annotations

import pytest

from kubespan.otlp.attributes import AttributeTable
from kubespan.query import QuerySyntaxError, compile_query
from kubespan.query.ast import MAX_DEPTH, depth
from kubespan.store import SpanStore
from tests.spanfactory import S, batch

TOO_DEEP = "query nested too deeply"

DEEP_QUERIES = {
    "shorthand parentheses": ("(" * 5000 + "a" + ")" * 5000, MAX_DEPTH + 1),
    "shorthand not": ("not " * 5000 + "a", 4 * MAX_DEPTH + 1),
    "traceql parentheses around braces": ("(" * 5000 + "{ }" + ")" * 5000, MAX_DEPTH + 1),
    "traceql parentheses inside braces": ("{ " + "(" * 5000 + ".a" + ")" * 5000 + " }", MAX_DEPTH + 3),
    "traceql !": ("{ " + "!" * 5000 + ".a }", MAX_DEPTH + 3),
    "traceql structural chain": ("{ }" + " > { }" * 3000, 1),
    "traceql alternating && ||": ("{ " + ".a = 1 && .a = 1 || " * 300 + ".a = 1 }", 1),
}


@pytest.mark.parametrize("text, column", DEEP_QUERIES.values(), ids=list(DEEP_QUERIES))
def test_deep_nesting_is_a_syntax_error(text: str, column: int) -> None:
    with pytest.raises(QuerySyntaxError) as err:
        compile_query(text)
    assert TOO_DEEP in err.value.message and f"at most {MAX_DEPTH} levels" in err.value.message
    assert err.value.column == column


@pytest.mark.parametrize("text", [
    "not " * MAX_DEPTH + "a",
    "(" * MAX_DEPTH + "a" + ")" * MAX_DEPTH,
    "(" * 50 + "{ " + "!" * (MAX_DEPTH - 50) + ".a }" + ")" * 50,
])
def test_nesting_up_to_the_limit_is_accepted(text: str) -> None:
    assert depth(compile_query(text).root) <= MAX_DEPTH


LONG_CHAINS = [
    "a " * 3000,
    "a or " * 3000 + "a",
    "{ " + ".a = 1 && " * 3000 + ".a = 1 }",
    "{ " + '.a = "x" || ' * 3000 + '.a = "y" }',
    "{ }" + " && { }" * 3000,
    "{ }" + " || { }" * 3000,
]


@pytest.mark.parametrize("text", LONG_CHAINS, ids=lambda t: t[:12] + f"…({len(t)})")
def test_long_chains_of_one_operator_evaluate(text: str) -> None:
    """Thousands of terms joined by one operator fold into a shallow tree: both evaluators agree."""
    table = AttributeTable()
    spans = [S(1, 1, attrs={"a": "x"}), S(1, 2, 1, attrs={"a": 1}), S(2, 3, name="a")]
    store = SpanStore(table)
    store.consume_traces(batch(spans, table))
    query = compile_query(text)
    assert depth(query.root) < 20
    naive = [i for i, hit in enumerate(query.match_batch(batch(spans, table), table)) if hit]
    assert store.search(query).tolist() == naive
    assert naive


@pytest.mark.parametrize("text", ["{span:id}", "{ trace:id }", "{ span:parentID }", "{ name }", "{ kind && .a }"])
def test_an_intrinsic_alone_is_a_syntax_error(text: str) -> None:
    """Found as: `{span:id}` parsed as `span:id = true` and crashed both evaluators (TypeError)."""
    with pytest.raises(QuerySyntaxError, match="expected a comparison after"):
        compile_query(text)
