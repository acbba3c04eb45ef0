"""Comparing kubespan's Jaeger API answers with a real Jaeger's (tests/golden/jaeger/), field by field,
normalising only what Jaeger itself leaves undefined:

- lists Jaeger builds from Go maps come in random order: services, operations, dependencies, and the
  traces of one search that arrived in the same OTLP request (sorted here; which traces a search
  returns and their write order are checked separately, see `search_order`);
- v1 process ids (`p1`, `p2`, …) are numbered in the order spans are converted: each span gets its
  process inlined and `processes` goes;
- spans within a trace are compared by span id; api_v3 answers are compared span by span with each
  span's resource and scope attached (how spans are grouped under resources is Jaeger's write order).
"""

from __future__ import annotations

import json
from typing import Any


def _key(value: Any) -> str:
    return json.dumps(value, sort_keys=True)


def _v1_trace(trace: dict) -> dict:
    trace = dict(trace)
    processes = trace.pop("processes", None) or {}
    spans = []
    for span in trace.get("spans") or []:
        span = dict(span)
        span["process"] = processes.get(span.pop("processID", None))
        spans.append(span)
    trace["spans"] = sorted(spans, key=lambda s: s["spanID"])
    return trace


def _v3_spans(result: dict) -> list[dict]:
    out = []
    for rs in result.get("resourceSpans") or []:
        for ss in rs.get("scopeSpans") or []:
            for span in ss.get("spans") or []:
                out.append({"resource": rs.get("resource"), "resourceSchemaUrl": rs.get("schemaUrl"),
                            "scope": ss.get("scope"), "scopeSchemaUrl": ss.get("schemaUrl"), "span": span})
    return sorted(out, key=lambda s: (s["span"].get("traceId", ""), s["span"].get("spanId", "")))


def canonical(body: Any) -> Any:
    """An answer of Jaeger's v1 or api_v3 HTTP API in a form where equal answers are equal."""
    if not isinstance(body, dict):
        return body
    body = dict(body)
    data = body.get("data")
    if isinstance(data, list):
        if data and isinstance(data[0], dict) and "spans" in data[0]:
            body["data"] = sorted((_v1_trace(t) for t in data), key=lambda t: t["traceID"])
            body["_traceIDs"] = [t["traceID"] for t in body["data"]]  # compared first: which traces
        else:
            body["data"] = sorted(data, key=_key)
    if isinstance(body.get("services"), list):
        body["services"] = sorted(body["services"])
    if isinstance(body.get("operations"), list):
        body["operations"] = sorted(body["operations"], key=_key)
    if isinstance(body.get("result"), dict) and "resourceSpans" in body["result"]:
        body["result"] = {"spans": _v3_spans(body["result"])}
    return body


def first_difference(mine: Any, theirs: Any, path: str = "") -> str | None:
    """Where two JSON values first differ (`path: mine != theirs`), or None."""
    if isinstance(mine, dict) and isinstance(theirs, dict):
        for key in sorted(set(mine) | set(theirs)):
            if key not in mine or key not in theirs:
                said = "missing" if key not in mine else "extra"
                return f"{path}/{key}: {said} (theirs {str(theirs.get(key))[:200]})"
            found = first_difference(mine[key], theirs[key], f"{path}/{key}")
            if found:
                return found
        return None
    if isinstance(mine, list) and isinstance(theirs, list):
        for i, (a, b) in enumerate(zip(mine, theirs)):
            found = first_difference(a, b, f"{path}[{i}]")
            if found:
                return found
        if len(mine) != len(theirs):
            return f"{path}: {len(mine)} items != {len(theirs)}"
        return None
    if mine != theirs or type(mine) is not type(theirs):
        return f"{path}: {str(mine)[:200]} != {str(theirs)[:200]}"
    return None


def search_order(body: Any) -> list[str]:
    """The trace ids of a v1 search (or api_v3 find) answer in the order they came."""
    if isinstance(body, dict) and isinstance(body.get("data"), list):
        return [t["traceID"] for t in body["data"] if isinstance(t, dict) and "traceID" in t]
    ids: list[str] = []
    for rs in ((body or {}).get("result") or {}).get("resourceSpans") or []:
        for ss in rs.get("scopeSpans") or []:
            for span in ss.get("spans") or []:
                if span.get("traceId") not in ids:
                    ids.append(span.get("traceId"))
    return ids


def only(body: Any, trace_ids: set[str]) -> Any:
    """A canonical search answer cut to the traces `trace_ids`."""
    body = dict(body)
    if isinstance(body.get("data"), list):
        body["data"] = [t for t in body["data"] if t.get("traceID") in trace_ids]
        body["_traceIDs"] = [t["traceID"] for t in body["data"]]
    if isinstance(body.get("result"), dict) and "spans" in body["result"]:
        body["result"] = {"spans": [s for s in body["result"]["spans"] if s["span"].get("traceId") in trace_ids]}
    return body
