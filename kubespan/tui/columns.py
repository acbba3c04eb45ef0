"""Column layouts of the lists that fit any width from 80 columns up. Pure, no widgets.

A list declares its columns once: fixed widths, one or more flexible columns with a
minimum (and maybe a maximum), and a `drop` rank for columns that may be left out when
the terminal is narrow (the highest rank goes first). `widths(width)` answers with the
width of every column, 0 for a column left out, so every row and the header agree.
"""

from __future__ import annotations

from dataclasses import dataclass

from rich.text import Text

from kubespan.tui.line_list import cells


@dataclass(frozen=True, slots=True)
class Column:
    title: str
    width: int | None = None
    """Fixed width in cells; None for a flexible column."""
    justify: str = "left"
    min_width: int = 8
    """A flexible column never gets less than this (or it is left out, if it may be)."""
    max_width: int | None = None
    """A flexible column never gets more; what is left goes to the next flexible one."""
    drop: int = 0
    """0: always shown; otherwise left out on narrow terminals, highest rank first."""


class Columns:
    """A fixed set of columns laid out for a width; the last layout is cached."""

    GAP = 1

    def __init__(self, *columns: Column) -> None:
        self.columns = columns
        self._cached: tuple[int, tuple[int, ...]] | None = None

    def widths(self, width: int) -> tuple[int, ...]:
        if self._cached is None or self._cached[0] != width:
            self._cached = (width, _layout(self.columns, width, self.GAP))
        return self._cached[1]

    def shown(self, width: int, title: str) -> bool:
        """Is the column titled `title` on screen at `width`?"""
        for column, cell_width in zip(self.columns, self.widths(width)):
            if column.title == title:
                return cell_width > 0
        return False

    def header(self, width: int, titles: dict[str, str] | None = None) -> Text:
        """The header row; `titles` replaces some titles (e.g. a sort arrow)."""
        titles = titles or {}
        return self.row(width, *(titles.get(column.title, column.title) for column in self.columns))

    def row(self, width: int, *values: Text | str) -> Text:
        """One row: `values` in column order; left-out columns are skipped."""
        return cells(*((value, cell_width, column.justify)
                       for value, column, cell_width in zip(values, self.columns, self.widths(width))
                       if cell_width > 0), gap=self.GAP)


def _layout(columns: tuple[Column, ...], width: int, gap: int) -> tuple[int, ...]:
    shown = list(columns)

    def needed() -> int:
        fixed = sum(column.width if column.width is not None else column.min_width for column in shown)
        return fixed + gap * max(0, len(shown) - 1)

    for column in sorted((c for c in columns if c.drop), key=lambda c: -c.drop):
        if needed() <= width:
            break
        shown.remove(column)
    spare = max(0, width - needed())
    out = []
    for column in columns:
        if column not in shown:
            out.append(0)
        elif column.width is not None:
            out.append(column.width)
        else:
            room = column.min_width + spare
            if column.max_width is not None:
                room = min(room, column.max_width)
            spare -= room - column.min_width
            out.append(room)
    return tuple(out)
