"""TraceQL metrics (Tempo's `| rate() by (…)` and friends) over kubespan's span store.

`compile_metrics(text)` parses a metrics query; `evaluate(query, snapshot, grid)` computes its
series on a `TimeGrid`; `kubespan.metrics.endpoints` answers Tempo's metrics HTTP endpoints.
Headless: nothing here imports Textual or rich.
"""

from kubespan.metrics.ast import MetricsQuery
from kubespan.metrics.engine import MetricsResult, evaluate
from kubespan.metrics.grammar import compile_metrics, is_metrics_query
from kubespan.metrics.series import Series
from kubespan.metrics.timegrid import TimeGrid, default_step

__all__ = ["MetricsQuery", "MetricsResult", "Series", "TimeGrid", "compile_metrics", "default_step", "evaluate",
           "is_metrics_query"]
