"""The daemon workflow: `kubespan serve --api … --token … --dump …` as a real process, fed by the
OpenTelemetry SDK's exporter, and the viewer attached to it as the `kubespan attach` command builds
it: closed and reopened while the daemon keeps receiving; the receivers' token and TLS (client
certificates included) on the way; refusals are one-line errors with exit codes, before the screen."""

from __future__ import annotations

import io
import os
import re
import subprocess
import sys

import grpc
import pytest
from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.trace.export import SpanExportResult

from kubespan.cli import attach
from kubespan.cli.main import build_parser
from tests.support.otel_sdk import sdk_spans
from tests.support.secutil import Pki, make_pki
from tests.support.serve_process import ServeProcess
from tests.tui.helpers import screen_text, searched, wait_for

SECRET = "daemon-token-5f1c"
SDK_TRACE_SPANS = len(sdk_spans())


def _env() -> dict[str, str]:
    return {key: value for key, value in os.environ.items() if key != "KUBESPAN_TOKEN"}


def _api_address(serve: ServeProcess) -> str:
    line = serve.wait_stderr(lambda text: "query API" in text and "listening on" in text)
    return re.search(r"listening on (\S+)", line).group(1)


def _export(serve: ServeProcess, pki: Pki | None = None) -> bytes:
    """One trace made by the SDK, sent by its gRPC exporter with the token; returns its id."""
    spans = sdk_spans()
    credentials = None
    if pki is not None:
        with open(pki.ca, "rb") as ca, open(pki.client_key, "rb") as key, open(pki.client_cert, "rb") as cert:
            credentials = grpc.ssl_channel_credentials(ca.read(), key.read(), cert.read())
    exporter = OTLPSpanExporter(endpoint=serve.addresses["grpc"], insecure=credentials is None,
                                credentials=credentials, headers={"authorization": f"Bearer {SECRET}"}, timeout=10)
    try:
        assert exporter.export(spans) == SpanExportResult.SUCCESS
    finally:
        exporter.shutdown()
    return spans[0].context.trace_id.to_bytes(16, "big")


def _attach(*argv: str, stderr: bool = False):
    """What `kubespan attach ARGV` builds: (app, source), or (exit code, stderr); with `stderr`, always
    (what was built, stderr)."""
    said = io.StringIO()
    built = attach.build(build_parser().parse_args(["attach", *argv]), stderr=said)
    return (built, said.getvalue()) if stderr or isinstance(built, int) else built


async def _shows(pilot, app, trace_ids: list[bytes]) -> None:
    def listed() -> bool:
        result = app.trace_list.result
        return (searched(app.trace_list, app) and result is not None
                and all(result.position(trace_id) is not None for trace_id in trace_ids))

    await wait_for(pilot, listed, timeout=20, what=f"{len(trace_ids)} traces listed")


@pytest.fixture
def daemon(tmp_path):
    serve = ServeProcess("--grpc", "127.0.0.1:0", "--http", "off", "--api", "127.0.0.1:0", "--token", SECRET,
                         "--dump", str(tmp_path / "spans.jsonl"), env=_env())
    yield serve, "http://" + _api_address(serve)
    serve.stop()


async def test_attach_to_a_serve_daemon_closed_and_reopened(daemon, monkeypatch, tmp_path):
    serve, url = daemon
    first = _export(serve)
    monkeypatch.setenv("KUBESPAN_TOKEN", SECRET)  # `--token` defaults to it
    app, source = _attach(url, "--refresh", "0.2")
    try:
        async with app.run_test(size=(120, 40)) as pilot:
            await _shows(pilot, app, [first])
            await wait_for(pilot, lambda: "kubespan " + url in screen_text(app), what="the footer's source")
            second = _export(serve)  # arrives while attached: followed
            await _shows(pilot, app, [first, second])
            await pilot.press("q")
    finally:
        source.close()
    assert serve.process.poll() is None, "closing the viewer leaves the daemon running"
    third = _export(serve)
    app, source = _attach(url, "--refresh", "0.2")
    try:
        async with app.run_test(size=(120, 40)) as pilot:
            await _shows(pilot, app, [first, second, third])
            app.trace_list.focus()
            app.trace_list.move_cursor(app.trace_list.result.position(second))
            await pilot.press("enter")
            await wait_for(pilot, lambda: app.view == "trace" and app.trace_view.data is not None, what="trace")
            assert app.trace_view.data.trace_id == second and len(app.waterfall.lines) == SDK_TRACE_SPANS
    finally:
        source.close()
    assert serve.process.poll() is None
    assert len((tmp_path / "spans.jsonl").read_text().splitlines()) >= 3  # the daemon's --dump kept them all


@pytest.mark.parametrize("argv, code, says", [
    (["--token", "wrong-token-77"], 1, "401"),
    ([], 1, "401"),
    (["--client-key", "key.pem"], 2, "--client-key needs --client-cert"),
])
def test_refusals_are_one_line_errors_before_the_screen(daemon, argv, code, says):
    _, url = daemon
    done = subprocess.run([sys.executable, "-m", "kubespan", "attach", url, *argv], capture_output=True,
                          text=True, timeout=60, env=_env(), stdin=subprocess.DEVNULL)
    lines = done.stderr.strip().splitlines()
    assert done.returncode == code and len(lines) == 1 and says in lines[0], done.stderr
    assert lines[0].startswith("kubespan attach: ") and "wrong-token-77" not in done.stderr
    assert "check --token" in lines[0] or code == 2


def test_a_bad_url_is_a_usage_error():
    code, stderr = _attach("ftp://127.0.0.1:1")
    assert code == 2 and stderr.strip() == "kubespan attach: unsupported scheme 'ftp': want http:// or https://"


async def test_tls_with_client_certificates_and_a_token(tmp_path):
    pki = make_pki(tmp_path)
    serve = ServeProcess("--grpc", "127.0.0.1:0", "--http", "off", "--api", "127.0.0.1:0", "--token", SECRET,
                         "--tls-cert", pki.server_cert, "--tls-key", pki.server_key, "--tls-client-ca", pki.ca,
                         env=_env())
    try:
        url = "https://" + _api_address(serve)
        sent = _export(serve, pki)
        code, stderr = _attach(url, "--token", SECRET)
        assert code == 1 and "TLS certificate not trusted" in stderr and "--ca-file" in stderr
        (app, source), stderr = _attach(url, "--token", SECRET, "--ca-file", pki.ca, stderr=True)
        source.close()  # TLS 1.3 refuses a missing client certificate by closing: the viewer would retry
        assert "closed before an answer (if it asks for a client certificate: --client-cert)" in stderr, stderr
        app, source = _attach(url, "--token", SECRET, "--ca-file", pki.ca, "--client-cert", pki.client_cert,
                              "--client-key", pki.client_key, "--refresh", "0.2")
        try:
            async with app.run_test(size=(120, 40)) as pilot:
                await _shows(pilot, app, [sent])
                await wait_for(pilot, lambda: "kubespan " + url in screen_text(app), what="the footer's source")
        finally:
            source.close()
    finally:
        serve.stop()
