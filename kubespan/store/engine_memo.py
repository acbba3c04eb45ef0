"""Filter masks kept per chunk: a chunk is immutable, so a filter that reads only the chunk's own
spans (their attributes, names, services, kinds, status, durations, ids, events) matches the
same spans in it whenever it is asked again. A followed list re-runs its filter at every
store version and a user goes back to earlier filters; they evaluate the new chunks only.

A chunk's renumbered copy (attribute or trace-table compaction: `Chunk.renumbered`) holds the same
spans and takes the masks along; a copy of its live tail after an eviction starts without them.
"""

from __future__ import annotations

import threading
from typing import Callable

import numpy as np
import numpy.typing as npt

from kubespan.query.ast import And, BareWord, Cond, Const, Expr, Not, Or
from kubespan.store.chunk import INDEXED_CHUNK_SPANS, Chunk

Bools = npt.NDArray[np.bool_]

CHUNK_LOCAL_KINDS = frozenset({"attr", "name", "service", "kind", "status", "duration", "span", "parent", "event"})
"""Condition fields answered from the chunk's columns and the store's append-only tables only
(not trace-level fields, trace ids or field expressions, which read other spans or other rows)."""
MASKS_PER_CHUNK = 16
"""Filters remembered per chunk (a bit per span each), least recently used dropped."""
MEMO_MIN_SPANS = INDEXED_CHUNK_SPANS
"""Chunks smaller than this (the newest batches, merged away soon) are evaluated every time."""
_LOCK = threading.Lock()
"""Guards the memos' bookkeeping (the API's and the viewer's searches run on different threads)."""


def chunk_local_key(expr: Expr) -> str | None:
    """The memo key of a filter expression whose mask depends on the chunk alone, else None."""
    return repr(expr) if _local(expr) else None


def _local(expr: object) -> bool:
    if isinstance(expr, Cond):
        return expr.field.kind in CHUNK_LOCAL_KINDS
    if isinstance(expr, (And, Or)):
        return _local(expr.left) and _local(expr.right)
    if isinstance(expr, Not):
        return _local(expr.inner)
    return isinstance(expr, (BareWord, Const))


def chunk_mask(chunk: Chunk, key: str | None, compute: Callable[[Chunk], Bools]) -> Bools:
    """The filter's mask over the chunk's spans, from its memo when seen before."""
    if key is None or chunk.n < MEMO_MIN_SPANS:
        return compute(chunk)
    with _LOCK:
        masks: dict[str, npt.NDArray[np.uint8]] = chunk.memo.setdefault("masks", {})
        packed = masks.get(key)
    if packed is None:
        mask = compute(chunk)
        packed = np.packbits(mask)
    else:
        mask = np.unpackbits(packed, count=chunk.n).view(np.bool_)
    with _LOCK:
        masks.pop(key, None)
        masks[key] = packed  # (re)inserted last: the dict's order is least recently used first
        while len(masks) > MASKS_PER_CHUNK:
            masks.pop(next(iter(masks)))
    return mask
