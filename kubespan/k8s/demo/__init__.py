"""Deterministic generator of realistic OTLP traces from a one-node k3d cluster.

It mirrors what kube-apiserver, the kubelet and containerd emit (their sources, and the
walkthrough's k3s v1.27.1 run: its 11-span `syncPod` trace for `default/echo-command` comes
within the first 3 simulated seconds): apiserver request traces (`KubernetesAPI` up to 1.30, route
names later) with handler, storage and etcd client spans; kubelet `syncPod` traces whose CRI
client spans each have a containerd SERVER child in the same trace; background noise (PLEG
relists every second, lease renewals, health checks, metrics scrapes); occasional errors; and
kubelet -> apiserver calls that show up as two traces joined by a span link.

Same seed, version, start time and pace => byte-identical output. ``pace`` makes the background
activity busier (or calmer) than a real cluster's; `kubespan demo --rate` sets it.

Modules: :mod:`.model` (constants and value types), :mod:`.recorder` (simulated time and
span buffer), :mod:`.apiserver`, :mod:`.kubelet` (span generators), :mod:`.cluster`
(:class:`DemoCluster` and its scenarios) and :mod:`.batches` (:func:`load_batch`).
"""

from kubespan.k8s.demo.batches import load_batch
from kubespan.k8s.demo.cluster import DemoCluster, spans_in
from kubespan.k8s.demo.model import DEFAULT_START_NS, NODE, VERSIONS, apiserver_instance_id, kv

__all__ = [
    "DEFAULT_START_NS",
    "NODE",
    "VERSIONS",
    "DemoCluster",
    "apiserver_instance_id",
    "kv",
    "load_batch",
    "spans_in",
]
