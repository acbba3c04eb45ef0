"""The filter bar: a query input with inline syntax errors, history and the match count."""

from __future__ import annotations

from collections.abc import Callable

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.message import Message
from textual.suggester import Suggester
from textual.widget import Widget
from textual.widgets import Input, Static

from kubespan.tui.filter_input import FilterInput
from kubespan.tui.filter_terms import combine_filter
from kubespan.tui.source.base import Search
from kubespan.tui.text import inert

HISTORY_SIZE = 100
"""Filters remembered for up/down."""

PLACEHOLDER = "e.g. k8s.pod=default/echo  or  { .http.status_code >= 500 }  since 5m   (Enter applies)"


class FilterBar(Widget):
    """Edits, validates and submits the filter; posts `FilterBar.Applied` with the `Search`."""

    DEFAULT_CSS = """
    FilterBar { height: auto; dock: top; }
    FilterBar Horizontal { height: 1; }
    FilterBar .prompt { width: auto; padding: 0 1; background: $primary 40%; color: $text; }
    FilterBar FilterInput { border: none; height: 1; padding: 0 1; width: 1fr; background: $surface; }
    FilterBar FilterInput:focus { background: $boost; border: none; }
    FilterBar .matches { width: auto; padding: 0 1; color: $text-muted; }
    FilterBar .error { height: auto; color: $error; padding: 0 1; display: none; }
    FilterBar.-error .error { display: block; }
    FilterBar.-translated .error { display: block; color: $text-muted; }
    """

    class Applied(Message):
        """Enter with a valid filter; `search.query` is None for an empty one."""

        def __init__(self, search: Search) -> None:
            super().__init__()
            self.search = search

    class Reverted(Message):
        """Escape: the text went back to the applied filter."""

    def __init__(self, compile_search: Callable[[str], Search], *, id: str | None = None,
                 suggester: Suggester | None = None) -> None:
        super().__init__(id=id)
        self.suggester = suggester
        self.compile_search = compile_search
        """The source's `compile`: text → `Search`, raising errors that carry a `column`."""
        self.applied = ""
        self.history: list[str] = []
        self._history_index = 0
        self._matches = ""

    def compose(self) -> ComposeResult:
        with Horizontal():
            yield Static("/ filter", classes="prompt")
            yield FilterInput(placeholder=PLACEHOLDER, id="filter-input", suggester=self.suggester)
            yield Static("", classes="matches", id="filter-matches")
        yield Static("", classes="error", id="filter-error")

    @property
    def input(self) -> FilterInput:
        return self.query_one(FilterInput)

    def set_matches(self, text: str) -> None:
        """The count beside the input; the screen is laid out again only when its width changes
        (a following list's count changes with every re-search)."""
        if text == self._matches:
            return
        same_width = len(text) == len(self._matches)
        self._matches = text
        self.query_one("#filter-matches", Static).update(text, layout=not same_width)

    @on(Input.Submitted)
    def _submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.apply(event.value)

    @on(FilterInput.Revert)
    def _revert(self, event: FilterInput.Revert) -> None:
        event.stop()
        self.revert()

    @on(FilterInput.History)
    def _history(self, event: FilterInput.History) -> None:
        event.stop()
        self.history_step(event.step)

    def apply(self, text: str) -> bool:
        """Compile and apply `text`; show the syntax error inline and keep editing if invalid."""
        text = text.strip()
        try:
            search = self.compile_search(text)
        except Exception as exc:  # noqa: BLE001 - QuerySyntaxError, TimeWindowError and friends
            self.show_error(text, exc)
            return False
        self.clear_error()
        self.show_translation(search)
        self.applied = text
        if text and (not self.history or self.history[-1] != text):
            self.history.append(text)
            del self.history[:-HISTORY_SIZE]
        self._history_index = len(self.history)
        if self.input.value != text:  # (setting it lays the screen out again)
            self.input.value = text
        self.app.post_message(self.Applied(search))
        return True

    def show_error(self, text: str, exc: Exception) -> None:
        column = getattr(exc, "column", None)
        message = Text("✗ ", style="bold", end="")
        message.append_text(inert(str(getattr(exc, "message", None) or exc), limit=300))
        if column:
            message.append(f"  (column {column})", "dim")
            line = Text("\n  ", end="")
            line.append_text(inert(text, limit=300))
            caret = Text("\n  " + " " * (int(column) - 1) + "^", style="bold")
            message.append_text(line)
            message.append_text(caret)
            self.input.cursor_position = max(0, int(column) - 1)
        self.query_one("#filter-error", Static).update(message)
        self.remove_class("-translated")
        self.add_class("-error")

    def show_translation(self, search: Search) -> None:
        """What a remote source sends for the filter, when it is not the text as typed (the shorthand)."""
        sent = getattr(search.query, "sent", "")
        if sent:
            line = Text("→ sent as ", style="dim", end="")
            line.append_text(inert(sent, limit=300))
            self.query_one("#filter-error", Static).update(line)
            self.add_class("-translated")

    def clear_error(self) -> None:
        if not (self.has_class("-translated") or self.has_class("-error")):
            return  # nothing shown: an update would lay the screen out again
        self.remove_class("-translated", "-error")
        self.query_one("#filter-error", Static).update("")

    def revert(self) -> None:
        self.input.value = self.applied
        self.clear_error()
        self._history_index = len(self.history)
        self.app.post_message(self.Reverted())

    def history_step(self, step: int) -> None:
        if not self.history:
            return
        self._history_index = max(0, min(len(self.history), self._history_index + step))
        value = self.history[self._history_index] if self._history_index < len(self.history) else self.applied
        self.input.value = value
        self.input.cursor_position = len(value)

    def add_term(self, key: str, value: object, *, scope: str = "") -> str:
        """Append `key=value` to the text (in the filter's own syntax) and apply it."""
        text = combine_filter(self.applied, key, value, scope=scope)
        self.apply(text)
        return text
