"""`--drop QUERY`: matching spans are removed before every consumer and counted."""

from __future__ import annotations

import pytest

from kubespan.pipeline import Pipeline
from kubespan.processors.drop import DropProcessor
from tests.support.forward_helpers import make_request, span_names


class NameIs:
    """A stand-in for `kubespan.query.Query`: matches spans by exact name."""

    def __init__(self, *names: str) -> None:
        self.names = set(names)

    def match_batch(self, batch, table) -> list[bool]:
        return [name in self.names for name in batch.spans.name]


class Recorder:
    def __init__(self) -> None:
        self.names: list[str] = []
        self.raws: list[bytes] = []

    def consume_traces(self, batch) -> None:
        self.names.extend(batch.spans.name)
        self.raws.append(batch.raw)


def pipeline_with(*queries) -> tuple[Pipeline, Recorder]:
    recorder = Recorder()
    pipeline = Pipeline(consumers=[recorder])
    pipeline.processors.append(DropProcessor(list(queries), pipeline.table, pipeline.counters))
    return pipeline, recorder


def test_drop_removes_matches_before_consumers() -> None:
    pipeline, recorder = pipeline_with(NameIs("span-1"), NameIs("span-3", "span-4"))
    pipeline.export_traces(make_request(6))
    assert recorder.names == ["span-0", "span-2", "span-5"]
    assert span_names(recorder.raws[0]) == ["span-0", "span-2", "span-5"]
    assert pipeline.counters.get("dropped_spans") == 3
    assert pipeline.counters.get("received_spans") == 6


def test_drop_everything_reaches_no_consumer() -> None:
    pipeline, recorder = pipeline_with(NameIs(*(f"span-{i}" for i in range(4))))
    pipeline.export_traces(make_request(4))
    assert recorder.names == [] and recorder.raws == []
    assert pipeline.counters.get("dropped_spans") == 4


def test_drop_nothing_keeps_bytes() -> None:
    pipeline, recorder = pipeline_with(NameIs("nope"))
    raw = make_request(3)
    pipeline.export_traces(raw)
    assert recorder.raws == [raw]
    assert pipeline.counters.get("dropped_spans") == 0


def test_drop_with_real_query_language() -> None:
    from kubespan.processors.drop import compile_queries
    from kubespan.query import QuerySyntaxError

    queries = compile_queries(['{ name = "span-2" }'])
    with pytest.raises(QuerySyntaxError):
        compile_queries(["{ name = "])
    pipeline, recorder = pipeline_with(*queries)
    pipeline.export_traces(make_request(4))
    assert recorder.names == ["span-0", "span-1", "span-3"]


def test_drop_flag_compiles_at_startup(capsys) -> None:
    from tests.pipeline.test_collector_config import cli_config

    config = cli_config(["serve", "--drop", '{ name = "a" }', "--drop", '{ span.http.target = "/healthz" }'])
    assert list(config.drop) == ['{ name = "a" }', '{ span.http.target = "/healthz" }']
    with pytest.raises(SystemExit) as exit_info:
        cli_config(["serve", "--drop", "{ name = "])
    assert exit_info.value.code == 2 and "kubespan: --drop:" in capsys.readouterr().err


def test_runtime_drops_before_every_output() -> None:
    from kubespan.service.options import ServiceOptions, service_config
    from kubespan.service.service import Service

    runtime = Service(service_config(ServiceOptions(grpc=None, http=None, drop=('{ name = "span-1" }',))))
    runtime.start()
    recorder = Recorder()
    runtime.pipeline.add_consumer(recorder)
    runtime.pipeline.export_traces(make_request(3))
    assert recorder.names == ["span-0", "span-2"]
    assert runtime.counters.get("dropped_spans") == 1
    runtime.shutdown()
