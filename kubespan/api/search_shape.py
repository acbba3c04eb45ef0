"""The traces of a search answer, shaped as Tempo's `TraceSearchMetadata`.

Spans of a spanset come in the trace's stored order (resources, then scopes, by first arrival; then
arrival: what Tempo iterates), at most `spss` of them; each lists the attributes the query's
conditions refer to that the span carries, keys without their scope, as Tempo's engine returns the
attributes it fetched (`name` goes to the span's `name`; durations and trace-level intrinsics are
left out). Trace ids lose their leading zeros, as Tempo prints them.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from kubespan.api.source import TraceFacts
from kubespan.api.tempo_json import StoredSpan, any_value_json

NO_ROOT = "<root span not yet received>"
STATUS_NAMES = {0: "unset", 1: "ok", 2: "error"}
KIND_NAMES = {0: "unspecified", 1: "internal", 2: "server", 3: "client", 4: "producer", 5: "consumer"}


@dataclass(frozen=True, slots=True)
class Wanted:
    """One attribute a query refers to: `scope` span/resource/any (attributes) or an intrinsic name."""

    scope: str
    key: str


def referenced(node: Any) -> list[Wanted]:
    """The fields a query tree compares, in order of first mention (walks any dataclass tree)."""
    out: list[Wanted] = []
    seen: set[int] = set()

    def walk(value: Any) -> None:
        if id(value) in seen:
            return
        seen.add(id(value))
        if isinstance(value, (list, tuple)):
            for item in value:
                walk(item)
            return
        if not dataclasses.is_dataclass(value) or isinstance(value, type):
            return
        names = {f.name for f in dataclasses.fields(value)}
        kind = getattr(value, "kind", None)
        if {"kind", "scope", "key"} <= names and isinstance(kind, str):
            wanted = _wanted(kind, getattr(value, "scope"), getattr(value, "key"))  # noqa: B009
            if wanted is not None and wanted not in out:
                out.append(wanted)
            return
        for name in names:
            if not name.startswith("_"):
                walk(getattr(value, name))

    walk(node)
    return out


def _wanted(kind: str, scope: str, key: str) -> Wanted | None:
    if kind == "attr":
        return Wanted(scope or "any", key)
    if kind in ("name", "status", "kind", "statusMessage", "status_message"):
        return Wanted("intrinsic", "statusMessage" if kind.startswith("status_") else kind)
    if kind == "service":
        return Wanted("resource", "service.name")
    if kind in ("link_trace_id", "link_span_id"):
        return Wanted("intrinsic", "link:traceID" if kind == "link_trace_id" else "link:spanID")
    return None  # duration, ids and trace-level intrinsics are not listed


def span_json(span: StoredSpan, wanted: Iterable[Wanted]) -> dict:
    """One span of a spanset: id, start, duration, `name` if asked, and the asked attributes it has."""
    proto = span.span
    out: dict[str, Any] = {"spanID": proto.span_id.hex()}
    attributes = []
    span_attrs: dict[str, Any] = {}
    resource_attrs: dict[str, Any] = {}
    if any(want.scope != "intrinsic" for want in wanted):
        span_attrs = {kv.key: kv.value for kv in proto.attributes}
        resource_attrs = {kv.key: kv.value for kv in span.resource.attributes}
    for want in wanted:
        if want.scope == "intrinsic":
            if want.key == "name":
                out["name"] = proto.name
            elif want.key == "status":
                attributes.append(_kv("status", STATUS_NAMES.get(proto.status.code, "unset")))
            elif want.key == "kind":
                attributes.append(_kv("kind", KIND_NAMES.get(proto.kind, "unspecified")))
            elif want.key == "statusMessage":
                attributes.append(_kv("statusMessage", proto.status.message))
            elif want.key in ("link:traceID", "link:spanID") and proto.links:
                link = proto.links[0]
                ids = link.trace_id if want.key == "link:traceID" else link.span_id
                attributes.insert(0, _kv(want.key, ids.hex().lstrip("0") if want.key == "link:traceID" else ids.hex()))
            continue
        value = None
        if want.scope in ("span", "any") and want.key in span_attrs:
            value = span_attrs[want.key]
        elif want.scope in ("resource", "any") and want.key in resource_attrs:
            value = resource_attrs[want.key]
        if value is not None:
            attributes.append({"key": want.key, "value": _any_json(value)})
    out["startTimeUnixNano"] = str(proto.start_time_unix_nano)
    out["durationNanos"] = str(proto.end_time_unix_nano - proto.start_time_unix_nano)
    if attributes:
        out["attributes"] = attributes
    return _ordered(out)


def _ordered(span: dict) -> dict:
    order = ("spanID", "name", "startTimeUnixNano", "durationNanos", "attributes")
    return {k: span[k] for k in order if k in span}


def _kv(key: str, text: str) -> dict:
    return {"key": key, "value": {"stringValue": text}}


def _any_json(value: Any) -> dict:
    from google.protobuf.json_format import MessageToDict

    from kubespan.api.tempo_json import go_numbers

    return go_numbers(MessageToDict(value))


def trace_json(facts: TraceFacts, spansets: list[dict] | None) -> dict:
    """`TraceSearchMetadata`: `spanSet` is the first of `spanSets`; zero `durationMs` is left out."""
    out: dict[str, Any] = {"traceID": facts.trace_id.hex().lstrip("0")}
    if facts.root_service is None:
        out["rootServiceName"] = NO_ROOT
    else:
        out["rootServiceName"] = facts.root_service
        if facts.root_name:
            out["rootTraceName"] = facts.root_name
    out["startTimeUnixNano"] = str(facts.start)
    duration_ms = (facts.end - facts.start) // 1_000_000
    if duration_ms:
        out["durationMs"] = duration_ms
    if spansets is not None:
        out["spanSet"] = spansets[0] if spansets else {}
        out["spanSets"] = spansets
        out["serviceStats"] = {
            service: ({"spanCount": spans, "errorCount": errors} if errors else {"spanCount": spans})
            for service, (spans, errors) in sorted(facts.services.items())
        }
    return out


def spanset_json(spans: list[StoredSpan], matched: int, wanted: list[Wanted], attributes: list[dict]) -> dict:
    out: dict[str, Any] = {"spans": [span_json(s, wanted) for s in spans], "matched": matched}
    if attributes:
        out["attributes"] = attributes
    return out


def value_json(value: Any) -> dict:
    return any_value_json(value)
