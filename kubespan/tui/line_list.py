"""A keyboard- and mouse-driven list on Textual's Line API, with a sticky header row.

Only visible lines are rendered; each rendered row is cached as a `Strip` until the
data generation, width or cursor changes. Subclasses provide `row_count`,
`render_row` and `render_header`; they never create a widget per row.
"""

from __future__ import annotations

from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual import events
from textual.binding import Binding
from textual.cache import LRUCache
from textual.geometry import Size
from textual.message import Message
from textual.scroll_view import ScrollView
from textual.strip import Strip

from kubespan.tui.text import sanitize

STRIP_CACHE_SIZE = 512
"""Rendered rows kept per list; a screenful is ~40, so scrolling back is free."""


class LineList(ScrollView, can_focus=True):
    """A virtual list with a cursor; row 0 of the viewport is a header when `HEADER`."""

    HEADER = True

    BINDINGS = [
        Binding("up,k", "cursor_up", "Up", show=False),
        Binding("down,j", "cursor_down", "Down", show=False),
        Binding("pageup", "page_up", "Page up", show=False),
        Binding("pagedown", "page_down", "Page down", show=False),
        Binding("home,g", "first", "First", show=False),
        Binding("end,G", "last", "Last", show=False),
        Binding("enter", "select", "Open"),
    ]

    COMPONENT_CLASSES = {"line-list--cursor", "line-list--header", "line-list--blurred-cursor"}

    DEFAULT_CSS = """
    LineList {
        height: 1fr;
        overflow-x: hidden;
        & > .line-list--header { text-style: bold; color: $text-muted; }
        & > .line-list--cursor {
            background: $block-cursor-background; color: $block-cursor-foreground; text-style: bold;
        }
        & > .line-list--blurred-cursor { background: $block-cursor-blurred-background; }
    }
    """

    class Highlighted(Message):
        """The cursor moved to `index`."""

        def __init__(self, line_list: LineList, index: int) -> None:
            super().__init__()
            self.line_list = line_list
            self.index = index

        @property
        def control(self) -> LineList:
            return self.line_list

    class Selected(Highlighted):
        """Enter or a double click on row `index`."""

    def __init__(self, *, name: str | None = None, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self.cursor = 0
        self._generation = 0
        self._style_generation = 0
        self._styles_key: str | None = None
        self._styles: tuple = ()
        self._strips: LRUCache[tuple, Strip] = LRUCache(STRIP_CACHE_SIZE)

    # -- for subclasses --------------------------------------------------------------

    def row_count(self) -> int:
        return 0

    def render_row(self, index: int, width: int) -> Text:
        return Text()

    def render_header(self, width: int) -> Text:
        return Text()

    def row_key(self, index: int):
        """Identity and content of row `index` for the strip cache; rows that keep
        their key are not re-rendered when the list shifts or is refreshed."""
        return (index, self._generation)

    empty_message = "(nothing yet)"
    """Shown in place of the first row when there are no rows; the app keeps it useful."""

    def empty_text(self) -> Text:
        return Text(self.empty_message, style="dim")

    def data_changed(self, *, keep_cursor: bool = True) -> None:
        """Call after the rows changed: resizes and repaints (strips are reused by `row_key`)."""
        self._generation += 1
        count = self.row_count()
        if not keep_cursor:
            self.cursor = 0
        self.cursor = max(0, min(self.cursor, count - 1))
        self._resize_virtual(Size(self.size.width, count + self._header_lines))
        self._scroll_cursor_into_view()
        self.refresh()

    def _resize_virtual(self, size: Size) -> None:
        """A new row count. Textual's `virtual_size` lays the whole screen out again (5-50 ms at
        160×45, on every live re-search of a following list); when the list overflows its region
        before and after, nothing but the scrollbar's thumb changes, so only that is updated."""
        old, height = self.virtual_size, self.container_size.height
        if size == old:
            return
        if size.width == old.width and min(old.height, size.height) > height > 0 and self.show_vertical_scrollbar:
            self.set_reactive(LineList.virtual_size, size)
            self._scroll_update(size)  # Textual's own scrollbar refresh after a layout
            return
        self.virtual_size = size

    # -- geometry ----------------------------------------------------------------

    @property
    def _header_lines(self) -> int:
        return 1 if self.HEADER else 0

    @property
    def page_rows(self) -> int:
        return max(1, self.scrollable_content_region.height - self._header_lines)

    def visible_range(self) -> range:
        top = int(self.scroll_offset.y)
        return range(top, min(self.row_count(), top + self.page_rows))

    def _scroll_cursor_into_view(self) -> None:
        top = int(self.scroll_offset.y)
        rows = self.page_rows
        if self.cursor < top:
            self.scroll_to(y=self.cursor, animate=False, immediate=True)
        elif self.cursor >= top + rows:
            self.scroll_to(y=self.cursor - rows + 1, animate=False, immediate=True)

    def _clear_strips(self) -> None:
        self._style_generation += 1
        self._strips.clear()

    def notify_style_update(self) -> None:
        """Styles may have changed (theme, display toggles): re-check them lazily; cached
        strips are dropped only if the resolved styles really differ."""
        super().notify_style_update()
        self._styles_key = None

    def on_resize(self, event: events.Resize) -> None:
        # Strips are cached per width, so a resize (or being shown again) keeps them.
        self.virtual_size = Size(event.size.width, self.row_count() + self._header_lines)
        self._scroll_cursor_into_view()

    # -- cursor ------------------------------------------------------------------

    def move_cursor(self, index: int, *, announce: bool = True) -> None:
        count = self.row_count()
        if count == 0:
            return
        index = max(0, min(index, count - 1))
        old = self.cursor
        self.cursor = index
        self._scroll_cursor_into_view()
        if old != index:
            self._refresh_row(old)
            self._refresh_row(index)
        if announce:
            self.post_message(self.Highlighted(self, index))

    def _refresh_row(self, index: int) -> None:
        self.refresh_line(index + self._header_lines)

    def action_cursor_up(self) -> None:
        self.move_cursor(self.cursor - 1)

    def action_cursor_down(self) -> None:
        self.move_cursor(self.cursor + 1)

    def action_page_up(self) -> None:
        self.move_cursor(self.cursor - self.page_rows)

    def action_page_down(self) -> None:
        self.move_cursor(self.cursor + self.page_rows)

    def action_first(self) -> None:
        self.move_cursor(0)

    def action_last(self) -> None:
        self.move_cursor(self.row_count() - 1)

    def action_select(self) -> None:
        if self.row_count():
            self.post_message(self.Selected(self, self.cursor))

    def on_click(self, event: events.Click) -> None:
        offset = event.get_content_offset(self)
        if offset is None:
            return
        index = int(self.scroll_offset.y) + offset.y - self._header_lines
        if offset.y < self._header_lines or index >= self.row_count():
            return
        self.move_cursor(index)
        if event.chain >= 2:
            self.action_select()

    def on_focus(self) -> None:
        self.refresh()

    def on_blur(self) -> None:
        self.refresh()

    # -- rendering -------------------------------------------------------------

    def _line_styles(self) -> tuple[Style, Style, Style, Style]:
        """(base, header, cursor, blurred cursor) styles; computing `rich_style` walks the
        DOM, so it is done once per style change, not once per line."""
        key = self.app.theme
        if self._styles_key != key:
            base = self.rich_style
            styles = (
                base,
                base + self.get_component_rich_style("line-list--header"),
                base + self.get_component_rich_style("line-list--cursor"),
                base + self.get_component_rich_style("line-list--blurred-cursor"),
            )
            if styles != self._styles:
                self._styles = styles
                self._clear_strips()
            self._styles_key = key
        return self._styles

    def render_line(self, y: int) -> Strip:
        width = self.scrollable_content_region.width
        base, header, cursor, blurred = self._line_styles()
        if self.HEADER and y == 0:
            return self._strip(self.render_header(width), width, header)
        index = int(self.scroll_offset.y) + y - self._header_lines
        count = self.row_count()
        if index >= count:
            if count == 0 and index == 0:
                return self._strip(self.empty_text(), width, base)
            return Strip.blank(width, base)
        selected = index == self.cursor
        style = (cursor if self.has_focus else blurred) if selected else base
        try:
            key = (self.row_key(index), width, selected, self.has_focus, self._style_generation)
            cached = self._strips.get(key)
            if cached is not None:
                return cached
            strip = self._strip(self.render_row(index, width), width, style)
        except Exception as exc:  # a store race must not take the whole viewer down
            reason = sanitize(f"{type(exc).__name__}: {exc}", limit=200)
            return self._strip(Text(f"(row unavailable: {reason})", style="dim red"), width, style)
        self._strips[key] = strip
        return strip

    def _strip(self, text: Text, width: int, style: Style) -> Strip:
        text.no_wrap = True
        text.overflow = "ellipsis"
        text.end = ""
        segments = Segment.apply_style(list(text.render(self.app.console)), style)
        return Strip(segments).crop_extend(0, width, style)


def cells(*columns: tuple[Text | str, int | None, str], gap: int = 1) -> Text:
    """Lay out cells `(content, width, justify)` on one line; a None width takes the rest.

    Text cells are truncated and padded in place: callers pass freshly built Texts."""
    line = Text(no_wrap=True, end="")
    spacer = " " * gap
    for position, (content, width, justify) in enumerate(columns):
        if position:
            line.append(spacer)
        if isinstance(content, str):
            if width is not None:
                if len(content) > width:
                    content = content[: max(0, width - 1)] + "…"
                content = content.rjust(width) if justify == "right" else content.ljust(width)
            line.append(content)
            continue
        if width is not None:
            length = content.cell_len
            if length > width:
                content.truncate(width, overflow="ellipsis")
            elif length < width:
                if justify == "right":
                    content.pad_left(width - length)
                else:
                    content.pad_right(width - length)
        line.append_text(content)
    return line
