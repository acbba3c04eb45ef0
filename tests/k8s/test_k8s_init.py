"""`kubespan k8s init`: generated files per k3s version, golden files, overwrite rules."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
import yaml

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib

from kubespan.k8s.init import (
    APISERVER_FILE,
    CONTAINERD_FILE,
    KUBELET_FILE,
    FilesExistError,
    InitError,
    InitOptions,
    k3d_command,
    network_note,
    next_steps,
    render_files,
    run_init,
    write_files,
)

GOLDEN = Path(__file__).parent.parent / "golden" / "k8s"
NEW = "v1.33.1-k3s1"  # containerd 2.x, gates still settable
GA = "v1.34.1-k3s1"  # tracing GA: v1 TracingConfiguration, no gates
GOLDEN_CASES = {"v1.27.1-k3s1": InitOptions(), NEW: InitOptions(k3s_version=NEW)}


_CTL = r"\{\{-?\s*(?:if|else|end|range|template)\b[^}]*\}\}"
_INLINE_IF_ELSE = re.compile(r"\{\{-?\s*if\b[^}]*\}\}([^{]*)\{\{-?\s*else\s*\}\}([^{]*)\{\{-?\s*end\s*\}\}")
_INLINE_BLOCK = re.compile(
    r"\{\{-?\s*(?:if|range)\b[^}]*\}\}(?:(?!\{\{-?\s*(?:if|range|end|else)\b).)*?\{\{-?\s*end\s*\}\}"
)


def strip_go_template(text: str) -> str:
    """Render the Go template crudely: one-line `{{if}}...{{end}}` vanish (`else` branch kept),
    multi-line block tags are dropped (their body kept), values become "x" or true."""
    out = []
    for line in text.splitlines():
        line = _INLINE_IF_ELSE.sub(r"\2", line)
        while (reduced := _INLINE_BLOCK.sub("", line)) != line:
            line = reduced
        line = re.sub(_CTL, "", line)
        if not line.strip():
            continue
        line = re.sub(r'"\{\{[^}]*\}\}"', '"x"', line)  # quoted value
        line = re.sub(r"\{\{[^}]*\}\}", "true", line)  # bare value (booleans)
        out.append(line)
    return "\n".join(out) + "\n"


def test_default_options_match_the_walkthrough() -> None:
    o = InitOptions()
    assert (o.endpoint, o.sampling, o.k3s_version, o.cluster_name) == (
        "host.k3d.internal:4317",
        1_000_000,
        "v1.27.1-k3s1",
        "tracingcluster",
    )


@pytest.mark.parametrize(
    ("version", "api_version", "gates"),
    [
        ("v1.26.5-k3s1", "apiserver.config.k8s.io/v1alpha1", True),
        ("v1.27.1-k3s1", "apiserver.config.k8s.io/v1beta1", True),
        ("v1.31.5+k3s1", "apiserver.config.k8s.io/v1beta1", True),
        (NEW, "apiserver.config.k8s.io/v1beta1", True),
        (GA, "apiserver.config.k8s.io/v1", False),
        ("v1.36.0-k3s1", "apiserver.config.k8s.io/v1", False),
    ],
)
def test_yaml_kinds_and_fields_per_version(version: str, api_version: str, gates: bool) -> None:
    o = InitOptions(k3s_version=version, sampling=2500, endpoint="192.168.65.254:4317")
    files = render_files(o)
    api = yaml.safe_load(files[APISERVER_FILE])
    assert api == {
        "apiVersion": api_version,
        "kind": "TracingConfiguration",
        "endpoint": "192.168.65.254:4317",
        "samplingRatePerMillion": 2500,
    }
    kubelet = yaml.safe_load(files[KUBELET_FILE])
    assert kubelet["apiVersion"] == "kubelet.config.k8s.io/v1beta1"
    assert kubelet["kind"] == "KubeletConfiguration"
    assert kubelet["tracing"] == {"endpoint": "192.168.65.254:4317", "samplingRatePerMillion": 2500}
    assert ("featureGates" in kubelet) is gates
    if gates:
        assert kubelet["featureGates"] == {"KubeletTracing": True}
    cmd = k3d_command("/tmp/kt", o)
    assert ("feature-gates=APIServerTracing=true" in cmd) is gates


def test_ipv6_endpoint_is_quoted_in_yaml() -> None:
    files = render_files(InitOptions(endpoint="[fd00::1]:4317"))
    assert yaml.safe_load(files[APISERVER_FILE])["endpoint"] == "[fd00::1]:4317"
    assert yaml.safe_load(files[KUBELET_FILE])["tracing"]["endpoint"] == "[fd00::1]:4317"


@pytest.mark.parametrize(("sampling", "ratio"), [(1_000_000, 1.0), (1000, 0.001), (1, 0.000001), (0, 0.0)])
def test_containerd_template_keeps_go_syntax_and_parses_as_toml(sampling: int, ratio: float) -> None:
    text = render_files(InitOptions(sampling=sampling, endpoint="10.0.0.5:14317"))[CONTAINERD_FILE]
    assert text.startswith("version = 2\n")
    assert "{{ .NodeConfig.Containerd.Opt }}" in text
    assert "{{- if .DisableCgroup}}" in text
    assert "{{range $k, $v := .PrivateRegistryConfig.Mirrors }}" in text
    doc = tomllib.loads(strip_go_template(text))
    plugins = doc["plugins"]
    assert plugins["io.containerd.tracing.processor.v1.otlp"] == {
        "endpoint": "10.0.0.5:14317",
        "protocol": "grpc",
        "insecure": True,
    }
    assert plugins["io.containerd.internal.v1.tracing"] == {"sampling_ratio": ratio, "service_name": "containerd"}
    assert plugins["io.containerd.grpc.v1.cri"]["stream_server_port"] == "10010"


@pytest.mark.parametrize(
    ("version", "extends_base"),
    [("v1.27.1-k3s1", False), ("v1.27.4-k3s1", False), ("v1.27.5-k3s1", True), ("v1.26.8-k3s1", True),
     ("v1.28.0-k3s1", False), ("v1.28.1-k3s1", True), ("v1.30.2-k3s2", True), ("v1.31.5-k3s1", True)],
)
def test_newer_containerd1_releases_extend_the_base_template(version: str, extends_base: bool) -> None:
    text = render_files(InitOptions(k3s_version=version))[CONTAINERD_FILE]
    assert text.startswith('{{ template "base" . }}\n') is extends_base
    assert text.startswith("version = 2\n") is not extends_base
    if tomllib is not None:
        plugins = tomllib.loads(strip_go_template(text))["plugins"]
        assert plugins["io.containerd.tracing.processor.v1.otlp"]["endpoint"] == "host.k3d.internal:4317"


def test_containerd2_releases_get_env_instead_of_a_template() -> None:
    for version in ("v1.31.6-k3s1", "v1.32.2-k3s1", NEW, "v1.36.0-k3s1"):
        o = InitOptions(k3s_version=version, sampling=500_000)
        assert CONTAINERD_FILE not in render_files(o)
        cmd = k3d_command("/tmp/kt", o)
        assert "config.toml.tmpl" not in cmd
        assert "'CONTAINERD_OTEL_EXPORTER_OTLP_ENDPOINT=http://host.k3d.internal:4317@server:*'" in cmd
        assert "CONTAINERD_OTEL_TRACES_SAMPLER_ARG=0.5@server:*" in cmd
    for version in ("v1.31.5-k3s1", "v1.32.1-k3s1", "v1.30.9-k3s1"):
        o = InitOptions(k3s_version=version)
        assert CONTAINERD_FILE in render_files(o)  # containerd 1.7: template and environment
        cmd = k3d_command("/tmp/kt", o)
        assert "config.toml.tmpl@server:*'" in cmd and "CONTAINERD_OTEL_EXPORTER_OTLP_ENDPOINT" in cmd
    assert "CONTAINERD_OTEL" not in k3d_command("/tmp/kt", InitOptions())  # the walkthrough, unchanged


@pytest.mark.parametrize("version", sorted(GOLDEN_CASES))
def test_golden_files(version: str, tmp_path: Path) -> None:
    options = GOLDEN_CASES[version]
    expected_dir = GOLDEN / version
    files = render_files(options)
    if os.environ.get("KUBESPAN_UPDATE_GOLDEN") == "1":
        _write_golden(expected_dir, files, k3d_command("/KUBETRACING", options))
    golden = {
        p.relative_to(expected_dir).as_posix(): p.read_text()
        for p in expected_dir.rglob("*")
        if p.is_file() and p.name != "k3d-command.sh"
    }
    assert files == golden
    cmd = k3d_command("/KUBETRACING", options)
    assert cmd + "\n" == (expected_dir / "k3d-command.sh").read_text()


def _write_golden(directory: Path, files: dict[str, str], command: str) -> None:
    """KUBESPAN_UPDATE_GOLDEN=1 rewrites tests/golden/k8s after an intended change."""
    for rel, text in files.items():
        (directory / rel).parent.mkdir(parents=True, exist_ok=True)
        (directory / rel).write_text(text)
    (directory / "k3d-command.sh").write_text(command + "\n")


def test_k3d_command_uses_absolute_paths(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    cmd = k3d_command(".", InitOptions())
    assert "[CURRENT_PATH]" not in cmd
    volumes = re.findall(r"--volume '([^']+)'", cmd)
    assert len(volumes) == 2
    for spec in volumes:
        host = spec.split(":", 1)[0]
        assert Path(host).is_absolute() and host.startswith(str(tmp_path.resolve()))
    assert cmd.startswith("k3d cluster create tracingcluster \\\n  --image=rancher/k3s:v1.27.1-k3s1")
    assert "k3d cluster create demo " in k3d_command(tmp_path, InitOptions(cluster_name="demo"))


def test_plus_in_version_becomes_image_tag() -> None:
    assert "--image=rancher/k3s:v1.30.4-k3s1" in k3d_command("/tmp", InitOptions(k3s_version="v1.30.4+k3s1"))


def test_token_is_sent_by_the_cluster_and_required_by_kubespan_but_never_printed(tmp_path) -> None:
    o = InitOptions(token="s3cret")
    assert '"OTEL_EXPORTER_OTLP_HEADERS=authorization=Bearer%20${KUBESPAN_TOKEN}@server:*"' in k3d_command("/tmp", o)
    steps = next_steps(tmp_path, o)
    assert "s3cret" not in steps and "export KUBESPAN_TOKEN=" in steps
    assert "kubespan --grpc 0.0.0.0:4317\n" in steps  # kubespan reads $KUBESPAN_TOKEN itself


def test_the_shell_expands_the_token_into_the_header(tmp_path) -> None:
    import subprocess

    command = k3d_command(tmp_path, InitOptions(token="s3cret"))
    printed = subprocess.run(["sh", "-c", "printf '%s\\n' " + command.replace("k3d cluster create", "", 1)],
                             capture_output=True, text=True, env={"KUBESPAN_TOKEN": "s3cret", "PATH": "/usr/bin:/bin"})
    assert "OTEL_EXPORTER_OTLP_HEADERS=authorization=Bearer%20s3cret@server:*" in printed.stdout.split("\n")


def test_a_token_that_needs_percent_encoding_is_written_encoded_with_a_warning(tmp_path) -> None:
    o = InitOptions(token="a+b/c=")
    assert "authorization=Bearer%20a%2Bb/c%3D@server:*" in k3d_command("/tmp", o)
    assert "keep that command private" in next_steps(tmp_path, o)


def test_network_note_mentions_bridge_address_and_token() -> None:
    note = network_note(InitOptions())
    assert "0.0.0.0:4317" in note and "docker bridge" in note and "--token" in note and "firewall" in note


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"sampling": -1}, "between 0 and 1000000"),
        ({"sampling": 1_000_001}, "between 0 and 1000000"),
        ({"sampling": 0.5}, "integer"),
        ({"k3s_version": "1.27"}, "k3s version"),
        ({"k3s_version": "v1.27.1"}, "k3s version"),
        ({"k3s_version": "v1.24.9-k3s1"}, "1.25 or later"),
        ({"endpoint": "http://host:4317"}, "HOST:PORT"),
        ({"endpoint": "host"}, "HOST:PORT"),
        ({"endpoint": "host:70000"}, "HOST:PORT"),
        ({"cluster_name": "Bad_Name"}, "cluster name"),
        ({"token": "a b"}, "token"),
    ],
)
def test_invalid_options_are_rejected_clearly(kwargs: dict, message: str) -> None:
    with pytest.raises(InitError, match=message):
        InitOptions(**kwargs)


def test_write_files_refuses_to_overwrite_unless_forced(tmp_path: Path) -> None:
    written = write_files(tmp_path, InitOptions())
    assert sorted(p.relative_to(tmp_path).as_posix() for p in written) == sorted(
        [APISERVER_FILE, KUBELET_FILE, CONTAINERD_FILE]
    )
    (tmp_path / KUBELET_FILE).write_text("mine\n")
    with pytest.raises(FilesExistError) as err:
        write_files(tmp_path, InitOptions(sampling=10))
    assert str(tmp_path / KUBELET_FILE) in str(err.value) and "--force" in str(err.value)
    assert len(err.value.paths) == 3
    assert (tmp_path / KUBELET_FILE).read_text() == "mine\n"  # nothing written
    write_files(tmp_path, InitOptions(sampling=10), force=True)
    assert "samplingRatePerMillion: 10 # 0.001%" in (tmp_path / KUBELET_FILE).read_text()


def test_partial_conflict_writes_nothing(tmp_path: Path) -> None:
    (tmp_path / CONTAINERD_FILE).write_text("keep")
    with pytest.raises(FilesExistError) as err:
        write_files(tmp_path, InitOptions())
    assert err.value.paths == [tmp_path / CONTAINERD_FILE]
    assert not (tmp_path / "config").exists()


def test_run_init_prints_files_and_next_steps(tmp_path: Path) -> None:
    text = run_init(tmp_path / "kubetracing", InitOptions())
    assert "Wrote:" in text and "kubespan --grpc 0.0.0.0:4317" in text
    assert str((tmp_path / "kubetracing").resolve() / "config") in text
    assert "k8s.pod=default/echo-command" in text
