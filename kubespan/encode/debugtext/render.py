"""The debug exporter's text for one export request: the per-span layout of the current
(v0.159) and legacy (v0.54) formats, the summary line, and ``render_traces``, exactly
what ``kubespan serve --print`` writes for one batch."""

from __future__ import annotations

from collections.abc import Callable

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
)
from opentelemetry.proto.resource.v1.resource_pb2 import Resource
from opentelemetry.proto.trace.v1.trace_pb2 import Span

from kubespan.encode.debugtext.blocks import (
    Append,
    write_attributes,
    write_entity_refs,
    write_events_links,
)
from kubespan.encode.debugtext.scalars import format_id, format_timestamp
from kubespan.encode.inert import escape_keeping_lines as inert

_HAS_ENTITY_REFS = "entity_refs" in Resource.DESCRIPTOR.fields_by_name

_KIND = {0: "Unspecified", 1: "Internal", 2: "Server", 3: "Client", 4: "Producer", 5: "Consumer"}
_STATUS = {0: "Unset", 1: "Ok", 2: "Error"}
_LEGACY_KIND = {
    0: "SPAN_KIND_UNSPECIFIED", 1: "SPAN_KIND_INTERNAL", 2: "SPAN_KIND_SERVER",
    3: "SPAN_KIND_CLIENT", 4: "SPAN_KIND_PRODUCER", 5: "SPAN_KIND_CONSUMER",
}
_LEGACY_STATUS = {0: "STATUS_CODE_UNSET", 1: "STATUS_CODE_OK", 2: "STATUS_CODE_ERROR"}


def _span_names(k: int, sp: Span) -> str:
    """The lines that open a span in both formats."""
    return (f"Span #{k}\n"
            f"    Trace ID       : {format_id(sp.trace_id)}\n"
            f"    Parent ID      : {format_id(sp.parent_span_id)}\n"
            f"    ID             : {format_id(sp.span_id)}\n"
            f"    Name           : {inert(sp.name)}\n")


def _span_head(k: int, sp: Span) -> str:
    st, ts = sp.status, sp.trace_state
    return (_span_names(k, sp)
            + f"    Kind           : {_KIND.get(sp.kind, '')}\n"
            + (f"    TraceState     : {inert(ts)}\n" if ts else "")
            + f"    Start time     : {format_timestamp(sp.start_time_unix_nano)}\n"
            f"    End time       : {format_timestamp(sp.end_time_unix_nano)}\n"
            f"    Status code    : {_STATUS.get(st.code, '')}\n"
            f"    Status message : {inert(st.message)}\n"
            f"    DroppedAttributesCount: {sp.dropped_attributes_count}\n"
            f"    DroppedEventsCount: {sp.dropped_events_count}\n"
            f"    DroppedLinksCount: {sp.dropped_links_count}\n")


def _legacy_span_head(k: int, sp: Span) -> str:
    kind, code = sp.kind, sp.status.code
    return (_span_names(k, sp)
            + f"    Kind           : {_LEGACY_KIND.get(kind) or str(kind)}\n"
            f"    Start time     : {format_timestamp(sp.start_time_unix_nano)}\n"
            f"    End time       : {format_timestamp(sp.end_time_unix_nano)}\n"
            f"    Status code    : {_LEGACY_STATUS.get(code) or str(code)}\n"
            f"    Status message : {inert(sp.status.message)}\n")


SpanNotes = Callable[[Span], str]
"""Extra text written after a span's block (`kubespan filter --print` shows `select()` fields so)."""


def _render(req: ExportTraceServiceRequest, ap: Append, legacy: bool, notes: SpanNotes | None = None) -> None:
    """The blob of either format: v0.54 has no scope attributes, entity refs, trace state or dropped counts."""
    span_head = _legacy_span_head if legacy else _span_head
    for i, rs in enumerate(req.resource_spans):
        res = rs.resource
        ap(f"ResourceSpans #{i}\nResource SchemaURL: {inert(rs.schema_url)}\n")
        write_attributes(ap, "Resource labels:\n" if legacy else "Resource attributes:\n", res.attributes,
                         "     ->", legacy)
        if not legacy and _HAS_ENTITY_REFS and len(res.entity_refs):
            write_entity_refs(ap, res.entity_refs)
        for j, ss in enumerate(rs.scope_spans):
            sc = ss.scope
            ap(f"ScopeSpans #{j}\nScopeSpans SchemaURL: {inert(ss.schema_url)}\n"
               f"InstrumentationScope {inert(sc.name)} {inert(sc.version)}\n")
            if not legacy:
                write_attributes(ap, "InstrumentationScope attributes:\n", sc.attributes, "     ->", False)
            for k, sp in enumerate(ss.spans):
                ap(span_head(k, sp))
                write_attributes(ap, "Attributes:\n", sp.attributes, "     ->", legacy)
                if len(sp.events) or len(sp.links):
                    write_events_links(ap, sp, legacy)
                if notes is not None:
                    ap(notes(sp))


# --------------------------------------------------------------------------- public


def render_detailed(request: ExportTraceServiceRequest, *, legacy: bool = False,
                    notes: SpanNotes | None = None) -> str:
    """The detailed text blob (``ResourceSpans #0`` ... ), each line ending in ``\\n``."""
    out: list[str] = []
    _render(request, out.append, legacy, notes)
    return "".join(out)


def _span_count(request: ExportTraceServiceRequest) -> int:
    return sum(len(ss.spans) for rs in request.resource_spans for ss in rs.scope_spans)


def summary_line(request: ExportTraceServiceRequest, *, legacy: bool = False) -> str:
    """The exporter's Info line with its zap fields, ending in ``\\n``."""
    spans = _span_count(request)
    if legacy:
        return f'TracesExporter\t{{"#spans": {spans}}}\n'
    return f'Traces\t{{"resource spans": {len(request.resource_spans)}, "spans": {spans}}}\n'


def render_traces(request: ExportTraceServiceRequest, *, legacy: bool = False, notes: SpanNotes | None = None) -> str:
    """Exactly what ``--print`` writes for one batch; ``""`` when it holds no span.

    Summary line, then the blob, then ``\\n`` (zap ends the blob's own message
    with a newline, which leaves a blank line).
    """
    if not _span_count(request):
        return ""
    return summary_line(request, legacy=legacy) + render_detailed(request, legacy=legacy, notes=notes) + "\n"
