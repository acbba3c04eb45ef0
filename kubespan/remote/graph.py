"""The Graph view's edges over a remote: a kubespan's own endpoint, or what a Tempo's TraceQL can answer.

- **kubespan** (buildinfo `features` has `service-graph`): `GET /api/kubespan/graph?start=&end=` gives
  the edges its local Graph view shows, every kind included (calls, messaging, databases, virtual
  nodes, Kubernetes' links).
- **Tempo** has no service-graph API (its service graphs come from the metrics-generator into
  Prometheus, which attach does not read), and TraceQL metrics group by the spans a query returns,
  not by pairs (`by (parent.resource.service.name)` is accepted but dropped from the labels;
  `parent.kind` in a filter is "parent not yet supported"). What it can answer honestly is the
  structural operators `<` (the callers: client spans that are parents of server spans) and `>`
  (direct child), one caller service at a time:

      { resource.service.name = "C" && (kind = client || kind = producer) }
        > { kind = server || kind = consumer } | count_over_time() by (resource.service.name, kind, status)

  gives the calls from C to each server service and the server side's failures; the same pair with
  `status = error` on the client and `status != error` on the server adds the calls only the client
  failed; `quantile_over_time(duration, .9)` of the server spans gives the p90 (the local graph's p90
  is the server span's duration too). Roots (`nestedSetParent = -1`) of kind server are called by
  `user`, as Tempo's service-graph processor counts them. Left out, and said so in the view:
  database and `peer.service` virtual nodes and Kubernetes' links (a linked apiserver root is a
  `user` call here, as in Tempo's own graph). One query for the callers plus 3 per caller service
  (at most `MAX_CALLERS`) and 2 for the roots.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from kubespan.metrics.graph import Edge, EdgeStats
from kubespan.metrics.red import traceql_string
from kubespan.remote.client import RemoteClient
from kubespan.remote.series import SeriesAnswer, bad, metrics_query, number

PATH = "/api/kubespan/graph"
MAX_CALLERS = 40
"""Caller services asked about at most (3 queries each); the rest are left out and said so."""
TEMPO_NOTE = "from Tempo's TraceQL: client→server, producer→consumer and user→root calls only (no databases, " \
             "peers or links)"
SERVICE, KIND, STATUS = "resource.service.name", "kind", "status"
CALLER = "(kind = client || kind = producer)"
CALLEE = "(kind = server || kind = consumer)"


def kubespan_edges(client: RemoteClient, start_ns: int, end_ns: int) -> tuple[list[EdgeStats], list[str]]:
    """Edges from a kubespan's `/api/kubespan/graph`; raises `RemoteError` when it fails."""
    answer = client.get_json(PATH, {"start": str(start_ns), "end": str(end_ns)})
    if not isinstance(answer, dict) or not isinstance(answer.get("edges"), list):
        raise bad("the graph answer", "has no edges list")
    edges = []
    for i, raw in enumerate(answer["edges"]):
        where = f"edges[{i}]"
        if not isinstance(raw, dict) or not all(isinstance(raw.get(k), str) for k in ("client", "server",
                                                                                    "connection")):
            raise bad(where, "is not an edge")
        edges.append(EdgeStats(Edge(raw["client"], raw["server"], raw["connection"]),
                               int(number(raw.get("calls", 0), f"{where}.calls")),
                               number(raw.get("rate", 0), f"{where}.rate"),
                               number(raw.get("errorPct", 0), f"{where}.errorPct"),
                               number(raw.get("p90", 0), f"{where}.p90")))
    notes = answer.get("notes")
    return edges, [str(n)[:200] for n in notes] if isinstance(notes, list) else []


def tempo_edges(client: RemoteClient, start_ns: int, end_ns: int) -> tuple[list[EdgeStats], list[str]]:
    """Edges from TraceQL metrics queries (module docstring); raises `RemoteError` when one fails."""

    def ask(query: str) -> SeriesAnswer:
        answer = metrics_query(client, query, start_ns, end_ns)
        if answer.partial:
            notes.append(f"partial answer: {answer.partial}")
        return answer

    notes: list[str] = [TEMPO_NOTE]
    busy: dict[str, float] = defaultdict(float)  # `{A} < {B}`: the B spans that are parents of A spans
    for found in ask(f"{{ {CALLEE} }} < {{ {CALLER} }} | count_over_time() by ({SERVICE})").series:
        busy[found.labels.get(SERVICE, "")] += found.total
    names = sorted((name for name, count in busy.items() if count > 0), key=lambda name: (-busy[name], name))
    if len(names) > MAX_CALLERS:
        notes.append(f"{len(names) - MAX_CALLERS} calling services past the first {MAX_CALLERS} left out")
    calls: dict[Edge, float] = defaultdict(float)
    failed: dict[Edge, float] = defaultdict(float)
    p90: dict[Edge, float] = {}
    for caller in names[:MAX_CALLERS]:
        me = f"resource.service.name = {traceql_string(caller)} && {CALLER}"
        for found in ask(f"{{ {me} }} > {{ {CALLEE} }} | count_over_time() by ({SERVICE}, {KIND}, {STATUS})").series:
            edge = _edge(caller, found.labels)
            calls[edge] += found.total
            if found.labels.get(STATUS) == "error":
                failed[edge] += found.total
        for found in ask(f"{{ {me} && status = error }} > {{ {CALLEE} && status != error }} "
                         f"| count_over_time() by ({SERVICE}, {KIND})").series:
            failed[_edge(caller, found.labels)] += found.total
        for found in ask(f"{{ {me} }} > {{ {CALLEE} }} | quantile_over_time(duration, .9) by ({SERVICE}, {KIND})"
                         ).series:
            p90[_edge(caller, found.labels)] = found.total
    roots = "{ kind = server && nestedSetParent = -1 }"
    for found in ask(f"{roots} | count_over_time() by ({SERVICE}, {STATUS})").series:
        edge = Edge("user", found.labels.get(SERVICE, ""), "virtual_node")
        calls[edge] += found.total
        if found.labels.get(STATUS) == "error":
            failed[edge] += found.total
    for found in ask(f"{roots} | quantile_over_time(duration, .9) by ({SERVICE})").series:
        p90[Edge("user", found.labels.get(SERVICE, ""), "virtual_node")] = found.total
    seconds = max(end_ns - start_ns, 1) / 1e9
    edges = [EdgeStats(edge, int(round(count)), count / seconds, 100.0 * failed[edge] / count, p90.get(edge, 0.0))
             for edge, count in calls.items() if count > 0]
    edges.sort(key=lambda e: (-e.calls, e.edge))
    return edges, list(dict.fromkeys(notes))


def _edge(caller: str, labels: Any) -> Edge:
    messaging = labels.get(KIND) in ("consumer", "producer")
    return Edge(caller, labels.get(SERVICE, ""), "messaging_system" if messaging else "")
