"""Trace- and scope-level fields in by() and as aggregated values (the TraceQL parser's field kinds)."""

from __future__ import annotations

from collections import Counter

import numpy as np

from kubespan.metrics.ast import Aggregate, ByField, MetricsPipeline, MetricsQuery
from kubespan.metrics.engine import evaluate
from kubespan.metrics.timegrid import TimeGrid
from kubespan.query.ast import Const, Field, Filter
from tests.support.k8s_fixture import load_fixture


def instant(store, op: str, by: tuple[ByField, ...] = (), field: ByField | None = None) -> dict:
    snap = store.snapshot()
    starts = snap.column("start")
    grid = TimeGrid.for_instant(int(starts.min()) - 1, int(starts.max()))
    query = MetricsQuery("", MetricsPipeline(Filter(Const(True)), Aggregate(op, field, (), by)))
    return {s.labels: float(s.values[0]) for s in evaluate(query, snap, grid).series}


def fixture_spans():
    for request in load_fixture(0):
        for rs in request.resource_spans:
            service = next(a.value.string_value for a in rs.resource.attributes if a.key == "service.name")
            for ss in rs.scope_spans:
                for span in ss.spans:
                    yield service, ss.scope, span


def test_count_by_root_service_and_scope_name(golden_store):
    spans = list(fixture_spans())
    roots = {}
    for service, _, span in spans:
        if not span.parent_span_id:
            roots.setdefault(span.trace_id, service)
    expected = Counter(roots.get(span.trace_id, "") for _, _, span in spans)
    got = instant(golden_store, "count_over_time", (ByField(Field("root_service"), "rootServiceName"),))
    assert {labels[0][1][1]: count for labels, count in got.items()} == expected
    scopes = Counter(scope.name for _, scope, _ in spans)
    got = instant(golden_store, "count_over_time", (ByField(Field("scope_name"), "instrumentation:name"),))
    assert {labels[0][1][1]: count for labels, count in got.items()} == scopes


def test_child_count_and_trace_duration_as_values(golden_store):
    spans = list(fixture_spans())
    children = Counter((span.trace_id, span.parent_span_id) for _, _, span in spans if span.parent_span_id)
    most = max(children.get((span.trace_id, span.span_id), 0) for _, _, span in spans)
    got = instant(golden_store, "max_over_time", field=ByField(Field("child_count"), "span:childCount"))
    assert list(got.values()) == [most]
    bounds: dict = {}
    for _, _, span in spans:
        lo, hi = bounds.get(span.trace_id, (2**63, 0))
        bounds[span.trace_id] = (min(lo, span.start_time_unix_nano), max(hi, span.end_time_unix_nano))
    longest = max(hi - lo for lo, hi in bounds.values()) / 1e9
    got = instant(golden_store, "max_over_time", field=ByField(Field("trace_duration"), "traceDuration"))
    assert np.isclose(next(iter(got.values())), longest)
