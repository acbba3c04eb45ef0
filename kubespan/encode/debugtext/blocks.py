"""Repeated text blocks of the debug output: attribute lists, resource entity refs, and
span events and links, each written through an ``append`` callback."""

from __future__ import annotations

from typing import Any, Callable, Sequence

from opentelemetry.proto.common.v1.common_pb2 import KeyValue
from opentelemetry.proto.trace.v1.trace_pb2 import Span

from kubespan.encode.debugtext.scalars import format_id, format_timestamp
from kubespan.encode.debugtext.values import TYPE_NAMES, value_as_string, value_to_string
from kubespan.encode.inert import escape_keeping_lines as inert

Append = Callable[[str], None]


def write_attributes(ap: Append, header: str, kvs: Sequence[KeyValue], prefix: str, legacy: bool) -> None:
    """``logAttributes``: header line then ``<prefix> key: Type(value)`` lines."""
    if not len(kvs):
        return
    ap(header)
    if legacy:
        for kv in kvs:
            v = kv.value
            if v.WhichOneof("value") == "string_value":
                ap(f"{prefix} {inert(kv.key)}: STRING({inert(v.string_value)})\n")
            else:
                ap(f"{prefix} {inert(kv.key)}: {value_to_string(v, legacy=True)}\n")
        return
    for kv in kvs:
        v = kv.value
        w = v.WhichOneof("value")
        if w == "string_value":
            ap(f"{prefix} {inert(kv.key)}: Str({inert(v.string_value)})\n")
        elif w == "int_value":
            ap(f"{prefix} {inert(kv.key)}: Int({v.int_value})\n")
        else:
            ap(f"{prefix} {inert(kv.key)}: {TYPE_NAMES[w]}({inert(value_as_string(v))})\n")


def write_entity_refs(ap: Append, refs: Sequence[Any]) -> None:
    ap("Resource entity refs:\n")
    for i, ref in enumerate(refs):
        ap(f"     -> Entity ref #{i}:\n          -> Type: {inert(ref.type)}\n")
        if ref.schema_url:
            ap(f"          -> Schema URL: {inert(ref.schema_url)}\n")
        if len(ref.id_keys):
            ap("          -> ID keys:\n")
            for key in ref.id_keys:
                ap(f"               -> {inert(key)}\n")
        if len(ref.description_keys):
            ap("          -> Description keys:\n")
            for key in ref.description_keys:
                ap(f"               -> {inert(key)}\n")


def _event_head(i: int, event: Span.Event) -> str:
    return (f"SpanEvent #{i}\n     -> Name: {inert(event.name)}\n"
            f"     -> Timestamp: {format_timestamp(event.time_unix_nano)}\n"
            f"     -> DroppedAttributesCount: {event.dropped_attributes_count}\n")


def _link_head(i: int, link: Span.Link) -> str:
    return (f"SpanLink #{i}\n     -> Trace ID: {format_id(link.trace_id)}\n"
            f"     -> ID: {format_id(link.span_id)}\n     -> TraceState: {inert(link.trace_state)}\n"
            f"     -> DroppedAttributesCount: {link.dropped_attributes_count}\n")


def write_events_links(ap: Append, sp: Span, legacy: bool) -> None:
    if legacy:
        header, prefix = "     -> Attributes:\n", "         ->"
    else:
        header, prefix = "     -> Attributes::\n", "          ->"
    groups: tuple[tuple[str, Sequence[Any], Callable[[int, Any], str]], ...] = (
        ("Events:\n", sp.events, _event_head), ("Links:\n", sp.links, _link_head))
    for title, items, head in groups:
        if len(items):
            ap(title)
            for i, item in enumerate(items):
                ap(head(i, item))
                write_attributes(ap, header, item.attributes, prefix, legacy)
