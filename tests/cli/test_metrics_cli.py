"""End to end: `kubespan metrics` over dumps: the table, --json (Tempo's shapes), --plot, --instant, errors."""

from __future__ import annotations

import io
import itertools
import json

import pytest

from kubespan.cli.main import main
from kubespan.encode.span_lines import encode_span_lines
from tests.support.k8s_fixture import fixture_lines
from tests.support.spanfactory import S, request

SECOND = 1_000_000_000
SPANS = [
    S(1, 1, name="syncPod", service="kubelet", start=0, duration=2 * SECOND),
    S(1, 2, parent=1, name="PullImage", service="kubelet", kind=3, start=1 * SECOND, duration=SECOND // 2),
    S(1, 3, parent=2, name="PullImage", service="containerd", kind=2, status=2, start=1 * SECOND + 1000),
    S(2, 4, name="GET /api", service="apiserver", kind=2, start=25 * SECOND),
    S(3, 5, name="syncPod", service="kubelet", start=50 * SECOND, attrs={"evil": "\x1b[31mred\x1b[0m"}),
]


@pytest.fixture
def dump(tmp_path):
    path = tmp_path / "spans.jsonl"
    path.write_text("\n".join(encode_span_lines(request(SPANS))) + "\n")
    return path


@pytest.fixture
def k8s_dump(tmp_path):
    path = tmp_path / "k8s.jsonl"
    path.write_bytes(b"\n".join(fixture_lines()) + b"\n")
    return path


def rows(output: str) -> dict[str, list[str]]:
    lines = output.splitlines()
    assert lines[1].startswith("---")
    return {line.split("}")[0] + "}": line.split("}", 1)[1].split() for line in lines[2:]}


def test_table_has_a_row_per_series_and_a_column_per_step(dump, capsys):
    assert main(["metrics", "{ } | count_over_time() by (resource.service.name)", str(dump), "--step", "30s"]) == 0
    out = capsys.readouterr().out
    header = out.splitlines()[0].split()
    assert header[0] == "series" and all(len(h) == 8 and h.count(":") == 2 for h in header[1:])
    table = rows(out)
    assert set(table) == {'{resource.service.name="apiserver"}', '{resource.service.name="containerd"}',
                          '{resource.service.name="kubelet"}'}
    assert sum(map(float, table['{resource.service.name="kubelet"}'])) == 3
    assert len({len(cells) for cells in table.values()}) == 1
    assert len(header) - 1 == len(table['{resource.service.name="kubelet"}'])


def test_json_is_tempos_query_range_answer(k8s_dump, capsys):
    query = "{ } | rate() by (resource.service.name)"
    assert main(["metrics", query, str(k8s_dump), "--json", "--step", "30s"]) == 0
    body = json.loads(capsys.readouterr().out)
    assert set(body) == {"series", "metrics"}
    labels = [s["labels"] for s in body["series"]]
    assert labels == [[{"key": "resource.service.name", "value": {"stringValue": name}}]
                      for name in ("apiserver", "containerd", "etcd", "kubelet")]
    total = sum(float(p.get("value", 0)) * 30 for s in body["series"] for p in s["samples"])
    assert round(total) == 3116  # every span of the fixture counted once
    stamps = [int(p["timestampMs"]) for p in body["series"][0]["samples"]]
    assert all(b - a == 30_000 for a, b in itertools.pairwise(stamps)) and stamps[0] % 30_000 == 0


def test_instant_json_has_one_value_per_series(k8s_dump, capsys):
    assert main(["metrics", "{ } | count_over_time() by (kind)", str(k8s_dump), "--instant", "--json"]) == 0
    body = json.loads(capsys.readouterr().out)
    values = {s["labels"][0]["value"]["stringValue"]: s["value"] for s in body["series"]}
    assert values == {"client": 636, "internal": 1546, "server": 934}


def test_durations_show_with_units(dump, capsys):
    assert main(["metrics", "{ name = \"syncPod\" } | max_over_time(duration)", str(dump), "--step", "1m"]) == 0
    assert "2s" in capsys.readouterr().out.split()


def test_since_counts_back_from_the_last_span(dump, capsys):
    assert main(["metrics", "{ } | count_over_time()", str(dump), "--since", "20s", "--instant"]) == 0
    assert rows(capsys.readouterr().out) == {'{__name__="count_over_time"}': ["1"]}


def test_plot_draws_each_series_with_a_legend(dump, capsys):
    assert main(["metrics", "{ } | count_over_time() by (name)", str(dump), "--plot", "--step", "10s"]) == 0
    out = capsys.readouterr().out
    assert "┤" in out and "└" in out and "step 10s" in out
    assert '● {name="GET /api"}' in out and '× {name="PullImage"}' in out and '+ {name="syncPod"}' in out


def test_stdin_and_hostile_labels_shown_inert(dump, capsys, monkeypatch):
    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(dump.read_bytes())))
    assert main(["metrics", "{ } | count_over_time() by (span.evil)", "-"]) == 0
    out = capsys.readouterr().out
    assert "\x1b" not in out and "red" in out


def test_bad_query_exits_2_with_a_caret(dump, capsys):
    assert main(["metrics", "{ } | rate(", str(dump)]) == 2
    err = capsys.readouterr().err
    assert "invalid query: expected ')'" in err and err.rstrip().endswith("^")


def test_search_query_is_refused(dump, capsys):
    assert main(["metrics", "{ name = \"syncPod\" }", str(dump)]) == 2
    assert "not a metrics query" in capsys.readouterr().err


def test_bad_step_and_missing_file(dump, capsys, tmp_path):
    assert main(["metrics", "{ } | rate()", str(dump), "--step", "soon"]) == 2
    assert "cannot parse \"soon\" to a valid duration" in capsys.readouterr().err
    assert main(["metrics", "{ } | rate()", str(tmp_path / "missing.jsonl")]) == 1
    assert "No such file" in capsys.readouterr().err


def test_no_spans_says_so(tmp_path, capsys):
    empty = tmp_path / "empty.jsonl"
    empty.write_text("")
    assert main(["metrics", "{ } | rate() by (name)", str(empty)]) == 0
    assert "no series" in capsys.readouterr().out
