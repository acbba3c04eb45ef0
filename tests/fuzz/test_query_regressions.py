"""Regression tests for query crashes found by fuzzing: every input here once raised
something other than `QuerySyntaxError`, or crashed an evaluator."""

from __future__ import annotations

import pytest

from kubespan.otlp.attributes import new_attribute_table
from kubespan.query import QuerySyntaxError, compile_query
from kubespan.query.ast import MAX_DEPTH, depth
from kubespan.store import SpanStore
from tests.support.spanfactory import S, batch

TOO_DEEP = "query nested too deeply"

DEEP_QUERIES = {
    "shorthand parentheses": ("(" * 5000 + "a" + ")" * 5000, MAX_DEPTH + 1),
    "shorthand not": ("not " * 5000 + "a", 4 * MAX_DEPTH + 1),
    "traceql parentheses around braces": ("(" * 5000 + "{ }" + ")" * 5000, MAX_DEPTH + 1),
    "traceql parentheses inside braces": ("{ " + "(" * 5000 + ".a" + ")" * 5000 + " }", MAX_DEPTH + 3),
    "traceql !": ("{ " + "!" * 5000 + ".a }", MAX_DEPTH + 3),
    "traceql structural chain": ("{ }" + " > { }" * 3000, 1),
    "traceql alternating && ||": ("{ " + ".a = 1 && .a = 1 || " * 300 + ".a = 1 }", 3),
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
    table = new_attribute_table()
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
    with pytest.raises(QuerySyntaxError, match="must resolve to a boolean|illegal operation for the given types"):
        compile_query(text)


LITERAL_CRASHES = {
    # minimal inputs, and what they used to raise
    "traceql int past the digit limit (ValueError)": ("{ " + "9" * 4301 + " }", "number '9999"),
    "traceql duration past the float range (OverflowError)": ("{ duration > " + "9" * 400 + "s }", "out of range"),
    "shorthand duration past the float range (OverflowError)": ("duration>" + "9" * 400 + "s", "invalid duration"),
    "shorthand plain duration past the digit limit (ValueError)": ("duration>" + "9" * 4301, "invalid duration"),
    "shorthand status past the digit limit (ValueError)": ("status=" + "9" * 4301, "invalid status"),
    "shorthand kind as a superscript digit (ValueError)": ("kind=²", "invalid kind '²'"),
    "traceql superscript digit (AttributeError)": ("{ kind = ² }", "unexpected character '²'"),
    "shorthand regex repetition too large (OverflowError)": (
        "name=~a{99999999999}", "invalid regex: invalid repeat count"),
    "traceql regex repetition too large (OverflowError)": ('{ name =~ "a{99999999999}" }', "invalid repeat count"),
    "shorthand regex groups nested deep (RecursionError)": ("name=~" + "(" * 3000 + ")" * 3000, "nested too deeply"),
    "traceql regex groups nested deep (RecursionError)": ('{ name =~ "' + "(" * 3000 + ")" * 3000 + '" }', "nested"),
}


@pytest.mark.parametrize("text, message", LITERAL_CRASHES.values(), ids=list(LITERAL_CRASHES))
def test_literals_out_of_range_are_syntax_errors(text: str, message: str) -> None:
    with pytest.raises(QuerySyntaxError) as err:
        compile_query(text)
    assert message in err.value.message
    assert 1 <= err.value.column <= len(text)


@pytest.mark.parametrize("text", ["kind=05", "status=2", "duration>" + "9" * 30 + "y", "name=~a{3}"])
def test_literals_in_range_still_parse(text: str) -> None:
    compile_query(text)
