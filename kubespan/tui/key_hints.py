"""The key hints line: the keys of the focused pane, fitted to one line."""

from __future__ import annotations

from collections.abc import Callable

from rich.text import Text
from textual.binding import Binding
from textual.reactive import reactive
from textual.widget import Widget

PINNED_ACTIONS = ("help",)
"""Hints that stay when the line is too narrow for all of them (with `^p commands`)."""


class KeyHints(Widget):
    """The keys of the focused pane, one line; cheaper than Textual's Footer, which
    remounts a widget per key on every focus change. Hints that do not fit are left out,
    except help and the command palette, which lead to all the others."""

    DEFAULT_CSS = """
    KeyHints { height: 1; background: $panel-darken-1; color: $text-muted; padding: 0 1; }
    """

    hints: reactive[tuple[tuple[str, str, bool, bool], ...]] = reactive(tuple)
    """(key, description, enabled, pinned) of every binding to show, in binding order."""

    def show_bindings(self, active: dict, key_display: Callable[[Binding], str]) -> None:
        hints = []
        seen: set[str] = set()
        for active_binding in active.values():
            binding = active_binding.binding
            if not binding.show or not binding.description or binding.action in seen:
                continue
            seen.add(binding.action)
            hints.append((key_display(binding), binding.description, active_binding.enabled,
                          binding.action in PINNED_ACTIONS))
        hints.append(("^p", "commands", True, True))
        self.hints = tuple(hints)

    def render(self) -> Text:
        width = self.content_region.width or self.size.width
        budget = width - sum(_length(hint) + 2 for hint in self.hints if hint[3])
        kept = []
        for hint in self.hints:
            if not hint[3]:
                if _length(hint) + 2 > budget:
                    continue
                budget -= _length(hint) + 2
            kept.append(hint)
        text = Text(end="", no_wrap=True, overflow="ellipsis")
        for key, description, enabled, _ in kept:
            if text:
                text.append("  ")
            text.append(key, "bold")
            text.append(" " + description, "" if enabled else "dim")
        return text


def _length(hint: tuple[str, str, bool, bool]) -> int:
    return len(hint[0]) + 1 + len(hint[1])
