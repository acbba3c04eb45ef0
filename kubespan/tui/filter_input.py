"""The filter bar's input: Escape reverts and up/down walk the history (handled by the bar)."""

from __future__ import annotations

from textual.binding import Binding
from textual.message import Message
from textual.widgets import Input


class FilterInput(Input):
    """An Input that asks its bar to revert (Escape) or step through the history (up/down)."""

    BINDINGS = [
        Binding("escape", "revert", "Revert", show=True),
        Binding("up", "history(-1)", "Older", show=False),
        Binding("down", "history(1)", "Newer", show=False),
    ]

    class Revert(Message):
        """Escape: put the applied filter back."""

    class History(Message):
        """Up/down: show an older (-1) or newer (1) filter of the history."""

        def __init__(self, step: int) -> None:
            super().__init__()
            self.step = step

    def action_revert(self) -> None:
        self.post_message(self.Revert())

    def action_history(self, step: int) -> None:
        self.post_message(self.History(step))
