"""Service-graph edges as Tempo's service-graph processor pairs spans, plus Kubernetes' links."""

from __future__ import annotations

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
)

from kubespan.metrics.graph import Edge, ServiceGraph
from kubespan.otlp.attributes import new_attribute_table
from kubespan.otlp.decode import decode_request
from kubespan.store import SpanStore
from tests.support.spanfactory import T0, S, batch, request, span_id, trace_id

CLIENT, SERVER, PRODUCER, CONSUMER, INTERNAL = 3, 2, 4, 5, 1
MS = 1_000_000
WINDOW = (T0 - 60 * 1_000_000_000, T0 + 600 * 1_000_000_000)


def graph_of(*batches: list[S], links: dict[int, tuple[int, int]] | None = None, wait_between: bool = False):
    """A store fed `batches` one after another, and a graph caught up after each (then finished)."""
    table = new_attribute_table()
    store = SpanStore(table)
    graph = ServiceGraph()
    clock = 0.0
    for spans in batches:
        if links:
            req = request(spans)
            _add_links(req, links)
            decoded, _ = decode_request(req.SerializeToString(), table)
            store.consume_traces(decoded)
        else:
            store.consume_traces(batch(spans, table))
        graph.catch_up(store.snapshot(), now=clock)
        clock += 20.0 if wait_between else 1.0
    return graph


def _add_links(req: ExportTraceServiceRequest, links: dict[int, tuple[int, int]]) -> None:
    for rs in req.resource_spans:
        for ss in rs.scope_spans:
            for span in ss.spans:
                target = links.get(int.from_bytes(span.span_id, "big"))
                if target is not None:
                    span.links.add(trace_id=trace_id(target[0]), span_id=span_id(target[1]))


def calls(graph: ServiceGraph, finish: bool = True) -> dict[Edge, tuple[int, float]]:
    if finish:
        graph.finish()
    return {e.edge: (e.calls, e.error_pct) for e in graph.edges(*WINDOW)}


def test_a_client_span_and_its_server_child_make_one_call():
    graph = graph_of([
        S(1, 1, name="syncPod", service="kubelet", kind=INTERNAL),
        S(1, 2, parent=1, name="PullImage", service="kubelet", kind=CLIENT, duration=50 * MS),
        S(1, 3, parent=2, name="PullImage", service="containerd", kind=SERVER, status=2, duration=40 * MS),
    ])
    assert calls(graph) == {Edge("kubelet", "containerd", ""): (1, 100.0)}
    (edge,) = graph.edges(*WINDOW)
    assert 0.032 < edge.p90 <= 0.068  # the server's 40 ms, in Tempo's power-of-two buckets


def test_producer_and_consumer_are_a_messaging_system_edge():
    graph = graph_of([S(1, 1, service="shop", kind=PRODUCER), S(1, 2, parent=1, service="mailer", kind=CONSUMER)])
    assert calls(graph) == {Edge("shop", "mailer", "messaging_system"): (1, 0.0)}


def test_database_calls_name_the_database_node_as_tempo_does():
    graph = graph_of([
        S(1, 1, service="api", kind=CLIENT, attrs={"db.system": "postgresql", "db.name": "orders"}),
        S(2, 2, service="api", kind=CLIENT, attrs={"db.system": "redis", "peer.service": "cache"}),
        S(3, 3, service="api", kind=CLIENT, attrs={"db.system": "mysql", "server.address": "db-1"}),
        S(4, 4, service="api", kind=CLIENT,
          attrs={"db.system": "mysql", "network.peer.address": "10.0.0.7", "network.peer.port": 3306}),
        S(5, 5, service="api", kind=CLIENT, attrs={"db.system.name": "sqlite"}),
    ])
    assert calls(graph) == {Edge("api", "orders", "database"): (1, 0.0), Edge("api", "cache", "database"): (1, 0.0),
                            Edge("api", "db-1", "database"): (1, 0.0),
                            Edge("api", "10.0.0.7:3306", "database"): (1, 0.0),
                            Edge("api", "sqlite", "database"): (1, 0.0)}


def test_unanswered_halves_become_virtual_nodes_or_expire():
    graph = graph_of([
        S(1, 1, service="kubelet", kind=CLIENT, attrs={"peer.service": "registry"}),  # no server: peer
        S(2, 2, service="apiserver", kind=SERVER),  # root server: called by "user"
        S(3, 3, parent=99, service="etcd", kind=SERVER),  # its client never came: dropped
        S(4, 4, service="kubelet", kind=CLIENT),  # no server, no peer: dropped
    ])
    # a root server span can have no client: it counts at once; a client waits for its server
    assert calls(graph, finish=False) == {Edge("user", "apiserver", "virtual_node"): (1, 0.0)}
    assert calls(graph) == {Edge("kubelet", "registry", "virtual_node"): (1, 0.0),
                            Edge("user", "apiserver", "virtual_node"): (1, 0.0)}
    assert graph.expired == 2


def test_halves_pair_across_batches_and_expire_by_wait():
    graph = graph_of([S(1, 1, service="kubelet", kind=CLIENT)], [S(1, 2, parent=1, service="containerd", kind=SERVER)])
    assert calls(graph, finish=False) == {Edge("kubelet", "containerd", ""): (1, 0.0)}
    late = graph_of([S(1, 1, service="kubelet", kind=CLIENT)], [S(1, 2, parent=1, service="containerd", kind=SERVER)],
                    wait_between=True)
    assert calls(late) == {}  # the client expired before its server arrived
    assert late.expired == 2


def test_a_client_pairs_with_its_first_server_child_only():
    graph = graph_of([S(1, 1, service="a", kind=CLIENT), S(1, 2, parent=1, service="b", kind=SERVER),
                      S(1, 3, parent=1, service="b", kind=SERVER)])
    assert calls(graph) == {Edge("a", "b", ""): (1, 0.0)}


def test_apiserver_roots_linked_to_the_callers_span_are_link_edges():
    kubelet_put = S(1, 2, parent=1, name="HTTP PUT", service="kubelet", kind=CLIENT)
    apiserver_root = S(7, 20, name="KubernetesAPI", service="apiserver", kind=SERVER, status=2)
    links = {20: (1, 2)}
    for order in ([kubelet_put], [apiserver_root]), ([apiserver_root], [kubelet_put]), ([kubelet_put, apiserver_root],):
        graph = graph_of(*order, links=links)
        assert calls(graph) == {Edge("kubelet", "apiserver", "link"): (1, 100.0)}, order


def test_a_link_to_a_span_never_stored_is_an_ordinary_root():
    graph = graph_of([S(7, 20, service="apiserver", kind=SERVER)], links={20: (1, 2)})
    assert calls(graph) == {Edge("user", "apiserver", "virtual_node"): (1, 0.0)}


def test_windows_count_calls_by_the_client_start():
    graph = graph_of([S(1, 1, service="a", kind=CLIENT, start=0), S(1, 2, parent=1, service="b", kind=SERVER, start=1),
                      S(2, 3, service="a", kind=CLIENT, start=30 * 10**9),
                      S(2, 4, parent=3, service="b", kind=SERVER, start=30 * 10**9)])
    graph.finish()
    first = graph.edges(T0, T0 + 10 * 10**9)
    assert [(e.edge, e.calls, e.rate) for e in first] == [(Edge("a", "b", ""), 1, 0.1)]
    assert graph.edges(T0, T0 + 60 * 10**9)[0].calls == 2


def test_the_k8s_fixture_graph(golden_store):
    graph = ServiceGraph()
    snap = golden_store.snapshot()
    graph.catch_up(snap)
    graph.finish()
    starts = snap.column("start")
    found = {e.edge: (e.calls, e.error_pct) for e in graph.edges(int(starts.min()), int(starts.max()) + 1)}
    assert found[Edge("kubelet", "containerd", "")][0] == 355
    assert found[Edge("apiserver", "etcd", "")][0] == 251
    assert found[Edge("kubelet", "apiserver", "link")][0] == 25  # every link of the fixture
    assert Edge("user", "apiserver", "virtual_node") in found
