"""Command palette entries (Ctrl+P): every action of the help screen, named like its key.

`PALETTE` is one row per command: title, help (ending with the key in parentheses) and
the binding action it stands for, as written in the `BINDINGS` that the help screen
lists. A test checks that every action of the help screen has a row here. Textual adds
Theme, Quit, Keys and Screenshot (SVG) itself.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING

from textual.app import SystemCommand
from textual.widget import Widget

from kubespan.tui.views import VIEWS

if TYPE_CHECKING:
    from kubespan.tui.app import KubespanApp

PALETTE: list[tuple[str, str, str]] = [
    # Everywhere
    ("Filter", "Focus the filter bar (/)", "focus_filter"),
    ("Clear filter", "Show every span", "clear_filter"),
    ("Back", "Close the detail or the trace, back to the list (Escape)", "back"),
    *((v.title, v.help, f"show_view('{v.id}')") for v in VIEWS if v.keys),
    ("Toggle traces/spans", "Switch between the trace and span lists (t)", "toggle_view"),
    ("Pause/resume", "Stop or resume following new spans (p)", "pause"),
    ("Copy", "Copy the selected trace id, span id or value (y)", "copy"),
    ("Add to filter", "Add the selected attribute key=value, operation or edge to the filter (f)",
     "add_to_filter"),
    ("Save trace", "Save the selected trace as OTLP/JSON lines (s)", "save"),
    ("Next error", "Jump to the next error span or trace (e)", "next_error"),
    ("Previous error", "Jump to the previous error span or trace (E)", "previous_error"),
    ("Help", "Every key (?)", "help"),
    # Lists, waterfall and detail: act on the pane that is shown
    ("Open", "Open the selected trace, span, pod, operation or edge; in a trace, its span detail (Enter)",
     "select"),
    ("Sort", "Order the list by start, duration, spans or errors; pods by spans, errors or last activity (o)",
     "cycle_sort"),
    ("Reverse sort", "Reverse the order of the Services view (O)", "reverse_sort"),
    ("Fold repeats", "Fold repeated roots of one service and name into one row with p50/p99, or unfold (n)",
     "toggle_fold_repeats"),
    ("Group pods", "Group the pod view by namespace, by node, or not at all, in turn (b)", "cycle_grouping"),
    ("Cursor up", "Move the cursor up one row (Up or k)", "cursor_up"),
    ("Cursor down", "Move the cursor down one row (Down or j)", "cursor_down"),
    ("Page up", "Move the cursor up one page (PageUp)", "page_up"),
    ("Page down", "Move the cursor down one page (PageDown)", "page_down"),
    ("First row", "Go to the first row; a list at the top follows new spans (Home or g)", "first"),
    ("Last row", "Go to the last row (End or G)", "last"),
    ("Fold", "Fold the selected span's children in the waterfall (Left or h)", "fold"),
    ("Unfold", "Unfold the selected span's children in the waterfall (Right or l)", "unfold"),
    ("Fold/unfold", "Toggle folding of the selected span in the waterfall (Space)", "toggle_fold"),
    ("Open link or full value", "Follow the selected link, or show the selected value in full (Enter)",
     "open_line"),
    ("Full value", "Show the selected value of the span detail in full (v)", "view_value"),
    ("Taller waterfall", "Move the split between waterfall and detail down (+)", "move_split(1)"),
    ("Shorter waterfall", "Move the split between waterfall and detail up (-)", "move_split(-1)"),
    ("Split by size", "Size the waterfall to the trace again (=)", "reset_split"),
    # Filter bar
    ("Apply filter", "Apply the text in the filter bar (Enter in the bar)", ""),
    ("Revert filter", "Put back the applied filter in the bar (Escape in the bar)", "revert"),
    ("Older filter", "Put the previous filter of the history in the bar (Up in the bar)", "history(-1)"),
    ("Newer filter", "Put the next filter of the history in the bar (Down in the bar)", "history(1)"),
]
"""(title, help, binding action) of every command kubespan adds to the palette."""

PANE_ACTIONS = {"select", "cursor_up", "cursor_down", "page_up", "page_down", "first", "last", "cycle_sort",
                "reverse_sort", "toggle_fold_repeats", "cycle_grouping"}
WATERFALL_ACTIONS = {"fold", "unfold", "toggle_fold"}
SPLIT_ACTIONS: dict[str, tuple[str, tuple[int, ...]]] = {
    "move_split(1)": ("move_split", (1,)), "move_split(-1)": ("move_split", (-1,)), "reset_split": ("reset_split", ())}


def system_commands(app: KubespanApp) -> Iterable[SystemCommand]:
    for title, help_text, action in PALETTE:
        yield SystemCommand(title, help_text, _handler(app, action))


def _handler(app: KubespanApp, action: str) -> Callable[[], object]:
    if action == "clear_filter":
        return lambda: app.filter_bar.apply("")
    if action == "":
        return lambda: app.filter_bar.apply(app.filter_bar.input.value)
    if action == "revert":
        return app.filter_bar.revert
    if action.startswith("history("):
        step = -1 if "-1" in action else 1

        def history() -> None:
            app.filter_bar.history_step(step)
            app.filter_bar.input.focus()

        return history
    if action in PANE_ACTIONS:
        return lambda: _on_pane(app, action)
    if action in WATERFALL_ACTIONS:
        return lambda: _on_trace_pane(app, app.trace_view.waterfall, action)
    if action in SPLIT_ACTIONS:
        method, args = SPLIT_ACTIONS[action]
        return lambda: _on_trace_pane(app, app.trace_view, method, *args)
    if action in ("view_value", "open_line"):
        return lambda: _on_trace_pane(app, app.trace_view.detail, action)
    return lambda: app.run_action(action)


def _shown_pane(app: KubespanApp) -> Widget:
    """The list the user is looking at; in a trace, the detail if it was last focused."""
    if app.view == "trace":
        trace_view = app.trace_view
        focused = app.screen_stack[0].focused if app.screen_stack else None
        return trace_view.detail if focused is trace_view.detail else trace_view.waterfall
    return app.pane()


def _on_pane(app: KubespanApp, action: str) -> None:
    method = getattr(_shown_pane(app), f"action_{action}", None)
    if method is None:
        app.notify("Not in this view", severity="warning")
        return
    method()


def _on_trace_pane(app: KubespanApp, pane: Widget, action: str, *args: int) -> None:
    if app.view != "trace":
        app.notify("Open a trace first (Enter on a trace or span)", severity="warning")
        return
    getattr(pane, f"action_{action}")(*args)
