"""Kubelet and containerd traces of the demo cluster: pod-worker `syncPod` roots, CRI client
spans with their containerd server children, kubelet calls to the apiserver (two traces
joined by a link) and the kubelet's own HTTP server spans."""

from __future__ import annotations

import heapq
from collections.abc import Callable, Sequence

from opentelemetry.proto.trace.v1.trace_pb2 import Span

from kubespan.k8s.demo.apiserver import ApiserverSpans
from kubespan.k8s.demo.model import (
    CLIENT,
    ERROR,
    IMAGE_METHODS,
    INTERNAL,
    MS,
    SCOPE_KUBELET,
    SCOPE_OTELGRPC,
    SCOPE_OTELHTTP,
    SCOPE_OTELRESTFUL,
    SCOPE_OTELTTRPC,
    SERVER,
    US,
    ApiRequest,
    Attr,
    Attrs,
    Caller,
    Pod,
    kv,
)
from kubespan.k8s.demo.recorder import PendingSpan


class KubeletSpans(ApiserverSpans):
    """Adds kubelet and containerd traces to the apiserver ones."""

    kubelet: Caller  # the kubelet as an apiserver client, set by the cluster
    _pulled: set[str]  # images already on the node, kept by the cluster

    def _cri(self, trace_id: bytes, parent: bytes, start: int, dur: int, method: str, *,
             code: int = 0, message: str = "", logs: Sequence[str] = (), attrs: Sequence[Attr] = (),
             events: Sequence[tuple[str, Attrs]] = (), ttrpc: Sequence[str] = ()) -> int:
        """A kubelet CRI client span with its containerd server span as child; returns end time."""
        svc = "ImageService" if method in IMAGE_METHODS else "RuntimeService"
        full = f"runtime.v1.{svc}/{method}"
        end = start + dur
        client = self._grpc_client("kubelet", trace_id, parent, start, dur, full, code, message)
        s_start, s_end = start + self._jit(150 * US), end - self._jit(100 * US)
        s_end = max(s_end, s_start + 20 * US)
        evs = self._message_events(s_start, s_end, 256, 64, client=False)
        log_times = self._spread(s_start, s_end, list(logs) + [name for name, _ in events])
        for t, line in zip(log_times, logs):
            evs.append((t, line, [("level", "error" if code and line.endswith("failed") else "info")]
                        + ([("error", message)] if code and line.endswith("failed") else [])))
        for t, (name, ev_attrs) in zip(log_times[len(logs):], events):
            evs.append((t, name, ev_attrs))
        evs.sort(key=lambda e: e[0])
        server = self._span("containerd", SCOPE_OTELGRPC, full, SERVER, trace_id, client, s_start, s_end,
                            self._rpc_attrs(full, code) + list(attrs if self.stable else ()), evs,
                            error=message if code else None)
        t = s_start + (s_end - s_start) // 3
        for task_method in ttrpc:  # containerd 2.x: the shim's ttrpc client spans
            d = self._jit((s_end - s_start) // (len(ttrpc) + 2))
            self._span("containerd", SCOPE_OTELTTRPC, f"containerd.task.v3.Task/{task_method}", CLIENT,
                       trace_id, server, t, t + d,
                       self._rpc_attrs(f"containerd.task.v3.Task/{task_method}", 0, ttrpc=True))
            t += d + 10 * US
        return end

    def _cri_root(self, t: int, method: str, dur: int) -> int:
        """A background CRI call: kubelet CLIENT root plus containerd SERVER child."""
        return self._cri(self._id(16), b"", t, dur, method)

    def _kubelet_http(self, t: int, req: ApiRequest, *, status: int = 200, dur: int = 4 * MS,
                      object_type: str = "*core.Pod", conflict: bool = False) -> int:
        """A kubelet HTTP client root span and the apiserver trace linked to it."""
        trace_id = self._id(16)
        url = f"https://127.0.0.1:6443{req.target}"
        if self.stable:
            attrs: Attrs = [("http.request.method", req.method), ("url.full", url), ("server.address", "127.0.0.1"),
                            ("server.port", 6443), ("network.protocol.version", "1.1")]
            if req.method in ("PUT", "PATCH", "POST"):
                attrs.append(("http.request.body.size", self.rng.randint(200, 3000)))
            attrs.append(("http.response.status_code", status))
        else:
            attrs = [("http.url", url), ("http.user_agent", self.kubelet.user_agent)]
            if req.method in ("PUT", "PATCH", "POST"):
                attrs.append(("http.request_content_length", self.rng.randint(200, 3000)))
            attrs += [("http.scheme", "https"), ("http.host", "127.0.0.1:6443"), ("http.flavor", "1.1"),
                      ("http.method", req.method), ("http.status_code", status)]
        client = self._span("kubelet", SCOPE_OTELHTTP, f"HTTP {req.method}", CLIENT, trace_id, b"", t, t + dur, attrs,
                            error="" if status >= 400 else None)  # client spans fail on 4xx and 5xx
        self.api_request(t + 300 * US, req, self.kubelet, status=status, dur=dur - 600 * US,
                         link=(trace_id, client), object_type=object_type, conflict=conflict)
        return t + dur

    def _sync_pod(self, t: int, pod: Pod, update_type: str, body: Callable[[bytes, bytes, int], tuple[int, str]],
                  name: str = "syncPod") -> int:
        """A pod-worker root span; `body(trace_id, parent, start) -> (end, error)` adds its children."""
        trace_id = self._id(16)
        span_id = self._id(8)
        end, error = body(trace_id, span_id, t + self._jit(400 * US))
        end += self._jit(500 * US)
        attrs: Attrs = [("k8s.pod.uid", pod.uid), ("k8s.pod", f"{pod.namespace}/{pod.name}"),
                        ("k8s.pod.name", pod.name)]
        if name == "syncPod":
            attrs.append(("k8s.pod.update_type", update_type))
        attrs.append(("k8s.namespace.name", pod.namespace))
        span = Span(trace_id=trace_id, span_id=span_id, name=name, kind=INTERNAL, start_time_unix_nano=t,
                    end_time_unix_nano=end)
        span.attributes.extend(kv(k, v) for k, v in attrs)
        if error and self.stable and name == "syncPod":  # Error status on syncPod since ~1.31
            span.events.add(time_unix_nano=end - 100 * US, name="exception",
                            attributes=[kv("exception.type", "*errors.errorString"), kv("exception.message", error)])
            span.status.code = ERROR
            span.status.message = error
        self._seq += 1
        heapq.heappush(self._pending, PendingSpan(end, self._seq, "kubelet", SCOPE_KUBELET, span))
        return end

    def _run_sandbox(self, t: int, pod: Pod) -> int:
        """The pod's sandbox: RunPodSandbox and PodSandboxStatus, each a trace of its own (the blog's
        `syncPod` create trace for echo-command holds neither); returns when they are done."""
        meta = f"&PodSandboxMetadata{{Name:{pod.name},Uid:{pod.uid},Namespace:{pod.namespace},Attempt:0,}}"
        pod.sandbox_id = self._hex(32)
        t = self._cri(self._id(16), b"", t, self._jit(250 * MS), "RunPodSandbox",
                      logs=[f"RunPodSandbox for {meta}",
                            f'RunPodSandbox for {meta} returns sandbox id "{pod.sandbox_id}"'],
                      attrs=[("sandbox.id", pod.sandbox_id)])
        return self._cri(self._id(16), b"", t + self._jit(300 * US), self._jit(900 * US), "PodSandboxStatus")

    def _start_pod(self, pod: Pod) -> Callable[[bytes, bytes, int], tuple[int, str]]:
        """The `syncPod` create body: image status and pull, then create and start the container."""
        def body(trace_id: bytes, parent: bytes, t: int) -> tuple[int, str]:
            t = self._cri(trace_id, parent, t, self._jit(600 * US), "ImageStatus")
            ref = f"docker.io/library/{pod.image}" if "/" not in pod.image else pod.image
            if pod.image not in self._pulled:
                if not pod.image_ok:
                    msg = (f'failed to pull and unpack image "{ref}": failed to resolve reference "{ref}": '
                           f"{ref}: not found")
                    t = self._cri(trace_id, parent, t + 200 * US, self._jit(900 * MS), "PullImage", code=2, message=msg,
                                  logs=[f'PullImage "{pod.image}"', f'PullImage "{pod.image}" failed'])
                    return t, f'failed to "StartContainer" for "{pod.name.split("-")[0]}" with ErrImagePull: "{msg}"'
                digest = "sha256:" + self._hex(32)
                t = self._cri(trace_id, parent, t + 200 * US, self._jit(1260 * MS), "PullImage",
                              logs=[f'PullImage "{pod.image}"',
                                    f'PullImage "{pod.image}" returns image reference "{digest}"'],
                              attrs=[("image.ref", ref), ("snapshotter.name", "overlayfs")],
                              events=[("Pull and unpack image complete", [])])
                self._pulled.add(pod.image)
                t = self._cri(trace_id, parent, t + self._jit(300 * US), self._jit(480 * US), "ImageStatus")
            container = pod.name if pod.name == "echo-command" else pod.name.split("-")[0]
            pod.container_id = self._hex(32)
            cmeta = f"&ContainerMetadata{{Name:{container},Attempt:0,}}"
            dur = self._jit(23 * MS)
            t = self._cri(trace_id, parent, t + self._jit(2 * MS), dur, "CreateContainer",
                          logs=[f'CreateContainer within sandbox "{pod.sandbox_id}" for container {cmeta}',
                                f'CreateContainer within sandbox "{pod.sandbox_id}" for {cmeta} returns container id '
                                f'"{pod.container_id}"'],
                          attrs=[("sandbox.id", pod.sandbox_id), ("container.id", pod.container_id),
                                 ("container.name", container), ("container.image.ref", ref)],
                          events=[("container created", [("container.create.duration", f"{dur / MS:.1f}ms")])])
            dur = self._jit(53 * MS)
            t = self._cri(trace_id, parent, t + self._jit(1 * MS), dur, "StartContainer",
                          logs=[f'StartContainer for "{pod.container_id}"',
                                f'StartContainer for "{pod.container_id}" returns successfully'],
                          attrs=[("container.id", pod.container_id), ("sandbox.id", pod.sandbox_id)],
                          events=[("container started", [("container.start.duration", f"{dur / MS:.1f}ms")])],
                          ttrpc=["Create", "Start"] if self.stable else [])
            return t, ""

        return body

    def _status_body(self, calls: list[str]) -> Callable[[bytes, bytes, int], tuple[int, str]]:
        def body(trace_id: bytes, parent: bytes, t: int) -> tuple[int, str]:
            for method in calls:
                t = self._cri(trace_id, parent, t + self._jit(150 * US), self._jit(500 * US), method)
            return t + self._jit(800 * US), ""

        return body

    def _stop_body(self, pod: Pod) -> Callable[[bytes, bytes, int], tuple[int, str]]:
        def body(trace_id: bytes, parent: bytes, t: int) -> tuple[int, str]:
            if pod.container_id:
                t = self._cri(trace_id, parent, t, self._jit(30 * MS), "StopContainer",
                              logs=[f'StopContainer for "{pod.container_id}" with timeout 30 (s)',
                                    f'StopContainer for "{pod.container_id}" returns successfully'],
                              events=[("container stopped", [("container.id", pod.container_id),
                                                             ("container.stop.duration", "28.4ms")])])
            t = self._cri(trace_id, parent, t + 200 * US, self._jit(60 * MS), "StopPodSandbox",
                          logs=[f'StopPodSandbox for "{pod.sandbox_id}"',
                                f'StopPodSandbox for "{pod.sandbox_id}" returns successfully'])
            return t, ""

        return body

    def _kubelet_server(self, trace_id: bytes, parent: bytes, t: int, dur: int, route: str, target: str,
                        user_agent: str, peer: str) -> None:
        if self.stable:
            attrs: Attrs = [("http.request.method", "GET"), ("url.scheme", "https"), ("server.address", "172.18.0.2"),
                            ("server.port", 10250), ("network.peer.address", peer),
                            ("network.peer.port", self.rng.randint(32768, 60999)), ("user_agent.original", user_agent),
                            ("url.path", target.split("?")[0]), ("http.route", route),
                            ("network.protocol.version", "2"), ("http.response.status_code", 200)]
        else:
            attrs = [("net.transport", "ip_tcp"), ("net.peer.ip", peer),
                     ("net.peer.port", self.rng.randint(32768, 60999)),
                     ("net.host.ip", "172.18.0.2"), ("net.host.port", 10250), ("http.method", "GET"),
                     ("http.target", target), ("http.server_name", "kubelet"), ("http.route", route),
                     ("http.user_agent", user_agent), ("http.scheme", "https"), ("http.host", "172.18.0.2:10250"),
                     ("http.flavor", "2"), ("http.status_code", 200)]
        self._span("kubelet", SCOPE_OTELRESTFUL, route, SERVER, trace_id, parent, t, t + dur, attrs)
