"""The component model of the service, after the OpenTelemetry Collector's.

Every receiver, processor, exporter and extension is a typed, frozen config plus a factory
that creates the component from it, and the component has `start(host)` and `shutdown()`.
The service creates them all in config order, starts them in reverse topological order
(exporters first, receivers last, so nothing arrives before its consumers are ready) and
shuts them down in the opposite order. `shutdown()` may be called more than once.
"""

from __future__ import annotations

import enum
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar

from kubespan.pipeline import Pipeline
from kubespan.receive.refusals import RefusalLog
from kubespan.stats import Counters


class Kind(enum.Enum):
    RECEIVER = "receiver"
    PROCESSOR = "processor"
    EXPORTER = "exporter"
    EXTENSION = "extension"


START_ORDER = (Kind.EXPORTER, Kind.PROCESSOR, Kind.EXTENSION, Kind.RECEIVER)
"""Consumers before producers. Extensions (the decode pool, a query API) start once the
store and the outputs exist, and before the receivers let the first request in."""


class Component(Protocol):
    """A running part of the service."""

    def start(self, host: Host) -> None: ...

    def shutdown(self) -> None:
        """Stop and release everything; a second call does nothing."""


T = TypeVar("T")


@dataclass
class Host:
    """What components share: the pipeline they feed or are fed by, counters, stdout, notices."""

    pipeline: Pipeline
    counters: Counters
    refusals: RefusalLog
    stdout_fd: int = 1
    broken_output: threading.Event = field(default_factory=threading.Event)
    """Set when stdout is closed under a writer (`kubespan serve … | head`)."""
    addresses: dict[str, str] = field(default_factory=dict)
    """What the receivers bound: {"grpc": "127.0.0.1:4317", "http": …}."""
    warnings: list[str] = field(default_factory=list)
    components: list[Component] = field(default_factory=list)
    """Every component, created, in config order."""

    def find(self, cls: type[T]) -> list[T]:
        """The components of one class (a query API finds the store this way)."""
        return [component for component in self.components if isinstance(component, cls)]


@dataclass(frozen=True)
class Factory:
    """Creates one type of component from its config."""

    kind: Kind
    create: Callable[[Any, Host], Component]
