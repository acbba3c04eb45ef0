"""Stores holding the k8s fixture, placed in time as it was when Tempo's golden answers were captured."""

from __future__ import annotations

import pytest

from kubespan.otlp.attributes import new_attribute_table
from kubespan.otlp.decode import decode_request
from kubespan.store import SpanStore
from tests.support.golden_tempo import load_capture
from tests.support.k8s_fixture import load_fixture


def fixture_store(shift_ns: int) -> SpanStore:
    """A store holding the k8s fixture moved by `shift_ns`."""
    table = new_attribute_table()
    store = SpanStore(table)
    for request in load_fixture(shift_ns):
        batch, _ = decode_request(request.SerializeToString(), table)
        store.consume_traces(batch)
    return store


@pytest.fixture(scope="session")
def golden_store() -> SpanStore:
    return fixture_store(load_capture("metrics-engine").shift_ns)
