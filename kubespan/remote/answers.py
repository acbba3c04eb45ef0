"""Tempo's JSON answers read into typed values, checked field by field.

A remote may be any server: every field is checked for its type, and an answer that is not
what Tempo sends raises `RemoteError("bad_answer", …)` naming the field, never a KeyError.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from kubespan.remote.client import RemoteError

MS = 1_000_000


@dataclass(frozen=True, slots=True)
class FoundSpan:
    """A span of a search answer's spanset: what Tempo lists of it."""

    span_id: bytes
    start: int
    duration: int
    name: str
    attributes: tuple[tuple[str, Any], ...]


@dataclass(frozen=True, slots=True)
class FoundTrace:
    """One trace of a search answer (`/api/search`)."""

    trace_id: bytes
    root_service: str
    root_name: str
    start: int
    """Unix ns."""
    duration: int
    """ns: Tempo answers whole milliseconds, made exact when a listed span ends within that millisecond."""
    services: tuple[tuple[str, int, int], ...]
    """(service, spans, error spans) from `serviceStats`."""
    spans: tuple[FoundSpan, ...]
    """The matched spans Tempo listed (at most `spss` per spanset)."""
    matched: int

    @property
    def end(self) -> int:
        return self.start + self.duration

    @property
    def span_count(self) -> int:
        return sum(spans for _, spans, _ in self.services)

    @property
    def error_count(self) -> int:
        return sum(errors for _, _, errors in self.services)


@dataclass(frozen=True, slots=True)
class TypedValue:
    """A v2 tag value: `type` (string, int, float, bool, duration, status, kind, keyword) and text."""

    type: str
    value: str


def _bad(where: str, what: str) -> RemoteError:
    return RemoteError("bad_answer", f"unexpected answer: {where} {what}")


def _object(value: Any, where: str) -> Mapping[str, Any]:
    if not isinstance(value, dict):
        raise _bad(where, "is not an object")
    return value


def _list(value: Any, where: str) -> list[Any]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise _bad(where, "is not a list")
    return value


def _text(value: Any, where: str, default: str = "") -> str:
    if value is None:
        return default
    if not isinstance(value, str):
        raise _bad(where, "is not a string")
    return value


def _int(value: Any, where: str, default: int = 0) -> int:
    """An integer written as a JSON number or, as protobuf's JSON writes int64, a string."""
    if value is None:
        return default
    if isinstance(value, bool):
        raise _bad(where, "is not a number")
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and value.lstrip("-").isdigit():
        return int(value)
    raise _bad(where, "is not a whole number")


def hex_id(value: Any, where: str, size: int) -> bytes:
    """A hex id; Tempo drops leading zeros, so it is left-padded to `size` bytes."""
    text = _text(value, where)
    if not text or len(text) > 2 * size:
        raise _bad(where, "is not an id")
    try:
        return bytes.fromhex(text.rjust(2 * size, "0"))
    except ValueError:
        raise _bad(where, "is not hex") from None


def any_value(value: Any) -> Any:
    """An OTLP/JSON `AnyValue` as a plain Python value (arrays as lists; unknown shapes as text)."""
    if not isinstance(value, dict) or len(value) != 1:
        return "" if not value else str(value)
    kind, inner = next(iter(value.items()))
    if kind == "stringValue":
        return str(inner)
    if kind == "intValue":
        try:
            return int(inner)
        except (TypeError, ValueError):
            return str(inner)
    if kind == "doubleValue":
        try:
            return float(inner)
        except (TypeError, ValueError):
            return str(inner)
    if kind == "boolValue":
        return bool(inner)
    if kind == "arrayValue" and isinstance(inner, dict):
        return [any_value(item) for item in inner.get("values") or []]
    return str(inner)


def _attributes(value: Any, where: str) -> tuple[tuple[str, Any], ...]:
    out = []
    for index, item in enumerate(_list(value, where)):
        entry = _object(item, f"{where}[{index}]")
        out.append((_text(entry.get("key"), f"{where}[{index}].key"), any_value(entry.get("value"))))
    return tuple(out)


def search_traces(answer: Any) -> list[FoundTrace]:
    """The traces of a `/api/search` answer, in its order."""
    body = _object(answer, "the search answer")
    return [_trace(item, f"traces[{index}]") for index, item in enumerate(_list(body.get("traces"), "traces"))]


def _trace(item: Any, where: str) -> FoundTrace:
    trace = _object(item, where)
    services = []
    for name, stats in _object(trace.get("serviceStats") or {}, f"{where}.serviceStats").items():
        stats = _object(stats, f"{where}.serviceStats.{name}")
        services.append((name, _int(stats.get("spanCount"), f"{where}.serviceStats.spanCount"),
                         _int(stats.get("errorCount"), f"{where}.serviceStats.errorCount")))
    spansets = _list(trace.get("spanSets"), f"{where}.spanSets")
    if not spansets and trace.get("spanSet") is not None:
        spansets = [trace["spanSet"]]
    spans: dict[bytes, FoundSpan] = {}
    matched = 0
    for number, spanset in enumerate(spansets):
        at = f"{where}.spanSets[{number}]"
        spanset = _object(spanset, at)
        matched += _int(spanset.get("matched"), f"{at}.matched")
        for index, span in enumerate(_list(spanset.get("spans"), f"{at}.spans")):
            found = _span(span, f"{at}.spans[{index}]")
            spans.setdefault(found.span_id, found)
    start = _int(trace.get("startTimeUnixNano"), f"{where}.startTimeUnixNano")
    duration = _int(trace.get("durationMs"), f"{where}.durationMs") * MS
    # Tempo rounds the trace's duration to whole milliseconds; a listed span can say it more exactly.
    ends = [span.start + span.duration - start for span in spans.values() if span.start >= start]
    if ends and duration - MS < max(ends) <= duration + MS:
        duration = max(ends)
    return FoundTrace(
        trace_id=hex_id(trace.get("traceID"), f"{where}.traceID", 16),
        root_service=_text(trace.get("rootServiceName"), f"{where}.rootServiceName"),
        root_name=_text(trace.get("rootTraceName"), f"{where}.rootTraceName"),
        start=start, duration=duration, services=tuple(services), spans=tuple(spans.values()), matched=matched)


def _span(item: Any, where: str) -> FoundSpan:
    span = _object(item, where)
    return FoundSpan(span_id=hex_id(span.get("spanID"), f"{where}.spanID", 8),
                     start=_int(span.get("startTimeUnixNano"), f"{where}.startTimeUnixNano"),
                     duration=_int(span.get("durationNanos"), f"{where}.durationNanos"),
                     name=_text(span.get("name"), f"{where}.name"),
                     attributes=_attributes(span.get("attributes"), f"{where}.attributes"))


def tag_names(answer: Any) -> dict[str, list[str]]:
    """`/api/v2/search/tags` → {scope: [names]}; a v1 answer (`tagNames`) is scope "" ."""
    body = _object(answer, "the tags answer")
    if "scopes" not in body and "tagNames" in body:
        return {"": [_text(name, "tagNames[]") for name in _list(body["tagNames"], "tagNames")]}
    scopes: dict[str, list[str]] = {}
    for index, item in enumerate(_list(body.get("scopes"), "scopes")):
        scope = _object(item, f"scopes[{index}]")
        name = _text(scope.get("name"), f"scopes[{index}].name")
        scopes.setdefault(name, []).extend(
            _text(tag, f"scopes[{index}].tags[]") for tag in _list(scope.get("tags"), f"scopes[{index}].tags"))
    return scopes


def tag_values(answer: Any) -> list[TypedValue]:
    """`/api/v2/search/tag/<tag>/values` (typed) or the v1 answer (strings)."""
    body = _object(answer, "the tag values answer")
    out = []
    for index, item in enumerate(_list(body.get("tagValues"), "tagValues")):
        if isinstance(item, str):
            out.append(TypedValue("string", item))
            continue
        value = _object(item, f"tagValues[{index}]")
        out.append(TypedValue(_text(value.get("type"), f"tagValues[{index}].type", "string"),
                              _text(value.get("value"), f"tagValues[{index}].value")))
    return out


def scoped_names(scopes: Mapping[str, list[str]]) -> list[str]:
    """Names as TraceQL writes them: `span.k8s.pod`, `resource.service.name`, intrinsics bare."""
    names: list[str] = []
    for scope, tags in scopes.items():
        if scope in ("", "intrinsic"):
            names.extend(tags)
        else:
            names.extend(f"{scope}.{tag}" for tag in tags)
    return sorted(set(names))
