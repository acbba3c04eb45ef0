"""OTLP/JSON of trace requests in the Collector's pdata writer style.

lowerCamelCase keys in proto field order, lowercase hex ids, enums as numbers,
64-bit ints as decimal strings, zero fields omitted; ``resource``, ``scope``,
``status`` and a KeyValue's ``value`` always written. The per-span lines of
kubespan's dumps are built from these pieces (`kubespan.encode.span_lines`).
"""

from __future__ import annotations

import binascii
import json
import math
from decimal import Decimal
from typing import Any, Callable, Mapping, Sequence

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, InstrumentationScope
from opentelemetry.proto.resource.v1.resource_pb2 import Resource
from opentelemetry.proto.trace.v1.trace_pb2 import ResourceSpans, ScopeSpans, Status, TracesData

from kubespan.encode.inert import UNSAFE_IN_JSON

_encode_basestring = json.encoder.encode_basestring


def json_string(text: str) -> str:
    """Quote and escape a JSON string; non-ASCII stays raw like Go, except characters
    that act on a terminal (`kubespan filter` and `--jsonl` often print to one), which
    are written as `\\uXXXX` and decode to the same string."""
    quoted = _encode_basestring(text)
    if quoted.isascii() and "\x7f" not in quoted:
        return quoted
    return UNSAFE_IN_JSON.sub(lambda match: f"\\u{ord(match.group()):04x}", quoted)


def json_double(d: float) -> str:
    """A double the way pdata writes it (Go strconv shortest form); NaN/Inf as strings."""
    if d != d:
        return '"NaN"'
    if d == math.inf:
        return '"Infinity"'
    if d == -math.inf:
        return '"-Infinity"'
    r = repr(d)
    a = abs(d)
    if a != 0.0 and (a < 1e-6 or a >= 1e21):
        if r[-4:-1] == "e-0":  # Go/jsoniter trims e-07 to e-7
            r = r[:-2] + r[-1]
        return r
    if "e" in r:
        r = format(Decimal(r), "f")
    if r.endswith(".0"):
        r = r[:-2]
        if r == "-0":  # keep the sign through Python's json (which reads -0 as int 0)
            return "-0.0"
    return r


def _any_json(v: AnyValue) -> str:
    """JSON for one AnyValue."""
    w = v.WhichOneof("value")
    if w == "string_value":
        return '{"stringValue":' + json_string(v.string_value) + "}"
    if w == "int_value":
        return '{"intValue":"' + str(v.int_value) + '"}'
    if w == "bool_value":
        return '{"boolValue":true}' if v.bool_value else '{"boolValue":false}'
    if w == "double_value":
        return '{"doubleValue":' + json_double(v.double_value) + "}"
    if w == "array_value":
        values = v.array_value.values
        if not values:
            return '{"arrayValue":{}}'
        return '{"arrayValue":{"values":[' + ",".join(map(_any_json, values)) + "]}}"
    if w == "kvlist_value":
        pairs = v.kvlist_value.values
        if not pairs:
            return '{"kvlistValue":{}}'
        return '{"kvlistValue":{"values":' + attributes_json(pairs) + "}}"
    if w == "bytes_value":
        return '{"bytesValue":"' + binascii.b2a_base64(v.bytes_value, newline=False).decode() + '"}'
    return "{}"


def attributes_json(attrs: Any) -> str:
    """JSON array for a non-empty repeated KeyValue."""
    out: list[str] = []
    append = out.append
    esc = json_string
    for kv in attrs:
        key = kv.key
        v = kv.value
        if v.WhichOneof("value") == "string_value":  # fast path for the common case
            val = f'{{"stringValue":{esc(v.string_value)}}}'
        else:
            val = _any_json(v)
        if key:
            append(f'{{"key":{esc(key)},"value":{val}}}')
        else:
            append(f'{{"value":{val}}}')
    return "[" + ",".join(out) + "]"


def _quoted_int(n: int) -> str:
    """A 64-bit integer as OTLP/JSON writes it: decimal, between quotes."""
    return f'"{n}"'


def _hex_id(raw: bytes) -> str:
    return f'"{raw.hex()}"'


def _strings(texts: Sequence[str]) -> str:
    return "[" + ",".join(map(json_string, texts)) + "]"


Fields = tuple[tuple[str, str, Callable[[Any], str]], ...]
"""(attribute, JSON key, writer) of each field of a message, in proto declaration order."""


def _object_json(message: Any, fields: Fields) -> str:
    """A message's JSON object: each field that is set (non-zero, non-empty), in the order given."""
    out = []
    for attribute, key, write in fields:
        value = getattr(message, attribute)
        if value:
            out.append(f'"{key}":{write(value)}')
    return "{" + ",".join(out) + "}"


_EVENT: Fields = (
    ("time_unix_nano", "timeUnixNano", _quoted_int), ("name", "name", json_string),
    ("attributes", "attributes", attributes_json), ("dropped_attributes_count", "droppedAttributesCount", str),
)
_LINK: Fields = (
    ("trace_id", "traceId", _hex_id), ("span_id", "spanId", _hex_id), ("trace_state", "traceState", json_string),
    ("attributes", "attributes", attributes_json), ("dropped_attributes_count", "droppedAttributesCount", str),
    ("flags", "flags", str),
)


def _status_json(st: Status) -> str:
    msg = st.message
    code = st.code
    if msg:
        if code:
            return '{"message":' + json_string(msg) + ',"code":' + str(code) + "}"
        return '{"message":' + json_string(msg) + "}"
    if code:
        return '{"code":' + str(code) + "}"
    return "{}"


def span_json(sp: Any, attribute_json: Mapping[bytes, str] | None = None) -> str:
    """JSON object for one span, fields in proto declaration order like pdata.

    With `attribute_json`, `sp` is a wire-view span whose attributes are raw bytes. Written field by
    field rather than through `_object_json`: this is the span-line writer's Python path, and the
    table-driven form costs it a fifth more."""
    out: list[str] = []
    append = out.append
    b = sp.trace_id
    if b:
        append(f'"traceId":"{b.hex()}"')
    b = sp.span_id
    if b:
        append(f'"spanId":"{b.hex()}"')
    s = sp.trace_state
    if s:
        append(f'"traceState":{json_string(s)}')
    b = sp.parent_span_id
    if b:
        append(f'"parentSpanId":"{b.hex()}"')
    n = sp.flags
    if n:
        append(f'"flags":{n}')
    s = sp.name
    if s:
        append(f'"name":{json_string(s)}')
    n = sp.kind
    if n:
        append(f'"kind":{n}')
    n = sp.start_time_unix_nano
    if n:
        append(f'"startTimeUnixNano":"{n}"')
    n = sp.end_time_unix_nano
    if n:
        append(f'"endTimeUnixNano":"{n}"')
    attrs = sp.attributes
    if attrs:
        if attribute_json is None:
            append(f'"attributes":{attributes_json(attrs)}')
        else:
            append('"attributes":[' + ",".join(map(attribute_json.__getitem__, attrs)) + "]")
    n = sp.dropped_attributes_count
    if n:
        append(f'"droppedAttributesCount":{n}')
    events = sp.events
    if events:
        append('"events":[' + ",".join(_object_json(event, _EVENT) for event in events) + "]")
    n = sp.dropped_events_count
    if n:
        append(f'"droppedEventsCount":{n}')
    links = sp.links
    if links:
        append('"links":[' + ",".join(_object_json(link, _LINK) for link in links) + "]")
    n = sp.dropped_links_count
    if n:
        append(f'"droppedLinksCount":{n}')
    append(f'"status":{_status_json(sp.status)}')
    return "{" + ",".join(out) + "}"


_ENTITY_REF: Fields = (
    ("schema_url", "schemaUrl", json_string), ("type", "type", json_string), ("id_keys", "idKeys", _strings),
    ("description_keys", "descriptionKeys", _strings),
)
_RESOURCE: Fields = (
    ("attributes", "attributes", attributes_json), ("dropped_attributes_count", "droppedAttributesCount", str),
    ("entity_refs", "entityRefs", lambda refs: "[" + ",".join(_object_json(ref, _ENTITY_REF) for ref in refs) + "]"),
)
_SCOPE: Fields = (
    ("name", "name", json_string), ("version", "version", json_string),
    ("attributes", "attributes", attributes_json), ("dropped_attributes_count", "droppedAttributesCount", str),
)


def resource_json(resource: Resource) -> str:
    return _object_json(resource, _RESOURCE)


def scope_json(scope: InstrumentationScope) -> str:
    return _object_json(scope, _SCOPE)


def schema_suffix(url: str) -> str:
    return ',"schemaUrl":' + json_string(url) if url else ""


def _scope_spans_json(ss: ScopeSpans) -> str:
    spans = ss.spans
    body = ',"spans":[' + ",".join(map(span_json, spans)) + "]" if spans else ""
    return '{"scope":' + scope_json(ss.scope) + body + schema_suffix(ss.schema_url) + "}"


def _resource_spans_json(rs: ResourceSpans) -> str:
    sss = rs.scope_spans
    body = ',"scopeSpans":[' + ",".join(map(_scope_spans_json, sss)) + "]" if sss else ""
    return '{"resource":' + resource_json(rs.resource) + body + schema_suffix(rs.schema_url) + "}"


def encode_request_json(req: ExportTraceServiceRequest | TracesData) -> str:
    """OTLP/JSON text of an ExportTraceServiceRequest (or TracesData), Collector style, compact."""
    rss = req.resource_spans
    if not rss:
        return "{}"
    return '{"resourceSpans":[' + ",".join(map(_resource_spans_json, rss)) + "]}"
