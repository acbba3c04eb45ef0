"""Shared fixtures: a pipeline that records what it accepts, and receivers on port 0."""

from __future__ import annotations

import threading

import pytest

from kubespan.otlp.decode import TraceBatch
from kubespan.pipeline import Pipeline
from kubespan.receive.settings import ReceiverSettings


class Recorder:
    """A consumer that keeps every batch and lets tests wait for a span count."""

    def __init__(self) -> None:
        self.batches: list[TraceBatch] = []
        self._changed = threading.Condition()

    def consume_traces(self, batch: TraceBatch) -> None:
        with self._changed:
            self.batches.append(batch)
            self._changed.notify_all()

    @property
    def span_count(self) -> int:
        return sum(batch.span_count for batch in self.batches)

    def wait_for_spans(self, count: int, timeout: float = 10.0) -> bool:
        with self._changed:
            return self._changed.wait_for(lambda: self.span_count >= count, timeout)

    def spans(self):
        """(resource_spans, scope_spans, span) official messages of everything received."""
        for batch in self.batches:
            for resource_spans in batch.request.resource_spans:
                for scope_spans in resource_spans.scope_spans:
                    for span in scope_spans.spans:
                        yield resource_spans, scope_spans, span


@pytest.fixture
def recorder() -> Recorder:
    return Recorder()


@pytest.fixture
def pipeline(recorder: Recorder) -> Pipeline:
    return Pipeline(consumers=[recorder])


@pytest.fixture
def grpc_address(pipeline: Pipeline):
    from kubespan.receive.grpc_server import GrpcReceiver

    receiver = GrpcReceiver(pipeline, ReceiverSettings(http=None), "127.0.0.1:0")
    address = receiver.start()
    yield address
    receiver.stop(grace=None)


@pytest.fixture
def http_address(pipeline: Pipeline):
    from kubespan.receive.http_server import HttpReceiver

    receiver = HttpReceiver(pipeline, ReceiverSettings(grpc=None), "127.0.0.1:0")
    address = receiver.start()
    yield address
    receiver.stop()
