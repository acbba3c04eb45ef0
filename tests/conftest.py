"""Shared fixtures: a pipeline that records what it accepts, and receivers on port 0."""

from __future__ import annotations

import pytest

from kubespan.pipeline import Pipeline
from kubespan.receive.settings import ReceiverSettings
from tests.support.recorder import Recorder


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


SLOW_GROUPS = ("load",)
"""Test folders whose tests are marked `slow`: soak, outage and kill runs that take tens of seconds."""


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark the long groups `slow`, so `pytest -m "not slow"` runs the fast part alone."""
    for item in items:
        parts = item.path.parts
        if "tests" in parts and parts[parts.index("tests") + 1] in SLOW_GROUPS:
            item.add_marker(pytest.mark.slow)
