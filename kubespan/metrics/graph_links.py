"""Span links of root server spans, read from the stored wire bytes (the store keeps no link columns).

Only root SERVER/CONSUMER spans are decoded: that is where Kubernetes' apiserver (up to 1.32)
links each request to its caller's span. Callers pass the snapshot of the spans not read yet, so
each span is decoded once.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from google.protobuf.message import DecodeError
from opentelemetry.proto.trace.v1.trace_pb2 import Span

from kubespan.otlp.wire import split_spans
from kubespan.query.ast import KINDS

_ROOT_KINDS = (KINDS["server"], KINDS["consumer"])
Links = tuple[tuple[bytes, int], ...]


def chunk_links(chunk: Any, first: int = 0) -> dict[int, Links]:
    """{index in chunk: ((linked trace id, linked span id), …)} for root server spans from `first` on."""
    found: dict[int, Links] = {}
    roots = np.flatnonzero((chunk.parent_id[first:] == 0) & np.isin(chunk.kind[first:], _ROOT_KINDS)) + first
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
    return found


def span_links(snap: Any) -> dict[int, Links]:
    """{position among the snapshot's live spans: links} for its root server spans with links."""
    out: dict[int, Links] = {}
    base = 0
    for chunk, first in snap.live_slices():
        for i, targets in chunk_links(chunk, first).items():
            out[base + i - first] = targets
        base += chunk.n - first
    return out
