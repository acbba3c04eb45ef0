"""`kubespan --config FILE`: a debug/logging exporter in the file must not print over the viewer."""

from __future__ import annotations

import textwrap

import pytest

from kubespan.cli import tui
from kubespan.cli.main import main
from kubespan.service.configs import WriterConfig

CONFIG = """
    receivers: {otlp: {protocols: {grpc: {endpoint: "127.0.0.1:0"}}}}
    exporters:
      debug: {verbosity: detailed}
      file: {path: DUMP}
    service: {pipelines: {traces: {receivers: [otlp], exporters: [debug, file]}}}
"""


class FakeApp:
    """Stands in for the viewer: records nothing, returns at once."""

    return_code = 0

    def __init__(self, *args, **kwargs) -> None:
        pass

    def run(self) -> None:
        pass

    def exit(self) -> None:
        pass


@pytest.fixture
def runtimes(monkeypatch) -> list:
    import kubespan.tui.factory

    made: list = []

    class Recording(tui.Service):
        def start(self) -> dict[str, str]:
            addresses = super().start()
            made.append((self, [writer.name for writer in self.writers]))
            return addresses

    monkeypatch.setattr(kubespan.tui.factory, "local_app", FakeApp)
    monkeypatch.setattr(tui, "Service", Recording)
    return made


def test_viewer_skips_the_config_files_debug_exporter(tmp_path, runtimes, capsys) -> None:
    dump = tmp_path / "spans.jsonl"
    path = tmp_path / "otel-collector.yaml"
    path.write_text(textwrap.dedent(CONFIG).replace("DUMP", str(dump)))
    assert main(["--config", str(path), "--http", "off"]) == 0
    [(runtime, writers)] = runtimes
    [dump_writer] = runtime.config.of_type(WriterConfig)  # no "print" writer
    assert writers == ["dump"] and dump_writer.path == str(dump)
    captured = capsys.readouterr()
    assert "does not print in the viewer" in captured.err and f"kubespan serve --config {path}" in captured.err
    assert captured.out == ""


def test_serve_still_prints_the_config_files_debug_exporter(tmp_path) -> None:
    from tests.pipeline.test_collector_config import cli_config

    path = tmp_path / "otel-collector.yaml"
    path.write_text(textwrap.dedent(CONFIG).replace("DUMP", str(tmp_path / "d.jsonl")))
    assert cli_config(["serve", "--config", str(path)]).print_format == "detailed"
