"""Tempo's search, `GET /api/search`: TraceQL (`q`) or tags, newest traces first.

A trace is in the window when it overlaps it (its first start ≤ `end`, its last end ≥ `start`), as in
Tempo's blocks. With more matches than `limit`, kubespan keeps the newest (Tempo keeps whichever its
jobs return first unless `most_recent=true`). Tag search follows Tempo's block search: `service.name`,
`name`, `root.name` and `root.service.name` match substrings; `status.code` a status; a numeric
`http.status_code` the integer; any other key the exact string value of a span or resource attribute,
all of those on one resource of the trace; `minDuration`/`maxDuration` bound the trace's duration
(ignored with `q`, as on Tempo).
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from kubespan.api.context import ApiContext
from kubespan.api.responses import ApiError, Reply, json_reply
from kubespan.api.search_params import SearchRequest, parse_search
from kubespan.api.search_shape import Wanted, referenced, spanset_json, trace_json
from kubespan.api.server import ApiRequest, Route
from kubespan.api.settings import DEFAULT_SPSS
from kubespan.api.source import column_at, stored_spans, trace_facts
from kubespan.api.store_status import VERSION_HEADER, store_version
from kubespan.api.throttle import checkpoint
from kubespan.api.trace_choice import choose_traces, distinct_rows, live_rows, newest_matches
from kubespan.query import Query
from kubespan.query.ast import Const, Filter
from kubespan.query.limits import QueryStopped

_SUBSTRING = {"service.name": "resource.service.name", "name": "name"}
_STATUS = {"unset": "unset", "ok": "ok", "error": "error"}


def traceql_string(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _regex_literal(text: str) -> str:
    return "".join(c if c.isalnum() else "\\" + c for c in text)


class Search:
    def __init__(self, ctx: ApiContext) -> None:
        self.ctx = ctx

    def routes(self) -> list[Route]:
        return [Route("/api/search", self.handle)]

    def handle(self, req: ApiRequest) -> Reply:
        self.ctx.check_query_params(req)
        search = parse_search(req)
        version = store_version(self.ctx)  # before the snapshot: never newer than the answer
        reader = self.ctx.reader()
        deadline = self.ctx.deadline()
        try:
            if search.query:
                query = self.ctx.compile(search.query)
                if query.is_pipeline:
                    answer = self._pipeline(reader, search, reader.spansets(query, deadline), referenced(query.root))
                else:
                    answer = self._traceql(reader, search, query, referenced(query.root), deadline)
            else:
                answer = self._tags(reader, search, deadline)
        except QueryStopped as exc:
            raise self.ctx.stopped(exc) from None
        answer["metrics"] = {"inspectedTraces": int(reader.snap.n_traces), "inspectedBytes": "0",
                             "completedJobs": 1, "totalJobs": 1}
        reply = json_reply(answer)
        reply.headers[VERSION_HEADER] = version
        return reply

    # ------------------------------------------------------------------ TraceQL
    def _traceql(self, reader, search: SearchRequest, query: Query, wanted: list[Wanted], deadline) -> dict:
        """A spanset filter's answer: the newest matching traces, each with its first `spss` matching spans
        in stored order. A filter matching every span (`{ }`) reads only the trace table to choose."""
        snap = reader.snap
        spss = search.spss or DEFAULT_SPSS
        if matches_every_span(query):
            chosen = self._choose(reader, live_rows(snap), search, durations=False)
            counts = snap.traces.count[chosen].astype(np.int64)
            self._bound(int(np.minimum(counts, spss).sum()), len(chosen))
            facts = trace_facts(reader, chosen)
            by_row = {row: list(facts[row].order) for row in chosen.tolist()}
        else:
            matches = reader.chunk_matches(query, deadline)  # newest chunks first, stopping early
            matched = (reader.search(query, deadline) if matches is None else
                       newest_matches(reader, matches, search.start, search.end, search.limit))
            rows = column_at(snap, "trace", matched)
            chosen = self._choose(reader, distinct_rows(rows, snap.n_traces), search, durations=False)
            by_row = matched_by_row(rows, matched, chosen, snap.n_traces)
            self._bound(sum(min(len(o), spss) for o in by_row.values()), len(chosen))
            facts = trace_facts(reader, chosen)
        deadline.check()
        picked = {row: facts[row].ranked(ordinals)[:spss] for row, ordinals in by_row.items()}
        stored = {s.ordinal: s for s in stored_spans(reader, [o for ordinals in picked.values() for o in ordinals])}
        traces = []
        for count, row in enumerate(chosen.tolist()):
            if count % 64 == 63:
                checkpoint()
            spans = [stored[o] for o in picked[row] if o in stored]
            traces.append(trace_json(facts[row], [spanset_json(spans, len(by_row[row]), wanted, [])]))
        return {"traces": traces}

    def _pipeline(self, reader, search: SearchRequest, spansets: list, wanted: list[Wanted]) -> dict:
        """A pipeline's spansets (by() groups, aggregate values as spanset attributes), per trace."""
        snap = reader.snap
        trace_col = snap.column("trace")
        by_row: dict[int, list] = {}
        for spanset in spansets:
            by_row.setdefault(int(trace_col[spanset.spans[0] - snap.floor]), []).append(spanset)
        chosen = self._choose(reader, np.array(sorted(by_row), np.int64), search, durations=False)
        spss = search.spss or DEFAULT_SPSS
        self._bound(sum(min(len(ss.spans), spss) for row in chosen.tolist() for ss in by_row[row]), len(chosen))
        facts = trace_facts(reader, chosen)
        traces = []
        for row in chosen.tolist():
            shown = []
            for spanset in by_row[row]:
                ranked = facts[row].ranked(list(spanset.spans))[:spss]
                by_ordinal = {s.ordinal: s for s in stored_spans(reader, ranked)}
                spans = [by_ordinal[o] for o in ranked if o in by_ordinal]
                attributes = [{"key": name, "value": _typed_json(value)} for name, value in spanset.attributes]
                shown.append(spanset_json(spans, len(spanset.spans), wanted, attributes))
            traces.append(trace_json(facts[row], shown))
        return {"traces": traces}

    def _bound(self, total: int, traces: int) -> None:
        """Refuse an answer carrying more spans than the API's bound (413, what to lower)."""
        most = self.ctx.settings.max_answer_spans
        if total > most:
            raise ApiError(413, f"search answer too large: {total:,} spans in {traces:,} traces; at most "
                                f"{most:,} spans per answer (lower limit or spss)")

    # ------------------------------------------------------------------ tags
    def _tags(self, reader, search: SearchRequest, deadline) -> dict:
        snap = reader.snap
        candidates = live_rows(snap)
        generic: list[tuple[str, str]] = []
        roots: list[tuple[str, str]] = []
        for key, value in search.tags.items():
            if key in ("root.name", "root.service.name"):
                roots.append((key, value))
                continue
            text = self._tag_condition(key, value)
            if text is None:
                generic.append((key, value))
                continue
            candidates = np.intersect1d(candidates, self._rows(reader, text, deadline))
        if generic:
            candidates = np.intersect1d(candidates, self._generic_rows(reader, generic, deadline))
        chosen = self._choose(reader, candidates, search, durations=True, roots=roots)
        facts = trace_facts(reader, chosen)
        return {"traces": [trace_json(facts[row], None) for row in chosen.tolist()]}

    @staticmethod
    def _tag_condition(key: str, value: str) -> str | None:
        if key in _SUBSTRING:
            return f"{{ {_SUBSTRING[key]} =~ {traceql_string('.*' + _regex_literal(value) + '.*')} }}"
        if key == "status.code":
            return f"{{ status = {_STATUS.get(value, 'unset')} }}"
        if key == "http.status_code" and value.lstrip("-").isdigit():
            return f"{{ span.http.status_code = {int(value)} }}"
        return None

    def _rows(self, reader, text: str, deadline) -> npt.NDArray[np.int64]:
        ordinals = reader.search(self.ctx.compile(text), deadline)
        return distinct_rows(column_at(reader.snap, "trace", ordinals), reader.snap.n_traces)

    def _generic_rows(self, reader, conditions: list[tuple[str, str]], deadline) -> npt.NDArray[np.int32]:
        """Traces where one resource (its attributes or its spans') satisfies every condition."""
        snap = reader.snap
        pairs: set[tuple[int, int]] | None = None
        for key, value in conditions:
            query = self.ctx.compile(f"{{ .{_quoted_name(key)} = {traceql_string(value)} }}")
            ordinals = reader.search(query, deadline)
            resources = snap.scope_resource[column_at(snap, "scope", ordinals)]
            found = set(zip(column_at(snap, "trace", ordinals).tolist(), resources.tolist()))
            pairs = found if pairs is None else pairs & found
            if not pairs:
                break
        return np.array(sorted({row for row, _ in pairs or ()}), np.int32)

    # ------------------------------------------------------------------ selection
    def _choose(self, reader, rows: npt.NDArray, search: SearchRequest, *, durations: bool,
                roots: list[tuple[str, str]] | None = None) -> npt.NDArray[np.int64]:
        """The traces to answer: in the window, within the durations (tag search), newest first, `limit`."""
        return choose_traces(reader, np.asarray(rows, np.int64), search.start, search.end, search.limit,
                             (search.min_duration_ms, search.max_duration_ms) if durations else (0, 0),
                             lambda chosen: _keep_roots(reader, chosen, roots) if roots else chosen)


def _typed_json(value: tuple) -> dict:
    """A TraceQL value as Tempo's `Static.AsAnyValue` writes it."""
    from kubespan.query.values import go_duration

    type_, python = value
    if type_ == "int":
        return {"intValue": str(python)}
    if type_ == "float":
        return {"doubleValue": python}
    if type_ == "bool":
        return {"boolValue": python}
    if type_ == "arr":
        return {"arrayValue": {"values": [_typed_json(item) for item in python]}}
    if type_ == "duration":
        return {"stringValue": go_duration(python)}
    return {"stringValue": "nil" if type_ == "nil" else str(python)}


def _keep_roots(reader, rows: npt.NDArray[np.int64], roots: list[tuple[str, str]]) -> npt.NDArray[np.int64]:
    facts = trace_facts(reader, rows)
    return np.array([r for r in rows.tolist() if _roots_match(facts[r], roots)], np.int64)


def _roots_match(facts, roots: list[tuple[str, str]]) -> bool:
    for key, value in roots:
        have = facts.root_name if key == "root.name" else facts.root_service
        if have is None or value not in have:
            return False
    return True


def _quoted_name(key: str) -> str:
    simple = all(c.isalnum() or c in "._-/" for c in key) and key[:1].isalpha()
    return key if simple else traceql_string(key)


def matches_every_span(query: Query) -> bool:
    """`{ }` (or `{ true }`): a listing of the newest traces, whatever they hold."""
    root = query.root
    return isinstance(root, Filter) and isinstance(root.expr, Const) and root.expr.value is True


def matched_by_row(rows: npt.NDArray, matched: npt.NDArray[np.int64], chosen: npt.NDArray[np.int64],
                   size: int) -> dict[int, list[int]]:
    """The matched ordinals of each chosen trace row (`rows[i]` is the trace of `matched[i]`), ascending."""
    lut = np.zeros(max(size, int(chosen.max(initial=0)) + 1) + 1, bool)
    lut[chosen] = True
    mine = np.flatnonzero(lut[rows])
    by_row: dict[int, list[int]] = {row: [] for row in chosen.tolist()}
    for row, ordinal in zip(rows[mine].tolist(), matched[mine].tolist()):
        by_row[row].append(ordinal)
    return by_row
