"""`?`: every key, by pane, built from the bindings themselves so it cannot drift."""

from __future__ import annotations

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.keys import format_key
from textual.screen import ModalScreen
from textual.widgets import Static

KEY_NAMES = {"escape": "Esc", "enter": "Enter", "space": "Space", "pageup": "PgUp", "pagedown": "PgDn",
             "home": "Home", "end": "End", "tab": "Tab", "backspace": "Backspace", "delete": "Del"}
"""Keys written as a user reads them on the keyboard; others go through Textual's `format_key`."""


def key_name(key: str) -> str:
    """`slash` → `/`, `question_mark` → `?`, `pageup` → `PgUp`, `ctrl+p` → `ctrl+p`."""
    key = key.strip()
    return KEY_NAMES.get(key) or format_key(key)


def _keys(binding: Binding) -> str:
    return " ".join(key_name(key) for key in binding.key.split(","))


def bindings_table(sections: list[tuple[str, list]]) -> Table:
    table = Table.grid(padding=(0, 2))
    table.add_column(style="bold cyan", no_wrap=True)
    table.add_column()
    for title, bindings in sections:
        table.add_row(Text(title, style="bold underline"), "")
        for binding in bindings:
            if isinstance(binding, tuple):
                binding = Binding(*binding)
            if not binding.description:
                continue
            table.add_row(_keys(binding), binding.description)
        table.add_row("", "")
    return table


def help_sections(app_bindings: list[BindingType]) -> list[tuple[str, list[BindingType]]]:
    """Every key by pane, from the panes' own bindings (so help and keys cannot drift)."""
    from kubespan.tui.filter_input import FilterInput
    from kubespan.tui.line_list import LineList
    from kubespan.tui.pod_list import PodList
    from kubespan.tui.services_view import ServicesView
    from kubespan.tui.span_detail_pane import SpanDetailPane
    from kubespan.tui.trace_list import TraceList
    from kubespan.tui.trace_view import TraceView
    from kubespan.tui.waterfall import Waterfall

    return [
        ("Everywhere", app_bindings),
        ("Lists (traces, spans, pods)", LineList.BINDINGS + TraceList.BINDINGS),
        ("Services (4), Graph (5)", [Binding("enter", "select", "Slowest traces of the operation; spans of the edge"),
                                     Binding("f", "add_to_filter", "Add the operation or edge to the filter"),
                                     *ServicesView.BINDINGS]),
        ("Pod view", PodList.BINDINGS),
        ("Waterfall", Waterfall.BINDINGS + TraceView.BINDINGS),
        ("Span detail", SpanDetailPane.BINDINGS),
        ("Filter bar", [Binding("enter", "", "Apply"), *FilterInput.BINDINGS]),
    ]


class HelpScreen(ModalScreen[None]):
    BINDINGS = [Binding("escape,q,question_mark", "close", "Close")]

    DEFAULT_CSS = """
    HelpScreen { align: center middle; }
    HelpScreen > VerticalScroll {
        width: 80; max-width: 95%; height: 90%; border: thick $accent; background: $surface; padding: 0 1;
    }
    """

    def __init__(self, sections: list[tuple[str, list]]) -> None:
        super().__init__()
        self.sections = sections

    def compose(self) -> ComposeResult:
        with VerticalScroll():
            yield Static(Text("kubespan keys  (Escape closes; Ctrl+P opens the command palette)", style="bold"))
            yield Static(bindings_table(self.sections))
            yield Static(Text(
                "Filters: k8s.pod=default/echo (logfmt, ANDed), { .http.status_code >= 500 } (TraceQL), "
                "or free text; end with since 5m, between 12:00 12:05, or a TraceQL with (since=5m) for a "
                "time window. Enter applies, Escape reverts, Up/Down walk the history.", style="dim"))

    def action_close(self) -> None:
        self.dismiss(None)
