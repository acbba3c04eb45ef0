"""Live RED numbers (rate, errors, duration) per service and operation, updated as spans arrive.

`RedAggregator.catch_up(snapshot)` reads only the spans stored since its last call (by ordinal),
optionally narrowed by a query, and adds them to a `SlotTable` keyed by (service, span name).
`rows(start, end)` then answers for any window of the last hour without touching the spans:
spans/s, error %, p50/p90/p99 (Tempo's log2 quantiles, as `quantile_over_time(duration, …)`
gives them) and spans per slot for a sparkline. Headless; the TUI's Services view reads it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from kubespan.metrics.slots import SlotTable, Totals
from kubespan.store.traces import ERROR

QUANTILES = (0.5, 0.9, 0.99)


@dataclass(frozen=True, slots=True)
class RedRow:
    """One service (operation "") or one operation of a service, over a window."""

    service: str
    operation: str
    spans: int
    rate: float  # spans per second
    error_pct: float
    p50: float  # seconds
    p90: float
    p99: float
    sparkline: tuple[int, ...]  # spans per slot, oldest first

    @property
    def is_service(self) -> bool:
        return self.operation == ""


@dataclass
class RedAggregator:
    """Per (service, operation) numbers, incrementally; `query` narrows the spans counted."""

    query: Any = None
    table: SlotTable = field(default_factory=SlotTable)
    next_ordinal: int = 0
    missed: int = 0  # spans evicted before they were counted
    rebuilt: int = 0

    def catch_up(self, snap: Any, deadline: Any = None) -> int:
        """Count the spans stored since the last call; returns how many were read."""
        lo = max(self.next_ordinal, snap.floor)
        self.missed += max(0, snap.floor - self.next_ordinal)
        if lo >= snap.stop:
            self.next_ordinal = max(self.next_ordinal, snap.stop)
            return 0
        per_span = self.query is None or self.query.per_span
        if not per_span and self.next_ordinal > 0:
            return 0  # a query that relates spans of a trace is recounted by `rebuild`, not piecemeal
        tail = dataclasses.replace(snap, floor=lo)
        self._count(tail, deadline)
        self.next_ordinal = snap.stop
        return snap.stop - lo

    def rebuild(self, snap: Any, deadline: Any = None) -> None:
        """Start over from every stored span (after the query changed)."""
        self.table = SlotTable(self.table.slot_ns, self.table.max_slots, self.table.max_keys)
        self.next_ordinal = snap.floor
        self.missed = 0
        self.rebuilt += 1
        if snap.stop > snap.floor:
            self._count(snap, deadline)
        self.next_ordinal = snap.stop

    def _count(self, snap: Any, deadline: Any) -> None:
        start = snap.column("start")
        if self.query is not None:
            from kubespan.store.engine import Evaluator

            keep = np.flatnonzero(Evaluator(snap, deadline).spanset(self.query.root))
        else:
            keep = np.arange(len(start))
        if not len(keep):
            return
        names = snap.column("name")[keep]
        services = np.asarray(snap.resource_service)[np.asarray(snap.scope_resource)[snap.column("scope")[keep]]]
        pairs = services.astype(np.int64) << 32 | names.astype(np.int64)
        distinct, where = np.unique(pairs, return_inverse=True)
        keys = [(snap.services[int(p) >> 32], snap.names[int(p) & 0xFFFFFFFF]) for p in distinct.tolist()]
        key_ids = self.table.key_ids(keys)[where.reshape(-1)]
        end = snap.column("end")[keep]
        self.table.add(key_ids, start[keep], snap.column("status")[keep] == ERROR, end - start[keep])

    def rows(self, start_ns: int, end_ns: int, points: int = 24,
             keep: Callable[[tuple[str, str]], bool] | None = None) -> list[RedRow]:
        """Services, each followed by its operations, busiest first, over [start_ns, end_ns); only the
        (service, operation) keys `keep` accepts, when given (a service's row sums its kept operations)."""
        table = self.table
        totals = table.totals(start_ns, end_ns)
        if keep is not None and len(totals.keys):
            kept = np.array([keep(table.key_list[k]) for k in totals.keys.tolist()], bool)
            totals = Totals(totals.keys[kept], totals.counts[kept], totals.errors[kept], totals.hist[kept])
        if not len(totals.keys):
            return []
        seconds = max(end_ns - start_ns, 1) / 1e9
        _first, per_slot = table.counts_per_slot(start_ns, end_ns)
        op_keys = [table.key_list[k] for k in totals.keys.tolist()]
        services = sorted({service for service, _ in op_keys})
        index = {service: i for i, service in enumerate(services)}
        owner = np.array([index[service] for service, _ in op_keys], np.int64)
        service_totals = Totals(np.arange(len(services), dtype=np.int64),
                                np.bincount(owner, totals.counts, len(services)).astype(np.int64),
                                np.bincount(owner, totals.errors, len(services)).astype(np.int64),
                                _sum_rows(totals.hist, owner, len(services)))
        service_spark = np.zeros((len(services), per_slot.shape[1]), np.int64)
        np.add.at(service_spark, owner, per_slot[totals.keys])
        op_rows = _rows(totals, [s for s, _ in op_keys], [o for _, o in op_keys], seconds,
                        per_slot[totals.keys], points)
        service_rows = _rows(service_totals, services, [""] * len(services), seconds, service_spark, points)
        out: list[RedRow] = []
        for service_row in sorted(service_rows, key=lambda r: (-r.spans, r.service)):
            out.append(service_row)
            mine = [r for r in op_rows if r.service == service_row.service]
            out += sorted(mine, key=lambda r: (-r.spans, r.operation))
        return out


def _sum_rows(hist: npt.NDArray[np.int64], owner: npt.NDArray[np.int64], size: int) -> npt.NDArray[np.int64]:
    out = np.zeros((size, hist.shape[1]), np.int64)
    np.add.at(out, owner, hist)
    return out


def _rows(totals: Totals, services: list[str], operations: list[str], seconds: float,
          spark: npt.NDArray[np.int64], points: int) -> list[RedRow]:
    p50, p90, p99 = (totals.quantile(q) for q in QUANTILES)
    counts, errors = totals.counts.tolist(), totals.errors.tolist()
    out = []
    for i, (service, operation) in enumerate(zip(services, operations, strict=False)):
        out.append(RedRow(service, operation, counts[i], counts[i] / seconds,
                          100.0 * errors[i] / counts[i] if counts[i] else 0.0,
                          float(p50[i]), float(p90[i]), float(p99[i]), _resample(spark[i], points)))
    return out


def _resample(values: npt.NDArray[np.int64], points: int) -> tuple[int, ...]:
    """At most `points` values: consecutive slots summed."""
    if len(values) <= points:
        return tuple(values.tolist())
    edges = np.linspace(0, len(values), points + 1).astype(np.int64)
    return tuple(np.add.reduceat(values, edges[:-1]).tolist())


def operation_query(service: str, operation: str = "") -> str:
    """The TraceQL filter for a service, or one of its operations (Enter and `f` in the Services view)."""
    text = f"resource.service.name = {traceql_string(service)}"
    if operation:
        text += f" && name = {traceql_string(operation)}"
    return "{ " + text + " }"


def traceql_string(text: str) -> str:
    """`text` as a TraceQL string literal."""
    escaped = text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("\t", "\\t")
    return f'"{escaped}"'
