"""The vectorised metrics engine against the naive, span-by-span evaluator, on generated spans and queries."""

from __future__ import annotations

import math

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kubespan.metrics import compile_metrics, evaluate
from kubespan.metrics.series import Series, range_json
from kubespan.metrics.timegrid import TimeGrid
from kubespan.otlp.attributes import new_attribute_table
from kubespan.store import SpanStore
from tests.metrics import reference
from tests.support.spanfactory import T0, S, batch

SECOND = 1_000_000_000
SERVICES = ("kubelet", "apiserver", "etcd")
NAMES = ("syncPod", "GET", "Range", "Txn")
ATTR_VALUES = st.one_of(st.integers(-3, 5000), st.sampled_from([0.5, 2.5, 1e6]), st.sampled_from(["a", "b", ""]),
                        st.booleans())


@st.composite
def spans(draw):
    count = draw(st.integers(0, 40))
    out = []
    for i in range(count):
        attrs = {}
        for key in ("code", "size"):
            if draw(st.booleans()):
                attrs[key] = draw(ATTR_VALUES)
        resource = {"zone": draw(st.sampled_from(["z1", "z2"]))} if draw(st.booleans()) else {}
        out.append(S(trace=draw(st.integers(1, 6)), span=i + 1, name=draw(st.sampled_from(NAMES)),
                     service=draw(st.sampled_from(SERVICES)), kind=draw(st.integers(1, 5)),
                     status=draw(st.integers(0, 2)), start=draw(st.integers(0, 120)) * SECOND // 2
                     + draw(st.sampled_from([0, 1, 499_999_999])),
                     duration=draw(st.one_of(st.integers(0, 3), st.integers(1000, 5 * SECOND))),
                     attrs=attrs, resource=resource))
    return out


FIELDS = ("name", "kind", "status", "resource.service.name", "span.code", ".zone", "span.size", "span:kind")
FUNCTIONS = ("rate()", "count_over_time()", "sum_over_time({f})", "avg_over_time({f})", "min_over_time({f})",
             "max_over_time({f})", "quantile_over_time({f}, {q})", "histogram_over_time({f})")


@st.composite
def queries(draw):
    function = draw(st.sampled_from(FUNCTIONS))
    numeric = draw(st.sampled_from(["duration", "span.code", "span.size", "span:duration"]))
    quantiles = ", ".join(str(q) for q in draw(st.lists(st.sampled_from([0, 0.25, 0.5, 0.9, 0.99, 1]), min_size=1,
                                                        max_size=3, unique=True)))
    text = "{ } | " + function.format(f=numeric, q=quantiles)
    by = draw(st.lists(st.sampled_from(FIELDS), max_size=3, unique=True))
    if by:
        text += " by (" + ", ".join(by) + ")"
    if draw(st.booleans()):
        text += f" | {draw(st.sampled_from(['topk', 'bottomk']))}({draw(st.integers(1, 3))})"
    if draw(st.booleans()):
        text += f" {draw(st.sampled_from(['>', '<=', '!=', '=']))} {draw(st.sampled_from([0, 1, 0.5, 3]))}"
    if draw(st.booleans()):
        text = text.replace("{ }", "{ " + draw(st.sampled_from(['status = error', 'kind = server', 'name =~ "S.*"']))
                            + " }")
    return text


@st.composite
def grids(draw):
    if draw(st.booleans()):
        start = T0 + draw(st.integers(-10, 30)) * SECOND
        return TimeGrid.for_instant(start, start + draw(st.integers(1, 60)) * SECOND)
    step = draw(st.sampled_from([1, 5, 7, 10, 30])) * SECOND
    start = T0 + draw(st.integers(-10, 30)) * SECOND + draw(st.sampled_from([0, 1, SECOND // 3]))
    return TimeGrid.for_range(start, start + draw(st.integers(1, 70)) * SECOND, step)


def render(series: dict, grid: TimeGrid) -> dict:
    return range_json([Series(k, np.array(v, np.float64)) for k, v in series.items()], grid.timestamps_ms(), {})


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(spans(), queries(), grids())
def test_vectorised_engine_matches_naive_evaluator(made, text, grid):
    table = new_attribute_table()
    store = SpanStore(table)
    if made:
        store.consume_traces(batch(made, table))
    query = compile_metrics(text)
    ours = evaluate(query, store.snapshot(), grid).series
    expected = reference.evaluate(query, store, grid)
    got = range_json(ours, grid.timestamps_ms(), {})
    want = render(expected, grid)
    assert [s["labels"] for s in got["series"]] == [s["labels"] for s in want["series"]], text
    for mine, theirs in zip(got["series"], want["series"], strict=False):
        assert [s["timestampMs"] for s in mine["samples"]] == [s["timestampMs"] for s in theirs["samples"]], text
        for a, b in zip(mine["samples"], theirs["samples"], strict=False):
            assert math.isclose(float(a.get("value", 0)), float(b.get("value", 0)), rel_tol=1e-9, abs_tol=1e-12), text
