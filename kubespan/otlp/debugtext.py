"""The Collector's debug-exporter text for traces (``kubespan serve --print``).

Reproduces, byte for byte, what the OpenTelemetry Collector's ``debug``
exporter prints with ``verbosity: detailed`` and ``use_internal_logger: false``
(format of collector v0.159), and, with ``legacy=True``, what the old
``logging`` exporter of collector v0.54 printed with ``loglevel: debug``.

One deliberate difference: text from the network (names, keys, values, schema
URLs, trace states, status messages) goes through :func:`kubespan.otlp.inert.escape`,
so ESC, BEL, CR, DEL, C1 controls and bidi overrides print as ``\\x1b``-style
escapes instead of acting on the terminal (Go prints them raw). Tabs and newlines
print as the Collector prints them; text without control characters is unchanged.

Headless core: no UI imports. Nothing here raises on a valid protobuf message:
values nested thousands of levels deep are walked with explicit stacks, and
timestamps are converted with integer arithmetic (no ``datetime``).

Legacy (v0.54) decisions, reconstructed from the collector's
``exporter/loggingexporter/internal/otlptext`` of that era:

* summary line ``TracesExporter\\t{"#spans": N}`` (the logging exporter before
  v0.76), then the blob, then a blank line, as for the current format;
* ``Resource labels:`` header (renamed to ``Resource attributes`` in v0.59);
  ``ScopeSpans`` / ``InstrumentationScope`` lines as today, but no
  ``InstrumentationScope attributes`` block, no entity refs, no ``TraceState``
  span line and no ``Dropped*Count`` span lines;
* ``Kind`` and ``Status code`` use the proto enum names
  (``SPAN_KIND_SERVER``, ``STATUS_CODE_UNSET``); an unknown number prints as
  its decimal value (gogo-proto ``String()``), where the current format prints
  an empty string;
* type names ``STRING INT DOUBLE BOOL MAP SLICE BYTES EMPTY``; doubles use Go's
  ``FormatFloat(f, 'f', -1, 64)`` (never an exponent, ``NaN``, ``+Inf``);
  slices print as ``[a, b]`` (elements rendered the same way, recursively);
  maps print as ``{\\n     -> k: TYPE(v)\\n}`` with keys sorted (stable), the
  nested values rendered with ``AsString`` (JSON for maps/slices, with Go's
  HTML escaping of that era); a top-level or in-slice BYTES or EMPTY value
  prints ``<Unknown OpenTelemetry attribute value type "BYTES">`` because
  that code had no case for them;
* event and link attributes: ``     -> Attributes:`` then ``         -> k: T(v)``
  (9 spaces).

Current-format notes: a Double that is NaN or infinite prints
``json: unsupported value: NaN`` / ``+Inf`` / ``-Inf`` (pdata's
``float64AsString``), and a Map or Slice holding one anywhere prints empty,
because Go's ``json.Marshal`` fails and pdata ignores the error.
"""

from __future__ import annotations

import binascii
import math
from decimal import Decimal
from functools import lru_cache
from typing import Callable, Iterable

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
)
from opentelemetry.proto.common.v1.common_pb2 import AnyValue
from opentelemetry.proto.resource.v1.resource_pb2 import Resource

from kubespan.otlp.inert import escape


def _e(text: str) -> str:
    """Client text made inert for the terminal; tabs and newlines print as the Collector's."""
    return escape(text, keep_lines=True)

__all__ = [
    "render_traces",
    "render_detailed",
    "summary_line",
    "format_timestamp",
    "format_id",
    "format_double",
    "format_double_legacy",
    "value_to_string",
    "value_as_string",
]

_HAS_ENTITY_REFS = "entity_refs" in Resource.DESCRIPTOR.fields_by_name

_KIND = {0: "Unspecified", 1: "Internal", 2: "Server", 3: "Client", 4: "Producer", 5: "Consumer"}
_STATUS = {0: "Unset", 1: "Ok", 2: "Error"}
_LEGACY_KIND = {
    0: "SPAN_KIND_UNSPECIFIED", 1: "SPAN_KIND_INTERNAL", 2: "SPAN_KIND_SERVER",
    3: "SPAN_KIND_CLIENT", 4: "SPAN_KIND_PRODUCER", 5: "SPAN_KIND_CONSUMER",
}
_LEGACY_STATUS = {0: "STATUS_CODE_UNSET", 1: "STATUS_CODE_OK", 2: "STATUS_CODE_ERROR"}

# ``WhichOneof("value")`` -> type name.
_TYPE = {
    "string_value": "Str", "bool_value": "Bool", "int_value": "Int", "double_value": "Double",
    "array_value": "Slice", "kvlist_value": "Map", "bytes_value": "Bytes", None: "Empty",
}
_LEGACY_TYPE = {
    "string_value": "STRING", "bool_value": "BOOL", "int_value": "INT", "double_value": "DOUBLE",
    "array_value": "SLICE", "kvlist_value": "MAP", "bytes_value": "BYTES", None: "EMPTY",
}

_U64 = (1 << 64) - 1
_I64_SIGN = 1 << 63
_INF = math.inf


# --------------------------------------------------------------------------- scalars


def format_id(raw: bytes) -> str:
    """Trace/span id as pdata prints it: lowercase hex, ``""`` if empty or all zero."""
    return raw.hex() if raw.lstrip(b"\0") else ""


def _go_year(y: int) -> str:
    return f"{y:04d}" if y >= 0 else "-" + f"{-y:04d}"


@lru_cache(maxsize=4096)
def _seconds_text(sec: int) -> str:
    """``YYYY-MM-DD HH:MM:SS`` (UTC) for Unix seconds, proleptic Gregorian, any year."""
    days, rem = divmod(sec, 86400)
    # Howard Hinnant's civil_from_days; floor division keeps it exact before 1970.
    z = days + 719468
    era = z // 146097
    doe = z - era * 146097
    yoe = (doe - doe // 1460 + doe // 36524 - doe // 146096) // 365
    doy = doe - (365 * yoe + yoe // 4 - yoe // 100)
    mp = (5 * doy + 2) // 153
    day = doy - (153 * mp + 2) // 5 + 1
    month = mp + 3 if mp < 10 else mp - 9
    year = yoe + era * 400 + (month <= 2)
    hh, rem = divmod(rem, 3600)
    mm, ss = divmod(rem, 60)
    return f"{_go_year(year)}-{month:02d}-{day:02d} {hh:02d}:{mm:02d}:{ss:02d}"


def format_timestamp(unix_nano: int) -> str:
    """Go's ``time.Unix(0, int64(ts)).UTC().String()`` for a uint64 nanosecond stamp.

    Values at or above 2**63 wrap negative (Go's signed conversion), so dates span
    1677-09-21 to 2262-04-11; the calendar arithmetic itself has no year limit and
    would print years as Go does (at least 4 digits, ``-0001`` before year 0).
    The fraction keeps up to 9 digits with trailing zeros (and a lone dot) removed.
    """
    ns = unix_nano & _U64
    if ns & _I64_SIGN:
        ns -= 1 << 64
    sec, frac = divmod(ns, 1_000_000_000)
    if frac:
        return f"{_seconds_text(sec)}.{frac:09d}".rstrip("0") + " +0000 UTC"
    return _seconds_text(sec) + " +0000 UTC"


def _plain(x: float) -> str:
    """Shortest round-tripping digits of a finite float, without exponent."""
    r = repr(x)
    if "e" in r:
        r = format(Decimal(r), "f")
    if "." in r:
        r = r.rstrip("0").rstrip(".")
    return r


def format_double(x: float) -> str:
    """pdata ``float64AsString`` (Go's JSON float form, ECMAScript-like)."""
    if x != x:
        return "json: unsupported value: NaN"
    if x == _INF or x == -_INF:
        return "json: unsupported value: " + ("+Inf" if x > 0 else "-Inf")
    a = -x if x < 0 else x
    if a != 0 and (a < 1e-6 or a >= 1e21):
        r = repr(x)  # Python uses the exponent form in this whole range
        mant, _, exp = r.partition("e")
        if exp[0] == "-" and exp[1] == "0":
            exp = "-" + exp[2:]
        return mant + "e" + exp
    if a < 9007199254740992.0 and x == int(x):
        return "-0" if x == 0 and math.copysign(1.0, x) < 0 else str(int(x))
    return _plain(x)


def format_double_legacy(x: float) -> str:
    """Go ``strconv.FormatFloat(x, 'f', -1, 64)`` (logging exporter before v0.62)."""
    if x != x:
        return "NaN"
    if x == _INF or x == -_INF:
        return "+Inf" if x > 0 else "-Inf"
    if -9007199254740992.0 < x < 9007199254740992.0 and x == int(x):
        return "-0" if x == 0 and math.copysign(1.0, x) < 0 else str(int(x))
    return _plain(x)


def _b64(raw: bytes) -> str:
    return binascii.b2a_base64(raw, newline=False).decode("ascii")


# --------------------------------------------------------------------------- JSON (Go encoding/json)

_JSON_ESC: dict[int, str] = {c: f"\\u{c:04x}" for c in range(0x20)}
_JSON_ESC.update({0x22: '\\"', 0x5C: "\\\\", 0x0A: "\\n", 0x0D: "\\r", 0x09: "\\t",
                  0x2028: "\\u2028", 0x2029: "\\u2029"})
_JSON_ESC_LEGACY = dict(_JSON_ESC)  # Go 1.18: \b and \f as \u00XX, HTML escaped
_JSON_ESC_LEGACY.update({0x3C: "\\u003c", 0x3E: "\\u003e", 0x26: "\\u0026"})
_JSON_ESC.update({0x08: "\\b", 0x0C: "\\f"})  # Go >= 1.22, SetEscapeHTML(false) since v0.152


def _json(root: AnyValue, legacy: bool) -> str:
    """Compact JSON of ``Value.AsRaw()`` as Go's ``json.Marshal`` writes it.

    Keys sorted, last duplicate wins, Empty -> null. Returns ``""`` when Go's
    encoder would fail (NaN or infinite double anywhere), like pdata does.
    Iterative, so nesting depth is unbounded.
    """
    esc = _JSON_ESC_LEGACY if legacy else _JSON_ESC
    out: list[str] = []
    ap = out.append
    stack: list[object] = [root]
    pop, push = stack.pop, stack.append
    while stack:
        item = pop()
        if item.__class__ is str:
            ap(item)  # type: ignore[arg-type]
            continue
        v: AnyValue = item  # type: ignore[assignment]
        w = v.WhichOneof("value")
        if w == "string_value":
            ap('"' + v.string_value.translate(esc) + '"')
        elif w == "int_value":
            ap(str(v.int_value))
        elif w == "double_value":
            d = v.double_value
            if d != d or d == _INF or d == -_INF:
                return ""
            ap(format_double(d))
        elif w == "bool_value":
            ap("true" if v.bool_value else "false")
        elif w == "bytes_value":
            raw = v.bytes_value
            # pdata copies bytes with append(nil, ...): empty becomes a nil slice.
            ap('"' + _b64(raw) + '"' if raw or legacy else "null")
        elif w == "array_value":
            vals = v.array_value.values
            n = len(vals)
            if not n:
                ap("[]")
                continue
            ap("[")
            push("]")
            for i in range(n - 1, -1, -1):
                push(vals[i])
                if i:
                    push(",")
        elif w == "kvlist_value":
            entries: dict[str, AnyValue] = {}
            for kv in v.kvlist_value.values:
                entries[kv.key] = kv.value
            if not entries:
                ap("{}")
                continue
            ap("{")
            push("}")
            keys = sorted(entries)
            for i in range(len(keys) - 1, -1, -1):
                k = keys[i]
                push(entries[k])
                push('"' + k.translate(esc) + '":')
                if i:
                    push(",")
        else:
            ap("null")
    return "".join(out)


# --------------------------------------------------------------------------- values


def value_as_string(v: AnyValue, *, legacy: bool = False) -> str:
    """pdata ``Value.AsString()``."""
    w = v.WhichOneof("value")
    if w == "string_value":
        return v.string_value
    if w == "int_value":
        return str(v.int_value)
    if w == "double_value":
        return format_double(v.double_value)
    if w == "bool_value":
        return "true" if v.bool_value else "false"
    if w == "bytes_value":
        return _b64(v.bytes_value)
    if w is None:
        return ""
    return _json(v, legacy)


def _legacy_map(values: Iterable) -> str:
    """v0.54 ``mapToString``: keys sorted (stable), values through ``AsString``."""
    parts = ["{\n"]
    for kv in sorted(values, key=lambda kv: kv.key):
        val = kv.value
        parts.append(f"     -> {_e(kv.key)}: {_LEGACY_TYPE[val.WhichOneof('value')]}"
                     f"({_e(value_as_string(val, legacy=True))})\n")
    parts.append("}")
    return "".join(parts)


_UNKNOWN = '<Unknown OpenTelemetry attribute value type "{}">'


def _legacy_text(root: AnyValue) -> str:
    """v0.54 ``attributeValueToString`` (iterative over nested slices)."""
    out: list[str] = []
    ap = out.append
    stack: list[object] = [root]
    pop, push = stack.pop, stack.append
    while stack:
        item = pop()
        if item.__class__ is str:
            ap(item)  # type: ignore[arg-type]
            continue
        v: AnyValue = item  # type: ignore[assignment]
        w = v.WhichOneof("value")
        if w == "string_value":
            ap(_e(v.string_value))
        elif w == "int_value":
            ap(str(v.int_value))
        elif w == "double_value":
            ap(format_double_legacy(v.double_value))
        elif w == "bool_value":
            ap("true" if v.bool_value else "false")
        elif w == "array_value":
            vals = v.array_value.values
            ap("[")
            push("]")
            for i in range(len(vals) - 1, -1, -1):
                push(vals[i])
                if i:
                    push(", ")
        elif w == "kvlist_value":
            ap(_legacy_map(v.kvlist_value.values))
        else:
            ap(_UNKNOWN.format(_LEGACY_TYPE[w]))
    return "".join(out)


def value_to_string(v: AnyValue, *, legacy: bool = False) -> str:
    """An attribute value as printed after ``key: ``, e.g. ``Str(x)`` / ``STRING(x)``."""
    w = v.WhichOneof("value")
    if legacy:
        if w == "string_value":
            return "STRING(" + v.string_value + ")"
        return _LEGACY_TYPE[w] + "(" + _legacy_text(v) + ")"
    if w == "string_value":
        return "Str(" + v.string_value + ")"
    if w == "int_value":
        return f"Int({v.int_value})"
    return _TYPE[w] + "(" + value_as_string(v) + ")"


# --------------------------------------------------------------------------- blocks

_Append = Callable[[str], None]


def _attrs(ap: _Append, header: str, kvs, prefix: str, legacy: bool) -> None:
    """``logAttributes``: header line then ``<prefix> key: Type(value)`` lines."""
    if not len(kvs):
        return
    ap(header)
    if legacy:
        for kv in kvs:
            v = kv.value
            if v.WhichOneof("value") == "string_value":
                ap(f"{prefix} {_e(kv.key)}: STRING({_e(v.string_value)})\n")
            else:
                ap(f"{prefix} {_e(kv.key)}: {value_to_string(v, legacy=True)}\n")
        return
    for kv in kvs:
        v = kv.value
        w = v.WhichOneof("value")
        if w == "string_value":
            ap(f"{prefix} {_e(kv.key)}: Str({_e(v.string_value)})\n")
        elif w == "int_value":
            ap(f"{prefix} {_e(kv.key)}: Int({v.int_value})\n")
        else:
            ap(f"{prefix} {_e(kv.key)}: {_TYPE[w]}({_e(value_as_string(v))})\n")


def _entity_refs(ap: _Append, refs) -> None:
    ap("Resource entity refs:\n")
    for i, ref in enumerate(refs):
        ap(f"     -> Entity ref #{i}:\n          -> Type: {_e(ref.type)}\n")
        if ref.schema_url:
            ap(f"          -> Schema URL: {_e(ref.schema_url)}\n")
        if len(ref.id_keys):
            ap("          -> ID keys:\n")
            for key in ref.id_keys:
                ap(f"               -> {_e(key)}\n")
        if len(ref.description_keys):
            ap("          -> Description keys:\n")
            for key in ref.description_keys:
                ap(f"               -> {_e(key)}\n")


def _events_links(ap: _Append, sp, legacy: bool) -> None:
    if legacy:
        header, prefix = "     -> Attributes:\n", "         ->"
    else:
        header, prefix = "     -> Attributes::\n", "          ->"
    events = sp.events
    if len(events):
        ap("Events:\n")
        for i, ev in enumerate(events):
            ap(f"SpanEvent #{i}\n     -> Name: {_e(ev.name)}\n"
               f"     -> Timestamp: {format_timestamp(ev.time_unix_nano)}\n"
               f"     -> DroppedAttributesCount: {ev.dropped_attributes_count}\n")
            _attrs(ap, header, ev.attributes, prefix, legacy)
    links = sp.links
    if len(links):
        ap("Links:\n")
        for i, ln in enumerate(links):
            ap(f"SpanLink #{i}\n     -> Trace ID: {format_id(ln.trace_id)}\n"
               f"     -> ID: {format_id(ln.span_id)}\n     -> TraceState: {_e(ln.trace_state)}\n"
               f"     -> DroppedAttributesCount: {ln.dropped_attributes_count}\n")
            _attrs(ap, header, ln.attributes, prefix, legacy)


def _render_current(req: ExportTraceServiceRequest, ap: _Append) -> None:
    kinds, statuses, fid, fts = _KIND, _STATUS, format_id, format_timestamp
    for i, rs in enumerate(req.resource_spans):
        res = rs.resource
        ap(f"ResourceSpans #{i}\nResource SchemaURL: {_e(rs.schema_url)}\n")
        _attrs(ap, "Resource attributes:\n", res.attributes, "     ->", False)
        if _HAS_ENTITY_REFS and len(res.entity_refs):
            _entity_refs(ap, res.entity_refs)
        for j, ss in enumerate(rs.scope_spans):
            sc = ss.scope
            ap(f"ScopeSpans #{j}\nScopeSpans SchemaURL: {_e(ss.schema_url)}\n"
               f"InstrumentationScope {_e(sc.name)} {_e(sc.version)}\n")
            _attrs(ap, "InstrumentationScope attributes:\n", sc.attributes, "     ->", False)
            for k, sp in enumerate(ss.spans):
                st = sp.status
                ts = sp.trace_state
                ap(f"Span #{k}\n"
                   f"    Trace ID       : {fid(sp.trace_id)}\n"
                   f"    Parent ID      : {fid(sp.parent_span_id)}\n"
                   f"    ID             : {fid(sp.span_id)}\n"
                   f"    Name           : {_e(sp.name)}\n"
                   f"    Kind           : {kinds.get(sp.kind, '')}\n"
                   + (f"    TraceState     : {_e(ts)}\n" if ts else "")
                   + f"    Start time     : {fts(sp.start_time_unix_nano)}\n"
                   f"    End time       : {fts(sp.end_time_unix_nano)}\n"
                   f"    Status code    : {statuses.get(st.code, '')}\n"
                   f"    Status message : {_e(st.message)}\n"
                   f"    DroppedAttributesCount: {sp.dropped_attributes_count}\n"
                   f"    DroppedEventsCount: {sp.dropped_events_count}\n"
                   f"    DroppedLinksCount: {sp.dropped_links_count}\n")
                _attrs(ap, "Attributes:\n", sp.attributes, "     ->", False)
                if len(sp.events) or len(sp.links):
                    _events_links(ap, sp, False)


def _render_legacy(req: ExportTraceServiceRequest, ap: _Append) -> None:
    kinds, statuses, fid, fts = _LEGACY_KIND, _LEGACY_STATUS, format_id, format_timestamp
    for i, rs in enumerate(req.resource_spans):
        ap(f"ResourceSpans #{i}\nResource SchemaURL: {_e(rs.schema_url)}\n")
        _attrs(ap, "Resource labels:\n", rs.resource.attributes, "     ->", True)
        for j, ss in enumerate(rs.scope_spans):
            sc = ss.scope
            ap(f"ScopeSpans #{j}\nScopeSpans SchemaURL: {_e(ss.schema_url)}\n"
               f"InstrumentationScope {_e(sc.name)} {_e(sc.version)}\n")
            for k, sp in enumerate(ss.spans):
                st = sp.status
                kind, code = sp.kind, st.code
                ap(f"Span #{k}\n"
                   f"    Trace ID       : {fid(sp.trace_id)}\n"
                   f"    Parent ID      : {fid(sp.parent_span_id)}\n"
                   f"    ID             : {fid(sp.span_id)}\n"
                   f"    Name           : {_e(sp.name)}\n"
                   f"    Kind           : {kinds.get(kind) or str(kind)}\n"
                   f"    Start time     : {fts(sp.start_time_unix_nano)}\n"
                   f"    End time       : {fts(sp.end_time_unix_nano)}\n"
                   f"    Status code    : {statuses.get(code) or str(code)}\n"
                   f"    Status message : {_e(st.message)}\n")
                _attrs(ap, "Attributes:\n", sp.attributes, "     ->", True)
                if len(sp.events) or len(sp.links):
                    _events_links(ap, sp, True)


# --------------------------------------------------------------------------- public


def render_detailed(request: ExportTraceServiceRequest, *, legacy: bool = False) -> str:
    """The detailed text blob (``ResourceSpans #0`` ... ), each line ending in ``\\n``."""
    out: list[str] = []
    (_render_legacy if legacy else _render_current)(request, out.append)
    return "".join(out)


def _span_count(request: ExportTraceServiceRequest) -> int:
    return sum(len(ss.spans) for rs in request.resource_spans for ss in rs.scope_spans)


def summary_line(request: ExportTraceServiceRequest, *, legacy: bool = False) -> str:
    """The exporter's Info line with its zap fields, ending in ``\\n``."""
    spans = _span_count(request)
    if legacy:
        return f'TracesExporter\t{{"#spans": {spans}}}\n'
    return f'Traces\t{{"resource spans": {len(request.resource_spans)}, "spans": {spans}}}\n'


def render_traces(request: ExportTraceServiceRequest, *, legacy: bool = False) -> str:
    """Exactly what ``--print`` writes for one batch; ``""`` when it holds no span.

    Summary line, then the blob, then ``\\n`` (zap ends the blob's own message
    with a newline, which leaves a blank line).
    """
    if not _span_count(request):
        return ""
    return summary_line(request, legacy=legacy) + render_detailed(request, legacy=legacy) + "\n"
