"""Span detail: every field of one span, one selectable line per field.

The cursor selects a line; `y` copies its value, `f` adds `key=value` to the filter,
Enter (or `v`) opens the full value in a scrollable modal. List lines show a bounded
prefix of each value, so a 1 MB attribute costs no more than a short one.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import tzinfo
from typing import Any

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Label, Log

from kubespan.model import value_text
from kubespan.otlp.attributes import any_value_to_python
from kubespan.tui.format import STATUS_ERROR, format_duration, format_timestamp, kind_name, plural, status_name
from kubespan.tui.line_list import LineList, cells
from kubespan.tui.text import chunk_lines, inert, sanitize

KEY_WIDTH = 30
FULL_VIEW_LIMIT = 4_000_000
"""Characters of a value the full-value modal shows (a 4 MB request cap bounds it anyway)."""


@dataclass(frozen=True, slots=True)
class DetailItem:
    """What a detail line is about: `y` copies `value`; `f` filters on `key`=`raw`."""

    label: str
    value: str
    key: str | None = None  # attribute key, for add-to-filter
    raw: Any = None  # typed attribute value
    scope: str = ""  # "span", "resource", "event", "link", "scope"


@dataclass(frozen=True, slots=True)
class DetailLine:
    text: Text
    item: DetailItem | None = None


class SpanDetailPane(LineList):
    """A LineList of `DetailLine`s built from the store's `SpanDetail`."""

    HEADER = False

    BINDINGS = [
        Binding("enter,v", "view_value", "Full value"),
    ]

    DEFAULT_CSS = """
    SpanDetailPane { height: 1fr; }
    """

    def __init__(self, *, tz: tzinfo | None = None, id: str | None = None) -> None:
        super().__init__(id=id)
        self.tz = tz
        self.lines: list[DetailLine] = []
        self.ordinal: int | None = None

    def row_count(self) -> int:
        return len(self.lines)

    def empty_text(self) -> Text:
        return Text("Select a span to see its details", style="dim")

    def render_row(self, index: int, width: int) -> Text:
        return self.lines[index].text.copy()

    @property
    def selected_item(self) -> DetailItem | None:
        if 0 <= self.cursor < len(self.lines):
            return self.lines[self.cursor].item
        return None

    def show(self, ordinal: int | None, detail) -> None:
        keep = ordinal == self.ordinal
        self.ordinal = ordinal
        self.lines = detail_lines(detail, self.tz) if detail is not None else (
            [DetailLine(Text("(span evicted from the store)", style="dim"))] if ordinal is not None else []
        )
        if not keep:
            self.cursor = 0
            self.scroll_to(y=0, animate=False, immediate=True)
        self.data_changed()

    def action_view_value(self) -> None:
        item = self.selected_item
        if item is not None:
            self.app.push_screen(ValueScreen(item.label, item.value))


def detail_lines(detail, tz: tzinfo | None = None) -> list[DetailLine]:
    """All lines of the detail view for one store `SpanDetail`."""
    span = detail.span
    out: list[DetailLine] = []
    service = getattr(detail, "service", "") or ""
    error = span.status.code == STATUS_ERROR

    def field(label: str, value: str, style: str = "", **item) -> None:
        text = cells((Text(label, style="bold"), 12, "left"), (inert(value, style, limit=512), None, "left"))
        out.append(DetailLine(text, DetailItem(label, value, **item)))

    field("name", span.name, "bold red" if error else "bold", key="name", raw=span.name, scope="intrinsic")
    field("service", service, key="service", raw=service, scope="intrinsic")
    field("trace id", span.trace_id.hex())
    field("span id", span.span_id.hex())
    field("parent id", span.parent_span_id.hex() if span.parent_span_id else "(root)")
    field("kind", kind_name(span.kind), key="kind", raw=kind_name(span.kind), scope="intrinsic")
    status = status_name(span.status.code)
    if span.status.message:
        status += ": " + span.status.message
    field("status", status, "bold red" if error else "")
    field("start", format_timestamp(span.start_time_unix_nano, tz))
    field("end", format_timestamp(span.end_time_unix_nano, tz))
    duration = span.end_time_unix_nano - span.start_time_unix_nano
    field("duration", f"{format_duration(duration)}  ({duration:,} ns)")
    if span.trace_state:
        field("trace state", span.trace_state)
    if span.flags:
        field("flags", f"0x{span.flags:08x}")

    _section(out, "Attributes", len(span.attributes), span.dropped_attributes_count)
    _attributes(out, span.attributes, "span", indent=1)

    _section(out, "Events", len(span.events), span.dropped_events_count)
    for event in span.events:
        offset = format_duration(event.time_unix_nano - span.start_time_unix_nano) if event.time_unix_nano else "?"
        text = Text(f" +{offset:<9} ", style="dim", end="")
        text.append_text(inert(event.name, "bold"))
        if event.dropped_attributes_count:
            text.append(f"  ({event.dropped_attributes_count} attributes dropped)", "dim")
        out.append(DetailLine(text, DetailItem("event", event.name)))
        _attributes(out, event.attributes, "event", indent=3)

    _section(out, "Links", len(span.links), span.dropped_links_count)
    for link in span.links:
        text = Text(" → trace ", style="dim", end="")
        text.append(link.trace_id.hex())
        text.append(" span ", "dim")
        text.append(link.span_id.hex())
        if link.trace_state:
            text.append(" state ", "dim")
            text.append_text(inert(link.trace_state, limit=80))
        if link.dropped_attributes_count:
            text.append(f"  ({link.dropped_attributes_count} attributes dropped)", "dim")
        out.append(DetailLine(text, DetailItem("link", f"{link.trace_id.hex()} {link.span_id.hex()}")))
        _attributes(out, link.attributes, "link", indent=3)

    resource = getattr(detail, "resource", None)
    if resource is not None:
        _section(out, "Resource", len(resource.attributes), resource.dropped_attributes_count,
                 getattr(detail, "resource_schema_url", ""))
        _attributes(out, resource.attributes, "resource", indent=1)
    scope = getattr(detail, "scope", None)
    if scope is not None:
        _scope_section(out, scope, getattr(detail, "scope_schema_url", ""))
        text = cells((Text(" name", style="bold"), 12, "left"), (inert(scope.name or "(empty)"), None, "left"))
        out.append(DetailLine(text, DetailItem("scope name", scope.name)))
        text = cells((Text(" version", style="bold"), 12, "left"), (inert(scope.version or "(empty)"), None, "left"))
        out.append(DetailLine(text, DetailItem("scope version", scope.version)))
        _attributes(out, scope.attributes, "scope", indent=1)
    return out


def _section(out: list[DetailLine], title: str, count: int, dropped: int, schema: str = "") -> None:
    out.append(DetailLine(Text("")))
    text = Text(f"── {title} ({count})", style="bold cyan", end="")
    if dropped:
        text.append(f"  {dropped} dropped", "bold yellow")
    if schema:
        text.append("  schema ", "dim")
        text.append_text(inert(schema, "dim", limit=120))
    out.append(DetailLine(text))


def _scope_section(out: list[DetailLine], scope, schema: str) -> None:
    """`── Scope k8s.io/kubernetes/pkg/kubelet 1.27.1`: the heading names the scope; a
    count is only added for attributes, which most scopes have none of."""
    out.append(DetailLine(Text("")))
    text = Text("── Scope ", style="bold cyan", end="")
    text.append_text(inert(scope.name or "(unnamed)", "bold cyan", limit=120))
    if scope.version:
        text.append(" ")
        text.append_text(inert(scope.version, "cyan", limit=60))
    if scope.attributes:
        text.append(f"  ({plural(len(scope.attributes), 'attribute')})", "cyan")
    if scope.dropped_attributes_count:
        text.append(f"  {scope.dropped_attributes_count} dropped", "bold yellow")
    if schema:
        text.append("  schema ", "dim")
        text.append_text(inert(schema, "dim", limit=120))
    out.append(DetailLine(text))


def _attributes(out: list[DetailLine], attributes, scope: str, indent: int) -> None:
    for kv in sorted(attributes, key=lambda kv: kv.key):
        value, kind = any_value_to_python(kv.value)
        plain = value_text(value)
        text = Text(" " * indent, end="")
        key_text = inert(kv.key, "bold", limit=120)
        key_text.truncate(KEY_WIDTH - indent, overflow="ellipsis", pad=True)
        text.append_text(key_text)
        text.append(f" {kind:<6} ", "dim")
        if len(plain) > 512:
            text.append(f"[{len(plain):,} chars, Enter shows all] ", "italic yellow")
        text.append_text(inert(plain, "", limit=512))
        out.append(DetailLine(text, DetailItem(kv.key, plain, key=kv.key, raw=value, scope=scope)))


class ValueScreen(ModalScreen[None]):
    """A full attribute value, escaped, in a scrollable log (fast for megabytes)."""

    BINDINGS = [Binding("escape,q,enter", "dismiss_screen", "Close")]

    DEFAULT_CSS = """
    ValueScreen { align: center middle; }
    ValueScreen > Vertical { width: 90%; height: 85%; border: thick $accent; background: $surface; }
    ValueScreen Label { width: 1fr; padding: 0 1; background: $accent 30%; }
    ValueScreen Log { height: 1fr; }
    """

    def __init__(self, title: str, value: str) -> None:
        super().__init__()
        self.title_text = title
        self.value = value

    def compose(self) -> ComposeResult:
        with Vertical():
            size = f"{len(self.value):,} chars"
            yield Label(inert(self.title_text, "bold", limit=200) + Text(f"  {size}  (Escape closes)", "dim"))
            yield Log(highlight=False, id="value-log")

    def on_mount(self) -> None:
        value = self.value[:FULL_VIEW_LIMIT]
        log = self.query_one(Log)
        width = max(20, int(self.app.size.width * 0.9) - 6)
        log.write_lines(chunk_lines(sanitize(value, multiline=True).replace("\t", "    "), width))
        log.scroll_home(animate=False)
        log.focus()

    def action_dismiss_screen(self) -> None:
        self.dismiss(None)
