"""The indexed evaluator's chunk-index lookups and its conjunction order give the plain answers."""

from __future__ import annotations

import numpy as np

from kubespan.otlp.attributes import new_attribute_table
from kubespan.query import compile_query
from kubespan.query.ast import And
from kubespan.store import SpanStore
from kubespan.store.engine import Evaluator
from kubespan.store.engine_index import sorted_bounds
from kubespan.store.engine_order import cheapest_first, conjuncts
from tests.support.spanfactory import S, batch


def test_sorted_bounds_agree_with_numpy_for_few_and_many_ids():
    rng = np.random.default_rng(3)
    flat = rng.integers(0, 500, 20_000).astype(np.int32)
    order = np.argsort(flat, kind="stable").astype(np.int32)
    for ids in ([7], [0, 499, 250, 250], list(range(-3, 40)), [10_000], rng.integers(0, 600, 200).tolist()):
        wanted = np.array(ids, np.int64)
        lo, hi = sorted_bounds(flat, order, wanted)
        assert lo.tolist() == np.searchsorted(flat, wanted, "left", sorter=order.astype(np.intp)).tolist()
        assert hi.tolist() == np.searchsorted(flat, wanted, "right", sorter=order.astype(np.intp)).tolist()


def test_a_conjunction_runs_its_index_lookup_first_and_answers_as_written():
    table = new_attribute_table()
    store = SpanStore(table, max_spans=100_000)
    spans = [S(i // 5 + 1, i + 1, name="syncPod" if i % 3 else "other", service="kubelet" if i % 2 else "api",
               attrs={"k8s.pod": f"pod-{i % 997}"}) for i in range(20_000)]
    for first in range(0, len(spans), 10_000):
        store.consume_traces(batch(spans[first:first + 10_000], table))
    text = '{ resource.service.name = "kubelet" && name = "syncPod" && span.k8s.pod = "pod-5" }'
    query = compile_query(text)
    evaluator = Evaluator(store.snapshot())
    root = query.root.expr
    assert isinstance(root, And)
    assert [t.field.kind for t in cheapest_first(evaluator, root)] == ["attr", "attr", "name"]
    assert cheapest_first(evaluator, root)[0].field.key == "k8s.pod"
    assert [t.field.kind for t in conjuncts(root)] == ["attr", "name", "attr"]
    expected = [i for i, s in enumerate(spans) if s.name == "syncPod" and s.service == "kubelet"
                and s.attrs["k8s.pod"] == "pod-5"]
    assert store.search(query).tolist() == expected and expected
