"""What the store hands out: small immutable rows built on demand from the columns."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from opentelemetry.proto.common.v1.common_pb2 import InstrumentationScope
from opentelemetry.proto.resource.v1.resource_pb2 import Resource
from opentelemetry.proto.trace.v1.trace_pb2 import Span


@dataclass(frozen=True, slots=True)
class SpanRow:
    ordinal: int
    trace_id: bytes
    span_id: bytes
    parent_id: bytes  # b"" for a root span
    name: str
    service: str
    kind: int
    status: int
    start: int  # unix ns
    end: int
    attributes: tuple[tuple[str, Any], ...]
    resource_attributes: tuple[tuple[str, Any], ...]

    @property
    def duration(self) -> int:
        return self.end - self.start


@dataclass(frozen=True, slots=True)
class SpanDetail:
    ordinal: int
    span: Span
    resource: Resource
    scope: InstrumentationScope
    resource_schema_url: str
    scope_schema_url: str
    service: str


@dataclass(frozen=True, slots=True)
class TraceSummary:
    trace_id: bytes
    root_service: str
    root_name: str
    start: int
    end: int
    duration: int
    span_count: int
    error_count: int
    services: tuple[str, ...]
    root: int | None  # ordinal of the root span (or first orphan), None if unknown
    orphan_root: bool = False  # the root shown has a parent id that is not stored


@dataclass(frozen=True, slots=True)
class ValueStats:
    """One distinct attribute value (as text) and the stored spans carrying it."""

    value: str
    spans: int
    errors: int
    last_end: int  # latest end (unix ns) among those spans


@dataclass(frozen=True, slots=True)
class TagValue:
    """One distinct typed value of an attribute key and the stored spans carrying it."""

    type: str  # the `Attribute.type`: "str", "int", "double", "bool", "bytes", "array", "kvlist", "empty"
    value: Any  # as decoded (see `Attribute.value`)
    text: str  # as a user would type it in a filter
    spans: int
