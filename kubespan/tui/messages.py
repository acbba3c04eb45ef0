"""Messages that cross widgets: workers and children post them up to the app."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from textual.message import Message


@dataclass
class FilterApplied(Message):
    """The filter bar's text was accepted (Enter); `query` is compiled, None for all."""

    text: str
    query: Any


@dataclass
class TracesFound(Message):
    """A search worker finished: trace ids newest first, for `generation`."""

    trace_ids: list
    generation: int
    version: int


@dataclass
class SpansFound(Message):
    """A search worker finished: matching span ordinals (ascending)."""

    ordinals: Any
    generation: int
    version: int


@dataclass
class TraceLoaded(Message):
    """The rows of one trace, for the waterfall."""

    trace_id: bytes
    rows: list
    version: int


@dataclass
class PodsFound(Message):
    """Pod rows for the pod view."""

    pods: list
    version: int


@dataclass
class LoadProgress(Message):
    """`kubespan open`: bytes read so far out of `total` (0 when unknown)."""

    path: str
    done: int
    total: int
    spans: int
    finished: bool = False
    error: str = ""
    warnings: list = field(default_factory=list)


@dataclass
class SearchFailed(Message):
    """A search thread raised; shown as an error notification."""

    error: str


@dataclass
class ErrorTracesFound(Message):
    """Trace ids with an error span, for `e` in the trace list."""

    trace_ids: set
    step: int
    generation: int
