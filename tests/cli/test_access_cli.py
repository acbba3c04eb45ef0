"""Who can reach the receivers, as users see it: exposure warnings, `:PORT`, and `--token` on stderr."""

from __future__ import annotations

import urllib.error
import urllib.request

import grpc
import pytest
from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter as GrpcExporter
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter as HttpExporter
from opentelemetry.sdk.trace.export import SpanExportResult

import kubespan.service.warnings
from kubespan.cli import serve
from kubespan.cli.main import main
from kubespan.receive.settings import ReceiverSettings, listen_address
from kubespan.service.options import ServiceOptions, service_config
from kubespan.service.service import Service
from kubespan.service.warnings import exposure_warnings
from tests.support.cli import cli_options
from tests.support.otel_sdk import sdk_spans
from tests.support.recorder import Recorder
from tests.support.requests import k8s_request

SECRET = "Zq9-kubespan-secret-7Xk"
LOOPBACK_ARGS = ["--grpc", "127.0.0.1:0", "--http", "127.0.0.1:0"]


@pytest.mark.parametrize("address, exposed", [
    ("127.0.0.1:4317", False), ("localhost:4317", False), ("[::1]:4317", False), (":4317", False),
    ("0.0.0.0:4317", True), ("[::]:4317", True), ("10.1.2.3:4317", True), ("myhost:4317", True),
])
def test_exposure_by_address_form(address, exposed):
    warnings = exposure_warnings(ReceiverSettings(grpc=address, http=None))
    if exposed:
        [warning] = warnings
        assert f"gRPC receiver on {address} is reachable from other machines without auth or TLS" in warning
        assert "(use --token)" in warning
    else:
        assert warnings == []


def test_exposure_warning_names_what_is_missing():
    exposed = dict(grpc=None, http="0.0.0.0:4318")
    tls = dict(tls_cert="server.pem", tls_key="server-key.pem")
    [no_auth] = exposure_warnings(ReceiverSettings(**exposed, **tls))
    assert "HTTP receiver on 0.0.0.0:4318" in no_auth and "without auth;" in no_auth
    [no_tls] = exposure_warnings(ReceiverSettings(**exposed, token="t"))
    assert "without TLS;" in no_tls and "clear text" in no_tls and "--token" not in no_tls
    assert exposure_warnings(ReceiverSettings(**exposed, **tls, token="t")) == []
    assert exposure_warnings(ReceiverSettings(**exposed, **tls, tls_client_ca="ca.pem")) == []  # mTLS is auth
    assert exposure_warnings(ReceiverSettings(**exposed, tls_client_ca="ca.pem"))  # a CA alone is not


@pytest.mark.parametrize("given, bound", [
    (":4317", "127.0.0.1:4317"), ("0.0.0.0:4317", "0.0.0.0:4317"), ("[::]:4317", "[::]:4317"),
    ("[::1]:0", "[::1]:0"), ("localhost:4318", "localhost:4318"),
])
def test_listen_address(given, bound):
    assert listen_address(given) == bound


def test_empty_host_binds_loopback_on_both_receivers():
    """`--grpc :PORT` is loopback, like `--http :PORT` (gRPC used to fail to bind it)."""
    runtime = Service(service_config(ServiceOptions(grpc=":0", http=":0")))
    recorder = Recorder()
    runtime.pipeline.add_consumer(recorder)
    addresses = runtime.start()
    try:
        assert all(address.startswith("127.0.0.1:") for address in addresses.values())
        assert not [w for w in runtime.warnings if not w.startswith("note: ")]  # a note (pure Python) is no exposure
        grpc_exporter = GrpcExporter(endpoint=addresses["grpc"], insecure=True, timeout=5)
        http_exporter = HttpExporter(endpoint=f"http://{addresses['http']}/v1/traces", timeout=5)
        for exporter in (grpc_exporter, http_exporter):
            assert exporter.export(sdk_spans()) == SpanExportResult.SUCCESS
            exporter.shutdown()
    finally:
        runtime.shutdown()
    assert recorder.span_count == 2 * len(sdk_spans())


def test_empty_host_is_loopback_for_the_forwarding_loop_check(capsys):
    assert cli_options(["serve", "--grpc", ":4317", "--forward", "grpc://jaeger:4317"]).forwards  # no loop
    with pytest.raises(SystemExit):
        cli_options(["serve", "--grpc", ":4317", "--forward", "grpc://localhost:4317"])
    assert "loop forever" in capsys.readouterr().err


def run_serve(monkeypatch, argv: list[str], during=lambda runtime: None) -> int:
    """`kubespan ARGV` in this process: `during(runtime)` runs while it serves, then it stops."""
    monkeypatch.setattr(serve.signal, "signal", lambda *args: None)
    monkeypatch.setattr(serve, "_wait", lambda stop, runtime, every: during(runtime))
    return main(argv)


def test_serve_prints_the_exposure_warning_before_listening(monkeypatch, capsys):
    monkeypatch.setattr(kubespan.service.warnings, "is_loopback", lambda host: False)  # tests bind loopback only
    assert run_serve(monkeypatch, ["serve", *LOOPBACK_ARGS]) == 0
    err = capsys.readouterr().err
    assert ("WARNING: the gRPC receiver on 127.0.0.1:0 and the HTTP receiver on 127.0.0.1:0 are reachable "
            "from other machines without auth or TLS; anyone who can reach them can send spans") in err
    assert err.count("WARNING") == 1 and err.index("WARNING") < err.index("listening on")


def send_with_wrong_tokens(runtime: Service) -> None:
    """Two refused gRPC calls, two refused HTTP posts, one accepted call of each."""
    body = k8s_request(spans=1).SerializeToString()
    with grpc.insecure_channel(runtime.addresses["grpc"]) as channel:
        export = channel.unary_unary("/opentelemetry.proto.collector.trace.v1.TraceService/Export")
        for metadata in ([("authorization", "Bearer wrong")], []):
            with pytest.raises(grpc.RpcError) as refused:
                export(body, metadata=metadata, timeout=5)
            assert refused.value.code() == grpc.StatusCode.UNAUTHENTICATED
        export(body, metadata=[("authorization", f"Bearer {SECRET}")], timeout=5)
    url = f"http://{runtime.addresses['http']}/v1/traces"
    for headers in ({"Authorization": "Bearer wrong"}, {}, {"Authorization": f"Bearer {SECRET}"}):
        request = urllib.request.Request(url, body, {"Content-Type": "application/x-protobuf", **headers})
        try:
            urllib.request.urlopen(request, timeout=10).close()
        except urllib.error.HTTPError as error:
            assert error.code == 401


def test_token_never_reaches_stderr_and_refusals_are_counted(monkeypatch, capfd):
    assert run_serve(monkeypatch, ["serve", *LOOPBACK_ARGS, "--token", SECRET], send_with_wrong_tokens) == 0
    err = capfd.readouterr().err
    assert SECRET not in err
    stats = err.strip().splitlines()[-1]
    assert '"unauthenticated_requests":4' in stats and '"received_spans":2' in stats


def test_settings_repr_hides_the_token():
    settings = ReceiverSettings(token=SECRET)
    assert settings.token == SECRET
    assert SECRET not in repr(settings) and SECRET not in repr(ServiceOptions(token=SECRET))


def test_token_from_the_environment(monkeypatch, capfd):
    monkeypatch.setenv("KUBESPAN_TOKEN", SECRET)
    assert run_serve(monkeypatch, ["serve", *LOOPBACK_ARGS], send_with_wrong_tokens) == 0
    err = capfd.readouterr().err
    assert SECRET not in err and '"unauthenticated_requests":4' in err


def test_start_failure_does_not_show_the_token(monkeypatch, capfd, tmp_path):
    missing = str(tmp_path / "missing.pem")
    argv = ["serve", *LOOPBACK_ARGS, "--token", SECRET, "--tls-cert", missing, "--tls-key", missing]
    assert run_serve(monkeypatch, argv) == 1
    err = capfd.readouterr().err
    assert "cannot start receivers" in err and "missing.pem" in err and SECRET not in err


@pytest.mark.parametrize("argv, env, message", [
    (["serve", "--token", ""], None, "the token is empty"),
    (["serve", "--token", f"{SECRET} x"], None, "printable ASCII without spaces"),
    (["serve", "--token", f"{SECRET}é"], None, "printable ASCII without spaces"),
    (["serve"], f"{SECRET}\n", "KUBESPAN_TOKEN: the token must be printable ASCII"),
    (["--token", SECRET, "serve"], None, "options go after the command: kubespan serve"),
    (["--grpc", "0.0.0.0:4317", "--token", SECRET, "serve"], None, "options go after the command"),
    (["serve", "--token", SECRET, "--tls-client-ca", "ca.pem"], None, "--tls-client-ca needs --tls-cert"),
    (["serve", "--token", SECRET, "--tls-cert", "c.pem"], None, "--tls-cert and --tls-key go together"),
])
def test_token_misuse_is_refused_without_showing_it(monkeypatch, capsys, argv, env, message):
    if env is not None:
        monkeypatch.setenv("KUBESPAN_TOKEN", env)
    with pytest.raises(SystemExit) as refused:
        run_serve(monkeypatch, argv)
    shown = capsys.readouterr().err + str(refused.value.code)
    assert message in shown and SECRET not in shown
