"""Jaeger's query API: v1 JSON (what Jaeger's UI and Grafana's Jaeger data source call) and api_v3.

Search follows Jaeger's memory store: a trace matches when one of its spans has the service, the
operation, a start in [start, end] (microseconds), a duration in [minDuration, maxDuration] and every
tag (`tags={json}` or repeated `tag=k:v`): equal as text on the span, its resource or its scope;
`error`, `span.kind`, `span.status`, `scope.name`, `scope.version` and `resource.<key>` are special,
as there. Newest traces first, at most `limit` (default 100). `GET /api/traces/<id>` is Tempo's on
this port; Jaeger's trace by id is at `/jaeger/api/traces/<id>`, and every Jaeger endpoint is also
under `/jaeger` for a data source whose URL ends in `/jaeger`.
"""

from __future__ import annotations

import json
import time

import numpy as np

from kubespan.api import jaeger_model
from kubespan.api.context import ApiContext
from kubespan.api.gotext import GoSyntaxError, parse_duration, parse_int
from kubespan.api.responses import ApiError, Reply, json_reply
from kubespan.api.server import ApiRequest, Route
from kubespan.api.source import column_at, stored_spans, trace_facts
from kubespan.api.throttle import checkpoint
from kubespan.api.trace_choice import distinct_rows
from kubespan.encode.otlp_json import encode_request_json
from kubespan.query.limits import QueryStopped
from kubespan.store.reader import newest_first

NEVER = "<never>"
"""A search term no span meets (Jaeger matches nothing for, e.g., `error=maybe`)."""
_KINDS = {0: "", 1: "internal", 2: "server", 3: "client", 4: "producer", 5: "consumer"}
DEFAULT_LIMIT = 100
DEFAULT_DEPENDENCY_LOOKBACK_MS = 24 * 3600 * 1000


class JaegerError(ApiError):
    """An error in Jaeger's envelope (`http.Error`: text/plain, a JSON body and a newline)."""


def jaeger_error(status: int, message: str) -> ApiError:
    body = json.dumps(jaeger_model.error_envelope(status, message), separators=(",", ":"))
    return JaegerError(status, body + "\n")


def _shorthand_string(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


class Jaeger:
    def __init__(self, ctx: ApiContext) -> None:
        self.ctx = ctx

    def routes(self) -> list[Route]:
        v1 = [("/api/services", self.services), ("/api/services/{service}/operations", self.service_operations),
              ("/api/operations", self.operations), ("/api/traces", self.search),
              ("/api/dependencies", self.dependencies), ("/api/v3/services", self.v3_services),
              ("/api/v3/operations", self.v3_operations), ("/api/v3/traces", self.v3_search),
              ("/api/v3/traces/{trace_id}", self.v3_trace)]
        routes = [Route(path, handler) for path, handler in v1]
        routes += [Route("/jaeger" + path, handler) for path, handler in v1]
        routes.append(Route("/jaeger/api/traces/{trace_id}", self.trace))
        return routes

    # ------------------------------------------------------------------ v1
    def services(self, req: ApiRequest) -> Reply:
        services = self.ctx.reader().services()
        return json_reply(jaeger_model.envelope(services, len(services)))

    def service_operations(self, req: ApiRequest) -> Reply:
        service = req.match["service"]
        names = sorted({name for _, name in self.ctx.reader().operations(service)})
        # Jaeger's memory store has no operations (a nil list: `null`) for a service it never saw
        return json_reply(jaeger_model.envelope(names or None, len(names)))

    def operations(self, req: ApiRequest) -> Reply:
        service = req.get("service") or ""
        if not service:
            raise jaeger_error(400, "parameter 'service' is required")
        kind = (req.get("spanKind") or "").lower()
        data = [{"name": name, "spanKind": k} for name, k in self._operations(service) if not kind or k == kind]
        return json_reply(jaeger_model.envelope(data, len(data)))

    def _operations(self, service: str) -> list[tuple[str, str]]:
        """(name, span kind) pairs of a service, sorted."""
        reader = self.ctx.reader()
        snap = reader.snap
        services = list(snap.services)
        if service not in services:
            return []
        service_id = services.index(service)
        scope_service = snap.resource_service[snap.scope_resource] if len(snap.scope_resource) else np.zeros(0)
        pairs: set[tuple[int, int]] = set()
        for chunk, i in snap.live_slices():
            mine = scope_service[chunk.scope[i:]] == service_id
            codes = chunk.name[i:][mine].astype(np.int64) << 8 | chunk.kind[i:][mine].astype(np.int64)
            pairs.update((int(c) >> 8, int(c) & 0xFF) for c in np.unique(codes).tolist())
        return sorted((snap.names[n], _KINDS.get(k, "")) for n, k in pairs)

    def trace(self, req: ApiRequest) -> Reply:
        try:
            trace_id = jaeger_model.parse_trace_id(req.match["trace_id"])
        except ValueError as exc:
            raise jaeger_error(400, str(exc)) from None
        for name in ("start", "end"):
            _micros(req, name)
        raw = _raw(req)
        reader = self.ctx.reader()
        spans = stored_spans(reader, reader.trace_ordinals(trace_id))
        if not spans:
            raise jaeger_error(404, "trace not found")
        return json_reply(jaeger_model.envelope([jaeger_model.trace_json(self._ordered(reader, spans), raw)]))

    @staticmethod
    def _ordered(reader, spans):
        row = reader.snap.trace_lookup(spans[0].span.trace_id)
        facts = trace_facts(reader, np.array([row], np.int64)).get(row) if row is not None else None
        if facts is None:
            return spans
        rank = {o: i for i, o in enumerate(facts.ranked([s.ordinal for s in spans]))}
        return sorted(spans, key=lambda s: rank.get(s.ordinal, 0))

    def search(self, req: ApiRequest) -> Reply:
        reader = self.ctx.reader()
        params = self._search_params(req)
        ids = req.all("traceID")
        if ids:
            traces, missing = [], []
            for text in ids:
                try:
                    trace_id = jaeger_model.parse_trace_id(text)
                except ValueError as exc:
                    raise jaeger_error(400, f"cannot parse traceID param: {exc}") from None
                spans = stored_spans(reader, reader.trace_ordinals(trace_id))
                if spans:
                    traces.append(jaeger_model.trace_json(self._ordered(reader, spans), params["raw"]))
                else:
                    missing.append({"msg": "trace not found", "traceID": jaeger_model.trace_id_text(trace_id)})
            return json_reply(jaeger_model.envelope(traces, errors=missing or None))
        if not params["service"]:
            raise jaeger_error(400, "parameter 'service' is required")
        rows = self._find(reader, params)
        return json_reply(jaeger_model.envelope([jaeger_model.trace_json(spans, params["raw"]) for spans in
                                                 traces_of(reader, rows)]))

    def _search_params(self, req: ApiRequest) -> dict:
        out: dict = {"service": req.get("service") or "", "operation": req.get("operation") or ""}
        for name in ("start", "end"):
            out[name] = _micros(req, name)
        tags: dict[str, str] = {}
        for tag in req.all("tag"):
            key, sep, value = tag.partition(":")
            if not sep:
                raise jaeger_error(400, f"malformed 'tag' parameter, expecting key:value, received: {tag}")
            tags[key] = value
        for text in req.all("tags"):
            try:
                parsed = json.loads(text)
            except ValueError as exc:
                raise jaeger_error(400, f"malformed 'tags' parameter, cannot unmarshal JSON: {exc}") from None
            if not isinstance(parsed, dict) or not all(isinstance(v, str) for v in parsed.values()):
                raise jaeger_error(400, "malformed 'tags' parameter, cannot unmarshal JSON: want an object of strings")
            tags.update(parsed)
        out["tags"] = tags
        limit = req.get("limit") or ""
        try:
            out["limit"] = parse_int(limit, 32) if limit else DEFAULT_LIMIT
        except GoSyntaxError as exc:
            raise jaeger_error(400, str(exc)) from None
        if out["limit"] <= 0:
            # Jaeger's memory store says this with a 500; it is the request's fault, so 400 here
            raise jaeger_error(400, "search depth must be greater than 0 and less than max traces")
        for name in ("minDuration", "maxDuration"):
            text = req.get(name) or ""
            try:
                out[name] = parse_duration(text) if text else 0
            except GoSyntaxError as exc:
                raise jaeger_error(400, f"unable to parse param '{name}': {exc}") from None
        for text in req.all("traceID"):
            try:
                jaeger_model.parse_trace_id(text)
            except ValueError as exc:
                raise jaeger_error(400, f"cannot parse traceID param: {exc}") from None
        out["raw"] = _raw(req)
        if out["minDuration"] and out["maxDuration"] and out["maxDuration"] < out["minDuration"]:
            raise jaeger_error(400, "'maxDuration' should be greater than 'minDuration'")
        return out

    def _find(self, reader, params: dict) -> np.ndarray:
        """Trace rows with one span meeting every condition, newest first, at most `limit`."""
        terms: list[str | None] = []
        if params["service"]:
            terms.append(f"resource.service.name={_shorthand_string(params['service'])}")
        if params["operation"]:
            terms.append(f"name={_shorthand_string(params['operation'])}")
        for key, value in params["tags"].items():
            terms.append(_tag_term(key, value))
        good = [t for t in terms if t is not None]
        if NEVER in good:
            return np.zeros(0, np.int64)
        snap = reader.snap
        try:
            query = self.ctx.compile(" ".join(good), "") if good else None
            ordinals = reader.search(query, self.ctx.deadline())
        except QueryStopped as exc:
            raise self.ctx.stopped(exc) from None
        if not len(ordinals):
            return np.zeros(0, np.int64)
        start, end = column_at(snap, "start", ordinals), column_at(snap, "end", ordinals)
        keep = np.ones(len(ordinals), bool)
        if params["start"] is not None:
            keep &= start >= params["start"]
        if params["end"] is not None:
            keep &= start <= params["end"]
        if params["minDuration"]:
            keep &= end - start >= params["minDuration"]
        if params["maxDuration"]:
            keep &= end - start <= params["maxDuration"]
        rows = distinct_rows(column_at(snap, "trace", ordinals[keep]), snap.n_traces)  # not np.unique: it hashes
        if not len(rows):
            return rows
        return rows[newest_first(rows, snap.trace_start[rows], params["limit"])][:params["limit"]]

    def dependencies(self, req: ApiRequest) -> Reply:
        try:
            end_ms = parse_int(req.get("endTs") or "") if req.get("endTs") else time.time_ns() // 1_000_000
        except GoSyntaxError as exc:
            raise jaeger_error(400, f"unable to parse param 'endTs': {exc}") from None
        try:
            lookback = parse_int(req.get("lookback") or "") if req.get("lookback") else DEFAULT_DEPENDENCY_LOOKBACK_MS
        except GoSyntaxError as exc:
            raise jaeger_error(400, f"unable to parse param 'lookback': {exc}") from None
        from kubespan.api.jaeger_deps import dependency_links

        links = dependency_links(self.ctx.reader().snap, (end_ms - lookback) * 1_000_000, end_ms * 1_000_000)
        service = req.get("service")
        if service:
            links = [d for d in links if service in (d["parent"], d["child"])]
        return json_reply(jaeger_model.envelope(links))  # Jaeger leaves `total` at 0 here

    # ------------------------------------------------------------------ v3
    def v3_services(self, req: ApiRequest) -> Reply:
        return json_reply({"services": self.ctx.reader().services()})

    def v3_operations(self, req: ApiRequest) -> Reply:
        service = req.get("service") or ""
        kind = (req.get("spanKind") or req.get("span_kind") or "").lower()
        ops = [{"name": n, "spanKind": k or "internal"} for n, k in self._operations(service) if not kind or k == kind]
        return json_reply({"operations": ops})

    def v3_trace(self, req: ApiRequest) -> Reply:
        try:
            trace_id = jaeger_model.parse_trace_id(req.match["trace_id"])
        except ValueError as exc:
            raise _v3_error(400, f"malformed parameter trace_id: {exc}") from None
        from kubespan.api.jaeger_v3 import parse_v3_trace_params

        parse_v3_trace_params(req)
        reader = self.ctx.reader()
        spans = stored_spans(reader, reader.trace_ordinals(trace_id))
        if not spans:
            raise _v3_error(404, "No traces found")
        return _v3_result([spans])

    def v3_search(self, req: ApiRequest) -> Reply:
        from kubespan.api.jaeger_v3 import parse_v3_query

        params = parse_v3_query(req)
        reader = self.ctx.reader()
        rows = self._find(reader, params)
        if not len(rows):
            raise _v3_error(404, "No traces found")
        return _v3_result(traces_of(reader, rows))


def _micros(req: ApiRequest, name: str) -> int | None:
    """A time parameter in microseconds, as nanoseconds (None when absent)."""
    text = req.get(name) or ""
    try:
        return parse_int(text) * 1000 if text else None
    except GoSyntaxError as exc:
        raise jaeger_error(400, f"unable to parse param '{name}': {exc}") from None


def _raw(req: ApiRequest) -> bool:
    """`raw=true`: the trace as stored, without Jaeger's adjusters."""
    text = req.get("raw") or ""
    try:
        return jaeger_model.parse_bool(text) if text else False
    except ValueError as exc:
        raise jaeger_error(400, f"unable to parse param 'raw': {exc}") from None


def traces_of(reader, rows: np.ndarray) -> list[list]:
    """Every stored span of each trace row, in stored order (one pass over the store for all of them)."""
    facts = trace_facts(reader, np.asarray(rows, np.int64))
    out = []
    for row in rows.tolist():
        checkpoint()
        ranked = facts[row].ranked(facts[row].order)
        by_ordinal = {s.ordinal: s for s in stored_spans(reader, ranked)}
        out.append([by_ordinal[o] for o in ranked if o in by_ordinal])
    return out


def _tag_term(key: str, value: str) -> str | None:
    if key == "error":
        lowered = value.lower()
        if lowered in ("true", "1", "t"):
            return "status=error"
        if lowered in ("false", "0", "f"):
            return "status!=error"
        return NEVER
    if key == "span.kind":
        kind = value.lower()
        known = ("client", "server", "producer", "consumer", "internal")
        return f"kind={kind}" if kind in known else "kind=unspecified"
    if key == "span.status":
        status = value.lower()
        return f"status={status}" if status in ("ok", "error") else "status=unset"
    if key in ("scope.name", "scope.version"):
        return None  # not indexed: see proto_notes/api.md
    if key.startswith("resource."):
        return f"{_shorthand_string(key)}={_shorthand_string(value)}"
    return f"{_shorthand_string('.' + key)}={_shorthand_string(value)}"


def _v3_error(status: int, message: str) -> ApiError:
    body = json.dumps({"error": {"httpCode": status, "message": message}}, separators=(",", ":"))
    return ApiError(status, body + "\n")


def _v3_result(traces: list) -> Reply:
    from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

    from kubespan.api.tempo_json import group_spans

    request = ExportTraceServiceRequest()
    for spans in traces:
        request.resource_spans.extend(group_spans(spans, jaeger=True))
    body = '{"result":' + encode_request_json(request) + "}"
    return Reply(200, body.encode(), "application/json")
