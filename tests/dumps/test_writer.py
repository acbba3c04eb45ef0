"""Writing dumps: requests rebuilt from stored spans, in input order or regrouped, and saved traces."""

from __future__ import annotations

from kubespan.dumps import DumpReader, save_trace, stored_requests, trace_request
from kubespan.pipeline import Pipeline
from kubespan.store import SpanStore
from tests.support.spanfactory import S, request, trace_id

SPANS = [
    S(1, 1, name="a1", service="a", start=0),
    S(1, 2, parent=1, name="b1", service="b", start=10),
    S(1, 3, parent=1, name="a2", service="a", start=20),
]


def store_of(spans: list[S]) -> SpanStore:
    pipeline = Pipeline()
    store = SpanStore(pipeline.table)
    pipeline.add_consumer(store)
    pipeline.export_traces(request(spans).SerializeToString())
    return store


def layout(req) -> list[tuple[str, list[str]]]:
    return [(rs.resource.attributes[0].value.string_value, [s.name for ss in rs.scope_spans for s in ss.spans])
            for rs in req.resource_spans]


def test_stored_requests_keep_the_order_and_share_only_consecutive_groups() -> None:
    store = store_of(SPANS)
    ordinals = store.trace_ordinals(trace_id(1))
    (req,) = stored_requests(store, ordinals, chunk=10)
    assert layout(req) == [("a", ["a1"]), ("b", ["b1"]), ("a", ["a2"])]
    assert [layout(r) for r in stored_requests(store, ordinals, chunk=2)] == [
        [("a", ["a1"]), ("b", ["b1"])], [("a", ["a2"])]]


def test_trace_request_regroups_by_resource() -> None:
    req, count = trace_request(store_of(SPANS), trace_id(1))
    assert count == 3 and layout(req) == [("a", ["a1", "a2"]), ("b", ["b1"])]


def test_saved_trace_reads_back(tmp_path) -> None:
    store = store_of(SPANS)
    path, count = save_trace(store, trace_id(1), tmp_path)
    again, _ = save_trace(store, trace_id(1), tmp_path)
    assert path.name == f"kubespan-trace-{trace_id(1).hex()}.jsonl" and again.name.endswith("-2.jsonl")
    with path.open("rb") as stream:
        reader = DumpReader(str(path), stream)
        names = sorted(s.name for r in reader.requests() for rs in r.resource_spans for ss in rs.scope_spans
                       for s in ss.spans)
    assert names == ["a1", "a2", "b1"] and (reader.report.records, reader.report.bad) == (3, 0) and count == 3
