"""Waterfall layout: one trace's spans as a folded depth-first tree. Pure, no Textual.

Spans whose parent is not in the trace (not received yet, evicted, or from another
trace) are shown at the root and flagged as orphans, like Jaeger does. Duplicate
span ids and parent cycles cannot loop: each span is placed at most once.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

SERVICE_COLORS = (
    "#4e9ad8", "#e5a443", "#5bb974", "#c678dd", "#e06c75",
    "#56b6c2", "#d19a66", "#98c379", "#b48ead", "#f2cc60",
)
"""Bars are coloured by service; the colour is a stable hash of the name."""


def service_color(service: str) -> str:
    return SERVICE_COLORS[zlib.crc32(service.encode("utf-8", "replace")) % len(SERVICE_COLORS)]


@dataclass(frozen=True, slots=True)
class TreeLine:
    """One visible waterfall row."""

    row: Any  # SpanRow
    depth: int
    child_count: int
    folded: bool
    orphan: bool
    last: bool  # last child of its parent (for the tree guides)
    guides: tuple[bool, ...]  # per ancestor level: does a vertical guide continue?


def build_tree(rows: Sequence[Any], folded: Iterable[bytes] = ()) -> list[TreeLine]:
    """Depth-first lines of `rows` (SpanRows of one trace), children by start time."""
    folded = set(folded)
    by_id: dict[bytes, Any] = {}
    for row in rows:
        by_id.setdefault(row.span_id, row)
    children: dict[bytes, list[Any]] = {}
    roots: list[tuple[Any, bool]] = []
    for row in rows:
        parent = row.parent_id
        if parent and parent in by_id and parent != row.span_id:
            children.setdefault(parent, []).append(row)
        else:
            roots.append((row, bool(parent)))
    for siblings in children.values():
        siblings.sort(key=_start_key)
    roots.sort(key=lambda item: (item[1], _start_key(item[0])))
    lines: list[TreeLine] = []
    placed: set[int] = set()
    for position, (row, orphan) in enumerate(roots):
        _walk(row, 0, orphan, position == len(roots) - 1, (), children, folded, placed, lines)
    # Spans caught in a parent cycle are reachable from no root: show them as orphans.
    for row in rows:
        if row.ordinal not in placed:
            _walk(row, 0, True, True, (), children, folded, placed, lines)
    return lines


def _start_key(row: Any) -> tuple[int, int]:
    return (row.start, row.ordinal)


def _walk(row, depth, orphan, last, guides, children, folded, placed, lines) -> None:
    stack = [(row, depth, orphan, last, guides)]
    while stack:
        row, depth, orphan, last, guides = stack.pop()
        if row.ordinal in placed:
            continue
        placed.add(row.ordinal)
        kids = [kid for kid in children.get(row.span_id, ()) if kid.ordinal not in placed]
        is_folded = row.span_id in folded and bool(kids)
        lines.append(TreeLine(row, depth, len(kids), is_folded, orphan, last, guides))
        if is_folded:
            _mark_placed(kids, children, placed)
            continue
        child_guides = guides + (not last,)
        for position in range(len(kids) - 1, -1, -1):
            stack.append((kids[position], depth + 1, False, position == len(kids) - 1, child_guides))


def _mark_placed(kids, children, placed) -> None:
    stack = list(kids)
    while stack:
        row = stack.pop()
        if row.ordinal in placed:
            continue
        placed.add(row.ordinal)
        stack.extend(children.get(row.span_id, ()))


def tree_prefix(line: TreeLine) -> str:
    """Box-drawing guides for `line`: `│ ├─` style, then a fold marker."""
    parts = []
    for continues in line.guides[1:]:
        parts.append("│ " if continues else "  ")
    if line.depth:
        parts.append("└─" if line.last else "├─")
    if line.child_count:
        parts.append("▸ " if line.folded else "▾ ")
    else:
        parts.append("• " if not line.orphan else "◦ ")
    return "".join(parts)


def bar_cells(start: int, end: int, trace_start: int, trace_end: int, width: int) -> tuple[int, int]:
    """Column offset and length (≥1) of a span's bar on a `width`-column time axis."""
    if width <= 0:
        return 0, 0
    total = max(1, trace_end - trace_start)
    left = int((max(start, trace_start) - trace_start) * width / total)
    right = int((min(max(end, start), trace_end) - trace_start) * width / total + 0.999)
    left = max(0, min(left, width - 1))
    return left, max(1, min(right, width) - left)


def time_ticks(trace_start: int, trace_end: int, width: int, count: int = 4) -> list[tuple[int, int]]:
    """(column, offset ns) of `count + 1` ticks along the axis."""
    total = max(0, trace_end - trace_start)
    return [(int(width * i / count), total * i // count) for i in range(count + 1)]


TICK_SPACING = 12
"""Columns per tick label on the waterfall's time axis (`|1.33s` plus room to breathe)."""


def time_axis(trace_start: int, trace_end: int, width: int) -> str:
    """The axis line above the bars: `|0ns    |332ms    |665ms`, as many ticks as fit
    without two labels touching; the last label ends at the right edge."""
    if width <= 0:
        return ""
    from kubespan.tui.format import format_duration

    count = max(1, min(4, width // TICK_SPACING))
    axis = [" "] * width
    *ticks, (_, total) = time_ticks(trace_start, trace_end, max(1, width - 1), count)
    last = "|" + format_duration(total)
    if len(last) > width:
        return " " * width
    end = width - len(last)  # the total, flush right, always shown
    axis[end:] = last
    free = 0  # first column the next label may start at
    for column, offset in ticks:
        label = "|" + format_duration(offset)
        if column < free or column + len(label) >= end:
            continue
        axis[column:column + len(label)] = label
        free = column + len(label) + 1
    return "".join(axis)
