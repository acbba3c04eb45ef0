"""The API's CPU budget (kubespan.api.throttle): queries that spent more than their share of a core sleep
until it refills, only while spans arrive, and every wait is counted."""

from __future__ import annotations

import pytest

from kubespan.api import throttle
from kubespan.api.throttle import BudgetedDeadline, CpuBudget, IngestWatch
from kubespan.stats import Counters


@pytest.fixture
def slept(monkeypatch) -> list[float]:
    """The waits the budget asks for, recorded instead of slept."""
    waits: list[float] = []
    monkeypatch.setattr(throttle.time, "sleep", waits.append)
    return waits


def test_a_query_in_debt_waits_until_the_share_has_paid_it_and_is_counted(slept):
    counters = Counters()
    budget = CpuBudget(share=0.02, burst=0.5, counters=counters)
    budget.charge(0.4)  # within the burst: no wait
    assert slept == []
    budget.charge(0.2)  # 0.1 s over: at 0.02 of a core that is 5 s of wall time
    assert slept and slept[0] == pytest.approx(5.0, rel=0.05)
    counts = counters.snapshot()
    assert counts["api_cpu_waits"] == 1 and 4900 <= counts["api_cpu_wait_ms"] <= 5000


def test_no_budget_while_nothing_arrives_or_when_turned_off(slept):
    idle = CpuBudget(share=0.02, burst=0.1, active=lambda: False)
    off = CpuBudget(share=0, burst=0.1)
    for budget in (idle, off):
        budget.charge(10.0)
    assert slept == []


def test_the_wait_never_runs_past_the_query_deadline(slept):
    budget = CpuBudget(share=0.01, burst=0.0)
    deadline = BudgetedDeadline(2.0, None, budget)
    budget.charge(1.0, deadline)  # would be 100 s; the query has 2 s left
    assert slept and slept[0] <= 2.0


def test_ingest_watch_is_active_only_while_received_spans_move():
    counters = Counters()
    watch = IngestWatch(counters, window_s=60.0)
    assert not watch()
    counters.add("received_spans", 10)
    assert watch()
    stale = IngestWatch(counters, window_s=0.0)
    stale()  # first look: the counter has not moved since it was created
    assert not stale()


def test_an_api_query_over_its_share_while_spans_arrive_waits_and_is_counted():
    from tests.support.api_server import fixture_store, start_api

    counters = Counters()
    api = start_api(fixture_store(), counters, cpu_share=1e-6, cpu_burst_s=0.0, query_timeout_s=0.3)
    try:
        assert api.get("/api/search", {"q": "{ }"})[0] == 200  # nothing arriving: full speed
        assert counters.snapshot().get("api_cpu_waits", 0) == 0
        counters.add("received_spans", 1)
        status, _, body = api.get("/api/search", {"q": "{ }"})
        assert status == 504 and body.startswith(b"query timed out after 0.3 s"), body
        assert counters.snapshot()["api_cpu_waits"] >= 1
    finally:
        api.stop()


def test_a_finished_querys_last_cpu_is_charged_without_waiting_and_the_next_query_pays(slept):
    budget = CpuBudget(share=0.5, burst=0.0)
    deadline = BudgetedDeadline(None, None, budget)
    began = throttle.time.thread_time()
    while throttle.time.thread_time() - began < 0.02:  # CPU spent after the last check
        sum(range(1000))
    deadline.settle()
    assert slept == []  # the answer goes out at once
    budget.charge(0.0)  # the next query's first check
    assert slept and slept[0] >= 0.02 / 0.5 * 0.9
