"""The edge decoder: one OTLP/protobuf trace request in, one `TraceBatch` out.

Every transport ends here (JSON bodies are converted to protobuf first), so OTLP is
decoded exactly once. The result carries columns for the store and query engine,
interned attribute ids, the raw bytes of each span for the detail view, and the
request bytes to forward unchanged. Spans with bad ids or undecodable contents are
rejected one by one, reported through OTLP `partial_success`; the rest is kept.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import Sequence

from google.protobuf.message import DecodeError
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import InstrumentationScope
from opentelemetry.proto.resource.v1.resource_pb2 import Resource
from opentelemetry.proto.trace.v1.trace_pb2 import Span

from kubespan.otlp.attributes import AttributeTable, InvalidAttribute
from kubespan.otlp.wire import EventView, RequestView, SpanView

TRACE_ID_BYTES = 16
SPAN_ID_BYTES = 8
MAX_REJECT_REASONS = 3
"""How many distinct rejection reasons one `partial_success.error_message` lists."""


class UndecodableRequest(ValueError):
    """The request as a whole is not a valid `ExportTraceServiceRequest`."""


@dataclass(slots=True)
class ResourceInfo:
    """A decoded `Resource`, shared by all the spans of one ResourceSpans."""

    service: str
    attribute_ids: list[int]
    raw: bytes
    schema_url: str


@dataclass(slots=True)
class ScopeInfo:
    """A decoded `InstrumentationScope` and the index of its resource in the batch."""

    resource: int
    name: str
    version: str
    raw: bytes
    schema_url: str


@dataclass(slots=True)
class SpanColumns:
    """Per-span columns of one batch, in wire order."""

    trace_id: list[bytes] = field(default_factory=list)
    span_id: list[bytes] = field(default_factory=list)
    parent_id: list[bytes] = field(default_factory=list)
    name: list[str] = field(default_factory=list)
    kind: list[int] = field(default_factory=list)
    start: list[int] = field(default_factory=list)
    end: list[int] = field(default_factory=list)
    status: list[int] = field(default_factory=list)
    scope: list[int] = field(default_factory=list)
    attribute_ids: list[list[int]] = field(default_factory=list)
    event_names: list[tuple[str, ...]] = field(default_factory=list)
    raw: list[bytes] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.span_id)

    def subset(self, keep: Sequence[bool]) -> "SpanColumns":
        """The columns of the spans whose `keep` flag is true."""
        out = SpanColumns()
        for name in self.__slots__:
            column = getattr(self, name)
            setattr(out, name, [value for value, k in zip(column, keep) if k])
        return out


class TraceBatch:
    """One accepted export request: raw bytes downstream, columns for the index."""

    __slots__ = ("raw", "resources", "scopes", "spans", "resource_spans_count", "__dict__")

    def __init__(
        self,
        raw: bytes,
        resources: list[ResourceInfo],
        scopes: list[ScopeInfo],
        spans: SpanColumns,
        resource_spans_count: int,
    ) -> None:
        self.raw = raw
        self.resources = resources
        self.scopes = scopes
        self.spans = spans
        self.resource_spans_count = resource_spans_count

    @property
    def span_count(self) -> int:
        return len(self.spans)

    @cached_property
    def request(self) -> ExportTraceServiceRequest:
        """The official message, parsed on first use and shared by every writer."""
        return ExportTraceServiceRequest.FromString(self.raw)

    def select(self, keep: Sequence[bool]) -> "TraceBatch":
        """A batch with only the spans whose flag is true (order kept)."""
        if all(keep):
            return self
        view = RequestView.FromString(self.raw)
        raw, resource_spans = _rebuild(view, keep)
        return TraceBatch(raw, self.resources, self.scopes, self.spans.subset(keep), resource_spans)


@dataclass(slots=True)
class Rejections:
    """Spans refused inside an otherwise valid request, for `partial_success`."""

    count: int = 0
    reasons: list[str] = field(default_factory=list)

    def add(self, reason: str) -> None:
        self.count += 1
        if reason not in self.reasons and len(self.reasons) < MAX_REJECT_REASONS:
            self.reasons.append(reason)

    @property
    def message(self) -> str:
        if not self.count:
            return ""
        return f"{self.count} span(s) rejected: " + "; ".join(self.reasons)


def decode_request(raw: bytes, table: AttributeTable) -> tuple[TraceBatch, Rejections]:
    """Decode a protobuf `ExportTraceServiceRequest` into a batch and its rejections."""
    try:
        view = RequestView.FromString(raw)
    except DecodeError as exc:
        raise UndecodableRequest(f"proto: cannot parse ExportTraceServiceRequest: {exc}") from None
    resources: list[ResourceInfo] = []
    scopes: list[ScopeInfo] = []
    spans = SpanColumns()
    rejections = Rejections()
    keep: list[bool] = []
    for resource_spans in view.resource_spans:
        resources.append(_decode_resource(resource_spans.resource, resource_spans.schema_url, table))
        for scope_spans in resource_spans.scope_spans:
            scopes.append(_decode_scope(len(resources) - 1, scope_spans.scope, scope_spans.schema_url))
            _decode_spans(scope_spans.spans, len(scopes) - 1, table, spans, rejections, keep)
    resource_spans_count = len(view.resource_spans)
    if rejections.count:
        raw, resource_spans_count = _rebuild(view, keep)
    return TraceBatch(raw, resources, scopes, spans, resource_spans_count), rejections


def _decode_resource(raw: bytes, schema_url: str, table: AttributeTable) -> ResourceInfo:
    try:
        resource = Resource.FromString(raw)
    except DecodeError as exc:
        raise UndecodableRequest(f"proto: cannot parse Resource: {exc}") from None
    service = ""
    ids = []
    for kv in resource.attributes:
        if kv.key == "service.name" and kv.value.WhichOneof("value") == "string_value":
            service = kv.value.string_value
        try:
            ids.append(table.intern(kv.SerializeToString()))
        except InvalidAttribute as exc:
            raise UndecodableRequest(f"proto: resource attribute {kv.key!r}: {exc}") from None
    return ResourceInfo(service, ids, raw, schema_url)


def _decode_scope(resource: int, raw: bytes, schema_url: str) -> ScopeInfo:
    try:
        scope = InstrumentationScope.FromString(raw)
    except DecodeError as exc:
        raise UndecodableRequest(f"proto: cannot parse InstrumentationScope: {exc}") from None
    return ScopeInfo(resource, scope.name, scope.version, raw, schema_url)


def _decode_spans(
    raws: Sequence[bytes],
    scope: int,
    table: AttributeTable,
    out: SpanColumns,
    rejections: Rejections,
    keep: list[bool],
) -> None:
    """Append the valid spans of one ScopeSpans to `out`; count the others."""
    parse = SpanView.FromString
    intern_all = table.intern_all
    for raw in raws:
        try:
            span = parse(raw)
            reason = _id_problem(span)
            if reason is None:
                attribute_ids = intern_all(span.attributes)
                events = _event_names(span, raw) if (span.events or span.links) else ()
        except (DecodeError, InvalidAttribute, RecursionError) as exc:
            reason = f"undecodable span: {exc}"
        if reason is not None:
            rejections.add(reason)
            keep.append(False)
            continue
        keep.append(True)
        out.trace_id.append(span.trace_id)
        out.span_id.append(span.span_id)
        out.parent_id.append(span.parent_span_id)
        out.name.append(span.name)
        out.kind.append(span.kind)
        out.start.append(span.start_time_unix_nano)
        out.end.append(span.end_time_unix_nano)
        out.status.append(span.status.code)
        out.scope.append(scope)
        out.attribute_ids.append(attribute_ids)
        out.event_names.append(events)
        out.raw.append(raw)


def _id_problem(span) -> str | None:
    if len(span.trace_id) != TRACE_ID_BYTES or not any(span.trace_id):
        return f"invalid trace id: want {TRACE_ID_BYTES} non-zero bytes, got {span.trace_id.hex() or 'none'}"
    if len(span.span_id) != SPAN_ID_BYTES or not any(span.span_id):
        return f"invalid span id: want {SPAN_ID_BYTES} non-zero bytes, got {span.span_id.hex() or 'none'}"
    if span.parent_span_id and len(span.parent_span_id) != SPAN_ID_BYTES:
        return f"invalid parent span id: want {SPAN_ID_BYTES} bytes, got {span.parent_span_id.hex()}"
    return None


def _event_names(span, raw: bytes) -> tuple[str, ...]:
    """Names of the span's events; validates events and links with the official message."""
    Span.FromString(raw)
    return tuple(EventView.FromString(event).name for event in span.events)


def _rebuild(view, keep: Sequence[bool]) -> tuple[bytes, int]:
    """Serialize `view` with only the kept spans, dropping emptied scopes and resources."""
    flags = iter(keep)
    out = RequestView()
    for resource_spans in view.resource_spans:
        new_resource = None
        for scope_spans in resource_spans.scope_spans:
            kept = [raw for raw in scope_spans.spans if next(flags)]
            if not kept:
                continue
            if new_resource is None:
                new_resource = out.resource_spans.add(
                    resource=resource_spans.resource, schema_url=resource_spans.schema_url
                )
            new_resource.scope_spans.add(
                scope=scope_spans.scope, schema_url=scope_spans.schema_url, spans=kept
            )
    return out.SerializeToString(), len(out.resource_spans)
