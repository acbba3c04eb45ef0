"""The status line's parts for a remote source (`kubespan attach`): which remote, how fast it
answers, when the list was last refreshed, and whether it can be reached."""

from __future__ import annotations

from datetime import tzinfo

from rich.text import Text

from kubespan.remote.poller import RemoteStatus
from kubespan.tui.format import format_clock, plural
from kubespan.tui.status_line import Part
from kubespan.tui.text import inert


def remote_parts(remote: RemoteStatus, listed: int, tz: tzinfo | None = None) -> list[Part]:
    """Parts in the status line's ranks: the note first (rank 1: it must stay), then the source."""
    parts = []
    if remote.note:
        parts.append(Part(1, inert(f"⚠ {remote.note}", "bold red", limit=160), Text("⚠ unreachable", "bold red")))
    source = remote.source
    parts.append(Part(3, inert(source if len(source) <= 60 else source[:59] + "…", "bold", limit=70),
                      inert(source.split(" ", 1)[0], "bold", limit=20)))
    if remote.latency_s is not None:
        parts.append(Part(5, Text(f"{remote.latency_s * 1000:,.0f} ms", "dim")))
    if remote.refreshed is not None:
        clock = format_clock(int(remote.refreshed * 1e9), tz)[:8]
        parts.append(Part(4, Text(f"refreshed {clock}", "yellow" if remote.failing else ""), Text(clock)))
    parts.append(Part(6, Text(plural(listed, "trace") + " listed", "dim")))
    return parts
