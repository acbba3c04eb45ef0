"""Saving a trace as OTLP/JSON lines, and loading OTLP/JSON-lines dumps into the pipeline.

Both prefer the project's OTLP/JSON codec (`kubespan.otlp.jsoncodec`); a small
`json_format` fallback keeps them working where the codec is not available.
"""

from __future__ import annotations

import base64
import json
import logging
import sys
import time
from pathlib import Path
from typing import Callable, Iterable, Iterator

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

log = logging.getLogger(__name__)

LOAD_BATCH_LINES = 2_000
"""Dump lines merged into one pipeline request while loading (one span per line)."""

PROGRESS_EVERY = 0.1
"""Seconds between progress reports while a file loads."""


def trace_request(store, trace_id: bytes) -> tuple[ExportTraceServiceRequest, int]:
    """The spans of `trace_id` still in the store, grouped back by resource and scope."""
    request = ExportTraceServiceRequest()
    resources: dict[tuple, object] = {}
    scopes: dict[tuple, object] = {}
    count = 0
    for ordinal in store.trace_ordinals(trace_id):
        detail = store.span_detail(ordinal)
        if detail is None:
            continue
        resource_key = (detail.resource.SerializeToString(deterministic=True), _schema(detail, "resource"))
        resource_spans = resources.get(resource_key)
        if resource_spans is None:
            resource_spans = request.resource_spans.add(schema_url=resource_key[1])
            resource_spans.resource.CopyFrom(detail.resource)
            resources[resource_key] = resource_spans
        scope_key = resource_key + (detail.scope.SerializeToString(deterministic=True), _schema(detail, "scope"))
        scope_spans = scopes.get(scope_key)
        if scope_spans is None:
            scope_spans = resource_spans.scope_spans.add(schema_url=scope_key[3])
            scope_spans.scope.CopyFrom(detail.scope)
            scopes[scope_key] = scope_spans
        scope_spans.spans.append(detail.span)
        count += 1
    return request, count


def _schema(detail, which: str) -> str:
    return getattr(detail, f"{which}_schema_url", "") or ""


def span_lines(request: ExportTraceServiceRequest) -> list[str]:
    try:
        from kubespan.encode.span_lines import encode_span_lines
    except ImportError:
        return _fallback_span_lines(request)
    return encode_span_lines(request)


def save_trace(store, trace_id: bytes, directory: Path | str = ".") -> tuple[Path, int]:
    """Write `kubespan-trace-<id>.jsonl` (OTLP/JSON, one span per line); return (path, spans).

    An existing file is never overwritten: the next free `kubespan-trace-<id>-2.jsonl`,
    `-3`, ... is used instead (created exclusively, so a racing writer is not clobbered)."""
    request, count = trace_request(store, trace_id)
    body = "".join(line + "\n" for line in span_lines(request))
    stem = f"kubespan-trace-{trace_id.hex()}"
    for number in range(1, 10_000):
        name = f"{stem}.jsonl" if number == 1 else f"{stem}-{number}.jsonl"
        path = Path(directory) / name
        try:
            with path.open("x", encoding="utf-8") as out:
                out.write(body)
        except FileExistsError:
            continue
        return path, count
    raise FileExistsError(f"too many saved copies of {stem}.jsonl in {directory}")


# -- loading ------------------------------------------------------------------------------


def iter_requests(lines: Iterable[bytes], on_error: Callable[[str], None],
                  line_offset: int = 0) -> Iterator[ExportTraceServiceRequest]:
    """Requests from OTLP/JSON lines; bad lines are reported (numbered from `line_offset` + 1)."""
    try:
        from kubespan.otlp.jsoncodec import iter_dump_requests
    except ImportError:
        yield from _fallback_iter_requests(lines, on_error, line_offset)
        return

    def report(error) -> None:
        what = "torn last line skipped" if error.torn else "line skipped"
        on_error(f"line {error.line_no + line_offset}: {what}: {error.error}")

    yield from iter_dump_requests(lines, on_error=report)


def decode_chunk(lines: list[bytes], line_offset: int) -> tuple[bytes, int, list[str]]:
    """Decode dump lines into one serialized request (concatenated requests are one
    request). Returns (raw, spans, warnings)."""
    warnings: list[str] = []
    raws = []
    spans = 0
    for request in iter_requests(lines, warnings.append, line_offset):
        raws.append(request.SerializeToString())
        spans += sum(len(ss.spans) for rs in request.resource_spans for ss in rs.scope_spans)
    return b"".join(raws), spans, warnings


def load_dumps(paths: list[str], pipeline, progress: Callable[..., None], *,
               batch_lines: int = LOAD_BATCH_LINES, stdin=None) -> int:
    """Feed OTLP/JSON-lines files (`-` is stdin) to `pipeline` in batches; report progress.

    JSON decoding (pure Python, ~7k spans/s) is the slow part; it runs on the caller's
    thread (a worker in the app), one batch of lines at a time."""
    total_spans = 0
    for path in paths:
        warnings: list[str] = []
        spans = 0
        error = ""
        try:
            if path == "-":
                stream = stdin if stdin is not None else sys.stdin.buffer
                spans = _load_stream(stream, path, 0, pipeline, progress, batch_lines, warnings)
            else:
                with open(path, "rb") as stream:
                    size = Path(path).stat().st_size
                    spans = _load_stream(stream, path, size, pipeline, progress, batch_lines, warnings)
        except Exception as exc:  # report and go on with the next file
            error = str(exc)
        total_spans += spans
        progress(path=path, done=0, total=0, spans=spans, finished=True, error=error, warnings=warnings[:5])
    return total_spans


def _chunks(stream, batch_lines: int, counter: list[int]) -> Iterator[tuple[list[bytes], int]]:
    lines: list[bytes] = []
    first = 0
    number = 0
    for line in stream:
        counter[0] += len(line)
        lines.append(line)
        number += 1
        if len(lines) >= batch_lines:
            yield lines, first
            lines, first = [], number
    if lines:
        yield lines, first


def _load_stream(stream, path, size, pipeline, progress, batch_lines, warnings) -> int:
    read = [0]
    spans = 0
    last_report = 0.0

    def consume(raw: bytes, count: int, chunk_warnings: list[str]) -> None:
        nonlocal spans, last_report
        warnings.extend(chunk_warnings)
        if raw:
            _feed(pipeline, [raw])
        spans += count
        now = time.monotonic()
        if now - last_report >= PROGRESS_EVERY:
            last_report = now
            progress(path=path, done=read[0], total=size, spans=spans)

    for lines, first in _chunks(stream, batch_lines, read):
        consume(*decode_chunk(lines, first))
    return spans


def _feed(pipeline, raws: list[bytes]) -> None:
    """Concatenated serialized requests are one request whose resource_spans are all of them."""
    from kubespan.pipeline import Backpressure

    raw = b"".join(raws)
    for _ in range(600):
        try:
            pipeline.export_traces(raw)
            return
        except Backpressure:
            time.sleep(0.05)
    raise RuntimeError("the store stayed full for 30 s while loading")


# -- fallbacks without the codec -----------------------------------------------------------

_ID_FIELDS = ("traceId", "spanId", "parentSpanId")


def _fallback_span_lines(request: ExportTraceServiceRequest) -> list[str]:
    from google.protobuf.json_format import MessageToDict

    lines = []
    for resource_spans in request.resource_spans:
        for scope_spans in resource_spans.scope_spans:
            for span in scope_spans.spans:
                one = ExportTraceServiceRequest()
                rs = one.resource_spans.add(schema_url=resource_spans.schema_url)
                rs.resource.CopyFrom(resource_spans.resource)
                ss = rs.scope_spans.add(schema_url=scope_spans.schema_url)
                ss.scope.CopyFrom(scope_spans.scope)
                ss.spans.append(span)
                data = MessageToDict(one, use_integers_for_enums=True)
                _walk_ids(data, lambda value: base64.b64decode(value).hex())
                lines.append(json.dumps(data, separators=(",", ":"), ensure_ascii=False))
    return lines


def _fallback_iter_requests(lines, on_error, line_offset: int = 0) -> Iterator[ExportTraceServiceRequest]:
    from google.protobuf.json_format import ParseDict

    for number, line in enumerate(lines, line_offset + 1):
        if not line.strip():
            continue
        try:
            data = json.loads(line)
            _walk_ids(data, lambda value: base64.b64encode(bytes.fromhex(value)).decode())
            yield ParseDict(data, ExportTraceServiceRequest(), ignore_unknown_fields=True)
        except Exception as exc:
            on_error(f"line {number}: skipped: {exc}")


def _walk_ids(node, convert) -> None:
    if isinstance(node, dict):
        for key, value in node.items():
            if key in _ID_FIELDS and isinstance(value, str):
                node[key] = convert(value)
            else:
                _walk_ids(value, convert)
    elif isinstance(node, list):
        for value in node:
            _walk_ids(value, convert)
