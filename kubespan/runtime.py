"""Assembles a running kubespan: receivers → pipeline → store and outputs.

Both front ends (`kubespan serve` and the TUI) build a `Runtime` from the same
`RuntimeConfig`, start it, and stop it the same way: receivers first, then every
writer is flushed, so nothing accepted is lost on SIGINT/SIGTERM.
"""

from __future__ import annotations

import sys
import threading
from dataclasses import dataclass, field
from typing import Callable

from kubespan.pipeline import Pipeline
from kubespan.receive.refusals import RefusalLog
from kubespan.receive.settings import ReceiverSettings, is_loopback, split_host_port
from kubespan.stats import Counters
from kubespan.writers.stream import DEFAULT_QUEUE_MIB, DEFAULT_QUEUE_SPANS, MIB, StreamWriter

STDOUT = 1
DEFAULT_MAX_SPANS = 1_000_000


@dataclass
class RuntimeConfig:
    """Everything `serve` and the TUI need to start the headless core."""

    receivers: ReceiverSettings = field(default_factory=ReceiverSettings)
    print_format: str | None = None  # None, "detailed" or "legacy"
    jsonl: bool = False
    dump: str | None = None
    filter: str | None = None
    writer_queue_spans: int = DEFAULT_QUEUE_SPANS
    writer_queue_mib: float = DEFAULT_QUEUE_MIB
    store: bool = False  # keep spans in a SpanStore (the TUI does; `serve` unless --max-spans 0)
    max_spans: int = DEFAULT_MAX_SPANS
    # --- forwarding and processing (kubespan.forward, kubespan.process, kubespan.collector) ---
    forwards: list = field(default_factory=list)  # ForwardSettings, one per target
    forward_close_timeout: float = 5.0  # seconds to flush forward queues at shutdown
    sample_percent: float | None = None  # probabilistic_sampler (hash_seed mode)
    sample_seed: int = 0
    drop: list[str] = field(default_factory=list)  # --drop queries
    max_memory_mib: float | None = None  # memory budget (memory_limiter), used by the store
    decode_workers: int = 0  # worker processes decoding requests (kubespan.otlp.decode_pool); 0: in-process
    # --- end forwarding and processing ---
    api: object | None = None  # kubespan.api.ApiSettings: the query API over the store (None: off)


class Runtime:
    """The headless core: owns the pipeline, receivers and writers."""

    def __init__(self, config: RuntimeConfig, *, stdout_fd: int = STDOUT) -> None:
        self.config = config
        self.counters = Counters()
        self.pipeline = Pipeline(counters=self.counters)
        self.writers: list[StreamWriter] = []
        self.receivers: list = []
        self.addresses: dict[str, str] = {}
        self.warnings: list[str] = []
        self.broken_output = threading.Event()
        self.refusals = RefusalLog(self.counters)
        """Requests refused for their token: counted, said on stderr (rate-limited), `latest` for the footer."""
        self.decode_pool = None
        self.api = None  # kubespan.api.ApiComponent once started
        self.api_address: str | None = None
        self._stdout_fd = stdout_fd
        self.store = self._build_store() if config.store else None
        self._build_writers()
        self.forwarders: list = []
        self._build_processing()

    def start(self) -> dict[str, str]:
        """Start the receivers; return {"grpc": "host:port", "http": "host:port"}."""
        from kubespan.receive.grpc_server import HANDLER_THREADS, GrpcReceiver
        from kubespan.receive.http_server import HttpReceiver

        settings = self.config.receivers
        self.warnings.extend(exposure_warnings(settings) + decoder_warnings())
        if settings.token:
            self.counters.declare("unauthenticated_requests")  # reported from the start, even at zero
        try:
            self._start_decode_pool()
            if settings.grpc:
                self._start_receiver("grpc", GrpcReceiver(self.pipeline, settings, settings.grpc,
                                                          HANDLER_THREADS + self.config.decode_workers,
                                                          self.refusals))
            if settings.http:
                self._start_receiver("http", HttpReceiver(self.pipeline, settings, settings.http,
                                                          self.refusals))
            self._start_api()
        except BaseException:
            self.stop()
            raise
        return dict(self.addresses)

    def stop(self) -> None:
        """Stop the query API and the receivers, then flush and close every writer."""
        if self.api is not None:
            self.api.stop()
            self.api = None
        for receiver in reversed(self.receivers):
            receiver.stop()
        self.receivers.clear()
        self.refusals.flush()
        if self.decode_pool is not None:
            self.pipeline.decode = self.pipeline._decode_here
            self.decode_pool.close()
            self.decode_pool = None
        for writer in self.writers:
            writer.close()
        self.writers.clear()
        self._close_forwarders()

    # --- forwarding and processing ---
    def _build_processing(self) -> None:
        from kubespan.forward.assemble import build_forwarders
        from kubespan.process.assemble import build_processors

        self.pipeline.processors.extend(build_processors(self.config, self.pipeline.table, self.counters))
        self.forwarders = build_forwarders(self.config.forwards, self.counters)
        for forwarder in self.forwarders:
            self.pipeline.add_consumer(forwarder)

    def _close_forwarders(self) -> None:
        from kubespan.forward.assemble import close_forwarders

        close_forwarders(self.forwarders, self.config.forward_close_timeout)
        self.forwarders.clear()
    # --- end forwarding and processing ---

    def _start_decode_pool(self) -> None:
        """Decode on other cores: worker processes, counted in the stats line."""
        if self.config.decode_workers <= 0 or self.decode_pool is not None:
            return
        from kubespan.otlp.decode_pool import DecodePool

        pool = DecodePool(self.pipeline.table, self.config.decode_workers,
                          on_restart=lambda: self.counters.add("decode_restarts", 1),
                          lines=bool(self.config.jsonl or self.config.dump))
        self.counters.add("decode_restarts", 0)
        self.counters.gauge("decode_workers_rss_bytes", pool.rss_bytes)
        self.decode_pool = pool
        self.pipeline.decode = pool.decode

    def _start_api(self) -> None:
        """The query API over the store (kubespan.api): needs the store; a taken default port is a warning."""
        settings = self.config.api
        if settings is None or not getattr(settings, "address", None):
            return
        if self.store is None:
            self.warnings.append("note: the query API is off: it reads the span store, and --max-spans 0 keeps none")
            return
        from kubespan.api.component import ApiComponent

        self.api = ApiComponent(settings, self.config.receivers, self.counters, self.store, self.store.query_counters)
        self.api_address = self.api.start()
        self.warnings.extend(self.api.warnings)

    def _start_receiver(self, name: str, receiver) -> None:
        self.addresses[name] = receiver.start()
        self.receivers.append(receiver)

    def _build_store(self):
        from kubespan.store import SpanStore

        store = SpanStore(self.pipeline.table, max_spans=self.config.max_spans,
                          max_memory_mib=self.config.max_memory_mib, counters=self.counters)
        self.pipeline.add_consumer(store)
        return store

    def _build_writers(self) -> None:
        from kubespan.writers import formats

        config = self.config
        select = self._writer_selector()
        options = dict(select=select, max_queue_spans=config.writer_queue_spans,
                       max_queue_bytes=int(config.writer_queue_mib * MIB))
        if config.print_format:
            formatter = formats.debug_text(legacy=config.print_format == "legacy")
            self._add_stdout_writer("print", formatter, options)
        if config.jsonl:
            self._add_stdout_writer("jsonl", formats.jsonl, options)
        if config.dump:
            writer = StreamWriter.to_file("dump", config.dump, formats.jsonl, self.counters, **options)
            self._add_writer(writer)

    def _add_stdout_writer(self, name: str, formatter, options: dict) -> None:
        writer = StreamWriter(
            name, self._stdout_fd, formatter, self.counters, on_broken=self.broken_output.set, **options
        )
        self._add_writer(writer)

    def _add_writer(self, writer: StreamWriter) -> None:
        self.writers.append(writer)
        self.pipeline.add_consumer(writer)

    def _writer_selector(self) -> Callable | None:
        if not self.config.filter:
            return None
        from kubespan.otlp.select import select_spans
        from kubespan.query import compile_query

        query = compile_query(self.config.filter)
        table = self.pipeline.table

        def select(batch):
            keep = query.match_batch(batch, table)
            return select_spans(batch, keep) if any(keep) else None

        return select


def exposure_warnings(settings: ReceiverSettings) -> list[str]:
    """A loud warning when receivers are reachable from other machines without auth or TLS.

    Auth is a token or client certificates (`--tls-client-ca`). An empty host
    (`:4317`) binds loopback, so it is not exposed. Both receivers share their auth
    and TLS settings, so one warning names every exposed receiver (it must fit the
    viewer's footer).
    """
    receivers = (("gRPC", settings.grpc), ("HTTP", settings.http))
    exposed = [f"the {name} receiver on {address}" for name, address in receivers
               if address and not is_loopback(split_host_port(address)[0])]
    if not exposed:
        return []
    subject = " and ".join(exposed) + (" is" if len(exposed) == 1 else " are")
    if not settings.client_auth:
        missing = "auth" if settings.tls else "auth or TLS"
        them = "it" if len(exposed) == 1 else "them"
        return [f"WARNING: {subject} reachable from other machines without {missing}; "
                f"anyone who can reach {them} can send spans (use --token)"]
    if not settings.tls:
        return [f"WARNING: {subject} reachable from other machines without TLS; the token and the spans "
                "cross the network in clear text (use --tls-cert and --tls-key)"]
    return []


def decoder_warnings() -> list[str]:
    """A note when the compiled decoder is off: everything works, ingest is slower (README, Performance)."""
    from kubespan.otlp import compiled

    if compiled.available():
        return []
    why = (f"{compiled.PURE_PYTHON_ENV} is set" if compiled.pure_python_asked()
           else "it was not built: install kubespan where a C compiler is")
    return [f"note: decoding in pure Python, so ingest is slower; the compiled decoder is off ({why})"]


def print_warnings(warnings: list[str]) -> None:
    for warning in warnings:
        print(warning, file=sys.stderr, flush=True)
