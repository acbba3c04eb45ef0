"""Every listener of one kubespan takes the same token and the same TLS: the gRPC and HTTP receivers and
the query API, started together with `--token`, `--tls-cert/--tls-key` and `--tls-client-ca`, refuse
and accept the same callers. tempo-cli (where TEMPO_CLI is set) reaches the API over TLS with the token."""

from __future__ import annotations

import contextlib
import ssl
import subprocess
import time

import grpc
import pytest

from kubespan.api import ApiSettings
from kubespan.receive.settings import ReceiverSettings
from kubespan.service.options import ServiceOptions, service_config
from kubespan.service.service import Service
from tests.receive.test_auth_tls import grpc_call, http_post, read
from tests.support.api_server import fixture_store, start_api
from tests.support.golden_tempo import place_fixture
from tests.support.k8s_fixture import BLOG_TRACE_ID
from tests.support.requests import k8s_request
from tests.support.secutil import Pki, make_pki
from tests.support.tempo import get, tempo_cli

TOKEN = "one-token-for-every-listener"
BEARER = {"Authorization": f"Bearer {TOKEN}"}


@pytest.fixture(scope="module")
def pki(tmp_path_factory) -> Pki:
    return make_pki(tmp_path_factory.mktemp("pki"))


@contextlib.contextmanager
def serving(pki: Pki):
    options = ServiceOptions(grpc="127.0.0.1:0", http="127.0.0.1:0", token=TOKEN, tls_cert=pki.server_cert,
                             tls_key=pki.server_key, tls_client_ca=pki.ca, store=True,
                             api=ApiSettings(address="127.0.0.1:0", explicit=True))
    service = Service(service_config(options))
    service.start()
    try:
        yield service
    finally:
        service.shutdown()


def _context(pki: Pki, client_cert: bool) -> ssl.SSLContext:
    context = ssl.create_default_context(cafile=pki.ca)
    if client_cert:
        context.load_cert_chain(pki.client_cert, pki.client_key)
    return context


def _https(address: str, path: str, pki: Pki, client_cert: bool, headers: dict, post: bool) -> int | str:
    """The status, or the name of the TLS failure when the handshake is refused."""
    body = k8s_request(spans=1).SerializeToString() if post else b""
    headers = {**headers, "Content-Type": "application/x-protobuf"} if post else headers
    try:
        return http_post(address, headers, body, "POST" if post else "GET", path, _context(pki, client_cert))[0]
    except (ssl.SSLError, ConnectionError, OSError) as exc:
        return type(exc).__name__


def _grpc(address: str, pki: Pki, client_cert: bool, token: str | None) -> grpc.StatusCode:
    if client_cert:
        credentials = grpc.ssl_channel_credentials(read(pki.ca), read(pki.client_key), read(pki.client_cert))
    else:
        credentials = grpc.ssl_channel_credentials(read(pki.ca))
    metadata = (("authorization", f"Bearer {token}"),) if token else ()
    return grpc_call(address, metadata, credentials)


def test_the_receivers_and_the_api_take_the_same_token_and_tls(pki):
    with serving(pki) as service:
        grpc_at, http_at, api_at = service.addresses["grpc"], service.addresses["http"], service.api_address
        assert api_at is not None
        # the right certificate and the token: every listener answers
        assert _grpc(grpc_at, pki, True, TOKEN) == grpc.StatusCode.OK
        assert _https(http_at, "/v1/traces", pki, True, BEARER, post=True) == 200
        assert _https(api_at, "/api/echo", pki, True, BEARER, post=False) == 200
        # the certificate without the token: every listener refuses with its protocol's word for it
        assert _grpc(grpc_at, pki, True, None) == grpc.StatusCode.UNAUTHENTICATED
        assert _https(http_at, "/v1/traces", pki, True, {}, post=True) == 401
        assert _https(api_at, "/api/echo", pki, True, {}, post=False) == 401
        assert _https(api_at, "/api/echo", pki, True, {"Authorization": "Bearer nope"}, post=False) == 401
        # the token without a client certificate: no listener finishes the handshake
        assert _grpc(grpc_at, pki, False, TOKEN) == grpc.StatusCode.UNAVAILABLE
        assert isinstance(_https(http_at, "/v1/traces", pki, False, BEARER, post=True), str)
        assert isinstance(_https(api_at, "/api/echo", pki, False, BEARER, post=False), str)
        # no listener speaks plain text
        assert get(f"http://{api_at}/api/echo", headers=BEARER)[0] == 0
        assert get(f"http://{http_at}/v1/traces", headers=BEARER, method="POST", body=b"")[0] == 0
        refused = service.counters.snapshot()["unauthenticated_requests"]
        assert refused == 4


def test_tempo_cli_reaches_the_api_over_tls_with_the_token(pki):
    cli = tempo_cli()
    if cli is None:
        pytest.skip("TEMPO_CLI not set: tempo-cli over TLS is checked where it is (see tests/api/test_tempo_cli.py)")
    capture, _ = place_fixture(time.time())
    running = start_api(fixture_store(capture.shift_ns), receivers=ReceiverSettings(
        token=TOKEN, tls_cert=pki.server_cert, tls_key=pki.server_key))
    env = {"SSL_CERT_FILE": pki.ca, "PATH": "/usr/bin:/bin"}  # Go reads its trusted roots from here
    header = f"--header=Authorization=Bearer {TOKEN}"
    try:
        address = running.component.address
        done = subprocess.run([cli, "query", "api", "trace-id", f"https://{address}", BLOG_TRACE_ID, header],
                              capture_output=True, text=True, timeout=60, check=False, env=env)
        assert done.returncode == 0 and '"syncPod"' in done.stdout, done.stderr[-300:]
        done = subprocess.run([cli, "query", "api", "search", address, "{ }", "now-1h", "now", "--secure", header,
                               "--limit=3"], capture_output=True, text=True, timeout=60, check=False, env=env)
        assert done.returncode == 0 and done.stdout.count('"traceID"') == 3, done.stderr[-300:]
        done = subprocess.run([cli, "query", "api", "trace-id", f"https://{address}", BLOG_TRACE_ID],
                              capture_output=True, text=True, timeout=60, check=False, env=env)
        assert done.returncode != 0 and "401" in done.stderr
    finally:
        running.stop()
