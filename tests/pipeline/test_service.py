"""The service loops over components: created in config order, started consumers first, shut down once."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from kubespan.service.builtin import FACTORIES
from kubespan.service.component import Factory, Host, Kind
from kubespan.service.configs import ServiceConfig, StoreConfig, WriterConfig
from kubespan.service.options import ServiceOptions, service_config
from kubespan.service.service import Service


@dataclass(frozen=True)
class Part:
    name: str
    fail: bool = False


class Recorded:
    def __init__(self, config: Part, host: Host, log: list[str]) -> None:
        self.config, self.log = config, log
        log.append(f"create {config.name}")

    def start(self, host: Host) -> None:
        if self.config.fail:
            raise OSError(f"{self.config.name} cannot start")
        self.log.append(f"start {self.config.name}")

    def shutdown(self) -> None:
        self.log.append(f"shutdown {self.config.name}")


def recording(log: list[str], kind: Kind) -> Factory:
    return Factory(kind, lambda config, host: Recorded(config, host, log))


class Receiver(Part): ...
class Processor(Part): ...
class Exporter(Part): ...
class Extension(Part): ...


def service(log: list[str], **groups) -> Service:
    factories = {cls: recording(log, kind) for cls, kind in
                 ((Receiver, Kind.RECEIVER), (Processor, Kind.PROCESSOR), (Exporter, Kind.EXPORTER),
                  (Extension, Kind.EXTENSION))}
    return Service(ServiceConfig(**groups), factories=factories)


def test_consumers_start_first_and_stop_last_once() -> None:
    log: list[str] = []
    running = service(log, receivers=(Receiver("otlp"),), processors=(Processor("drop"), Processor("sample")),
                      exporters=(Exporter("store"), Exporter("jaeger")), extensions=(Extension("api"),))
    assert log == ["create otlp", "create drop", "create sample", "create store", "create jaeger", "create api"]
    log.clear()
    running.start()
    assert log == ["start store", "start jaeger", "start drop", "start sample", "start api", "start otlp"]
    log.clear()
    running.shutdown()
    running.shutdown()
    assert log == ["shutdown otlp", "shutdown api", "shutdown sample", "shutdown drop", "shutdown jaeger",
                   "shutdown store"]


def test_a_failed_start_shuts_down_what_started() -> None:
    log: list[str] = []
    running = service(log, receivers=(Receiver("otlp", fail=True),), exporters=(Exporter("store"),),
                      extensions=(Extension("api"),))
    log.clear()
    with pytest.raises(OSError, match="otlp cannot start"):
        running.start()
    assert log == ["start store", "start api", "shutdown api", "shutdown store"]


def test_a_config_in_the_wrong_place_is_refused() -> None:
    with pytest.raises(TypeError, match="no receiver factory for Exporter"):
        service([], receivers=(Exporter("store"),))


def test_options_become_components_in_pipeline_order(tmp_path) -> None:
    options = ServiceOptions(grpc=None, http=None, store=True, max_spans=10, print_format="legacy",
                             dump=str(tmp_path / "d.jsonl"), drop=("name=x",), sample_percent=50.0, sample_seed=3,
                             decode_workers=0)
    config = service_config(options)
    assert [type(c).__name__ for c in config.processors] == ["DropConfig", "SamplerConfig"]
    assert config.exporters[0] == StoreConfig(10, None)
    assert [(w.name, w.format, w.path) for w in config.of_type(WriterConfig)] == [
        ("print", "legacy", None), ("dump", "jsonl", str(tmp_path / "d.jsonl"))]
    assert all(type(c) in FACTORIES for group in (config.receivers, config.processors, config.exporters)
               for c in group)
    running = Service(config, stdout_fd=open(tmp_path / "out", "wb").fileno())  # noqa: SIM115
    running.start()
    try:
        assert running.store in running.pipeline.consumers and len(running.pipeline.processors) == 2
        assert [writer.name for writer in running.writers] == ["print", "dump"]
    finally:
        running.shutdown()
    assert running.pipeline.consumers == [] and running.pipeline.processors == [] and running.writers == []
