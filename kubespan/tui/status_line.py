"""What the status line says, fitted to one line of any width. Pure: no widgets.

The line is a row of parts (feed state, forward problems, refusals, counters, addresses),
each with an importance and optionally a shorter form. When the terminal is narrow the
least important parts are shortened first, then left out, so the line never wraps and
the things that need attention (a dead forward target, refused requests) stay visible.
Warnings are separate lines below it, shown whole.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from rich.text import Text

from kubespan.tui.format import format_count, plural
from kubespan.tui.text import inert

SEPARATOR = " │ "

FIT_STAGES = tuple((action, (rank,)) for rank in range(9, 1, -1) for action in ("shorten", "drop")) + (
    ("shorten", (1,)), ("shorten", (0,)), ("drop", (1,)))
"""How a line too wide for the terminal gives way, least important part first: each rank of
counters and addresses gets its short form, then goes; then problems (rank 1) and the feed
state (rank 0) get their short forms; a problem is left out only when even that does not fit."""


@dataclass(frozen=True, slots=True)
class ForwardState:
    """One forward target as the footer shows it."""

    target: str
    """`host:port` of the backend (scheme, path and options left out)."""
    failing: bool
    """Its last send failed with a retryable error and no send has succeeded since."""
    queued_spans: int


def forward_states(statuses: Iterable[Mapping]) -> list[ForwardState]:
    """From `Forwarder.status()` dicts: `grpc://jaeger:4317 (gzip)` becomes `jaeger:4317`."""
    return [ForwardState(short_target(str(status.get("target", ""))), bool(status.get("failing")),
                         int(status.get("queue_spans", 0))) for status in statuses]


def short_target(described: str) -> str:
    where = described.split(" (", 1)[0].strip()
    if "://" in where:
        return urlsplit(where).netloc or where
    return where


@dataclass(frozen=True, slots=True)
class FeedStatus:
    """Everything the status line and the warning lines are built from."""

    stats: Mapping = field(default_factory=dict)
    stored: int = 0
    rate: float = 0.0
    addresses: Mapping = field(default_factory=dict)
    warnings: tuple[str, ...] = ()
    paused: bool = False
    held: bool = False
    source: str = ""
    progress: str = ""
    forwards: tuple[ForwardState, ...] = ()
    remote: Any = None
    """A remote source's `RemoteStatus` (`kubespan attach`): shown instead of the local counters."""
    tz: Any = None


@dataclass(slots=True)
class Part:
    """One piece of the line; lower `rank` is more important (0 is never left out)."""

    rank: int
    text: Text
    short: Text | None = None


def status_text(status: FeedStatus, width: int) -> Text:
    """The status line fitted to `width` cells, then one line per warning."""
    text = fit(status_parts(status), width)
    for warning in warning_lines(status):
        text.append("\n")
        text.append_text(warning)
    return text


def warning_lines(status: FeedStatus) -> list[Text]:
    lines = [inert(warning, "bold red", limit=400) for warning in status.warnings]
    refused = _int(status.stats, "unauthenticated_requests")
    if refused:
        lines.append(Text(f"⚠ {plural(refused, 'request', exact=True)} refused: missing or wrong bearer token "
                          "(senders need the token: KUBESPAN_TOKEN, or the exporter's authorization header)",
                          style="bold red"))
    return lines


def status_parts(status: FeedStatus) -> list[Part]:
    stats = status.stats
    parts = [_feed_state(status)]
    if status.remote is not None:
        from kubespan.tui.remote_footer import remote_parts

        return parts + remote_parts(status.remote, status.stored, status.tz)
    for target in status.forwards:
        if target.failing:
            queued = format_count(target.queued_spans)
            parts.append(Part(1, Text(f"→ {target.target} unreachable (retrying, {queued} queued)", "bold red"),
                              Text(f"→ {target.target} down, {queued} queued", "bold red")))
    refused = _int(stats, "unauthenticated_requests")
    if refused:
        parts.append(Part(1, Text(f"refused {format_count(refused)}", "bold red")))
    if status.addresses:
        parts.append(_addresses(status.addresses))
    if status.source:
        source = status.source
        parts.append(Part(7, inert(source if len(source) <= 48 else "…" + source[-47:], "dim", limit=60),
                          inert("…" + source[-23:] if len(source) > 24 else source, "dim", limit=30)))
    if status.progress:
        parts.append(Part(2, Text(status.progress, "bold cyan")))
    parts.append(Part(4, Text(f"{format_count(round(status.rate))} spans/s")))
    parts.append(Part(3, _pair("stored", status.stored)))
    evicted = sum(int(v) for k, v in stats.items() if "evicted" in k and isinstance(v, (int, float)))
    parts.append(Part(2 if evicted else 8, _pair("evicted", evicted, "yellow" if evicted else "")))
    rejected = _int(stats, "rejected_spans") + _int(stats, "refused_spans")
    parts.append(Part(2 if rejected else 8, _pair("rejected", rejected, "bold red" if rejected else "")))
    forward = _forward_counters(stats)
    if forward is not None:
        parts.append(forward)
    return parts


def fit(parts: list[Part], width: int) -> Text:
    """Join `parts`; shorten, then leave out, the least important ones until it fits."""
    parts = list(parts)

    def length() -> int:
        return sum(part.text.cell_len for part in parts) + len(SEPARATOR) * (len(parts) - 1)

    for action, ranks in FIT_STAGES:
        for part in sorted((p for p in parts if p.rank in ranks), key=lambda p: -p.rank):
            if length() <= width:
                break
            if action == "drop":
                parts.remove(part)
            elif part.short is not None:
                part.text, part.short = part.short, None
    line = Text(end="", no_wrap=True, overflow="ellipsis")
    for index, part in enumerate(parts):
        if index:
            line.append(SEPARATOR, "dim")
        line.append_text(part.text)
    line.truncate(max(0, width), overflow="ellipsis")
    return line


def _feed_state(status: FeedStatus) -> Part:
    if status.paused:
        return Part(0, Text(" ⏸ PAUSED ", "bold reverse yellow"), Text(" ⏸ ", "bold reverse yellow"))
    if status.held:
        return Part(0, Text(" ○ held: g follows ", "bold yellow"), Text(" ○ held ", "bold yellow"))
    return Part(0, Text(" ● following ", "bold green"), Text(" ● ", "bold green"))


def _forward_counters(stats: Mapping) -> Part | None:
    forward = {k: v for k, v in stats.items() if k.startswith("forward_") and isinstance(v, (int, float))}
    if not forward:
        return None
    long = Text("fwd", style="bold", end="")
    short = Text("fwd", style="bold", end="")
    lost = False
    for key in sorted(forward, key=_forward_order):
        value = forward[key]
        bad = bool(("drop" in key or "fail" in key or "error" in key) and value)
        lost = lost or bad
        label = key.removeprefix("forward_").removesuffix("_spans").replace("_", " ")
        long.append(" ")
        long.append_text(_pair(label, value, "bold red" if bad else ""))
        if label == "sent" or bad:
            short.append(" ")
            short.append_text(_pair(label, value, "bold red" if bad else ""))
    if lost:  # the counts that say spans were lost stay; queue and retries give way
        return Part(2, short)
    return Part(6, long, short)


def _addresses(addresses: Mapping) -> Part:
    long = Text(end="")
    short = Text(end="")
    for name, address in addresses.items():
        label = ("gRPC" if name == "grpc" else name.upper()) + " "
        for text, shown in ((long, str(address)), (short, ":" + str(address).rpartition(":")[2])):
            if text:
                text.append(" ")
            text.append(label, "dim")
            text.append(shown)
    return Part(5, long, short)


def _pair(label: str, value, style: str = "") -> Text:
    text = Text(label + " ", style="dim", end="")
    text.append(format_count(value) if isinstance(value, (int, float)) else str(value), style)
    return text


def _int(stats: Mapping, key: str) -> int:
    value = stats.get(key, 0)
    return int(value) if isinstance(value, (int, float)) else 0


_FORWARD_ORDER = ("sent", "queue", "retries", "dropped", "failed")


def _forward_order(key: str) -> tuple[int, str]:
    name = key.removeprefix("forward_")
    for position, prefix in enumerate(_FORWARD_ORDER):
        if name.startswith(prefix):
            return position, name
    return len(_FORWARD_ORDER), name
