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
class ComponentNote:
    """What one of the file's components became, for the line said on stderr at start."""

    kind: str  # "receiver", "processor" or "exporter"
    component_id: str
    became: str
    replaced_by: tuple[str, ...] = ()  # filled by `apply_update`: the options that win over it

    def line(self) -> str:
        text = f"{self.kind} {self.component_id} → {self.became}"
        if self.replaced_by:
            text += f"; {', '.join(self.replaced_by)} from the command line win{'s' if len(self.replaced_by) == 1 else ''}"
        return text


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
    components: list[ComponentNote] = dataclasses.field(default_factory=list)


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
        receiver_config = defined["receivers"][receiver_id]
        update.receivers = c.otlp_receiver(receiver_config, f"receivers::{receiver_id}", defaults)
        update.components.append(ComponentNote("receiver", receiver_id, _receiver_became(update.receivers,
                                                                                         receiver_config)))
    for processor_id in pipeline.get("processors", []):
        _use_processor(processor_id, defined["processors"][processor_id], update)
    for exporter_id in pipeline["exporters"]:
        _use_exporter(exporter_id, defined["exporters"][exporter_id], update)
    for kind, used in (("receivers", pipeline["receivers"]), ("processors", pipeline.get("processors", [])),
                       ("exporters", pipeline["exporters"])):
        for component_id in defined[kind]:
            if component_id not in used:
                update.components.append(ComponentNote(kind[:-1], component_id, "not in the traces pipeline: "
                                                       "checked, not run"))
    return update


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
        became = f"sampling {update.sample[0]:g}% of traces (hash_seed {update.sample[1]})"
    elif kind == "batch":
        c.batch(config, path)
        became = ("ignored: kubespan passes each request on as it arrives; batching would only delay "
                  "the viewer and the forward targets")
    else:
        update.max_memory_mib = c.memory_limiter(config, path)
        became = f"a memory budget of {update.max_memory_mib:.0f} MiB for the span store (--max-memory-mib)"
    update.components.append(ComponentNote("processor", component_id, became))


def _use_exporter(component_id: str, config: Any, update: ConfigUpdate) -> None:
    kind = c.component_type(component_id)
    path = f"exporters::{component_id}"
    if kind in ("otlp", "otlp_grpc", "otlphttp", "otlp_http"):
        settings = c.otlp_exporter(kind, component_id, config, path)
        if settings.protocol == "grpc" and settings.tls.insecure_skip_verify and not settings.tls.insecure:
            raise ConfigError(f"{path}::tls::insecure_skip_verify: not supported for gRPC by grpcio; give ca_file")
        update.forwards.append(settings)
        became = f"forward target {settings.describe()}"
    elif kind in ("logging", "debug"):
        chosen = c.print_format(kind, config, path)
        if chosen and update.print_format != "detailed":
            update.print_format = chosen
        became = (f"--print-format {chosen} on stdout" if chosen else
                  "prints nothing at this verbosity (the counts are in --stats)")
    else:
        if update.dump is not None:
            raise ConfigError(f"{path}: kubespan writes one file; another file exporter is already in the pipeline")
        update.dump = c.file_exporter(config, path)
        became = f"--dump {update.dump} (OTLP/JSON lines)"
    update.components.append(ComponentNote("exporter", component_id, became))


RECEIVER_FLAGS = ("grpc", "http", "max_recv_mib", "tls_cert", "tls_key", "tls_client_ca")


REPLACED_BY = {
    "otlp": ("grpc", "http", "max_recv_mib", "tls_cert", "tls_key", "tls_client_ca"),
    "probabilistic_sampler": ("sample", "sample_seed"),
    "memory_limiter": ("max_memory_mib",),
    "otlp_grpc": ("forward", "forward_env"), "otlphttp": ("forward", "forward_env"),
    "otlp_http": ("forward", "forward_env"),
    "logging": ("print_spans", "print_format"), "debug": ("print_spans", "print_format"),
    "file": ("dump",),
}
"""Per component type, the options (argparse dests) that win over it."""
FLAG_NAMES = {"print_spans": "--print"}


def _note_replacements(update: ConfigUpdate, given: set[str]) -> None:
    for note in update.components:
        if note.became.startswith("not in the traces pipeline"):
            continue
        kind = c.component_type(note.component_id)
        dests = REPLACED_BY.get("otlp_grpc" if (kind, note.kind) == ("otlp", "exporter") else kind, ())
        note.replaced_by = tuple(FLAG_NAMES.get(d, "--" + d.replace("_", "-")) for d in dests if d in given)


def apply_update(config, update: ConfigUpdate, given: set[str]):
    """Apply `update` to a `RuntimeConfig`, except what the command line set (`given` dests)."""
    _note_replacements(update, given)
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
