"""Columnar chunks of spans: one per ingested batch, merged into segments of ~64k spans.

A chunk is immutable once built, so readers can keep using it while the writer
merges or evicts; merging builds a new chunk.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from kubespan.model import AttributeStorage, PackedSpans
from kubespan.otlp import compiled
from kubespan.otlp.protowire import varint
from kubespan.otlp.wire import split_spans

INDEXED_CHUNK_SPANS = 8192
"""Chunks at least this big get a sorted attribute index on their first query."""
COLUMNS = ("trace", "span_id", "parent_id", "name", "scope", "kind", "status", "start", "end")


@dataclass(slots=True, eq=False)
class Chunk:
    base: int  # ordinal of the first span
    trace: np.ndarray  # int32, index in the trace table
    span_id: np.ndarray  # uint64, big-endian value of the 8 id bytes
    parent_id: np.ndarray  # uint64, 0 = no parent
    name: np.ndarray  # id in the names table (int16 or int32: the narrowest holding the chunk's ids)
    scope: np.ndarray  # global scope id (→ resource → service), int16 or int32
    kind: np.ndarray  # int8 or int32 (the wire's int32, unknown values included)
    status: np.ndarray  # int8 or int32
    start: np.ndarray  # int64 unix ns
    end: np.ndarray  # int64 unix ns
    attr_flat: np.ndarray  # int32 attribute ids of all spans
    attr_off: np.ndarray  # [n+1] offsets into attr_flat, int32 (int64 past 2**31)
    event_flat: np.ndarray  # int32 event-name ids
    event_off: np.ndarray  # [n+1], int32 (int64 past 2**31)
    raw_parts: list[bytes]  # the export requests the spans came in (small ones concatenated), see `stored_request`
    raw_part_first: np.ndarray  # int64[parts+1] index of the first span of each request blob
    raw_whole: np.ndarray  # bool[parts]: the blob holds its spans' attributes (else they are in the table only)
    attr_perm: np.ndarray | None = None  # int32 argsort of attr_flat, built by the first query
    attr_distinct: np.ndarray | None = None  # the distinct attribute ids, built by the first tag listing
    raw_skip: int = 0  # spans of raw_parts[0] before this chunk's first span (evicted, see live_tail)
    trace_bounds: tuple[np.ndarray, int, int, int] | None = None  # (the `trace` it was taken of, min row,
    # max row, latest start): see trace_range
    memo: dict[Any, Any] = field(default_factory=dict, init=False, repr=False)
    """What readers computed from this chunk alone (filter masks, its sorted trace column); a copy made
    with `dataclasses.replace` starts without it (`renumbered` carries the masks)."""

    def attribute_ids(self) -> np.ndarray:
        """The distinct attribute ids of the chunk's spans (computed once; chunks are immutable)."""
        if self.attr_distinct is None:
            self.attr_distinct = np.unique(self.attr_flat)
        return self.attr_distinct

    def attr_order(self) -> np.ndarray | None:
        """The permutation sorting `attr_flat` (an inverted index), for big chunks only."""
        if self.attr_perm is None and self.n >= INDEXED_CHUNK_SPANS:
            self.attr_perm = np.argsort(self.attr_flat, kind="stable").astype(np.int32)
        return self.attr_perm

    def renumbered(self, **columns: Any) -> Chunk:
        """A copy with renumbered ids (attribute ids, trace rows) in `columns`: the same spans, so the
        filter masks readers remembered stay valid and are carried over (the rest of the memo is not)."""
        made = dataclasses.replace(self, **columns)
        masks = self.memo.get("masks")
        if masks is not None:
            made.memo["masks"] = masks
        return made

    def trace_sorter(self) -> np.ndarray:
        """The permutation sorting the chunk's trace column (computed once): a trace's spans in the
        chunk are found by a binary search instead of a scan."""
        found = self.memo.get("trace_sorter")
        if found is None:
            found = self.memo["trace_sorter"] = np.argsort(self.trace, kind="stable").astype(np.int32)
        return found

    def trace_range(self) -> tuple[int, int]:
        """(lowest, highest) trace row among the chunk's spans, computed once per `trace` column (a trace
        compaction makes chunks with a new one); (0, -1) for an empty chunk."""
        known = self._bounds()
        return known[1], known[2]

    def latest_start(self) -> int:
        """The latest span start in the chunk (evicted head included), computed once."""
        return self._bounds()[3]

    def _bounds(self) -> tuple[np.ndarray, int, int, int]:
        known = self.trace_bounds
        if known is None or known[0] is not self.trace:
            if len(self.trace):
                known = (self.trace, int(self.trace.min()), int(self.trace.max()), int(self.start.max()))
            else:
                known = (self.trace, 0, -1, -(1 << 63))
            self.trace_bounds = known
        return known

    @property
    def n(self) -> int:
        return len(self.trace)

    @property
    def stop(self) -> int:
        return self.base + len(self.trace)

    def nbytes(self) -> int:
        arrays = (getattr(self, name) for name in COLUMNS + ("attr_flat", "attr_off", "event_flat", "event_off"))
        index = 4 * len(self.attr_flat) if self.n >= INDEXED_CHUNK_SPANS else 0  # counted before it is built
        held: int = sum(a.nbytes for a in arrays)
        return held + index + self.raw_part_first.nbytes + sum(map(len, self.raw_parts))

    def part_of(self, i: int) -> int:
        """The request blob holding span `i`."""
        return int(np.searchsorted(self.raw_part_first, i, "right")) - 1

    def part_spans(self, part: int) -> list[bytes]:
        """The wire bytes of the spans of blob `part` as stored, item k for span raw_part_first[part] + k:
        without their attributes unless `raw_whole[part]` (events, links, status and the rest are there)."""
        spans = split_spans(self.raw_parts[part])
        return spans[self.raw_skip:] if part == 0 and self.raw_skip else spans

    def with_attributes(self, i: int, stored: bytes, attributes: AttributeStorage) -> bytes:
        """Span `i`'s wire bytes from its stored bytes (`part_spans`), with its attributes; `attributes` is
        the table generation of this chunk's ids (the snapshot's)."""
        if self.raw_whole[self.part_of(i)]:
            return stored
        ids = self.attr_flat[self.attr_off[i]:self.attr_off[i + 1]]
        return join_attributes(stored, attributes, ids)

    def raw_span(self, i: int, attributes: AttributeStorage) -> bytes:
        """The wire bytes of span `i` with its attributes (detail view, API); parses to the message received,
        its attributes after its other fields."""
        part = self.part_of(i)
        return self.with_attributes(i, self.part_spans(part)[i - int(self.raw_part_first[part])], attributes)


def _ids(blob: bytes) -> np.ndarray:
    """Ids packed end to end (8 bytes each) as uint64 values, big-endian as on the wire."""
    return np.frombuffer(blob, ">u8").astype(np.uint64)


def narrowest(values: np.ndarray, small: type[np.signedinteger[Any]]) -> np.ndarray:
    """`values` as `small` integers when they all fit (a chunk of k8s spans: kinds 0-5, a few hundred names),
    else unchanged. Chunks merged later take the wider type of the two."""
    if not len(values):
        return values.astype(small)
    limits = np.iinfo(small)
    if limits.min <= int(values.min()) and int(values.max()) <= limits.max:
        return values.astype(small)
    return values


def join_attributes(stored: bytes, attributes: AttributeStorage, ids: np.ndarray) -> bytes:
    """A span's bytes without attributes, followed by the KeyValues of `ids` as its attributes."""
    if compiled.join_attributes is not None and compiled.AttributeStore is not None \
            and isinstance(attributes, compiled.AttributeStore):
        return compiled.join_attributes(stored, attributes, np.ascontiguousarray(ids, np.int32))
    out = [stored]
    for raw in map(attributes.raw, ids.tolist()):
        out += (b"\x4a", varint(len(raw)), raw)
    return b"".join(out)


def stored_request(request: bytes, spans: PackedSpans, attributes: AttributeStorage) -> tuple[bytes, bool]:
    """The request bytes a chunk keeps, and whether they still hold the spans' attributes: without them
    when the compiled store holds each one's exact bytes (they are kept once, in the table), else whole."""
    strip = compiled.strip_attributes
    if strip is None or compiled.AttributeStore is None or not isinstance(attributes, compiled.AttributeStore):
        return request, True
    ids = np.ascontiguousarray(spans.attribute_ids, np.int32)
    offsets = np.ascontiguousarray(spans.attribute_offsets, np.int32)
    stripped = strip(request, attributes, ids, offsets)
    return (request, True) if stripped is None else (stripped, False)


def build_chunk(base: int, spans: PackedSpans, request: bytes, trace: np.ndarray, names: np.ndarray,
                scope: np.ndarray, events: np.ndarray, attributes: AttributeStorage | None = None) -> Chunk:
    """Columns for one batch's packed spans, with names, scopes, events and traces already store ids.
    With `attributes` (the table generation of the ids), the request is kept without the attributes
    the table holds (`stored_request`)."""
    n = len(spans)
    kept, whole = (request, True) if attributes is None else stored_request(request, spans, attributes)
    return Chunk(
        base=base,
        trace=trace,
        span_id=_ids(spans.span_id),
        parent_id=_ids(spans.parent_id),
        name=narrowest(names, np.int16),
        scope=narrowest(scope, np.int16),
        kind=narrowest(spans.kind, np.int8),
        status=narrowest(spans.status, np.int8),
        start=spans.start.view(np.int64),  # unix ns; values past 2**63 wrap
        end=spans.end.view(np.int64),
        attr_flat=spans.attribute_ids,
        attr_off=spans.attribute_offsets,
        event_flat=events,
        event_off=spans.event_offsets,
        raw_parts=[kept],
        raw_part_first=np.array([0, n], np.int64),
        raw_whole=np.array([whole]),
    )


def live_tail(chunk: Chunk, floor: int) -> Chunk:
    """A copy of `chunk` holding only its spans from ordinal `floor` on, and only the request
    blobs those spans came in (the others are dropped; a blob still holding a live span stays
    whole). The copy's arrays are new, so the evicted spans' columns are freed with the old chunk."""
    i = floor - chunk.base
    a, b = int(chunk.attr_off[i]), int(chunk.event_off[i])
    first_part = int(np.searchsorted(chunk.raw_part_first, i, "right")) - 1
    columns: dict[str, Any] = {name: getattr(chunk, name)[i:].copy() for name in COLUMNS}
    return Chunk(
        base=floor,
        attr_flat=chunk.attr_flat[a:].copy(),
        attr_off=chunk.attr_off[i:] - a,
        event_flat=chunk.event_flat[b:].copy(),
        event_off=chunk.event_off[i:] - b,
        raw_parts=chunk.raw_parts[first_part:],
        raw_part_first=np.maximum(chunk.raw_part_first[first_part:] - i, 0),
        raw_whole=chunk.raw_whole[first_part:],
        raw_skip=i - int(chunk.raw_part_first[first_part]) + (chunk.raw_skip if first_part == 0 else 0),
        **columns,
    )


def _concat_offsets(parts: list[np.ndarray]) -> np.ndarray:
    """Offsets of the concatenation: int32 while they fit, int64 past 2**31."""
    out = [parts[0].astype(np.int64)]
    shift = int(parts[0][-1])
    for part in parts[1:]:
        out.append(part[1:].astype(np.int64) + shift)
        shift += int(part[-1])
    joined = np.concatenate(out)
    return joined.astype(np.int32) if shift <= np.iinfo(np.int32).max else joined


def merge_chunks(chunks: list[Chunk]) -> Chunk:
    """One chunk holding `chunks` (consecutive ordinals) in order."""
    if len(chunks) == 1:
        return chunks[0]
    columns: dict[str, Any] = {name: np.concatenate([getattr(c, name) for c in chunks]) for name in COLUMNS}
    return Chunk(
        base=chunks[0].base,
        attr_flat=np.concatenate([c.attr_flat for c in chunks]),
        attr_off=_concat_offsets([c.attr_off for c in chunks]),
        event_flat=np.concatenate([c.event_flat for c in chunks]),
        event_off=_concat_offsets([c.event_off for c in chunks]),
        raw_skip=chunks[0].raw_skip,
        **columns,
        **_coalesce([(part, int(count), bool(whole)) for c in chunks
                     for part, count, whole in zip(c.raw_parts, np.diff(c.raw_part_first), c.raw_whole)]),
    )


COALESCE_BYTES = 256 * 1024
"""Request blobs smaller than this are concatenated when chunks merge (a concatenation of
serialized requests is itself a request holding all their spans, in order); bigger ones
are never copied again. Bounds the per-blob overhead of tiny requests. Only blobs of one kind
(whole, or without attributes) are concatenated together."""


def _coalesce(parts: list[tuple[bytes, int, bool]]) -> dict[str, Any]:
    out: list[bytes] = []
    counts: list[int] = []
    kinds: list[bool] = []
    group: list[bytes] = []
    size = spans = 0
    whole = True

    def flush() -> None:
        nonlocal group, size, spans
        if group:
            out.append(b"".join(group) if len(group) > 1 else group[0])
            counts.append(spans)
            kinds.append(whole)
            group, size, spans = [], 0, 0

    for part, count, part_whole in parts:
        if part_whole != whole:
            flush()
            whole = part_whole
        if len(part) >= COALESCE_BYTES:
            flush()
            out.append(part)
            counts.append(count)
            kinds.append(whole)
            continue
        group.append(part)
        size += len(part)
        spans += count
        if size >= COALESCE_BYTES:
            flush()
    flush()
    first = np.zeros(len(out) + 1, np.int64)
    np.cumsum(counts, out=first[1:])
    return {"raw_parts": out, "raw_part_first": first, "raw_whole": np.array(kinds, bool)}
