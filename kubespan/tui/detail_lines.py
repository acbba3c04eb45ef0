"""The lines of the span detail: every field of one span, one selectable line per field.

Pure: built from the store's `SpanDetail` (the official protobuf messages). List lines
show a bounded prefix of each value, so a 1 MB attribute costs no more than a short one.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import tzinfo
from typing import Any

from rich.text import Text

from kubespan.model import value_text
from kubespan.otlp.attributes import any_value_to_python
from kubespan.tui.format import (
    STATUS_ERROR,
    format_duration,
    format_timestamp,
    kind_name,
    plural,
    status_name,
)
from kubespan.tui.line_list import cells
from kubespan.tui.text import inert

KEY_WIDTH = 30
"""Cells of an attribute key in the detail (longer keys are cut with an ellipsis)."""


@dataclass(frozen=True, slots=True)
class DetailItem:
    """What a detail line is about: `y` copies `value`; `f` filters on `key`=`raw`."""

    label: str
    value: str
    key: str | None = None  # attribute key, for add-to-filter
    raw: Any = None  # typed attribute value
    scope: str = ""  # "span", "resource", "event", "link", "scope"
    link: tuple[bytes, bytes] | None = None  # (trace id, span id) a link line points to


@dataclass(frozen=True, slots=True)
class DetailLine:
    text: Text
    item: DetailItem | None = None


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
        target = (bytes(link.trace_id), bytes(link.span_id))
        text.append("  (Enter opens it)", "dim")
        out.append(DetailLine(text, DetailItem("link", f"{link.trace_id.hex()} {link.span_id.hex()}", link=target)))
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
