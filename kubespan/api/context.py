"""What every API handler shares: the store, the settings, the counters and the query limits."""

from __future__ import annotations

from dataclasses import dataclass, field

from kubespan.api import throttle
from kubespan.api.responses import ApiError, Reply
from kubespan.api.settings import ApiSettings
from kubespan.query import Query, QuerySyntaxError, compile_query
from kubespan.query.limits import Deadline, QueryCounters, QueryLimits, QueryStopped, QueryTooLong
from kubespan.stats import Counters
from kubespan.store import SpanStore, StoreReader


@dataclass
class ApiContext:
    store: SpanStore  # `reader()` gives a StoreReader over a snapshot taken now
    settings: ApiSettings
    counters: Counters
    query_counters: QueryCounters | None = None
    budget: throttle.CpuBudget = field(init=False)

    def __post_init__(self) -> None:
        self.budget = throttle.CpuBudget(self.settings.cpu_share, self.settings.cpu_burst_s,
                                         throttle.IngestWatch(self.counters), self.counters,
                                         self.settings.cpu_interactive_burst_s)

    def guarded(self, handler):
        """`handler` run as one query: one deadline (bound to the thread, charging the CPU budget) for all
        it does, and a query stopped anywhere answered with its status (504 past the timeout)."""

        def run(request) -> Reply:
            throttle.mark_interactive(request.headers.get(throttle.INTERACTIVE_HEADER) == "1")
            try:
                return handler(request)
            except QueryStopped as exc:
                raise self.stopped(exc) from None
            finally:
                deadline = throttle.current()
                if isinstance(deadline, throttle.BudgetedDeadline):
                    deadline.settle()
                throttle.bind(None)

        return run

    def reader(self) -> StoreReader:
        """A reader over a snapshot taken now; taking it (and indexing what arrived since the last one)
        is part of the query, charged to the CPU budget with the rest."""
        deadline = self.deadline()
        reader = self.store.reader()
        deadline.check()
        return reader

    def limits(self) -> QueryLimits:
        return QueryLimits(timeout_s=self.settings.query_timeout_s, max_length=self.settings.max_query_bytes,
                           max_memory_bytes=self.settings.max_query_memory_bytes)

    def deadline(self) -> Deadline:
        """This query's deadline (made on first use, then the same for the rest of the request)."""
        deadline = throttle.current()
        if deadline is None:
            limits = self.limits()
            deadline = throttle.BudgetedDeadline(limits.timeout_s, limits.max_memory_bytes, self.budget,
                                                 throttle.interactive())
            throttle.bind(deadline)
        return deadline

    def compile(self, text: str, prefix: str = "invalid TraceQL query: ") -> Query:
        """`text` compiled, or a 400 worded like Tempo's parse errors (`… at line 1, col N: …`)."""
        try:
            return compile_query(text, max_length=self.settings.max_query_bytes)
        except QueryTooLong:
            if self.query_counters is not None:
                self.query_counters.too_long()
            raise ApiError(400, too_long_message(self.settings.max_query_bytes)) from None
        except QuerySyntaxError as exc:
            raise ApiError(400, f"{prefix}{parse_error_text(exc)}") from None

    def check_query_size(self, text: str | None) -> None:
        """Tempo's `max_query_expression_size_bytes` check (counted in `queries_too_long`)."""
        if text and len(text.encode()) > self.settings.max_query_bytes:
            if self.query_counters is not None:
                self.query_counters.too_long()
            raise ApiError(400, too_long_message(self.settings.max_query_bytes))

    def check_query_params(self, req) -> None:
        """`pipeline.ValidateTraceQLQueryParamsSize`: `query` wins over `q`."""
        self.check_query_size(req.get("query") if req.has("query") else req.get("q"))

    def stopped(self, exc: QueryStopped) -> ApiError:
        """The answer to a query stopped by its deadline or memory budget (counted)."""
        if self.query_counters is not None:
            self.query_counters.stopped(exc)
        status = 504 if exc.reason == "timed_out" else 413 if exc.reason == "over_memory" else 499
        return ApiError(status, f"{exc.message} ({exc.progress.describe()})")


def too_long_message(limit: int) -> str:
    """Tempo's words for a query over `max_query_expression_size_bytes`."""
    return (f"TraceQL expression exceeds the configured maximum size of {limit} bytes, reduce the query "
            "expression size or contact your system administrator")


def parse_error_text(exc: QuerySyntaxError) -> str:
    """`parse error at line 1, col N: message`, as Tempo words a TraceQL parse error."""
    column = getattr(exc, "column", None)
    message = getattr(exc, "message", None) or str(exc)
    if column:
        return f"parse error at line 1, col {column}: {message}"
    return f"parse error: {message}"
