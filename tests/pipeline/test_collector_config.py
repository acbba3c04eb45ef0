"""The walkthrough's otel-collector.yaml runs unchanged; other files refuse or map as documented."""

from __future__ import annotations

import os
import textwrap

import pytest

from kubespan.collector.loader import load_collector_config, parse_collector_config
from kubespan.collector.schema import ConfigError, duration
from kubespan.service.options import ServiceOptions, merge
from tests.support.cli import cli_options

SEED = os.path.join(os.path.dirname(os.path.dirname(__file__)), "data", "otel-collector.yaml")


def parse(text: str, env: dict | None = None):
    return parse_collector_config(textwrap.dedent(text), "test.yaml", env or {})


def test_walkthrough_file_maps_to_runtime_config() -> None:
    update = load_collector_config(SEED, environ={})
    assert (update.layer["grpc"], update.layer["http"]) == ("127.0.0.1:4317", "127.0.0.1:4318")
    assert (update.layer["sample_percent"], update.layer["sample_seed"]) == (100.0, 22)
    assert update.layer.get("print_format") == "legacy"
    [jaeger] = update.forwards
    assert (jaeger.name, jaeger.protocol, jaeger.target) == ("otlp/jaeger", "grpc", "jaeger:4317")
    assert jaeger.tls.insecure is True
    assert jaeger.compression == "gzip" and jaeger.timeout == 5.0 and jaeger.queue.size == 1000
    config = merge(ServiceOptions(), update.layer)
    assert config.forwards == (jaeger,) and config.sample_percent == 100.0 and config.sample_seed == 22
    assert config.print_format == "legacy"


def cli_config(argv: list[str]):
    return cli_options(argv)


def test_cli_flags_override_file() -> None:
    config = cli_config(["serve", "--config", SEED, "--grpc", "127.0.0.1:0", "--http", "off",
                         "--forward", "http://127.0.0.1:9", "--print-format", "detailed", "--sample", "50"])
    assert config.receivers.grpc == "127.0.0.1:0" and config.receivers.http is None
    assert [f.target for f in config.forwards] == ["http://127.0.0.1:9/v1/traces"]
    assert config.print_format == "detailed"
    assert (config.sample_percent, config.sample_seed) == (50.0, 22)


def test_cli_flag_equal_to_default_still_wins() -> None:
    path = _write("""
        receivers: {otlp: {protocols: {grpc: {endpoint: "0.0.0.0:4317"}}}}
        exporters: {debug: {verbosity: detailed}}
        service: {pipelines: {traces: {receivers: [otlp], exporters: [debug]}}}
    """)
    assert cli_config(["serve", "--config", path]).receivers.grpc == "0.0.0.0:4317"
    config = cli_config(["serve", "--config", path, "--grpc", "127.0.0.1:4317"])
    assert config.receivers.grpc == "127.0.0.1:4317"
    assert config.receivers.http is None  # no http protocol in the file
    assert config.print_format == "detailed"


def _write(text: str) -> str:
    import tempfile

    handle = tempfile.NamedTemporaryFile("w", suffix=".yaml", delete=False)
    handle.write(textwrap.dedent(text))
    handle.close()
    return handle.name


def test_unknown_component_exits_2(capsys) -> None:
    path = _write("""
        receivers: {otlp: {protocols: {grpc: }}}
        exporters: {kafka: {brokers: [x]}}
        service: {pipelines: {traces: {receivers: [otlp], exporters: [kafka]}}}
    """)
    with pytest.raises(SystemExit) as exit_info:
        cli_config(["serve", "--config", path])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert "unknown type 'kafka'" in err and "kubespan supports: otlp" in err


@pytest.mark.parametrize(
    "text, message",
    [
        ("""
         receivers: {otlp: {protocols: {grpc: }}}
         processors: {tail_sampling: {}}
         exporters: {debug: }
         service: {pipelines: {traces: {receivers: [otlp], exporters: [debug]}}}
         """, "unknown type 'tail_sampling'"),
        ("""
         receivers: {otlp: {protocols: {grpc: {endpoint: 4317, bogus: 1}}}}
         exporters: {debug: }
         service: {pipelines: {traces: {receivers: [otlp], exporters: [debug]}}}
         """, "unknown key 'bogus'"),
        ("""
         receivers: {otlp: {protocols: {grpc: }}}
         processors: {batch: {timeout: fast}}
         exporters: {debug: }
         service: {pipelines: {traces: {receivers: [otlp], processors: [batch], exporters: [debug]}}}
         """, "invalid duration 'fast'"),
        ("""
         receivers: {otlp: {protocols: {grpc: }}}
         processors: {probabilistic_sampler: {sampling_percentage: lots}}
         exporters: {debug: }
         service: {pipelines: {traces: {receivers: [otlp], processors: [probabilistic_sampler], exporters: [debug]}}}
         """, "want a number"),
        ("""
         receivers: {otlp: {protocols: {grpc: }}}
         exporters: {otlp: {endpoint: x:4317, tls: {insecure: "yes"}}}
         service: {pipelines: {traces: {receivers: [otlp], exporters: [otlp]}}}
         """, "want true or false"),
        ("""
         receivers: {otlp: {protocols: {grpc: }}}
         exporters: {otlp: {endpoint: x:4317, compression: zstd}}
         service: {pipelines: {traces: {receivers: [otlp], exporters: [otlp]}}}
         """, "'zstd' is not supported"),
        ("""
         receivers: {otlp: {protocols: {grpc: }}}
         exporters: {debug: }
         service: {pipelines: {traces: {receivers: [otlp], exporters: [otlp/jaeger]}}}
         """, "references exporter 'otlp/jaeger' which is not configured"),
        ("""
         receivers: {otlp: {protocols: {grpc: }}}
         exporters: {debug: }
         service: {pipelines: {metrics: {receivers: [otlp], exporters: [debug]}}}
         """, "traces only"),
        ("""
         extensions: {health_check: }
         receivers: {otlp: {protocols: {grpc: }}}
         exporters: {debug: }
         service: {pipelines: {traces: {receivers: [otlp], exporters: [debug]}}}
         """, "supports no extensions"),
        ("""
         receivers: {otlp: {protocols: {grpc: }}}
         processors: {batch: {send_batch_size: 100, send_batch_max_size: 10}}
         exporters: {debug: }
         service: {pipelines: {traces: {receivers: [otlp], processors: [batch], exporters: [debug]}}}
         """, "send_batch_max_size must be greater or equal"),
        ("""
         receivers: {otlp: {protocols: {grpc: }}}
         processors: {memory_limiter: {limit_mib: 100}}
         exporters: {debug: }
         service: {pipelines: {traces: {receivers: [otlp], processors: [memory_limiter], exporters: [debug]}}}
         """, "check_interval"),
        ("receivers: [1, 2\n", "invalid YAML"),
        ("""
         receivers: {otlp: {protocols: {grpc: }}}
         processors: {probabilistic_sampler: {hash_seed: 4294967296}}
         exporters: {debug: }
         service: {pipelines: {traces: {receivers: [otlp], processors: [probabilistic_sampler], exporters: [debug]}}}
         """, "must fit in 32 bits"),
        ("""
         receivers: {otlp: {protocols: {grpc: {endpoint: "${file:/etc/x}"}}}}
         exporters: {debug: }
         service: {pipelines: {traces: {receivers: [otlp], exporters: [debug]}}}
         """, "cannot expand"),
    ],
)
def test_refused_configs(text: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message.replace("(", r"\(")):
        parse(text)


def test_unused_component_is_still_validated() -> None:
    with pytest.raises(ConfigError, match="unknown type 'zipkin'"):
        parse("""
            receivers: {otlp: {protocols: {grpc: }}}
            exporters: {debug: , zipkin: {endpoint: x}}
            service: {pipelines: {traces: {receivers: [otlp], exporters: [debug]}}}
        """)


def test_env_substitution() -> None:
    update = parse(
        """
        receivers:
          otlp:
            protocols:
              grpc: {endpoint: "${env:HOST}:${PORT}", max_recv_msg_size_mib: "${env:MIB}"}
        processors:
          probabilistic_sampler: {hash_seed: "${env:SEED}", sampling_percentage: "${env:PCT:-12.5}"}
        exporters:
          otlphttp:
            endpoint: "${env:BACKEND}"
            headers: {authorization: "Bearer ${env:TOKEN}", x-cost: "$$5"}
          file: {path: "${env:MISSING:-/tmp/spans.jsonl}"}
        service:
          pipelines:
            traces: {receivers: [otlp], processors: [probabilistic_sampler], exporters: [otlphttp, file]}
        """,
        {"HOST": "127.0.0.1", "PORT": "4999", "MIB": "16", "SEED": "22", "BACKEND": "https://b.example:4318/otlp",
         "TOKEN": "t0k"},
    )
    assert update.layer["grpc"] == "127.0.0.1:4999" and update.layer["http"] is None
    assert update.layer["max_recv_mib"] == 16.0
    assert (update.layer["sample_percent"], update.layer["sample_seed"]) == (12.5, 22)
    [backend] = update.forwards
    assert backend.protocol == "http" and backend.target == "https://b.example:4318/otlp/v1/traces"
    assert dict(backend.headers) == {"authorization": "Bearer t0k", "x-cost": "$5"}
    assert "t0k" not in backend.describe()
    assert update.layer.get("dump") == "/tmp/spans.jsonl"


def test_exporter_options_map_to_forward_settings() -> None:
    update = parse("""
        receivers: {otlp: {protocols: {http: {endpoint: ":4318"}}}}
        processors: {memory_limiter: {check_interval: 1s, limit_mib: 1000}}
        exporters:
          otlp_grpc/a:
            endpoint: https://collector:4317
            timeout: 2s
            sending_queue: {num_consumers: 2, queue_size: 5000, sizer: items}
            retry_on_failure: {initial_interval: 1s, max_interval: 10s, max_elapsed_time: 1m}
          otlp/b: {endpoint: "http://jaeger:4317", compression: none}
          debug: {verbosity: basic}
        service:
          pipelines:
            traces: {receivers: [otlp], processors: [memory_limiter], exporters: [otlp_grpc/a, otlp/b, debug]}
    """)
    assert update.layer["http"] == "0.0.0.0:4318" and update.layer["grpc"] is None
    assert update.layer.get("max_memory_mib") == 1000  # limit_mib: 1000, the same unit as --max-memory-mib
    a, b = update.forwards
    assert (a.target, a.tls.insecure, a.timeout) == ("collector:4317", False, 2.0)
    assert (a.queue.size, a.queue.sizer, a.queue.consumers) == (5000, "spans", 2)
    assert (a.retry.initial_interval, a.retry.max_interval, a.retry.max_elapsed_time) == (1.0, 10.0, 60.0)
    assert (b.target, b.tls.insecure, b.compression) == ("jaeger:4317", True, "none")
    assert update.layer.get("print_format") is None  # debug at basic verbosity prints only a summary


def test_durations() -> None:
    assert duration("100ms", "x") == pytest.approx(0.1)
    assert duration("1m30s", "x") == 90.0
    assert duration("1.5h", "x") == 5400.0
    assert duration(5_000_000_000, "x") == 5.0
    with pytest.raises(ConfigError):
        duration("5 s", "x")


def test_forward_env(monkeypatch) -> None:
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:14318")
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_HEADERS", "authorization=Bearer%20abc,x-a=b")
    config = cli_config(["serve", "--forward-env"])
    [target] = config.forwards
    assert target.target == "http://127.0.0.1:14318/v1/traces"
    assert dict(target.headers) == {"authorization": "Bearer abc", "x-a": "b"}
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc")
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:14317")
    [target] = cli_config(["serve", "--forward-env"]).forwards
    assert (target.protocol, target.target, target.tls.insecure) == ("grpc", "127.0.0.1:14317", True)
    assert cli_config(["serve", "--forward-env", "--forward", "grpc://127.0.0.1:1"]).forwards[0].target == "127.0.0.1:1"
    assert cli_config(["serve"]).forwards == ()


def test_forward_flags() -> None:
    config = cli_config(["serve", "--forward", "grpcs://127.0.0.1:14317", "--forward-header", "Authorization=Bearer x",
                         "--forward-queue", "20000spans", "--forward-give-up", "0", "--forward-ca", "/tmp/ca.pem"])
    [target] = config.forwards
    assert target.headers == (("Authorization", "Bearer x"),)
    assert (target.queue.size, target.queue.sizer) == (20000, "spans")
    assert target.retry.max_elapsed_time == 0 and target.tls.ca_file == "/tmp/ca.pem"
    with pytest.raises(SystemExit):
        cli_config(["serve", "--forward", "grpcs://127.0.0.1:14317", "--forward-insecure-skip-verify"])


def test_forward_env_errors_exit_2(monkeypatch, capsys) -> None:
    monkeypatch.delenv("OTEL_EXPORTER_OTLP_ENDPOINT", raising=False)
    monkeypatch.delenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", raising=False)
    with pytest.raises(SystemExit) as exit_info:
        cli_config(["serve", "--forward-env"])
    assert exit_info.value.code == 2 and "OTEL_EXPORTER_OTLP_ENDPOINT is not set" in capsys.readouterr().err
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:4318")
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_PROTOCOL", "http/json")
    with pytest.raises(SystemExit) as exit_info:
        cli_config(["serve", "--forward-env"])
    assert exit_info.value.code == 2 and "http/json" in capsys.readouterr().err


@pytest.mark.parametrize("url", ["grpc://127.0.0.1:4317", "grpc://localhost:4317", "http://localhost:4318/"])
def test_forwarding_to_own_receiver_is_refused(url: str, capsys) -> None:
    with pytest.raises(SystemExit) as exit_info:
        cli_config(["serve", "--forward", url])
    assert exit_info.value.code == 2 and "loop forever" in capsys.readouterr().err


def test_forwarding_to_other_port_or_own_port_zero_is_fine() -> None:
    assert cli_config(["serve", "--forward", "grpc://127.0.0.1:14317"]).forwards
    assert cli_config(["serve", "--grpc", "127.0.0.1:0", "--forward", "grpc://127.0.0.1:4317"]).forwards
    assert cli_config(["serve", "--forward", "grpc://jaeger:4317"]).forwards
