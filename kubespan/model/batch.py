"""A decoded export request: `TraceBatch`, its `SpanColumns`, and what was refused.

The i-th span of the columns is the i-th span met walking the request's wire bytes
in order (resource spans, scope spans, spans), so those bytes are all the store needs
to keep for the detail view, and all a forwarder needs to send on.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from functools import cached_property
from itertools import accumulate
from typing import Any, Sequence

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
)

MAX_REJECT_REASONS = 3
"""How many distinct rejection reasons one `partial_success.error_message` lists."""


@dataclass(slots=True)
class ResourceInfo:
    """A decoded `Resource`, shared by all the spans of one ResourceSpans."""

    service: str
    attribute_ids: list[int]
    raw: bytes
    schema_url: str


@dataclass(slots=True)
class ScopeInfo:
    """A decoded `InstrumentationScope` and the index of its resource in the batch."""

    resource: int
    name: str
    version: str
    raw: bytes
    schema_url: str


@dataclass(slots=True)
class SpanColumns:
    """Per-span columns of one batch, in wire order; `request` is the batch's wire bytes.

    The order of the fields is the order the compiled decoder returns its columns in
    (kubespan/otlp/csrc/generated.h is written from `SPAN_COLUMNS`).
    """

    trace_id: list[bytes] = field(default_factory=list)
    span_id: list[bytes] = field(default_factory=list)
    parent_id: list[bytes] = field(default_factory=list)
    name: list[str] = field(default_factory=list)
    kind: list[int] = field(default_factory=list)
    start: list[int] = field(default_factory=list)
    end: list[int] = field(default_factory=list)
    status: list[int] = field(default_factory=list)
    scope: list[int] = field(default_factory=list)
    attribute_ids: list[list[int]] = field(default_factory=list)
    event_names: list[tuple[str, ...]] = field(default_factory=list)
    request: bytes = b""

    def __len__(self) -> int:
        return len(self.span_id)

    @classmethod
    def from_lists(cls, columns: Sequence[list[Any]]) -> SpanColumns:
        """Columns from one list per name of `SPAN_COLUMNS`, in that order."""
        out = cls()
        for name, column in zip(SPAN_COLUMNS, columns, strict=True):
            setattr(out, name, column)
        return out

    @classmethod
    def from_rows(cls, rows: list[tuple[Any, ...]]) -> SpanColumns:
        """Columns from per-span tuples in `SPAN_COLUMNS` order (one C-level transpose)."""
        if not rows:
            return cls()
        return cls.from_lists([list(column) for column in zip(*rows)])

    def subset(self, keep: Sequence[bool]) -> SpanColumns:
        """The columns of the spans whose `keep` flag is true."""
        return SpanColumns.from_lists(
            [[value for value, k in zip(getattr(self, name), keep) if k] for name in SPAN_COLUMNS]
        )


SPAN_COLUMNS: tuple[str, ...] = tuple(f.name for f in fields(SpanColumns) if f.name != "request")
"""The per-span columns, in the one order the decoders, the decode pool and the C walk share."""


@dataclass(slots=True)
class SpanBlobs:
    """One byte string per span, joined in one blob (for example each span's OTLP/JSON line)."""

    blob: bytes
    ends: list[int]
    """Where each span's bytes end in `blob`."""

    @classmethod
    def of(cls, parts: Sequence[bytes]) -> SpanBlobs:
        return cls(b"".join(parts), list(accumulate(map(len, parts))))

    def __len__(self) -> int:
        return len(self.ends)

    def select(self, keep: Sequence[bool]) -> SpanBlobs:
        """The blobs of the spans whose `keep` flag is true."""
        blob = self.blob
        return SpanBlobs.of([blob[start:end] for start, end, k in zip([0, *self.ends], self.ends, keep) if k])


class TraceBatch:
    """One accepted export request: its wire bytes, and columns for the index."""

    __slots__ = ("raw", "resources", "scopes", "spans", "resource_spans_count", "encoded", "__dict__")

    def __init__(
        self,
        raw: bytes,
        resources: list[ResourceInfo],
        scopes: list[ScopeInfo],
        spans: SpanColumns,
        resource_spans_count: int,
    ) -> None:
        self.raw = raw
        self.resources = resources
        self.scopes = scopes
        self.spans = spans
        self.resource_spans_count = resource_spans_count
        self.encoded: dict[str, SpanBlobs] = {}
        """Encodings of every span made where the batch was decoded, by encoder name: a decode
        worker writes each span's OTLP/JSON line while it has the request at hand
        (kubespan.otlp.decode_pool, kubespan.encode.span_lines)."""
        spans.request = raw

    @property
    def span_count(self) -> int:
        return len(self.spans)

    def held_bytes(self) -> int:
        """The bytes a queue holding this batch keeps alive: the request and its encodings."""
        return len(self.raw) + sum(len(blobs.blob) for blobs in self.encoded.values())

    @cached_property
    def request(self) -> ExportTraceServiceRequest:
        """The official message, parsed on first use and shared by every writer."""
        return ExportTraceServiceRequest.FromString(self.raw)


@dataclass(slots=True)
class Rejections:
    """Spans refused inside an otherwise valid request, for `partial_success`."""

    count: int = 0
    reasons: list[str] = field(default_factory=list)

    def add(self, reason: str) -> None:
        self.count += 1
        if reason not in self.reasons and len(self.reasons) < MAX_REJECT_REASONS:
            self.reasons.append(reason)

    @property
    def message(self) -> str:
        if not self.count:
            return ""
        return f"{self.count} span(s) rejected: " + "; ".join(self.reasons)
