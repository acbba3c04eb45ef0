"""Jaeger's dependency counting (kubespan.api.jaeger_deps) on spans made for it: the parent is looked up
in the child's own trace even when its span id is used in another trace too, self-calls count, a child
whose parent is missing counts nothing, and only traces wholly inside the window count."""

from __future__ import annotations

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from kubespan.api.jaeger_deps import dependency_links
from kubespan.otlp.attributes import new_attribute_table
from kubespan.otlp.decode import decode_request
from kubespan.store import SpanStore

SECOND = 1_000_000_000


def _store(spans: list[tuple[str, int, int, int, int]]) -> SpanStore:
    """spans: (service, trace, span id, parent id, start second); each lasts half a second."""
    req = ExportTraceServiceRequest()
    for service, trace, span_id, parent, start in spans:
        rs = req.resource_spans.add()
        rs.resource.attributes.add(key="service.name").value.string_value = service
        span = rs.scope_spans.add().spans.add()
        span.trace_id, span.span_id = trace.to_bytes(16, "big"), span_id.to_bytes(8, "big")
        if parent:
            span.parent_span_id = parent.to_bytes(8, "big")
        span.name, span.start_time_unix_nano = "op", start * SECOND
        span.end_time_unix_nano = start * SECOND + SECOND // 2
    table = new_attribute_table()
    store = SpanStore(table, max_spans=1000)
    store.consume_traces(decode_request(req.SerializeToString(), table)[0])
    return store


def test_parents_are_found_in_the_childs_own_trace():
    store = _store([("a", 1, 7, 0, 10), ("b", 1, 8, 7, 10), ("b", 1, 9, 8, 10),   # a→b, b→b
                    ("c", 2, 7, 0, 11), ("d", 2, 5, 7, 11),                       # span id 7 again: c→d
                    ("e", 3, 6, 99, 12)])                                        # parent never stored
    links = dependency_links(store.reader().snap, 0, 100 * SECOND)
    assert links == [{"parent": "a", "child": "b", "callCount": 1}, {"parent": "b", "child": "b", "callCount": 1},
                     {"parent": "c", "child": "d", "callCount": 1}]


def test_only_traces_inside_the_window_count():
    store = _store([("a", 1, 1, 0, 10), ("b", 1, 2, 1, 20), ("a", 2, 3, 0, 30), ("b", 2, 4, 3, 30)])
    snap = store.reader().snap
    assert dependency_links(snap, 10 * SECOND - 1, 31 * SECOND) == [{"parent": "a", "child": "b", "callCount": 2}]
    # trace 1 starts exactly on the window's start (Jaeger wants after) and trace 2 ends after its end
    assert dependency_links(snap, 10 * SECOND, 30 * SECOND) == []
    assert dependency_links(snap, 15 * SECOND, 31 * SECOND) == [{"parent": "a", "child": "b", "callCount": 1}]
