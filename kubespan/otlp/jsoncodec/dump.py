"""Reader for JSONL dumps: one OTLP/JSON document per line, bad lines skipped
and reported with their line number."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Callable, Iterable, Iterator

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from kubespan.otlp.jsoncodec.decoder import decode_traces_json
from kubespan.otlp.jsoncodec.errors import JsonDecodeError

# The package's logger name, kept from when the codec was one module.
log = logging.getLogger("kubespan.otlp.jsoncodec")


@dataclass(frozen=True)
class DumpLineError:
    """A dump line that could not be decoded.

    ``line_no`` is 1-based. ``last`` is true for the final non-empty line
    (typically torn by a crash or a writer still running); ``torn`` is true when
    that line also lacks its terminating newline.
    """

    line_no: int
    error: JsonDecodeError
    last: bool
    torn: bool

    def __str__(self) -> str:
        what = "torn last line skipped" if self.torn else "line skipped"
        return f"line {self.line_no}: {what}: {self.error}"


def _log_dump_error(err: DumpLineError) -> None:
    log.warning("%s", err)


def iter_dump_requests(
    lines: Iterable[bytes | str],
    *,
    on_error: Callable[[DumpLineError], None] | None = None,
    strict_ids: bool = False,
) -> Iterator[ExportTraceServiceRequest]:
    """Stream requests from JSONL dump lines, one OTLP/JSON document per non-empty line.

    Reads both kubespan's one-span-per-line dumps and the Collector file
    exporter's one-batch-per-line files. Works on any iterable of lines, e.g.
    a file opened in binary mode, without reading it all. Undecodable lines are
    skipped and reported to ``on_error`` (default: a logged warning) with
    their line number; the report for a bad line is made once the next
    non-empty line is seen, so ``DumpLineError.last`` is accurate.
    """
    report = on_error or _log_dump_error
    pending: tuple[int, JsonDecodeError, bool] | None = None
    for line_no, line in enumerate(lines, 1):
        if not line.strip():
            continue
        if pending is not None:
            report(DumpLineError(pending[0], pending[1], last=False, torn=False))
            pending = None
        try:
            req = decode_traces_json(line, strict_ids=strict_ids)
        except JsonDecodeError as e:
            ends = line.endswith(b"\n" if isinstance(line, (bytes, bytearray)) else "\n")
            pending = (line_no, e, not ends)
            continue
        yield req
    if pending is not None:
        report(DumpLineError(pending[0], pending[1], last=True, torn=pending[2]))
