"""The views the app switches between: one table for the keys, the palette and the help.

A view is a widget in the app's content switcher. The app binds its state down to it
(`search`, `paused`, `feed`: whichever reactives the widget declares) and asks the shown
one what `y`, `s`, `e` act on (`copy_target`, `trace_target`, `action_next_error`).
Adding a view is one `View` here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import tzinfo
from typing import Any

from textual.widget import Widget

from kubespan.tui.graph_view import GraphView
from kubespan.tui.pod_list import PodList
from kubespan.tui.services_view import ServicesView
from kubespan.tui.source.base import DataSource
from kubespan.tui.span_list import SpanList
from kubespan.tui.trace_list import TraceList
from kubespan.tui.trace_view import TraceView


@dataclass(frozen=True, slots=True)
class View:
    id: str
    """The widget id and the name `show_view` takes."""
    title: str
    keys: str
    """Keys that show it (`3,P`), or "" for a view reached another way (the trace view)."""
    help: str
    """What the palette says about it."""
    make: Callable[[DataSource, tzinfo | None], Widget]
    is_list: bool = False
    """`t` toggles between the list views; Escape from a trace returns to the last one."""
    needs: str = ""
    """The `Capabilities` field it needs; a source without it gets the source's `missing_note` there."""


VIEWS: list[View] = [
    View("traces", "Traces", "1", "Show the trace list (1)", lambda s, tz: TraceList(s, tz=tz, id="traces"), True),
    View("spans", "Spans", "2", "Show the flat span list (2)", lambda s, tz: SpanList(s, tz=tz, id="spans"), True,
         needs="spans"),
    View("pods", "Pods", "3,P", "Show the pods seen in spans (3 or P)", lambda s, tz: PodList(s, tz=tz, id="pods"),
         needs="pods"),
    View("services", "Services", "4", "Show rates, errors and latency per service and operation (4)",
         lambda s, tz: ServicesView(s, tz=tz, id="services"), needs="metrics"),
    View("graph", "Graph", "5", "Show who calls whom: the service graph (5)",
         lambda s, tz: GraphView(s, tz=tz, id="graph"), needs="graph"),
    View("trace", "Trace", "", "", lambda s, tz: TraceView(s, tz=tz, id="trace")),
]
"""Every view, in the order of their keys."""


def view(view_id: str) -> View:
    return next(v for v in VIEWS if v.id == view_id)


def empty_message(spec: View, filtered: bool, addresses: dict[str, str], capabilities: Any) -> str | None:
    """What `spec`'s view says when it has nothing to show: that the source lacks what it needs,
    that nothing matches the filter, or where to send spans (receivers only, not the API)."""
    if spec.needs and not getattr(capabilities, spec.needs, True):
        return f"{spec.title}: not offered here ({capabilities.missing_note})"
    if not spec.is_list:
        return None
    receivers = {k: v for k, v in addresses.items() if k != "api"}
    if filtered:
        return f"No {spec.id} match the filter (Escape in the filter bar reverts, Enter on an empty filter clears)"
    if receivers:
        listen = " and ".join(f"{'gRPC' if k == 'grpc' else k.upper()} {v}" for k, v in receivers.items())
        return f"Waiting for {spec.id}: send OTLP traces to {listen}"
    return f"No {spec.id} yet"
