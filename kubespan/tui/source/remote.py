"""`RemoteSource`: the data source over a remote Tempo-compatible API (`kubespan attach URL`).

The trace list is a `TraceFeed` (a TraceQL search polled over a sliding window, merged); the
followed one is kept fresh by a `Poller` thread, whose changes move `version()`. Opening a
trace fetches it by id into a one-trace store, read as the local store is read. Lookups
(`version`, `status`, `rows`) never touch the network. A remote that stops answering keeps
its last answers on screen; the footer says "unreachable, retrying" until it is back.
"""

from __future__ import annotations

import dataclasses
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import tzinfo
from pathlib import Path
from typing import Any

import numpy as np

from kubespan.query import QuerySyntaxError
from kubespan.remote.answers import FoundTrace, tag_values
from kubespan.remote.client import RemoteClient, RemoteError
from kubespan.remote.detect import RemoteInfo, detect
from kubespan.remote.feed import NS, TraceFeed
from kubespan.remote.poller import Poller
from kubespan.remote.settings import RemoteSettings
from kubespan.remote.trace_fetch import FetchedTrace, fetch_trace
from kubespan.remote.traceql_text import Translation, Untranslatable, translate
from kubespan.store.rows import TagValue, TraceSummary
from kubespan.tui.source.base import (
    Capabilities,
    RootGroup,
    Search,
    SourceError,
    SourceStatus,
    SpanSort,
    TraceData,
    TraceSort,
)
from kubespan.tui.source.local import LocalSource
from kubespan.tui.source.trace_table import FOLD_MIN_REPEATS
from kubespan.tui.time_window import TimeClause, split_time_clause

FEEDS_KEPT = 8
"""Searches whose merged lists are kept (the followed one, the last filters, `e`'s error search), besides
the unfiltered list, which is always kept."""
TRACES_KEPT = 4
"""Fetched traces kept (Escape and Enter again, a link followed and back)."""
KEY_HOLD_S = 0.3
"""After a key, polls wait this long (the frame that answers it is drawn first): `key_pressed`."""
TRACE_STALE_S = 30.0
"""A fetched trace is fetched again after this long, or sooner when the list shows it changed."""
CAPABILITIES = Capabilities(live=True, spans=False, pods=False, metrics=True, graph=True, save=True, fold=True,
                            missing_note="Tempo's API: a few spans per trace, no pods")
NO_GRAPH = dataclasses.replace(CAPABILITIES, graph=False,
                               missing_note="Tempo's API: a few spans per trace, no pods; this kubespan has no "
                                            "graph endpoint (a newer one has)")


@dataclass(frozen=True, slots=True)
class RemoteQuery:
    """What `compile` makes of the filter text: the local parse and the TraceQL that is sent."""

    query: Any
    translation: Translation

    @property
    def sent(self) -> str:
        return self.translation.traceql if self.translation.translated else ""


class RemoteSource:
    """The TUI's view of a remote API."""

    def __init__(self, settings: RemoteSettings, *, compile_query: Callable[[str], Any],
                 client: RemoteClient | None = None, info: RemoteInfo | None = None, refresh_s: float = 2.0,
                 tz: tzinfo | None = None, warnings: Sequence[str] = (),
                 wall_clock: Callable[[], float] = time.time) -> None:
        self.settings = settings
        self.client = client or RemoteClient(settings)
        self.compile_query = compile_query
        self.info = info
        self.name = self._name()
        self.tz = tz
        self.warnings = list(warnings)
        self.wall_clock = wall_clock
        self._version = 0
        self._feeds: OrderedDict[tuple[str, TimeClause | None], TraceFeed] = OrderedDict()
        self._traces: OrderedDict[bytes, tuple[FetchedTrace, FoundTrace | None, float]] = OrderedDict()
        self._paused = False
        self._detecting = threading.Lock()
        self.poller = Poller(self.client, self.name, refresh_s=refresh_s, on_change=self._changed,
                             prepare=self._detect, clock=wall_clock)
        self._metrics: Any = None

    @property
    def capabilities(self) -> Capabilities:
        """Tempo's API, plus the service graph when the remote is a kubespan that serves it (or a Tempo,
        from its TraceQL: `kubespan.remote.graph`)."""
        info = self.info
        return NO_GRAPH if info is not None and info.kind == "kubespan" and not info.graph else CAPABILITIES

    def _name(self) -> str:
        """`kubespan http://127.0.0.1:3200`, `tempo https://tempo.example` (`remote …` until detected)."""
        kind = self.info.kind if self.info is not None else "remote"
        return f"{kind} {self.settings.display_url}"

    def _changed(self) -> None:
        self._version += 1

    # -- lookups ---------------------------------------------------------------------------------

    def version(self) -> int:
        return self._version

    def status(self) -> SourceStatus:
        remote = dataclasses.replace(self.poller.status(), source=self.name)
        feed = self.poller.followed
        stored = len(feed.page.traces) if feed is not None else 0
        return SourceStatus(stored=stored, warnings=tuple(self.warnings), note=remote.note, remote=remote)

    def compile(self, text: str) -> Search:
        rest, clause = split_time_clause(text.strip())
        query = self.compile_query(rest) if rest.strip() else None
        try:
            translation = translate(query)
        except Untranslatable as exc:
            raise QuerySyntaxError(str(exc), 1) from None
        return Search(text.strip(), RemoteQuery(query, translation), clause)

    def key_pressed(self) -> None:
        """The viewer got a key: the poller waits a moment (`KEY_HOLD_S`) rather than reading an answer
        while the key's result is drawn (at most `MAX_HOLD_S` late in a stream of keys)."""
        self.poller.hold(KEY_HOLD_S)

    def follow(self, search: Search | None, paused: bool = False) -> None:
        """The app says which search the shown list follows (and whether it is paused)."""
        self._paused = paused
        self.poller.follow(self._feed(search) if search is not None else self.poller.followed, paused=paused)

    # -- queries ----------------------------------------------------------------------------------

    def _detect(self) -> None:
        """Learn what the remote is, once (raises `RemoteError` while it cannot be reached)."""
        with self._detecting:
            if self.info is not None:
                return
            self.info = detect(self.client)
            self.name = self._name()
            for feed in self._feeds.values():
                feed.most_recent_hint = self.info.most_recent_hint
                feed.status_path = self.info.status_path

    def _call(self, request: Callable[[], Any]) -> Any:
        """Run one request; its failure becomes a `SourceError` and the footer's note. Only an answer
        clears that note: a call that asked nothing (detection already done, a poll another thread just
        made) returns None and leaves it, so a refused search stays said."""
        try:
            answer = request()
        except RemoteError as exc:
            self.poller.failed(exc)
            raise SourceError(exc.message) from None
        if answer is not None:
            self.poller.answered()
        return answer

    def _feed(self, search: Search) -> TraceFeed:
        remote = search.query if isinstance(search.query, RemoteQuery) else RemoteQuery(None, translate(None))
        key = (remote.translation.traceql, search.clause)
        feed = self._feeds.get(key)
        if feed is None:
            info = self.info
            feed = TraceFeed(self.client, remote.translation.traceql, limit=self.settings.limit,
                             lookback_s=self.settings.lookback_s, window=self._window(search.clause),
                             most_recent_hint=info.most_recent_hint if info is not None else True,
                             status_path=info.status_path if info is not None else "", clock=self.wall_clock)
            self._feeds[key] = feed
            others = [k for k in self._feeds if k != key and k != ("{ }", None)]
            for old in others[: max(0, len(self._feeds) - FEEDS_KEPT)]:
                del self._feeds[old]  # the oldest go; the unfiltered list stays (Enter on an empty filter)
        self._feeds.move_to_end(key)
        return feed

    def _window(self, clause: TimeClause | None) -> Callable[[int], tuple[int, int]] | None:
        if clause is None:
            return None
        lookback = int(self.settings.lookback_s * NS)

        def window(now: int) -> tuple[int, int]:
            start, end = clause.resolve(now, None, self.tz)
            return (start if start is not None else now - lookback), (end if end is not None else now)

        return window

    def find_traces(self, search: Search, sort: TraceSort = TraceSort.START, *, fold: bool = False,
                    cancel: Any = None) -> RemoteTraces:
        feed = self._feed(search)
        if cancel is not None:  # a list's own search: the one to follow
            self.poller.follow(feed, paused=self._paused)
        self._call(self._detect)
        if feed.last_poll is None:  # a new search: the list waits for its first answer
            self._call(lambda: feed.poll(min_age_s=self.poller.refresh_s))
        elif self.wall_clock() - feed.last_poll >= self.poller.refresh_s:
            self.poller.poke()  # an older answer now, the fresh one as soon as it comes
        return RemoteTraces.of(list(feed.page.traces), feed.page.cut, sort, fold)

    def find_spans(self, search: Search, sort: SpanSort = SpanSort.START, *, cancel: Any = None) -> RemoteSpans:
        return RemoteSpans(cut="not offered by this remote")

    def trace(self, trace_id: bytes) -> TraceData | None:
        fetched = self._fetched(trace_id)
        if fetched is None:
            return None
        data = LocalSource(fetched.store, compile_query=self.compile_query).trace(trace_id)
        if data is not None and fetched.partial:
            data = dataclasses.replace(data, cut=fetched.partial)
        return data

    def _fetched(self, trace_id: bytes) -> FetchedTrace | None:
        listed = self._listed(trace_id)
        cached = self._traces.get(trace_id)
        if cached is not None:
            fetched, seen, when = cached
            if seen == listed and self.wall_clock() - when < TRACE_STALE_S:
                self._traces.move_to_end(trace_id)
                return fetched
        with self.client.interactive():  # a trace opened (or shown again changed): a key waits for it
            fetched = self._call(lambda: fetch_trace(self.client, trace_id))
        if fetched is not None:
            self._traces[trace_id] = (fetched, listed, self.wall_clock())
            while len(self._traces) > TRACES_KEPT:
                self._traces.popitem(last=False)
        return fetched

    def _listed(self, trace_id: bytes) -> FoundTrace | None:
        feed = self.poller.followed
        return feed.get(trace_id) if feed is not None else None

    def pods(self, search: Search, *, cancel: Any = None) -> list[Any]:
        return []

    def tag_names(self) -> list[str]:
        from kubespan.remote.answers import scoped_names, tag_names

        with self.client.interactive():  # completion while typing
            return scoped_names(self._call(lambda: tag_names(self.client.get_json("/api/v2/search/tags"))))

    def tag_values(self, key: str, limit: int = 1000) -> list[TagValue]:
        path = f"/api/v2/search/tag/{key}/values"
        with self.client.interactive():
            values = self._call(lambda: tag_values(self.client.get_json(path, {"limit": limit})))
        return [TagValue(value.type, value.value, value.value, 0) for value in values[:limit]]

    def save_trace(self, trace_id: bytes, directory: Path) -> tuple[Path, int]:
        from kubespan.dumps import save_trace

        try:
            fetched = self._fetched(trace_id)
        except SourceError as exc:
            raise OSError(str(exc)) from None
        if fetched is None:
            raise OSError(f"trace {trace_id.hex()} is not on the remote")
        return save_trace(fetched.store, trace_id, directory)

    def metrics(self) -> Any:
        """The Services and Graph views' numbers from the remote's TraceQL metrics (and a kubespan's graph
        endpoint): `kubespan.remote.metrics.RemoteMetrics`, one per source."""
        if self._metrics is None:
            from kubespan.remote.metrics import RemoteMetrics

            self._metrics = RemoteMetrics(self.client, kind=lambda: self.info.kind if self.info else "",
                                          graph=lambda: bool(self.info and self.info.graph), newest=self._newest,
                                          refresh_s=self.poller.refresh_s,
                                          red=lambda: bool(self.info and self.info.red))
        return self._metrics

    def _newest(self) -> int:
        """The latest end (unix ns) among the followed list's traces: no span of theirs starts later."""
        feed = self.poller.followed
        return max((trace.end for trace in feed.page.traces), default=0) if feed is not None else 0

    def close(self) -> None:
        self.poller.close()


NO_ROOT = "<root span not yet received>"
"""Tempo's `rootServiceName` for a trace whose root span it does not hold."""


def summary(trace: FoundTrace) -> TraceSummary:
    service, name = ("", "") if trace.root_service == NO_ROOT else (trace.root_service, trace.root_name)
    return TraceSummary(trace.trace_id, service, name, trace.start, trace.end,
                        trace.duration, trace.span_count, trace.error_count,
                        tuple(sorted(name for name, _, _ in trace.services)), None)


@dataclass
class RemoteTraces:
    """The merged list, ordered (and folded) as asked; every lookup is in memory."""

    entries: list[TraceSummary | RootGroup]
    cut: str = ""
    _positions: dict[bytes, int] = field(default_factory=dict)
    total: int = 0

    def __post_init__(self) -> None:
        self.total = len(self.entries)

    @classmethod
    def of(cls, traces: list[FoundTrace], cut: str, sort: TraceSort, fold: bool) -> RemoteTraces:
        rows = [summary(trace) for trace in traces]  # newest first
        ordered = sorted(rows, key=lambda row: _sort_key(row, sort), reverse=True)
        entries: list[TraceSummary | RootGroup] = _folded(ordered, sort) if fold else list(ordered)
        return cls(entries, cut, {_key(entry): index for index, entry in enumerate(entries)})

    def rows(self, offset: int, limit: int) -> list[TraceSummary | RootGroup]:
        return self.entries[max(0, offset): max(0, offset) + limit]

    def key(self, index: int) -> bytes:
        return _key(self.entries[index])

    def position(self, key: bytes) -> int | None:
        return self._positions.get(key)


def _key(entry: TraceSummary | RootGroup) -> bytes:
    return entry.trace_id


def _sort_key(row: TraceSummary, sort: TraceSort) -> tuple[int, int]:
    value = {TraceSort.START: row.start, TraceSort.DURATION: row.duration, TraceSort.SPANS: row.span_count,
             TraceSort.ERRORS: row.error_count}[sort]
    return value, row.start


def _folded(rows: list[Any], sort: TraceSort) -> list[TraceSummary | RootGroup]:
    """Roots seen at least `FOLD_MIN_REPEATS` times become one `RootGroup` row, as the local list folds."""
    by_root: dict[tuple[str, str], list[TraceSummary]] = {}
    for row in rows:
        by_root.setdefault((row.root_service, row.root_name), []).append(row)
    entries: list[tuple[tuple[int, int], TraceSummary | RootGroup]] = []
    for (service, name), members in by_root.items():
        if len(members) < FOLD_MIN_REPEATS:
            entries += [(_sort_key(row, sort), row) for row in members]
            continue
        newest = max(members, key=lambda row: row.start)
        durations = np.array([row.duration for row in members], np.int64)
        group = RootGroup(service=service, name=name, count=len(members),
                          errors=sum(row.error_count for row in members),
                          spans=sum(row.span_count for row in members), latest=newest.start,
                          p50=int(np.percentile(durations, 50, method="lower")),
                          p99=int(np.percentile(durations, 99, method="lower")), trace_id=newest.trace_id)
        value = {TraceSort.START: group.latest, TraceSort.DURATION: group.p99, TraceSort.SPANS: group.spans,
                 TraceSort.ERRORS: group.errors}[sort]
        entries.append(((value, group.latest), group))
    entries.sort(key=lambda item: item[0], reverse=True)
    return [entry for _, entry in entries]


@dataclass
class RemoteSpans:
    """Tempo's API lists only a few spans per trace: the flat span list is not offered."""

    cut: str = ""
    total: int = 0

    def rows(self, offset: int, limit: int) -> list[Any]:
        return []

    def key(self, index: int) -> Any:
        raise IndexError(index)

    def position(self, key: Any) -> int | None:
        return None
