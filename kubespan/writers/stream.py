"""Writers: consumers that format batches on their own thread and write them out.

`--print`, `--jsonl` and `--dump FILE` are each a `StreamWriter` with a formatter.
The queue is bounded in spans and in request bytes; when either is full the pipeline
refuses the request (UNAVAILABLE / 503) and the client retries, so nothing accepted is ever dropped.
Each batch is written with as few `write` calls as the OS allows, whole lines at a
time, so a crash leaves at most one partial last line.
"""

from __future__ import annotations

import os
import queue
import sys
import threading
from collections.abc import Callable

from kubespan.model import TraceBatch
from kubespan.stats import Counters

Formatter = Callable[[TraceBatch], tuple[bytes, int]]
"""Turns a batch into (bytes to write, spans written)."""
Selector = Callable[[TraceBatch], "TraceBatch | None"]
"""Chooses the spans a writer keeps (`--filter`); None keeps nothing."""

DEFAULT_QUEUE_SPANS = 200_000
"""Spans a writer may hold before the receivers push back."""
DEFAULT_QUEUE_MIB = 256.0
"""Bytes a writer may hold (requests at wire size, plus the JSON lines decode workers made for
them) before the receivers push back: 200,000 spans of 1 MB each would otherwise be 200 GB."""
MIB = 1024 * 1024


class StreamWriter:
    """A bounded, threaded writer to a file descriptor."""

    def __init__(
        self,
        name: str,
        fd: int,
        formatter: Formatter,
        counters: Counters,
        *,
        select: Selector | None = None,
        max_queue_spans: int = DEFAULT_QUEUE_SPANS,
        max_queue_bytes: int = int(DEFAULT_QUEUE_MIB * MIB),
        on_broken: Callable[[], None] | None = None,
        close_fd: bool = False,
    ) -> None:
        self.name = name
        self.fd = fd
        self.formatter = formatter
        self.counters = counters
        self.select = select
        self.max_queue_spans = max_queue_spans
        self.max_queue_bytes = max_queue_bytes
        self.on_broken = on_broken
        self.close_fd = close_fd
        self.broken = False
        self._queue: queue.Queue[TraceBatch | None] = queue.Queue()
        self._queued_spans = 0
        self._queued_bytes = 0
        self._lock = threading.Lock()
        self._drained = threading.Condition(self._lock)
        self._closed = False
        self._thread = threading.Thread(target=self._run, name=f"writer-{name}", daemon=True)
        self._thread.start()
        counters.declare(f"{name}_spans", f"{name}_errors", f"{name}_unformattable_spans")
        counters.gauge(f"{name}_queue_spans", lambda: self._queued_spans)
        counters.gauge(f"{name}_queue_bytes", lambda: self._queued_bytes)

    @classmethod
    def to_file(cls, name: str, path: str, formatter: Formatter, counters: Counters, **kwargs) -> StreamWriter:
        """A writer appending to `path` (created if missing)."""
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        return cls(name, fd, formatter, counters, close_fd=True, **kwargs)

    def has_room(self, spans: int, size: int = 0) -> bool:
        """Room for `spans` spans in `size` request bytes? An empty queue always has room,
        so one huge batch cannot wedge the writer."""
        if self._queued_spans == 0 and self._queued_bytes == 0:
            return True
        return (self._queued_spans + spans <= self.max_queue_spans
                and self._queued_bytes + size <= self.max_queue_bytes)

    def consume_traces(self, batch: TraceBatch) -> None:
        if self.broken:
            return
        with self._lock:
            self._queued_spans += batch.span_count
            self._queued_bytes += batch.held_bytes()
        self._queue.put(batch)

    def wait_drained(self, timeout: float | None = None) -> bool:
        """Wait until every queued batch is written; False on timeout."""
        with self._drained:
            return self._drained.wait_for(lambda: self._queued_spans == 0, timeout)

    def close(self) -> None:
        """Write everything queued, then stop the thread (once)."""
        if self._closed:
            return
        self._closed = True
        self._queue.put(None)
        self._thread.join()
        if self.close_fd:
            os.close(self.fd)

    def _run(self) -> None:
        while (batch := self._queue.get()) is not None:
            try:
                self._write_batch(batch)
            finally:
                with self._drained:
                    self._queued_spans -= batch.span_count
                    self._queued_bytes -= batch.held_bytes()
                    self._drained.notify_all()

    def _write_batch(self, batch: TraceBatch) -> None:
        if self.broken:
            return
        try:
            selected = self.select(batch) if self.select is not None else batch
            if selected is None or not selected.span_count:
                return
            data, spans = self.formatter(selected)
        except Exception as exc:  # one bad batch must not stop the writer
            self._count_unformattable(batch, exc)
            return
        try:
            write_all(self.fd, data)
        except (BrokenPipeError, OSError) as exc:
            self._mark_broken(exc)
            return
        self.counters.add("written_spans", spans)
        self.counters.add(f"{self.name}_spans", spans)

    def _count_unformattable(self, batch: TraceBatch, exc: Exception) -> None:
        self.counters.add(f"{self.name}_unformattable_spans", batch.span_count)
        print(f"kubespan: {self.name}: skipped {batch.span_count} span(s) it cannot write: "
              f"{type(exc).__name__}", file=sys.stderr, flush=True)

    def _mark_broken(self, exc: OSError) -> None:
        self.broken = True
        self.counters.add(f"{self.name}_errors", 1)
        if self.on_broken is not None:
            self.on_broken()


def write_all(fd: int, data: bytes) -> None:
    """Write every byte, looping over partial writes."""
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]
