"""The compiled attribute store (kubespan/otlp/csrc/attr_store*.c) against the Python one.

Both are generations of kubespan.model.AttributeTable: the same bytes must get the same ids,
the same decoded attributes and the same refusals, and equality lookups through the store
index (kubespan.store.tables.AttributeIndex) must find what indexing every value by its text
finds.
"""

from __future__ import annotations

import math
import sys
import threading

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, ArrayValue, KeyValue

from kubespan.model import Attribute, PythonStorage, value_text
from kubespan.otlp import compiled
from kubespan.otlp.attributes import InvalidAttribute, decode_key_value
from kubespan.store.tables import AttributeIndex

if compiled.AttributeStore is None:
    pytest.skip("the compiled decoder is not built", allow_module_level=True)


def stores():
    assert compiled.AttributeStore is not None
    return compiled.AttributeStore(decode_key_value, Attribute), PythonStorage(decode_key_value)


def comparable(attribute: Attribute) -> tuple:
    value = attribute.value
    if isinstance(value, float) and math.isnan(value):
        value = "nan"
    return attribute.key, value, attribute.type, type(attribute.value)


scalars = st.one_of(
    st.builds(lambda s: AnyValue(string_value=s), st.text(max_size=12)),
    st.builds(lambda i: AnyValue(int_value=i), st.integers(-2**63, 2**63 - 1)),
    st.builds(lambda f: AnyValue(double_value=f), st.floats(allow_nan=True)),
    st.builds(lambda b: AnyValue(bool_value=b), st.booleans()),
    st.just(AnyValue()),
)
values = st.one_of(
    scalars,
    st.builds(lambda b: AnyValue(bytes_value=b), st.binary(max_size=6)),
    st.builds(lambda xs: AnyValue(array_value=ArrayValue(values=xs)), st.lists(scalars, max_size=3)),
)
keys = st.sampled_from(["k", "", "http.url", "k8s.pod", "é"])
pairs = st.builds(lambda k, v: KeyValue(key=k, value=v).SerializeToString(), keys, values)
damaged = st.one_of(pairs, st.binary(max_size=20), st.builds(lambda a, b: a + b, pairs, st.binary(max_size=4)))


def intern(store, raw: bytes) -> int | None:
    try:
        return store.intern(raw)
    except InvalidAttribute:
        return None


@settings(max_examples=300, derandomize=True, database=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(damaged, max_size=30))
def test_the_same_bytes_get_the_same_ids_attributes_and_refusals(raws):
    fast, slow = stores()
    for raw in raws:
        assert intern(fast, raw) == intern(slow, raw)
    assert len(fast) == len(slow)
    for i in range(len(fast)):
        assert comparable(fast[i]) == comparable(slow[i])
        assert fast.raw(i) == slow.raw(i)
        assert fast.keys()[np.frombuffer(fast.key_column(i, i + 1), np.int32)[0]] == slow[i].key
    assert [a.key for a in fast[:]] == [a.key for a in slow[:]]


def test_find_knows_canonical_bytes_and_odd_ids_list_the_rest():
    fast, _ = stores()
    canonical = KeyValue(key="k", value=AnyValue(string_value="v")).SerializeToString()
    value_first = b"\x12\x03\x0a\x01v\x0a\x01k"  # the same pair, value before key
    array = KeyValue(key="k", value=AnyValue(array_value=ArrayValue(values=[AnyValue(int_value=1)])))
    ids = [fast.intern(raw) for raw in (canonical, value_first, array.SerializeToString())]
    assert ids == [0, 1, 2] and fast.find(canonical) == 0 and fast.find(b"\x0a\x01x") == -1
    assert fast.odd_ids() == [1, 2] and fast[1] == fast[0] == Attribute("k", "v", "str")
    assert fast[2] == Attribute("k", [1], "array") and fast.key_id("k") == 0 and fast.key_id("nope") == -1


@settings(max_examples=200, derandomize=True, database=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(pairs, max_size=25), st.lists(st.sampled_from(["", "v", "true", "false", "1", "1.0", "nan", "inf",
                                                            "-0.0", "0", "x", "é", "01"]), max_size=6))
def test_equality_lookups_find_what_a_text_index_of_every_value_finds(raws, texts):
    fast, slow = stores()
    for raw in raws:
        fast.intern(raw)
        slow.intern(raw)
    fast_index, slow_index = AttributeIndex(fast), AttributeIndex(slow)
    fast_index.update(len(fast))
    slow_index.update(len(slow))
    generated = [value_text(a.value) for a in slow[:] if not isinstance(a.value, list)]
    for key in ("k", "", "http.url", "k8s.pod", "é", "missing"):
        assert fast_index.ids_of_key(key, len(fast)) == slow_index.ids_of_key(key, len(slow))
        for text in [*texts, *generated]:
            assert fast_index.ids_of_text(key, text) == slow_index.ids_of_text(key, text), (key, text)


def test_compacted_keeps_the_ids_asked_renumbered_in_order():
    fast, slow = stores()
    raws = [KeyValue(key=f"k{i % 3}", value=AnyValue(int_value=i)).SerializeToString() for i in range(50)]
    raws.append(KeyValue(key="a", value=AnyValue(bytes_value=b"\x01")).SerializeToString())
    for raw in raws:
        fast.intern(raw)
        slow.intern(raw)
    keep = np.array([1, 7, 8, 49, 50], np.int64)
    for store in (fast.compacted(keep), slow.compacted(keep)):
        assert [store.raw(i) for i in range(len(store))] == [raws[i] for i in keep]
        assert [store.intern(raws[i]) for i in keep] == [0, 1, 2, 3, 4]
        assert store[4] == Attribute("a", b"\x01", "bytes") and store[0] == Attribute("k1", 1, "int")
        assert store.intern(raws[2]) == 5  # a dropped pair comes back as a new id
    with pytest.raises(ValueError):
        fast.compacted(np.array([3, 2], np.int64))


def same_generation(fast, slow) -> None:
    assert len(fast) == len(slow)
    fast_keys = fast.keys()
    key_of = np.frombuffer(fast.key_column(), np.int32)
    for i in range(len(fast)):
        assert fast.raw(i) == slow.raw(i) and comparable(fast[i]) == comparable(slow[i])
        assert fast_keys[key_of[i]] == slow[i].key and fast.find(fast.raw(i)) in (i, -1)
    assert sorted(set(fast_keys)) == sorted({attribute.key for attribute in slow[:]})  # the keys met, no others


@settings(max_examples=200, derandomize=True, database=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(damaged, max_size=30), st.data())
def test_compacted_is_the_same_generation_as_the_python_one(raws, data):
    fast, slow = stores()
    for raw in raws:
        assert intern(fast, raw) == intern(slow, raw)
    keep = np.array(sorted(data.draw(st.sets(st.integers(0, max(len(fast) - 1, 0)), max_size=len(fast)))), np.int64)
    fast, slow = fast.compacted(keep), slow.compacted(keep)
    same_generation(fast, slow)
    for raw in [*raws, *data.draw(st.lists(damaged, max_size=5))]:  # interning goes on in the new generation
        assert intern(fast, raw) == intern(slow, raw)
    same_generation(fast, slow)


def test_compacted_carries_pages_blocks_and_keys_over():
    fast, _ = stores()
    big = KeyValue(key="big", value=AnyValue(string_value="x" * 200_000)).SerializeToString()  # a block of its own
    raws = [KeyValue(key=f"key{i % 1000}", value=AnyValue(string_value=f"v{i}")).SerializeToString()
            for i in range(40_000)]
    for raw in raws[:20_000] + [big] + raws[20_000:]:
        fast.intern(raw)
    keep = np.arange(0, 40_001, 2, dtype=np.int64)[:16_384]  # exactly one page of entries
    kept = fast.compacted(keep)
    assert len(kept) == 16_384 and kept.raw(16_383) == fast.raw(32_766) and kept.find(raws[1]) == -1
    assert kept.keys() == list(dict.fromkeys(fast[i].key for i in keep.tolist()))  # in the order met
    assert kept.keys()[:3] == ["key0", "key2", "key4"] and "big" in kept.keys()
    new = KeyValue(key="new", value=AnyValue(int_value=1)).SerializeToString()
    assert kept.find(big) == 10_000 and kept.intern(raws[0]) == 0
    assert kept.intern(new) == 16_384 and kept.raw(16_384) == new and kept.keys()[-1] == "new"  # on a new page
    with_big = fast.compacted(np.array([3, 20_000, 39_999], np.int64))
    assert [with_big.raw(i) for i in range(3)] == [raws[3], big, raws[39_998]] and with_big.find(big) == 1
    assert fast.compacted(np.zeros(0, np.int64)).intern(big) == 0
    with pytest.raises(ValueError):
        fast.compacted(np.array([40_001], np.int64))


def test_other_threads_run_while_a_store_is_compacted():
    """The copy releases the GIL: a thread that waits for it runs during the call, not after."""
    fast, _ = stores()
    for i in range(200_000):
        fast.intern(KeyValue(key="k", value=AnyValue(string_value=f"v{i}")).SerializeToString())
    keep = np.arange(0, 200_000, 2, dtype=np.int64)
    state = {"compacting": False, "seen": None}
    go = threading.Lock()
    go.acquire()

    def waiter() -> None:
        with go:  # blocks without the GIL; runs again only when the main thread gives the GIL up
            state["seen"] = state["compacting"]

    interval = sys.getswitchinterval()
    sys.setswitchinterval(30.0)  # the GIL changes hands only when its holder gives it up
    try:
        thread = threading.Thread(target=waiter)
        thread.start()
        state["compacting"] = True
        go.release()
        kept = fast.compacted(keep)
        state["compacting"] = False
    finally:
        sys.setswitchinterval(interval)
    thread.join()
    assert state["seen"] is True and len(kept) == 100_000


def test_ids_table_numbers_fixed_width_ids_in_order():
    assert compiled.IdTable is not None
    table = compiled.IdTable(16)
    ids = [bytes([i]) * 16 for i in range(5)]
    rows, added = table.rows(b"".join(ids + ids[:2]))
    assert np.frombuffer(rows, np.int32).tolist() == [0, 1, 2, 3, 4, 0, 1] and added == 5
    assert len(table) == 5 and table[3] == ids[3] and table.get(ids[4]) == 4 and table.get(b"x" * 16) is None
    assert table.get(b"short") is None
    for i in range(5, 40_000):  # grows past a page and its first slot table
        table.rows(i.to_bytes(16, "big"))
    smaller = table.compacted(np.array([2, 39_999], np.int64))
    assert [smaller[0], smaller[1]] == [ids[2], (39_999).to_bytes(16, "big")] and smaller.get(ids[0]) is None
    with pytest.raises(ValueError):
        table.rows(b"x" * 17)
