"""Each attribute's JSON, read by the compiled KeyValue decoder or the official message, is the same text."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue

from kubespan.encode.otlp_json import attributes_json
from kubespan.encode.span_lines import attribute_json
from kubespan.otlp import compiled

TEXT = st.text(st.characters(codec="utf-8"), max_size=12)
VALUES = st.one_of(
    st.builds(lambda s: AnyValue(string_value=s), TEXT),
    st.builds(lambda n: AnyValue(int_value=n), st.integers(-(2**63), 2**63 - 1)),
    st.builds(lambda d: AnyValue(double_value=d), st.floats(allow_nan=True, allow_infinity=True)),
    st.builds(lambda b: AnyValue(bool_value=b), st.booleans()),
    st.builds(lambda b: AnyValue(bytes_value=b), st.binary(max_size=8)),
    st.just(AnyValue()),
    st.builds(lambda s: AnyValue(array_value={"values": [AnyValue(string_value=s)]}), TEXT),
)


def test_scalars_take_the_compiled_decoder() -> None:
    if compiled.scalar_key_value is None:
        return  # built without a C compiler: every attribute takes the official message
    assert compiled.scalar_key_value(KeyValue(key="k", value=AnyValue(int_value=7)).SerializeToString()) is not None


@settings(max_examples=400, deadline=None)
@given(TEXT, VALUES, st.booleans())
def test_attribute_json_is_the_official_text(key: str, value: AnyValue, with_value: bool) -> None:
    kv = KeyValue(key=key, value=value) if with_value else KeyValue(key=key)
    raw = kv.SerializeToString()
    assert attribute_json(raw) == attributes_json([KeyValue.FromString(raw)])[1:-1]
