"""Series as terminal text: a table (one row per series, one column per step) and a line chart.

Plain text with no terminal library; label values pass through `kubespan.encode.inert.escape`, so
hostile attribute values cannot move the cursor or change colours.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence

from kubespan.encode.inert import escape
from kubespan.metrics.columns import go_duration
from kubespan.metrics.series import Series, sort_key

GLYPHS = "●×+○◆▲■▼*#"
NICE_STEPS_S = (1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400)


def readable_step(window_ns: int, columns: int = 12) -> int:
    """A round step (1s, 5s, 10s, 30s, 1m, 5m …) giving at most `columns` steps over the window."""
    for seconds in NICE_STEPS_S:
        if window_ns / (seconds * 1_000_000_000) <= columns:
            return seconds * 1_000_000_000
    return NICE_STEPS_S[-1] * 1_000_000_000


def format_value(value: float, seconds: bool) -> str:
    """`12.3`, `0.05`, `1.2k`; durations (values in seconds) as `350ms`, `1.2s`."""
    if math.isnan(value):
        return "·"
    if seconds:
        return _duration(value)
    magnitude = abs(value)
    if magnitude == 0:
        return "0"
    if magnitude >= 1e6:
        return f"{value / 1e6:.3g}M"
    if magnitude >= 1e4:
        return f"{value / 1e3:.3g}k"
    if magnitude >= 100:
        return f"{value:.0f}"
    return f"{value:.3g}"


def _duration(seconds: float) -> str:
    if seconds == 0:
        return "0"
    nanos = seconds * 1e9
    for unit, size in (("s", 1e9), ("ms", 1e6), ("µs", 1e3)):
        if abs(nanos) >= size:
            return f"{nanos / size:.3g}{unit}"
    return f"{nanos:.3g}ns"


def _time_label(ms: int, with_date: bool) -> str:
    moment = time.gmtime(ms / 1000)
    return time.strftime("%m-%d %H:%M:%S" if with_date else "%H:%M:%S", moment)


def table(series: Sequence[Series], timestamps_ms: Sequence[int], seconds: bool = False) -> str:
    """Series as rows, steps as columns (UTC times of each step's end); · marks a step without a value."""
    rows = sorted(series, key=sort_key)
    if not rows:
        return "no series: no span matched in the time range\n"
    with_date = len(timestamps_ms) > 1 and timestamps_ms[-1] - timestamps_ms[0] >= 86_400_000
    headers = ["series"] + [_time_label(ms, with_date) for ms in timestamps_ms]
    body = [[escape(one.label_text())] + [format_value(v, seconds) for v in one.values.tolist()] for one in rows]
    widths = [max(len(row[i]) for row in [headers] + body) for i in range(len(headers))]
    lines = []
    for row in [headers] + body:
        cells = [row[0].ljust(widths[0])] + [cell.rjust(width) for cell, width in zip(row[1:], widths[1:], strict=True)]
        lines.append("  ".join(cells).rstrip())
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines) + "\n"


def chart(series: Sequence[Series], timestamps_ms: Sequence[int], width: int = 80, height: int = 12,
          seconds: bool = False) -> str:
    """A line chart of every series over time, one glyph per series, with a legend below."""
    rows = sorted(series, key=sort_key)
    values = [v for one in rows for v in one.values.tolist() if not math.isnan(v)]
    if not rows or not values or not timestamps_ms:
        return "no series: no span matched in the time range\n"
    top, bottom = max(values), min(0.0, min(values))
    span = top - bottom or 1.0
    axis = max(len(format_value(top, seconds)), len(format_value(bottom, seconds)))
    plot_width = max(10, width - axis - 3)
    grid = [[" "] * plot_width for _ in range(height)]
    steps = len(timestamps_ms)
    for index, one in enumerate(rows):
        glyph = GLYPHS[index % len(GLYPHS)]
        for step, value in enumerate(one.values.tolist()):
            if math.isnan(value):
                continue
            x = 0 if steps == 1 else round(step * (plot_width - 1) / (steps - 1))
            y = round((value - bottom) / span * (height - 1))
            grid[height - 1 - y][x] = glyph
    lines = []
    for row, cells in enumerate(grid):
        label = format_value(top, seconds) if row == 0 else format_value(bottom, seconds) if row == height - 1 else ""
        lines.append(f"{label.rjust(axis)} ┤{''.join(cells)}".rstrip())
    lines.append(" " * axis + " └" + "─" * plot_width)
    first, last = _time_label(timestamps_ms[0], False), _time_label(timestamps_ms[-1], False)
    lines.append(" " * (axis + 2) + first + last.rjust(plot_width - len(first)))
    step_text = go_duration((timestamps_ms[1] - timestamps_ms[0]) * 1_000_000) if steps > 1 else "instant"
    lines.append(f"step {step_text}, times UTC")
    for index, one in enumerate(rows):
        lines.append(f"  {GLYPHS[index % len(GLYPHS)]} {escape(one.label_text())}")
    return "\n".join(lines) + "\n"
