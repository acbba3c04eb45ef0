"""Live RED numbers: the same as the metrics engine's over a window, kept up incrementally."""

from __future__ import annotations

import pytest

from kubespan.metrics import compile_metrics, evaluate
from kubespan.metrics.red import RedAggregator, operation_query
from kubespan.metrics.slots import SLOT_NS, SlotTable
from kubespan.metrics.timegrid import TimeGrid
from kubespan.otlp.attributes import new_attribute_table
from kubespan.query import compile_query
from kubespan.store import SpanStore
from tests.metrics.conftest import fixture_store
from tests.support.golden_tempo import load_capture
from tests.support.spanfactory import S, batch


def window_of(snap) -> tuple[int, int]:
    starts = snap.column("start")
    first = int(starts.min()) // SLOT_NS * SLOT_NS
    return first, (int(starts.max()) // SLOT_NS + 1) * SLOT_NS


def engine(snap, text: str, start: int, end: int) -> dict:
    result = evaluate(compile_metrics(text), snap, TimeGrid.for_instant(start - 1, end - 1))
    out = {}
    for series in result.series:
        key = tuple(v[1] for n, v in series.labels if n != "p") + tuple(v[1] for n, v in series.labels if n == "p")
        out[key] = float(series.values[0])
    return out


def test_rows_give_the_metrics_engine_numbers(golden_store):
    snap = golden_store.snapshot()
    red = RedAggregator()
    red.catch_up(snap)
    start, end = window_of(snap)
    rows = red.rows(start, end)
    by = "by (resource.service.name, name)"
    counts = engine(snap, "{ } | count_over_time() " + by, start, end)
    errors = engine(snap, "{ status = error } | count_over_time() " + by, start, end)
    quantiles = engine(snap, "{ } | quantile_over_time(duration, .5, .9, .99) " + by, start, end)
    operations = [r for r in rows if not r.is_service]
    assert {(r.service, r.operation): r.spans for r in operations} == {k: int(v) for k, v in counts.items()}
    for row in operations:
        key = (row.service, row.operation)
        assert row.rate == pytest.approx(counts[key] / ((end - start) / 1e9))
        assert row.error_pct == pytest.approx(100 * errors.get(key, 0) / counts[key])
        for p, got in ((0.5, row.p50), (0.9, row.p90), (0.99, row.p99)):
            assert got == pytest.approx(quantiles[key + (p,)], rel=1e-9), (key, p)
    services = [r for r in rows if r.is_service]
    per_service = engine(snap, "{ } | quantile_over_time(duration, .9) by (resource.service.name)", start, end)
    assert {r.service: r.p90 for r in services} == pytest.approx({k[0]: v for k, v in per_service.items()})
    assert [r.service for r in services] == ["apiserver", "etcd", "kubelet", "containerd"]  # busiest first
    assert rows[0].is_service and rows[1].service == "apiserver" and not rows[1].is_service
    assert sum(services[0].sparkline) == services[0].spans


def test_incremental_counts_equal_one_pass():
    shift = load_capture("metrics-engine").shift_ns
    whole = fixture_store(shift)
    table = new_attribute_table()
    growing = SpanStore(table)
    red = RedAggregator()
    from kubespan.otlp.decode import decode_request
    from tests.support.k8s_fixture import load_fixture

    for i, request in enumerate(load_fixture(shift)):
        decoded, _ = decode_request(request.SerializeToString(), table)
        growing.consume_traces(decoded)
        if i % 7 == 0:
            red.catch_up(growing.snapshot())
    red.catch_up(growing.snapshot())
    once = RedAggregator()
    once.rebuild(whole.snapshot())
    start, end = window_of(whole.snapshot())
    assert red.rows(start, end) == once.rows(start, end)


def test_a_filter_narrows_the_counts(golden_store):
    snap = golden_store.snapshot()
    red = RedAggregator(compile_query('{ resource.service.name = "kubelet" && kind = client }'))
    red.rebuild(snap)
    start, end = window_of(snap)
    rows = red.rows(start, end)
    assert {r.service for r in rows} == {"kubelet"}
    assert rows[0].spans == 380  # the fixture's kubelet client spans


def test_query_text_for_an_operation_round_trips():
    text = operation_query('kube"let', "GET /api/v1/{:name}")
    assert compile_query(text).syntax == "traceql"
    assert text == '{ resource.service.name = "kube\\"let" && name = "GET /api/v1/{:name}" }'


def test_evicted_spans_are_counted_as_missed_and_limits_hold():
    table = new_attribute_table()
    store = SpanStore(table, max_spans=10)
    red = RedAggregator(table=SlotTable(max_keys=3, max_slots=2))
    store.consume_traces(batch([S(1, i, name=f"op{i}", start=i * 10**9) for i in range(1, 11)], table))
    store.consume_traces(batch([S(2, i, name=f"op{i}", start=20 * 10**9 + i) for i in range(11, 21)], table))
    red.catch_up(store.snapshot())
    assert red.missed == 10  # the first batch was evicted before it was read
    assert red.table.overflow == 7 and len(red.table.key_list) == 3  # keys beyond the limit are counted
    red.catch_up(store.snapshot())
    assert red.missed == 10


def test_empty_window_has_no_rows():
    assert RedAggregator().rows(0, 10**9) == []
