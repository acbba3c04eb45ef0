"""The CPU budget's second bucket: a request that answers a person's key (`X-Kubespan-Interactive: 1`)
is not made to wait behind the debt that polls ran up, as long as its own bucket lasts."""

from __future__ import annotations

import time

from kubespan.api import throttle
from kubespan.api.context import ApiContext
from kubespan.api.responses import Reply, text_reply
from kubespan.api.server import ApiRequest
from kubespan.api.settings import ApiSettings
from kubespan.otlp.attributes import new_attribute_table
from kubespan.query.limits import Deadline
from kubespan.stats import Counters
from kubespan.store import SpanStore


def test_an_interactive_request_draws_on_its_own_bucket_first():
    counters = Counters()
    budget = throttle.CpuBudget(0.02, burst=0.25, counters=counters, interactive_burst=2.0)
    budget.charge(1.0, wait=False)  # polls ran up 0.75 s of debt: the next poll would sleep ~37 s
    started = time.monotonic()
    budget.charge(1.5, Deadline(timeout_s=5), interactive=True)  # paid from its bucket: no wait
    assert time.monotonic() - started < 1 and counters.get("api_cpu_waits") == 0
    budget.charge(1.0, Deadline(timeout_s=0.05), interactive=True)  # 0.5 s left there; the rest is shared
    assert counters.get("api_interactive_over") == 1 and counters.get("api_cpu_waits") == 1
    budget.charge(0.1, Deadline(timeout_s=0.05))  # a poll still waits for the debt
    assert counters.get("api_cpu_waits") == 2


def test_without_spans_arriving_nothing_waits_or_is_counted():
    counters = Counters()
    budget = throttle.CpuBudget(0.02, burst=0.25, active=lambda: False, counters=counters, interactive_burst=2.0)
    budget.charge(10.0, Deadline(timeout_s=5))
    budget.charge(10.0, Deadline(timeout_s=5), interactive=True)
    assert counters.get("api_cpu_waits") == 0 and counters.get("api_interactive_over") == 0


def test_the_header_makes_the_requests_deadline_interactive():
    ctx = ApiContext(SpanStore(new_attribute_table()), ApiSettings(), Counters())
    seen: list[bool] = []

    def handler(_: ApiRequest) -> Reply:
        deadline = ctx.deadline()
        assert isinstance(deadline, throttle.BudgetedDeadline)
        seen.append(deadline.interactive)
        return text_reply("ok\n")

    run = ctx.guarded(handler)
    run(ApiRequest("/x", {}, (), {"x-kubespan-interactive": "1"}))
    run(ApiRequest("/x", {}, ()))
    run(ApiRequest("/x", {}, (), {"x-kubespan-interactive": "0"}))
    assert seen == [True, False, False] and throttle.current() is None and not throttle.interactive()
