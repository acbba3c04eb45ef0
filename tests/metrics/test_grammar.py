"""The metrics grammar: what it accepts, what it refuses and where it points."""

from __future__ import annotations

import pytest

from kubespan.metrics import compile_metrics, is_metrics_query
from kubespan.metrics.ast import (
    Aggregate,
    MetricsMath,
    MetricsPipeline,
    Scalar,
    SeriesFilter,
    TopK,
)
from kubespan.query.errors import QuerySyntaxError
from kubespan.query.limits import QueryTooLong


def test_a_pipeline_its_function_and_second_stage():
    query = compile_metrics('{ name = "a|b" } | quantile_over_time(duration, .5, 0.99) by (name, .k) | topk(2) > 50ms')
    pipeline = query.expr
    assert isinstance(pipeline, MetricsPipeline) and isinstance(pipeline.first, Aggregate)
    assert pipeline.first.quantiles == (0.5, 0.99)
    assert [b.label for b in pipeline.first.by] == ["name", ".k"]
    assert pipeline.second == (TopK("topk", 2), SeriesFilter(">", 0.05))


def test_arithmetic_between_pipelines_and_numbers():
    query = compile_metrics("100 * ({ status = error } | rate()) / ({ } | rate()) >= 5")
    assert isinstance(query.expr, MetricsMath) and query.expr.op == "/"
    assert isinstance(query.expr.left, MetricsMath) and query.expr.left.left == Scalar(100.0)
    assert query.second == (SeriesFilter(">=", 5.0),)
    assert isinstance(compile_metrics("(({ } | rate()))").expr, MetricsPipeline)


def test_hints_are_accepted():
    assert compile_metrics("{ } | rate() with (sample=true, exemplars=3)").hints == (("sample", True), ("exemplars", 3))
    assert compile_metrics('{ name = "with (x)" } | rate()').hints == ()


@pytest.mark.parametrize(("text", "message", "column"), [
    ("{ } | rate(", "expected ')'", 12),
    ("{ }", "not a metrics query", 1),
    ("{ } | topk(3)", "topk follows a metrics function", 7),
    ("{ } | rate(duration)", "expected ')'", 12),
    ("{ } | sum_over_time()", "expected the field", 21),
    ("{ } | quantile_over_time(duration)", "expected ',' and the quantiles", 34),
    ("{ } | quantile_over_time(duration, 1.5)", "quantile must be between 0 and 1: 1.5", 36),
    ("{ } | rate() | topk(0)", "limit must be greater than 0", 21),
    ("{ } | rate() by (span.a, .b, name, kind, status, .f)", "metrics group by 6 values not yet supported", 7),
    ("{ } | histogram_over_time(duration) by (span.a, .b, name, kind, status)", "metrics group by 5 values", 7),
    ("({ } | rate()) * 10s", "duration cannot be used as a scalar operand", 18),
    ("{ } | rate() + { } | rate()", "put each in parentheses", 14),
    ("{ } | compare({ status = error }, 0)", "between 1 and 1000", 35),
    ("{ } | rate() by (nosuchthing)", "unknown identifier", 18),
])
def test_errors_name_the_problem_and_the_column(text, message, column):
    with pytest.raises(QuerySyntaxError) as caught:
        compile_metrics(text)
    assert message in caught.value.message and caught.value.column == column, caught.value


def test_length_is_limited_like_search_queries():
    with pytest.raises(QueryTooLong):
        compile_metrics("{ } | rate()" + " " * 200_000)


def test_telling_metrics_from_search():
    assert is_metrics_query('{ name = "x" } | rate()')
    assert not is_metrics_query('{ name = "| rate()" }')
    assert not is_metrics_query("service=kubelet")
