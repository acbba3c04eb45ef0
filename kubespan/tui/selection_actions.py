"""Key actions of the kubespan TUI on what is selected: copy (y), add to filter (f), next
error (e) and save trace (s).

Mixed into :class:`~kubespan.tui.app.KubespanApp`, whose views and widgets it reads.
"""

from __future__ import annotations

from kubespan.tui.format import plural
from kubespan.tui.span_detail_pane import SpanDetailPane


class SelectionActions:
    """Actions on the selected trace, span or attribute of :class:`~kubespan.tui.app.KubespanApp`."""

    def selected_span_row(self):
        if self.view == "trace":
            return self.waterfall.selected_row
        if self.view == "spans":
            return self.span_list.selected_row or None
        return None

    def selected_trace_id(self) -> bytes | None:
        if self.view == "trace":
            return self.waterfall.trace_id
        if self.view == "traces":
            return self.trace_list.selected_trace
        row = self.selected_span_row()
        return row.trace_id if row else None

    def action_copy(self) -> None:
        what, value = self._copy_target()
        if value is None:
            self.notify("Nothing selected to copy", severity="warning")
            return
        self.copy_to_clipboard(value)
        shown = value if len(value) <= 60 else value[:59] + "…"
        self.notify(f"Copied {what}: {shown}", timeout=3)

    def _copy_target(self) -> tuple[str, str | None]:
        focused = self.focused
        if isinstance(focused, SpanDetailPane) and focused.selected_item is not None:
            item = focused.selected_item
            return item.label, item.value
        if self.view == "pods":
            pod = self.pod_list.selected_pod
            return "pod", pod.qualified if pod else None
        if self.view in ("trace", "spans"):
            row = self.selected_span_row()
            return ("span id", row.span_id.hex()) if row else ("span id", None)
        trace_id = self.selected_trace_id()
        return "trace id", trace_id.hex() if trace_id else None

    def action_add_to_filter(self) -> None:
        item = self.detail.selected_item if self.view == "trace" else None
        if item is None or item.key is None:
            self.notify("Select an attribute in the span detail (Enter on a span, then move to it)",
                        severity="warning")
            return
        if item.scope in ("event", "link", "scope"):
            self.notify(f"The query language cannot filter on {item.scope} attributes yet; "
                        "copy the value with y instead", severity="warning")
            return
        text = self.filter_bar.add_term(item.key, item.raw, scope=item.scope)
        self.notify(f"Filter: {text if len(text) <= 200 else text[:199] + '…'}", timeout=3)

    def action_next_error(self) -> None:
        self._jump_to_error("next_error")

    def action_previous_error(self) -> None:
        self._jump_to_error("previous_error")

    def _jump_to_error(self, action: str) -> None:
        """`e`/`E` on whichever pane is shown: error spans of the trace, or lists' error rows."""
        pane = {"trace": self.waterfall, "spans": self.span_list, "traces": self.trace_list}.get(self.view)
        if pane is not None:
            getattr(pane, f"action_{action}")()

    def action_save(self) -> None:
        trace_id = self.selected_trace_id()
        if trace_id is None:
            self.notify("No trace selected to save", severity="warning")
            return
        from kubespan.dumps import save_trace

        try:
            path, count = save_trace(self.store, trace_id, self.save_dir)
        except OSError as exc:
            self.notify(f"Cannot save: {exc}", severity="error")
            return
        self.notify(f"Saved {plural(count, 'span', exact=True)} to {path.resolve()}", timeout=6)
