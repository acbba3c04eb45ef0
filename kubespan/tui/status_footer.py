"""The status line: where we listen, how fast spans arrive, what was kept or lost."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static

from kubespan.tui.format import format_count
from kubespan.tui.text import inert


class StatusFooter(Static):
    """Shows counters; `update_stats` is called by the app's refresh tick."""

    DEFAULT_CSS = """
    StatusFooter { height: auto; max-height: 6; background: $panel; color: $text; padding: 0 1; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__("", id=id)
        self._last: tuple[float, int] | None = None
        self.rate = 0.0

    def update_stats(self, *, stats: dict, stored: int, addresses: dict, warnings: list[str],
                     paused: bool, now: float, source: str = "", progress: str = "",
                     held: bool = False) -> None:
        received = int(stats.get("received_spans", 0))
        if self._last is not None and now > self._last[0]:
            instant = (received - self._last[1]) / (now - self._last[0])
            self.rate = instant if self.rate == 0 else 0.5 * self.rate + 0.5 * instant
        if self._last is None or now > self._last[0]:
            self._last = (now, received)
        self.update(status_text(stats, stored, addresses, warnings, paused, self.rate, source, progress,
                                held=held))


def status_text(stats: dict, stored: int, addresses: dict, warnings: list[str], paused: bool,
                rate: float, source: str = "", progress: str = "", *, held: bool = False) -> Text:
    """`paused`: `p` stopped the live feed. `held`: not paused, but the list's cursor is
    below the top, so new traces wait until the cursor goes back (Home or g)."""
    text = Text(end="")
    if paused:
        text.append(" ⏸ PAUSED ", "bold reverse yellow")
    elif held:
        text.append(" ○ held: g follows ", "bold yellow")
    else:
        text.append(" ● following ", "bold green")
    parts: list[Text] = []
    if addresses:
        listen = Text(end="")
        for name, address in addresses.items():
            if listen:
                listen.append(" ")
            listen.append(("gRPC" if name == "grpc" else name.upper()) + " ", "dim")
            listen.append(str(address))
        parts.append(listen)
    if source:
        parts.append(inert(source if len(source) <= 48 else "…" + source[-47:], "dim", limit=60))
    if progress:
        parts.append(Text(progress, style="bold cyan"))
    parts.append(Text(f"{format_count(round(rate))} spans/s"))
    parts.append(_pair("stored", stored))
    evicted = sum(int(v) for k, v in stats.items() if "evicted" in k and isinstance(v, (int, float)))
    parts.append(_pair("evicted", evicted, "yellow" if evicted else ""))
    rejected = int(stats.get("rejected_spans", 0)) + int(stats.get("refused_spans", 0))
    parts.append(_pair("rejected", rejected, "bold red" if rejected else ""))
    forward = {k: v for k, v in stats.items() if k.startswith("forward_")}
    if forward:
        part = Text("fwd", style="bold", end="")
        for key in sorted(forward, key=_forward_order):
            value = forward[key]
            bad = ("drop" in key or "fail" in key or "error" in key) and value
            label = key.removeprefix("forward_").removesuffix("_spans").replace("_", " ")
            part.append(" ")
            part.append_text(_pair(label, value, "bold red" if bad else ""))
        parts.append(part)
    for part in parts:
        text.append(" │ ", "dim")
        text.append_text(part)
    for warning in warnings:
        text.append("\n")
        text.append_text(inert(warning, "bold red", limit=400))
    return text


def _pair(label: str, value, style: str = "") -> Text:
    text = Text(label + " ", style="dim", end="")
    text.append(format_count(value) if isinstance(value, (int, float)) else str(value), style)
    return text


class KeyHints(Static):
    """The keys of the focused pane, one line; cheaper than Textual's Footer, which
    remounts a widget per key on every focus change."""

    DEFAULT_CSS = """
    KeyHints { height: 1; background: $panel-darken-1; color: $text-muted; padding: 0 1; }
    """

    def show_bindings(self, active: dict, key_display) -> None:
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


_FORWARD_ORDER = ("sent", "queue", "retries", "dropped", "failed")


def _forward_order(key: str) -> tuple[int, str]:
    name = key.removeprefix("forward_")
    for position, prefix in enumerate(_FORWARD_ORDER):
        if name.startswith(prefix):
            return position, name
    return len(_FORWARD_ORDER), name
