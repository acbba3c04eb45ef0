"""Bearer tokens and TLS on both receivers, with the official OpenTelemetry SDK exporters."""

from __future__ import annotations

import contextlib
import json
import socket
import ssl
import urllib.error
import urllib.request

import grpc
import pytest
from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter as GrpcExporter
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter as HttpExporter
from opentelemetry.sdk.trace.export import SpanExportResult

from kubespan.service.options import ServiceOptions, service_config
from kubespan.service.service import Service
from tests.support.otel_sdk import sdk_spans
from tests.support.recorder import Recorder
from tests.support.requests import k8s_request
from tests.support.secutil import Pki, make_pki

TOKEN = "s3cret-T0ken_for.tests"
LOOPBACK = dict(grpc="127.0.0.1:0", http="127.0.0.1:0")


@pytest.fixture(scope="module")
def pki(tmp_path_factory) -> Pki:
    return make_pki(tmp_path_factory.mktemp("pki"))


@pytest.fixture(autouse=True)
def sdk_ca_from_arguments(monkeypatch) -> None:
    """requests lets these variables override the HTTP exporter's `certificate_file`."""
    monkeypatch.delenv("REQUESTS_CA_BUNDLE", raising=False)
    monkeypatch.delenv("CURL_CA_BUNDLE", raising=False)


@contextlib.contextmanager
def serving(**settings):
    """Both receivers on loopback port 0; yields (runtime, recorder)."""
    runtime = Service(service_config(ServiceOptions(**{**LOOPBACK, **settings})))
    recorder = Recorder()
    runtime.pipeline.add_consumer(recorder)
    runtime.start()
    try:
        yield runtime, recorder
    finally:
        runtime.shutdown()


def read(path: str) -> bytes:
    with open(path, "rb") as file:
        return file.read()


def grpc_credentials(pki: Pki, client_cert: bool = False) -> grpc.ChannelCredentials:
    if client_cert:
        return grpc.ssl_channel_credentials(read(pki.ca), read(pki.client_key), read(pki.client_cert))
    return grpc.ssl_channel_credentials(read(pki.ca))


def grpc_export(address: str, token: str | None = None, credentials=None) -> SpanExportResult:
    headers = {"authorization": f"Bearer {token}"} if token else None
    exporter = GrpcExporter(endpoint=address, insecure=credentials is None, credentials=credentials,
                            headers=headers, timeout=5)
    try:
        return exporter.export(sdk_spans())
    finally:
        exporter.shutdown()


def http_export(address: str, token: str | None = None, pki: Pki | None = None,
                client_cert: bool = False) -> SpanExportResult:
    scheme = "https" if pki else "http"
    exporter = HttpExporter(
        endpoint=f"{scheme}://{address}/v1/traces",
        headers={"Authorization": f"Bearer {token}"} if token else None,
        certificate_file=pki.ca if pki else None,
        client_certificate_file=pki.client_cert if pki and client_cert else None,
        client_key_file=pki.client_key if pki and client_cert else None,
        timeout=5,
    )
    try:
        return exporter.export(sdk_spans())
    finally:
        exporter.shutdown()


def grpc_call(address: str, metadata=(), credentials=None, request=None, method: str = "Export"):
    """One raw unary call; returns the status code."""
    channel = grpc.secure_channel(address, credentials) if credentials else grpc.insecure_channel(address)
    with channel:
        call = channel.unary_unary(f"/opentelemetry.proto.collector.trace.v1.TraceService/{method}")
        try:
            call((request or k8s_request(spans=1)).SerializeToString(), metadata=metadata, timeout=5)
        except grpc.RpcError as error:
            return error.code()
    return grpc.StatusCode.OK


def http_post(address: str, headers: dict, body: bytes = b"", method: str = "POST", path: str = "/v1/traces",
              context: ssl.SSLContext | None = None) -> tuple[int, str, bytes]:
    scheme = "https" if context else "http"
    request = urllib.request.Request(f"{scheme}://{address}{path}", data=body if method == "POST" else None,
                                     method=method, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=10, context=context) as response:
            return response.status, response.headers.get("Content-Type", ""), response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.headers.get("Content-Type", ""), error.read()


def unauthenticated(runtime: Service) -> int:
    return int(runtime.counters.snapshot()["unauthenticated_requests"])


def test_grpc_token_accepted_refused_and_counted():
    with serving(token=TOKEN) as (runtime, recorder):
        address = runtime.addresses["grpc"]
        assert unauthenticated(runtime) == 0  # in the stats line from the start
        assert grpc_export(address, TOKEN) == SpanExportResult.SUCCESS
        assert grpc_export(address, "wrong") == SpanExportResult.FAILURE
        assert grpc_export(address) == SpanExportResult.FAILURE
        assert grpc_call(address, [("authorization", f"bearer {TOKEN}")]) == grpc.StatusCode.OK
        assert grpc_call(address, [("authorization", TOKEN)]) == grpc.StatusCode.UNAUTHENTICATED
        assert grpc_call(address, [("authorization", f"Bearer {TOKEN}x")]) == grpc.StatusCode.UNAUTHENTICATED
        twice = [("authorization", f"Bearer {TOKEN}")] * 2
        assert grpc_call(address, twice) == grpc.StatusCode.UNAUTHENTICATED
        assert unauthenticated(runtime) == 5
        assert recorder.span_count == len(sdk_spans()) + 1


def test_grpc_token_is_checked_before_the_message_is_read():
    """Over the size limit and to an unknown method, the answer is still only UNAUTHENTICATED."""
    with serving(token=TOKEN, max_recv_mib=0.01) as (runtime, recorder):
        address = runtime.addresses["grpc"]
        big = k8s_request(spans=400)
        assert big.ByteSize() > 0.01 * 1024 * 1024
        assert grpc_call(address, request=big) == grpc.StatusCode.UNAUTHENTICATED
        assert grpc_call(address, method="Nope") == grpc.StatusCode.UNAUTHENTICATED
        authorization = [("authorization", f"Bearer {TOKEN}")]
        assert grpc_call(address, authorization, request=big) == grpc.StatusCode.RESOURCE_EXHAUSTED
        assert unauthenticated(runtime) == 2 and recorder.span_count == 0


def test_http_token_accepted_refused_and_counted():
    with serving(token=TOKEN) as (runtime, recorder):
        address = runtime.addresses["http"]
        assert http_export(address, TOKEN) == SpanExportResult.SUCCESS
        assert http_export(address, "wrong") == SpanExportResult.FAILURE
        assert http_export(address) == SpanExportResult.FAILURE
        body = k8s_request(spans=1).SerializeToString()
        lower = {"Content-Type": "application/x-protobuf", "Authorization": f"bearer {TOKEN}"}
        assert http_post(address, lower, body)[0] == 200
        assert unauthenticated(runtime) == 2
        assert recorder.span_count == len(sdk_spans()) + 1


@pytest.mark.parametrize("method, content_type, size, path", [
    ("GET", "application/x-protobuf", 0, "/v1/traces"),    # would be 405
    ("POST", "text/plain", 10, "/v1/traces"),              # would be 415
    ("POST", "application/x-protobuf", 20_000, "/v1/traces"),  # would be 413
    ("POST", "application/json", 10, "/nowhere"),          # would be 404
])
def test_http_token_is_checked_before_anything_else(method, content_type, size, path):
    with serving(token=TOKEN, max_recv_mib=0.01, grpc=None) as (runtime, _):
        status, answer_type, body = http_post(runtime.addresses["http"], {"Content-Type": content_type},
                                              b"x" * size, method, path)
        assert status == 401 and b"missing or invalid bearer token" in body
        assert TOKEN.encode() not in body
        if content_type == "text/plain":
            assert answer_type.startswith("text/plain")
        if content_type == "application/json":
            assert json.loads(body)["code"] == 16  # google.rpc.Status UNAUTHENTICATED
        assert unauthenticated(runtime) == 1


def test_http_non_utf8_authorization_header_is_refused_not_crashed():
    with serving(token=TOKEN, grpc=None) as (runtime, recorder):
        host, port = runtime.addresses["http"].rsplit(":", 1)
        with socket.create_connection((host, int(port)), timeout=10) as connection:
            connection.sendall(b"POST /v1/traces HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-protobuf\r\n"
                               b"Authorization: Bearer \xff\xfe\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
            answer = connection.makefile("rb").readline()
        assert answer.split()[1] == b"401"
        assert http_export(runtime.addresses["http"], TOKEN) == SpanExportResult.SUCCESS
        assert unauthenticated(runtime) == 1 and recorder.span_count == len(sdk_spans())


def test_tls_with_the_sdk_exporters_and_plaintext_clients_refused(pki):
    with serving(tls_cert=pki.server_cert, tls_key=pki.server_key) as (runtime, recorder):
        grpc_address, http_address = runtime.addresses["grpc"], runtime.addresses["http"]
        assert grpc_call(grpc_address) == grpc.StatusCode.UNAVAILABLE  # plaintext gRPC client
        with pytest.raises((ConnectionError, urllib.error.URLError)):  # plaintext HTTP client
            http_post(http_address, {"Content-Type": "application/x-protobuf"}, b"")
        assert grpc_export(grpc_address, credentials=grpc_credentials(pki)) == SpanExportResult.SUCCESS
        assert http_export(http_address, pki=pki) == SpanExportResult.SUCCESS
        assert recorder.span_count == 2 * len(sdk_spans())


def test_mutual_tls_needs_a_client_certificate(pki):
    with serving(tls_cert=pki.server_cert, tls_key=pki.server_key, tls_client_ca=pki.ca) as (runtime, recorder):
        grpc_address, http_address = runtime.addresses["grpc"], runtime.addresses["http"]
        assert grpc_call(grpc_address, credentials=grpc_credentials(pki)) == grpc.StatusCode.UNAVAILABLE
        no_cert = ssl.create_default_context(cafile=pki.ca)
        with pytest.raises((ssl.SSLError, ConnectionError, urllib.error.URLError)):
            http_post(http_address, {"Content-Type": "application/x-protobuf"}, b"", context=no_cert)
        with_cert = grpc_credentials(pki, client_cert=True)
        assert grpc_export(grpc_address, credentials=with_cert) == SpanExportResult.SUCCESS
        assert http_export(http_address, pki=pki, client_cert=True) == SpanExportResult.SUCCESS
        assert recorder.span_count == 2 * len(sdk_spans())


def test_token_and_tls_together(pki):
    with serving(token=TOKEN, tls_cert=pki.server_cert, tls_key=pki.server_key) as (runtime, recorder):
        grpc_address, http_address = runtime.addresses["grpc"], runtime.addresses["http"]
        credentials = grpc_credentials(pki)
        assert grpc_export(grpc_address, "wrong", credentials) == SpanExportResult.FAILURE
        assert http_export(http_address, "wrong", pki) == SpanExportResult.FAILURE
        assert grpc_export(grpc_address, TOKEN, credentials) == SpanExportResult.SUCCESS
        assert http_export(http_address, TOKEN, pki) == SpanExportResult.SUCCESS
        assert unauthenticated(runtime) == 2 and recorder.span_count == 2 * len(sdk_spans())


@pytest.mark.parametrize("broken", ["tls_cert", "tls_key", "tls_client_ca"])
def test_unreadable_tls_files_fail_clearly_at_start(pki, tmp_path, broken):
    garbage = tmp_path / "garbage.pem"
    garbage.write_text("not a certificate\n")
    files = {**dict(tls_cert=pki.server_cert, tls_key=pki.server_key, tls_client_ca=pki.ca), broken: str(garbage)}
    for protocol in ("grpc", "http"):
        others = {"grpc": None, "http": None, protocol: "127.0.0.1:0"}
        runtime = Service(service_config(ServiceOptions(**others, **files)))
        with pytest.raises(ValueError, match=f"--{broken.replace('_', '-')}.*garbage.pem"):
            runtime.start()
        runtime.shutdown()
