"""Links: Enter on a link in the span detail opens the linked trace; Escape comes back."""

from __future__ import annotations

from tests.tui import data
from tests.tui.helpers import open_trace, ready, screen_text, wait_for

SIZE = (120, 40)


def linked_traces() -> list[bytes]:
    """A kubelet `HTTP PATCH` client root, and the apiserver's `KubernetesAPI` root linked to it
    (up to 1.32 the apiserver starts a new trace and links it to its caller)."""
    kubelet = data.make_span(1, 0, "HTTP PATCH", start=0, dur=5, kind=3,
                             attrs={"http.method": "PATCH", "http.url": "https://10.0.0.1:6443/api/v1/pods"})
    apiserver = data.make_span(2, 0, "KubernetesAPI", start=1, dur=3, kind=2, attrs={"http.method": "PATCH"})
    link = apiserver.links.add(trace_id=data.trace_id(1), span_id=data.span_id(1, 0))
    link.attributes.append(data.kv("reason", "caller"))
    dangling = apiserver.links.add(trace_id=data.trace_id(99), span_id=data.span_id(99, 0))
    dangling.attributes.append(data.kv("reason", "evicted caller"))
    child = data.make_span(2, 1, "Patch", parent=0, start=1, dur=2)
    return [data.request("kubelet", [kubelet]), data.request("apiserver", [apiserver, child])]


def link_line(app, trace_number: int) -> int:
    for index, line in enumerate(app.detail.lines):
        if line.item is not None and line.item.link == (data.trace_id(trace_number), data.span_id(trace_number, 0)):
            return index
    raise AssertionError("no link line")


async def test_enter_on_a_link_opens_the_linked_trace_and_escape_returns(app_factory):
    app = app_factory(linked_traces())
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot, app)
        await open_trace(pilot, app, data.trace_id(2))
        await pilot.press("enter")  # into the detail of the KubernetesAPI root
        assert app.focused is app.detail
        app.detail.move_cursor(link_line(app, 1))
        await pilot.press("enter")
        await wait_for(pilot, lambda: app.trace_view.data.trace_id == data.trace_id(1), what="linked trace")
        assert app.view == "trace"
        assert app.waterfall.selected_row.span_id == data.span_id(1, 0)
        assert "HTTP PATCH" in screen_text(app) and "Esc back" in screen_text(app)
        await pilot.press("escape")
        await wait_for(pilot, lambda: app.trace_view.data.trace_id == data.trace_id(2), what="back to the caller")
        assert app.focused is app.detail and app.detail.cursor == link_line(app, 1)
        assert "Esc back" not in screen_text(app)
        await pilot.press("escape", "escape")
        assert app.view == "traces"


async def test_a_link_to_a_trace_not_stored_says_so_and_stays(app_factory):
    app = app_factory(linked_traces())
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await ready(pilot, app)
        await open_trace(pilot, app, data.trace_id(2))
        await pilot.press("enter")
        app.detail.move_cursor(link_line(app, 99))
        await pilot.press("enter")
        await wait_for(pilot, lambda: any("linked trace" in n.message for n in app._notifications), what="note")
        assert app.trace_view.data.trace_id == data.trace_id(2) and not app.trace_view.history
