"""Decode on both cores: the edge decoder run in worker processes.

Decoding a request holds the GIL for about 9 µs per k8s-like span, most of it in
protobuf's per-field accessors, so one process decoding and indexing tops out near
84,000 spans/s (scripts/bench_store.py) however many threads it has. A `DecodePool` sends
each request's bytes to a worker process, which runs the very same `decode_request` and sends the batch's columns back.

Attribute ids stay the main process's: each worker interns into a table of its own
and, with every result, sends the raw bytes of the attributes it saw first; the main
process interns those (rare: Kubernetes spans repeat their pairs endlessly) and maps
the worker's ids to its own with one numpy lookup per batch.

Nothing accepted depends on a worker: the main process keeps every request's bytes
until its answer is back, and decodes it itself when a worker dies or misbehaves
(the worker is restarted, `decode_restarts` counts it).
"""

from __future__ import annotations

import collections
import dataclasses
import pickle
import socket
import struct
import subprocess
import sys
import threading
from array import array
from concurrent.futures import Future
from typing import Any, Callable, NamedTuple

import numpy as np

from kubespan.encode.span_lines import SPAN_LINES, RawAttributeJson, raw_span_json_lines
from kubespan.model import (
    PACKED_ARRAYS,
    AttributeTable,
    PackedSpans,
    Rejections,
    ResourceInfo,
    ScopeInfo,
    SpanColumns,
    TraceBatch,
)
from kubespan.model.batch import SpanBlobs
from kubespan.otlp.attributes import new_attribute_table
from kubespan.otlp.decode import UndecodableRequest, decode_request

MAX_RESTARTS = 10
"""Worker deaths after which the pool stops restarting and the main process decodes alone."""
STOP_TIMEOUT_S = 5.0
"""How long `close()` waits for a worker to exit before killing it."""

_OK, _UNDECODABLE = 0, 1


Decoded = Future[tuple[TraceBatch, Rejections]]
"""What a worker answers for one request."""


class WorkerGone(RuntimeError):
    """The worker died or answered nonsense; the caller decodes the request itself."""


class DecodePool:
    """`decode(raw)` with the result of `decode_request(raw, table)`, computed in a worker."""

    def __init__(self, table: AttributeTable, workers: int, on_restart: Callable[[], None] | None = None,
                 lines: bool = False) -> None:
        self.table = table
        self.lines = lines  # workers also encode each span's OTLP/JSON line (for --jsonl, --dump)
        self.restarts = 0
        self._on_restart = on_restart
        self._closed = False
        self._lock = threading.Lock()
        self._workers = [_Worker(self, index) for index in range(max(1, workers))]

    def decode(self, raw: bytes) -> tuple[TraceBatch, Rejections]:
        """Decode in the least busy worker; in this process if none can."""
        worker = min(self._workers, key=_Worker.pending)
        if worker.alive:
            try:
                return worker.submit(raw).result()
            except WorkerGone:
                pass
        return decode_request(raw, self.table)

    def rss_bytes(self) -> int:
        """Resident memory of the workers together."""
        from kubespan.stats import rss_bytes

        return sum(rss_bytes(worker.pid) for worker in self._workers if worker.alive)

    def close(self) -> None:
        self._closed = True
        for worker in self._workers:
            worker.stop()

    def _worker_died(self, worker: "_Worker") -> None:
        with self._lock:
            if self._closed or self.restarts >= MAX_RESTARTS:
                return
            self.restarts += 1
        if self._on_restart is not None:
            self._on_restart()
        worker.start()


class _Worker:
    """One worker process, the requests in flight to it, and the thread reading its answers."""

    def __init__(self, pool: DecodePool, index: int) -> None:
        self.pool = pool
        self.index = index
        self.alive = False
        self.pid = 0
        self.start()

    def start(self) -> None:
        parent, child = socket.socketpair()
        self._process = subprocess.Popen(
            [sys.executable, "-c", _WORKER_MAIN, str(child.fileno()), *(["--lines"] if self.pool.lines else [])],
            pass_fds=[child.fileno()], stdin=subprocess.DEVNULL,
        )
        child.close()
        self.pid = self._process.pid
        self._socket = parent
        self._in_flight: collections.deque[tuple[Decoded, bytes, _IdMap]] = collections.deque()
        self._send_lock = threading.Lock()
        self._remap = _IdMap(self.pool.table)
        self.alive = True
        threading.Thread(target=self._read_answers, name=f"decode-pool-{self.index}", daemon=True).start()

    def pending(self) -> int:
        return len(self._in_flight) if self.alive else 1 << 30

    def submit(self, raw: bytes) -> Decoded:
        future: Decoded = Future()
        with self._send_lock:
            if not self.alive:
                raise WorkerGone("worker stopped")
            reset = self._remap.storage is not self.pool.table.storage  # the table was compacted
            if reset:
                self._remap = _IdMap(self.pool.table)
            self._in_flight.append((future, raw, self._remap))
            try:
                if reset:
                    send_frame(self._socket, b"", _RESET)  # the worker starts a new table too
                send_frame(self._socket, raw)
            except OSError:
                pass  # the reader sees the worker go and fails every request in flight
        return future

    def stop(self) -> None:
        self.alive = False
        self._hang_up()
        try:
            self._process.wait(STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()

    def _read_answers(self) -> None:
        try:
            while True:
                answer = recv_frame(self._socket).payload
                future, raw, remap = self._in_flight.popleft()
                try:
                    future.set_result(self._batch(answer, raw, remap))
                except UndecodableRequest as exc:
                    future.set_exception(exc)
                except Exception:
                    future.set_exception(WorkerGone("decode worker answered nonsense"))
                    raise
        except Exception:  # EOF, a broken socket or an answer that does not fit: the worker goes
            pass
        self._gone()

    def _batch(self, answer: bytes | bytearray, raw: bytes, remap: _IdMap) -> tuple[TraceBatch, Rejections]:
        new_raws, kind, payload = pickle.loads(answer)
        remap.learn(new_raws)
        if kind == _UNDECODABLE:
            raise UndecodableRequest(payload)
        return remap.batch(payload, raw)

    def _gone(self) -> None:
        with self._send_lock:
            was_alive = self.alive
            self.alive = False
            failed = [future for future, _, _ in self._in_flight]
            self._in_flight.clear()
        for future in failed:
            future.set_exception(WorkerGone("decode worker exited"))
        self._hang_up()
        if was_alive:
            self._process.kill()
            self._process.wait()
            self.pool._worker_died(self)

    def _hang_up(self) -> None:
        """Shut the socket down (closing alone would not wake the reader thread), then close it."""
        try:
            self._socket.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self._socket.close()


class _IdMap:
    """A worker's attribute ids as ids of one generation of the main process's table."""

    def __init__(self, table: AttributeTable) -> None:
        self.storage = table.storage
        self._ids = array("i")  # worker id → main id; grows in place, read through numpy

    def learn(self, new_raws: list[bytes]) -> None:
        """Intern the attributes the worker met first, in the order it numbered them."""
        self._ids.extend(self.storage.intern(attribute) for attribute in new_raws)

    def batch(self, payload: tuple[Any, ...], raw: bytes) -> tuple[TraceBatch, Rejections]:
        resources, scopes, arrays, count, reasons, rebuilt, rs_count, lines = payload
        packed = PackedSpans.from_walk(arrays)
        ids = np.frombuffer(self._ids, np.int32)
        spans = SpanColumns(packed=dataclasses.replace(packed, attribute_ids=ids[packed.attribute_ids]))
        resources = [ResourceInfo(service, [self._ids[i] for i in local], r_raw, url)
                     for service, local, r_raw, url in resources]
        scopes = [ScopeInfo(*scope) for scope in scopes]
        batch = TraceBatch(rebuilt if rebuilt is not None else raw, resources, scopes, spans, rs_count, self.storage)
        if lines is not None:
            batch.encoded[SPAN_LINES] = lines
        return batch, Rejections(count, reasons)


# ---------------------------------------------------------------- worker process side
class _WorkerTable:
    """The worker's own intern table; says which attributes it met first since the last answer."""

    def __init__(self, lines: bool = False) -> None:
        self.table = new_attribute_table()
        self.told = 0
        self.attribute_json = RawAttributeJson() if lines else None

    def new_raws(self) -> list[bytes]:
        storage = self.table.storage
        found = [storage.raw(i) for i in range(self.told, len(storage))]
        self.told = len(storage)
        return found


def _answer(raw: bytes, worker: _WorkerTable) -> bytes:
    try:
        batch, rejections = decode_request(raw, worker.table)
    except UndecodableRequest as exc:
        return _reply(worker, _UNDECODABLE, str(exc))
    packed = batch.spans.packed()
    arrays = (len(packed), *(_bytes(getattr(packed, name)) for name in PACKED_ARRAYS), packed.names,
              packed.event_texts)
    payload = (
        [(r.service, r.attribute_ids, r.raw, r.schema_url) for r in batch.resources],
        [(s.resource, s.name, s.version, s.raw, s.schema_url) for s in batch.scopes],
        arrays,
        rejections.count,
        rejections.reasons,
        batch.raw if batch.raw is not raw else None,
        batch.resource_spans_count,
        None if worker.attribute_json is None else SpanBlobs(*raw_span_json_lines(batch.raw, worker.attribute_json)),
    )
    return _reply(worker, _OK, payload)


def _bytes(array_or_bytes: Any) -> bytes:
    return array_or_bytes if isinstance(array_or_bytes, bytes) else array_or_bytes.tobytes()


def _reply(worker: _WorkerTable, kind: int, payload: object) -> bytes:
    """An answer, with the attributes interned since the last one (even if this request failed)."""
    return pickle.dumps((worker.new_raws(), kind, payload), pickle.HIGHEST_PROTOCOL)


def serve_worker(fd: int, lines: bool) -> None:
    """The worker's loop: request bytes in, pickled columns out, until the pool hangs up.

    Ctrl-C and a group-wide SIGTERM reach the workers too; `_WORKER_MAIN` ignores them
    before anything else, leaving the stopping to the main process (which hangs up as
    it stops, or whose death closes the socket), so a stop is never taken for a crash.
    """
    connection = socket.socket(fileno=fd)
    worker = _WorkerTable(lines)
    while True:
        try:
            frame = recv_frame(connection)
        except (EOFError, OSError):
            return
        if frame.kind == _RESET:
            worker = _WorkerTable(lines)
        else:
            send_frame(connection, _answer(bytes(frame.payload), worker))


# ---------------------------------------------------------------- framing
_HEADER = struct.Struct("!BQ")
_REQUEST, _RESET = 0, 1
"""Frame kinds from the pool: a request to decode, or "start a new table" (the main table was compacted)."""


class Frame(NamedTuple):
    kind: int
    payload: bytearray


def send_frame(sock: socket.socket, payload: bytes, kind: int = _REQUEST) -> None:
    """One message: its kind and length, then its bytes (no copy of the payload)."""
    sock.sendall(_HEADER.pack(kind, len(payload)))
    sock.sendall(payload)


def recv_frame(sock: socket.socket) -> Frame:
    """The next message, read straight into its buffer."""
    kind, length = _HEADER.unpack(_recv_exactly(sock, _HEADER.size))
    return Frame(kind, _recv_exactly(sock, length))


def _recv_exactly(sock: socket.socket, size: int) -> bytearray:
    buffer = bytearray(size)
    view = memoryview(buffer)
    got = 0
    while got < size:
        count = sock.recv_into(view[got:])
        if not count:
            raise EOFError("decode pool peer hung up")
        got += count
    return buffer


_WORKER_MAIN = (
    "import signal; signal.signal(signal.SIGINT, signal.SIG_IGN); signal.signal(signal.SIGTERM, signal.SIG_IGN); "
    "import sys; from kubespan.otlp.decode_pool import serve_worker; "
    "serve_worker(int(sys.argv[1]), '--lines' in sys.argv[2:])"
)
"""A worker's program: signals ignored first, while its imports still take a while."""
