"""The service graph: who calls whom, how often, how often it fails, how long it takes.

Edges are paired as Tempo's service-graph processor pairs them (modules/generator/processor/
servicegraphs): a CLIENT (or PRODUCER) span and the SERVER (or CONSUMER) span whose parent it is
make one call from the client's service to the server's (`messaging_system` for producer and
consumer); a client span with `db.namespace`, `db.name`, `db.system` or `db.system.name` is a call
to a database node named by `peer.service`, `server.address`, `network.peer.address[:port]` or the
database name (`database`). A half that finds no partner within `wait` becomes a `virtual_node`
edge: a client with `peer.service` (or `db.name`/`db.system`) calls that peer. A root server span
is called by `user` (or its `peer.service`) at once: no client can answer it. Other halves expire
uncounted.

Kubernetes adds one kind of its own: up to 1.32 the apiserver starts a new trace for every request
and *links* it to the caller's span, so the kubelet's `HTTP PUT` client span and the apiserver's
`KubernetesAPI` root are in two traces. A root server span with a link to a stored span makes a
`link` edge from the linked span's service; it is not also counted as called by `user`.

`ServiceGraph.catch_up(snapshot)` reads only the spans stored since its last call; calls are kept
per 5 s slot (`SlotTable`), so any window of the last hour is read without rescanning.
"""

from __future__ import annotations

import dataclasses
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import numpy as np
import numpy.typing as npt

from kubespan.metrics.columns import FieldColumns
from kubespan.metrics.graph_links import span_links
from kubespan.metrics.slots import SlotTable
from kubespan.query.ast import KINDS, Field
from kubespan.store.traces import ERROR

CLIENT, SERVER = (KINDS["client"], KINDS["producer"]), (KINDS["server"], KINDS["consumer"])
MESSAGING = (KINDS["producer"], KINDS["consumer"])
PEER_KEYS = ("peer.service", "db.name", "db.system", "db.system.name")
DATABASE_KEYS = ("db.namespace", "db.name", "db.system", "db.system.name")
WAIT_S = 10.0
"""How long a half waits for its partner (Tempo's default `wait`)."""
MAX_PENDING = 100_000
"""Halves waiting at most; the oldest expire early beyond it (counted)."""


class Edge(NamedTuple):
    client: str
    server: str
    connection: str  # "" | "messaging_system" | "database" | "virtual_node" | "link"


@dataclass
class _Half:
    service: str
    start: int
    duration: int
    failed: bool
    kind: int
    peer: str
    seen: float  # monotonic time it arrived


@dataclass
class ServiceGraph:
    """Edges counted incrementally from the store; `edges(start, end)` reads a window."""

    wait_s: float = WAIT_S
    table: SlotTable = field(default_factory=SlotTable)
    next_ordinal: int = 0
    # waiting halves in arrival order (OrderedDict: taking the oldest is O(1), unlike a dict's first key)
    clients: OrderedDict[tuple[bytes, int], _Half] = field(default_factory=OrderedDict)  # by (trace, own span id)
    servers: OrderedDict[tuple[bytes, int], _Half] = field(default_factory=OrderedDict)  # by (trace, parent id)
    links: OrderedDict[tuple[bytes, int], list[_Half]] = field(default_factory=OrderedDict)  # by the linked span
    expired: int = 0
    missed: int = 0
    _queue: list[tuple[Edge, int, bool, int]] = field(default_factory=list)

    def catch_up(self, snap: Any, now: float | None = None) -> int:
        """Expire halves older than `wait_s`, then pair the spans stored since the last call."""
        now = time.monotonic() if now is None else now
        self.expire(now - self.wait_s)  # halves that waited too long expire before newer spans are seen
        lo = max(self.next_ordinal, snap.floor)
        self.missed += max(0, snap.floor - self.next_ordinal)
        read = max(0, snap.stop - lo)
        if read:
            self._pair(dataclasses.replace(snap, floor=lo), now)
        self.next_ordinal = max(self.next_ordinal, snap.stop)
        self._flush()
        return read

    def finish(self) -> None:
        """Expire every waiting half now (a batch over a whole store, e.g. /api/dependencies)."""
        self.expire(float("inf"))

    def edges(self, start_ns: int, end_ns: int) -> list[EdgeStats]:
        """Calls per edge whose (client, else server) span started in [start_ns, end_ns), busiest first."""
        totals = self.table.totals(start_ns, end_ns)
        seconds = max(end_ns - start_ns, 1) / 1e9
        p90 = totals.quantile(0.9)
        out = []
        for i, key in enumerate(totals.keys.tolist()):
            calls, failed = int(totals.counts[i]), int(totals.errors[i])
            out.append(EdgeStats(self.table.key_list[key], calls, calls / seconds,
                                 100.0 * failed / calls if calls else 0.0, float(p90[i])))
        return sorted(out, key=lambda e: (-e.calls, e.edge))

    # ------------------------------------------------------------------ pairing
    def _pair(self, snap: Any, now: float) -> None:
        kind = snap.column("kind").astype(np.int64)
        edge_rows = np.flatnonzero(np.isin(kind, CLIENT + SERVER))
        columns = FieldColumns(snap, np.arange(len(kind), dtype=np.int64))
        services = np.asarray(snap.resource_service)[columns.resources()]
        start, end = snap.column("start"), snap.column("end")
        failed = snap.column("status") == ERROR
        trace, span_id, parent_id = snap.column("trace"), snap.column("span_id"), snap.column("parent_id")
        peer = _first_text(columns, PEER_KEYS, span_only=True)
        database = _database_server(columns)
        from kubespan.store.engine import parent_positions

        parent = parent_positions(trace.astype(np.int64), span_id, parent_id)
        is_client = np.isin(kind, CLIENT)
        is_server = np.isin(kind, SERVER)
        is_db = is_client & (database != "")
        paired = is_server & (parent >= 0) & is_client[np.maximum(parent, 0)] & ~is_db[np.maximum(parent, 0)]
        server_rows = np.flatnonzero(paired)
        _, first = np.unique(parent[server_rows], return_index=True)  # a client pairs once, as in Tempo
        server_rows = server_rows[first]
        client_rows = parent[server_rows]
        names = snap.services
        messaging = np.isin(kind[client_rows], MESSAGING).astype(np.int64)
        self._count_codes(services[client_rows], services[server_rows], messaging, names,
                          start[client_rows], failed[client_rows] | failed[server_rows],
                          end[server_rows] - start[server_rows])
        db_rows = np.flatnonzero(is_db)
        self._count([Edge(names[services[c]], database[c], "database") for c in db_rows.tolist()],
                    start[db_rows], failed[db_rows], end[db_rows] - start[db_rows])
        linked = span_links(snap)
        has_link = np.zeros(len(kind), bool)
        has_link[list(linked)] = True
        roots = np.flatnonzero(is_server & (parent_id == 0) & ~has_link)  # nothing can answer them: called by
        self._count([Edge(peer[r] or "user", names[services[r]], "virtual_node") for r in roots.tolist()],  # "user"
                    start[roots], failed[roots], end[roots] - start[roots])
        done = np.zeros(len(kind), bool)
        done[server_rows] = done[client_rows] = done[db_rows] = done[roots] = True
        # a second server child of one client (its edge was taken), or a server whose parent is here
        # and is no client: no client will ever answer them
        stranded = is_server & ~done & (parent >= 0)
        self.expired += int(stranded.sum())
        done |= stranded
        trace_ids = snap.trace_ids
        for row in edge_rows[~done[edge_rows]].tolist():
            tid = trace_ids[int(trace[row])] or b""
            half = _Half(names[services[row]], int(start[row]), int(end[row] - start[row]), bool(failed[row]),
                         int(kind[row]), str(peer[row]), now)
            if is_client[row]:
                self._client_half((tid, int(span_id[row])), half)
            elif int(parent_id[row]) != 0:
                self._server_half((tid, int(parent_id[row])), half)
            for target in linked.get(row, ()):
                self._link(target, half)

    def _client_half(self, key: tuple[bytes, int], half: _Half) -> None:
        waiting = self.links.pop(key, None)
        if waiting:
            for root in waiting:
                self._count_one(Edge(half.service, root.service, "link"), root, half)
        server = self.servers.pop(key, None)
        if server is not None:
            connection = "messaging_system" if half.kind in MESSAGING else ""
            self._count_one(Edge(half.service, server.service, connection), server, half)
        elif not waiting:
            self.clients[key] = half
            self._bound(self.clients)

    def _server_half(self, key: tuple[bytes, int], half: _Half) -> None:
        client = self.clients.pop(key, None) if key[1] else None
        if client is not None:
            connection = "messaging_system" if client.kind in MESSAGING else ""
            self._count_one(Edge(client.service, half.service, connection), half, client)
        else:
            self.servers[key] = half
            self._bound(self.servers)

    def _link(self, target: tuple[bytes, int], server: _Half) -> None:
        client = self.clients.pop(target, None)
        if client is not None:
            self._count_one(Edge(client.service, server.service, "link"), server, client)
        else:
            self.links.setdefault(target, []).append(server)
            self._bound(self.links)

    # ------------------------------------------------------------------ expiry
    def expire(self, before: float) -> None:
        """Turn halves that arrived before `before` into virtual-node edges (or drop them)."""
        self._expire(before)
        self._flush()

    def _expire(self, before: float) -> None:
        """Halves are kept in arrival order, so the expired ones are at the front."""
        while self.servers and next(iter(self.servers.values())).seen < before:
            self.servers.popitem(last=False)
            self.expired += 1
        while self.clients and next(iter(self.clients.values())).seen < before:
            _, half = self.clients.popitem(last=False)
            if half.peer:
                self._count_one(Edge(half.service, half.peer, "virtual_node"), None, half)
            else:
                self.expired += 1
        while self.links and next(iter(self.links.values()))[0].seen < before:
            for half in self.links.popitem(last=False)[1]:  # the linked span never came: an ordinary root
                self._count_one(Edge(half.peer or "user", half.service, "virtual_node"), half, None)

    def _bound(self, pending: OrderedDict[Any, Any]) -> None:
        while len(pending) > MAX_PENDING:
            pending.popitem(last=False)
            self.expired += 1

    # ------------------------------------------------------------------ counting
    def _count_one(self, edge: Edge, server: _Half | None, client: _Half | None) -> None:
        """Queue one call made of halves; `_flush` counts the queue in one go."""
        first = client or server
        timed = server or client
        assert first is not None and timed is not None
        failed = (client is not None and client.failed) or (server is not None and server.failed)
        self._queue.append((edge, first.start, failed, timed.duration))

    def _flush(self) -> None:
        if self._queue:
            edges, starts, failed, durations = zip(*self._queue, strict=False)
            self._queue.clear()
            self._count(list(edges), np.array(starts, np.int64), np.array(failed, bool), np.array(durations, np.int64))

    def _count_codes(self, clients: npt.NDArray[np.int64], servers: npt.NDArray[np.int64],
                     messaging: npt.NDArray[np.int64], names: Any, start: npt.NDArray[np.int64],
                     failed: npt.NDArray[np.bool_], duration: npt.NDArray[np.int64]) -> None:
        """Count paired calls given as service ids: one Edge per distinct (client, server, kind)."""
        if not len(clients):
            return
        combo = (clients.astype(np.int64) << 33) | (servers.astype(np.int64) << 1) | messaging
        distinct, where = np.unique(combo, return_inverse=True)
        edges = [Edge(names[c >> 33], names[(c >> 1) & 0xFFFFFFFF], "messaging_system" if c & 1 else "")
                 for c in distinct.tolist()]
        self.table.add(self.table.key_ids(edges)[where.reshape(-1)], start.astype(np.int64), failed.astype(bool),
                       duration.astype(np.int64))

    def _count(self, edges: list[Edge], start: npt.NDArray[np.int64], failed: npt.NDArray[np.bool_],
               duration: npt.NDArray[np.int64]) -> None:
        if edges:
            self.table.add(self.table.key_ids(edges), start.astype(np.int64), failed.astype(bool),
                           duration.astype(np.int64))


@dataclass(frozen=True, slots=True)
class EdgeStats:
    edge: Edge
    calls: int
    rate: float  # calls per second
    error_pct: float
    p90: float  # seconds: the server span's duration, or the client's without one


def _first_text(columns: FieldColumns, keys: tuple[str, ...], span_only: bool) -> npt.NDArray[np.str_]:
    """Per span, the text of the first of `keys` it has ("" for none)."""
    out = np.full(len(columns.rows), "", dtype=object)
    for key in reversed(keys):
        codes, labels = columns.groups(Field("attr", "span" if span_only else "any", key))
        if labels:
            texts = np.array([str(value) for _, value in labels] + [""], dtype=object)
            out = np.where(codes >= 0, texts[codes], out)
    return out


def _database_server(columns: FieldColumns) -> npt.NDArray[np.str_]:
    """For database client spans, the server node Tempo names; "" for other spans."""
    name = _first_text(columns, DATABASE_KEYS, span_only=False)
    host = _first_text(columns, ("network.peer.address",), span_only=False)
    port = _first_text(columns, ("network.peer.port",), span_only=False)
    peer_host = np.where((host != "") & (port != ""), host + ":" + port, host)
    chosen = _first_text(columns, ("peer.service", "server.address"), span_only=False)
    chosen = np.where(chosen != "", chosen, np.where(peer_host != "", peer_host, name))
    return np.where(name != "", chosen, "")


def edge_query(edge: Edge) -> str:
    """A TraceQL filter for the spans behind an edge (Enter in the Graph view)."""
    from kubespan.metrics.red import traceql_string

    client = f"resource.service.name = {traceql_string(edge.client)}"
    server = f"resource.service.name = {traceql_string(edge.server)}"
    if edge.connection in ("", "messaging_system"):
        kinds = ("producer", "consumer") if edge.connection else ("client", "server")
        return f"{{ {client} && kind = {kinds[0]} }} > {{ {server} && kind = {kinds[1]} }}"
    if edge.connection == "database":
        marks = " || ".join(f"span.{key} != nil" for key in DATABASE_KEYS)
        return f"{{ {client} && kind = client && ({marks}) }}"
    if edge.connection == "virtual_node" and edge.client == "user":
        return f"{{ {server} && kind = server }}"
    if edge.connection == "virtual_node":
        peer = traceql_string(edge.server)
        marks = " || ".join(f"span.{key} = {peer}" for key in PEER_KEYS)
        return f"{{ {client} && (kind = client || kind = producer) && ({marks}) }}"
    return f"{{ {server} && kind = server }}"  # link: the apiserver roots that name their caller in a link
