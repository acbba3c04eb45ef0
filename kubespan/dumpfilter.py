"""Filter OTLP/JSON-lines dumps with a query: the core of `kubespan filter`.

Span-level queries stream: each dump line (one span, or a Collector file-exporter
batch) is matched on its own. Queries that relate spans (TraceQL `&&`, `>`, `>>`…)
and `--traces` need whole traces, so the input is loaded into a `SpanStore` first and
the matching spans are written in input order.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Iterable, Iterator

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from kubespan.encode.debugtext import render_traces
from kubespan.encode.span_lines import encode_span_lines
from kubespan.model import AttributeTable, TraceBatch
from kubespan.otlp.attributes import new_attribute_table
from kubespan.otlp.decode import decode_request
from kubespan.otlp.jsoncodec import DumpLineError, iter_dump_requests
from kubespan.otlp.select import select_spans
from kubespan.query import Query
from kubespan.query.ast import Filter
from kubespan.query.limits import Deadline

OUTPUT_CHUNK_SPANS = 512
"""Spans per request rebuilt from the store for output."""


@dataclass
class FilterReport:
    read_spans: int = 0
    written_spans: int = 0
    rejected_spans: int = 0
    warnings: list[str] = field(default_factory=list)


def formatter(print_format: str | None) -> Callable[[ExportTraceServiceRequest], str]:
    """JSON lines (one span per line) by default, or the Collector's debug text."""
    if print_format is None:
        return lambda request: "".join(line + "\n" for line in encode_span_lines(request))
    return lambda request: render_traces(request, legacy=print_format == "legacy")


def filter_dumps(query: Query, sources: Iterable[tuple[str, Iterable[bytes]]], write: Callable[[str], None],
                 *, traces: bool = False, print_format: str | None = None,
                 deadline: Deadline | None = None) -> FilterReport:
    """Write the spans of `sources` (name, lines) that match `query`; `traces` keeps whole traces.

    `deadline` stops the query (`QueryStopped`, carrying how far it got); what was written stays.
    """
    report = FilterReport()
    table = new_attribute_table()
    render = formatter(print_format)
    batches = _batches(sources, table, report)
    if isinstance(query.root, Filter) and not traces:
        for batch in batches:
            keep = query.match_batch(batch, table, deadline)
            if any(keep):
                selected = select_spans(batch, keep)
                report.written_spans += selected.span_count
                write(render(selected.request))
        return report
    from kubespan.store import SpanStore

    store = SpanStore(table, max_spans=2**62)
    for batch in batches:
        store.consume_traces(batch)
    if traces:
        found = store.search_traces(query, deadline=deadline)
        ordinals = sorted(o for trace_id in found for o in store.trace_ordinals(trace_id))
    else:
        ordinals = store.search(query, deadline).tolist()
    for request in _requests(store, ordinals):
        report.written_spans += sum(len(s.spans) for r in request.resource_spans for s in r.scope_spans)
        write(render(request))
    return report


def _batches(sources, table: AttributeTable, report: FilterReport) -> Iterator[TraceBatch]:
    for name, lines in sources:
        def warn(error: DumpLineError, name: str = name) -> None:
            report.warnings.append(f"{name}: {error}")

        for request in iter_dump_requests(lines, on_error=warn):
            batch, rejections = decode_request(request.SerializeToString(), table)
            report.read_spans += batch.span_count + rejections.count
            if rejections.count:
                report.rejected_spans += rejections.count
                report.warnings.append(f"{name}: {rejections.message}")
            if batch.span_count:
                yield batch


def _requests(store, ordinals: list[int]) -> Iterator[ExportTraceServiceRequest]:
    """Requests rebuilt from stored spans, in order, consecutive spans sharing resource and scope."""
    for first in range(0, len(ordinals), OUTPUT_CHUNK_SPANS):
        request = ExportTraceServiceRequest()
        last_resource = last_scope = None
        scope_spans = None
        for ordinal in ordinals[first:first + OUTPUT_CHUNK_SPANS]:
            detail = store.span_detail(ordinal)
            resource_key = (detail.resource.SerializeToString(), detail.resource_schema_url)
            scope_key = (detail.scope.SerializeToString(), detail.scope_schema_url)
            if resource_key != last_resource:
                resource_spans = request.resource_spans.add(schema_url=detail.resource_schema_url)
                resource_spans.resource.CopyFrom(detail.resource)
                last_resource, last_scope = resource_key, None
            if scope_key != last_scope:
                scope_spans = resource_spans.scope_spans.add(schema_url=detail.scope_schema_url)
                scope_spans.scope.CopyFrom(detail.scope)
                last_scope = scope_key
            scope_spans.spans.add().CopyFrom(detail.span)
        yield request
