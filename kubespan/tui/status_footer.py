"""The status footer: the feed state and counters on one line, warnings below it."""

from __future__ import annotations

from dataclasses import replace

from rich.text import Text
from textual.reactive import reactive
from textual.widget import Widget

from kubespan.tui.status_line import FeedStatus, status_text, warning_lines


class StatusFooter(Widget):
    """Draws `status` fitted to its width; `update_status` also keeps the spans/s rate."""

    DEFAULT_CSS = """
    StatusFooter { height: auto; max-height: 8; background: $panel; color: $text; padding: 0 1; }
    """

    status: reactive[FeedStatus] = reactive(FeedStatus)
    """What the footer shows; set by the app's poll, a few times a second (a repaint of the
    footer; the screen is laid out again only when the warning lines below it change)."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._last: tuple[float, int] | None = None
        self.rate = 0.0
        """Spans received per second, smoothed over the last two polls."""

    def update_status(self, status: FeedStatus, now: float) -> None:
        """Show `status`; `now` (seconds, monotonic) dates its `received_spans` for the rate."""
        received = int(status.stats.get("received_spans", 0))
        if self._last is not None and now > self._last[0]:
            instant = (received - self._last[1]) / (now - self._last[0])
            self.rate = instant if self.rate == 0 else 0.5 * self.rate + 0.5 * instant
        if self._last is None or now > self._last[0]:
            self._last = (now, received)
        self.status = replace(status, rate=self.rate)

    def watch_status(self, old: FeedStatus, new: FeedStatus) -> None:
        if [line.plain for line in warning_lines(old)] != [line.plain for line in warning_lines(new)]:
            self.refresh(layout=True)

    def render(self) -> Text:
        return status_text(self.status, max(1, self.content_region.width or self.size.width))
