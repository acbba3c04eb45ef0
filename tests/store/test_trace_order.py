"""`TraceOrder` reads the same rows at every position as a full sort, however far it is read."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from kubespan.store.trace_order import TraceOrder


def full_order(rows: np.ndarray, keys: np.ndarray) -> list[int]:
    return rows[np.lexsort((-rows, -keys))].tolist()


@settings(max_examples=200, deadline=None)
@given(st.integers(0, 3000), st.integers(1, 50), st.lists(st.integers(0, 3000), min_size=1, max_size=6),
       st.integers(0, 2**32))
def test_every_read_agrees_with_a_full_sort(n, distinct_keys, reads, seed):
    random = np.random.default_rng(seed)
    rows = np.sort(random.choice(10 * n + 1, n, replace=False)).astype(np.intp)
    keys = random.integers(0, distinct_keys, n).astype(np.int64)  # many ties: the row breaks them
    expected = full_order(rows, keys)
    order = TraceOrder(rows, keys)
    for count in reads:
        head = order.head(count).tolist()
        assert len(head) >= min(count, n)
        assert head == expected[:len(head)]
        if count < n:
            assert order[count] == expected[count]
        assert order.slice(count, count + 7).tolist() == expected[count:count + 7]
    for probe in random.choice(rows, min(n, 20), replace=False).tolist() if n else []:
        assert order.position(probe) == expected.index(probe)
    assert order.position(10 * n + 5) is None
    assert order.array().tolist() == expected


def test_a_screenful_of_a_big_answer_sorts_a_prefix_only():
    rows = np.arange(200_000, dtype=np.intp)
    keys = np.random.default_rng(1).integers(0, 10**12, len(rows)).astype(np.int64)
    order = TraceOrder(rows, keys)
    assert len(order.head(45)) < 10_000  # a partition found the first ones
    assert order.slice(0, 45).tolist() == full_order(rows, keys)[:45]


def test_an_order_given_whole_is_kept():
    order = TraceOrder.sorted(np.array([5, 2, 9], np.int64))
    assert order.array().tolist() == [5, 2, 9] and order[1] == 2 and len(order) == 3
    assert order.position(9) == 2 and order.position(4) is None
