"""Wire-compatible "view" messages derived from the official OTLP trace descriptors.

The official `opentelemetry-proto` stubs turn every attribute into a Python message
object on access, which costs about 8 µs per span for k8s-like spans. The views here
are generated at import time from those same official descriptors: same field numbers
and names, but the span attributes, the resource and the scope are typed as `bytes`.
Protobuf's wire format makes a length-delimited message and a `bytes` field
indistinguishable, so upb parses a whole request with these views in one C call and
hands us each span attribute as the raw bytes of its `KeyValue`, ready to be
interned. Events, links and status keep their official types, so upb still
validates them (UTF-8, wire types, nesting) without any Python work.

Nothing here is hand-written protocol: the field tables come from the official
descriptors, only the types of some fields change.
"""

from __future__ import annotations

from typing import Any, Iterator

from google.protobuf import descriptor_pb2, descriptor_pool, message_factory
from opentelemetry.proto.trace.v1 import trace_pb2

from kubespan.otlp import compiled
from kubespan.otlp.protowire import read_varint

_PACKAGE = "kubespan.wireview"
_F = descriptor_pb2.FieldDescriptorProto
_OFFICIAL_STATUS = ".opentelemetry.proto.trace.v1.Status"
_OFFICIAL_EVENT = ".opentelemetry.proto.trace.v1.Span.Event"
_OFFICIAL_LINK = ".opentelemetry.proto.trace.v1.Span.Link"


def _official(name: str) -> descriptor_pb2.DescriptorProto:
    proto = descriptor_pb2.DescriptorProto()
    trace_pb2.DESCRIPTOR.message_types_by_name[name].CopyToProto(proto)
    return proto


def _as_view(
    source: descriptor_pb2.DescriptorProto,
    view_name: str,
    message_fields: dict[str, str] | None = None,
) -> descriptor_pb2.DescriptorProto:
    """Copy `source`, turning enums into int32 and nested messages into repeated bytes.

    Repeated, because a singular message field may occur several times on the wire and
    protobuf merges the occurrences: the view keeps each one, and their concatenation
    parses as the merged message (as a single `bytes` field, only the last would stay).

    `message_fields` maps a field name to the view type it keeps as a message.
    """
    message_fields = message_fields or {}
    view = descriptor_pb2.DescriptorProto(name=view_name)
    for field in source.field:
        copy = view.field.add()
        copy.CopyFrom(field)
        copy.ClearField("oneof_index")
        copy.ClearField("json_name")
        if field.type == _F.TYPE_ENUM:
            copy.type = _F.TYPE_INT32
            copy.ClearField("type_name")
        elif field.type == _F.TYPE_MESSAGE:
            if field.name in message_fields:
                target = message_fields[field.name]
                copy.type_name = target if target.startswith(".") else f".{_PACKAGE}.{target}"
            else:
                copy.type = _F.TYPE_BYTES
                copy.label = _F.LABEL_REPEATED
                copy.ClearField("type_name")
    return view


def _add_official_files(pool: descriptor_pool.DescriptorPool) -> None:
    """Give the private pool the official trace.proto and what it imports."""
    done: set[str] = set()

    def add(file: Any) -> None:
        if file.name in done:
            return
        for dependency in file.dependencies:
            add(dependency)
        proto = descriptor_pb2.FileDescriptorProto()
        file.CopyToProto(proto)
        pool.Add(proto)
        done.add(file.name)

    add(trace_pb2.DESCRIPTOR)


def _build() -> dict[str, Any]:
    file = descriptor_pb2.FileDescriptorProto(
        name="kubespan/wireview.proto",
        package=_PACKAGE,
        syntax="proto3",
        dependency=[trace_pb2.DESCRIPTOR.name],
    )
    file.message_type.extend(
        [
            _as_view(
                _official("Span"),
                "WireSpan",
                {"status": _OFFICIAL_STATUS, "events": _OFFICIAL_EVENT, "links": _OFFICIAL_LINK},
            ),
            _as_view(_official("ScopeSpans"), "WireScopeSpans", {"spans": "WireSpan"}),
            _as_view(_official("ResourceSpans"), "WireResourceSpans", {"scope_spans": "WireScopeSpans"}),
            _as_view(_official("TracesData"), "WireRequest", {"resource_spans": "WireResourceSpans"}),
            _as_view(_official("ScopeSpans"), "WireRawScopeSpans"),
            _as_view(_official("ResourceSpans"), "WireRawResourceSpans", {"scope_spans": "WireRawScopeSpans"}),
            _as_view(_official("TracesData"), "WireRawSpans", {"resource_spans": "WireRawResourceSpans"}),
        ]
    )
    pool = descriptor_pool.DescriptorPool()
    _add_official_files(pool)
    pool.Add(file)
    return message_factory.GetMessages([file], pool=pool)


_VIEWS = _build()

WireRequest = _VIEWS[f"{_PACKAGE}.WireRequest"]
"""`ExportTraceServiceRequest` (field 1, resource_spans) with resource and scope as bytes (repeated)."""
WireSpan = _VIEWS[f"{_PACKAGE}.WireSpan"]
"""`Span` with its attributes as raw `KeyValue` bytes; events, links, status official."""
WireRawSpans = _VIEWS[f"{_PACKAGE}.WireRawSpans"]
"""`ExportTraceServiceRequest` whose spans are raw bytes: splits a request into spans."""


def split_spans(raw: bytes) -> list[bytes]:
    """The wire bytes of every span of a request, in order."""
    return [
        span
        for resource_spans in WireRawSpans.FromString(raw).resource_spans
        for scope_spans in resource_spans.scope_spans
        for span in scope_spans.spans
    ]


MIN_SPAN_BYTES = 30
"""The smallest span kubespan can accept on the wire: its tag and length, a 16-byte trace id
and an 8-byte span id with their tags and lengths (2 + 18 + 10)."""


def python_count_messages(raw: bytes, stop: int) -> tuple[int, int]:
    """(ResourceSpans + ScopeSpans, spans) in `raw`, walking the wire only.

    `count_messages` is this walk in C where kubespan/otlp/csrc/ is built.

    Stops as soon as either count passes `stop`. Malformed input ends the walk early
    (the real parse reports it), so the result is a lower bound.
    """
    containers = spans = 0
    try:
        for rs_start, rs_end in _submessages(raw, 0, len(raw), 1):
            containers += 1
            for ss_start, ss_end in _submessages(raw, rs_start, rs_end, 2):
                containers += 1
                spans += _count_fields(raw, ss_start, ss_end, 2, stop - spans)
                if spans > stop or containers > stop:
                    return containers, spans
            if containers > stop:
                return containers, spans
    except (IndexError, ValueError):
        pass
    return containers, spans


count_messages = compiled.count_messages or python_count_messages


def _count_fields(buf: bytes, start: int, end: int, number: int, stop: int) -> int:
    """How many length-delimited fields `number` `buf[start:end]` holds (at most about `stop`)."""
    count = 0
    for _ in _submessages(buf, start, end, number):
        count += 1
        if count > stop:
            break
    return count


def _submessages(buf: bytes, start: int, end: int, number: int) -> Iterator[tuple[int, int]]:
    """(start, end) of every length-delimited field `number` in `buf[start:end]`.

    The hot loop of `count_messages`: one-byte keys and lengths, the common case for
    spans, are read inline; anything else goes through `read_varint`.
    """
    position = start
    while position < end:
        key = buf[position]
        position += 1
        if key >= 0x80:
            key, position = read_varint(buf, position - 1)
        wire_type = key & 7
        if wire_type == 2:
            length = buf[position]
            position += 1
            if length >= 0x80:
                length, position = read_varint(buf, position - 1)
            if key >> 3 == number:
                yield position, position + length
            position += length
        elif wire_type == 0:
            position = read_varint(buf, position)[1]
        elif wire_type in (1, 5):
            position += 8 if wire_type == 1 else 4
        else:
            raise ValueError("unsupported wire type")
    if position != end:
        raise ValueError("field overruns its message")
