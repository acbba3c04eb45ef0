"""`kubespan filter --print` shows a pipeline's `select(…)` fields after each span it prints."""

from __future__ import annotations

import re

import pytest

from kubespan.cli.main import main
from kubespan.encode.span_lines import encode_span_lines
from tests.support.spanfactory import S, request

SPANS = [
    S(1, 1, name="syncPod", service="kubelet", attrs={"k8s.pod": "default/echo-command"}),
    S(1, 2, parent=1, name="PullImage", service="kubelet", kind=3, attrs={"net.peer.port": 54678}),
    S(1, 3, parent=2, name="PullImage", service="containerd", kind=2, status=2, attrs={"net.peer.port": "54678"}),
    S(2, 4, name="PullImage", service="containerd", attrs={"net.peer.port": "\x1b[31mred\x1b[0m"}),
]


@pytest.fixture
def dump(tmp_path):
    path = tmp_path / "spans.jsonl"
    path.write_text("\n".join(encode_span_lines(request(SPANS))) + "\n")
    return path


def selected_blocks(output: str) -> dict[str, list[str]]:
    """Span id → the lines of the `Selected:` block printed after that span (absent: none)."""
    out: dict[str, list[str]] = {}
    span_id = None
    lines = output.splitlines()
    for n, line in enumerate(lines):
        if line.startswith("    ID             : "):
            span_id = line.split(": ", 1)[1]
        if line == "Selected:":
            block = []
            for follow in lines[n + 1:]:
                if not follow.startswith("     -> "):
                    break
                block.append(follow.removeprefix("     -> "))
            out[span_id] = block
    return out


def test_selected_fields_follow_each_printed_span(dump, capsys):
    query = '{ name = "PullImage" } | select(span.net.peer.port, status, span.missing)'
    assert main(["filter", "--print", query, str(dump)]) == 0
    blocks = selected_blocks(capsys.readouterr().out)
    assert blocks["0000000000000002"] == ["span.net.peer.port: 54678", "status: unset", "span.missing: nil"]
    assert blocks["0000000000000003"] == ['span.net.peer.port: "54678"', "status: error", "span.missing: nil"]
    assert set(blocks) == {"0000000000000002", "0000000000000003", "0000000000000004"}


def test_selected_text_is_inert(dump, capsys):
    assert main(["filter", "--print", '{ span.net.peer.port =~ ".*red.*" } | select(span.net.peer.port)',
                 str(dump)]) == 0
    out = capsys.readouterr().out
    assert "\x1b" not in out
    assert selected_blocks(out)["0000000000000004"] == [r'span.net.peer.port: "\u001b[31mred\u001b[0m"']


def test_only_spans_of_spansets_with_select_get_a_block(dump, capsys):
    assert main(["filter", "--print", "--traces", '{ kind = server } | select(kind)', str(dump)]) == 0
    out = capsys.readouterr().out
    assert len(re.findall(r"^Span #", out, re.M)) == 3  # the whole trace
    assert selected_blocks(out) == {"0000000000000003": ["kind: server"]}


def test_no_block_without_select_or_without_print(dump, capsys):
    assert main(["filter", "--print", '{ name = "PullImage" } | count() > 1', str(dump)]) == 0
    out = capsys.readouterr().out
    assert "Selected:" not in out and out.count("Span #") == 2
    assert main(["filter", '{ name = "PullImage" } | select(status)', str(dump)]) == 0
    out = capsys.readouterr().out
    assert "Selected" not in out and len(out.splitlines()) == 3
