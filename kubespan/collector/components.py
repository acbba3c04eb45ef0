"""The Collector components kubespan runs, their accepted keys, and what each maps to.

Each `*_SCHEMA` lists every key kubespan accepts for a component; anything else is
refused (`ConfigError`), as the Collector refuses unknown keys. Keys marked `IGNORED`
are accepted because they tune Go internals with no kubespan equivalent.
"""

from __future__ import annotations

import dataclasses
import os
from typing import Any
from urllib.parse import urlsplit

from kubespan.collector.schema import (
    IGNORED,
    ConfigError,
    anything,
    boolean,
    choice,
    duration,
    integer,
    number,
    section,
    string,
    string_list,
    string_map,
)
from kubespan.forward.settings import (
    GRPC,
    HTTP,
    TRACES_PATH,
    ForwardSettings,
    QueueSettings,
    RetrySettings,
    TlsSettings,
)

RECEIVERS = ("otlp",)
PROCESSORS = ("probabilistic_sampler", "batch", "memory_limiter")
EXPORTERS = ("otlp", "otlp_grpc", "otlphttp", "otlp_http", "logging", "debug", "file")

SERVER_TLS = section(
    {"cert_file": string, "key_file": string, "client_ca_file": string, "ca_file": IGNORED,
     "min_version": IGNORED, "max_version": IGNORED, "reload_interval": IGNORED}
)
GRPC_SERVER = section(
    {"endpoint": string, "transport": choice("tcp"), "max_recv_msg_size_mib": number(0), "tls": SERVER_TLS,
     "max_concurrent_streams": IGNORED, "read_buffer_size": IGNORED, "write_buffer_size": IGNORED,
     "include_metadata": IGNORED, "keepalive": IGNORED}
)
HTTP_SERVER = section(
    {"endpoint": string, "tls": SERVER_TLS, "traces_url_path": choice("/v1/traces", "v1/traces"),
     "max_request_body_size": integer(1), "include_metadata": IGNORED, "metrics_url_path": IGNORED,
     "logs_url_path": IGNORED, "compression_algorithms": IGNORED, "read_timeout": IGNORED,
     "read_header_timeout": IGNORED, "write_timeout": IGNORED, "idle_timeout": IGNORED,
     "keep_alives_enabled": IGNORED, "response_headers": IGNORED}
)
OTLP_RECEIVER = section({"protocols": section({"grpc": anything, "http": anything})}, required=("protocols",))

SAMPLER = section(
    {"hash_seed": integer(0), "sampling_percentage": number(0), "mode": choice("hash_seed", ""),
     "fail_closed": boolean, "sampling_precision": IGNORED}
)
BATCH = section(
    {"timeout": duration, "send_batch_size": integer(0), "send_batch_max_size": integer(0),
     "metadata_keys": string_list, "metadata_cardinality_limit": integer(0)}
)
MEMORY_LIMITER = section(
    {"check_interval": duration, "limit_mib": integer(0), "spike_limit_mib": integer(0),
     "limit_percentage": integer(0), "spike_limit_percentage": integer(0)}
)

CLIENT_TLS = section(
    {"insecure": boolean, "insecure_skip_verify": boolean, "ca_file": string, "cert_file": string,
     "key_file": string, "server_name_override": string, "min_version": IGNORED, "max_version": IGNORED,
     "include_system_ca_certs_pool": IGNORED, "reload_interval": IGNORED}
)
QUEUE = section(
    {"enabled": boolean, "num_consumers": integer(1), "queue_size": integer(1), "sizer": choice("requests", "items"),
     "block_on_overflow": boolean, "blocking": boolean, "wait_for_result": boolean}
)
RETRY = section(
    {"enabled": boolean, "initial_interval": duration, "max_interval": duration, "max_elapsed_time": duration,
     "multiplier": number(1.0), "randomization_factor": number(0.0)}
)
_CLIENT_COMMON = {
    "endpoint": string, "tls": CLIENT_TLS, "headers": string_map, "timeout": duration,
    "sending_queue": QUEUE, "retry_on_failure": RETRY, "read_buffer_size": IGNORED, "write_buffer_size": IGNORED,
    "compression": choice("gzip", "none", "", hint="; grpcio and kubespan's client send gzip or nothing"),
}
OTLP_GRPC = section(
    {**_CLIENT_COMMON, "balancer_name": IGNORED, "wait_for_ready": IGNORED, "keepalive": IGNORED,
     "authority": IGNORED},
    required=("endpoint",),
)
OTLP_HTTP = section(
    {**_CLIENT_COMMON, "traces_endpoint": string, "encoding": choice("proto", hint="; kubespan forwards protobuf"),
     "max_idle_conns": IGNORED, "max_idle_conns_per_host": IGNORED, "max_conns_per_host": IGNORED,
     "idle_conn_timeout": IGNORED, "disable_keep_alives": IGNORED, "http2_read_idle_timeout": IGNORED,
     "http2_ping_timeout": IGNORED}
)
LOGGING = section(
    {"loglevel": choice("debug", "info", "warn", "error"), "verbosity": choice("basic", "normal", "detailed"),
     "sampling_initial": IGNORED, "sampling_thereafter": IGNORED}
)
DEBUG = section(
    {"verbosity": choice("basic", "normal", "detailed"), "sampling_initial": IGNORED,
     "sampling_thereafter": IGNORED, "use_internal_logger": IGNORED}
)
FILE = section(
    {"path": string, "format": choice("json", hint="; kubespan writes OTLP/JSON lines"), "append": boolean,
     "flush_interval": duration},
    required=("path",),
)


def component_type(component_id: str) -> str:
    """`otlp/jaeger` → `otlp`."""
    return str(component_id).partition("/")[0]


@dataclasses.dataclass
class ReceiverPlan:
    grpc: str | None
    http: str | None
    max_recv_mib: float | None
    tls_cert: str | None
    tls_key: str | None
    tls_client_ca: str | None


def otlp_receiver(config: Any, path: str, defaults: tuple[str, str]) -> ReceiverPlan:
    """`protocols.grpc` / `protocols.http`: a key present (even empty) enables it."""
    protocols = OTLP_RECEIVER(config, path)["protocols"]
    if not protocols:
        raise ConfigError(f"{path}: must specify at least one protocol (grpc or http)")
    grpc_cfg = GRPC_SERVER(protocols["grpc"], f"{path}::protocols::grpc") if "grpc" in protocols else None
    http_cfg = HTTP_SERVER(protocols["http"], f"{path}::protocols::http") if "http" in protocols else None
    tls = _one_tls([c.get("tls") for c in (grpc_cfg, http_cfg) if c and c.get("tls")], path)
    sizes = []
    if grpc_cfg and grpc_cfg.get("max_recv_msg_size_mib"):
        sizes.append(grpc_cfg["max_recv_msg_size_mib"])
    if http_cfg and http_cfg.get("max_request_body_size"):
        sizes.append(http_cfg["max_request_body_size"] / (1024 * 1024))
    return ReceiverPlan(
        grpc=_endpoint(grpc_cfg, defaults[0]),
        http=_endpoint(http_cfg, defaults[1]),
        max_recv_mib=max(sizes) if sizes else None,
        tls_cert=tls.get("cert_file"),
        tls_key=tls.get("key_file"),
        tls_client_ca=tls.get("client_ca_file"),
    )


def _endpoint(cfg: dict | None, default: str) -> str | None:
    if cfg is None:
        return None
    endpoint = cfg.get("endpoint") or default
    if endpoint.startswith(":"):
        return "0.0.0.0" + endpoint  # Go's ":4317" listens on every interface
    return endpoint


def _one_tls(configs: list[dict], path: str) -> dict:
    if len(configs) == 2 and configs[0] != configs[1]:
        raise ConfigError(f"{path}: kubespan serves gRPC and HTTP with one certificate; make both tls sections equal")
    tls = configs[0] if configs else {}
    if bool(tls.get("cert_file")) != bool(tls.get("key_file")):
        raise ConfigError(f"{path}: tls needs both cert_file and key_file")
    return tls


def sampler(config: Any, path: str) -> tuple[float, int]:
    values = SAMPLER(config, path)
    if values.get("hash_seed", 0) > 0xFFFFFFFF:
        raise ConfigError(f"{path}::hash_seed: must fit in 32 bits (0..4294967295)")
    if values.get("fail_closed") is False:
        raise ConfigError(f"{path}: fail_closed: false is not supported (kubespan always fails closed)")
    return values.get("sampling_percentage", 0.0), values.get("hash_seed", 0)


def batch(config: Any, path: str) -> None:
    """Validated like the Collector's; kubespan does not batch (see proto_notes/pipeline.md)."""
    values = BATCH(config, path)
    size, most = values.get("send_batch_size", 8192), values.get("send_batch_max_size", 0)
    if most and most < size:
        raise ConfigError(f"{path}: send_batch_max_size must be greater or equal to send_batch_size")


def memory_limiter(config: Any, path: str) -> float:
    """The memory budget in MiB: `limit_mib`, or `limit_percentage` of this machine's memory."""
    values = MEMORY_LIMITER(config, path)
    if not values.get("check_interval"):
        raise ConfigError(f"{path}: check_interval must be greater than zero")
    limit, percent = values.get("limit_mib", 0), values.get("limit_percentage", 0)
    if limit and values.get("spike_limit_mib", 0) >= limit:
        raise ConfigError(f"{path}: spike_limit_mib must be smaller than limit_mib")
    if limit:
        return float(limit)
    if percent:
        if not 0 < percent <= 100 or values.get("spike_limit_percentage", 0) >= percent:
            raise ConfigError(f"{path}: limit_percentage must be in (0, 100] and above spike_limit_percentage")
        total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
        return total * percent / 100 / 2**20
    raise ConfigError(f"{path}: set limit_mib or limit_percentage")


def otlp_exporter(kind: str, name: str, config: Any, path: str) -> ForwardSettings:
    """An `otlp`/`otlp_grpc` or `otlphttp` exporter as forward settings."""
    values = (OTLP_GRPC if kind in ("otlp", "otlp_grpc") else OTLP_HTTP)(config, path)
    tls_values = values.get("tls", {})
    if kind in ("otlp", "otlp_grpc"):
        target, scheme_insecure = _grpc_target(values["endpoint"], path)
        protocol = GRPC
    else:
        target, scheme_insecure = _http_target(values, path)
        protocol = HTTP
    tls = TlsSettings(
        insecure=tls_values.get("insecure", False) or scheme_insecure,
        ca_file=tls_values.get("ca_file"),
        cert_file=tls_values.get("cert_file"),
        key_file=tls_values.get("key_file"),
        insecure_skip_verify=tls_values.get("insecure_skip_verify", False),
        server_name=tls_values.get("server_name_override"),
    )
    settings = ForwardSettings(
        name, protocol, target, headers=tuple(values.get("headers", {}).items()),
        compression="gzip" if values.get("compression", "gzip") == "gzip" else "none",
        timeout=values.get("timeout", 5.0) or 5.0, tls=tls,
        retry=_retry(values.get("retry_on_failure", {})), queue=_queue(values.get("sending_queue", {})),
    )
    return settings


def _grpc_target(endpoint: str, path: str) -> tuple[str, bool]:
    if "://" not in endpoint:
        return endpoint, False
    parts = urlsplit(endpoint)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ConfigError(f"{path}::endpoint: {endpoint!r}: want host:port, http://host:port or https://host:port")
    return parts.netloc, parts.scheme == "http"


def _http_target(values: dict, path: str) -> tuple[str, bool]:
    url = values.get("traces_endpoint")
    if not url:
        base = values.get("endpoint")
        if not base:
            raise ConfigError(f"{path}: 'endpoint' or 'traces_endpoint' is required")
        url = base.rstrip("/") + TRACES_PATH
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ConfigError(f"{path}: {url!r}: want an http:// or https:// URL")
    return url, parts.scheme == "http"


def _retry(values: dict) -> RetrySettings:
    default = RetrySettings()
    return RetrySettings(
        enabled=values.get("enabled", default.enabled),
        initial_interval=values.get("initial_interval", default.initial_interval),
        max_interval=values.get("max_interval", default.max_interval),
        max_elapsed_time=values.get("max_elapsed_time", default.max_elapsed_time),
        multiplier=values.get("multiplier", default.multiplier),
        randomization_factor=values.get("randomization_factor", default.randomization_factor),
    )


def _queue(values: dict) -> QueueSettings:
    default = QueueSettings()
    sizer = "spans" if values.get("sizer") == "items" else "requests"
    return QueueSettings(
        size=values.get("queue_size", default.size),
        sizer=sizer,
        consumers=values.get("num_consumers", default.consumers),
    )


def print_format(kind: str, config: Any, path: str) -> str | None:
    """`logging` (old exporter) → legacy text; `debug` → current detailed text; None prints nothing."""
    if kind == "logging":
        values = LOGGING(config, path)
        detailed = values.get("loglevel") == "debug" or values.get("verbosity") == "detailed"
        return "legacy" if detailed else None
    values = DEBUG(config, path)
    return None if values.get("verbosity", "basic") == "basic" else "detailed"


def file_exporter(config: Any, path: str) -> str:
    return FILE(config, path)["path"]
