"""Loading dump files into a pipeline (`kubespan open FILE...`), in chunks, with progress."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

from kubespan.dumps.reader import DumpReader, DumpReport, open_dump, read_error

LOAD_BATCH_LINES = 2_000
"""Dump records merged into one pipeline request while loading (one span per line)."""

PROGRESS_EVERY = 0.1
"""Seconds between progress reports while a file loads."""

FULL_STORE_WAIT_S = 30.0
"""How long loading waits for a full store to take more before giving up on the file."""
FULL_STORE_POLL_S = 0.05


def load_dumps(paths: list[str], pipeline: Any, progress: Callable[..., None], *,
               batch_lines: int = LOAD_BATCH_LINES, stdin: IO[bytes] | None = None) -> int:
    """Feed dump files (`-` is stdin) to ``pipeline`` in chunks; return the spans loaded.

    ``progress`` gets keyword reports: ``path``, ``done`` and ``total`` bytes (0 when unknown),
    ``spans``; once per file ``finished=True`` with ``error`` (the file gave nothing: unreadable
    or not OTLP/JSON) and ``warnings`` (at most one line: the bad records skipped, counted).
    JSON decoding is the slow part; it runs on the caller's thread (a worker in the viewer).
    """
    total_spans = 0
    for path in paths:
        report = DumpReport(path)
        try:
            with open_dump(path, stdin) as stream:
                size = 0 if path == "-" else Path(path).stat().st_size
                report = _load_stream(DumpReader(path, stream), size, pipeline, progress, batch_lines)
        except OSError as exc:  # report and go on with the next file
            report.error = read_error(exc)
        except RuntimeError as exc:  # the store stayed full
            report.error = str(exc)
        total_spans += report.spans
        problem = report.problem()
        skipped = report.skipped()
        progress(path=path, done=0, total=0, spans=report.spans, finished=True,
                 error=problem.removeprefix(f"{path}: ") if problem else "",
                 warnings=[skipped] if skipped and not problem else [])
    return total_spans


def _load_stream(reader: DumpReader, size: int, pipeline: Any, progress: Callable[..., None],
                 batch_lines: int) -> DumpReport:
    report = reader.report
    last_report = 0.0
    try:
        for raw, _spans in reader.chunks(batch_lines):
            _feed(pipeline, raw)
            now = time.monotonic()
            if now - last_report >= PROGRESS_EVERY:
                last_report = now
                progress(path=report.name, done=report.bytes_read, total=size, spans=report.spans)
    except OSError as exc:  # a read error midway: keep what was loaded
        report.error = read_error(exc)
    return report


def _feed(pipeline: Any, raw: bytes) -> None:
    """Export one serialized request, waiting while the store is full."""
    from kubespan.pipeline import Backpressure

    deadline = time.monotonic() + FULL_STORE_WAIT_S
    while True:
        try:
            pipeline.export_traces(raw)
            return
        except Backpressure:
            if time.monotonic() >= deadline:
                raise RuntimeError(f"the store stayed full for {FULL_STORE_WAIT_S:.0f} s while loading") from None
            time.sleep(FULL_STORE_POLL_S)
