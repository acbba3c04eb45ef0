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
from kubespan.api.responses import Reply, json_reply
from kubespan.api.search_params import SearchRequest, parse_search
from kubespan.api.search_shape import Wanted, referenced, spanset_json, trace_json
from kubespan.api.server import ApiRequest, Route
from kubespan.api.settings import DEFAULT_SPSS
from kubespan.api.source import stored_spans, trace_facts
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
        reader = self.ctx.reader()
        deadline = self.ctx.deadline()
        try:
            if search.query:
                query = self.ctx.compile(search.query)
                matched = reader.search(query, deadline)
                answer = self._traceql(reader, search, matched, referenced(query.root))
            else:
                answer = self._tags(reader, search, deadline)
        except QueryStopped as exc:
            raise self.ctx.stopped(exc) from None
        answer["metrics"] = {"inspectedTraces": int(reader.snap.n_traces), "inspectedBytes": "0",
                             "completedJobs": 1, "totalJobs": 1}
        return json_reply(answer)

    # ------------------------------------------------------------------ TraceQL
    def _traceql(self, reader, search: SearchRequest, matched: npt.NDArray[np.int64], wanted: list[Wanted]) -> dict:
        snap = reader.snap
        rows = snap.column("trace")[matched - snap.floor] if len(matched) else np.zeros(0, np.int32)
        chosen = self._choose(reader, np.unique(rows), search, durations=False)
        facts = trace_facts(reader, chosen)
        traces = []
        for row in chosen.tolist():
            mine = matched[rows == row]
            ranked = facts[row].ranked(mine.tolist())[:search.spss or DEFAULT_SPSS]
            by_ordinal = {s.ordinal: s for s in stored_spans(reader, ranked)}
            spans = [by_ordinal[o] for o in ranked if o in by_ordinal]
            spanset = spanset_json(spans, len(mine), wanted, [])
            traces.append(trace_json(facts[row], [spanset]))
        return {"traces": traces}

    # ------------------------------------------------------------------ tags
    def _tags(self, reader, search: SearchRequest, deadline) -> dict:
        snap = reader.snap
        candidates = np.unique(snap.column("trace")) if len(snap) else np.zeros(0, np.int32)
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

    def _rows(self, reader, text: str, deadline) -> npt.NDArray[np.int32]:
        ordinals = reader.search(self.ctx.compile(text), deadline)
        snap = reader.snap
        return np.unique(snap.column("trace")[ordinals - snap.floor]) if len(ordinals) else np.zeros(0, np.int32)

    def _generic_rows(self, reader, conditions: list[tuple[str, str]], deadline) -> npt.NDArray[np.int32]:
        """Traces where one resource (its attributes or its spans') satisfies every condition."""
        snap = reader.snap
        trace_col, scope_col = snap.column("trace"), snap.column("scope")
        pairs: set[tuple[int, int]] | None = None
        for key, value in conditions:
            query = self.ctx.compile(f"{{ .{_quoted_name(key)} = {traceql_string(value)} }}")
            ordinals = reader.search(query, deadline) - snap.floor
            resources = snap.scope_resource[scope_col[ordinals]]
            found = set(zip(trace_col[ordinals].tolist(), resources.tolist()))
            pairs = found if pairs is None else pairs & found
            if not pairs:
                break
        return np.array(sorted({row for row, _ in pairs or ()}), np.int32)

    # ------------------------------------------------------------------ selection
    def _choose(self, reader, rows: npt.NDArray, search: SearchRequest, *, durations: bool,
                roots: list[tuple[str, str]] = ()) -> npt.NDArray[np.int64]:
        """The traces to answer: in the window, within the durations (tag search), newest first, `limit`."""
        rows = np.asarray(rows, np.int64)
        if not len(rows):
            return rows
        starts, ends = trace_bounds(reader, rows)
        keep = np.ones(len(rows), bool)
        if search.start and search.end:
            keep &= (starts <= search.end * 1_000_000_000) & (ends >= search.start * 1_000_000_000)
        if durations and (search.min_duration_ms or search.max_duration_ms):
            duration = ends - starts
            keep &= duration >= search.min_duration_ms * 1_000_000
            if search.max_duration_ms:
                keep &= duration <= search.max_duration_ms * 1_000_000
        rows, starts = rows[keep], starts[keep]
        order = np.lexsort((-rows, -starts))
        rows = rows[order]
        if roots:
            facts = trace_facts(reader, rows)
            rows = np.array([r for r in rows.tolist() if _roots_match(facts[r], roots)], np.int64)
        return rows[:search.limit]


def _roots_match(facts, roots: list[tuple[str, str]]) -> bool:
    for key, value in roots:
        have = facts.root_name if key == "root.name" else facts.root_service
        if have is None or value not in have:
            return False
    return True


def _quoted_name(key: str) -> str:
    simple = all(c.isalnum() or c in "._-/" for c in key) and key[:1].isalpha()
    return key if simple else traceql_string(key)


def trace_bounds(reader, rows: npt.NDArray[np.int64]) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """(first start, last end) of each trace row, from its live spans."""
    snap = reader.snap
    size = max(snap.n_traces, int(rows.max()) + 1) + 1
    lut = np.zeros(size, bool)
    lut[rows] = True
    first = np.full(size, np.iinfo(np.int64).max, np.int64)
    last = np.full(size, np.iinfo(np.int64).min, np.int64)
    for chunk, i in snap.live_slices():
        trace = chunk.trace[i:]
        where = lut[trace]
        if where.any():
            np.minimum.at(first, trace[where], chunk.start[i:][where])
            np.maximum.at(last, trace[where], chunk.end[i:][where])
    return first[rows], last[rows]
