"""Forwarding over TLS: grpcs:// and https:// with a CA file, and https:// without verification."""

from __future__ import annotations

import dataclasses
import ssl

import pytest

from kubespan.forward.forwarder import Forwarder
from kubespan.forward.settings import ForwardSettings, RetrySettings
from kubespan.otlp.attributes import new_attribute_table
from kubespan.otlp.decode import decode_request
from kubespan.pipeline import Pipeline
from kubespan.receive.settings import ReceiverSettings
from kubespan.stats import Counters
from tests.support.forward_helpers import Counting, HttpBackend, make_request, wait_until
from tests.support.secutil import make_pki

FAST = RetrySettings(initial_interval=0.01, max_interval=0.05, max_elapsed_time=30.0)


@pytest.fixture(scope="module")
def certificate(tmp_path_factory) -> tuple[str, str, str]:
    """A server certificate for localhost / 127.0.0.1: (cert file, key file, CA file)."""
    pki = make_pki(tmp_path_factory.mktemp("tls"))
    return pki.server_cert, pki.server_key, pki.ca


def batch(spans: int):
    return decode_request(make_request(spans), new_attribute_table())[0]


def forward(settings: ForwardSettings, spans: int, counting: Counting, total: int | None = None) -> Counters:
    """Forward one batch of `spans` and wait until `counting` holds `total` spans."""
    counters = Counters()
    forwarder = Forwarder(dataclasses.replace(settings, retry=FAST, timeout=2.0), counters, log=lambda _: None)
    try:
        forwarder.consume_traces(batch(spans))
        counting.wait_for(total or spans, timeout=10)
    finally:
        forwarder.close(1)
    return counters


def test_grpcs_with_ca_file(certificate) -> None:
    from kubespan.receive.grpc_server import GrpcReceiver

    cert, key, ca = certificate
    counting = Counting()
    receiver = GrpcReceiver(Pipeline(consumers=[counting]), ReceiverSettings(tls_cert=cert, tls_key=key), "127.0.0.1:0")
    port = receiver.start().rpartition(":")[2]
    try:
        settings = ForwardSettings.from_url(f"grpcs://localhost:{port}")
        settings = settings.with_options(tls=dataclasses.replace(settings.tls, ca_file=ca))
        counters = forward(settings, 6, counting)
    finally:
        receiver.stop(0.5)
    assert len(counting.names) == 6 and counters.get("forward_sent_spans") == 6


def _https_backend(cert: str, key: str) -> HttpBackend:
    backend = HttpBackend()
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    backend.server.socket = context.wrap_socket(backend.server.socket, server_side=True)
    return backend


def test_https_with_ca_file_and_skip_verify(certificate) -> None:
    cert, key, ca = certificate
    backend = _https_backend(cert, key)
    try:
        base = ForwardSettings.from_url(f"https://127.0.0.1:{backend.port}")
        verified = base.with_options(tls=dataclasses.replace(base.tls, ca_file=ca))
        assert forward(verified, 3, backend.counting).get("forward_sent_spans") == 3
        skipping = base.with_options(tls=dataclasses.replace(base.tls, insecure_skip_verify=True))
        assert forward(skipping, 3, backend.counting, total=6).get("forward_sent_spans") == 3
        assert len(backend.counting.names) == 6
    finally:
        backend.stop()


def test_https_unknown_ca_is_reported_and_retried(certificate) -> None:
    cert, key, _ = certificate
    backend = _https_backend(cert, key)
    counters = Counters()
    logs: list[str] = []
    settings = dataclasses.replace(ForwardSettings.from_url(f"https://127.0.0.1:{backend.port}"), retry=FAST)
    forwarder = Forwarder(settings, counters, log=logs.append)
    try:
        forwarder.consume_traces(batch(2))
        assert wait_until(lambda: counters.get("forward_retries") >= 1)
    finally:
        forwarder.close(0.2)
        backend.stop()
    assert "CERTIFICATE_VERIFY_FAILED" in logs[0]
    assert backend.counting.names == []
