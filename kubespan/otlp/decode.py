"""The edge decoder: one OTLP/protobuf trace request in, one `TraceBatch` out.

Every transport ends here (JSON bodies are converted to protobuf first), so OTLP is
decoded exactly once. The result carries columns for the store and query engine,
interned attribute ids, the raw bytes of each span for the detail view, and the
request bytes to forward unchanged. Spans with bad ids or undecodable contents are
rejected one by one, reported through OTLP `partial_success`; the rest is kept.
"""

from __future__ import annotations

import operator
import re
from typing import Any, Sequence

from google.protobuf.message import DecodeError
from opentelemetry.proto.common.v1.common_pb2 import InstrumentationScope
from opentelemetry.proto.resource.v1.resource_pb2 import Resource

from kubespan.encode.inert import quoted
from kubespan.model import (
    AttributeStorage,
    AttributeTable,
    PackedSpans,
    Rejections,
    ResourceInfo,
    ScopeInfo,
    SpanColumns,
    TraceBatch,
)
from kubespan.otlp import compiled as _compiled
from kubespan.otlp.attributes import InvalidAttribute, decode_key_value
from kubespan.otlp.select import rebuild_request
from kubespan.otlp.wire import MIN_SPAN_BYTES, WireRequest, count_messages

TRACE_ID_BYTES = 16
SPAN_ID_BYTES = 8
MESSAGE_SCAN_FROM = 64 * 1024
"""Requests at least this large have their messages counted on the wire before parsing."""
EMPTY_CONTAINERS = 64
"""ResourceSpans and ScopeSpans without spans a large request may carry beyond two per span."""


class UndecodableRequest(ValueError):
    """The request as a whole is not a valid `ExportTraceServiceRequest`."""


def decode_request(raw: bytes, table: AttributeTable, *, compiled: bool = True) -> tuple[TraceBatch, Rejections]:
    """Decode a protobuf `ExportTraceServiceRequest` into a batch and its rejections.

    `compiled=False` reads every span with protobuf's accessors even where the compiled
    walk could (tests compare the two).
    """
    storage = table.storage  # one generation throughout, named on the batch
    view, resources, scopes = _parse(raw, storage)
    resource_spans_count = len(view.resource_spans)
    columns = _compiled_columns(raw, storage) if compiled else None
    if columns is not None:
        return TraceBatch(raw, resources, scopes, columns, resource_spans_count, storage), Rejections()
    rows: list[tuple[Any, ...]] = []
    rejections = Rejections()
    keep: list[bool] = []
    spans = (scope_spans.spans for resource_spans in view.resource_spans for scope_spans in resource_spans.scope_spans)
    for scope, scope_spans in enumerate(spans):
        _decode_spans(scope_spans, scope, storage, rows, rejections, keep)
    if rejections.count:
        raw, resource_spans_count = rebuild_request(view, keep)
    batch = TraceBatch(raw, resources, scopes, SpanColumns.from_rows(rows), resource_spans_count, storage)
    return batch, rejections


def check_request(raw: bytes, table: AttributeTable) -> None:
    """Raise `UndecodableRequest` exactly where `decode_request` would refuse `raw` as a whole
    (a large request's slices are all checked before any is accepted)."""
    _parse(raw, table.storage)


def _parse(raw: bytes, storage: AttributeStorage) -> tuple[Any, list[ResourceInfo], list[ScopeInfo]]:
    refuse_message_bomb(raw)
    try:
        view = WireRequest.FromString(raw)
    except DecodeError as exc:
        raise UndecodableRequest(_parse_failure("ExportTraceServiceRequest", exc)) from None
    return (view, *_resources_and_scopes(view, storage))


def _resources_and_scopes(view: Any, table: AttributeStorage) -> tuple[list[ResourceInfo], list[ScopeInfo]]:
    resources: list[ResourceInfo] = []
    scopes: list[ScopeInfo] = []
    for resource_spans in view.resource_spans:
        resource = _merged(resource_spans.resource, Resource)
        resources.append(_decode_resource(resource, resource_spans.schema_url, table))
        for scope_spans in resource_spans.scope_spans:
            scope = _merged(scope_spans.scope, InstrumentationScope)
            scopes.append(_decode_scope(len(resources) - 1, scope, scope_spans.schema_url))
    return resources, scopes


def _compiled_columns(raw: bytes, store: AttributeStorage) -> SpanColumns | None:
    """The columns from the compiled walk, or None when it is absent or the request unusual.

    Unusual means a span to reject, an attribute to refuse, or wire contents the walk
    leaves to protobuf (groups, known fields with other wire types): the accessor path
    below decides those, so both paths accept and read exactly the same.
    """
    if _compiled.span_arrays is None or _compiled.AttributeStore is None or not isinstance(
            store, _compiled.AttributeStore):
        return None
    try:
        found = _compiled.span_arrays(raw, store)
    except InvalidAttribute:
        return None
    return None if found is None else SpanColumns(packed=PackedSpans.from_walk(found))


def _merged(occurrences: Sequence[bytes], message: Any) -> bytes:
    """Every occurrence of a singular message field as one, as protobuf merges them.

    Concatenating the occurrences merges them once each parses on its own; a truncated
    one must not swallow the next, so with several each is checked first.
    """
    if len(occurrences) > 1:
        for occurrence in occurrences:
            try:
                message.FromString(occurrence)
            except DecodeError as exc:
                raise UndecodableRequest(_parse_failure(message.DESCRIPTOR.name, exc)) from None
    return b"".join(occurrences)


def refuse_message_bomb(raw: bytes) -> None:
    """Refuse, before parsing, a request with more messages than its size allows useful ones.

    Each ResourceSpans, ScopeSpans and span costs the decoder about 170 bytes and 2-4 µs
    however small it is on the wire, so millions of 2-byte empty ones would take
    gigabytes and minutes. No acceptable span is shorter than `MIN_SPAN_BYTES`, and a
    useful ResourceSpans or ScopeSpans holds a span, so a request with more spans than
    one per that many bytes, or more than two containers per span, is mostly empty ones.
    """
    if len(raw) < MESSAGE_SCAN_FROM:
        return
    most = len(raw) // MIN_SPAN_BYTES
    containers, spans = count_messages(raw, 2 * most + EMPTY_CONTAINERS)
    if spans > most or containers > 2 * spans + EMPTY_CONTAINERS:
        raise UndecodableRequest(
            f"proto: {spans} spans and {containers} ResourceSpans and ScopeSpans in {len(raw)} bytes; "
            f"a span with its ids takes at least {MIN_SPAN_BYTES} bytes, and each holds one"
        )


_PARSER_PREFIX = re.compile(r"^Error parsing message(?: with type '[^']*')?:?\s*")


def _parse_failure(what: str, exc: DecodeError) -> str:
    """The parser's reason, without the name of kubespan's internal view type."""
    reason = _PARSER_PREFIX.sub("", str(exc)) or "invalid protobuf"
    return f"proto: cannot parse {what}: {reason[:1].lower()}{reason[1:]}"


def _decode_resource(raw: bytes, schema_url: str, table: AttributeStorage) -> ResourceInfo:
    try:
        resource = Resource.FromString(raw)
    except DecodeError as exc:
        raise UndecodableRequest(_parse_failure("Resource", exc)) from None
    service = ""
    ids = []
    for kv in resource.attributes:
        if kv.key == "service.name" and kv.value.WhichOneof("value") == "string_value":
            service = kv.value.string_value
        try:
            ids.append(table.intern(kv.SerializeToString()))
        except InvalidAttribute as exc:
            raise UndecodableRequest(f"proto: resource attribute {quoted(kv.key)}: {exc}") from None
    return ResourceInfo(service, ids, raw, schema_url)


def _decode_scope(resource: int, raw: bytes, schema_url: str) -> ScopeInfo:
    try:
        scope = InstrumentationScope.FromString(raw)
    except DecodeError as exc:
        raise UndecodableRequest(_parse_failure("InstrumentationScope", exc)) from None
    for kv in scope.attributes:  # as deep in a request as span attributes: the same limit
        try:
            decode_key_value(kv.SerializeToString())
        except InvalidAttribute as exc:
            raise UndecodableRequest(f"proto: scope attribute {quoted(kv.key)}: {exc}") from None
    return ScopeInfo(resource, scope.name, scope.version, raw, schema_url)


def _decode_spans(
    spans: Sequence[Any],
    scope: int,
    table: AttributeStorage,
    rows: list[tuple[Any, ...]],
    rejections: Rejections,
    keep: list[bool],
) -> None:
    """Append a row per valid span of one ScopeSpans to `rows`; count the others."""
    if not spans:
        return
    def intern_all(raws: Sequence[bytes]) -> list[int]:
        return list(map(table.intern, raws))

    first = len(rows)  # rows has one entry per kept span, keep one per span
    try:  # optimistic: read every span once, then check the ids of the rows at C speed
        rows.extend(
            (
                span.trace_id, span.span_id, span.parent_span_id, span.name, span.kind,
                span.start_time_unix_nano, span.end_time_unix_nano, span.status.code, scope,
                intern_all(span.attributes), tuple(map(_name, span.events)),
            )
            for span in spans
        )
        if _all_ids_valid(rows, first):
            keep.extend([True] * len(spans))
            return
    except InvalidAttribute:
        pass
    del rows[first:]  # redo this scope span by span to find the culprits
    for span in spans:
        reason = _id_problem(span)
        if reason is None:
            try:
                attribute_ids = intern_all(span.attributes)
            except InvalidAttribute as exc:
                reason = f"span {quoted(span.name)}: {exc}"
        if reason is not None:
            rejections.add(reason)
            keep.append(False)
            continue
        keep.append(True)
        rows.append((
            span.trace_id, span.span_id, span.parent_span_id, span.name, span.kind,
            span.start_time_unix_nano, span.end_time_unix_nano, span.status.code, scope,
            attribute_ids, tuple(map(_name, span.events)),
        ))


_name = operator.attrgetter("name")
_ZERO_TRACE_ID = bytes(TRACE_ID_BYTES)
_ZERO_SPAN_ID = bytes(SPAN_ID_BYTES)


_TRACE_IDS, _SPAN_IDS, _PARENT_IDS = (operator.itemgetter(i) for i in range(3))


def _all_ids_valid(rows: list[tuple[Any, ...]], first: int) -> bool:
    """The common case, checked with C-level maps: every id of `rows[first:]` has the right length."""
    new = rows[first:]
    trace_ids = list(map(_TRACE_IDS, new))
    span_ids = list(map(_SPAN_IDS, new))
    return (
        set(map(len, trace_ids)) <= {TRACE_ID_BYTES}
        and set(map(len, span_ids)) <= {SPAN_ID_BYTES}
        and set(map(len, map(_PARENT_IDS, new))) <= {0, SPAN_ID_BYTES}
        and _ZERO_TRACE_ID not in trace_ids
        and _ZERO_SPAN_ID not in span_ids
    )


def _id_problem(span: Any) -> str | None:
    if len(span.trace_id) != TRACE_ID_BYTES or span.trace_id == _ZERO_TRACE_ID:
        return f"invalid trace id: want {TRACE_ID_BYTES} non-zero bytes, got {span.trace_id.hex() or 'none'}"
    if len(span.span_id) != SPAN_ID_BYTES or span.span_id == _ZERO_SPAN_ID:
        return f"invalid span id: want {SPAN_ID_BYTES} non-zero bytes, got {span.span_id.hex() or 'none'}"
    if span.parent_span_id and len(span.parent_span_id) != SPAN_ID_BYTES:
        return f"invalid parent span id: want {SPAN_ID_BYTES} bytes, got {span.parent_span_id.hex()}"
    return None
