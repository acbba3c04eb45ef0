"""The forward loop check: only a target that reaches one of kubespan's own receivers is refused."""

from __future__ import annotations

import os
import socket
import threading
import time

import pytest

from kubespan.forward import loopcheck
from kubespan.forward.loopcheck import is_this_machine, own_receiver
from kubespan.forward.settings import ForwardSettings
from tests.support.cli import cli_options

SEED = os.path.join(os.path.dirname(os.path.dirname(__file__)), "data", "otel-collector.yaml")
NOT_HERE = "198.51.100.7"
"""A documentation address (TEST-NET-2): never one of this machine's; nothing is sent to it."""


def cli_config(argv: list[str]):
    return cli_options(argv)


def fake_resolver(names: dict[str, list[str]]):
    """Resolves the given names (and IP literals), nothing else: no DNS in these tests."""

    def resolver(host: str, timeout: float) -> list[str]:
        literal = loopcheck._literal(host)
        return [literal] if literal else list(names.get(host, []))

    return resolver


def own_non_loopback_address() -> str:
    """An address of one of this machine's interfaces (the source a route would pick)."""
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
            probe.connect((NOT_HERE, 9))  # UDP connect picks a source address and sends nothing
            return probe.getsockname()[0]
    except OSError:
        return "127.0.0.2"  # no route: a loopback address that is not the receiver's


@pytest.fixture
def no_dns(monkeypatch):
    monkeypatch.setattr(loopcheck, "resolve", fake_resolver({
        "localhost": ["127.0.0.1"], "jaeger": [], "otherhost": [NOT_HERE], "myself": [own_non_loopback_address()],
    }))


def test_walkthrough_file_runs_with_a_wildcard_receiver(no_dns) -> None:
    """The k3d recipe: the walkthrough's file with `--grpc 0.0.0.0:4317`; jaeger:4317 is Jaeger."""
    config = cli_config(["serve", "--config", SEED, "--grpc", "0.0.0.0:4317"])
    assert [(f.name, f.target) for f in config.forwards] == [("otlp/jaeger", "jaeger:4317")]


@pytest.mark.parametrize("grpc", ["0.0.0.0:4317", "[::]:4317", ":4317", "127.0.0.1:4317"])
def test_another_host_on_the_receivers_port_is_not_a_loop(no_dns, grpc: str) -> None:
    config = cli_config(["serve", "--grpc", grpc, "--forward", "grpc://otherhost:4317"])
    assert [f.target for f in config.forwards] == ["otherhost:4317"]


@pytest.mark.parametrize("url", ["grpc://127.0.0.1:4317", "grpc://localhost:4317", "grpc://myself:4317",
                                 "grpc://0.0.0.0:4317", "grpc://127.0.0.9:4317"])
def test_a_wildcard_receiver_is_reached_at_every_address_of_this_machine(no_dns, url: str, capsys) -> None:
    with pytest.raises(SystemExit) as exit_info:
        cli_config(["serve", "--grpc", "0.0.0.0:4317", "--forward", url])
    assert exit_info.value.code == 2
    assert "is kubespan's own gRPC receiver: spans would loop forever" in capsys.readouterr().err


def test_a_receiver_on_one_address_is_reached_only_there(no_dns, capsys) -> None:
    assert cli_config(["serve", "--grpc", "127.0.0.1:4317", "--forward", "grpc://127.0.0.9:4317"]).forwards
    assert cli_config(["serve", "--grpc", "127.0.0.1:4317", "--forward", "grpc://myself:4317"]).forwards
    with pytest.raises(SystemExit):
        cli_config(["serve", "--http", "localhost:4318", "--forward", "http://127.0.0.1:4318"])
    assert "own HTTP receiver" in capsys.readouterr().err


def test_this_machine_is_loopback_wildcard_or_an_own_address() -> None:
    for address in ("127.0.0.1", "127.8.9.10", "::1", "0.0.0.0", "::", "::ffff:127.0.0.1",
                    own_non_loopback_address()):
        assert is_this_machine(address), address
    assert not is_this_machine(NOT_HERE)


def test_a_name_that_does_not_resolve_is_not_a_loop() -> None:
    target = ForwardSettings.from_url("grpc://no-such-host.invalid:4317")
    assert own_receiver(target, [("gRPC", "0.0.0.0:4317")]) is None


def test_a_slow_resolver_never_holds_up_the_start(monkeypatch) -> None:
    release = threading.Event()

    def hanging_getaddrinfo(*args, **kwargs):
        release.wait(30)
        raise socket.gaierror("released")

    monkeypatch.setattr(loopcheck.socket, "getaddrinfo", hanging_getaddrinfo)
    target = ForwardSettings.from_url("grpc://slow-dns:4317")
    started = time.monotonic()
    try:
        assert own_receiver(target, [("gRPC", "0.0.0.0:4317")], timeout=0.2) is None
        assert time.monotonic() - started < 5
    finally:
        release.set()


def test_names_are_resolved_only_when_a_port_matches() -> None:
    asked: list[str] = []

    def resolver(host: str, timeout: float) -> list[str]:
        asked.append(host)
        return []

    target = ForwardSettings.from_url("grpc://jaeger:14317")
    assert own_receiver(target, [("gRPC", "0.0.0.0:4317"), ("HTTP", "0.0.0.0:4318")], resolver=resolver) is None
    assert asked == []
