"""What the user asked for, in the words of the command line, and the service config it makes.

A Collector config file and the command line each make a partial `OptionsLayer` (only the
options they set); `kubespan.cli` merges defaults, the file and the flags (flags given
explicitly win) into `ServiceOptions`, and `service_config` turns those into components.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import TypedDict

from kubespan.api.settings import ApiSettings
from kubespan.forward.settings import ForwardSettings
from kubespan.receive.settings import (
    DEFAULT_GRPC,
    DEFAULT_HTTP,
    DEFAULT_MAX_RECV_MIB,
    ReceiverSettings,
)
from kubespan.service.configs import (
    DEFAULT_MAX_SPANS,
    DecodeConfig,
    DropConfig,
    ExporterConfig,
    ExtensionConfig,
    ProcessorConfig,
    SamplerConfig,
    ServiceConfig,
    StoreConfig,
    WriterConfig,
)
from kubespan.writers.stream import DEFAULT_QUEUE_MIB


class OptionsLayer(TypedDict, total=False):
    """Some of `ServiceOptions`: the ones a config file or the command line set."""

    grpc: str | None
    http: str | None
    max_recv_mib: float
    token: str | None
    tls_cert: str | None
    tls_key: str | None
    tls_client_ca: str | None
    decode_workers: int
    print_format: str | None
    jsonl: bool
    dump: str | None
    filter: str | None
    writer_queue_mib: float
    store: bool
    max_spans: int
    max_memory_mib: float | None
    sample_percent: float | None
    sample_seed: int
    drop: tuple[str, ...]
    forwards: tuple[ForwardSettings, ...]
    api: ApiSettings | None


@dataclass(frozen=True)
class ServiceOptions:
    """Every option, resolved. `None` turns a receiver or an output off."""

    grpc: str | None = DEFAULT_GRPC
    http: str | None = DEFAULT_HTTP
    max_recv_mib: float = DEFAULT_MAX_RECV_MIB
    token: str | None = dataclasses.field(default=None, repr=False)  # never shown, not even in a repr
    tls_cert: str | None = None
    tls_key: str | None = None
    tls_client_ca: str | None = None
    decode_workers: int = 0
    print_format: str | None = None  # "detailed" or "legacy" debug text on stdout
    jsonl: bool = False
    dump: str | None = None
    filter: str | None = None  # only matching spans reach print/jsonl/dump
    writer_queue_mib: float = DEFAULT_QUEUE_MIB
    store: bool = False
    max_spans: int = DEFAULT_MAX_SPANS
    max_memory_mib: float | None = None
    sample_percent: float | None = None
    sample_seed: int = 0
    drop: tuple[str, ...] = ()
    forwards: tuple[ForwardSettings, ...] = ()
    api: ApiSettings | None = None  # the query API over the store (kubespan.api); None: off

    @property
    def receivers(self) -> ReceiverSettings:
        return ReceiverSettings(grpc=self.grpc, http=self.http, max_recv_mib=self.max_recv_mib, token=self.token,
                                tls_cert=self.tls_cert, tls_key=self.tls_key, tls_client_ca=self.tls_client_ca)


TOGETHER = (("tls_cert", "tls_key"),)
"""Options that go together: a layer that sets one of them replaces both."""


def merge(base: ServiceOptions, *layers: OptionsLayer) -> ServiceOptions:
    """`base` with each layer applied in turn; a later layer wins."""
    merged: OptionsLayer = {}
    for layer in layers:
        for group in TOGETHER:
            if any(name in layer for name in group):
                for name in group:
                    merged.pop(name, None)  # type: ignore[misc]
        merged.update(layer)
    return dataclasses.replace(base, **merged)


def service_config(options: ServiceOptions) -> ServiceConfig:
    """The components these options ask for, in pipeline order."""
    processors: list[ProcessorConfig] = []
    if options.drop:
        processors.append(DropConfig(options.drop))
    if options.sample_percent is not None:
        processors.append(SamplerConfig(options.sample_percent, options.sample_seed))
    exporters: list[ExporterConfig] = []
    if options.store:
        exporters.append(StoreConfig(options.max_spans, options.max_memory_mib))
    for name, chosen, path in (("print", options.print_format, None), ("jsonl", options.jsonl and "jsonl", None),
                               ("dump", options.dump and "jsonl", options.dump)):
        if chosen:
            exporters.append(WriterConfig(name, chosen, path, options.filter, queue_mib=options.writer_queue_mib))
    exporters.extend(options.forwards)
    extensions: list[ExtensionConfig] = []
    if options.decode_workers > 0:
        extensions.append(DecodeConfig(options.decode_workers, lines=bool(options.jsonl or options.dump)))
    if options.api is not None and options.api.address:
        extensions.append(options.api)
    return ServiceConfig(receivers=(options.receivers,), processors=tuple(processors), exporters=tuple(exporters),
                         extensions=tuple(extensions))
