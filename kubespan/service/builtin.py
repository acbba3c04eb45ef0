"""kubespan's own components: what each config becomes when the service starts it."""

from __future__ import annotations

from typing import TYPE_CHECKING

from kubespan.api.settings import ApiSettings
from kubespan.forward.forwarder import Forwarder
from kubespan.forward.settings import ForwardSettings
from kubespan.model import TraceBatch
from kubespan.pipeline import Processor
from kubespan.receive.settings import ReceiverSettings
from kubespan.service.component import Factory, Host, Kind
from kubespan.service.configs import (
    FORWARD_CLOSE_TIMEOUT_S,
    DecodeConfig,
    DropConfig,
    SamplerConfig,
    StoreConfig,
    WriterConfig,
)
from kubespan.store import SpanStore
from kubespan.writers.stream import MIB, StreamWriter

if TYPE_CHECKING:
    from kubespan.api.component import ApiComponent
    from kubespan.otlp.decode_pool import DecodePool


class OtlpReceiver:
    """The `otlp` receiver: an OTLP/gRPC and an OTLP/HTTP listener sharing token and TLS."""

    def __init__(self, settings: ReceiverSettings, host: Host) -> None:
        self.settings = settings
        self._servers: list = []  # GrpcReceiver / HttpReceiver, started
        self._host: Host | None = None

    def start(self, host: Host) -> None:
        from kubespan.receive.grpc_server import HANDLER_THREADS, GrpcReceiver
        from kubespan.receive.http_server import HttpReceiver

        self._host = host
        settings = self.settings
        if settings.token:
            host.counters.declare("unauthenticated_requests")  # reported from the start, even at zero
        workers = sum(pool.config.workers for pool in host.find(DecodePoolExtension))
        try:
            if settings.grpc:
                self._listen("grpc", GrpcReceiver(host.pipeline, settings, settings.grpc, HANDLER_THREADS + workers,
                                                  host.refusals))
            if settings.http:
                self._listen("http", HttpReceiver(host.pipeline, settings, settings.http, host.refusals))
        except BaseException:
            self.shutdown()
            raise

    def _listen(self, name: str, server) -> None:
        assert self._host is not None
        self._host.addresses[name] = server.start()
        self._servers.append(server)

    def shutdown(self) -> None:
        while self._servers:
            self._servers.pop().stop()
        if self._host is not None:
            self._host.refusals.flush()


class DecodePoolExtension:
    """Decode requests on other cores: worker processes, counted in the stats line."""

    def __init__(self, config: DecodeConfig, host: Host) -> None:
        self.config = config
        self._pool: DecodePool | None = None
        self._host: Host | None = None

    def start(self, host: Host) -> None:
        if self.config.workers <= 0:
            return
        from kubespan.otlp.decode_pool import DecodePool

        self._host = host
        pool = DecodePool(host.pipeline.table, self.config.workers,
                          on_restart=lambda: host.counters.add("decode_restarts", 1), lines=self.config.lines)
        host.counters.declare("decode_restarts")
        host.counters.gauge("decode_workers_rss_bytes", pool.rss_bytes)
        self._pool = pool
        host.pipeline.use_decoder(pool.decode)

    def shutdown(self) -> None:
        if self._pool is not None and self._host is not None:
            self._host.pipeline.use_decoder(None)
            self._pool.close()
            self._pool = None


class ProcessorComponent:
    """A processor (`--drop`, `probabilistic_sampler`): in the pipeline from its creation, in config order."""

    def __init__(self, processor: Processor, host: Host) -> None:
        self.processor = processor
        self._host = host
        host.pipeline.add_processor(processor)

    def start(self, host: Host) -> None:
        pass  # nothing runs on its own

    def shutdown(self) -> None:
        self._host.pipeline.remove_processor(self.processor)


class StoreExporter:
    """The span store: a consumer from its creation (the viewer reads it, a dump can fill it, before
    the receivers start)."""

    def __init__(self, config: StoreConfig, host: Host) -> None:
        self.store = SpanStore(host.pipeline.table, max_spans=config.max_spans,
                               max_memory_mib=config.max_memory_mib, counters=host.counters)
        self._host = host
        host.pipeline.add_consumer(self.store)

    def start(self, host: Host) -> None:
        pass  # nothing runs on its own

    def shutdown(self) -> None:
        self._host.pipeline.remove_consumer(self.store)


class WriterExporter:
    """`--print`, `--jsonl` or `--dump`: a writer thread with a bounded queue."""

    def __init__(self, config: WriterConfig, host: Host) -> None:
        self.config = config
        self.writer: StreamWriter | None = None
        self._select = _selector(config.filter, host)  # a bad query fails here, before anything starts
        self._host = host

    def start(self, host: Host) -> None:
        from kubespan.writers import formats

        config = self.config
        formatter = formats.jsonl if config.format == "jsonl" else formats.debug_text(legacy=config.format == "legacy")
        queue_bytes = int(config.queue_mib * MIB)
        if config.path is None:
            self.writer = StreamWriter(config.name, host.stdout_fd, formatter, host.counters, select=self._select,
                                       on_broken=host.broken_output.set, max_queue_spans=config.queue_spans,
                                       max_queue_bytes=queue_bytes)
        else:
            self.writer = StreamWriter.to_file(config.name, config.path, formatter, host.counters, select=self._select,
                                               max_queue_spans=config.queue_spans, max_queue_bytes=queue_bytes)
        host.pipeline.add_consumer(self.writer)

    def shutdown(self) -> None:
        if self.writer is not None:
            self._host.pipeline.remove_consumer(self.writer)
            self.writer.close()
            self.writer = None


def _selector(query_text: str | None, host: Host):
    if not query_text:
        return None
    from kubespan.otlp.select import select_spans
    from kubespan.query import compile_query

    query = compile_query(query_text)
    table = host.pipeline.table

    def select(batch: TraceBatch) -> TraceBatch | None:
        keep = query.match_batch(batch, table)
        return select_spans(batch, keep) if any(keep) else None

    return select


class ForwardExporter:
    """An OTLP exporter (`--forward`, `otlp`/`otlphttp` in a config file): queue, retry, send."""

    def __init__(self, settings: ForwardSettings, host: Host) -> None:
        self.settings = settings
        self.forwarder: Forwarder | None = None
        self._host = host

    def start(self, host: Host) -> None:
        self.forwarder = Forwarder(self.settings, host.counters)
        host.counters.declare("forward_sent_spans", "forward_sent_requests", "forward_dropped_spans",
                              "forward_failed_spans", "forward_failed_requests", "forward_rejected_spans",
                              "forward_retries")
        host.counters.gauge("forward_queue_requests", lambda: sum(f.queue_requests for f in forwarders(host)))
        host.counters.gauge("forward_queue_spans", lambda: sum(f.queue_spans for f in forwarders(host)))
        host.pipeline.add_consumer(self.forwarder)

    def shutdown(self) -> None:
        if self.forwarder is not None:
            self._host.pipeline.remove_consumer(self.forwarder)
            self.forwarder.close(FORWARD_CLOSE_TIMEOUT_S)
            self.forwarder = None


class QueryApiExtension:
    """The query API (Tempo's and Jaeger's HTTP APIs) over the span store, with the receivers' token and TLS."""

    def __init__(self, settings: ApiSettings, host: Host) -> None:
        self.settings = settings
        self.address: str | None = None
        self._api: ApiComponent | None = None

    def start(self, host: Host) -> None:
        stores = host.find(StoreExporter)
        if not stores:
            host.warnings.append("note: the query API is off: it reads the span store, and --max-spans 0 keeps none")
            return
        from kubespan.api.component import ApiComponent

        receivers = [receiver.settings for receiver in host.find(OtlpReceiver)]
        store = stores[0].store
        self._api = api = ApiComponent(self.settings, receivers[0] if receivers else ReceiverSettings(None, None),
                                       host.counters, store, store.query_counters)
        self.address = api.start()
        host.warnings.extend(api.warnings)

    def shutdown(self) -> None:
        if self._api is not None:
            self._api.stop()
            self._api = None


def forwarders(host: Host) -> list[Forwarder]:
    """The running forwarders, in config order."""
    return [exporter.forwarder for exporter in host.find(ForwardExporter) if exporter.forwarder is not None]


def _drop(config: DropConfig, host: Host) -> ProcessorComponent:
    from kubespan.processors.drop import DropProcessor, compile_queries

    return ProcessorComponent(DropProcessor(compile_queries(config.queries), host.pipeline.table, host.counters), host)


def _sampler(config: SamplerConfig, host: Host) -> ProcessorComponent:
    from kubespan.processors.sampler import ProbabilisticSampler

    return ProcessorComponent(ProbabilisticSampler(config.percent, config.seed, host.pipeline.table, host.counters),
                              host)


FACTORIES: dict[type, Factory] = {
    ReceiverSettings: Factory(Kind.RECEIVER, OtlpReceiver),
    DropConfig: Factory(Kind.PROCESSOR, _drop),
    SamplerConfig: Factory(Kind.PROCESSOR, _sampler),
    StoreConfig: Factory(Kind.EXPORTER, StoreExporter),
    WriterConfig: Factory(Kind.EXPORTER, WriterExporter),
    ForwardSettings: Factory(Kind.EXPORTER, ForwardExporter),
    DecodeConfig: Factory(Kind.EXTENSION, DecodePoolExtension),
    ApiSettings: Factory(Kind.EXTENSION, QueryApiExtension),
}
"""Config class → the factory of its component. A new component registers here."""
