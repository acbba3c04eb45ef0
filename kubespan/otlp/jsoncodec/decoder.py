"""OTLP/JSON trace request decoder: JSON text to ExportTraceServiceRequest.

Walks resourceSpans, scopeSpans, spans, events and links, accepting both
lowerCamelCase and snake_case keys, and fills the canonical fields pdata
always writes (resource, scope, status).
"""

from __future__ import annotations

import json
from typing import Any

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import InstrumentationScope
from opentelemetry.proto.resource.v1.resource_pb2 import Resource
from opentelemetry.proto.trace.v1.trace_pb2 import ResourceSpans, ScopeSpans, Span, Status

from kubespan.otlp.jsoncodec.errors import (
    DecodeFailure,
    JsonDecodeError,
    index_of,
    json_type_name,
    want,
)
from kubespan.otlp.jsoncodec.scalars import (
    SPAN_ID_SIZE,
    SPAN_KIND_NAMES,
    STATUS_CODE_NAMES,
    TRACE_ID_SIZE,
    U32_MAX,
    U64_MAX,
    read_enum,
    read_id,
    read_list,
    read_obj,
    read_str,
    read_uint,
)
from kubespan.otlp.jsoncodec.values import decode_attributes, decode_repeated

OBJECT_SCAN_FROM = 64 * 1024
"""Bodies at least this large have their JSON objects counted before parsing."""
MIN_OBJECT_BYTES = 8
"""Fewest bytes per JSON object a body may average: real OTLP/JSON averages about 60,
an array of small numbers `{"intValue":1},` 15; empty spans `{},` are 3."""


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


def _dec_span(span: Span, obj: dict, strict: bool) -> None:
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
                span.trace_id = read_id(val, TRACE_ID_SIZE, strict)
            elif f == "span_id":
                span.span_id = read_id(val, SPAN_ID_SIZE, strict)
            elif f == "parent_span_id":
                span.parent_span_id = read_id(val, SPAN_ID_SIZE, strict)
            elif f == "kind":
                span.kind = read_enum(val, SPAN_KIND_NAMES)
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
                decode_repeated(span.links, val, lambda m, o: _dec_link(m, o, strict))
            elif f == "dropped_attributes_count":
                span.dropped_attributes_count = read_uint(val, U32_MAX)
            elif f == "dropped_events_count":
                span.dropped_events_count = read_uint(val, U32_MAX)
            elif f == "dropped_links_count":
                span.dropped_links_count = read_uint(val, U32_MAX)
        except DecodeFailure as e:
            raise e.at(key)
    span.status.SetInParent()


_STATUS_KEYS = _keymap("message", "code")


def _dec_status(status: Status, obj: dict) -> None:
    status.SetInParent()
    for key, val in obj.items():
        f = _STATUS_KEYS.get(key)
        if f is None or val is None:
            continue
        try:
            if f == "code":
                status.code = read_enum(val, STATUS_CODE_NAMES)
            else:
                status.message = read_str(val)
        except DecodeFailure as e:
            raise e.at(key)


_EVENT_KEYS = _keymap("time_unix_nano", "name", "attributes", "dropped_attributes_count")


def _dec_event(event: Span.Event, obj: dict) -> None:
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
            raise e.at(key)


_LINK_KEYS = _keymap(
    "trace_id", "span_id", "trace_state", "attributes", "dropped_attributes_count", "flags"
)


def _dec_link(link: Span.Link, obj: dict, strict: bool) -> None:
    for key, val in obj.items():
        f = _LINK_KEYS.get(key)
        if f is None or val is None:
            continue
        try:
            if f == "trace_id":
                link.trace_id = read_id(val, TRACE_ID_SIZE, strict)
            elif f == "span_id":
                link.span_id = read_id(val, SPAN_ID_SIZE, strict)
            elif f == "trace_state":
                link.trace_state = read_str(val)
            elif f == "attributes":
                decode_attributes(link.attributes, val, 0)
            elif f == "dropped_attributes_count":
                link.dropped_attributes_count = read_uint(val, U32_MAX)
            else:
                link.flags = read_uint(val, U32_MAX)
        except DecodeFailure as e:
            raise e.at(key)


_RESOURCE_KEYS = _keymap("attributes", "dropped_attributes_count", "entity_refs")
_ENTITY_REF_KEYS = _keymap("schema_url", "type", "id_keys", "description_keys")


def _dec_resource(res: Resource, obj: dict) -> None:
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
            raise e.at(key)


def _dec_entity_ref(ref: Any, obj: dict) -> None:
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
            raise e.at(key)


def _str_list(val: object) -> list[str]:
    items = read_list(val)
    for i, item in enumerate(items):
        try:
            read_str(item)
        except DecodeFailure as e:
            raise e.at(f"[{i}]")
    return items


_SCOPE_KEYS = _keymap("name", "version", "attributes", "dropped_attributes_count")


def _dec_scope(scope: InstrumentationScope, obj: dict) -> None:
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
            raise e.at(key)


_SCOPE_SPANS_KEYS = _keymap("scope", "spans", "schema_url")


def _dec_scope_spans(ss: ScopeSpans, obj: dict, strict: bool) -> None:
    for key, val in obj.items():
        f = _SCOPE_SPANS_KEYS.get(key)
        if f is None or val is None:
            continue
        try:
            if f == "spans":
                _dec_spans(ss.spans, val, strict)
            elif f == "scope":
                _dec_scope(ss.scope, read_obj(val))
            else:
                ss.schema_url = read_str(val)
        except DecodeFailure as e:
            raise e.at(key)
    ss.scope.SetInParent()


def _dec_spans(container: Any, arr: object, strict: bool) -> None:
    add = container.add
    items = read_list(arr)
    item = None
    try:
        for item in items:
            span = add()
            if type(item) is dict:
                _dec_span(span, item, strict)
            elif item is None:
                span.status.SetInParent()
            else:
                raise want("an object", item)
    except DecodeFailure as e:
        raise e.at(f"[{index_of(items, item)}]")


_RESOURCE_SPANS_KEYS = _keymap("resource", "scope_spans", "schema_url")


def _dec_resource_spans(rs: ResourceSpans, obj: dict, strict: bool) -> None:
    for key, val in obj.items():
        f = _RESOURCE_SPANS_KEYS.get(key)
        if f is None or val is None:
            continue
        try:
            if f == "scope_spans":
                decode_repeated(rs.scope_spans, val, lambda m, o: _dec_scope_spans(m, o, strict))
            elif f == "resource":
                _dec_resource(rs.resource, read_obj(val))
            else:
                rs.schema_url = read_str(val)
        except DecodeFailure as e:
            raise e.at(key)
    rs.resource.SetInParent()


def _reject_constant(name: str) -> None:
    raise DecodeFailure(f"invalid JSON: {name} is not a JSON value")


def _refuse_object_bomb(text: str) -> None:
    """Refuse millions of tiny objects (`{},{},…` spans) before they become Python dicts."""
    if len(text) < OBJECT_SCAN_FROM:
        return
    most = len(text) // MIN_OBJECT_BYTES
    if text.count("{") > most:
        raise JsonDecodeError("", f"more than {most} JSON objects in {len(text)} characters")


def _load_json(data: bytes | bytearray | memoryview | str) -> object:
    """Parse JSON text (UTF-8 bytes or str) into Python values, raising JsonDecodeError."""
    if isinstance(data, str):
        text = data
    elif isinstance(data, (bytes, bytearray, memoryview)):
        try:
            text = bytes(data).decode("utf-8")
        except UnicodeDecodeError as e:
            raise JsonDecodeError("", f"invalid UTF-8 at byte offset {e.start}") from None
    else:
        raise TypeError(f"want bytes or str, got {type(data).__name__}")
    _refuse_object_bomb(text)
    try:
        return json.loads(text, parse_constant=_reject_constant)
    except json.JSONDecodeError as e:
        raise JsonDecodeError(
            "", f"invalid JSON: {e.msg} (line {e.lineno} column {e.colno})"
        ) from None
    except DecodeFailure as e:
        raise e.public() from None
    except RecursionError:
        raise JsonDecodeError("", "invalid JSON: nesting too deep") from None
    except ValueError as e:  # e.g. integer literal too long to convert
        raise JsonDecodeError("", f"invalid JSON: {e}") from None


def decode_traces_json(
    data: bytes | bytearray | memoryview | str, *, strict_ids: bool = False
) -> ExportTraceServiceRequest:
    """Decode an OTLP/JSON ExportTraceServiceRequest or TracesData body.

    Lenient like the Collector. Raises :class:`JsonDecodeError` on invalid input.
    Ids of the wrong length are kept as decoded unless ``strict_ids`` is true,
    in which case they fail with the Collector's "length mismatch" error.
    """
    obj = _load_json(data)
    if type(obj) is not dict:
        raise JsonDecodeError("", f"top-level value must be a JSON object, got {json_type_name(obj)}")
    req = ExportTraceServiceRequest()
    try:
        for key, val in obj.items():
            if (key == "resourceSpans" or key == "resource_spans") and val is not None:
                try:
                    decode_repeated(
                        req.resource_spans, val, lambda m, o: _dec_resource_spans(m, o, strict_ids)
                    )
                except DecodeFailure as e:
                    raise e.at(key)
    except DecodeFailure as e:
        raise e.public() from None
    except (ValueError, TypeError, OverflowError) as e:  # safety net: protobuf rejected a value
        raise JsonDecodeError("", f"invalid value: {e}") from None
    return req

