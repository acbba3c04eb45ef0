"""BytesCache (kubespan/otlp/csrc/bytes_cache.c): values by wire bytes, computed once."""

from __future__ import annotations

import gc
import weakref

import pytest

from kubespan.otlp.attributes import new_attribute_table
from kubespan.otlp.compiled import BytesCache
from tests.support.compiled_only import compiled_only

pytestmark = compiled_only


def test_bytes_cache_computes_each_value_once():
    calls = []
    cache = BytesCache(lambda raw: calls.append(raw) or raw.upper())
    assert [cache[b"ab"], cache[bytearray(b"ab")], cache[memoryview(b"cd")], cache[b""]] == [b"AB", b"AB", b"CD", b""]
    assert calls == [b"ab", b"cd", b""] and len(cache) == 3
    for index in range(5_000):  # grows past its first capacity, keeps every entry
        cache[b"k%d" % index]
    assert len(cache) == 5_003 and cache[b"k42"] == b"K42" and len(calls) == 5_003


def test_bytes_cache_starts_over_past_its_limit():
    cache = BytesCache(len, limit=3)
    for raw in (b"a", b"bb", b"ccc"):
        cache[raw]
    assert len(cache) == 3
    assert cache[b"dddd"] == 4 and len(cache) == 1


def test_a_miss_that_raises_stores_nothing():
    def refuse(raw: bytes) -> int:
        raise ValueError(raw)

    cache = BytesCache(refuse)
    with pytest.raises(ValueError):
        cache[b"x"]
    assert len(cache) == 0


def test_an_attribute_table_and_its_store_are_collected_together():
    table = new_attribute_table()
    table.intern(b"\x0a\x01k")
    gone = weakref.ref(table)
    del table
    gc.collect()
    assert gone() is None
