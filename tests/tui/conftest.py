"""Fixtures for TUI tests: a store fed through the real pipeline, and the app factory."""

from __future__ import annotations

from datetime import timezone
from pathlib import Path

import pytest

from kubespan.pipeline import Pipeline
from kubespan.stats import Counters
from kubespan.tui.format import Clock
from tests.tui import data


def make_store(requests: list[bytes], **options):
    from kubespan.store import SpanStore

    counters = Counters()
    pipeline = Pipeline(counters=counters)
    store = SpanStore(pipeline.table, counters=counters, **options)
    pipeline.add_consumer(store)
    for raw in requests:
        pipeline.export_traces(raw)
    return store, pipeline, counters


def make_app(requests=None, *, store=None, pipeline=None, counters=None, save_dir: Path | str = ".", **kwargs):
    from kubespan.query import compile_query
    from kubespan.tui.factory import local_app

    if store is None:
        store, pipeline, counters = make_store(data.cluster() if requests is None else requests)
    app = local_app(
        store,
        compile_query=compile_query,
        counters=counters,
        addresses={"grpc": "127.0.0.1:4317", "http": "127.0.0.1:4318"},
        clock=Clock(tz=timezone.utc, frozen=1000.0),
        tz=timezone.utc,
        save_dir=save_dir,
        **kwargs,
    )
    app.pipeline = pipeline
    return app


@pytest.fixture
def app_factory(tmp_path):
    def factory(requests=None, **kwargs):
        kwargs.setdefault("save_dir", tmp_path)
        return make_app(requests, **kwargs)

    return factory
