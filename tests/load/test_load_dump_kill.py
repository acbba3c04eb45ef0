"""Kill -9 during `kubespan serve --dump`: complete lines stay valid, readers skip a torn tail."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from kubespan.cli.main import main
from kubespan.otlp.jsoncodec import decode_traces_json
from tests.support.forward_helpers import wait_until
from tests.support.load_clients import send_until
from tests.support.serve_process import ServeProcess

MIN_LINES = 2000
LINE_BYTES = 347  # a send_until span as an OTLP/JSON line (names grow to 4 digits; ~350)


def _complete_lines(path: Path) -> tuple[list[bytes], bytes]:
    data = path.read_bytes()
    body, _, tail = data.rpartition(b"\n")
    return (body + b"\n").splitlines(keepends=True) if body else [], tail


@pytest.fixture(scope="module")
def killed_dump(tmp_path_factory) -> Path:
    """A dump whose writer was killed with SIGKILL while spans were streaming in."""
    path = tmp_path_factory.mktemp("dump") / "spans.jsonl"
    server = ServeProcess("--grpc", "127.0.0.1:0", "--http", "off", "--dump", str(path))
    stop = threading.Event()
    client = threading.Thread(target=send_until, args=(server.addresses["grpc"], stop), daemon=True)
    client.start()
    try:
        enough = MIN_LINES * (LINE_BYTES + 10)
        assert wait_until(lambda: path.exists() and path.stat().st_size > enough, timeout=60)
        server.process.kill()  # SIGKILL: no flush, no shutdown
        server.process.wait(timeout=10)
    finally:
        stop.set()
        server.kill()
        client.join(timeout=10)
    return path


def test_every_complete_line_is_valid_otlp_json(killed_dump: Path) -> None:
    lines, _ = _complete_lines(killed_dump)
    assert len(lines) >= MIN_LINES
    names = []
    for line in lines:
        request = decode_traces_json(line)
        names.extend(s.name for rs in request.resource_spans for ss in rs.scope_spans for s in ss.spans)
    assert len(names) == len(lines), "one span per line"
    assert len(set(names)) == len(names), "no span written twice"


@pytest.fixture
def torn_dump(killed_dump: Path, tmp_path: Path) -> tuple[Path, int]:
    """The killed dump cut in the middle of its last line, as a kill inside a write leaves it."""
    lines, _ = _complete_lines(killed_dump)
    path = tmp_path / "torn.jsonl"
    path.write_bytes(b"".join(lines[:-1]) + lines[-1][: len(lines[-1]) // 2])
    return path, len(lines) - 1


def test_filter_skips_the_torn_last_line_of_a_killed_dump(torn_dump, capsys) -> None:
    path, complete = torn_dump
    assert main(["filter", "", str(path)]) == 0
    captured = capsys.readouterr()
    assert len(captured.out.splitlines()) == complete
    assert f"line {complete + 1}: torn last line" in captured.err


def test_open_loader_skips_the_torn_last_line_of_a_killed_dump(torn_dump) -> None:
    from kubespan.dumps import load_dumps
    from kubespan.pipeline import Pipeline
    from kubespan.store import SpanStore

    path, complete = torn_dump
    pipeline = Pipeline()
    store = SpanStore(pipeline.table)
    pipeline.add_consumer(store)
    reports: list[dict] = []
    assert load_dumps([str(path)], pipeline, lambda **report: reports.append(report)) == complete
    final = reports[-1]
    assert final["finished"] and not final["error"] and len(store) == complete
    (warning,) = final["warnings"]
    assert warning.startswith(f"skipped 1 of {complete + 1:,} lines in {path}: line {complete + 1}: torn last line")
