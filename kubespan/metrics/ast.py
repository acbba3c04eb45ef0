"""The syntax tree of TraceQL metrics queries (Tempo's `| rate() by (…) | topk(5) > 10`).

A metrics query is a spanset pipeline (the search language's tree, `kubespan.query.ast`)
followed by one first-stage function that turns the matching spans into series, then
second-stage steps over those series. Several such pipelines may be combined with
arithmetic (`({status=error} | rate()) / ({} | rate())`).
"""

from __future__ import annotations

from dataclasses import dataclass

from kubespan.query.ast import Field, Spanset

FUNCTIONS = ("rate", "count_over_time", "sum_over_time", "avg_over_time", "min_over_time", "max_over_time",
             "quantile_over_time", "histogram_over_time", "compare")
"""Names that start the metrics part of a query after a `|`."""
SECOND_STAGE = ("topk", "bottomk")
NEEDS_FIELD = ("sum_over_time", "avg_over_time", "min_over_time", "max_over_time", "quantile_over_time",
               "histogram_over_time")
MAX_GROUP_BY = 5
"""Tempo's limit on `by(…)` fields (one fewer for quantile and histogram, which add a bucket label)."""
COMPARISONS = ("=", "!=", "<", "<=", ">", ">=")


@dataclass(frozen=True, slots=True)
class ByField:
    """A field of `by(…)` or the aggregated field, with the spelling Tempo uses as its label name."""

    field: Field
    label: str


@dataclass(frozen=True, slots=True)
class Aggregate:
    """`rate()`, `count_over_time()`, `sum_over_time(f)` … `quantile_over_time(f, q…)` with `by(…)`."""

    op: str
    field: ByField | None = None
    quantiles: tuple[float, ...] = ()
    by: tuple[ByField, ...] = ()


@dataclass(frozen=True, slots=True)
class Compare:
    """`compare({selection}, top_n, start_ns, end_ns)`: attribute values of a selection against the rest."""

    selection: Spanset
    top_n: int = 10
    start_ns: int = 0
    end_ns: int = 0


@dataclass(frozen=True, slots=True)
class TopK:
    """`topk(n)` or `bottomk(n)`, decided at every step."""

    op: str
    limit: int


@dataclass(frozen=True, slots=True)
class SeriesFilter:
    """`> 10`, `!= 0`, `> 50ms` after a metrics function: points failing it are dropped."""

    op: str
    value: float


SecondStage = TopK | SeriesFilter


@dataclass(frozen=True, slots=True)
class MetricsPipeline:
    """A spanset pipeline, its first-stage function, and what follows it."""

    pipeline: Spanset
    first: Aggregate | Compare
    second: tuple[SecondStage, ...] = ()


@dataclass(frozen=True, slots=True)
class Scalar:
    value: float


@dataclass(frozen=True, slots=True)
class MetricsMath:
    """`left OP right` with OP one of `+ - * /`; each side a pipeline, a scalar or another operation."""

    op: str
    left: MetricsExpr
    right: MetricsExpr


MetricsExpr = MetricsPipeline | MetricsMath | Scalar


@dataclass(frozen=True, slots=True)
class MetricsQuery:
    """A whole metrics query: an expression, the second stage applied to its result, and its hints."""

    text: str
    expr: MetricsExpr
    second: tuple[SecondStage, ...] = ()
    hints: tuple[tuple[str, object], ...] = ()

    def pipelines(self) -> list[MetricsPipeline]:
        """The pipelines of the expression, left to right."""
        found: list[MetricsPipeline] = []
        stack: list[MetricsExpr] = [self.expr]
        while stack:
            node = stack.pop()
            if isinstance(node, MetricsPipeline):
                found.append(node)
            elif isinstance(node, MetricsMath):
                stack += [node.right, node.left]
        return found
