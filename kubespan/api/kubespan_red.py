"""`GET /api/kubespan/red`: the Services view's rows over a window, for `kubespan attach` (kubespan only).

The same numbers as three TraceQL metrics queries (`kubespan.remote.red`), answered from the RED
aggregates kubespan keeps as spans arrive (`kubespan.metrics.live`, shared with the local viewer and
`/api/kubespan/graph`) instead of scanning the window's spans three times:

- no filter (`{ }`): the live aggregates' rows (only the spans stored since the last call are read);
- a filter that names only a service and/or an operation (`{ resource.service.name = "x" && name =
  "y" }`, what the Services view's own keys and `service=x` send): those rows of the live aggregates,
  a service's row summing its kept operations (the spans such a filter matches are exactly those rows');
- any other filter: an aggregator of its own, counted once over the store and then kept up to date
  incrementally (the last `KEPT_FILTERS` filters are kept), as the local Services view does.

Parameters: `q` (a TraceQL spanset filter, default `{ }`), `start`, `end`, `since` (as Tempo's),
`points` (sparkline slots, default 24, at most `MAX_POINTS`). Answer: `{"rows": [{"service",
"operation", "spans", "rate", "errorPct", "p50", "p90", "p99", "sparkline"}], "notes": [...]}`
(rate in spans/s, quantiles in seconds, services busiest first, each followed by its operations).
Advertised in `/api/status/buildinfo`'s `features` as `red`. The aggregates cover the last hour
(5 s slots); older windows get what is left and a note, as the local view does.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

from kubespan.api.context import ApiContext
from kubespan.api.responses import ApiError, Reply, json_reply
from kubespan.api.server import ApiRequest, Route
from kubespan.api.viewer_window import viewer_window
from kubespan.metrics.red import RedAggregator, RedRow
from kubespan.query.ast import And, Cond, Const, Filter

PATH = "/api/kubespan/red"
FEATURE = "red"
MAX_POINTS = 720
KEPT_FILTERS = 4
"""Filters (other than a service or an operation) whose aggregators are kept between calls."""

Keep = Callable[[tuple[str, str]], bool]


def key_filter(root: Any) -> Keep | None:
    """For a filter of `resource.service.name = "x"` and/or `name = "y"` (joined by &&): which
    (service, operation) keys it keeps; None for any other filter. `{ }` keeps every key."""
    if not isinstance(root, Filter):
        return None
    wanted: dict[str, str] = {}
    pending = [root.expr]
    while pending:
        node = pending.pop()
        if isinstance(node, Const) and node.value is True:
            continue
        if isinstance(node, And):
            pending += [node.left, node.right]
            continue
        if not isinstance(node, Cond) or node.op != "=" or node.literal.type != "str" or not node.literal.value:
            return None
        field = node.field
        if field.kind == "name":
            slot = "operation"
        elif field.kind == "attr" and field.scope == "resource" and field.key == "service.name":
            slot = "service"
        else:
            return None
        if wanted.setdefault(slot, node.literal.value) != node.literal.value:
            return lambda key: False  # two different values for one field: nothing matches
    service, operation = wanted.get("service"), wanted.get("operation")
    return lambda key: (service is None or key[0] == service) and (operation is None or key[1] == operation)


def row_json(row: RedRow) -> dict[str, Any]:
    return {"service": row.service, "operation": row.operation, "spans": row.spans, "rate": row.rate,
            "errorPct": row.error_pct, "p50": row.p50, "p90": row.p90, "p99": row.p99,
            "sparkline": list(row.sparkline)}


def red_notes(aggregator: RedAggregator) -> list[str]:
    """What the rows leave out because of a limit (as the local Services view says it)."""
    table, found = aggregator.table, []
    if aggregator.missed:
        found.append(f"{aggregator.missed:,} spans evicted before they were counted")
    if table.overflow:
        found.append(f"{table.overflow:,} spans of operations past the first {table.max_keys:,} left out")
    if table.dropped_slots:
        found.append(f"operations older than {table.max_slots * table.slot_ns // 60_000_000_000} min dropped")
    return found


class Red:
    """The endpoint, with its own aggregates: every span's (kept up to date by `catch_up`, also called by
    the API's warm-up thread), and the last few other filters'. (Not the viewer's `LiveMetrics`, whose
    RED numbers follow the local viewer's filter when the API runs inside it.)"""

    def __init__(self, ctx: ApiContext) -> None:
        self.ctx = ctx
        self.every = RedAggregator()
        self._filtered: OrderedDict[str, RedAggregator] = OrderedDict()
        self._lock = threading.Lock()

    def routes(self) -> list[Route]:
        return [Route(PATH, self.red)]

    def catch_up(self, deadline: Any = None) -> int:
        """Count every span stored since the last call; returns how many were read."""
        with self._lock:
            return self.every.catch_up(self.ctx.store.snapshot(), deadline)

    def red(self, req: ApiRequest) -> Reply:
        start, end = viewer_window(self.ctx, req)
        points_text = req.get("points") or "24"
        if not points_text.isdigit() or not 1 <= int(points_text) <= MAX_POINTS:
            raise ApiError(400, f"invalid points: {points_text!r} (a whole number from 1 to {MAX_POINTS})")
        text = (req.get("q") or "{ }").strip() or "{ }"
        self.ctx.check_query_size(text)
        query = self.ctx.compile(text)
        if query.is_pipeline:
            raise ApiError(400, "invalid query: a spanset filter is expected (no pipeline)")
        deadline = self.ctx.deadline()
        keep = key_filter(query.root)
        with self._lock:
            snap = self.ctx.reader().snap
            if keep is not None:
                aggregator = self.every
                aggregator.catch_up(snap, deadline)
            else:
                aggregator = self._aggregator(text, query)
                if aggregator.rebuilt == 0 or not query.per_span:
                    aggregator.rebuild(snap, deadline)
                else:
                    aggregator.catch_up(snap, deadline)
            rows = aggregator.rows(start, end, int(points_text), None if text == "{ }" else keep)
            notes = red_notes(aggregator)
        return json_reply({"rows": [row_json(row) for row in rows], "notes": notes})

    def _aggregator(self, text: str, query: Any) -> RedAggregator:
        found = self._filtered.get(text)
        if found is None:
            found = self._filtered[text] = RedAggregator(query)
            while len(self._filtered) > KEPT_FILTERS:
                self._filtered.popitem(last=False)
        self._filtered.move_to_end(text)
        return found
