"""A decoded export request: `TraceBatch`, its `SpanColumns`, and what was refused.

The i-th span of the columns is the i-th span met walking the request's wire bytes
in order (resource spans, scope spans, spans), so those bytes are all the store needs
to keep for the detail view, and all a forwarder needs to send on.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from itertools import accumulate
from typing import TYPE_CHECKING, Any, Generic, Sequence, TypeVar, overload

import numpy as np
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
)

from kubespan.model.packed import PackedSpans

if TYPE_CHECKING:
    from kubespan.model.attributes import AttributeStorage

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


SPAN_COLUMNS: tuple[str, ...] = (
    "trace_id", "span_id", "parent_id", "name", "kind", "start", "end", "status", "scope", "attribute_ids",
    "event_names",
)
"""The per-span columns as lists, in the one order the decoders and the decode pool share."""

T = TypeVar("T")


class _Column(Generic[T]):
    """One list column of `SpanColumns`, made from the packed arrays on first use."""

    def __init__(self, index: int) -> None:
        self.index = index

    @overload
    def __get__(self, obj: None, owner: type[SpanColumns]) -> _Column[T]: ...
    @overload
    def __get__(self, obj: SpanColumns, owner: type[SpanColumns]) -> list[T]: ...

    def __get__(self, obj: SpanColumns | None, owner: type[SpanColumns]) -> list[T] | _Column[T]:
        if obj is None:
            return self
        return obj.lists()[self.index]

    def __set__(self, obj: SpanColumns, value: list[T]) -> None:
        obj.lists()[self.index] = value
        obj._packed = None  # the arrays no longer say what the lists say


class SpanColumns:
    """Per-span columns of one batch, in wire order; `request` is the batch's wire bytes.

    Two forms of the same columns: `packed()` arrays (what the compiled walk writes and the
    store keeps: a few objects per batch) and one list per name of `SPAN_COLUMNS` (what the
    accessor path builds and the per-span code reads, e.g. `spans.name[i]`). Each form is made
    from the other on first use. Setting a list column replaces it; do not change a list in place.
    """

    __slots__ = ("_lists", "_packed", "request")

    trace_id: _Column[bytes] = _Column(0)
    span_id: _Column[bytes] = _Column(1)
    parent_id: _Column[bytes] = _Column(2)
    """b"" for a span without a parent id."""
    name: _Column[str] = _Column(3)
    kind: _Column[int] = _Column(4)
    start: _Column[int] = _Column(5)
    end: _Column[int] = _Column(6)
    status: _Column[int] = _Column(7)
    scope: _Column[int] = _Column(8)
    attribute_ids: _Column[list[int]] = _Column(9)
    event_names: _Column[tuple[str, ...]] = _Column(10)

    def __init__(self, request: bytes = b"", *, packed: PackedSpans | None = None,
                 lists: Sequence[list[Any]] | None = None) -> None:
        self.request = request
        self._packed = packed
        self._lists: list[list[Any]] | None = None
        if lists is not None or packed is None:
            self._lists = list(lists) if lists is not None else [[] for _ in SPAN_COLUMNS]
            if len(self._lists) != len(SPAN_COLUMNS):
                raise ValueError(f"span columns are {', '.join(SPAN_COLUMNS)}")
            self._packed = None

    def lists(self) -> list[list[Any]]:
        """One list per name of `SPAN_COLUMNS`, made from the arrays on first use."""
        if self._lists is None:
            assert self._packed is not None
            self._lists = self._packed.to_lists()
        return self._lists

    def packed(self) -> PackedSpans:
        """The columns as arrays, made from the lists on first use."""
        if self._packed is None:
            self._packed = PackedSpans.from_lists(self.lists())
        return self._packed

    def __len__(self) -> int:
        if self._packed is not None:
            return len(self._packed)
        return len(self.lists()[1])

    @classmethod
    def from_lists(cls, columns: Sequence[list[Any]]) -> SpanColumns:
        """Columns from one list per name of `SPAN_COLUMNS`, in that order."""
        return cls(lists=columns)

    @classmethod
    def from_rows(cls, rows: list[tuple[Any, ...]]) -> SpanColumns:
        """Columns from per-span tuples in `SPAN_COLUMNS` order (one C-level transpose)."""
        if not rows:
            return cls()
        return cls.from_lists([list(column) for column in zip(*rows)])

    def subset(self, keep: Sequence[bool]) -> SpanColumns:
        """The columns of the spans whose `keep` flag is true."""
        if self._packed is not None:
            return SpanColumns(packed=self._packed.select(np.asarray(keep, bool)))
        return SpanColumns.from_lists(
            [[value for value, k in zip(column, keep) if k] for column in self.lists()]
        )


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

    __slots__ = ("raw", "resources", "scopes", "spans", "resource_spans_count", "encoded", "storage", "__dict__")

    def __init__(
        self,
        raw: bytes,
        resources: list[ResourceInfo],
        scopes: list[ScopeInfo],
        spans: SpanColumns,
        resource_spans_count: int,
        storage: AttributeStorage | None = None,
    ) -> None:
        self.raw = raw
        self.resources = resources
        self.scopes = scopes
        self.spans = spans
        self.resource_spans_count = resource_spans_count
        self.storage = storage
        """The attribute-table generation its attribute ids (spans' and resources') are ids in (None: the
        current one); `AttributeTable.rebase` moves a batch decoded before a compaction into the new one."""
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

    def extend(self, other: Rejections) -> None:
        """Count `other`'s rejections too (a request decoded in slices)."""
        self.count += other.count
        for reason in other.reasons:
            if reason not in self.reasons and len(self.reasons) < MAX_REJECT_REASONS:
                self.reasons.append(reason)

    @property
    def message(self) -> str:
        if not self.count:
            return ""
        return f"{self.count} span(s) rejected: " + "; ".join(self.reasons)
