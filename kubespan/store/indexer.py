"""Sorting sealed segments' attribute indexes ahead of the first query that needs them.

A segment's sorted attribute index (`Chunk.attr_order`) costs about 30 ms per 64k spans to
build; built lazily, the first query on a key after a million spans arrived paid half a
second for all of them at once. The viewer turns this on: each segment is sorted on a
background thread once it is sealed, while spans keep arriving.
"""

from __future__ import annotations

import queue
import threading

from kubespan.store.chunk import Chunk


class AheadIndexer:
    """A daemon thread that builds the sorted attribute index of each chunk handed to it."""

    def __init__(self) -> None:
        self._queue: queue.SimpleQueue[Chunk | None] = queue.SimpleQueue()
        self._idle = threading.Event()
        self._idle.set()
        self._pending = 0
        self._lock = threading.Lock()
        threading.Thread(target=self._run, name="store-indexer", daemon=True).start()

    def submit(self, chunk: Chunk) -> None:
        with self._lock:
            self._pending += 1
            self._idle.clear()
        self._queue.put(chunk)

    def wait(self, timeout: float | None = None) -> bool:
        """Block until every submitted chunk is indexed (for tests and benchmarks)."""
        return self._idle.wait(timeout)

    def _run(self) -> None:
        while (chunk := self._queue.get()) is not None:
            chunk.attr_order()
            with self._lock:
                self._pending -= 1
                if not self._pending:
                    self._idle.set()
