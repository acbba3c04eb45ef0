"""OTLP/JSON codec for traces and kubespan's one-span-per-line JSONL dump format.

Headless core: no terminal UI imports.

Decoding follows the Collector's lenient pdata reader (lowerCamelCase or
snake_case keys, hex ids in either case, enum numbers or names, 64-bit ints as
numbers or strings, unknown fields ignored). Encoding follows the Collector's
pdata JSON writer (lowerCamelCase keys in proto field order, lowercase hex ids,
enums as numbers, 64-bit ints as decimal strings, zero fields omitted, but
``"resource"``, ``"scope"``, ``"status"`` and a KeyValue's ``"value"`` always
written).

Canonical form: like pdata, the decoder always sets ``ResourceSpans.resource``,
``ScopeSpans.scope``, ``Span.status`` and ``KeyValue.value`` (possibly empty),
because pdata always writes them, in JSON and in protobuf. A request in this
form survives ``decode_traces_json(encode_request_json(r)) == r``.

Nesting limit: at most :data:`MAX_VALUE_NESTING` ``arrayValue``/``kvlistValue``
levels inside one attribute value. Deeper values would exceed protobuf's
default recursion limit (100 message levels) once the request is serialised,
so kubespan's own gRPC receiver could not accept them either.
"""

from __future__ import annotations

import binascii
import json
import logging
import math
import re
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Callable, Iterable, Iterator

from google.protobuf import json_format
from google.protobuf.descriptor import FieldDescriptor
from google.protobuf.message import Message
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, InstrumentationScope
from opentelemetry.proto.resource.v1.resource_pb2 import Resource
from opentelemetry.proto.trace.v1.trace_pb2 import ResourceSpans, ScopeSpans, Span, Status

__all__ = [
    "MAX_VALUE_NESTING",
    "DumpLineError",
    "JsonDecodeError",
    "decode_traces_json",
    "encode_message_json",
    "encode_request_json",
    "encode_span_lines",
    "iter_dump_requests",
]

log = logging.getLogger(__name__)

MAX_VALUE_NESTING = 30
"""Maximum number of nested arrayValue/kvlistValue levels in one AnyValue."""

TRACE_ID_SIZE = 16
SPAN_ID_SIZE = 8

_U32_MAX = 2**32 - 1
_U64_MAX = 2**64 - 1
_I64_MIN = -(2**63)
_I64_MAX = 2**63 - 1
_I32_MIN = -(2**31)
_I32_MAX = 2**31 - 1


# --------------------------------------------------------------------------
# Errors
# --------------------------------------------------------------------------


class JsonDecodeError(ValueError):
    """Invalid OTLP/JSON input. ``path`` says where (may be empty), ``reason`` what."""

    def __init__(self, path: str, reason: str) -> None:
        self.path = path
        self.reason = reason
        super().__init__(f"{path}: {reason}" if path else reason)


class _Fail(Exception):
    """Internal: a decode failure collecting its JSON path on the way up."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason
        self.parts: list[str] = []

    def at(self, part: str) -> "_Fail":
        self.parts.append(part)
        return self

    def public(self) -> JsonDecodeError:
        path = ".".join(reversed(self.parts)).replace(".[", "[")
        return JsonDecodeError(path, self.reason)


def _jtype(val: object) -> str:
    """The JSON type name of a decoded JSON value, for messages."""
    if val is None:
        return "null"
    if isinstance(val, bool):
        return "boolean"
    if isinstance(val, (int, float)):
        return "number"
    if isinstance(val, str):
        return "string"
    if isinstance(val, list):
        return "array"
    return "object"


def _want(what: str, val: object) -> _Fail:
    return _Fail(f"want {what}, got {_jtype(val)}")


def _short(s: str, limit: int = 40) -> str:
    return repr(s if len(s) <= limit else s[:limit] + "...")


def _index_of(seq: list, item: object) -> int:
    """Position of ``item`` (by identity) in ``seq``; used only on the error path."""
    for i, x in enumerate(seq):
        if x is item:
            return i
    return -1


# --------------------------------------------------------------------------
# Scalar readers
# --------------------------------------------------------------------------


def _str(val: object) -> str:
    if type(val) is str:
        if not val.isascii():
            try:
                val.encode("utf-8")
            except UnicodeEncodeError:
                raise _Fail("string is not valid Unicode (lone surrogate)") from None
        return val
    raise _want("a string", val)


def _bool(val: object) -> bool:
    if type(val) is bool:
        return val
    raise _want("a boolean", val)


def _uint(val: object, top: int) -> int:
    """Unsigned integer from a JSON number or a decimal string, at most ``top``."""
    t = type(val)
    if t is int:
        n = val
    elif t is str:
        if not (val.isascii() and val.isdigit()):
            raise _Fail(f"invalid unsigned integer {_short(val)}")
        n = int(val)
    elif t is float and val.is_integer():
        n = int(val)
    else:
        raise _want("an unsigned integer", val)
    if 0 <= n <= top:
        return n
    raise _Fail(f"integer {n} out of range [0, {top}]")


def _int64(val: object) -> int:
    t = type(val)
    if t is int:
        n = val
    elif t is str:
        digits = val[1:] if val[:1] in ("-", "+") else val
        if not (digits.isascii() and digits.isdigit()):
            raise _Fail(f"invalid integer {_short(val)}")
        n = int(val)
    elif t is float and val.is_integer():
        n = int(val)
    else:
        raise _want("an integer", val)
    if _I64_MIN <= n <= _I64_MAX:
        return n
    raise _Fail(f"integer {n} out of int64 range")


_NUMBER_RE = re.compile(r"[-+]?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][-+]?[0-9]+)?\Z")
_FLOAT_WORDS = {
    "nan": math.nan,
    "inf": math.inf,
    "+inf": math.inf,
    "-inf": -math.inf,
    "infinity": math.inf,
    "+infinity": math.inf,
    "-infinity": -math.inf,
}


def _double(val: object) -> float:
    t = type(val)
    if t is float:
        return val
    if t is int:
        try:
            return float(val)
        except OverflowError:
            raise _Fail(f"number {val} out of double range") from None
    if t is str:
        word = _FLOAT_WORDS.get(val.lower())
        if word is not None:
            return word
        if _NUMBER_RE.match(val):
            d = float(val)
            if not math.isinf(d):
                return d
        raise _Fail(f"invalid number {_short(val)}")
    raise _want("a number", val)


def _enum(val: object, names: dict[str, int]) -> int:
    t = type(val)
    if t is int:
        if _I32_MIN <= val <= _I32_MAX:
            return val
        raise _Fail(f"enum value {val} out of int32 range")
    if t is str:
        n = names.get(val)
        if n is not None:
            return n
        raise _Fail(f"unknown enum value {_short(val)}")
    raise _want("an enum number or name", val)


_SPAN_KIND_NAMES = dict(Span.SpanKind.items())
_STATUS_CODE_NAMES = dict(Status.StatusCode.items())


def _id(val: object, size: int, strict: bool) -> bytes:
    """Trace/span id from a hex string; "" is the empty id."""
    if type(val) is not str:
        raise _want("a hex string", val)
    if not val:
        return b""
    try:
        raw = binascii.unhexlify(val)
    except (binascii.Error, ValueError):
        raise _Fail(f"invalid hex id {_short(val)}") from None
    if strict and len(raw) != size:
        raise _Fail(f"length mismatch: want {size} bytes, got {len(raw)}")
    return raw


_B64_RE = re.compile(r"[A-Za-z0-9+/]*={0,2}\Z")


def _b64(val: object) -> bytes:
    """Bytes from standard or URL-safe base64, padding optional (proto3 JSON)."""
    if type(val) is not str:
        raise _want("a base64 string", val)
    s = val
    if "-" in s or "_" in s:
        s = s.replace("-", "+").replace("_", "/")
    s += "=" * (-len(s) % 4)
    if len(s) % 4 == 0 and _B64_RE.match(s):
        try:
            return binascii.a2b_base64(s)
        except binascii.Error:
            pass
    raise _Fail(f"invalid base64 {_short(val)}")


def _list(val: object) -> list:
    if type(val) is list:
        return val
    raise _want("an array", val)


def _obj(val: object) -> dict:
    if type(val) is dict:
        return val
    raise _want("an object", val)


# --------------------------------------------------------------------------
# Message decoders (dict -> protobuf, filling a message in place)
# --------------------------------------------------------------------------


def _dec_attrs(container: Any, arr: object, depth: int) -> None:
    """Decode a JSON array of KeyValue into a repeated KeyValue container."""
    add = container.add
    items = _list(arr)
    item = None
    try:
        for item in items:
            kv = add()
            if type(item) is not dict:
                if item is not None:
                    raise _want("an object", item)
                kv.value.SetInParent()
                continue
            key = item.get("key")
            if type(key) is str and key.isascii():
                kv.key = key
            elif key is not None:
                try:
                    kv.key = _str(key)
                except _Fail as e:
                    raise e.at("key")
            value = item.get("value")
            if type(value) is dict:
                sv = value.get("stringValue")
                if type(sv) is str and sv.isascii() and len(value) == 1:  # the common case
                    kv.value.string_value = sv
                    continue
            elif value is None:
                kv.value.SetInParent()
                continue
            try:
                _dec_any(kv.value, value, depth)
            except _Fail as e:
                raise e.at("value")
    except _Fail as e:
        raise e.at(f"[{_index_of(items, item)}]")


_ANY_STRING, _ANY_BOOL, _ANY_INT, _ANY_DOUBLE, _ANY_ARRAY, _ANY_KVLIST, _ANY_BYTES = range(7)
_ANY_KEYS = {
    "stringValue": _ANY_STRING,
    "string_value": _ANY_STRING,
    "boolValue": _ANY_BOOL,
    "bool_value": _ANY_BOOL,
    "intValue": _ANY_INT,
    "int_value": _ANY_INT,
    "doubleValue": _ANY_DOUBLE,
    "double_value": _ANY_DOUBLE,
    "arrayValue": _ANY_ARRAY,
    "array_value": _ANY_ARRAY,
    "kvlistValue": _ANY_KVLIST,
    "kvlist_value": _ANY_KVLIST,
    "bytesValue": _ANY_BYTES,
    "bytes_value": _ANY_BYTES,
}


def _dec_any(av: AnyValue, obj: object, depth: int) -> None:
    """Decode an AnyValue object into ``av``; ``depth`` counts enclosing array/kvlist levels."""
    if type(obj) is not dict:
        raise _want("an object", obj)
    av.SetInParent()
    for key, val in obj.items():
        kind = _ANY_KEYS.get(key)
        if kind is None or val is None:
            continue
        try:
            if kind == _ANY_STRING:
                av.string_value = _str(val)
            elif kind == _ANY_INT:
                av.int_value = _int64(val)
            elif kind == _ANY_BOOL:
                av.bool_value = _bool(val)
            elif kind == _ANY_DOUBLE:
                av.double_value = _double(val)
            elif kind == _ANY_BYTES:
                av.bytes_value = _b64(val)
            else:
                _dec_nested(av, kind, _obj(val), depth + 1)
        except _Fail as e:
            raise e.at(key)


def _dec_nested(av: AnyValue, kind: int, obj: dict, depth: int) -> None:
    """Decode an ArrayValue or KeyValueList object into ``av``."""
    if depth > MAX_VALUE_NESTING:
        raise _Fail(f"value nesting deeper than {MAX_VALUE_NESTING} levels")
    target = av.array_value if kind == _ANY_ARRAY else av.kvlist_value
    target.SetInParent()
    values = obj.get("values")
    if values is None:
        return
    try:
        if kind == _ANY_KVLIST:
            _dec_attrs(target.values, values, depth)
            return
        add = target.values.add
        items = _list(values)
        item = None
        try:
            for item in items:
                elem = add()
                if item is not None:
                    _dec_any(elem, item, depth)
        except _Fail as e:
            raise e.at(f"[{_index_of(items, item)}]")
    except _Fail as e:
        raise e.at("values")


def _dec_repeated(container: Any, arr: object, fill: Callable[[Any, dict], None]) -> None:
    """Decode a JSON array of objects into a repeated message container via ``fill``."""
    add = container.add
    items = _list(arr)
    item = None
    try:
        for item in items:
            msg = add()
            if type(item) is dict:
                fill(msg, item)
            elif item is None:
                fill(msg, {})
            else:
                raise _want("an object", item)
    except _Fail as e:
        raise e.at(f"[{_index_of(items, item)}]")


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
                _dec_attrs(span.attributes, val, 0)
            elif f == "name":
                span.name = _str(val)
            elif f == "trace_id":
                span.trace_id = _id(val, TRACE_ID_SIZE, strict)
            elif f == "span_id":
                span.span_id = _id(val, SPAN_ID_SIZE, strict)
            elif f == "parent_span_id":
                span.parent_span_id = _id(val, SPAN_ID_SIZE, strict)
            elif f == "kind":
                span.kind = _enum(val, _SPAN_KIND_NAMES)
            elif f == "start_time_unix_nano":
                span.start_time_unix_nano = _uint(val, _U64_MAX)
            elif f == "end_time_unix_nano":
                span.end_time_unix_nano = _uint(val, _U64_MAX)
            elif f == "status":
                _dec_status(span.status, _obj(val))
            elif f == "flags":
                span.flags = _uint(val, _U32_MAX)
            elif f == "trace_state":
                span.trace_state = _str(val)
            elif f == "events":
                _dec_repeated(span.events, val, _dec_event)
            elif f == "links":
                _dec_repeated(span.links, val, lambda m, o: _dec_link(m, o, strict))
            elif f == "dropped_attributes_count":
                span.dropped_attributes_count = _uint(val, _U32_MAX)
            elif f == "dropped_events_count":
                span.dropped_events_count = _uint(val, _U32_MAX)
            elif f == "dropped_links_count":
                span.dropped_links_count = _uint(val, _U32_MAX)
        except _Fail as e:
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
                status.code = _enum(val, _STATUS_CODE_NAMES)
            else:
                status.message = _str(val)
        except _Fail as e:
            raise e.at(key)


_EVENT_KEYS = _keymap("time_unix_nano", "name", "attributes", "dropped_attributes_count")


def _dec_event(event: Span.Event, obj: dict) -> None:
    for key, val in obj.items():
        f = _EVENT_KEYS.get(key)
        if f is None or val is None:
            continue
        try:
            if f == "time_unix_nano":
                event.time_unix_nano = _uint(val, _U64_MAX)
            elif f == "name":
                event.name = _str(val)
            elif f == "attributes":
                _dec_attrs(event.attributes, val, 0)
            else:
                event.dropped_attributes_count = _uint(val, _U32_MAX)
        except _Fail as e:
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
                link.trace_id = _id(val, TRACE_ID_SIZE, strict)
            elif f == "span_id":
                link.span_id = _id(val, SPAN_ID_SIZE, strict)
            elif f == "trace_state":
                link.trace_state = _str(val)
            elif f == "attributes":
                _dec_attrs(link.attributes, val, 0)
            elif f == "dropped_attributes_count":
                link.dropped_attributes_count = _uint(val, _U32_MAX)
            else:
                link.flags = _uint(val, _U32_MAX)
        except _Fail as e:
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
                _dec_attrs(res.attributes, val, 0)
            elif f == "dropped_attributes_count":
                res.dropped_attributes_count = _uint(val, _U32_MAX)
            else:
                _dec_repeated(res.entity_refs, val, _dec_entity_ref)
        except _Fail as e:
            raise e.at(key)


def _dec_entity_ref(ref: Any, obj: dict) -> None:
    for key, val in obj.items():
        f = _ENTITY_REF_KEYS.get(key)
        if f is None or val is None:
            continue
        try:
            if f in ("schema_url", "type"):
                setattr(ref, f, _str(val))
            else:
                getattr(ref, f).extend(_str_list(val))
        except _Fail as e:
            raise e.at(key)


def _str_list(val: object) -> list[str]:
    items = _list(val)
    for i, item in enumerate(items):
        try:
            _str(item)
        except _Fail as e:
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
                scope.name = _str(val)
            elif f == "version":
                scope.version = _str(val)
            elif f == "attributes":
                _dec_attrs(scope.attributes, val, 0)
            else:
                scope.dropped_attributes_count = _uint(val, _U32_MAX)
        except _Fail as e:
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
                _dec_scope(ss.scope, _obj(val))
            else:
                ss.schema_url = _str(val)
        except _Fail as e:
            raise e.at(key)
    ss.scope.SetInParent()


def _dec_spans(container: Any, arr: object, strict: bool) -> None:
    add = container.add
    items = _list(arr)
    item = None
    try:
        for item in items:
            span = add()
            if type(item) is dict:
                _dec_span(span, item, strict)
            elif item is None:
                span.status.SetInParent()
            else:
                raise _want("an object", item)
    except _Fail as e:
        raise e.at(f"[{_index_of(items, item)}]")


_RESOURCE_SPANS_KEYS = _keymap("resource", "scope_spans", "schema_url")


def _dec_resource_spans(rs: ResourceSpans, obj: dict, strict: bool) -> None:
    for key, val in obj.items():
        f = _RESOURCE_SPANS_KEYS.get(key)
        if f is None or val is None:
            continue
        try:
            if f == "scope_spans":
                _dec_repeated(rs.scope_spans, val, lambda m, o: _dec_scope_spans(m, o, strict))
            elif f == "resource":
                _dec_resource(rs.resource, _obj(val))
            else:
                rs.schema_url = _str(val)
        except _Fail as e:
            raise e.at(key)
    rs.resource.SetInParent()


def _reject_constant(name: str) -> None:
    raise _Fail(f"invalid JSON: {name} is not a JSON value")


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
    try:
        return json.loads(text, parse_constant=_reject_constant)
    except json.JSONDecodeError as e:
        raise JsonDecodeError(
            "", f"invalid JSON: {e.msg} (line {e.lineno} column {e.colno})"
        ) from None
    except _Fail as e:
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
        raise JsonDecodeError("", f"top-level value must be a JSON object, got {_jtype(obj)}")
    req = ExportTraceServiceRequest()
    try:
        for key, val in obj.items():
            if (key == "resourceSpans" or key == "resource_spans") and val is not None:
                try:
                    _dec_repeated(
                        req.resource_spans, val, lambda m, o: _dec_resource_spans(m, o, strict_ids)
                    )
                except _Fail as e:
                    raise e.at(key)
    except _Fail as e:
        raise e.public() from None
    except (ValueError, TypeError, OverflowError) as e:  # safety net: protobuf rejected a value
        raise JsonDecodeError("", f"invalid value: {e}") from None
    return req


# --------------------------------------------------------------------------
# Encoder (protobuf -> JSON text, the Collector's writer style)
# --------------------------------------------------------------------------

_esc = json.encoder.encode_basestring  # quotes and escapes; non-ASCII stays raw like Go


def _fmt_double(d: float) -> str:
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
        return '{"stringValue":' + _esc(v.string_value) + "}"
    if w == "int_value":
        return '{"intValue":"' + str(v.int_value) + '"}'
    if w == "bool_value":
        return '{"boolValue":true}' if v.bool_value else '{"boolValue":false}'
    if w == "double_value":
        return '{"doubleValue":' + _fmt_double(v.double_value) + "}"
    if w == "array_value":
        vals = v.array_value.values
        if not vals:
            return '{"arrayValue":{}}'
        return '{"arrayValue":{"values":[' + ",".join(map(_any_json, vals)) + "]}}"
    if w == "kvlist_value":
        vals = v.kvlist_value.values
        if not vals:
            return '{"kvlistValue":{}}'
        return '{"kvlistValue":{"values":' + _attrs_json(vals) + "}}"
    if w == "bytes_value":
        return '{"bytesValue":"' + binascii.b2a_base64(v.bytes_value, newline=False).decode() + '"}'
    return "{}"


def _attrs_json(attrs: Any) -> str:
    """JSON array for a non-empty repeated KeyValue."""
    out = []
    append = out.append
    esc = _esc
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


def _event_json(e: Span.Event) -> str:
    out = []
    if e.time_unix_nano:
        out.append('"timeUnixNano":"' + str(e.time_unix_nano) + '"')
    if e.name:
        out.append('"name":' + _esc(e.name))
    if e.attributes:
        out.append('"attributes":' + _attrs_json(e.attributes))
    if e.dropped_attributes_count:
        out.append('"droppedAttributesCount":' + str(e.dropped_attributes_count))
    return "{" + ",".join(out) + "}"


def _link_json(ln: Span.Link) -> str:
    out = []
    if ln.trace_id:
        out.append('"traceId":"' + ln.trace_id.hex() + '"')
    if ln.span_id:
        out.append('"spanId":"' + ln.span_id.hex() + '"')
    if ln.trace_state:
        out.append('"traceState":' + _esc(ln.trace_state))
    if ln.attributes:
        out.append('"attributes":' + _attrs_json(ln.attributes))
    if ln.dropped_attributes_count:
        out.append('"droppedAttributesCount":' + str(ln.dropped_attributes_count))
    if ln.flags:
        out.append('"flags":' + str(ln.flags))
    return "{" + ",".join(out) + "}"


def _status_json(st: Status) -> str:
    msg = st.message
    code = st.code
    if msg:
        if code:
            return '{"message":' + _esc(msg) + ',"code":' + str(code) + "}"
        return '{"message":' + _esc(msg) + "}"
    if code:
        return '{"code":' + str(code) + "}"
    return "{}"


def _span_json(sp: Span) -> str:
    """JSON object for one span, fields in proto declaration order like pdata."""
    out = []
    append = out.append
    b = sp.trace_id
    if b:
        append(f'"traceId":"{b.hex()}"')
    b = sp.span_id
    if b:
        append(f'"spanId":"{b.hex()}"')
    s = sp.trace_state
    if s:
        append(f'"traceState":{_esc(s)}')
    b = sp.parent_span_id
    if b:
        append(f'"parentSpanId":"{b.hex()}"')
    n = sp.flags
    if n:
        append(f'"flags":{n}')
    s = sp.name
    if s:
        append(f'"name":{_esc(s)}')
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
        append(f'"attributes":{_attrs_json(attrs)}')
    n = sp.dropped_attributes_count
    if n:
        append(f'"droppedAttributesCount":{n}')
    events = sp.events
    if events:
        append('"events":[' + ",".join(map(_event_json, events)) + "]")
    n = sp.dropped_events_count
    if n:
        append(f'"droppedEventsCount":{n}')
    links = sp.links
    if links:
        append('"links":[' + ",".join(map(_link_json, links)) + "]")
    n = sp.dropped_links_count
    if n:
        append(f'"droppedLinksCount":{n}')
    append(f'"status":{_status_json(sp.status)}')
    return "{" + ",".join(out) + "}"


def _resource_json(res: Resource) -> str:
    out = []
    if res.attributes:
        out.append('"attributes":' + _attrs_json(res.attributes))
    if res.dropped_attributes_count:
        out.append('"droppedAttributesCount":' + str(res.dropped_attributes_count))
    if res.entity_refs:
        out.append('"entityRefs":[' + ",".join(map(_entity_ref_json, res.entity_refs)) + "]")
    return "{" + ",".join(out) + "}"


def _entity_ref_json(ref: Any) -> str:
    out = []
    if ref.schema_url:
        out.append('"schemaUrl":' + _esc(ref.schema_url))
    if ref.type:
        out.append('"type":' + _esc(ref.type))
    if ref.id_keys:
        out.append('"idKeys":[' + ",".join(map(_esc, ref.id_keys)) + "]")
    if ref.description_keys:
        out.append('"descriptionKeys":[' + ",".join(map(_esc, ref.description_keys)) + "]")
    return "{" + ",".join(out) + "}"


def _scope_json(scope: InstrumentationScope) -> str:
    out = []
    if scope.name:
        out.append('"name":' + _esc(scope.name))
    if scope.version:
        out.append('"version":' + _esc(scope.version))
    if scope.attributes:
        out.append('"attributes":' + _attrs_json(scope.attributes))
    if scope.dropped_attributes_count:
        out.append('"droppedAttributesCount":' + str(scope.dropped_attributes_count))
    return "{" + ",".join(out) + "}"


def _schema_suffix(url: str) -> str:
    return ',"schemaUrl":' + _esc(url) if url else ""


def _scope_spans_json(ss: ScopeSpans) -> str:
    spans = ss.spans
    body = ',"spans":[' + ",".join(map(_span_json, spans)) + "]" if spans else ""
    return '{"scope":' + _scope_json(ss.scope) + body + _schema_suffix(ss.schema_url) + "}"


def _resource_spans_json(rs: ResourceSpans) -> str:
    sss = rs.scope_spans
    body = ',"scopeSpans":[' + ",".join(map(_scope_spans_json, sss)) + "]" if sss else ""
    return '{"resource":' + _resource_json(rs.resource) + body + _schema_suffix(rs.schema_url) + "}"


def encode_request_json(req: Message) -> str:
    """OTLP/JSON text of an ExportTraceServiceRequest (or TracesData), Collector style, compact."""
    rss = req.resource_spans
    if not rss:
        return "{}"
    return '{"resourceSpans":[' + ",".join(map(_resource_spans_json, rss)) + "]}"


def encode_span_lines(req: Message) -> list[str]:
    """One complete OTLP/JSON request per span, without newlines; join with "\\n".

    Each line holds one ResourceSpans (resource and schemaUrl kept) with one
    ScopeSpans (scope and schemaUrl kept) with one span.
    """
    lines: list[str] = []
    extend = lines.extend
    for rs in req.resource_spans:
        rs_head = '{"resourceSpans":[{"resource":' + _resource_json(rs.resource)
        rs_tail = _schema_suffix(rs.schema_url) + "}]}"
        for ss in rs.scope_spans:
            spans = ss.spans
            if not spans:
                continue
            prefix = rs_head + ',"scopeSpans":[{"scope":' + _scope_json(ss.scope) + ',"spans":['
            suffix = "]" + _schema_suffix(ss.schema_url) + "}]" + rs_tail
            extend([prefix + _span_json(sp) + suffix for sp in spans])
    return lines


# Generic writer for small response messages (ExportTraceServiceResponse, google.rpc.Status).

_ALWAYS_WRITTEN = {
    (ExportTraceServiceResponse.DESCRIPTOR.full_name, "partial_success"),
}
_FD = FieldDescriptor
_INT64_TYPES = {_FD.TYPE_INT64, _FD.TYPE_UINT64, _FD.TYPE_FIXED64, _FD.TYPE_SFIXED64, _FD.TYPE_SINT64}
_TYPE_DOUBLE, _TYPE_FLOAT, _TYPE_BOOL = _FD.TYPE_DOUBLE, _FD.TYPE_FLOAT, _FD.TYPE_BOOL
_TYPE_STRING, _TYPE_MESSAGE, _TYPE_BYTES = _FD.TYPE_STRING, _FD.TYPE_MESSAGE, _FD.TYPE_BYTES


def _scalar_json(fd: Any, value: Any) -> str:
    t = fd.type
    if t == _TYPE_STRING:
        return _esc(value)
    if t == _TYPE_BOOL:
        return "true" if value else "false"
    if t in (_TYPE_DOUBLE, _TYPE_FLOAT):
        return _fmt_double(value)
    if t == _TYPE_BYTES:
        return '"' + binascii.b2a_base64(value, newline=False).decode() + '"'
    if t in _INT64_TYPES:
        return '"' + str(value) + '"'
    return str(int(value))  # 32-bit ints and enums


def _value_json(fd: Any, value: Any) -> str:
    if fd.type != _TYPE_MESSAGE:
        return _scalar_json(fd, value)
    if fd.message_type.full_name == "google.protobuf.Any":
        return json.dumps(json_format.MessageToDict(value), separators=(",", ":"))
    return _generic_json(value)


def _generic_json(msg: Message) -> str:
    """pdata-style JSON of any message: declaration order, zero fields omitted."""
    out = []
    full_name = msg.DESCRIPTOR.full_name
    for fd in msg.DESCRIPTOR.fields:
        value = getattr(msg, fd.name)
        if _is_repeated(fd):
            if len(value):
                out.append(
                    _esc(fd.json_name)
                    + ":["
                    + ",".join(_value_json(fd, v) for v in value)
                    + "]"
                )
        elif fd.type == _TYPE_MESSAGE:
            if msg.HasField(fd.name) or (full_name, fd.name) in _ALWAYS_WRITTEN:
                out.append(_esc(fd.json_name) + ":" + _generic_json(value))
        elif value:
            out.append(_esc(fd.json_name) + ":" + _scalar_json(fd, value))
    return "{" + ",".join(out) + "}"


def _is_repeated(fd: Any) -> bool:
    rep = getattr(fd, "is_repeated", None)
    if rep is not None:
        return bool(rep)
    return fd.label == fd.LABEL_REPEATED


def encode_message_json(msg: Message) -> str:
    """Collector-style compact JSON of any message.

    Trace requests use the fast span writer; ``ExportTraceServiceResponse()``
    gives ``{"partialSuccess":{}}`` like the Collector; a ``google.rpc.Status``
    gives ``{"code":3,"message":"..."}``.
    """
    if msg.DESCRIPTOR.full_name in (
        ExportTraceServiceRequest.DESCRIPTOR.full_name,
        "opentelemetry.proto.trace.v1.TracesData",
    ):
        return encode_request_json(msg)
    return _generic_json(msg)


# --------------------------------------------------------------------------
# Dump reader
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class DumpLineError:
    """A dump line that could not be decoded.

    ``line_no`` is 1-based. ``last`` is true for the final non-empty line
    (typically torn by a crash or a writer still running); ``torn`` is true when
    that line also lacks its terminating newline.
    """

    line_no: int
    error: JsonDecodeError
    last: bool
    torn: bool

    def __str__(self) -> str:
        what = "torn last line skipped" if self.torn else "line skipped"
        return f"line {self.line_no}: {what}: {self.error}"


def _log_dump_error(err: DumpLineError) -> None:
    log.warning("%s", err)


def iter_dump_requests(
    lines: Iterable[bytes | str],
    *,
    on_error: Callable[[DumpLineError], None] | None = None,
    strict_ids: bool = False,
) -> Iterator[ExportTraceServiceRequest]:
    """Stream requests from JSONL dump lines, one OTLP/JSON document per non-empty line.

    Reads both kubespan's one-span-per-line dumps and the Collector file
    exporter's one-batch-per-line files. Works on any iterable of lines, e.g.
    a file opened in binary mode, without reading it all. Undecodable lines are
    skipped and reported to ``on_error`` (default: a logged warning) with
    their line number; the report for a bad line is made once the next
    non-empty line is seen, so ``DumpLineError.last`` is accurate.
    """
    report = on_error or _log_dump_error
    pending: tuple[int, JsonDecodeError, bool] | None = None
    for line_no, line in enumerate(lines, 1):
        if not line.strip():
            continue
        if pending is not None:
            report(DumpLineError(pending[0], pending[1], last=False, torn=False))
            pending = None
        try:
            req = decode_traces_json(line, strict_ids=strict_ids)
        except JsonDecodeError as e:
            ends = line.endswith(b"\n" if isinstance(line, (bytes, bytearray)) else "\n")
            pending = (line_no, e, not ends)
            continue
        yield req
    if pending is not None:
        report(DumpLineError(pending[0], pending[1], last=True, torn=pending[2]))
