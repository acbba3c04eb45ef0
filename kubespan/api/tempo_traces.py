"""Tempo's trace by id: `GET /api/traces/<id>` (v1) and `GET /api/v2/traces/<id>` (v2, with `q`).

As on Tempo: ids in hex, upper or lower case, with or without leading zeros (left-padded to 128
bits); 400 with Tempo's text for a malformed id or range; v1 answers 404 with an empty body for an
unknown id, v2 200 with an empty trace; `Accept: application/protobuf` gives protobuf. `start`/`end`
are checked but, like Tempo's live store, do not hide a trace stored outside them.
"""

from __future__ import annotations

import numpy as np

from kubespan.api.context import ApiContext
from kubespan.api.gotext import GoSyntaxError, parse_int
from kubespan.api.responses import PROTOBUF, ApiError, Reply, json_reply
from kubespan.api.server import ApiRequest, Route
from kubespan.api.source import stored_spans
from kubespan.api.tempo_json import StoredSpan, group_spans, resource_spans_json, traces_data
from kubespan.otlp.protowire import length_delimited
from kubespan.query.ast import Filter
from kubespan.query.limits import QueryStopped

PARTIAL_MESSAGE = "Trace filtered, only a subset of spans matching the filter is returned"
_PIPELINE_ERROR = ("invalid TraceQL filter: only a single TraceQL filter is supported: got a structural or "
                   "aggregate query")


def parse_trace_id(text: str) -> bytes:
    """`util.HexStringToTraceID`: hex only, odd lengths padded, at most 128 bits, left-padded to 16 bytes."""
    for position, char in enumerate(text.encode("utf-8", "surrogatepass")):
        if not (48 <= char <= 57 or 65 <= char <= 70 or 97 <= char <= 102):
            shown = text.encode("utf-8", "surrogatepass")[position:].decode("utf-8", "replace")[:1]
            raise ApiError(400, f"trace IDs can only contain hex characters: invalid character '{shown}' at "
                                f"position {position + 1}")
    if len(text) % 2:
        text = "0" + text
    raw = bytes.fromhex(text)
    if len(raw) > 16:
        raise ApiError(400, "trace IDs can't be larger than 128 bits")
    return raw.rjust(16, b"\0")


def check_trace_range(req: ApiRequest) -> None:
    """`api.ParseTraceByIDRequest`'s checks of `start`/`end` (unix seconds) and `mode`."""
    mode = req.get("mode") or "all"
    if mode not in ("all", "ingesters", "blocks", "external"):
        raise ApiError(400, f"invalid value for mode {mode}")
    if mode == "ingesters":
        return
    values = {}
    for name in ("start", "end"):
        text = req.get(name)
        if text is not None:
            try:
                values[name] = parse_int(text)
            except GoSyntaxError as exc:
                raise ApiError(400, f"invalid {name}: {exc}") from None
    start, end = values.get("start", 0), values.get("end", 0)
    if start and end and end <= start:
        raise ApiError(400, f"http parameter start must be before end. received start={start} end={end}")


def wants_protobuf(req: ApiRequest) -> bool:
    return PROTOBUF in req.headers.get("accept", "")


class TraceById:
    def __init__(self, ctx: ApiContext) -> None:
        self.ctx = ctx

    def routes(self) -> list[Route]:
        return [Route("/api/traces/{trace_id}", self.v1), Route("/api/v2/traces/{trace_id}", self.v2)]

    def _spans(self, reader, trace_id: bytes) -> tuple[list[StoredSpan], bool]:
        """The trace's stored spans, at most `max_answer_spans` (the first ones in arrival order), and
        whether it had more."""
        ordinals = reader.trace_ordinals(trace_id)
        most = self.ctx.settings.max_answer_spans
        cut = len(ordinals) > most
        return stored_spans(reader, sorted(ordinals)[:most] if cut else ordinals), cut

    def v1(self, req: ApiRequest) -> Reply:
        trace_id = parse_trace_id(req.match["trace_id"])
        check_trace_range(req)
        spans, _ = self._spans(self.ctx.reader(), trace_id)
        if not spans:
            return Reply(404, b"", "")
        resource_spans = group_spans(spans)
        if wants_protobuf(req):
            return Reply(200, traces_data(resource_spans), PROTOBUF)
        return json_reply({"batches": resource_spans_json(resource_spans)})

    def v2(self, req: ApiRequest) -> Reply:
        trace_id = parse_trace_id(req.match["trace_id"])
        check_trace_range(req)
        text = (req.get("q") or "").strip()
        self.ctx.check_query_params(req)
        options = filter_options(req) if text else None
        reader = self.ctx.reader()
        spans, cut = self._spans(reader, trace_id)
        partial = False
        if text and spans and options is not None:
            kept = self._filtered(reader, text, spans, options)
            partial = len(kept) < len(spans)
            spans = kept
        elif text:
            self._query(text)  # a bad filter is a 400 even for an unknown trace
        if cut:
            partial, message = True, f"Trace exceeds max size: only its first {len(spans):,} spans are returned"
        else:
            message = PARTIAL_MESSAGE
        resource_spans = group_spans(spans)
        if wants_protobuf(req):
            return Reply(200, _v2_protobuf(resource_spans, partial, message), PROTOBUF)
        body: dict = {"trace": {"resourceSpans": resource_spans_json(resource_spans)} if spans else {},
                      "metrics": {}}
        if partial:
            body["status"] = "PARTIAL"
            body["message"] = message
        return json_reply(body)

    def _query(self, text: str):
        try:
            query = self.ctx.compile(text, "invalid TraceQL filter: ")
        except ApiError as exc:
            if "not supported" in exc.message and "|" in text:  # a pipeline the parser does not take yet
                raise ApiError(400, _PIPELINE_ERROR) from None
            raise
        if not isinstance(query.root, Filter) or query.syntax != "traceql":
            raise ApiError(400, _PIPELINE_ERROR)
        return query

    def _filtered(self, reader, text: str, spans: list[StoredSpan], options: tuple[bool, int, int]) -> list[StoredSpan]:
        """The matching spans, plus ancestors (`keep_hierarchy`, up to `ancestor_depth`) and descendants
        (`match_depth` levels)."""
        query = self._query(text)
        deadline = self.ctx.deadline()
        ordinals = np.array([s.ordinal for s in spans], np.int64)
        try:
            matched = np.intersect1d(reader.search(query, deadline), ordinals)
        except QueryStopped as exc:
            raise self.ctx.stopped(exc) from None
        keep_hierarchy, match_depth, ancestor_depth = options
        keep = set(matched.tolist())
        by_id = {s.span.span_id: s for s in spans}
        children: dict[bytes, list[StoredSpan]] = {}
        for s in spans:
            children.setdefault(s.span.parent_span_id, []).append(s)
        for ordinal in matched.tolist():
            span = next(s for s in spans if s.ordinal == ordinal)
            if keep_hierarchy:
                parent, level = by_id.get(span.span.parent_span_id), 0
                while parent is not None and (ancestor_depth < 0 or level < ancestor_depth):
                    keep.add(parent.ordinal)
                    parent, level = by_id.get(parent.span.parent_span_id), level + 1
            frontier, level = [span], 0
            while frontier and (match_depth < 0 or level < match_depth):
                frontier = [c for s in frontier for c in children.get(s.span.span_id, [])]
                keep.update(c.ordinal for c in frontier)
                level += 1
        return [s for s in spans if s.ordinal in keep]


def filter_options(req: ApiRequest) -> tuple[bool, int, int]:
    """`api.ParseTraceByIDFilterParams`: keep_hierarchy, match_depth (default 0), ancestor_depth (-1)."""
    keep = False
    raw = req.get("keep_hierarchy") or ""
    if raw:
        truth = {"1": True, "t": True, "T": True, "TRUE": True, "true": True, "True": True,
                 "0": False, "f": False, "F": False, "FALSE": False, "false": False, "False": False}
        if raw not in truth:
            raise ApiError(400, f'invalid value for keep_hierarchy: strconv.ParseBool: parsing "{raw}": invalid syntax')
        keep = truth[raw]
    match_depth = _depth(req, "match_depth", 0)
    ancestor_depth = _depth(req, "ancestor_depth", -1) if keep else -1
    return keep, match_depth, ancestor_depth


def _depth(req: ApiRequest, name: str, default: int) -> int:
    raw = req.get(name) or ""
    if not raw:
        return default
    try:
        value = parse_int(raw)
    except GoSyntaxError as exc:
        raise ApiError(400, f"invalid value for {name}: {str(exc).replace('ParseInt', 'Atoi')}") from None
    if value < -1:
        raise ApiError(400, f"invalid value for {name}: must be >= -1")
    return value


def _v2_protobuf(resource_spans: list, partial: bool, message: str = "") -> bytes:
    """`tempopb.TraceByIDResponse`: trace (1) = `Trace{resourceSpans (1)}`, status (3) = PARTIAL."""
    trace = traces_data(resource_spans)
    out = length_delimited(1, trace)
    if partial:
        text = (message or PARTIAL_MESSAGE).encode()
        out += b"\x18\x01" + length_delimited(4, text)
    return out
