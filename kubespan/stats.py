"""Counters shared by every component, and the one-line JSON stats report.

Each component adds to named counters, or registers a gauge (a function read when a
report is made: stored spans, queue depth, resident memory). `snapshot()` is the
dictionary printed by `--stats` and at shutdown, and shown in the TUI footer.
"""

from __future__ import annotations

import json
import os
import resource
import threading
import time
from collections.abc import Callable

ALWAYS_REPORTED = ("received_spans", "rejected_spans", "written_spans")
"""Counters present in every report, even at zero."""


class Counters:
    """Thread-safe named integer counters plus gauges."""

    def __init__(self) -> None:
        self._values: dict[str, int] = {name: 0 for name in ALWAYS_REPORTED}
        self._gauges: dict[str, Callable[[], int | float | str]] = {}
        self._lock = threading.Lock()
        self.started = time.monotonic()

    def add(self, name: str, amount: int = 1) -> None:
        with self._lock:
            self._values[name] = self._values.get(name, 0) + amount

    def declare(self, *names: str) -> None:
        """Report `names` from now on, at zero until counted: every stats line has the same keys."""
        with self._lock:
            for name in names:
                self._values.setdefault(name, 0)

    def get(self, name: str) -> int:
        return self._values.get(name, 0)

    def gauge(self, name: str, read: Callable[[], int | float | str]) -> None:
        """Register `read` to be called whenever a snapshot is taken."""
        self._gauges[name] = read

    def snapshot(self) -> dict[str, int | float | str]:
        with self._lock:
            values: dict[str, int | float | str] = dict(self._values)
        for name, read in self._gauges.items():
            values[name] = read()
        values["rss_bytes"] = rss_bytes()
        values["uptime_s"] = round(time.monotonic() - self.started, 3)
        return values

    def report_line(self) -> str:
        return json.dumps(self.snapshot(), separators=(",", ":"), sort_keys=True)


def rss_bytes(pid: int | str = "self") -> int:
    """Resident set size of this process (or of `pid`), from /proc when available."""
    try:
        with open(f"/proc/{pid}/statm", "rb") as statm:
            return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except OSError:
        if pid != "self":
            return 0
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
