"""`serve --filter` and `--drop` are decided span by span: bad or trace-level queries refuse to start."""

from __future__ import annotations

import pytest

from kubespan.cli.main import main
from kubespan.query import compile_query
from tests.pipeline.test_collector_config import SEED, cli_config

TRACE_LEVEL = ['{ name = "a" } && { name = "b" }', '{ name = "a" } >> { name = "b" }',
               '{ name = "a" } > { name = "b" }', '({ name = "a" } || { name = "b" }) ~ { name = "c" }']


@pytest.mark.parametrize("text", ['{ name = "a" } || { name = "b" }', "service=kubelet", "", '{ }'])
def test_span_level_queries(text: str) -> None:
    assert compile_query(text).per_span


@pytest.mark.parametrize("text", TRACE_LEVEL)
def test_trace_level_queries(text: str) -> None:
    assert not compile_query(text).per_span


@pytest.mark.parametrize("option", ["--filter", "--drop"])
@pytest.mark.parametrize("text", TRACE_LEVEL[:2])
def test_trace_level_query_is_refused_at_ingest(option: str, text: str, capsys) -> None:
    with pytest.raises(SystemExit) as exit_info:
        cli_config(["serve", option, text])
    err = capsys.readouterr().err
    assert exit_info.value.code == 2
    assert f"kubespan: {option}:" in err and "needs whole traces" in err and "kubespan filter" in err


@pytest.mark.parametrize("option", ["--filter", "--drop"])
@pytest.mark.parametrize("extra", [[], ["--config", SEED]])
def test_syntax_error_gives_the_column_and_exit_2(option: str, extra: list[str], capsys) -> None:
    with pytest.raises(SystemExit) as exit_info:
        cli_config(["serve", *extra, option, "kind=server duration>1x"])
    err = capsys.readouterr().err
    assert exit_info.value.code == 2 and "Traceback" not in err
    assert f"kubespan: {option}: invalid query: invalid duration '1x'" in err and "at column 22" in err
    assert err.rstrip().endswith(" " * 21 + "^")


def test_serve_main_with_a_bad_filter_exits_2_without_traceback(capsys) -> None:
    assert _exit_code(["serve", "--grpc", "127.0.0.1:0", "--http", "off", "--filter", "{ name = }"]) == 2
    err = capsys.readouterr().err
    assert "column 10" in err and "Traceback" not in err


def test_viewer_drop_is_checked_too(capsys) -> None:
    assert _exit_code(["--grpc", "127.0.0.1:0", "--http", "off", "--drop", "{ name = }"]) == 2
    assert "kubespan: --drop: invalid query" in capsys.readouterr().err


def test_filter_command_accepts_trace_level_queries_and_rejects_syntax_errors(tmp_path, capsys) -> None:
    empty = tmp_path / "empty.jsonl"
    empty.write_text("")
    assert main(["filter", TRACE_LEVEL[1], str(empty)]) == 0
    assert main(["filter", "{ name = }", str(empty)]) == 2
    assert "column 10" in capsys.readouterr().err


def _exit_code(argv: list[str]) -> int:
    try:
        return main(argv)
    except SystemExit as exc:
        return exc.code
