"""The compiled walk's tables are the Python definitions, written out by kubespan.otlp.c_header."""

from __future__ import annotations

from kubespan.model import PACKED_ARRAYS, SPAN_COLUMNS, PackedSpans
from kubespan.otlp import compiled
from kubespan.otlp.attributes import new_attribute_table
from kubespan.otlp.c_header import HEADER_PATH, generated_header
from tests.support.spanfactory import S, request


def test_generated_header_is_up_to_date() -> None:
    assert HEADER_PATH.read_text() == generated_header(), "run: python -m kubespan.otlp.c_header"


def test_the_compiled_walk_returns_the_model_arrays_in_order() -> None:
    if compiled.span_arrays is None:
        return  # nothing compiled to check; the accessor path builds the model's columns itself
    table = new_attribute_table()
    found = compiled.span_arrays(request([S(1, 1, name="a")]).SerializeToString(), table.storage)
    assert found is not None and len(found) == len(PACKED_ARRAYS) + 3
    packed = PackedSpans.from_walk(found)
    assert packed.names == ["a"] and packed.span_id == (1).to_bytes(8, "big") and found[0] == 1
    assert packed.scope.tolist() == [0] and packed.event_offsets.tolist() == [0, 0]
    assert dict(zip(SPAN_COLUMNS, packed.to_lists()))["name"] == ["a"]
