"""Series order: Tempo's protobuf-text order, with ties broken so the answer never depends on build order."""

from __future__ import annotations

import itertools

import numpy as np

from kubespan.metrics.series import Series, sort_key


def _series(*labels: tuple[str, tuple[str, object]]) -> Series:
    return Series(labels=tuple(labels), values=np.zeros(1))


def test_values_with_the_same_protobuf_text_sort_the_same_whatever_came_first() -> None:
    # `false` and the empty string both print as nothing in gogo text: without a tie-breaker their order
    # was the order the engine built them in (the vectorised and the reference engine differ there).
    made = [
        _series(("name", ("string", "a")), ("span.size", ("bool", False))),
        _series(("name", ("string", "a")), ("span.size", ("string", ""))),
        _series(("name", ("string", "a")), ("span.size", ("int", 3))),
    ]
    orders = {tuple(repr(s.labels) for s in sorted(p, key=sort_key)) for p in itertools.permutations(made)}
    assert len(orders) == 1


def test_fewer_labels_first_then_protobuf_text() -> None:
    one = _series(("name", ("string", "b")))
    two_int = _series(("name", ("string", "a")), ("span.size", ("int", 3)))
    two_str = _series(("name", ("string", "a")), ("span.size", ("string", "x")))
    ordered = sorted([two_str, two_int, one], key=sort_key)
    assert ordered == [one, two_int, two_str]
