"""The compiled walk's tables are the Python definitions, written out by kubespan.otlp.c_header."""

from __future__ import annotations

from kubespan.model import SPAN_COLUMNS
from kubespan.otlp import compiled
from kubespan.otlp.attributes import new_attribute_table
from kubespan.otlp.c_header import HEADER_PATH, generated_header
from tests.support.spanfactory import S, request


def test_generated_header_is_up_to_date() -> None:
    assert HEADER_PATH.read_text() == generated_header(), "run: python -m kubespan.otlp.c_header"


def test_the_compiled_walk_returns_the_model_columns_in_order() -> None:
    if compiled.span_columns is None:
        return  # nothing compiled to check; the accessor path builds the model's columns itself
    table = new_attribute_table()
    found = compiled.span_columns(request([S(1, 1, name="a")]).SerializeToString(), table.decoder_cache)
    assert len(found) == len(SPAN_COLUMNS)
    by_name = dict(zip(SPAN_COLUMNS, found))
    assert by_name["name"] == ["a"] and by_name["span_id"] == [(1).to_bytes(8, "big")]
    assert by_name["scope"] == [0] and by_name["event_names"] == [()]
