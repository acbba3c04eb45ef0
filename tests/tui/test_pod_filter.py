"""The pod view's filters keep pods of the same name in different namespaces apart."""

from __future__ import annotations

from kubespan.query import compile_query
from kubespan.tui.pod_list import PodRow, pod_attribute_filter
from tests.tui import data
from tests.tui.conftest import make_store


def _pod_span(t: int, namespace: str) -> bytes:
    span = data.make_span(t, 0, "syncPod", attrs={"k8s.pod.name": "web-0", "k8s.namespace.name": namespace})
    return data.request("kubelet", [span])


def test_stable_semconv_pod_filter_names_the_namespace():
    store, _, _ = make_store([_pod_span(1, "default"), _pod_span(2, "prod"), _pod_span(3, "prod")])
    pod = PodRow("prod", "web-0")
    pod.keys.add("k8s.pod.name")
    text = pod_attribute_filter(pod)
    assert 'k8s.namespace.name="prod"' in text
    assert len(store.search(compile_query(text))) == 2
    bare = PodRow("", "web-0")
    bare.keys.add("k8s.pod.name")
    assert len(store.search(compile_query(pod_attribute_filter(bare)))) == 3
