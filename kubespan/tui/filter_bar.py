"""The filter bar: a query input with inline syntax errors and history."""

from __future__ import annotations

from typing import Callable

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.message import Message
from textual.widget import Widget
from textual.widgets import Input, Static

from kubespan.tui.text import inert

HISTORY_SIZE = 100


class FilterInput(Input):
    """An Input with Escape (revert) and up/down (history) handled by the bar."""

    BINDINGS = [
        Binding("escape", "revert", "Revert", show=True),
        Binding("up", "history(-1)", "Older", show=False),
        Binding("down", "history(1)", "Newer", show=False),
    ]

    def action_revert(self) -> None:
        self.parent.parent.revert()  # type: ignore[union-attr]

    def action_history(self, step: int) -> None:
        self.parent.parent.history_step(step)  # type: ignore[union-attr]


class FilterBar(Widget):
    """Edits, validates and submits the filter; posts `FilterBar.Applied`."""

    DEFAULT_CSS = """
    FilterBar { height: auto; dock: top; }
    FilterBar Horizontal { height: 1; }
    FilterBar .prompt { width: auto; padding: 0 1; background: $primary 40%; color: $text; }
    FilterBar FilterInput { border: none; height: 1; padding: 0 1; width: 1fr; background: $surface; }
    FilterBar FilterInput:focus { background: $boost; border: none; }
    FilterBar .matches { width: auto; padding: 0 1; color: $text-muted; }
    FilterBar .error { height: auto; color: $error; padding: 0 1; display: none; }
    FilterBar.-error .error { display: block; }
    """

    class Applied(Message):
        """Enter with a valid query; `query` is None for an empty filter."""

        def __init__(self, text: str, query) -> None:
            super().__init__()
            self.text = text
            self.query = query

    class Reverted(Message):
        """Escape: the text went back to the applied filter."""

    def __init__(self, compile_query: Callable[[str], object], *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.compile_query = compile_query
        self.applied = ""
        self.history: list[str] = []
        self._history_index = 0

    def compose(self) -> ComposeResult:
        with Horizontal():
            yield Static("/ filter", classes="prompt")
            yield FilterInput(placeholder='e.g. k8s.pod=default/echo  or  { .http.status_code >= 500 }   (Enter applies)',
                              id="filter-input")
            yield Static("", classes="matches", id="filter-matches")
        yield Static("", classes="error", id="filter-error")

    @property
    def input(self) -> FilterInput:
        return self.query_one(FilterInput)

    def set_matches(self, text: str) -> None:
        self.query_one("#filter-matches", Static).update(text)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.apply(event.value)

    def apply(self, text: str) -> bool:
        """Compile and apply `text`; show the syntax error inline and keep editing if invalid."""
        text = text.strip()
        query = None
        if text:
            try:
                query = self.compile_query(text)
            except Exception as exc:  # QuerySyntaxError and friends
                self.show_error(text, exc)
                return False
        self.clear_error()
        self.applied = text
        if text and (not self.history or self.history[-1] != text):
            self.history.append(text)
            del self.history[:-HISTORY_SIZE]
        self._history_index = len(self.history)
        self.input.value = text
        self.post_message(self.Applied(text, query))
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
        self.add_class("-error")

    def clear_error(self) -> None:
        self.remove_class("-error")
        self.query_one("#filter-error", Static).update("")

    def revert(self) -> None:
        self.input.value = self.applied
        self.clear_error()
        self._history_index = len(self.history)
        self.post_message(self.Reverted())

    def history_step(self, step: int) -> None:
        if not self.history:
            return
        self._history_index = max(0, min(len(self.history), self._history_index + step))
        value = self.history[self._history_index] if self._history_index < len(self.history) else self.applied
        self.input.value = value
        self.input.cursor_position = len(value)

    def add_term(self, key: str, value, *, scope: str = "") -> str:
        """Append `key=value` to the text (in the filter's own syntax) and apply it."""
        text = combine_filter(self.applied, key, value, scope=scope)
        self.apply(text)
        return text


_BARE_KEY = __import__("re").compile(r"^[A-Za-z_][A-Za-z0-9_.\-/:]*$")


def traceql_string(value: str) -> str:
    """`value` as a double-quoted TraceQL string literal."""
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def combine_filter(current: str, key: str, value, *, scope: str = "") -> str:
    """The filter `current` AND `key` equals `value`.

    TraceQL filters (starting with `{`) get a typed `&& { .key = value }` spanset,
    anything else a logfmt term `key="value"` (logfmt compares string forms).
    """
    from kubespan.model import value_text

    current = current.strip()
    if current.startswith("{"):
        if key == "name":
            left = "name"
        elif key == "service":
            left = "resource.service.name"
        elif key == "kind":
            return _and_spanset(current, f"kind = {value}")
        else:
            prefix = {"resource": "resource.", "span": "span."}.get(scope, ".")
            left = prefix + (key if _BARE_KEY.match(key) else traceql_string(key))
        if isinstance(value, bool):
            literal = "true" if value else "false"
        elif isinstance(value, (int, float)):
            literal = repr(value)
        else:
            literal = traceql_string(value_text(value))
        return _and_spanset(current, f"{left} = {literal}")
    term_key = key if _BARE_KEY.match(key) else traceql_string(key)
    term = f"{term_key}={traceql_string(value_text(value))}"
    return f"{current} {term}" if current else term


def _and_spanset(current: str, condition: str) -> str:
    """Merge into a lone `{ ... }` (same span), else AND another spanset (same trace)."""
    depth = 0
    in_string = None
    escaped = False
    for position, char in enumerate(current):
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == in_string:
                in_string = None
        elif char in "\"`":
            in_string = char
        elif char == "{":
            depth += 1
        elif char == "}":
            depth -= 1
            if depth == 0:
                if position == len(current) - 1:
                    inner = current[1:-1].strip()
                    return f"{{ {inner} && {condition} }}" if inner else f"{{ {condition} }}"
                break
    return f"{current} && {{ {condition} }}"
