"""Writing dumps: span lines (OTLP/JSON, one span per line, the format `--dump` writes and
every reader here takes), requests rebuilt from stored spans, and saving one trace to a file."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from kubespan.encode.span_lines import encode_span_lines

MAX_SAVED_COPIES = 10_000
"""`save_trace` gives up after this many files of the same trace in one directory."""


def span_lines_text(request: ExportTraceServiceRequest) -> str:
    """The spans of ``request`` as OTLP/JSON lines, each ending in a newline."""
    return "".join(line + "\n" for line in encode_span_lines(request))


class RequestBuilder:
    """Builds a request from stored spans (`SpanDetail`s) that share resources and scopes.

    ``regroup`` puts every span under the first ResourceSpans/ScopeSpans of its resource and
    scope; without it only consecutive spans share them, so the input order is kept.
    """

    def __init__(self, *, regroup: bool) -> None:
        self.request = ExportTraceServiceRequest()
        self.spans = 0
        self._regroup = regroup
        self._resources: dict[tuple, Any] = {}
        self._scopes: dict[tuple, Any] = {}

    def add(self, detail: Any) -> None:
        """Add one stored span (skipped when None: it left the store)."""
        if detail is None:
            return
        resource_key = (detail.resource.SerializeToString(deterministic=True), detail.resource_schema_url or "")
        scope_key = resource_key + (detail.scope.SerializeToString(deterministic=True),
                                    detail.scope_schema_url or "")
        resource_spans = self._resources.get(resource_key)
        scope_spans = self._scopes.get(scope_key)
        if resource_spans is None:
            if not self._regroup:  # only the last group is open
                self._resources.clear()
            resource_spans = self.request.resource_spans.add(schema_url=resource_key[1])
            resource_spans.resource.CopyFrom(detail.resource)
            self._resources[resource_key] = resource_spans
            scope_spans = None
        if scope_spans is None:
            if not self._regroup:
                self._scopes.clear()
            scope_spans = resource_spans.scope_spans.add(schema_url=scope_key[3])
            scope_spans.scope.CopyFrom(detail.scope)
            self._scopes[scope_key] = scope_spans
        scope_spans.spans.append(detail.span)
        self.spans += 1


def stored_requests(store: Any, ordinals: Iterable[int], chunk: int) -> Iterator[ExportTraceServiceRequest]:
    """Requests of up to ``chunk`` stored spans each, in the order of ``ordinals``."""
    builder = RequestBuilder(regroup=False)
    for ordinal in ordinals:
        builder.add(store.span_detail(ordinal))
        if builder.spans >= chunk:
            yield builder.request
            builder = RequestBuilder(regroup=False)
    if builder.spans:
        yield builder.request


def trace_request(store: Any, trace_id: bytes) -> tuple[ExportTraceServiceRequest, int]:
    """The spans of ``trace_id`` still in the store, grouped back by resource and scope."""
    builder = RequestBuilder(regroup=True)
    for ordinal in store.trace_ordinals(trace_id):
        builder.add(store.span_detail(ordinal))
    return builder.request, builder.spans


def save_trace(store: Any, trace_id: bytes, directory: Path | str = ".") -> tuple[Path, int]:
    """Write `kubespan-trace-<id>.jsonl` (OTLP/JSON, one span per line); return (path, spans).

    An existing file is never overwritten: the next free `kubespan-trace-<id>-2.jsonl`,
    `-3`, ... is used instead (created exclusively, so a racing writer is not clobbered)."""
    request, count = trace_request(store, trace_id)
    body = span_lines_text(request)
    stem = f"kubespan-trace-{trace_id.hex()}"
    for number in range(1, MAX_SAVED_COPIES):
        name = f"{stem}.jsonl" if number == 1 else f"{stem}-{number}.jsonl"
        path = Path(directory) / name
        try:
            with path.open("x", encoding="utf-8") as out:
                out.write(body)
        except FileExistsError:
            continue
        return path, count
    raise FileExistsError(f"too many saved copies of {stem}.jsonl in {directory}")
