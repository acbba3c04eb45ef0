"""Stored spans in Jaeger's JSON model (the UI model of Jaeger's query service, `internal/uimodel`).

The mapping is the OpenTelemetry Collector's OTLP→Jaeger translator as Jaeger's query service applies
it (checked against Jaeger v1.75.0, tests/golden/jaeger/): the resource becomes the process
(`service.name` its service name, the other attributes its tags; `telemetry.sdk.*` span attributes
move there); span tags are `otel.scope.name`/`otel.scope.version`, the attributes, then `span.kind`,
`otel.status_code` (`OK`/`ERROR`), `error` (true), `otel.status_description` and `w3c.tracestate`;
events become logs in stored order (an `event` field with the name first); the parent is a CHILD_OF
reference and links are FOLLOWS_FROM ones; times are microseconds; trace ids print without their high
half when it is zero (`model.TraceID.String`). Then Jaeger's standard adjusters, unless `raw`: tags
and log fields (after `event`) sorted by key, and the clock-skew adjuster's warnings (adjustment is
disabled by default, so it only says what it would have moved; see `skew_warnings`).
"""

from __future__ import annotations

import base64
from typing import Any

from kubespan.api.gotext import format_duration
from kubespan.api.tempo_json import StoredSpan

_KINDS = {1: "internal", 2: "server", 3: "client", 4: "producer", 5: "consumer"}
_SDK_KEYS = {"telemetry.sdk.language", "telemetry.sdk.name", "telemetry.sdk.version",
             "telemetry.distro.name", "telemetry.distro.version"}
JS_MAX_SAFE = (1 << 53) - 1
NO_SERVICE = "OTLP_EMPTY_SERVICE_NAME"


def trace_id_text(raw: bytes) -> str:
    high, low = int.from_bytes(raw[:8].rjust(8, b"\0"), "big"), int.from_bytes(raw[8:16].rjust(8, b"\0"), "big")
    return f"{low:016x}" if high == 0 else f"{high:016x}{low:016x}"


def parse_trace_id(text: str) -> bytes:
    """`model.TraceIDFromString` of Jaeger's v1 and api_v3 handlers: up to 32 hex digits, the last 16 the
    low half; its errors are Go's `strconv.ParseUint` ones."""
    if len(text) > 32:
        raise ValueError(f"TraceID cannot be longer than 32 hex characters: {text}")
    halves = [text[:-16], text[-16:]] if len(text) > 16 else ["", text]
    out = b""
    for i, half in enumerate(halves):
        if (i == 1 or half) and (not half or any(c not in "0123456789abcdefABCDEF" for c in half)):
            raise ValueError(f'strconv.ParseUint: parsing "{half}": invalid syntax')
        out += int(half or "0", 16).to_bytes(8, "big")
    return out


def parse_bool(text: str) -> bool:
    """`strconv.ParseBool`."""
    if text in ("1", "t", "T", "TRUE", "true", "True"):
        return True
    if text in ("0", "f", "F", "FALSE", "false", "False"):
        return False
    raise ValueError(f'strconv.ParseBool: parsing "{text}": invalid syntax')


def span_id_text(raw: bytes) -> str:
    return f"{int.from_bytes(raw, 'big'):016x}"


def _value(any_value) -> tuple[str, Any]:
    kind = any_value.WhichOneof("value")
    if kind == "string_value":
        return "string", any_value.string_value
    if kind == "bool_value":
        return "bool", any_value.bool_value
    if kind == "int_value":
        number = any_value.int_value
        return "int64", number if -JS_MAX_SAFE <= number <= JS_MAX_SAFE else str(number)
    if kind == "double_value":
        return "float64", any_value.double_value
    if kind == "bytes_value":
        return "binary", base64.b64encode(any_value.bytes_value).decode()
    if kind in ("array_value", "kvlist_value"):
        import json

        from google.protobuf.json_format import MessageToDict

        raw = MessageToDict(any_value)
        return "string", json.dumps(_as_raw(raw), separators=(",", ":"))
    return "string", ""


def _as_raw(value: Any) -> Any:
    """pcommon `AsString` of arrays and maps: their plain JSON."""
    if isinstance(value, dict):
        if "arrayValue" in value:
            return [_as_raw(v) for v in value["arrayValue"].get("values", [])]
        if "kvlistValue" in value:
            return {kv["key"]: _as_raw(kv.get("value", {})) for kv in value["kvlistValue"].get("values", [])}
        for key in ("stringValue", "boolValue", "doubleValue"):
            if key in value:
                return value[key]
        if "intValue" in value:
            return int(value["intValue"])
        if "bytesValue" in value:
            return value["bytesValue"]
    return None


def _tag(key: str, any_value) -> dict:
    kind, value = _value(any_value)
    return {"key": key, "type": kind, "value": value}


def _string(key: str, value: str) -> dict:
    return {"key": key, "type": "string", "value": value}


def process_of(stored: StoredSpan) -> dict:
    attributes = list(stored.resource.attributes)
    sdk = [kv for kv in stored.span.attributes if kv.key in _SDK_KEYS]
    present = {kv.key for kv in attributes}
    attributes += [kv for kv in sdk if kv.key not in present]
    service = next((kv.value.string_value for kv in attributes if kv.key == "service.name"), None)
    tags = [_tag(kv.key, kv.value) for kv in sorted(attributes, key=lambda kv: kv.key) if kv.key != "service.name"]
    return {"serviceName": service if service is not None else NO_SERVICE, "tags": tags}


def _by_key(tags: list[dict], raw: bool) -> list[dict]:
    return tags if raw else sorted(tags, key=lambda t: t["key"])


def span_json(stored: StoredSpan, process_id: str, raw: bool = False) -> dict:
    span = stored.span
    tags = []
    if stored.scope.name:
        tags.append(_string("otel.scope.name", stored.scope.name))
    if stored.scope.version:
        tags.append(_string("otel.scope.version", stored.scope.version))
    tags += [_tag(kv.key, kv.value) for kv in span.attributes if kv.key not in _SDK_KEYS]
    if span.kind in _KINDS:
        tags.append(_string("span.kind", _KINDS[span.kind]))
    if span.status.code == 2:
        tags += [_string("otel.status_code", "ERROR"), {"key": "error", "type": "bool", "value": True}]
    elif span.status.code == 1:
        tags.append(_string("otel.status_code", "OK"))
    if span.status.message:
        tags.append(_string("otel.status_description", span.status.message))
    if span.trace_state:
        tags.append(_string("w3c.tracestate", span.trace_state))
    references = []
    trace_id = trace_id_text(span.trace_id)
    parent = span.parent_span_id
    if parent and any(parent):
        references.append({"refType": "CHILD_OF", "traceID": trace_id, "spanID": span_id_text(parent)})
    for link in span.links:
        ref_type = "FOLLOWS_FROM"
        for kv in link.attributes:
            if kv.key == "opentracing.ref_type" and kv.value.string_value == "child_of":
                ref_type = "CHILD_OF"
        if references and parent and link.trace_id == span.trace_id and link.span_id == parent:
            references[0]["refType"] = ref_type
            continue
        references.append({"refType": ref_type, "traceID": trace_id_text(link.trace_id),
                           "spanID": span_id_text(link.span_id)})
    logs = []
    for event in span.events:
        fields = []
        if event.name and not any(kv.key == "event" for kv in event.attributes):
            fields.append(_string("event", event.name))
        fields += _by_key([_tag(kv.key, kv.value) for kv in event.attributes], raw)
        logs.append({"timestamp": event.time_unix_nano // 1000, "fields": fields})
    out: dict[str, object] = {"traceID": trace_id, "spanID": span_id_text(span.span_id)}
    if span.flags:
        out["flags"] = span.flags
    out.update({"operationName": span.name, "references": references,
                "startTime": span.start_time_unix_nano // 1000,
                "duration": max(0, span.end_time_unix_nano - span.start_time_unix_nano) // 1000,
                "tags": _by_key(tags, raw), "logs": logs, "processID": process_id, "warnings": None})
    return out


def skew_warnings(spans: list[StoredSpan]) -> dict[int, list[str]]:
    """Jaeger's clock-skew adjuster with its default (no adjustment, `max_clock_skew_adjust` 0): for each
    span whose interval does not fit in its parent's (by the adjuster's rule), the delta it would have
    applied; a parent missing from the trace and a repeated span id are said too. Processes carry no `ip`
    tag here, so every parent/child pair is a host boundary. Keyed by the span's index in `spans`."""
    out: dict[int, list[str]] = {}
    first: dict[bytes, int] = {}
    for i, stored in enumerate(spans):
        if stored.span.span_id in first:
            out.setdefault(i, []).append("duplicate span IDs; skipping clock skew adjustment")
        else:
            first[stored.span.span_id] = i
    for i in first.values():
        child = spans[i].span
        parent_id = child.parent_span_id
        if not parent_id or not any(parent_id):
            continue
        if parent_id not in first:
            out.setdefault(i, []).append(f"invalid parent span IDs={span_id_text(parent_id)}; "
                                         "skipping clock skew adjustment")
            continue
        delta = _skew(child, spans[first[parent_id]].span)
        if delta:
            out.setdefault(i, []).append(f"clock skew adjustment disabled; not applying calculated delta of "
                                         f"{format_duration(delta)}")
    return out


def _skew(child, parent) -> int:
    """`clockSkewAdjuster.calculateSkew` in nanoseconds."""
    c_start, p_start = child.start_time_unix_nano, parent.start_time_unix_nano
    c_len, p_len = child.end_time_unix_nano - c_start, parent.end_time_unix_nano - p_start
    if c_len > p_len:
        return p_start - c_start if c_start < p_start else 0
    if c_start >= p_start and c_start + c_len <= p_start + p_len:
        return 0
    return p_start + (p_len - c_len) // 2 - c_start


def trace_json(spans: list[StoredSpan], raw: bool = False) -> dict:
    """One Jaeger trace: spans in stored order, processes `p1`… by first appearance."""
    processes: dict[str, dict] = {}
    keys: dict[str, str] = {}
    out_spans = []
    for stored in spans:
        process = process_of(stored)
        fingerprint = repr(process)
        key = keys.get(fingerprint)
        if key is None:
            key = keys[fingerprint] = f"p{len(keys) + 1}"
            processes[key] = process
        out_spans.append(span_json(stored, key, raw))
    if not raw:
        for i, warnings in skew_warnings(spans).items():
            out_spans[i]["warnings"] = warnings
    trace_id = out_spans[0]["traceID"] if out_spans else ""
    return {"traceID": trace_id, "spans": out_spans, "processes": processes, "warnings": None}


def envelope(data: Any, total: int = 0, errors: list | None = None) -> dict:
    """Jaeger's `structuredResponse`."""
    return {"data": data, "total": total, "limit": 0, "offset": 0, "errors": errors}


def error_envelope(status: int, message: str) -> dict:
    return {"data": None, "total": 0, "limit": 0, "offset": 0, "errors": [{"code": status, "msg": message}]}
