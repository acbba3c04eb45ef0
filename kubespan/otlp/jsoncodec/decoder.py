"""OTLP/JSON trace request decoder: JSON text to ExportTraceServiceRequest.

Walks resourceSpans, scopeSpans, spans, events and links, accepting both
lowerCamelCase and snake_case keys, and fills the canonical fields pdata
always writes (resource, scope, status).
"""

from __future__ import annotations

from typing import Any, cast

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import InstrumentationScope
from opentelemetry.proto.resource.v1.resource_pb2 import Resource
from opentelemetry.proto.trace.v1.trace_pb2 import ResourceSpans, ScopeSpans, Span, Status

from kubespan.otlp.jsoncodec.errors import (
    DecodeFailure,
    JsonDecodeError,
    json_type_name,
)
from kubespan.otlp.jsoncodec.jsontext import load_json
from kubespan.otlp.jsoncodec.scalars import (
    HEX_IDS,
    SPAN_ID_SIZE,
    SPAN_KIND_NAMES,
    STATUS_CODE_NAMES,
    TRACE_ID_SIZE,
    U32_MAX,
    U64_MAX,
    IdRules,
    read_enum,
    read_id,
    read_list,
    read_obj,
    read_str,
    read_uint,
)
from kubespan.otlp.jsoncodec.values import decode_attributes, decode_repeated


def _keymap(*names: str) -> dict[str, str]:
    """Map lowerCamelCase and snake_case spellings of field names to the snake_case name."""
    out = {}
    for name in names:
        head, *rest = name.split("_")
        out[name] = name
        out[head + "".join(p.capitalize() for p in rest)] = name
    return out


_SPAN_KEYS = _keymap(
    "trace_id", "span_id", "trace_state", "parent_span_id", "flags", "name", "kind",
    "start_time_unix_nano", "end_time_unix_nano", "attributes", "dropped_attributes_count",
    "events", "dropped_events_count", "links", "dropped_links_count", "status",
)  # fmt: skip


def _dec_span(span: Span, obj: dict[str, Any], ids: IdRules) -> None:
    """Fill ``span`` from its JSON object."""
    for key, val in obj.items():
        f = _SPAN_KEYS.get(key)
        if f is None or val is None:
            continue
        try:
            if f == "attributes":
                decode_attributes(span.attributes, val, 0)
            elif f == "name":
                span.name = read_str(val)
            elif f == "trace_id":
                span.trace_id = read_id(val, TRACE_ID_SIZE, ids)
            elif f == "span_id":
                span.span_id = read_id(val, SPAN_ID_SIZE, ids)
            elif f == "parent_span_id":
                span.parent_span_id = read_id(val, SPAN_ID_SIZE, ids)
            elif f == "kind":
                span.kind = cast("Span.SpanKind.ValueType", read_enum(val, SPAN_KIND_NAMES))
            elif f == "start_time_unix_nano":
                span.start_time_unix_nano = read_uint(val, U64_MAX)
            elif f == "end_time_unix_nano":
                span.end_time_unix_nano = read_uint(val, U64_MAX)
            elif f == "status":
                _dec_status(span.status, read_obj(val))
            elif f == "flags":
                span.flags = read_uint(val, U32_MAX)
            elif f == "trace_state":
                span.trace_state = read_str(val)
            elif f == "events":
                decode_repeated(span.events, val, _dec_event)
            elif f == "links":
                decode_repeated(span.links, val, lambda m, o: _dec_link(m, o, ids))
            elif f == "dropped_attributes_count":
                span.dropped_attributes_count = read_uint(val, U32_MAX)
            elif f == "dropped_events_count":
                span.dropped_events_count = read_uint(val, U32_MAX)
            elif f == "dropped_links_count":
                span.dropped_links_count = read_uint(val, U32_MAX)
        except DecodeFailure as e:
            raise e.at(key) from None
    span.status.SetInParent()


_STATUS_KEYS = _keymap("message", "code")


def _dec_status(status: Status, obj: dict[str, Any]) -> None:
    status.SetInParent()
    for key, val in obj.items():
        f = _STATUS_KEYS.get(key)
        if f is None or val is None:
            continue
        try:
            if f == "code":
                status.code = cast("Status.StatusCode.ValueType", read_enum(val, STATUS_CODE_NAMES))
            else:
                status.message = read_str(val)
        except DecodeFailure as e:
            raise e.at(key) from None


_EVENT_KEYS = _keymap("time_unix_nano", "name", "attributes", "dropped_attributes_count")


def _dec_event(event: Span.Event, obj: dict[str, Any]) -> None:
    for key, val in obj.items():
        f = _EVENT_KEYS.get(key)
        if f is None or val is None:
            continue
        try:
            if f == "time_unix_nano":
                event.time_unix_nano = read_uint(val, U64_MAX)
            elif f == "name":
                event.name = read_str(val)
            elif f == "attributes":
                decode_attributes(event.attributes, val, 0)
            else:
                event.dropped_attributes_count = read_uint(val, U32_MAX)
        except DecodeFailure as e:
            raise e.at(key) from None


_LINK_KEYS = _keymap(
    "trace_id", "span_id", "trace_state", "attributes", "dropped_attributes_count", "flags"
)


def _dec_link(link: Span.Link, obj: dict[str, Any], ids: IdRules) -> None:
    for key, val in obj.items():
        f = _LINK_KEYS.get(key)
        if f is None or val is None:
            continue
        try:
            if f == "trace_id":
                link.trace_id = read_id(val, TRACE_ID_SIZE, ids)
            elif f == "span_id":
                link.span_id = read_id(val, SPAN_ID_SIZE, ids)
            elif f == "trace_state":
                link.trace_state = read_str(val)
            elif f == "attributes":
                decode_attributes(link.attributes, val, 0)
            elif f == "dropped_attributes_count":
                link.dropped_attributes_count = read_uint(val, U32_MAX)
            else:
                link.flags = read_uint(val, U32_MAX)
        except DecodeFailure as e:
            raise e.at(key) from None


_RESOURCE_KEYS = _keymap("attributes", "dropped_attributes_count", "entity_refs")
_ENTITY_REF_KEYS = _keymap("schema_url", "type", "id_keys", "description_keys")


def _dec_resource(res: Resource, obj: dict[str, Any]) -> None:
    for key, val in obj.items():
        f = _RESOURCE_KEYS.get(key)
        if f is None or val is None:
            continue
        try:
            if f == "attributes":
                decode_attributes(res.attributes, val, 0)
            elif f == "dropped_attributes_count":
                res.dropped_attributes_count = read_uint(val, U32_MAX)
            else:
                decode_repeated(res.entity_refs, val, _dec_entity_ref)
        except DecodeFailure as e:
            raise e.at(key) from None


def _dec_entity_ref(ref: Any, obj: dict[str, Any]) -> None:
    for key, val in obj.items():
        f = _ENTITY_REF_KEYS.get(key)
        if f is None or val is None:
            continue
        try:
            if f in ("schema_url", "type"):
                setattr(ref, f, read_str(val))
            else:
                getattr(ref, f).extend(_str_list(val))
        except DecodeFailure as e:
            raise e.at(key) from None


def _str_list(val: object) -> list[str]:
    items = read_list(val)
    for i, item in enumerate(items):
        try:
            read_str(item)
        except DecodeFailure as e:
            raise e.at(f"[{i}]") from None
    return items


_SCOPE_KEYS = _keymap("name", "version", "attributes", "dropped_attributes_count")


def _dec_scope(scope: InstrumentationScope, obj: dict[str, Any]) -> None:
    for key, val in obj.items():
        f = _SCOPE_KEYS.get(key)
        if f is None or val is None:
            continue
        try:
            if f == "name":
                scope.name = read_str(val)
            elif f == "version":
                scope.version = read_str(val)
            elif f == "attributes":
                decode_attributes(scope.attributes, val, 0)
            else:
                scope.dropped_attributes_count = read_uint(val, U32_MAX)
        except DecodeFailure as e:
            raise e.at(key) from None


_SCOPE_SPANS_KEYS = _keymap("scope", "spans", "schema_url")
_LEGACY_SCOPE_SPANS_KEYS = {**_SCOPE_SPANS_KEYS, **{k: "scope" for k in _keymap("instrumentation_library")}}
"""Files of old SDKs and Collectors (v0.59 and before) name the scope `instrumentationLibrary`."""


def _dec_scope_spans(ss: ScopeSpans, obj: dict[str, Any], ids: IdRules, keys: dict[str, str]) -> None:
    for key, val in obj.items():
        f = keys.get(key)
        if f is None or val is None:
            continue
        try:
            if f == "spans":
                decode_repeated(ss.spans, val, lambda m, o: _dec_span(m, o, ids))  # null: an empty span
            elif f == "scope":
                _dec_scope(ss.scope, read_obj(val))
            else:
                ss.schema_url = read_str(val)
        except DecodeFailure as e:
            raise e.at(key) from None
    ss.scope.SetInParent()


_RESOURCE_SPANS_KEYS = _keymap("resource", "scope_spans", "schema_url")
_LEGACY_RESOURCE_SPANS_KEYS = {
    **_RESOURCE_SPANS_KEYS, **{k: "legacy_scope_spans" for k in _keymap("instrumentation_library_spans")}
}


def _dec_resource_spans(rs: ResourceSpans, obj: dict[str, Any], ids: IdRules, legacy: bool) -> None:
    keys = _LEGACY_RESOURCE_SPANS_KEYS if legacy else _RESOURCE_SPANS_KEYS
    scope_keys = _LEGACY_SCOPE_SPANS_KEYS if legacy else _SCOPE_SPANS_KEYS
    old: tuple[str, object] | None = None
    for key, val in obj.items():
        f = keys.get(key)
        if f is None or val is None:
            continue
        try:
            if f == "scope_spans":
                decode_repeated(rs.scope_spans, val, lambda m, o: _dec_scope_spans(m, o, ids, scope_keys))
            elif f == "resource":
                _dec_resource(rs.resource, read_obj(val))
            elif f == "legacy_scope_spans":
                old = (key, val)
            else:
                rs.schema_url = read_str(val)
        except DecodeFailure as e:
            raise e.at(key) from None
    if old is not None and not rs.scope_spans:  # as the Collector migrated them: only without scopeSpans
        try:
            decode_repeated(rs.scope_spans, old[1], lambda m, o: _dec_scope_spans(m, o, ids, scope_keys))
        except DecodeFailure as e:
            raise e.at(old[0]) from None
    rs.resource.SetInParent()


def decode_traces_json(
    data: bytes | bytearray | memoryview | str, *, strict_ids: bool = False
) -> ExportTraceServiceRequest:
    """Decode an OTLP/JSON ExportTraceServiceRequest or TracesData body.

    Lenient like the Collector. Raises :class:`JsonDecodeError` on invalid input.
    Ids of the wrong length are kept as decoded unless ``strict_ids`` is true,
    in which case they fail with the Collector's "length mismatch" error.
    """
    obj = load_json(data)
    if type(obj) is not dict:
        raise JsonDecodeError("", f"top-level value must be a JSON object, got {json_type_name(obj)}")
    return decode_resource_spans(obj, ("resourceSpans", "resource_spans"),
                                 ids=IdRules(strict=strict_ids))


def decode_resource_spans(
    obj: dict[str, Any], keys: tuple[str, ...], *, ids: IdRules = HEX_IDS, legacy: bool = False
) -> ExportTraceServiceRequest:
    """A request from the ResourceSpans arrays under ``keys`` of a parsed JSON object.

    ``legacy`` also reads `instrumentationLibrarySpans` and `instrumentationLibrary`, which old
    SDKs and Collectors wrote instead of `scopeSpans` and `scope`.
    """
    req = ExportTraceServiceRequest()
    try:
        for key, val in obj.items():
            if key in keys and val is not None:
                try:
                    decode_repeated(
                        req.resource_spans, val, lambda m, o: _dec_resource_spans(m, o, ids, legacy)
                    )
                except DecodeFailure as e:
                    raise e.at(key) from None
    except DecodeFailure as e:
        raise e.public() from None
    except (ValueError, TypeError, OverflowError) as e:  # safety net: protobuf rejected a value
        raise JsonDecodeError("", f"invalid value: {e}") from None
    return req
