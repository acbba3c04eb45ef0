"""Messages that cross widgets: panes post them up, the app routes them.

Panes post these straight to the app (`self.app.post_message`) rather than letting them
bubble: each hop of a bubble through the DOM waited for a frame (~30 ms measured on
"open trace"), and the app is where they go anyway."""

from __future__ import annotations

from dataclasses import dataclass, field

from textual.message import Message


@dataclass
class OpenTrace(Message):
    """Show trace `trace_id` in the trace view (selecting span `select`)."""

    trace_id: bytes
    select: bytes | None = None


@dataclass
class ApplyFilter(Message):
    """Replace the filter with `text` (a pod chosen, a folded root opened) and show `view`."""

    text: str
    view: str = "traces"


@dataclass
class Searched(Message):
    """A list applied a search: `total` rows (with `cut`, why fewer are listed)."""

    kind: str
    """"traces", "spans" or "pods": the noun of the filter bar's count."""
    total: int
    cut: str = ""


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
