"""A batch with fewer spans: the request re-serialized without the others.

Processors (sampling, dropping) and `kubespan filter` keep some spans of a batch;
the request the forwarders send and the store keeps must then hold exactly those.
"""

from __future__ import annotations

from typing import Any, Sequence

from kubespan.model import TraceBatch
from kubespan.otlp.wire import WireRequest


def select_spans(batch: TraceBatch, keep: Sequence[bool]) -> TraceBatch:
    """A batch with only the spans whose flag is true (order kept); `batch` itself if all are."""
    if all(keep):
        return batch
    raw, resource_spans = rebuild_request(WireRequest.FromString(batch.raw), keep)
    selected = TraceBatch(raw, batch.resources, batch.scopes, batch.spans.subset(keep), resource_spans)
    selected.encoded = {name: blobs.select(keep) for name, blobs in batch.encoded.items()}
    return selected


def rebuild_request(view: Any, keep: Sequence[bool]) -> tuple[bytes, int]:
    """Serialize a parsed `WireRequest` with only the kept spans, dropping emptied scopes and
    resources; returns the bytes and how many ResourceSpans they hold."""
    flags = iter(keep)
    out = WireRequest()
    for resource_spans in view.resource_spans:
        new_resource = None
        for scope_spans in resource_spans.scope_spans:
            kept = [span for span in scope_spans.spans if next(flags)]
            if not kept:
                continue
            if new_resource is None:
                new_resource = out.resource_spans.add(
                    resource=resource_spans.resource, schema_url=resource_spans.schema_url
                )
            new_resource.scope_spans.add(
                scope=scope_spans.scope, schema_url=scope_spans.schema_url
            ).spans.extend(kept)
    return out.SerializeToString(), len(out.resource_spans)
