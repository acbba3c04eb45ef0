"""The query API's settings: where it listens and the limits every query runs under."""

from __future__ import annotations

from dataclasses import dataclass

DEFAULT_API = "127.0.0.1:3200"
"""Tempo's HTTP port, so that a Grafana data source or tempo-cli finds kubespan where it finds Tempo."""
DEFAULT_QUERY_TIMEOUT_S = 30.0
"""Like Tempo's querier `search.query_timeout`."""
DEFAULT_MAX_CONCURRENT = 4
"""Queries running at once; more wait up to `queue_wait_s`, then get 429."""
DEFAULT_QUEUE_WAIT_S = 2.0
DEFAULT_MAX_QUERY_BYTES = 128 * 1024
"""Like Tempo's `max_query_expression_size_bytes`."""
DEFAULT_SEARCH_LIMIT = 20
MAX_SEARCH_LIMIT = 256 * 1024
"""Tempo's `default_result_limit` and `max_result_limit`."""
DEFAULT_SPSS = 3
MAX_SPSS = 100
"""Tempo's default and maximum spans per spanset."""
MAX_SEARCH_RANGE_S = 168 * 3600
"""Tempo's `max_duration` of a search, tag or trace-by-id time range."""
RETRY_AFTER_S = 1
DEFAULT_MAX_QUERY_MIB = 512
"""Intermediate results one query may hold (the engine's `QueryLimits.max_memory_bytes`); past it, 413."""
DEFAULT_CPU_SHARE = 0.02
"""Of one core, what all API queries together may use on average while spans arrive
(kubespan.api.throttle). Small because the receivers and the queries share one interpreter lock: a
query thread costs ingestion about one and a half times its own CPU (threads waiting to get the
lock back), and 0.02 keeps a client polling search every 100 ms within 0.9x of ingest without it
(scripts/bench_api.py ingest; figures in proto_notes/api.md)."""
DEFAULT_CPU_BURST_S = 0.25
"""CPU seconds of queries the budget lets through at once before the share applies."""
DEFAULT_CPU_INTERACTIVE_BURST_S = 2.0
"""CPU seconds that requests answering a person's key (`X-Kubespan-Interactive: 1`) get besides, refilled
at the same share (kubespan.api.throttle): a new filter's numbers do not wait behind the polls' debt."""
DEFAULT_MAX_ANSWER_SPANS = 100_000
"""Spans one answer may carry (search spansets, a trace by id): bounds a query's memory and the
work it serializes; a search over it is refused (413), a bigger trace comes back cut (PARTIAL)."""


@dataclass(slots=True)
class ApiSettings:
    """The API listener. `address` None turns it off; `explicit` says the user chose the address, so a
    port that cannot be bound is an error rather than a warning."""

    address: str | None = DEFAULT_API
    explicit: bool = False
    query_timeout_s: float = DEFAULT_QUERY_TIMEOUT_S
    max_concurrent: int = DEFAULT_MAX_CONCURRENT
    queue_wait_s: float = DEFAULT_QUEUE_WAIT_S
    max_query_bytes: int = DEFAULT_MAX_QUERY_BYTES
    max_answer_spans: int = DEFAULT_MAX_ANSWER_SPANS
    max_query_memory_bytes: int = DEFAULT_MAX_QUERY_MIB << 20
    cpu_share: float = DEFAULT_CPU_SHARE  # 0: no budget
    cpu_burst_s: float = DEFAULT_CPU_BURST_S
    cpu_interactive_burst_s: float = DEFAULT_CPU_INTERACTIVE_BURST_S
