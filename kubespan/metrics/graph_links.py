"""Span links of root server spans, read from the stored wire bytes (the store keeps no link columns).

Only root SERVER/CONSUMER spans are decoded: that is where Kubernetes' apiserver (up to 1.32)
links each request to its caller's span. Chunks are immutable, so the answer per chunk is cached.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Any

import numpy as np
from google.protobuf.message import DecodeError
from opentelemetry.proto.trace.v1.trace_pb2 import Span

from kubespan.otlp.wire import split_spans
from kubespan.query.ast import KINDS

_ROOT_KINDS = (KINDS["server"], KINDS["consumer"])
_CACHE: OrderedDict[tuple[int, int, int], dict[int, tuple[tuple[bytes, int], ...]]] = OrderedDict()
_CACHE_CHUNKS = 4096
"""Chunks whose links are remembered, keyed by their first ordinal, size and span ids (chunks never change;
an object id could be reused by a later chunk)."""


def chunk_links(chunk: Any) -> dict[int, tuple[tuple[bytes, int], ...]]:
    """{index in chunk: ((linked trace id, linked span id), …)} for the chunk's root server spans."""
    key = (chunk.base, chunk.n, hash(chunk.span_id.tobytes()))
    found = _CACHE.get(key)
    if found is not None:
        _CACHE.move_to_end(key)
        return found
    found = {}
    roots = np.flatnonzero((chunk.parent_id == 0) & np.isin(chunk.kind, _ROOT_KINDS))
    split: dict[int, list[bytes]] = {}  # each request blob split once
    for i in roots.tolist():
        part = int(np.searchsorted(chunk.raw_part_first, i, "right")) - 1
        if part not in split:
            split[part] = split_spans(chunk.raw_parts[part])
        skip = chunk.raw_skip if part == 0 else 0
        try:
            span = Span.FromString(split[part][i - int(chunk.raw_part_first[part]) + skip])
        except (DecodeError, IndexError, ValueError):
            continue
        targets = tuple((link.trace_id, int.from_bytes(link.span_id, "big"))
                        for link in span.links if len(link.trace_id) == 16 and len(link.span_id) == 8)
        if targets:
            found[i] = targets
    _CACHE[key] = found
    while len(_CACHE) > _CACHE_CHUNKS:
        _CACHE.popitem(last=False)
    return found


def span_links(snap: Any) -> dict[int, tuple[tuple[bytes, int], ...]]:
    """{position among the snapshot's live spans: links} for its root server spans with links."""
    out: dict[int, tuple[tuple[bytes, int], ...]] = {}
    base = 0
    for chunk, first in snap.live_slices():
        for i, targets in chunk_links(chunk).items():
            if i >= first:
                out[base + i - first] = targets
        base += chunk.n - first
    return out
