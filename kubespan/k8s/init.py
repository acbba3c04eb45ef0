"""`kubespan k8s init`: write the files that turn on tracing in a local k3d cluster.

The layout and contents follow the OpenTelemetry blog walkthrough kubespan grew out of
(k3s v1.27.1): ``config/apiserver-tracing.yaml``, ``config/kubelet-tracing.yaml`` and
``config.toml.tmpl`` (k3s's containerd template), plus a ``k3d cluster create`` command.

What changes with the k3s version:

* ``TracingConfiguration`` is ``apiserver.config.k8s.io/v1alpha1`` before 1.27,
  ``v1beta1`` from 1.27 and ``v1`` from 1.34 (APIServerTracing went GA there).
* The ``APIServerTracing`` / ``KubeletTracing`` feature gates are set before 1.34 (as the
  walkthrough does); from 1.34 both are GA and locked, and the gates are due for removal,
  so setting them would eventually stop the component from starting.
* From v1.27.5+k3s1 (and v1.25.13, v1.26.8, v1.28.1) ``config.toml.tmpl`` can extend k3s's
  own template with ``{{ template "base" . }}``, so only the tracing sections are added;
  older releases get the walkthrough's full template.
* k3s ships containerd 2.x from v1.31.6+k3s1 / v1.32.2+k3s1 / v1.33. containerd 2 ignores
  the ``endpoint``/``protocol``/``insecure`` and ``sampling_ratio``/``service_name`` keys of
  its tracing plugins (they only log a deprecation warning) and skips tracing unless
  ``OTEL_EXPORTER_OTLP_ENDPOINT`` is set. So for those versions no containerd template is
  written; the k3d command passes ``CONTAINERD_OTEL_*`` variables instead (k3s strips the
  ``CONTAINERD_`` prefix and hands them to containerd only).
"""

from __future__ import annotations

import re
import shlex
import textwrap
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import yaml

from kubespan.k8s.containerd_template import CONTAINERD_V2_TEMPLATE

DEFAULT_ENDPOINT = "host.k3d.internal:4317"
DEFAULT_SAMPLING = 1_000_000
DEFAULT_K3S_VERSION = "v1.27.1-k3s1"
DEFAULT_CLUSTER_NAME = "tracingcluster"
MIN_K8S_MINOR = 25  # kubelet tracing appeared (alpha) in 1.25

APISERVER_FILE = "config/apiserver-tracing.yaml"
KUBELET_FILE = "config/kubelet-tracing.yaml"
CONTAINERD_FILE = "config.toml.tmpl"

_VERSION_RE = re.compile(r"^v(\d+)\.(\d+)\.(\d+)(-rc\d+)?[-+]k3s(\d+)$")
_CLUSTER_RE = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_ENDPOINT_RE = re.compile(r"^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9_.-]+):(\d{1,5})$")


class InitError(ValueError):
    """Invalid `kubespan k8s init` input."""


class FilesExistError(FileExistsError):
    """Some of the files to write already exist (use force to overwrite)."""

    def __init__(self, paths: list[Path]) -> None:
        self.paths = paths
        listing = "\n".join(f"  {p}" for p in paths)
        super().__init__(f"refusing to overwrite existing files (use --force):\n{listing}")


@dataclass(frozen=True)
class InitOptions:
    """Inputs of `kubespan k8s init`; validated on creation."""

    endpoint: str = DEFAULT_ENDPOINT
    sampling: int = DEFAULT_SAMPLING  # samplingRatePerMillion
    k3s_version: str = DEFAULT_K3S_VERSION
    cluster_name: str = DEFAULT_CLUSTER_NAME
    token: str | None = None  # bearer token the cluster sends to kubespan (`kubespan --token`)

    def __post_init__(self) -> None:
        if isinstance(self.sampling, bool) or not isinstance(self.sampling, int):
            raise InitError(f"sampling must be an integer number per million, got {self.sampling!r}")
        if not 0 <= self.sampling <= 1_000_000:
            raise InitError(f"sampling must be between 0 and 1000000 (per million), got {self.sampling}")
        m = _ENDPOINT_RE.match(self.endpoint)
        if not m or not 1 <= int(m.group(2)) <= 65535:
            raise InitError(
                f"endpoint must be HOST:PORT without a scheme (e.g. {DEFAULT_ENDPOINT}), got {self.endpoint!r}"
            )
        v = _VERSION_RE.match(self.k3s_version)
        if not v:
            raise InitError(
                f"k3s version must look like {DEFAULT_K3S_VERSION} (a rancher/k3s image tag), got {self.k3s_version!r}"
            )
        if (int(v.group(1)), int(v.group(2))) < (1, MIN_K8S_MINOR):
            raise InitError(f"kubelet tracing needs Kubernetes 1.{MIN_K8S_MINOR} or later, got {self.k3s_version}")
        if len(self.cluster_name) > 32 or not _CLUSTER_RE.match(self.cluster_name):
            raise InitError(
                "cluster name must be 1-32 lowercase letters, digits or '-', starting and ending "
                f"with a letter or digit, got {self.cluster_name!r}"
            )
        if self.token is not None and (not self.token or any(c.isspace() for c in self.token)):
            raise InitError("token must be non-empty and contain no whitespace")

    @property
    def k8s_version(self) -> tuple[int, int, int]:
        """(major, minor, patch) of the Kubernetes release inside the k3s image."""
        m = _VERSION_RE.match(self.k3s_version)
        assert m
        return int(m.group(1)), int(m.group(2)), int(m.group(3))

    @property
    def image_tag(self) -> str:
        """Docker tag of the k3s image (`+` becomes `-`)."""
        return self.k3s_version.replace("+", "-")

    @property
    def port(self) -> int:
        return int(self.endpoint.rsplit(":", 1)[1])


def tracing_api_version(options: InitOptions) -> str:
    """apiVersion of the apiserver's TracingConfiguration for this Kubernetes version."""
    minor = options.k8s_version[1]
    if minor >= 34:
        return "apiserver.config.k8s.io/v1"
    if minor >= 27:
        return "apiserver.config.k8s.io/v1beta1"
    return "apiserver.config.k8s.io/v1alpha1"


def needs_feature_gates(options: InitOptions) -> bool:
    """Whether APIServerTracing/KubeletTracing are still settable gates (before GA in 1.34)."""
    return options.k8s_version[1] < 34


def uses_containerd2(options: InitOptions) -> bool:
    """Whether this k3s release embeds containerd 2.x (v1.31.6+, v1.32.2+, 1.33 and later)."""
    _, minor, patch = options.k8s_version
    return minor >= 33 or (minor == 32 and patch >= 2) or (minor == 31 and patch >= 6)


def has_base_template(options: InitOptions) -> bool:
    """Whether k3s lets config.toml.tmpl extend its own template with `{{ template "base" . }}`
    (September 2023 releases: v1.25.13, v1.26.8, v1.27.5, v1.28.1 and later)."""
    _, minor, patch = options.k8s_version
    return minor >= 29 or patch >= {25: 13, 26: 8, 27: 5, 28: 1}.get(minor, 1_000)


def _yaml_scalar(value: str) -> str:
    """`value` as a YAML scalar, quoted only when plain YAML would read something else."""
    try:
        if yaml.safe_load(value) == value:
            return value
    except yaml.YAMLError:
        pass
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _percent(sampling: int) -> str:
    return f"{sampling / 10_000:g}%"


def _ratio(sampling: int) -> str:
    """samplingRatePerMillion as a plain decimal (1.0, 0.001), valid in TOML and env vars."""
    text = f"{sampling / 1_000_000:.6f}".rstrip("0")
    return text + "0" if text.endswith(".") else text


def render_apiserver(options: InitOptions) -> str:
    return (
        f"apiVersion: {tracing_api_version(options)}\n"
        "kind: TracingConfiguration\n"
        f"endpoint: {_yaml_scalar(options.endpoint)}\n"
        f"samplingRatePerMillion: {options.sampling} # {_percent(options.sampling)}\n"
    )


def render_kubelet(options: InitOptions) -> str:
    gates = "featureGates:\n  KubeletTracing: true\n" if needs_feature_gates(options) else ""
    return (
        "apiVersion: kubelet.config.k8s.io/v1beta1\n"
        "kind: KubeletConfiguration\n"
        f"{gates}"
        "tracing:\n"
        f"  endpoint: {_yaml_scalar(options.endpoint)}\n"
        f"  samplingRatePerMillion: {options.sampling} # {_percent(options.sampling)}\n"
    )


def render_containerd_template(options: InitOptions) -> str:
    """k3s's containerd 1.x config template (version 2) with the two tracing sections.

    Releases that can extend k3s's base template do so, which keeps k3s's own (newer) settings;
    older ones get the walkthrough's full copy of the v1.27.1 template.
    """
    base = '{{ template "base" . }}\n' if has_base_template(options) else CONTAINERD_V2_TEMPLATE
    return base + (
        '\n[plugins."io.containerd.tracing.processor.v1.otlp"]\n'
        f'  endpoint = "{options.endpoint}"\n'
        '  protocol = "grpc"\n'
        "  insecure = true\n"
        '\n[plugins."io.containerd.internal.v1.tracing"]\n'
        f"  sampling_ratio = {_ratio(options.sampling)}\n"
        '  service_name = "containerd"\n'
    )


def render_files(options: InitOptions) -> dict[str, str]:
    """Relative path -> content of every file `kubespan k8s init` writes."""
    files = {APISERVER_FILE: render_apiserver(options), KUBELET_FILE: render_kubelet(options)}
    if not uses_containerd2(options):
        files[CONTAINERD_FILE] = render_containerd_template(options)
    return files


def containerd_env(options: InitOptions) -> dict[str, str]:
    """OTEL_* environment for containerd, passed with k3s's CONTAINERD_ prefix.

    containerd 2.x reads tracing settings only from there. Releases with the base template
    (containerd 1.7 era) get it too: containerd 1.7.16-1.7.18 ignored the TOML settings
    (containerd#10358) and later 1.7 releases prefer the environment, with the same values.
    The walkthrough's older releases (containerd 1.6) read only their template.
    """
    if not (uses_containerd2(options) or has_base_template(options)):
        return {}
    return {
        "CONTAINERD_OTEL_EXPORTER_OTLP_ENDPOINT": f"http://{options.endpoint}",
        "CONTAINERD_OTEL_EXPORTER_OTLP_PROTOCOL": "grpc",
        "CONTAINERD_OTEL_SERVICE_NAME": "containerd",
        "CONTAINERD_OTEL_TRACES_SAMPLER": "parentbased_traceidratio",
        "CONTAINERD_OTEL_TRACES_SAMPLER_ARG": _ratio(options.sampling),
    }


def _sq(text: str) -> str:
    """Single-quote for a POSIX shell, as the walkthrough writes its k3d arguments."""
    return "'" + text.replace("'", "'\"'\"'") + "'"


def k3d_command(directory: str | Path, options: InitOptions) -> str:
    """The `k3d cluster create` command for files written in `directory` (absolute paths)."""
    root = Path(directory).expanduser().resolve()
    if ":" in str(root) or "@" in str(root):
        raise InitError(f"k3d volume specs cannot contain ':' or '@'; move the files out of {root}")
    lines = [f"k3d cluster create {options.cluster_name}", f"--image=rancher/k3s:{options.image_tag}"]
    if not uses_containerd2(options):
        tmpl = f"{root / CONTAINERD_FILE}:/var/lib/rancher/k3s/agent/etc/containerd/config.toml.tmpl@server:*"
        lines.append(f"--volume {_sq(tmpl)}")
    lines.append(f"--volume {_sq(str(root / 'config') + ':/etc/kube-tracing@server:*')}")
    for key, value in containerd_env(options).items():
        lines.append(f"--env {_sq(f'{key}={value}@server:*')}")
    if options.token:
        header = "OTEL_EXPORTER_OTLP_HEADERS=authorization=" + quote(f"Bearer {options.token}") + "@server:*"
        lines.append(f"--env {_token_header_env()}" if _token_is_url_safe(options.token) else f"--env {_sq(header)}")
    lines.append(
        "--k3s-arg '--kube-apiserver-arg=tracing-config-file=/etc/kube-tracing/apiserver-tracing.yaml@server:*'"
    )
    if needs_feature_gates(options):
        lines.append("--k3s-arg '--kube-apiserver-arg=feature-gates=APIServerTracing=true@server:*'")
    lines.append("--k3s-arg '--kubelet-arg=config=/etc/kube-tracing/kubelet-tracing.yaml@server:*'")
    return " \\\n  ".join(lines)


TOKEN_VARIABLE = "KUBESPAN_TOKEN"
"""Where the printed commands read the token from, so that it is never printed itself."""


def _token_is_url_safe(token: str) -> bool:
    """Whether the token goes into OTEL_EXPORTER_OTLP_HEADERS as it is (no percent-encoding)."""
    return quote(token) == token


def _token_header_env() -> str:
    """The k3d `--env` value sending the token, read from $KUBESPAN_TOKEN by the shell."""
    return f'"OTEL_EXPORTER_OTLP_HEADERS=authorization=Bearer%20${{{TOKEN_VARIABLE}}}@server:*"'


def kubespan_command(options: InitOptions) -> str:
    """The kubespan command whose receiver the cluster can reach from its containers.

    With a token, kubespan reads it from $KUBESPAN_TOKEN (its default for --token), so the
    command to copy does not contain it."""
    return shlex.join(["kubespan", "--grpc", f"0.0.0.0:{options.port}"])


def token_step(options: InitOptions) -> str:
    """What to run first when a token is set: the printed commands read it from the environment."""
    if not options.token:
        return ""
    if _token_is_url_safe(options.token):
        return (f"0. In each shell below, set the token you gave (it is not printed here):\n\n"
                f"  export {TOKEN_VARIABLE}=...\n\n")
    return (f"0. In the shell that runs kubespan, set the token you gave (it is not printed here):\n\n"
            f"  export {TOKEN_VARIABLE}=...\n\n"
            "   The k3d command below carries it percent-encoded, as OTEL_EXPORTER_OTLP_HEADERS needs "
            "it (it has characters other than letters, digits and -._~/); keep that command private.\n\n")


def network_note(options: InitOptions) -> str:
    """Plain-words warning about where kubespan must listen for the cluster to reach it."""
    return (
        f"The cluster's containers send traces to {options.endpoint}. k3d points host.k3d.internal at "
        "your machine's address on the docker bridge network, not at 127.0.0.1, so a kubespan that "
        "listens only on localhost never sees them. Run kubespan on an address the containers can "
        f"reach, for example `{kubespan_command(options)}`.\n"
        "That also opens the receiver to anything else that can reach this machine on that port: "
        f"give kubespan a token (${TOKEN_VARIABLE}, or --token; and the same to `kubespan k8s init --token` so "
        "the cluster sends it), or block the port in your firewall for everything but the docker bridge."
    )


def next_steps(directory: str | Path, options: InitOptions) -> str:
    """Everything to do after the files are written, ready to print."""
    return (
        f"{token_step(options)}"
        f"1. Start kubespan where the cluster can reach it:\n\n  {kubespan_command(options)}\n\n"
        f"{network_note(options)}\n\n"
        f"2. Create the cluster:\n\n{textwrap.indent(k3d_command(directory, options), '  ')}\n\n"
        "3. Make something happen and look for it in kubespan:\n\n"
        "  kubectl run -it --rm --restart=Never --image=alpine echo-command -- echo hi\n\n"
        "  then press / in kubespan and filter with\n\n"
        "  service=kubelet name=syncPod k8s.pod=default/echo-command\n"
    )


def write_files(directory: str | Path, options: InitOptions, force: bool = False) -> list[Path]:
    """Write the rendered files under `directory`; refuse to overwrite unless `force`."""
    root = Path(directory).expanduser()
    files = {root / rel: text for rel, text in render_files(options).items()}
    existing = [p for p in files if p.exists()]
    if existing and not force:
        raise FilesExistError(existing)
    for path, text in files.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return list(files)


def run_init(directory: str | Path = ".", options: InitOptions | None = None, force: bool = False) -> str:
    """`kubespan k8s init [DIR]`: write the files and return the text to print."""
    options = options or InitOptions()
    written = write_files(directory, options, force=force)
    listing = "\n".join(f"  {p}" for p in written)
    return f"Wrote:\n{listing}\n\n{next_steps(directory, options)}"
