"""Property tests: the indexed `SpanStore.search` answers exactly as the naive evaluator."""

from __future__ import annotations

import dataclasses

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kubespan.otlp.attributes import new_attribute_table
from kubespan.query import compile_query
from kubespan.store import SpanStore
from kubespan.store import chunk as chunk_module
from tests.support.spanfactory import S, batch

KEYS = ["k8s.pod", "net.peer.port", "http.status_code", "flag", "tags"]
VALUES = {
    "k8s.pod": st.sampled_from(["default/echo", "kube-system/dns", "default/web"]),
    "net.peer.port": st.sampled_from([54678, "54678", 6443, "6443", "x"]),
    "http.status_code": st.sampled_from([200, 404, 500, 200.0, "500"]),
    "flag": st.booleans(),
    "tags": st.lists(st.sampled_from(["a", "b", "200"]), max_size=3),
}
NAMES = ["syncPod", "PullImage", "GET /api", "Create etcd3"]
SERVICES = ["kubelet", "containerd", "apiserver"]


@st.composite
def span_lists(draw):
    count = draw(st.integers(1, 30))
    spans = []
    for index in range(count):
        trace = draw(st.integers(1, 4))
        same_trace = [s.span for s in spans if s.trace == trace]
        parent = draw(st.sampled_from([0, 999] + same_trace)) if draw(st.booleans()) else 0
        keys = draw(st.lists(st.sampled_from(KEYS), unique=True, max_size=3))
        resource = {"host.name": "node1"} if draw(st.booleans()) else {}
        if draw(st.integers(0, 5)) == 0:
            resource["k8s.pod"] = "default/echo"
        spans.append(S(
            trace=trace, span=index + 1, parent=parent, name=draw(st.sampled_from(NAMES)),
            service=draw(st.sampled_from(SERVICES)), kind=draw(st.integers(0, 5)), status=draw(st.integers(0, 2)),
            start=draw(st.integers(0, 10**6)), duration=draw(st.sampled_from([10, 1000, 2_000_000, 3_000_000_000])),
            attrs={k: draw(VALUES[k]) for k in keys}, resource=resource,
            events=tuple(draw(st.lists(st.sampled_from(["message", "About to write"]), max_size=2))),
        ))
    return spans


SHORT_TERMS = st.sampled_from([
    "service=kubelet", "service!=containerd", "name=syncPod", 'name="GET /api"', "operation=~Pull.*",
    "kind=server", "kind=client", "status=error", "status!=unset", "duration>1ms", "duration<=1us",
    "k8s.pod=default/echo", "k8s.pod!=default/echo", "k8s.pod=~default/.*", "net.peer.port=54678",
    "net.peer.port>6000", "net.peer.port<=6443", "http.status_code=200", "http.status_code>=404",
    "flag=true", "tags=a", "tags=200", "host.name=node1", "resource.k8s.pod=default/echo",
    "span.k8s.pod=default/echo", "event=message", "event=~About.*", "echo", "POD", "ETCD", '"about to"',
    "trace=0000", "span=00000000000000", "parent=\"\"", "parent=0000000000000001",
])
TQL_CONDS = st.sampled_from([
    'name = "syncPod"', 'resource.service.name = "kubelet"', '.net.peer.port = 54678', '.net.peer.port = "54678"',
    'span.http.status_code >= 404', '.http.status_code = 200', '.flag', '.flag = false', '.k8s.pod != "default/echo"',
    'span.k8s.pod = nil', '.k8s.pod != nil', 'resource.host.name = "node1"', 'kind = server', 'status = error',
    'duration > 1ms', 'span:duration < 20us', 'name =~ ".*Pull.*"', 'name !~ "sync.*"', '.tags = "a"',
    '.tags != "b"', 'event:name = "message"', 'event:name != "message"', 'span:id = "000000000000000"',
    'span:parentID = ""', 'true', '.tags =~ "2.*"', 'span.http.status_code > "300"',
])


@st.composite
def shorthand_queries(draw):
    terms = draw(st.lists(SHORT_TERMS, min_size=1, max_size=4))
    text = terms[0]
    for term in terms[1:]:
        text += draw(st.sampled_from([" ", " and ", " or ", " not ", " or not "])) + term
    if draw(st.booleans()):
        text = f"not ({text})"
    return text


@st.composite
def traceql_queries(draw):
    def filter_():
        conds = draw(st.lists(TQL_CONDS, min_size=1, max_size=3))
        text = conds[0]
        for cond in conds[1:]:
            text += draw(st.sampled_from([" && ", " || "])) + cond if draw(st.booleans()) else " && !(" + cond + ")"
        return "{ " + text + " }" if draw(st.integers(0, 9)) else "{ }"

    text = filter_()
    for _ in range(draw(st.integers(0, 2))):
        text += draw(st.sampled_from([" && ", " || ", " > ", " >> ", " < ", " << ", " ~ "])) + filter_()
    return text


def check(spans, text: str, chunks: int, indexed: bool = False) -> None:
    """Store answer == naive answer; `indexed` forces the sorted attribute index on every chunk."""
    saved = chunk_module.INDEXED_CHUNK_SPANS
    chunk_module.INDEXED_CHUNK_SPANS = 1 if indexed else saved
    try:
        _check(spans, text, chunks)
    finally:
        chunk_module.INDEXED_CHUNK_SPANS = saved


def _check(spans, text: str, chunks: int) -> None:
    table = new_attribute_table()
    full = batch(spans, table)
    store = SpanStore(table)
    size = max(1, len(spans) // chunks)
    for start in range(0, len(spans), size):
        store.consume_traces(batch(spans[start:start + size], table))
    query = compile_query(text)
    naive = [i for i, hit in enumerate(query.match_batch(full, table)) if hit]
    assert store.search(query).tolist() == naive, text


SETTINGS = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(span_lists(), shorthand_queries(), st.integers(1, 4), st.booleans())
def test_shorthand_store_matches_naive(spans, text, chunks, indexed):
    check(spans, text, chunks, indexed)


@SETTINGS
@given(span_lists(), traceql_queries(), st.integers(1, 4), st.booleans())
def test_traceql_store_matches_naive(spans, text, chunks, indexed):
    check(spans, text, chunks, indexed)


@settings(max_examples=60, deadline=None)
@given(span_lists(), st.integers(1, 25), SHORT_TERMS, st.booleans())
def test_eviction_keeps_the_newest_spans(spans, max_spans, term, compact):
    """`compact`: the attribute table is compacted whenever half the store was evicted since the last time."""
    table = new_attribute_table()
    store = SpanStore(table, max_spans=max_spans)
    store.writer.compact_attributes_min = 1 if compact else store.writer.compact_attributes_min
    for s in spans:
        store.consume_traces(batch([s], table))
    kept = spans[-max_spans:]
    first = len(spans) - len(kept)
    assert len(store) == len(kept)
    assert store.stats()["evicted_spans"] == first
    query = compile_query(term)
    naive = [first + i for i, hit in enumerate(query.match_batch(batch(kept, table), table)) if hit]
    assert store.search(query).tolist() == naive
    assert store.search().tolist() == list(range(first, len(spans)))
    fresh_table = new_attribute_table()
    fresh = SpanStore(fresh_table)
    fresh.consume_traces(batch(kept, fresh_table))
    assert [row.attributes for row in store.span_rows(range(first, len(spans)))] == [
        row.attributes for row in fresh.span_rows(range(len(kept)))]


@settings(max_examples=60, deadline=None)
@given(span_lists(), st.sampled_from(['{ } > { }', '{ } >> { kind = server }', '{ .flag } << { }', '{ } ~ { }',
                                      '{ status = error } && { }']))
def test_structure_with_reused_span_ids(spans, text):
    """Span ids repeated across traces (and within one) take the exact parent search."""
    spans = [dataclasses.replace(s, span=s.span % 5 + 1, parent=s.parent % 5 + 1 if s.parent else 0) for s in spans]
    check(spans, text, 2)
