"""`PackedSpans`: a batch's span columns as arrays, a few objects per batch instead of a dozen per span.

The compiled walk writes them (kubespan/otlp/csrc/span_arrays.c) and the store keeps them; the
per-span code that reads a column as a list (`SpanColumns.name`, ...) gets lists made from
them on first use, and the accessor path's lists are packed the same way for the store.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import chain
from typing import Any, Sequence

import numpy as np
import numpy.typing as npt

TRACE_ID_BYTES = 16
SPAN_ID_BYTES = 8
NO_PARENT = bytes(SPAN_ID_BYTES)

PACKED_ARRAYS: tuple[str, ...] = (
    "trace_id", "span_id", "parent_id", "parent_set", "name", "kind", "start", "end", "status", "scope",
    "attribute_ids", "attribute_offsets", "event_names", "event_offsets",
)
"""The arrays in the order the compiled walk returns them (csrc/generated.h is written from this)."""

Int32s = npt.NDArray[np.int32]
UInt64s = npt.NDArray[np.uint64]


@dataclass(frozen=True, slots=True, eq=False)
class PackedSpans:
    """Per-span columns of one batch as arrays, in wire order."""

    trace_id: bytes  # 16 bytes per span, end to end
    span_id: bytes  # 8 bytes per span
    parent_id: bytes  # 8 bytes per span, zeros where the span has none
    parent_set: npt.NDArray[np.uint8]  # 1 where the span carries a parent id (all zeros included)
    name: Int32s  # index in `names`
    kind: Int32s
    start: UInt64s  # unix ns as on the wire
    end: UInt64s
    status: Int32s
    scope: Int32s  # the batch's ScopeSpans number, in wire order
    attribute_ids: Int32s  # every span's attribute ids, end to end
    attribute_offsets: Int32s  # n + 1: span i's ids are attribute_ids[off[i]:off[i + 1]]
    event_names: Int32s  # index in `event_texts`, every span's events end to end
    event_offsets: Int32s  # n + 1
    names: list[str]  # the distinct span names
    event_texts: list[str]  # the distinct event names

    def __len__(self) -> int:
        return len(self.kind)

    @classmethod
    def from_walk(cls, found: tuple[Any, ...]) -> PackedSpans:
        """From the compiled walk's answer: (n, the arrays as bytes in PACKED_ARRAYS order, names, event names)."""
        _, *arrays, names, event_texts = found
        parts = dict(zip(PACKED_ARRAYS, arrays, strict=True))
        typed: dict[str, Any] = {name: np.frombuffer(parts[name], np.int32) for name in (
            "name", "kind", "status", "scope", "attribute_ids", "attribute_offsets", "event_names", "event_offsets")}
        return cls(
            trace_id=parts["trace_id"], span_id=parts["span_id"], parent_id=parts["parent_id"],
            parent_set=np.frombuffer(parts["parent_set"], np.uint8),
            start=np.frombuffer(parts["start"], np.uint64), end=np.frombuffer(parts["end"], np.uint64),
            names=names, event_texts=event_texts, **typed,
        )

    @classmethod
    def from_lists(cls, lists: Sequence[list[Any]]) -> PackedSpans:
        """From one list per name of kubespan.model.SPAN_COLUMNS (ids of valid lengths)."""
        trace_id, span_id, parent_id, name, kind, start, end, status, scope, attribute_ids, event_names = lists
        n = len(span_id)
        traces, spans = b"".join(trace_id), b"".join(span_id)
        parents = b"".join([p or NO_PARENT for p in parent_id])
        if len(traces) != TRACE_ID_BYTES * n or len(spans) != SPAN_ID_BYTES * n or len(parents) != SPAN_ID_BYTES * n:
            raise ValueError("span columns with ids of the wrong length cannot be packed")
        names = list(dict.fromkeys(name))
        texts = list(dict.fromkeys(chain.from_iterable(event_names)))
        name_index, text_index = {text: i for i, text in enumerate(names)}, {text: i for i, text in enumerate(texts)}
        return cls(
            trace_id=traces, span_id=spans, parent_id=parents,
            parent_set=np.fromiter((len(p) == SPAN_ID_BYTES for p in parent_id), np.uint8, n),
            name=np.fromiter(map(name_index.__getitem__, name), np.int32, n),
            kind=_int32(kind), start=_uint64(start), end=_uint64(end), status=_int32(status), scope=_int32(scope),
            attribute_ids=np.fromiter(chain.from_iterable(attribute_ids), np.int32),
            attribute_offsets=_offsets(map(len, attribute_ids), n),
            event_names=np.fromiter(map(text_index.__getitem__, chain.from_iterable(event_names)), np.int32),
            event_offsets=_offsets(map(len, event_names), n),
            names=names, event_texts=texts,
        )

    def to_lists(self) -> list[list[Any]]:
        """One list per name of kubespan.model.SPAN_COLUMNS, as the accessor path builds them."""
        parents = np.frombuffer(self.parent_id, f"V{SPAN_ID_BYTES}").tolist()
        for index in np.flatnonzero(self.parent_set == 0).tolist():
            parents[index] = b""
        names, texts = self.names, self.event_texts
        return [
            np.frombuffer(self.trace_id, f"V{TRACE_ID_BYTES}").tolist(),
            np.frombuffer(self.span_id, f"V{SPAN_ID_BYTES}").tolist(),
            parents,
            [names[i] for i in self.name.tolist()],
            self.kind.tolist(),
            self.start.tolist(),
            self.end.tolist(),
            self.status.tolist(),
            self.scope.tolist(),
            _split(self.attribute_ids.tolist(), self.attribute_offsets, list),
            _split([texts[i] for i in self.event_names.tolist()], self.event_offsets, tuple),
        ]

    def select(self, keep: npt.NDArray[np.bool_]) -> PackedSpans:
        """The spans whose `keep` flag is true."""
        attribute_ids, attribute_offsets = _select_ragged(self.attribute_ids, self.attribute_offsets, keep)
        event_names, event_offsets = _select_ragged(self.event_names, self.event_offsets, keep)
        return PackedSpans(
            trace_id=_select_fixed(self.trace_id, TRACE_ID_BYTES, keep),
            span_id=_select_fixed(self.span_id, SPAN_ID_BYTES, keep),
            parent_id=_select_fixed(self.parent_id, SPAN_ID_BYTES, keep),
            parent_set=self.parent_set[keep], name=self.name[keep], kind=self.kind[keep],
            start=self.start[keep], end=self.end[keep], status=self.status[keep], scope=self.scope[keep],
            attribute_ids=attribute_ids, attribute_offsets=attribute_offsets,
            event_names=event_names, event_offsets=event_offsets, names=self.names, event_texts=self.event_texts,
        )


def _int32(values: list[int]) -> Int32s:
    return np.fromiter(values, np.int32, len(values))


def _uint64(values: list[int]) -> UInt64s:
    return np.fromiter(values, np.uint64, len(values))


def _offsets(lengths: Any, n: int) -> Int32s:
    out = np.zeros(n + 1, np.int32)
    np.cumsum(np.fromiter(lengths, np.int64, n), out=out[1:])
    return out


def _split(flat: list[Any], offsets: Int32s, kind: Any) -> list[Any]:
    bounds = offsets.tolist()
    return [kind(flat[a:b]) for a, b in zip(bounds, bounds[1:])]


def _select_fixed(blob: bytes, width: int, keep: npt.NDArray[np.bool_]) -> bytes:
    return np.frombuffer(blob, f"V{width}")[keep].tobytes()


def _select_ragged(flat: Int32s, offsets: Int32s, keep: npt.NDArray[np.bool_]) -> tuple[Int32s, Int32s]:
    lengths = np.diff(offsets)
    kept = flat[np.repeat(keep, lengths)]
    out = np.zeros(int(keep.sum()) + 1, np.int32)
    np.cumsum(lengths[keep], out=out[1:])
    return kept, out
