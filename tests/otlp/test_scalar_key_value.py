"""The compiled KeyValue decoder against the official one: the same attribute, or None."""

from __future__ import annotations

import math

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue

from kubespan.model import Attribute
from kubespan.otlp import compiled
from kubespan.otlp.attributes import InvalidAttribute, any_value_to_python
from tests.support.compiled_only import compiled_only

pytestmark = compiled_only

scalar_key_value = compiled.scalar_key_value


def test_the_extension_has_it():
    assert scalar_key_value is not None, "kubespan/otlp/csrc/ was not compiled: pip install -e . needs a C compiler"


def official(raw: bytes) -> Attribute | None:
    """What protobuf decodes (None if it refuses the bytes)."""
    try:
        kv = KeyValue.FromString(raw)
    except Exception:  # noqa: BLE001 - any refusal counts
        return None
    value, kind = any_value_to_python(kv.value)
    return Attribute(kv.key, value, kind)


def same(fast: tuple, reference: Attribute) -> bool:
    key, value, kind = fast
    if kind == "double" and math.isnan(value):
        return reference.type == "double" and math.isnan(reference.value) and key == reference.key
    return (key, value, kind) == (reference.key, reference.value, reference.type) \
        and type(value) is type(reference.value)


def check(raw: bytes) -> None:
    fast = scalar_key_value(raw)
    reference = official(raw)
    if fast is not None:
        assert reference is not None, f"compiled accepted what protobuf refuses: {raw!r}"
        assert same(fast, reference), (raw, fast, reference)
        assert fast[2] in ("str", "int", "double", "bool", "empty")


values = st.one_of(
    st.builds(lambda s: AnyValue(string_value=s), st.text()),
    st.builds(lambda i: AnyValue(int_value=i), st.integers(-2**63, 2**63 - 1)),
    st.builds(lambda f: AnyValue(double_value=f), st.floats(allow_nan=True)),
    st.builds(lambda b: AnyValue(bool_value=b), st.booleans()),
    st.builds(lambda b: AnyValue(bytes_value=b), st.binary(max_size=8)),
    st.just(AnyValue()),
)
key_values = st.builds(lambda k, v: KeyValue(key=k, value=v).SerializeToString(), st.text(), values)


@settings(max_examples=400, derandomize=True, database=None, suppress_health_check=[HealthCheck.too_slow])
@given(key_values)
def test_well_formed_key_values_read_the_same(raw):
    fast = scalar_key_value(raw)
    reference = official(raw)
    if reference.type in ("str", "int", "double", "bool", "empty"):
        assert fast is not None and same(fast, reference)
    else:
        assert fast is None


@settings(max_examples=600, derandomize=True, database=None)
@given(key_values, st.lists(st.tuples(st.integers(0, 400), st.integers(0, 255)), max_size=4),
       st.integers(0, 400))
@example(b"\n\x01k\x12\x02\x08\x02", [], 400)  # bool 2: protobuf reads true; left to it
@example(b"\n\x01k\x12\x0b\x18\x80\x80\x80\x80\x80\x80\x80\x80\x80\x7f", [], 400)  # 10-byte varint, not 0x01
@example(b"\n\x01k\x12\x03\n\x01\xff", [], 400)  # invalid UTF-8 value
@example(b"\n\x02\xed\xa0\x12\x00", [], 400)  # a surrogate's bytes as the key
@example(b"\n\x01k\n\x01j", [], 400)  # the key twice: protobuf keeps the last
@example(b"\n\x01k\x12\x02\x08\x01\x12\x02\x18\x05", [], 400)  # the value twice: protobuf merges
@example(b"\n\x01k\x1a\x00", [], 400)  # an unknown field
def test_damaged_key_values_are_read_the_same_or_left_to_protobuf(raw, flips, cut):
    data = bytearray(raw[:cut])
    for position, byte in flips:
        if data:
            data[position % len(data)] = byte
    check(bytes(data))


@settings(max_examples=300, derandomize=True, database=None)
@given(st.binary(max_size=40))
def test_arbitrary_bytes(raw):
    check(raw)


def test_invalid_attributes_are_still_refused_with_the_official_message():
    from kubespan.otlp.attributes import decode_key_value

    with pytest.raises(InvalidAttribute, match="undecodable attribute"):
        decode_key_value(b"\n\x01k\x12\x03\n\x01\xff")


def test_keys_are_shared_between_pairs():
    from kubespan.otlp.attributes import decode_key_value

    one = decode_key_value(KeyValue(key="k8s.pod." + "name", value=AnyValue(string_value="a")).SerializeToString())
    two = decode_key_value(KeyValue(key="k8s.pod.name", value=AnyValue(int_value=3)).SerializeToString())
    assert one.key is two.key
