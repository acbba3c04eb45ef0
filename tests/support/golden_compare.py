"""Comparing kubespan's API answers with Tempo's golden ones, field by field, loosening exactly where
Tempo's own answers vary between runs (tests/golden/tempo/README.md): `metrics`, the order of
attributes, scopes and v2 tag values, and which traces or values come back when more match than a
limit allows."""

from __future__ import annotations

import base64
import json
import re
from typing import Any

from opentelemetry.proto.trace.v1.trace_pb2 import TracesData

_PARSE_ERROR = re.compile(r"^((?:invalid TraceQL (?:query|filter): )?parse error at line 1, col \d+:)")


def drop_metrics(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: drop_metrics(v) for k, v in value.items() if k != "metrics"}
    if isinstance(value, list):
        return [drop_metrics(v) for v in value]
    return value


def _key(value: Any) -> str:
    return json.dumps(value, sort_keys=True)


def canonical_search(body: dict) -> dict:
    """Search traces with span attributes sorted by key (Tempo's come in map order)."""
    body = drop_metrics(body)
    for trace in body.get("traces") or []:
        for spanset in [trace.get("spanSet")] + list(trace.get("spanSets") or []):
            for span in (spanset or {}).get("spans", []):
                if "attributes" in span:
                    span["attributes"] = sorted(span["attributes"], key=_key)
    return body


def canonical_tags(body: dict) -> dict:
    """v2 tag names as {scope: names}; v2 values as a sorted list (Tempo's orders vary)."""
    body = drop_metrics(body)
    if "scopes" in body:
        body["scopes"] = {s["name"]: sorted(s["tags"]) for s in body["scopes"]}
    if "tagValues" in body and body["tagValues"] and isinstance(body["tagValues"][0], dict):
        body["tagValues"] = sorted(body["tagValues"], key=_key)
    return body


def parse_error_prefix(text: str) -> str | None:
    """`[invalid TraceQL query: ]parse error at line 1, col N:` of a parse error (search, metrics), or None."""
    match = _PARSE_ERROR.match(text)
    return match.group(1) if match else None


def traces_data(base64_body: str | bytes, v2: bool = False) -> TracesData:
    raw = base64.b64decode(base64_body) if isinstance(base64_body, str) else base64_body
    if v2:  # TraceByIDResponse: field 1 is the trace
        raw = _field_one(raw)
    return TracesData.FromString(raw)


def _field_one(raw: bytes) -> bytes:
    assert raw[0] == 0x0A, "a TraceByIDResponse starts with its trace"
    length, shift, i = 0, 0, 1
    while True:
        byte = raw[i]
        length |= (byte & 0x7F) << shift
        i += 1
        if byte < 0x80:
            break
        shift += 7
    return raw[i:i + length]


def first_difference(a: Any, b: Any, path: str = "") -> str | None:
    """Where `a` and `b` first differ (a JSON path and both values), None when equal."""
    if type(a) is not type(b):
        return f"{path}: {str(a)[:120]} != {str(b)[:120]}"
    if isinstance(a, dict):
        for key in dict.fromkeys([*a, *b]):
            if a.get(key) != b.get(key):
                return first_difference(a.get(key), b.get(key), f"{path}.{key}")
        return None
    if isinstance(a, list):
        for i, (x, y) in enumerate(zip(a, b)):
            if x != y:
                return first_difference(x, y, f"{path}[{i}]")
        return None if len(a) == len(b) else f"{path}: {len(a)} items != {len(b)} items"
    return None if a == b else f"{path}: {str(a)[:120]} != {str(b)[:120]}"
