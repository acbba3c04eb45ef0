"""The message-bomb walk in C (kubespan/otlp/csrc/count.c) is the Python walk of kubespan.otlp.wire, to the letter."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from kubespan.k8s.demo import load_batch
from kubespan.otlp import wire
from tests.fuzz.strategies import PROTO_INPUTS
from tests.support.compiled_only import compiled_only

pytestmark = compiled_only

WIRE_PIECES = st.lists(st.sampled_from([
    b"\x0a", b"\x12", b"\x1a", b"\x08", b"\x09", b"\x0d", b"\x0b", b"\x00", b"\x02", b"\x05", b"\x7f",
    b"\x80", b"\xff" * 9 + b"\x01", b"\xff" * 10, b"\x8a" + b"\xff" * 8 + b"\x7f", b"\x12\x00",
]), max_size=40).map(b"".join)


def test_count_messages_is_the_python_walk_in_c():
    assert wire.count_messages is not wire.python_count_messages
    for raw in load_batch(2_000, seed=5, batch_size=400):
        for stop in (10**9, 100, 0):
            assert wire.count_messages(raw, stop) == wire.python_count_messages(raw, stop)


@settings(max_examples=300, deadline=None, derandomize=True, database=None)
@given(st.one_of(PROTO_INPUTS, WIRE_PIECES), st.sampled_from([10**9, 3, 1, 0]))
def test_count_messages_agrees_on_any_bytes(raw: bytes, stop: int):
    assert wire.count_messages(raw, stop) == wire.python_count_messages(raw, stop)
