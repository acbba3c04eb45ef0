"""Command palette entries (Ctrl+P): every action of the viewer, named like its key."""

from __future__ import annotations

from typing import TYPE_CHECKING, Iterable

from textual.app import SystemCommand

if TYPE_CHECKING:
    from kubespan.tui.app import KubespanApp


def system_commands(app: "KubespanApp") -> Iterable[SystemCommand]:
    yield SystemCommand("Filter", "Focus the filter bar (/)", app.action_focus_filter)
    yield SystemCommand("Clear filter", "Show every span", lambda: app.filter_bar.apply(""))
    yield SystemCommand("Traces", "Show the trace list (1)", lambda: app.show_view("traces"))
    yield SystemCommand("Spans", "Show the flat span list (2)", lambda: app.show_view("spans"))
    yield SystemCommand("Toggle traces/spans", "Switch between the trace and span lists (t)",
                        app.action_toggle_view)
    yield SystemCommand("Pods", "Show the pods seen in spans (3 or P)", lambda: app.show_view("pods"))
    yield SystemCommand("Pause/resume", "Stop or resume following new spans (p)", app.action_pause)
    yield SystemCommand("Copy", "Copy the selected trace id, span id or value (y)", app.action_copy)
    yield SystemCommand("Add to filter", "Add the selected attribute key=value to the filter (f)",
                        app.action_add_to_filter)
    yield SystemCommand("Next error", "Jump to the next error span or trace (e)", app.action_next_error)
    yield SystemCommand("Save trace", "Save the selected trace as OTLP/JSON lines (s)", app.action_save)
    yield SystemCommand("Help", "Every key (?)", app.action_help)
