"""Fixtures for attach: kubespan's own query API holding the k8s fixture (moved to five minutes ago,
so a live window finds it), and a misbehaving fake remote."""

from __future__ import annotations

import time

import pytest

from tests.attach.fake_remote import FakeRemote
from tests.support.api_server import RunningApi, fixture_store, start_api
from tests.support.k8s_fixture import fixture_bounds, load_fixture

NS = 1_000_000_000


def recent_shift() -> int:
    """How far to move the fixture so that its last span ends a minute ago."""
    _, end = fixture_bounds(load_fixture())
    return int((time.time() - 60) * NS) - end


@pytest.fixture(scope="module")
def shift() -> int:
    return recent_shift()


@pytest.fixture(scope="module")
def kubespan_api(shift: int):
    api = start_api(fixture_store(shift))
    yield api
    api.stop()


@pytest.fixture
def fake():
    remote = FakeRemote()
    yield remote
    remote.stop()


__all__ = ["RunningApi"]
