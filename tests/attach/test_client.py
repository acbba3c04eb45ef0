"""The remote client: credentials, TLS, timeouts and every way an answer can fail, as one-line errors
that never hold a secret."""

from __future__ import annotations

import base64
import gzip
import threading

import pytest

from kubespan.receive.settings import ReceiverSettings
from kubespan.remote.client import RemoteClient, RemoteError
from kubespan.remote.detect import detect
from kubespan.remote.settings import RemoteSettings, SettingsError, parse_header, parse_url
from tests.attach.fake_remote import Canned
from tests.support.api_server import fixture_store, start_api
from tests.support.secutil import make_pki

SECRET = "s3cr3t-token-value"


def client(url: str, **settings) -> RemoteClient:
    return RemoteClient(RemoteSettings(url, **settings))


def test_detects_kubespan_and_reads_its_build_info(kubespan_api):
    info = detect(client(kubespan_api.url))
    assert info.kind == "kubespan"
    assert not info.most_recent_hint  # kubespan always answers the newest traces


def test_detects_a_tempo_by_its_build_info(fake):
    fake.answers["/api/status/buildinfo"] = Canned(body=b'{"version":"2.9.0","branch":"HEAD"}')
    info = detect(client(fake.url))
    assert (info.kind, info.version, info.most_recent_hint) == ("tempo", "2.9.0", True)


def test_a_remote_without_build_info_is_tried_as_a_tempo(fake):
    info = detect(client(fake.url))
    assert info.kind == "tempo" and "404" in info.note


def test_bearer_token_and_extra_headers_are_sent(fake):
    fake.answers["/api/echo"] = Canned(body=b"echo", content_type="text/plain")
    remote = client(fake.url, token=SECRET, headers=(("X-Scope-OrgID", "team-a"),))
    remote.get("/api/echo")
    assert remote.last_latency_s is not None and remote.last_latency_s < remote.settings.timeout_s
    seen = fake.seen[-1].headers
    assert seen["authorization"] == f"Bearer {SECRET}"
    assert seen["x-scope-orgid"] == "team-a"


def test_user_info_in_the_url_becomes_basic_auth_and_leaves_the_url():
    url, headers = parse_url("https://12345:glc_key%3D@tempo.grafana.net/tempo")
    assert url == "https://tempo.grafana.net/tempo"
    assert headers == (("Authorization", "Basic " + base64.b64encode(b"12345:glc_key=").decode()),)
    assert parse_url("127.0.0.1:3200")[0] == "http://127.0.0.1:3200"


@pytest.mark.parametrize("bad", ["ftp://x", "http://", "http://h:99999", "http://h/?q=1", ""])
def test_bad_urls_are_one_line_errors(bad):
    with pytest.raises(SettingsError):
        parse_url(bad)


def test_a_bad_header_never_repeats_its_value():
    assert parse_header("Authorization=Basic abc") == ("Authorization", "Basic abc")
    assert parse_header("X-Scope-OrgID: 1") == ("X-Scope-OrgID", "1")
    for bad in (SECRET, f"Bearer {SECRET}=x", f"K={SECRET}\r\nX: y"):
        with pytest.raises(SettingsError) as err:
            parse_header(bad)
        assert SECRET not in str(err.value)


def test_settings_repr_holds_no_secret():
    settings = RemoteSettings("http://h", token=SECRET, headers=(("Authorization", SECRET),))
    assert SECRET not in repr(settings)


def test_token_against_kubespan_wrong_and_right(shift):
    api = start_api(fixture_store(shift), receivers=ReceiverSettings(token=SECRET))
    try:
        with pytest.raises(RemoteError) as err:
            client(api.url, token="wrong").get_json("/api/search", {"q": "{}", "limit": 1})
        assert err.value.kind == "unauthorized" and err.value.status == 401
        assert SECRET not in err.value.message and "wrong" not in err.value.message
        assert client(api.url, token=SECRET).get_json("/api/search", {"q": "{}", "limit": 1})["traces"]
    finally:
        api.stop()


def test_tls_with_ca_file_and_without(tmp_path, shift):
    pki = make_pki(tmp_path)
    receivers = ReceiverSettings(tls_cert=pki.server_cert, tls_key=pki.server_key)
    api = start_api(fixture_store(shift), receivers=receivers)
    url = api.url.replace("http://", "https://")
    try:
        with pytest.raises(RemoteError) as err:
            client(url).get("/api/echo", accept="text/plain")
        assert err.value.kind == "tls" and "--ca-file" in err.value.message
        assert client(url, ca_file=pki.ca).get("/api/echo", accept="text/plain").body == b"echo\n"
        assert client(url, insecure_skip_verify=True).get("/api/echo", accept="text/plain").body == b"echo\n"
    finally:
        api.stop()


def test_a_missing_ca_file_is_a_settings_error(tmp_path):
    with pytest.raises(SettingsError, match="--ca-file"):
        client("https://127.0.0.1:1", ca_file=str(tmp_path / "none.pem"))


def test_connection_refused(fake):
    url = fake.url
    fake.stop()
    with pytest.raises(RemoteError) as err:
        client(url).get("/api/echo")
    assert err.value.kind == "unreachable" and "connection refused" in err.value.message


def test_a_slow_remote_times_out(fake):
    release = threading.Event()
    fake.answers["/api/search"] = Canned(delay=release)
    try:
        with pytest.raises(RemoteError) as err:
            client(fake.url, timeout_s=0.3).get("/api/search")
        assert err.value.kind == "unreachable" and "no answer within 0.3 s" in err.value.message
    finally:
        release.set()


def test_malformed_json_is_a_bad_answer(fake):
    fake.answers["/api/search"] = Canned(body=b'{"traces": [')
    with pytest.raises(RemoteError) as err:
        client(fake.url).get_json("/api/search")
    assert err.value.kind == "bad_answer" and "malformed JSON" in err.value.message


def test_error_answers_keep_the_servers_first_line(fake):
    fake.answers["/api/search"] = Canned(400, b"invalid TraceQL query: parse error at line 1, col 3\n", "text/plain")
    fake.answers["/api/traces"] = Canned(502, b"<html>\n<b>Bad gateway</b>\n</html>" * 50, "text/html")
    with pytest.raises(RemoteError) as err:
        client(fake.url).get("/api/search")
    assert err.value.kind == "refused" and err.value.message == (
        "400 Bad Request: invalid TraceQL query: parse error at line 1, col 3")
    with pytest.raises(RemoteError) as err:
        client(fake.url).get("/api/traces")
    assert err.value.kind == "server" and "\n" not in err.value.message and len(err.value.message) < 340


def test_gzip_answers_are_inflated_and_capped(fake):
    body = b'{"traces": []}' + b" " * 100_000
    fake.answers["/api/search"] = Canned(body=gzip.compress(body), headers={"Content-Encoding": "gzip"})
    assert client(fake.url).get_json("/api/search") == {"traces": []}
    with pytest.raises(RemoteError) as err:
        client(fake.url, max_body_bytes=50_000).get("/api/search")
    assert err.value.kind == "too_big"


def test_an_answer_past_the_cap_is_refused_before_it_is_read(fake):
    fake.answers["/api/traces/1"] = Canned(body=b"x" * 2_000_000, content_type="application/protobuf")
    with pytest.raises(RemoteError) as err:
        client(fake.url, max_body_bytes=1_000_000).get("/api/traces/1")
    assert err.value.kind == "too_big" and "2,000,000 bytes" in err.value.message


def test_a_keep_alive_connection_closed_by_the_server_is_reopened(fake):
    fake.answers["/api/echo"] = Canned(body=b"echo", content_type="text/plain")
    remote = client(fake.url)
    remote.get("/api/echo")
    fake.stop()
    fake.start()  # same port, the old connection is gone
    assert remote.get("/api/echo").body == b"echo"
