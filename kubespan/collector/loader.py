"""Load a Collector config file into an `OptionsLayer`: the options the file sets.

`load_collector_config(path)` validates every defined component (unknown types or
keys refuse to start, as the Collector does), then maps what the traces pipeline
uses: the `otlp` receiver → listen addresses, `probabilistic_sampler` → `--sample`,
`memory_limiter` → the memory budget, `otlp`/`otlphttp` exporters → `--forward`,
`logging`/`debug` → `--print`, `file` → `--dump`. The command line merges it under
the options given on it (`kubespan.cli.config`).
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping, Sequence
from typing import Any

import yaml

from kubespan.collector import components as c
from kubespan.collector.envsubst import SubstitutionError, substitute
from kubespan.collector.schema import IGNORED, ConfigError, section, string_list
from kubespan.forward.settings import ForwardSettings
from kubespan.service.options import OptionsLayer

TOP_LEVEL = ("receivers", "processors", "exporters", "service", "extensions", "connectors")
SERVICE = section({"pipelines": lambda v, p: v, "telemetry": IGNORED, "extensions": string_list})
PIPELINE = section({"receivers": string_list, "processors": string_list, "exporters": string_list})


@dataclasses.dataclass
class ComponentNote:
    """What one of the file's components became, for the line said on stderr at start."""

    kind: str  # "receiver", "processor" or "exporter"
    component_id: str
    became: str
    options: tuple[str, ...] = ()
    """The `ServiceOptions` it sets: an option given on the command line replaces it."""

    def line(self, replaced_by: Sequence[str] = ()) -> str:
        text = f"{self.kind} {self.component_id} → {self.became}"
        if replaced_by:
            text += f"; {', '.join(replaced_by)} from the command line win{'s' if len(replaced_by) == 1 else ''}"
        return text


@dataclasses.dataclass
class LoadedConfig:
    """What a config file asks for: the options it sets, and what each component became."""

    source: str
    layer: OptionsLayer = dataclasses.field(default_factory=lambda: OptionsLayer())
    warnings: list[str] = dataclasses.field(default_factory=list)
    components: list[ComponentNote] = dataclasses.field(default_factory=list)
    forwards: list[ForwardSettings] = dataclasses.field(default_factory=list)


def load_collector_config(
    path: str, environ: Mapping[str, str] | None = None, defaults: tuple[str, str] | None = None
) -> LoadedConfig:
    """Read and validate `path`; raises `ConfigError` naming the component at fault."""
    try:
        with open(path, encoding="utf-8") as file:
            text = file.read()
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc.strerror}") from None
    return parse_collector_config(text, path, os.environ if environ is None else environ, defaults)


def parse_collector_config(
    text: str, source: str, environ: Mapping[str, str], defaults: tuple[str, str] | None = None
) -> LoadedConfig:
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


def _plan(document: dict[str, Any], source: str, defaults: tuple[str, str]) -> LoadedConfig:
    for key in document:
        if key not in TOP_LEVEL:
            raise ConfigError(f"unknown top-level key {key!r} (supported: {', '.join(TOP_LEVEL)})")
    for key in ("extensions", "connectors"):
        if document.get(key):
            names = ", ".join(map(str, document[key]))
            raise ConfigError(f"{key}: {names}: kubespan supports no {key}; remove them to run this file")
    defined = {kind: _components(document, kind, allowed) for kind, allowed in
               (("receivers", c.RECEIVERS), ("processors", c.PROCESSORS), ("exporters", c.EXPORTERS))}
    update = LoadedConfig(source)
    pipeline = _traces_pipeline(document, defined, update)
    if len(pipeline["receivers"]) > 1:
        raise ConfigError(f"service::pipelines::traces: kubespan runs one otlp receiver, got {pipeline['receivers']}")
    for receiver_id in pipeline["receivers"]:
        receiver_config = defined["receivers"][receiver_id]
        plan = c.otlp_receiver(receiver_config, f"receivers::{receiver_id}", defaults)
        _use_receiver(plan, update.layer)
        update.components.append(ComponentNote("receiver", receiver_id, _receiver_became(plan, receiver_config),
                                               RECEIVER_OPTIONS))
    for processor_id in pipeline.get("processors", []):
        _use_processor(processor_id, defined["processors"][processor_id], update)
    for exporter_id in pipeline["exporters"]:
        _use_exporter(exporter_id, defined["exporters"][exporter_id], update)
    update.layer["forwards"] = tuple(update.forwards)  # none in the file: no forwarding
    for kind, used in (("receivers", pipeline["receivers"]), ("processors", pipeline.get("processors", [])),
                       ("exporters", pipeline["exporters"])):
        for component_id in defined[kind]:
            if component_id not in used:
                update.components.append(ComponentNote(kind[:-1], component_id, "not in the traces pipeline: "
                                                       "checked, not run"))
    return update


RECEIVER_OPTIONS = ("grpc", "http", "max_recv_mib", "tls_cert", "tls_key", "tls_client_ca")


def _use_receiver(plan: c.ReceiverPlan, layer: OptionsLayer) -> None:
    layer["grpc"], layer["http"] = plan.grpc, plan.http  # a protocol the file leaves out is off
    if plan.max_recv_mib:
        layer["max_recv_mib"] = plan.max_recv_mib
    if plan.tls_cert:
        layer["tls_cert"], layer["tls_key"] = plan.tls_cert, plan.tls_key
    if plan.tls_client_ca:
        layer["tls_client_ca"] = plan.tls_client_ca


def _receiver_became(plan: c.ReceiverPlan, config: Any) -> str:
    listening = [f"OTLP/{name} on {address}" for name, address in (("gRPC", plan.grpc), ("HTTP", plan.http))
                 if address]
    text = " and ".join(listening)
    protocols = (config or {}).get("protocols") or {}
    defaulted = any(not (protocols.get(name) or {}).get("endpoint") for name in ("grpc", "http")
                    if name in protocols)
    if plan.tls_cert:
        text += " with TLS"
    if defaulted:
        text += " (no endpoint in the file: loopback)"
    return text


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
    scratch = LoadedConfig("")
    if kind == "receivers":
        c.otlp_receiver(config, f"receivers::{component_id}", ("127.0.0.1:4317", "127.0.0.1:4318"))
    elif kind == "processors":
        _use_processor(component_id, config, scratch)
    else:
        _use_exporter(component_id, config, scratch)


def _traces_pipeline(document: dict, defined: dict[str, dict], update: LoadedConfig) -> dict[str, list[str]]:
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


def _use_processor(component_id: str, config: Any, update: LoadedConfig) -> None:
    kind = c.component_type(component_id)
    path = f"processors::{component_id}"
    if kind == "probabilistic_sampler":
        if "sample_percent" in update.layer:
            raise ConfigError(f"{path}: kubespan runs one probabilistic_sampler per pipeline")
        percent, seed = c.sampler(config, path)
        update.layer["sample_percent"], update.layer["sample_seed"] = percent, seed
        became = f"sampling {percent:g}% of traces (hash_seed {seed})"
        options: tuple[str, ...] = ("sample_percent", "sample_seed")
    elif kind == "batch":
        c.batch(config, path)
        became = ("ignored: kubespan passes each request on as it arrives; batching would only delay "
                  "the viewer and the forward targets")
        options = ()
    else:
        budget = update.layer["max_memory_mib"] = c.memory_limiter(config, path)
        became = f"a memory budget of {budget:.0f} MiB for the span store (--max-memory-mib)"
        options = ("max_memory_mib",)
    update.components.append(ComponentNote("processor", component_id, became, options))


def _use_exporter(component_id: str, config: Any, update: LoadedConfig) -> None:
    kind = c.component_type(component_id)
    path = f"exporters::{component_id}"
    if kind in ("otlp", "otlp_grpc", "otlphttp", "otlp_http"):
        settings = c.otlp_exporter(kind, component_id, config, path)
        if settings.protocol == "grpc" and settings.tls.insecure_skip_verify and not settings.tls.insecure:
            raise ConfigError(f"{path}::tls::insecure_skip_verify: not supported for gRPC by grpcio; give ca_file")
        update.forwards.append(settings)
        became = f"forward target {settings.describe()}"
        options: tuple[str, ...] = ("forwards",)
    elif kind in ("logging", "debug"):
        chosen = c.print_format(kind, config, path)
        if chosen and update.layer.get("print_format") != "detailed":
            update.layer["print_format"] = chosen
        became = (f"--print-format {chosen} on stdout" if chosen else
                  "prints nothing at this verbosity (the counts are in --stats)")
        options = ("print_format",)
    else:
        if "dump" in update.layer:
            raise ConfigError(f"{path}: kubespan writes one file; another file exporter is already in the pipeline")
        dump = update.layer["dump"] = c.file_exporter(config, path)
        became = f"--dump {dump} (OTLP/JSON lines)"
        options = ("dump",)
    update.components.append(ComponentNote("exporter", component_id, became, options))
