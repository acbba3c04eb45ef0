"""The full value of one detail line, escaped, in a scrollable log (fast for megabytes)."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Label, Log

from kubespan.tui.text import chunk_lines, inert, sanitize

FULL_VIEW_LIMIT = 4_000_000
"""Characters of a value the full-value modal shows (a 4 MB request cap bounds it anyway)."""


class ValueScreen(ModalScreen[None]):
    """A full attribute value, escaped, in a scrollable log (fast for megabytes)."""

    BINDINGS = [Binding("escape,q,enter", "dismiss_screen", "Close")]

    DEFAULT_CSS = """
    ValueScreen { align: center middle; }
    ValueScreen > Vertical { width: 90%; height: 85%; border: thick $accent; background: $surface; }
    ValueScreen Label { width: 1fr; padding: 0 1; background: $accent 30%; }
    ValueScreen Log { height: 1fr; }
    """

    def __init__(self, title: str, value: str) -> None:
        super().__init__()
        self.title_text = title
        self.value = value

    def compose(self) -> ComposeResult:
        with Vertical():
            size = f"{len(self.value):,} chars"
            yield Label(inert(self.title_text, "bold", limit=200) + Text(f"  {size}  (Escape closes)", "dim"))
            yield Log(highlight=False, id="value-log")

    def on_mount(self) -> None:
        value = self.value[:FULL_VIEW_LIMIT]
        log = self.query_one(Log)
        width = max(20, int(self.app.size.width * 0.9) - 6)
        log.write_lines(chunk_lines(sanitize(value, multiline=True).replace("\t", "    "), width))
        log.scroll_home(animate=False)
        log.focus()

    def action_dismiss_screen(self) -> None:
        self.dismiss(None)
