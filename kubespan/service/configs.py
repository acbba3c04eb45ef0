"""The typed configs of kubespan's components, and the service config that lists them.

Receiver: `ReceiverSettings` (the `otlp` receiver: gRPC and HTTP listeners, token, TLS).
Processors, run in the order given: `DropConfig` (`--drop`), `SamplerConfig`
(`probabilistic_sampler`). Exporters, each a consumer of every accepted batch:
`StoreConfig` (the span store), `WriterConfig` (`--print`, `--jsonl`, `--dump`),
`ForwardSettings` (`--forward`, `otlp` exporters). Extensions: `DecodeConfig` (decode
worker processes), `ApiSettings` (the query API, `kubespan.api`). A new component adds its
config class to one of the unions below and its factory to `kubespan.service.builtin.FACTORIES`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TypeVar

from kubespan.api.settings import ApiSettings
from kubespan.forward.settings import ForwardSettings
from kubespan.receive.settings import ReceiverSettings
from kubespan.writers.stream import DEFAULT_QUEUE_MIB, DEFAULT_QUEUE_SPANS

DEFAULT_MAX_SPANS = 1_000_000
FORWARD_CLOSE_TIMEOUT_S = 5.0
"""How long a forward target may take to send what is queued at shutdown."""


@dataclass(frozen=True, slots=True)
class DecodeConfig:
    """Decode requests in `workers` processes beside this one; `lines`: encode JSON lines there too."""

    workers: int
    lines: bool = False


@dataclass(frozen=True, slots=True)
class DropConfig:
    """Drop the spans matching any of `queries` before the store and every output."""

    queries: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class SamplerConfig:
    """The Collector's `probabilistic_sampler` in hash_seed mode."""

    percent: float
    seed: int = 0


@dataclass(frozen=True, slots=True)
class StoreConfig:
    """The in-memory span store the viewer (and `serve`'s counters) read."""

    max_spans: int = DEFAULT_MAX_SPANS
    max_memory_mib: float | None = None


@dataclass(frozen=True, slots=True)
class WriterConfig:
    """A stream of spans: `format` is "detailed" or "legacy" (debug text) or "jsonl"."""

    name: str  # "print", "jsonl" or "dump": names its counters (`dump_spans`)
    format: str
    path: str | None = None  # None: stdout
    filter: str | None = None  # only spans matching this query
    queue_spans: int = DEFAULT_QUEUE_SPANS
    queue_mib: float = DEFAULT_QUEUE_MIB


T = TypeVar("T")
ReceiverConfig = ReceiverSettings
ProcessorConfig = DropConfig | SamplerConfig
ExporterConfig = StoreConfig | WriterConfig | ForwardSettings
ExtensionConfig = DecodeConfig | ApiSettings


@dataclass(frozen=True)
class ServiceConfig:
    """One traces pipeline: receivers → processors → exporters, and extensions beside it."""

    receivers: tuple[ReceiverConfig, ...] = ()
    processors: tuple[ProcessorConfig, ...] = ()
    exporters: tuple[ExporterConfig, ...] = ()
    extensions: tuple[ExtensionConfig, ...] = ()

    def of_type(self, cls: type[T]) -> list[T]:
        """Every component config of one class, in order."""
        return [config for group in (self.receivers, self.processors, self.exporters, self.extensions)
                for config in group if isinstance(config, cls)]
