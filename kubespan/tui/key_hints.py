"""The key hints line: the keys of the focused pane."""

from __future__ import annotations

from collections.abc import Callable

from rich.text import Text
from textual.binding import Binding
from textual.widgets import Static


class KeyHints(Static):
    """The keys of the focused pane, one line; cheaper than Textual's Footer, which
    remounts a widget per key on every focus change."""

    DEFAULT_CSS = """
    KeyHints { height: 1; background: $panel-darken-1; color: $text-muted; padding: 0 1; }
    """

    def show_bindings(self, active: dict, key_display: Callable[[Binding], str]) -> None:
        text = Text(end="", no_wrap=True, overflow="ellipsis")
        seen: set[str] = set()
        for active_binding in active.values():
            binding = active_binding.binding
            if not binding.show or not binding.description or binding.action in seen:
                continue
            seen.add(binding.action)
            if text:
                text.append("  ")
            text.append(key_display(binding), "bold")
            text.append(" " + binding.description, "dim" if not active_binding.enabled else "")
        text.append("  ^p", "bold")
        text.append(" commands", "")
        self.update(text)
