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
from kubespan.api.throttle import checkpoint
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
                if query.is_pipeline:
                    answer = self._pipeline(reader, search, reader.spansets(query, deadline), referenced(query.root))
                else:
                    matched = reader.search(query, deadline)
                    answer = self._traceql(reader, search, matched, referenced(query.root), deadline)
            else:
                answer = self._tags(reader, search, deadline)
        except QueryStopped as exc:
            raise self.ctx.stopped(exc) from None
        answer["metrics"] = {"inspectedTraces": int(reader.snap.n_traces), "inspectedBytes": "0",
                             "completedJobs": 1, "totalJobs": 1}
        return json_reply(answer)

    # ------------------------------------------------------------------ TraceQL
    def _traceql(self, reader, search: SearchRequest, matched: npt.NDArray[np.int64], wanted: list[Wanted],
                 deadline) -> dict:
        snap = reader.snap
        rows = column_at(snap, "trace", matched)
        chosen = self._choose(reader, np.unique(rows), search, durations=False)
        order = np.argsort(rows, kind="stable")
        sorted_rows, sorted_matched = rows[order], matched[order]
        lo = np.searchsorted(sorted_rows, chosen, "left")
        hi = np.searchsorted(sorted_rows, chosen, "right")
        spss = search.spss or DEFAULT_SPSS
        self._bound(int(np.minimum(hi - lo, spss).sum()), len(chosen))
        facts = trace_facts(reader, chosen)
        deadline.check()
        picked = {row: facts[row].ranked(sorted_matched[a:b].tolist())[:spss]
                  for row, a, b in zip(chosen.tolist(), lo.tolist(), hi.tolist())}
        stored = {s.ordinal: s for s in stored_spans(reader, [o for ordinals in picked.values() for o in ordinals])}
        traces = []
        for count, (row, a, b) in enumerate(zip(chosen.tolist(), lo.tolist(), hi.tolist())):
            if count % 64 == 63:
                checkpoint()
            spans = [stored[o] for o in picked[row] if o in stored]
            traces.append(trace_json(facts[row], [spanset_json(spans, b - a, wanted, [])]))
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
        return np.unique(column_at(reader.snap, "trace", ordinals))

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


def trace_starts(reader, rows: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
    """First start of each trace row: the trace table's, recomputed where evictions made it stale."""
    snap = reader.snap
    starts = snap.trace_start[rows].copy()
    stale = rows[snap.trace_dirty[rows]]
    if len(stale):
        fresh, _ = trace_bounds(reader, stale)
        starts[snap.trace_dirty[rows]] = fresh
    return starts


def choose_traces(reader, rows: npt.NDArray[np.int64], start_s: int, end_s: int, limit: int,
                  durations_ms: tuple[int, int] = (0, 0), keep=lambda chosen: chosen) -> npt.NDArray[np.int64]:
    """Up to `limit` of `rows`, newest first, overlapping [start_s, end_s] (unix seconds; 0 = open) and
    lasting within `durations_ms` (0 = open). Trace ends are read only for the traces that need them:
    one that starts inside the window overlaps it whatever its end."""
    if not len(rows):
        return rows
    starts = trace_starts(reader, rows)
    order = np.lexsort((-rows, -starts))
    rows, starts = rows[order], starts[order]
    low_ns, high_ns = start_s * 1_000_000_000, end_s * 1_000_000_000
    if start_s and end_s:
        inside = starts <= high_ns
        rows, starts = rows[inside], starts[inside]
    min_ms, max_ms = durations_ms
    need_end = (starts < low_ns) if start_s and end_s else np.zeros(len(rows), bool)
    if min_ms or max_ms:
        need_end[:] = True
    ends = np.zeros(len(rows), np.int64)
    if need_end.sum() > max(64, 4 * limit):  # many: one pass for all of them beats one per page
        ends[need_end] = trace_bounds(reader, rows[need_end])[1]
        known = need_end.copy()
    else:
        known = np.zeros(len(rows), bool)
    out: list[npt.NDArray[np.int64]] = []
    taken = 0
    step = max(64, 4 * limit)
    for first in range(0, len(rows), step):
        page = slice(first, first + step)
        todo = need_end[page] & ~known[page]
        if todo.any():
            page_ends = ends[page]
            page_ends[todo] = trace_bounds(reader, rows[page][todo])[1]
            ends[page] = page_ends
        ok = np.ones(len(rows[page]), bool)
        wanted = need_end[page]
        if wanted.any():
            good = np.ones(int(wanted.sum()), bool)
            span = ends[page][wanted] - starts[page][wanted]
            if start_s and end_s:
                good &= ends[page][wanted] >= low_ns
            if min_ms:
                good &= span >= min_ms * 1_000_000
            if max_ms:
                good &= span <= max_ms * 1_000_000
            ok[wanted] = good
        kept = keep(rows[page][ok])
        out.append(kept)
        taken += len(kept)
        if taken >= limit:
            break
    chosen = np.concatenate(out) if out else np.zeros(0, np.int64)
    return chosen[:limit]


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
