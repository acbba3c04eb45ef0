"""The simulated one-node k3d cluster: its callers and system pods, and the scheduled
scenarios (PLEG relists, leases, health checks, metrics scrapes, controllers, the
walkthrough's echo-command pod and replicaset workloads) that drive the span generators."""

from __future__ import annotations

from collections.abc import Iterable

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
)
from opentelemetry.proto.trace.v1.trace_pb2 import Span

from kubespan.k8s.demo.kubelet import KubeletSpans
from kubespan.k8s.demo.model import (
    CLIENT,
    MS,
    NODE,
    SCOPE_OTELHTTP,
    US,
    ApiRequest,
    Attrs,
    Caller,
    Pod,
    S,
)

_SYSTEM_PODS = [
    ("kube-system", "coredns-59b4f5bbd5-k7q2m", "rancher/mirrored-coredns-coredns:1.10.1"),
    ("kube-system", "local-path-provisioner-76d776f6f9-x8n4t", "rancher/local-path-provisioner:v0.0.24"),
    ("kube-system", "metrics-server-7b67f64457-hd6zp", "rancher/mirrored-metrics-server:v0.6.3"),
    ("kube-system", "traefik-56b8c5fb5c-2wz97", "rancher/mirrored-library-traefik:2.9.10"),
    ("kube-system", "svclb-traefik-5c1c9e2b-jbmvl", "rancher/klipper-lb:v0.4.3"),
]
_WORKLOADS = [
    ("web", "nginx:1.25"),
    ("api", "ghcr.io/example/api:2.3.1"),
    ("worker", "python:3.12-slim"),
    ("cache", "redis:7.2"),
    ("web", "nginx:latests"),  # typo: the image pull fails
]


ECHO_COMMAND_AT = 300 * MS
"""When the walkthrough's `kubectl run ... echo-command` starts: its 11-span `syncPod` create trace
has ended within the first 3 seconds, so the viewer shows the walkthrough's query result at once."""
MAX_WORKLOAD_PODS = 200
"""Most replicaset pods at once, however busy the cluster runs."""


class DemoCluster(KubeletSpans):
    """A simulated k3d node that produces OTLP export requests, one per service per batch."""

    def __init__(self, seed: int = 0, k8s_version: str = "1.27", start_ns: int | None = None,
                 pace: float = 1.0) -> None:
        super().__init__(seed, k8s_version, start_ns)
        self.pace = pace
        self.pods: dict[str, Pod] = {}
        self._pulled: set[str] = set()
        git = "0f1c7a4" if self.stable else "bc5b42c"
        k3s_ua = f"k3s/{self.k3s} (linux/amd64) kubernetes/{git}"
        self.kubectl = Caller(
            f"kubectl/{self.k3s.split('+')[0]} (linux/amd64) kubernetes/4c94112", "172.18.0.3", "0.0.0.0:60503", True
        )
        self.kubelet = Caller(k3s_ua, "127.0.0.1", "127.0.0.1:6443", False, traced=True)
        self.scheduler = Caller(k3s_ua + "/scheduler", "127.0.0.1", "127.0.0.1:6443", False)
        self.leader = Caller(k3s_ua + "/leader-election", "127.0.0.1", "127.0.0.1:6443", False)
        self.k3s_agent = Caller(k3s_ua, "127.0.0.1", "127.0.0.1:6443", True)
        self.rs_controller = Caller(
            k3s_ua + "/system:serviceaccount:kube-system:replicaset-controller", "127.0.0.1", "127.0.0.1:6443", False
        )
        for ns, name, image in _SYSTEM_PODS:
            self.pods[f"{ns}/{name}"] = Pod(ns, name, image, self._uuid(), sandbox_id=self._hex(32),
                                            container_id=self._hex(32))
            self._pulled.add(image)
        t = self.now
        for delay, handler in [
            (0, self._pleg), (3 * S, self._node_lease), (1 * S, self._leases), (2 * S, self._health),
            (4 * S, self._metrics_scrape), (5 * S, self._resync), (1500 * MS, self._controller_get),
            (7 * S, self._controller_list), (11 * S, self._controller_update), (ECHO_COMMAND_AT, self._echo_command),
            (25 * S, self._workload),
        ]:
            self._at(t + (delay if handler == self._echo_command else int(delay / pace)), handler)

    # ---- scheduled events -------------------------------------------------------------------

    def _pleg(self, t: int) -> None:
        """Generic PLEG relist every second: ListPodSandbox and ListContainers."""
        end = self._cri_root(t, "ListPodSandbox", self._jit(700 * US))
        self._cri_root(end + self._jit(200 * US), "ListContainers", self._jit(900 * US))
        self._again(t, S, self._pleg)

    def _node_lease(self, t: int) -> None:
        req = ApiRequest("PUT", "leases", "kube-node-lease", NODE, group="coordination.k8s.io")
        self._kubelet_http(t, req, dur=self._jit(5 * MS), object_type="*coordination.Lease")
        self._again(t, 10 * S, self._node_lease)

    def _leases(self, t: int) -> None:
        """Leader-election lease renewals of the embedded controller-manager and scheduler."""
        for name in ("kube-controller-manager", "kube-scheduler"):
            req = ApiRequest("PUT", "leases", "kube-system", name, group="coordination.k8s.io")
            self.api_request(t, req, self.leader, dur=self._jit(4 * MS), object_type="*coordination.Lease")
            t += self._jit(3 * MS)
        self._again(t, 2 * S, self._leases)

    def _health(self, t: int) -> None:
        for path in ("/readyz", "/livez"):
            self.api_request(t, ApiRequest("GET", raw_path=path), self.k3s_agent, dur=self._jit(1 * MS))
            t += self._jit(2 * MS)
        self._again(t, 5 * S, self._health)

    def _metrics_scrape(self, t: int) -> None:
        """metrics-server scrapes the kubelet every 15 s (otelrestful SERVER root)."""
        self._kubelet_server(self._id(16), b"", t, self._jit(6 * MS), "/metrics/resource", "/metrics/resource",
                             "metrics-server/v0.6.3 (linux/amd64) kubernetes/$Format", "10.42.0.4")
        self._again(t, 15 * S, self._metrics_scrape)

    def _resync(self, t: int) -> None:
        """Periodic no-op resync of a running pod, sometimes with a status call."""
        pods = sorted(self.pods)
        pod = self.pods[pods[self.rng.randrange(len(pods))]]
        calls = [] if self.rng.random() < 0.6 else ["PodSandboxStatus"]
        self._sync_pod(t, pod, "sync", self._status_body(calls))
        self._again(t, self._jit(6 * S, 0.5), self._resync)

    def _controller_get(self, t: int) -> None:
        choices = [
            ApiRequest("GET", "pods", "kube-system", "helm-install-traefik-crd-8w4wd"),
            ApiRequest("GET", "configmaps", "kube-system", "coredns"),
            ApiRequest("GET", "endpoints", "default", "kubernetes"),
            ApiRequest("GET", "deployments", "kube-system", "coredns", group="apps"),
        ]
        req = choices[self.rng.randrange(len(choices))]
        if self.rng.random() < 0.02:  # storage timeout: etcd client span and 500 both fail
            self.api_request(t, req, self.k3s_agent, status=500, dur=self._jit(40 * MS),
                             etcd_error="etcdserver: request timed out")
        else:
            self.api_request(t, req, self.k3s_agent, dur=self._jit(3 * MS))
        self._again(t, self._jit(3 * S, 0.5), self._controller_get)

    def _controller_list(self, t: int) -> None:
        req = ApiRequest("GET", "pods", query="limit=500&resourceVersion=0")
        self.api_request(t, req, self.k3s_agent, dur=self._jit(6 * MS))
        self._again(t, self._jit(20 * S, 0.5), self._controller_list)

    def _controller_update(self, t: int) -> None:
        """Controllers updating objects; some lose the optimistic-concurrency race (409)."""
        req = ApiRequest("PUT", "replicasets", "kube-system", "coredns-59b4f5bbd5", group="apps", subresource="status")
        conflict = self.rng.random() < 0.15
        self.api_request(t, req, self.rs_controller, status=409 if conflict else 200, dur=self._jit(5 * MS),
                         object_type="*apps.ReplicaSet", conflict=conflict)
        self._again(t, self._jit(8 * S, 0.5), self._controller_update)

    def _create_pod(self, t: int, pod: Pod, creator: Caller, query: str = "") -> int:
        """Create, bind, start and report a pod; returns when the pod is running (or failed)."""
        t = self.api_request(t, ApiRequest("POST", "pods", pod.namespace, query=query), creator, status=201,
                             dur=self._jit(7 * MS))
        t = self.api_request(t + self._jit(4 * MS), ApiRequest("POST", "pods", pod.namespace, pod.name, "binding"),
                             self.scheduler, status=201, dur=self._jit(4 * MS))
        t = self._run_sandbox(t + self._jit(8 * MS), pod)
        t = self._sync_pod(t + self._jit(300 * US), pod, "create", self._start_pod(pod))
        self._kubelet_http(t + self._jit(2 * MS), ApiRequest("PATCH", "pods", pod.namespace, pod.name, "status"),
                           dur=self._jit(6 * MS))
        return t

    def _delete_pod(self, t: int, pod: Pod, deleter: Caller) -> None:
        self.api_request(t, ApiRequest("DELETE", "pods", pod.namespace, pod.name), deleter, dur=self._jit(6 * MS))
        t = self._sync_pod(t + self._jit(5 * MS), pod, "kill", self._stop_body(pod), name="syncTerminatingPod")
        t = self._sync_pod(t + self._jit(20 * MS), pod, "kill", self._status_body(["PodSandboxStatus"]),
                           name="syncTerminatedPod")
        gone = self.rng.random() < 0.3  # the API object may already be gone: 404, an Error client span
        self._kubelet_http(t + self._jit(3 * MS), ApiRequest("DELETE", "pods", pod.namespace, pod.name),
                           status=404 if gone else 200, dur=self._jit(5 * MS))
        gc = t + self._jit(1 * S)
        if pod.container_id:
            gc = self._cri_root(gc, "RemoveContainer", self._jit(8 * MS))
        self._cri_root(gc + self._jit(2 * MS), "RemovePodSandbox", self._jit(40 * MS))
        self.pods.pop(f"{pod.namespace}/{pod.name}", None)

    def _echo_command(self, t: int) -> None:
        """The walkthrough: kubectl run -it --rm --restart=Never --image=alpine echo-command -- echo hi."""
        pod = Pod("default", "echo-command", "alpine:latest", self._uuid())
        self.pods["default/echo-command"] = pod
        watch_start = t + self._jit(12 * MS)
        running = self._create_pod(t, pod, self.kubectl, query="fieldManager=kubectl-run")
        # the attach fails: "unable to upgrade connection: container echo-command not found in pod echo-command_default"
        t = self.api_request(running + self._jit(30 * MS), ApiRequest(
            "POST", "pods", "default", "echo-command", "attach",
            query="container=echo-command&stdin=true&stdout=true&tty=true"), self.kubectl, status=404,
            dur=self._jit(9 * MS))
        # the container exits; kubelet notices and syncs
        t = self._sync_pod(t + self._jit(300 * MS), pod, "update",
                           self._status_body(["PodSandboxStatus", "ContainerStatus"]))
        self._kubelet_http(t + self._jit(2 * MS), ApiRequest("PATCH", "pods", "default", "echo-command", "status"),
                           dur=self._jit(6 * MS))
        # kubectl falls back to streaming logs: apiserver -> kubelet /containerLogs (same trace)
        log_req = ApiRequest("GET", "pods", "default", "echo-command", "log",
                             query="container=echo-command&follow=true")

        def logs(trace_id: bytes, parent: bytes, start: int, end: int) -> None:
            url = "https://172.18.0.2:10250/containerLogs/default/echo-command/echo-command?follow=true"
            attrs: Attrs = ([("http.request.method", "GET"), ("url.full", url), ("server.address", "172.18.0.2"),
                             ("server.port", 10250), ("http.response.status_code", 200)] if self.stable else
                            [("http.url", url), ("http.scheme", "https"), ("http.host", "172.18.0.2:10250"),
                             ("http.flavor", "1.1"), ("http.method", "GET"), ("http.status_code", 200)])
            client = self._span("apiserver", SCOPE_OTELHTTP, "HTTP GET", CLIENT, trace_id, parent, start, end, attrs)
            margin = min(200 * US, (end - start) // 4)  # inside the client span, however short
            self._kubelet_server(trace_id, client, start + margin, end - start - 2 * margin,
                                 "/containerLogs/{podNamespace}/{podID}/{containerName}",
                                 "/containerLogs/default/echo-command/echo-command?follow=true",
                                 self.kubelet.user_agent, "127.0.0.1")

        t = self.api_request(t + self._jit(20 * MS), log_req, self.kubectl, dur=self._jit(25 * MS), downstream=logs)
        delete_at = t + self._jit(150 * MS)
        # the watch kubectl opened at the start ends only now: its authentication span was exported long before
        watch = ApiRequest("GET", "pods", "default", query="fieldSelector=metadata.name%3Decho-command&watch=true")
        self.api_request(watch_start, watch, self.kubectl, dur=delete_at + 40 * MS - watch_start)
        self._at(delete_at, lambda when: self._delete_pod(when, pod, self.kubectl))

    def _workload(self, t: int) -> None:
        """A replicaset controller starts a pod; it runs a while and is deleted again."""
        active = [p for p in self.pods if p.startswith("default/")]
        if len(active) < min(MAX_WORKLOAD_PODS, int(6 * max(1.0, self.pace))):
            name, image = _WORKLOADS[self.rng.randrange(len(_WORKLOADS))]
            pod = Pod("default", f"{name}-{self._hex(3)[:5]}-{self._hex(3)[:5]}", image, self._uuid(),
                      image_ok=image != "nginx:latests")
            self.pods[f"default/{pod.name}"] = pod
            running = self._create_pod(t, pod, self.rs_controller)
            lifetime = self._jit(90 * S, 0.6) if pod.image_ok else self._jit(20 * S)
            self._at(running + lifetime, lambda when: self._delete_pod(when, pod, self.rs_controller))
        self._again(t, self._jit(25 * S, 0.5), self._workload)


def spans_in(requests: Iterable[ExportTraceServiceRequest]) -> list[tuple[str, Span]]:
    """(service.name, span) for every span of `requests`; handy in tests and tools."""
    out: list[tuple[str, Span]] = []
    for req in requests:
        for rs in req.resource_spans:
            service = next((a.value.string_value for a in rs.resource.attributes if a.key == "service.name"), "")
            out.extend((service, s) for ss in rs.scope_spans for s in ss.spans)
    return out
