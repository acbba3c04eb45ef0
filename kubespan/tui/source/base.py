"""The one interface the TUI reads through, and the answers it gets. No Textual here.

Two kinds of calls:

- **queries** (`find_traces`, `find_spans`, `trace`, `pods`, `tag_values`, `save_trace`) may be
  slow or remote: the views run them in Textual thread workers, never on the UI thread.
  They may raise `SourceError` (shown as a note, the last answer stays on screen) and may
  answer with less than was asked (`cut` says why, e.g. "first 500 of more").
- **lookups** (`version`, `status`, `compile`, and `rows`/`detail` on an answer already
  received) never touch the network: a remote source answers them from what its queries
  returned; the local source reads its in-memory store (a few ms for a screenful). Views
  call them on the UI thread for the rows they draw.

A source says what it can do in `capabilities`; a view whose capability is missing is
shown with a note instead of its rows. See proto_notes/tui.md ("The data source").
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import Any, Protocol

from kubespan.tui.time_window import TimeClause


class SourceError(Exception):
    """A query failed (unreachable, refused, timed out, bad answer); `str()` says how."""


class TraceSort(str, Enum):
    """Orders of the trace list; every one is newest-first within equal keys."""

    START = "start"
    DURATION = "duration"
    SPANS = "spans"
    ERRORS = "errors"


class SpanSort(str, Enum):
    START = "start"
    DURATION = "duration"


@dataclass(frozen=True, slots=True)
class Capabilities:
    """What a source can answer; views whose capability is False show `missing_note`."""

    live: bool = True
    """Its content changes while the viewer runs (`version` moves)."""
    spans: bool = True
    """A flat list of every matching span (Tempo's API gives only a few spans per trace)."""
    pods: bool = True
    """The pod view (kubespan's own aggregation; not in Tempo's API)."""
    save: bool = True
    """`save_trace` writes OTLP/JSON lines."""
    fold: bool = True
    """Repeated roots folded into one row with p50/p99."""
    metrics: bool = True
    """`metrics()`: rates, errors and latency per service and operation (the Services view)."""
    graph: bool = True
    """`metrics().edges`: the service graph (the Graph view)."""
    sorts: tuple[TraceSort, ...] = tuple(TraceSort)
    missing_note: str = "not available from this source"


@dataclass(frozen=True, slots=True)
class Search:
    """An applied filter: the query (compiled by the source) and the time window."""

    text: str = ""
    """As typed in the filter bar, time clause included."""
    query: Any = None
    """What the source compiled from the text without its time clause; None matches all."""
    clause: TimeClause | None = None
    """`since 5m`, `between 12:00 12:05` or a TraceQL `with (...)` hint; None: all time."""


@dataclass(frozen=True, slots=True)
class RootGroup:
    """Repeated roots of one service and name, folded into one row of the trace list."""

    service: str
    name: str
    count: int
    """Traces whose root this is."""
    errors: int
    """Error spans in those traces."""
    spans: int
    latest: int
    """Start (unix ns) of the newest of them."""
    p50: int
    p99: int
    """Durations (ns) of those traces: median and 99th percentile."""
    trace_id: bytes
    """The newest of them (Enter shows them all)."""


@dataclass(frozen=True, slots=True)
class SourceStatus:
    """What the footer shows about the source; a lookup, refreshed by the source itself."""

    stats: dict = field(default_factory=dict)
    stored: int = 0
    addresses: dict = field(default_factory=dict)
    warnings: tuple[str, ...] = ()
    forwards: tuple = ()
    """`status_line.ForwardState` of every forward target."""
    note: str = ""
    """e.g. a remote source's "unreachable, retrying"."""
    remote: Any = None
    """A remote source's `kubespan.remote.poller.RemoteStatus` (source, latency, last refresh)."""


class TraceResult(Protocol):
    """The traces of one `find_traces`, in the order asked for."""

    @property
    def total(self) -> int: ...

    @property
    def cut(self) -> str:
        """Empty, or why fewer traces than match are listed."""

    def rows(self, offset: int, limit: int) -> list[Any]:
        """TraceSummary (or RootGroup when folded; None for an evicted trace) of positions
        [offset, offset + limit). A lookup: fine on the UI thread for the visible rows."""

    def key(self, index: int) -> bytes:
        """The trace id at `index` (a folded group's newest trace). A lookup."""

    def position(self, key: bytes) -> int | None:
        """Where a trace id (or a folded group's newest trace id) is in the list."""


class SpanResult(Protocol):
    """The spans of one `find_spans`, newest first (or as sorted)."""

    @property
    def total(self) -> int: ...

    @property
    def cut(self) -> str: ...

    def rows(self, offset: int, limit: int) -> list[Any]:
        """SpanRow (None where evicted) of positions [offset, offset + limit). A lookup."""

    def key(self, index: int) -> Any:
        """What identifies the span at `index` (for the local store, its ordinal). A lookup."""

    def position(self, key: Any) -> int | None:
        """Where the span `key` identifies is in the list."""


class TraceData(Protocol):
    """One trace, as `trace` found it."""

    @property
    def trace_id(self) -> bytes: ...

    @property
    def summary(self) -> Any: ...

    @property
    def rows(self) -> Sequence[Any]:
        """SpanRow of every span shown (at most the source's limit), by start time."""

    @property
    def cut(self) -> str: ...

    def detail(self, row: Any) -> Any:
        """The span's full `SpanDetail` (protobuf messages), or None if gone. A lookup."""

    def event_times(self, row: Any) -> list[int]:
        """Times of the span's events (unix ns), for the ◆ on its bar. A lookup."""


class DataSource(Protocol):
    """Where the TUI's traces come from: the local store, or a remote API."""

    name: str

    @property
    def capabilities(self) -> Capabilities:
        """What it can answer (a remote's depends on what it turned out to be)."""

    # -- lookups ------------------------------------------------------------------------------

    def version(self) -> int:
        """Moves whenever the content changed (the views then refresh what they show)."""

    def status(self) -> SourceStatus: ...

    def compile(self, text: str) -> Search:
        """Parse filter text; raises `QuerySyntaxError` or `TimeWindowError` (with `.column`)."""

    # -- queries (run them in workers) -----------------------------------------------------

    def find_traces(self, search: Search, sort: TraceSort = TraceSort.START, *, fold: bool = False,
                    cancel: Any = None) -> TraceResult: ...

    def find_spans(self, search: Search, sort: SpanSort = SpanSort.START, *, cancel: Any = None) -> SpanResult: ...

    def trace(self, trace_id: bytes) -> TraceData | None:
        """The trace, or None if the source does not have it (evicted, never received)."""

    def pods(self, search: Search, *, cancel: Any = None) -> list[Any]:
        """`PodRow`s of every pod the matching traces touch."""

    def tag_values(self, key: str, limit: int = 1000) -> list[Any]: ...

    def save_trace(self, trace_id: bytes, directory: Path) -> tuple[Path, int]: ...

    def metrics(self) -> Any:
        """The RED numbers and service-graph edges, duck-typed like `kubespan.metrics.live.LiveMetrics`
        (`refresh`, `set_query`, `rows`, `edges`, `notes`, `latest_start`). A query: call it in a worker."""
