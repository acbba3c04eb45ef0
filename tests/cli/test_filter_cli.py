"""End to end: `kubespan filter` over small dumps in both line formats."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from kubespan.cli.main import main
from kubespan.encode.otlp_json import encode_request_json
from kubespan.encode.span_lines import encode_span_lines
from kubespan.otlp.jsoncodec import decode_traces_json
from tests.support.spanfactory import S, request

SPANS = [
    S(1, 1, name="syncPod", service="kubelet", attrs={"k8s.pod": "default/echo-command"}),
    S(1, 2, parent=1, name="PullImage", service="kubelet", kind=3, attrs={"net.peer.port": 54678}),
    S(1, 3, parent=2, name="PullImage", service="containerd", kind=2, status=2, attrs={"net.peer.port": "54678"}),
    S(2, 4, name="GET /api", service="apiserver", kind=2),
    S(3, 5, name="syncPod", service="kubelet", attrs={"k8s.pod": "kube-system/dns"}),
]


@pytest.fixture
def dump(tmp_path):
    path = tmp_path / "spans.jsonl"
    path.write_text("\n".join(encode_span_lines(request(SPANS))) + "\n")
    return path


@pytest.fixture
def collector_file(tmp_path):
    path = tmp_path / "collector.json"
    path.write_text(encode_request_json(request(SPANS[:3])) + "\n" + encode_request_json(request(SPANS[3:])) + "\n")
    return path


def names_of(output: str) -> list[tuple[str, str]]:
    """(service, span name) of each output line, checking one span per line."""
    out = []
    for line in output.splitlines():
        req = decode_traces_json(line)
        (rs,) = req.resource_spans
        (ss,) = rs.scope_spans
        (span,) = ss.spans
        out.append((rs.resource.attributes[0].value.string_value, span.name))
    return out


def test_shorthand_filter_on_a_span_per_line_dump(dump, capsys):
    assert main(["filter", "service=kubelet net.peer.port=54678", str(dump)]) == 0
    assert names_of(capsys.readouterr().out) == [("kubelet", "PullImage")]


def test_coerced_port_matches_both_types(dump, capsys):
    assert main(["filter", "net.peer.port=54678", str(dump)]) == 0
    assert names_of(capsys.readouterr().out) == [("kubelet", "PullImage"), ("containerd", "PullImage")]


def test_collector_file_format_is_split_one_span_per_line(collector_file, capsys):
    assert main(["filter", "kind=server or name=syncPod", str(collector_file)]) == 0
    assert names_of(capsys.readouterr().out) == [
        ("kubelet", "syncPod"), ("containerd", "PullImage"), ("apiserver", "GET /api"), ("kubelet", "syncPod")]


def test_structural_traceql_across_lines(dump, capsys):
    query = '{ name = "syncPod" } >> { resource.service.name = "containerd" }'
    assert main(["filter", query, str(dump)]) == 0
    assert names_of(capsys.readouterr().out) == [("containerd", "PullImage")]


def test_traces_writes_whole_traces(dump, collector_file, capsys):
    assert main(["filter", "--traces", "status=error", str(dump), str(collector_file)]) == 0
    assert names_of(capsys.readouterr().out) == [("kubelet", "syncPod"), ("kubelet", "PullImage"),
                                                 ("containerd", "PullImage")] * 2


def test_stdin_and_print(dump, capsys, monkeypatch):
    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(dump.read_bytes())))
    assert main(["filter", "--print", "apiserver", "-"]) == 0
    out = capsys.readouterr().out
    assert "GET /api" in out and "syncPod" not in out and "Str(apiserver)" in out


def test_syntax_error_shows_where(dump, capsys):
    assert main(["filter", "kind=server duration>1x", str(dump)]) == 2
    err = capsys.readouterr().err
    assert "invalid duration '1x'" in err and "column 22" in err
    lines = err.splitlines()
    assert lines[-2] == "  kind=server duration>1x" and lines[-1] == "  " + " " * 21 + "^"


def test_torn_last_line_is_skipped_with_a_warning(dump, capsys):
    text = dump.read_text()
    dump.write_text(text + text.splitlines()[0][:40])
    assert main(["filter", "name=syncPod", str(dump)]) == 0
    captured = capsys.readouterr()
    assert names_of(captured.out) == [("kubelet", "syncPod"), ("kubelet", "syncPod")]
    assert "skipped 1 of 6 lines" in captured.err and "line 6: torn last line" in captured.err


def test_output_lines_are_valid_json(dump, capsys):
    assert main(["filter", "", str(dump)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == len(SPANS) and all(json.loads(line) for line in lines)


# ---- files that are not dumps, whole documents, interruption ---------------------------------

PROTO_EXAMPLE = Path(__file__).parents[1] / "data" / "otlp-proto" / "trace.json"


def test_a_binary_file_is_one_line_and_exit_1(capsys):
    assert main(["filter", "", "/usr/bin/ls"]) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    (line,) = captured.err.splitlines()
    assert line.startswith("kubespan filter: /usr/bin/ls: not OTLP/JSON (none of its ")


def test_json_that_is_not_otlp_is_refused(tmp_path, capsys):
    path = tmp_path / "other.json"
    path.write_text('{"not":"otlp"}\n')
    assert main(["filter", "", str(path)]) == 1
    assert capsys.readouterr().err == (
        f"kubespan filter: {path}: not OTLP/JSON (the only line: line 1: not OTLP/JSON: no resourceSpans "
        "(keys: 'not'))\n")


def test_some_bad_lines_warn_once_with_a_count(dump, tmp_path, capsys):
    lines = dump.read_text().splitlines()
    mixed = tmp_path / "mixed.jsonl"
    mixed.write_text("\n".join(lines[:2] + ["oops", '{"not":"otlp"}'] * 50 + lines[2:]) + "\n")
    assert main(["filter", "", str(mixed), str(dump)]) == 0
    captured = capsys.readouterr()
    assert len(captured.out.splitlines()) == 2 * len(SPANS)
    assert captured.err.splitlines() == [
        f"kubespan filter: warning: skipped 100 of 105 lines in {mixed}: line 3: invalid JSON: Expecting value "
        "(line 1 column 1)"]


def test_a_missing_file_is_named_and_the_others_are_read(dump, tmp_path, capsys):
    missing = tmp_path / "missing.jsonl"
    assert main(["filter", "name=syncPod", str(missing), str(dump)]) == 1
    captured = capsys.readouterr()
    assert names_of(captured.out) == [("kubelet", "syncPod"), ("kubelet", "syncPod")]
    assert captured.err == f"kubespan filter: {missing}: No such file or directory\n"


def test_the_proto_example_document_is_read(capsys):
    assert main(["filter", "", str(PROTO_EXAMPLE)]) == 0
    captured = capsys.readouterr()
    assert names_of(captured.out) == [("my.service", "I'm a server span")] and captured.err == ""
    assert json.loads(captured.out)["resourceSpans"][0]["scopeSpans"][0]["spans"][0]["traceId"] == (
        "5b8efff798038103d269b633813fc60c")


def test_structural_query_over_a_pretty_printed_document(tmp_path, capsys):
    path = tmp_path / "pretty.json"
    path.write_text(json.dumps(json.loads(encode_request_json(request(SPANS))), indent=2))
    query = '{ name = "syncPod" } >> { resource.service.name = "containerd" }'
    assert main(["filter", query, str(path)]) == 0
    assert names_of(capsys.readouterr().out) == [("containerd", "PullImage")]
