"""Durations, times and counts as the UI shows them. Pure functions; the clock is injected."""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime, tzinfo

KIND_NAMES = {0: "unspec", 1: "internal", 2: "server", 3: "client", 4: "producer", 5: "consumer"}
STATUS_NAMES = {0: "unset", 1: "ok", 2: "error"}
STATUS_ERROR = 2


@dataclass
class Clock:
    """Where the UI gets "now" and its timezone; tests freeze both."""

    tz: tzinfo | None = None
    frozen: float | None = None

    def now(self) -> float:
        """Monotonic-ish seconds for rates; frozen clocks never advance."""
        return self.frozen if self.frozen is not None else time.monotonic()


def format_duration(ns: int | None) -> str:
    """Compact human duration: `850ns`, `12.3µs`, `1.33ms`, `2.05s`, `3m07s`, `2h04m`."""
    if ns is None:
        return "?"
    if ns < 0:
        return "-" + format_duration(-ns)
    if ns < 1_000:
        return f"{ns}ns"
    if ns < 1_000_000:
        return three_digits(ns / 1_000) + "µs"
    if ns < 1_000_000_000:
        return three_digits(ns / 1_000_000) + "ms"
    seconds = ns / 1_000_000_000
    if seconds < 60:
        return three_digits(seconds) + "s"
    minutes, secs = divmod(int(seconds), 60)
    if minutes < 60:
        return f"{minutes}m{secs:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m"


def three_digits(value: float, grouping: str = "") -> str:
    """`value` to about three significant digits: 123, 12.3, 1.23 (`grouping=","`: 1,234)."""
    if value >= 100:
        return f"{value:{grouping}.0f}"
    if value >= 10:
        return f"{value:.1f}"
    return f"{value:.2f}"


def format_clock(ns: int, tz: tzinfo | None = None) -> str:
    """Wall-clock time of day with milliseconds: `11:46:41.975`."""
    if not ns:
        return "--:--:--.---"
    moment = datetime.fromtimestamp(ns / 1e9, tz=tz) if tz else datetime.fromtimestamp(ns / 1e9)
    return moment.strftime("%H:%M:%S.") + f"{moment.microsecond // 1000:03d}"


def format_timestamp(ns: int, tz: tzinfo | None = None) -> str:
    """Full timestamp with nanoseconds and offset, for the detail view."""
    if not ns:
        return "(unset)"
    seconds, nanos = divmod(ns, 1_000_000_000)
    moment = datetime.fromtimestamp(seconds, tz=tz) if tz else datetime.fromtimestamp(seconds).astimezone()
    return moment.strftime("%Y-%m-%d %H:%M:%S.") + f"{nanos:09d}" + moment.strftime("%z")


def format_count(value: int | float) -> str:
    """`999`, `12.3k`, `1.05M`."""
    value = int(value)
    if value < 1_000:
        return str(value)
    if value < 1_000_000:
        return f"{value / 1_000:.1f}k" if value < 100_000 else f"{value // 1_000}k"
    return f"{value / 1_000_000:.2f}M"


def plural(count: int | float, noun: str, *, exact: bool = False) -> str:
    """`1 span`, `0 errors`, `12.3k traces` (`12,345 traces` when `exact`)."""
    shown = f"{int(count):,}" if exact else format_count(count)
    return f"{shown} {noun if int(count) == 1 else noun + 's'}"


def kind_name(kind: int) -> str:
    return KIND_NAMES.get(kind, str(kind))


def status_name(status: int) -> str:
    return STATUS_NAMES.get(status, str(status))
