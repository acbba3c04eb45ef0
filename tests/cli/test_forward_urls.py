"""A bad `--forward` URL is one line naming it and what is wrong; near-misses are warned about."""

from __future__ import annotations

import subprocess
import sys

import pytest

from kubespan.forward.settings import ForwardSettings
from tests.support.cli import cli_options

WANT = "want grpc://HOST:PORT, grpcs://HOST:PORT, http://HOST:PORT or https://HOST:PORT"


def cli_config(argv: list[str]):
    return cli_options(argv)


def test_a_bad_url_is_one_line_without_the_usage_text() -> None:
    result = subprocess.run([sys.executable, "-m", "kubespan", "serve", "--forward", "grpc//jaeger:4317"],
                            capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 2
    assert result.stderr == f"kubespan: --forward: invalid forward URL 'grpc//jaeger:4317': no scheme; {WANT}\n"


@pytest.mark.parametrize("url, problem", [
    ("jaeger:4317", "no scheme"),
    ("htp://jaeger:4318", "unknown scheme 'htp'"),
    ("http://:4318", "no host"),
    ("http://jaeger:43x8", "the port '43x8' is not a number from 0 to 65535"),
    ("grpc://jaeger:99999", "the port '99999' is not a number from 0 to 65535"),
    ("http://jaeger:4318/v1/traces?x=1", "a query or fragment (?… #…) has no meaning here"),
])
def test_the_line_says_what_is_wrong(url: str, problem: str, capsys) -> None:
    with pytest.raises(SystemExit) as exit_info:
        cli_config(["serve", "--forward", url])
    assert exit_info.value.code == 2
    assert capsys.readouterr().err == f"kubespan: --forward: invalid forward URL {url!r}: {problem}; {WANT}\n"


def test_a_misspelt_traces_path_is_warned_about(capsys) -> None:
    config = cli_config(["serve", "--forward", "http://jaeger:4318/v1/trace"])
    assert config.forwards[0].target == "http://jaeger:4318/v1/trace/v1/traces"  # as documented: the path is a base
    assert capsys.readouterr().err == (
        "kubespan: --forward http://jaeger:4318/v1/trace: spans go to http://jaeger:4318/v1/trace/v1/traces "
        "(the path is a base; /v1/traces is added): did you mean http://jaeger:4318/v1/traces?\n")


@pytest.mark.parametrize("url", ["http://jaeger:4318", "http://jaeger:4318/v1/traces", "https://otlp.example/otlp/",
                                 "https://otlp.example/otlp/v1/traces"])
def test_right_urls_are_not_warned_about(url: str, capsys) -> None:
    assert cli_config(["serve", "--forward", url]).forwards
    assert capsys.readouterr().err == ""


def test_a_grpc_path_is_ignored_and_said(capsys) -> None:
    assert cli_config(["serve", "--forward", "grpc://jaeger:4317/v1/traces"]).forwards[0].target == "jaeger:4317"
    assert "gRPC targets have no path: /v1/traces is ignored" in capsys.readouterr().err


def test_a_password_in_the_url_is_never_shown(capsys) -> None:
    settings = ForwardSettings.from_url("https://user:s3cret@otlp.example/v1/traces")
    assert "s3cret" not in settings.name and "s3cret" not in settings.describe()
    with pytest.raises(SystemExit):
        cli_config(["serve", "--forward", "htps://user:s3cret@otlp.example"])
    assert "s3cret" not in capsys.readouterr().err
