"""Columnar chunks of spans: one per ingested batch, merged into segments of ~64k spans.

A chunk is immutable once built, so readers can keep using it while the writer
merges or evicts; merging builds a new chunk.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import chain

import numpy as np

NO_PARENT = b"\0" * 8
COLUMNS = ("trace", "span_id", "parent_id", "name", "scope", "kind", "status", "start", "end")


@dataclass(slots=True, eq=False)
class Chunk:
    base: int  # ordinal of the first span
    trace: np.ndarray  # int32, index in the trace table
    span_id: np.ndarray  # uint64, big-endian value of the 8 id bytes
    parent_id: np.ndarray  # uint64, 0 = no parent
    name: np.ndarray  # int32, id in the names table
    scope: np.ndarray  # int32, global scope id (→ resource → service)
    kind: np.ndarray  # int32
    status: np.ndarray  # int32
    start: np.ndarray  # int64 unix ns
    end: np.ndarray  # int64 unix ns
    attr_flat: np.ndarray  # int32 attribute ids of all spans
    attr_off: np.ndarray  # int64[n+1] offsets into attr_flat
    event_flat: np.ndarray  # int32 event-name ids
    event_off: np.ndarray  # int64[n+1]
    raw_parts: list[bytes]  # the spans' wire bytes, one blob per batch (small ones coalesced)
    raw_part_off: np.ndarray  # int64[parts+1] byte offset of each blob
    raw_off: np.ndarray  # int64[n+1] byte offset of each span

    @property
    def n(self) -> int:
        return len(self.trace)

    @property
    def stop(self) -> int:
        return self.base + len(self.trace)

    def nbytes(self) -> int:
        arrays = (getattr(self, name) for name in COLUMNS + ("attr_flat", "attr_off", "event_flat", "event_off", "raw_off"))
        return sum(a.nbytes for a in arrays) + self.raw_part_off.nbytes + int(self.raw_part_off[-1])

    def raw_span(self, i: int) -> bytes:
        start, stop = int(self.raw_off[i]), int(self.raw_off[i + 1])
        part = int(np.searchsorted(self.raw_part_off, start, "right")) - 1
        base = int(self.raw_part_off[part])
        return self.raw_parts[part][start - base:stop - base]


def _offsets(lengths: list[int]) -> np.ndarray:
    off = np.zeros(len(lengths) + 1, np.int64)
    np.cumsum(lengths, out=off[1:])
    return off


def _ids(values: list[bytes]) -> np.ndarray:
    return np.frombuffer(b"".join(values), ">u8").astype(np.uint64)


def _times(values: list[int]) -> np.ndarray:
    return np.array(values, np.uint64).view(np.int64)


def build_chunk(base: int, spans, trace: list[int], names: list[int], scope: np.ndarray,
                events: tuple[list[int], list[int]] | None) -> Chunk:
    """Columns for one batch's `SpanColumns`, with ids already interned by the store."""
    n = len(spans.span_id)
    attribute_ids = spans.attribute_ids
    attr_flat = np.fromiter(chain.from_iterable(attribute_ids), np.int32)
    parents = spans.parent_id
    parent_raw = b"".join(parents)
    if len(parent_raw) != 8 * n:
        parent_raw = b"".join([p or NO_PARENT for p in parents])
    if events is None:
        event_flat, event_off = np.zeros(0, np.int32), np.zeros(n + 1, np.int64)
    else:
        event_flat = np.array(events[0], np.int32)
        event_off = _offsets(events[1])
    return Chunk(
        base=base,
        trace=np.array(trace, np.int32),
        span_id=_ids(spans.span_id),
        parent_id=np.frombuffer(parent_raw, ">u8").astype(np.uint64),
        name=np.array(names, np.int32),
        scope=scope,
        kind=np.array(spans.kind, np.int32),
        status=np.array(spans.status, np.int32),
        start=_times(spans.start),
        end=_times(spans.end),
        attr_flat=attr_flat,
        attr_off=_offsets(list(map(len, attribute_ids))),
        event_flat=event_flat,
        event_off=event_off,
        raw_parts=[raw := b"".join(spans.raw)],
        raw_part_off=np.array([0, len(raw)], np.int64),
        raw_off=_offsets(list(map(len, spans.raw))),
    )


def _concat_offsets(parts: list[np.ndarray]) -> np.ndarray:
    out = [parts[0]]
    shift = parts[0][-1]
    for part in parts[1:]:
        out.append(part[1:] + shift)
        shift += part[-1]
    return np.concatenate(out)


def merge_chunks(chunks: list[Chunk]) -> Chunk:
    """One chunk holding `chunks` (consecutive ordinals) in order."""
    if len(chunks) == 1:
        return chunks[0]
    columns = {name: np.concatenate([getattr(c, name) for c in chunks]) for name in COLUMNS}
    return Chunk(
        base=chunks[0].base,
        attr_flat=np.concatenate([c.attr_flat for c in chunks]),
        attr_off=_concat_offsets([c.attr_off for c in chunks]),
        event_flat=np.concatenate([c.event_flat for c in chunks]),
        event_off=_concat_offsets([c.event_off for c in chunks]),
        raw_off=_concat_offsets([c.raw_off for c in chunks]),
        **_coalesce([part for c in chunks for part in c.raw_parts]),
        **columns,
    )


COALESCE_BYTES = 1 << 20
"""Blobs smaller than this are joined when chunks merge; bigger ones are never copied again."""


def _coalesce(parts: list[bytes]) -> dict:
    out: list[bytes] = []
    group: list[bytes] = []
    size = 0
    for part in parts:
        if len(part) >= COALESCE_BYTES:
            if group:
                out.append(b"".join(group))
                group, size = [], 0
            out.append(part)
            continue
        group.append(part)
        size += len(part)
        if size >= COALESCE_BYTES:
            out.append(b"".join(group))
            group, size = [], 0
    if group:
        out.append(b"".join(group))
    offsets = np.zeros(len(out) + 1, np.int64)
    np.cumsum([len(p) for p in out], out=offsets[1:])
    return {"raw_parts": out, "raw_part_off": offsets}
