"""Load a Collector config file into a `ConfigUpdate` both front ends apply to `RuntimeConfig`.

`load_collector_config(path)` validates every defined component (unknown types or
keys refuse to start, as the Collector does), then maps what the traces pipeline
uses: the `otlp` receiver → listen addresses, `probabilistic_sampler` → `--sample`,
`memory_limiter` → the memory budget, `otlp`/`otlphttp` exporters → `--forward`,
`logging`/`debug` → `--print`, `file` → `--dump`. `apply_update` then lets every
option given on the command line win over the file.
"""

from __future__ import annotations

import dataclasses
import os
from typing import Any, Mapping

import yaml

from kubespan.collector import components as c
from kubespan.collector.envsubst import SubstitutionError, substitute
from kubespan.collector.schema import IGNORED, ConfigError, section, string_list
from kubespan.forward.settings import ForwardSettings

TOP_LEVEL = ("receivers", "processors", "exporters", "service", "extensions", "connectors")
SERVICE = section({"pipelines": lambda v, p: v, "telemetry": IGNORED, "extensions": string_list})
PIPELINE = section({"receivers": string_list, "processors": string_list, "exporters": string_list})


@dataclasses.dataclass
class ConfigUpdate:
    """What a config file asks for; `None`/empty means the file says nothing about it."""

    source: str
    receivers: c.ReceiverPlan | None = None
    print_format: str | None = None
    dump: str | None = None
    forwards: list[ForwardSettings] = dataclasses.field(default_factory=list)
    sample: tuple[float, int] | None = None
    max_memory_mib: float | None = None
    warnings: list[str] = dataclasses.field(default_factory=list)


def load_collector_config(
    path: str, environ: Mapping[str, str] | None = None, defaults: tuple[str, str] | None = None
) -> ConfigUpdate:
    """Read and validate `path`; raises `ConfigError` naming the component at fault."""
    try:
        with open(path, encoding="utf-8") as file:
            text = file.read()
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc.strerror}") from None
    return parse_collector_config(text, path, os.environ if environ is None else environ, defaults)


def parse_collector_config(
    text: str, source: str, environ: Mapping[str, str], defaults: tuple[str, str] | None = None
) -> ConfigUpdate:
    if defaults is None:
        from kubespan.receive.settings import DEFAULT_GRPC, DEFAULT_HTTP

        defaults = (DEFAULT_GRPC, DEFAULT_HTTP)
    try:
        document = yaml.safe_load(text)
        document = substitute(document or {}, environ)
    except yaml.YAMLError as exc:
        raise ConfigError(f"invalid YAML: {exc}") from None
    except SubstitutionError as exc:
        raise ConfigError(str(exc)) from None
    if not isinstance(document, dict):
        raise ConfigError("the file must be a mapping with receivers, processors, exporters and service")
    return _plan(document, source, defaults)


def _plan(document: dict[str, Any], source: str, defaults: tuple[str, str]) -> ConfigUpdate:
    for key in document:
        if key not in TOP_LEVEL:
            raise ConfigError(f"unknown top-level key {key!r} (supported: {', '.join(TOP_LEVEL)})")
    for key in ("extensions", "connectors"):
        if document.get(key):
            names = ", ".join(map(str, document[key]))
            raise ConfigError(f"{key}: {names}: kubespan supports no {key}; remove them to run this file")
    defined = {kind: _components(document, kind, allowed) for kind, allowed in
               (("receivers", c.RECEIVERS), ("processors", c.PROCESSORS), ("exporters", c.EXPORTERS))}
    update = ConfigUpdate(source)
    pipeline = _traces_pipeline(document, defined, update)
    for receiver_id in pipeline["receivers"]:
        if update.receivers is not None:
            raise ConfigError(f"service::pipelines::traces: kubespan runs one otlp receiver, got {pipeline['receivers']}")
        update.receivers = c.otlp_receiver(defined["receivers"][receiver_id], f"receivers::{receiver_id}", defaults)
    for processor_id in pipeline.get("processors", []):
        _use_processor(processor_id, defined["processors"][processor_id], update)
    for exporter_id in pipeline["exporters"]:
        _use_exporter(exporter_id, defined["exporters"][exporter_id], update)
    return update


def _components(document: dict, kind: str, allowed: tuple[str, ...]) -> dict[str, Any]:
    """Every component of one kind, each validated even when no pipeline uses it."""
    entries = document.get(kind) or {}
    if not isinstance(entries, dict):
        raise ConfigError(f"{kind}: want a mapping of component ids")
    for component_id, config in entries.items():
        kind_name = c.component_type(component_id)
        if kind_name not in allowed:
            raise ConfigError(
                f"{kind}: unknown type {kind_name!r} for id {str(component_id)!r}; "
                f"kubespan supports: {', '.join(allowed)}"
            )
        _validate(kind, kind_name, str(component_id), config)
    return {str(k): v for k, v in entries.items()}


def _validate(kind: str, kind_name: str, component_id: str, config: Any) -> None:
    scratch = ConfigUpdate("")
    if kind == "receivers":
        c.otlp_receiver(config, f"receivers::{component_id}", ("127.0.0.1:4317", "127.0.0.1:4318"))
    elif kind == "processors":
        _use_processor(component_id, config, scratch)
    else:
        _use_exporter(component_id, config, scratch)


def _traces_pipeline(document: dict, defined: dict[str, dict], update: ConfigUpdate) -> dict[str, list[str]]:
    service = SERVICE(document.get("service"), "service")
    if "telemetry" in {str(k).lower() for k in (document.get("service") or {})}:
        update.warnings.append("service::telemetry is ignored: kubespan reports on stderr and in --stats")
    if service.get("extensions"):
        raise ConfigError(f"service::extensions: {', '.join(service['extensions'])}: kubespan supports no extensions")
    pipelines = service.get("pipelines") or {}
    if not isinstance(pipelines, dict) or not pipelines:
        raise ConfigError("service::pipelines: define a traces pipeline")
    names = [str(name) for name in pipelines]
    others = [name for name in names if c.component_type(name) != "traces"]
    if others:
        raise ConfigError(f"service::pipelines: {', '.join(others)}: kubespan handles traces only")
    if len(names) > 1:
        raise ConfigError(f"service::pipelines: kubespan runs one traces pipeline, got {', '.join(names)}")
    path = f"service::pipelines::{names[0]}"
    pipeline = PIPELINE(pipelines[names[0]], path)
    for kind in ("receivers", "exporters"):
        if not pipeline.get(kind):
            raise ConfigError(f"{path}: must have at least one {kind[:-1]}")
    for kind in ("receivers", "processors", "exporters"):
        for component_id in pipeline.get(kind, []):
            if component_id not in defined[kind]:
                raise ConfigError(f"{path}: references {kind[:-1]} {component_id!r} which is not configured")
    return pipeline


def _use_processor(component_id: str, config: Any, update: ConfigUpdate) -> None:
    kind = c.component_type(component_id)
    path = f"processors::{component_id}"
    if kind == "probabilistic_sampler":
        if update.sample is not None:
            raise ConfigError(f"{path}: kubespan runs one probabilistic_sampler per pipeline")
        update.sample = c.sampler(config, path)
    elif kind == "batch":
        c.batch(config, path)
    else:
        update.max_memory_mib = c.memory_limiter(config, path)


def _use_exporter(component_id: str, config: Any, update: ConfigUpdate) -> None:
    kind = c.component_type(component_id)
    path = f"exporters::{component_id}"
    if kind in ("otlp", "otlp_grpc", "otlphttp", "otlp_http"):
        settings = c.otlp_exporter(kind, component_id, config, path)
        if settings.protocol == "grpc" and settings.tls.insecure_skip_verify and not settings.tls.insecure:
            raise ConfigError(f"{path}::tls::insecure_skip_verify: not supported for gRPC by grpcio; give ca_file")
        update.forwards.append(settings)
    elif kind in ("logging", "debug"):
        chosen = c.print_format(kind, config, path)
        if chosen and update.print_format != "detailed":
            update.print_format = chosen
    else:
        if update.dump is not None:
            raise ConfigError(f"{path}: kubespan writes one file; another file exporter is already in the pipeline")
        update.dump = c.file_exporter(config, path)


RECEIVER_FLAGS = ("grpc", "http", "max_recv_mib", "tls_cert", "tls_key", "tls_client_ca")


def apply_update(config, update: ConfigUpdate, given: set[str]):
    """Apply `update` to a `RuntimeConfig`, except what the command line set (`given` dests)."""
    plan = update.receivers
    if plan is not None:
        receivers = config.receivers
        for name in ("grpc", "http"):
            if name not in given:
                setattr(receivers, name, getattr(plan, name))
        if plan.max_recv_mib and "max_recv_mib" not in given:
            receivers.max_recv_mib = plan.max_recv_mib
        if plan.tls_cert and not given & {"tls_cert", "tls_key"}:
            receivers.tls_cert, receivers.tls_key = plan.tls_cert, plan.tls_key
        if plan.tls_client_ca and "tls_client_ca" not in given:
            receivers.tls_client_ca = plan.tls_client_ca
    if update.print_format and not given & {"print_spans", "print_format"}:
        config.print_format = update.print_format
    if update.dump and "dump" not in given:
        config.dump = update.dump
    if not given & {"forward", "forward_env"}:
        config.forwards = list(update.forwards)
    if update.sample is not None:
        if "sample" not in given:
            config.sample_percent = update.sample[0]
        if "sample_seed" not in given:
            config.sample_seed = update.sample[1]
    if update.max_memory_mib is not None and "max_memory_mib" not in given:
        config.max_memory_mib = update.max_memory_mib
    return config
