"""The service: creates every configured component, starts them in order, shuts them down.

Both front ends (`kubespan serve` and the viewer) build a `Service` from a `ServiceConfig`,
start it, and shut it down the same way: receivers first, then the decode pool, the
processors, and last the exporters, each writer flushed and each forward queue drained,
so nothing accepted is lost on SIGINT/SIGTERM.
"""

from __future__ import annotations

import threading

from kubespan.forward.forwarder import Forwarder
from kubespan.pipeline import Pipeline
from kubespan.receive.refusals import RefusalLog
from kubespan.receive.settings import ReceiverSettings
from kubespan.service.builtin import (
    FACTORIES,
    QueryApiExtension,
    StoreExporter,
    WriterExporter,
    forwarders,
)
from kubespan.service.component import START_ORDER, Component, Factory, Host, Kind
from kubespan.service.configs import ServiceConfig
from kubespan.service.warnings import decoder_warnings, exposure_warnings
from kubespan.stats import Counters
from kubespan.store import SpanStore
from kubespan.writers.stream import StreamWriter

STDOUT = 1


class Service:
    """The headless core: a pipeline and the components around it."""

    def __init__(self, config: ServiceConfig, *, stdout_fd: int = STDOUT,
                 factories: dict[type, Factory] | None = None) -> None:
        self.config = config
        self.counters = Counters()
        self.pipeline = Pipeline(counters=self.counters)
        self.host = Host(self.pipeline, self.counters, RefusalLog(self.counters), stdout_fd=stdout_fd)
        self._kinds: list[Kind] = []
        self._started: list[Component] = []
        factories = FACTORIES if factories is None else factories
        for kind, group in ((Kind.RECEIVER, config.receivers), (Kind.PROCESSOR, config.processors),
                            (Kind.EXPORTER, config.exporters), (Kind.EXTENSION, config.extensions)):
            for component_config in group:
                factory = factories.get(type(component_config))
                if factory is None or factory.kind is not kind:
                    raise TypeError(f"no {kind.value} factory for {type(component_config).__name__}")
                self.host.components.append(factory.create(component_config, self.host))
                self._kinds.append(kind)

    def start(self) -> dict[str, str]:
        """Start every component, consumers first; return what the receivers bound."""
        for receiver in self.config.of_type(ReceiverSettings):
            self.host.warnings.extend(exposure_warnings(receiver))
        self.host.warnings.extend(decoder_warnings())
        try:
            for kind in START_ORDER:
                for component, component_kind in zip(self.host.components, self._kinds):
                    if component_kind is kind:
                        component.start(self.host)
                        self._started.append(component)
        except BaseException:
            self.shutdown()
            raise
        return dict(self.host.addresses)

    def shutdown(self) -> None:
        """Shut down what was started, in the opposite order; a second call does nothing."""
        while self._started:
            self._started.pop().shutdown()

    @property
    def addresses(self) -> dict[str, str]:
        return self.host.addresses

    @property
    def warnings(self) -> list[str]:
        return self.host.warnings

    @property
    def broken_output(self) -> threading.Event:
        return self.host.broken_output

    @property
    def refusals(self) -> RefusalLog:
        return self.host.refusals

    @property
    def store(self) -> SpanStore | None:
        stores = self.host.find(StoreExporter)
        return stores[0].store if stores else None

    @property
    def api_address(self) -> str | None:
        """Where the query API listens, once started (None: off, or its default port was taken)."""
        return next((api.address for api in self.host.find(QueryApiExtension) if api.address), None)

    @property
    def forwarders(self) -> list[Forwarder]:
        return forwarders(self.host)

    @property
    def writers(self) -> list[StreamWriter]:
        return [exporter.writer for exporter in self.host.find(WriterExporter) if exporter.writer is not None]
