"""kube-apiserver traces of the demo cluster: the HTTP server span, the filter chain
(authentication, audit, ...), the REST handler with its storage and etcd client spans, and
the response serialisation, in the shapes of Kubernetes 1.27 and 1.36."""

from __future__ import annotations

from collections.abc import Callable

from kubespan.k8s.demo.model import (
    INTERNAL,
    MS,
    SCOPE_FILTER,
    SCOPE_OTELHTTP,
    SCOPE_TRACING,
    SERVER,
    US,
    ApiRequest,
    Attrs,
    Caller,
)
from kubespan.k8s.demo.recorder import SpanRecorder


class ApiserverSpans(SpanRecorder):
    """Adds apiserver request traces to the span recorder."""

    def _http_server_attrs(self, req: ApiRequest, caller: Caller, status: int, wrote: int, audit: str) -> Attrs:
        host, port = caller.host.rsplit(":", 1)
        peer_port = self.rng.randint(32768, 60999)
        if self.stable:
            attrs: Attrs = [
                ("http.request.method", req.method), ("url.scheme", "https"), ("server.address", host),
                ("server.port", int(port)), ("network.peer.address", caller.peer_ip),
                ("network.peer.port", peer_port), ("user_agent.original", caller.user_agent),
                ("client.address", caller.peer_ip), ("url.path", req.path), ("network.protocol.name", "http"),
                ("network.protocol.version", "2"), ("http.response.status_code", status),
            ]
            if req.method in ("POST", "PUT", "PATCH"):
                attrs.append(("http.request.body.size", self.rng.randint(200, 3000)))
            return attrs + [("http.response.body.size", wrote), ("http.target", req.target), ("audit-id", audit)]
        return [
            ("net.transport", "ip_tcp"), ("net.peer.ip", caller.peer_ip), ("net.peer.port", peer_port),
            ("net.host.ip", "127.0.0.1" if caller.peer_ip == "127.0.0.1" else "172.18.0.2"),
            ("net.host.port", 6443), ("http.target", req.target), ("http.server_name", "KubernetesAPI"),
            ("http.user_agent", caller.user_agent), ("http.scheme", "https"), ("http.host", caller.host),
            ("http.flavor", "2"), ("http.method", req.method), ("http.wrote_bytes", wrote),
            ("http.status_code", status),
        ]

    def _handler_attrs(self, req: ApiRequest, caller: Caller, audit: str) -> Attrs:
        attrs: Attrs = [("accept", "application/vnd.kubernetes.protobuf, */*"), ("audit-id", audit),
                        ("client", caller.peer_ip)]
        if self.stable:
            attrs += [("api-group", req.group), ("api-version", req.version)]
        attrs += [("name", req.name), ("subresource", req.subresource)]
        if self.stable:
            attrs.append(("namespace", req.namespace))
        return attrs + [("protocol", "HTTP/2.0"), ("resource", req.resource), ("scope", req.scope),
                        ("url", req.path), ("user-agent", caller.user_agent), ("verb", req.verb)]

    _HANDLER_EVENTS = {
        "Create": ["limitedReadBody succeeded", "About to convert to expected version", "Conversion done",
                   "About to store object in database", "Write to database call succeeded",
                   "About to write a response", "Writing http response done"],
        "Update": ["limitedReadBody succeeded", "About to convert to expected version", "Conversion done",
                   "About to store object in database", "Write to database call succeeded",
                   "About to write a response", "Writing http response done"],
        "Get": ["About to process Get options", "About to Get from storage", "About to write a response",
                "Writing http response done"],
        "List": ["About to List from storage", "Listing from storage done", "Writing http response done"],
        "Patch": ["limitedReadBody succeeded", "Recorded the audit event", "About to apply patch",
                  "About to check admission control", "Object stored in database", "About to write a response",
                  "Writing http response done"],
        "Delete": ["limitedReadBody succeeded", "Decoded delete options", "Recorded the audit event",
                   "About to delete object from database", "Object deleted from database",
                   "About to write a response", "Writing http response done"],
    }

    def api_request(self, t: int, req: ApiRequest, caller: Caller, *, status: int = 200, dur: int = 3 * MS,
                    link: tuple[bytes, bytes] | None = None, object_type: str = "*core.Pod",
                    etcd_error: str | None = None, conflict: bool = False,
                    downstream: Callable[[bytes, bytes, int, int], None] | None = None) -> int:
        """One apiserver request trace starting at `t`; returns its end time.

        `downstream(trace_id, parent, start, end)` adds spans below the handler (e.g. a kubelet call).
        """
        end = t + dur
        audit = self._uuid()
        wrote = self.rng.randint(300, 6000) if status < 400 else self.rng.randint(180, 400)
        links = [link] if link and caller.traced else []
        auth_end = t + self._jit(300 * US)
        http_attrs = self._http_server_attrs(req, caller, status, wrote, audit)
        server_error = "" if status >= 500 else None  # otelhttp: server spans fail on 5xx only, no message
        if self.stable:
            # 1.34+: authentication wraps the route span; public callers (not system:masters) get a new root
            auth_trace = self._id(16)
            auth = self._span("apiserver", SCOPE_FILTER, "authentication", INTERNAL, auth_trace, b"", t, end)
            trace_id, parent = (auth_trace, auth) if caller.masters else (self._id(16), b"")
            root = self._span("apiserver", SCOPE_OTELHTTP, req.route(), SERVER, trace_id, parent,
                              t + 40 * US, end - 30 * US, http_attrs, links=links if not caller.masters else (),
                              error=server_error)
            parent, s, e = root, auth_end, end - 60 * US
            for name in ("audit", "impersonation", "priorityandfairness", "authorization"):
                s, e = s + 15 * US, e - 10 * US
                parent = self._span("apiserver", SCOPE_FILTER, name, INTERNAL, trace_id, parent, s, e)
            h_start, h_end = s + 20 * US, e - 20 * US
        else:
            # 1.27: KubernetesAPI is always a new root (+ link); handler spans hang below the
            # `authentication` span, which has already ended
            trace_id = self._id(16)
            root = self._span("apiserver", SCOPE_OTELHTTP, "KubernetesAPI", SERVER, trace_id, b"", t, end,
                              http_attrs, links=links, error=server_error)
            parent = self._span("apiserver", SCOPE_FILTER, "authentication", INTERNAL, trace_id, root,
                                t + 20 * US, auth_end)
            h_start, h_end = auth_end + 30 * US, end - 40 * US
        if not req.resource or req.verb == "WATCH" or req.subresource in ("attach", "exec", "portforward"):
            return end  # non-resource URLs, watches and connect handlers have no handler spans
        handler = req.handler
        names = list(self._HANDLER_EVENTS[handler])
        if status == 404 and "About to delete object from database" in names:
            names = names[:names.index("About to delete object from database") + 1]
        if conflict or etcd_error:
            names = [n if n != "Write to database call succeeded" else "Write to database call failed" for n in names]
        times = self._spread(h_start, h_end, names)
        events = []
        for ev_t, name in zip(times, names):
            ev_attrs: Attrs = []
            if name.startswith("Write to database call") or name == "limitedReadBody succeeded":
                ev_attrs.append(("len", self.rng.randint(400, 4000)))
            if name == "Write to database call failed":
                ev_attrs.append(("err", etcd_error or f'Operation cannot be fulfilled on {req.resource} "{req.name}": '
                                 "the object has been modified; please apply your changes to the latest version "
                                 "and try again"))
            if name == "Writing http response done" and handler == "List":
                ev_attrs.append(("count", self.rng.randint(5, 40)))
            events.append((ev_t, name, ev_attrs))
        hspan = self._span("apiserver", SCOPE_TRACING, handler, INTERNAL, trace_id, parent, h_start, h_end,
                           self._handler_attrs(req, caller, audit), events)
        # storage below the handler
        s_start = times[min(len(times) - 1, 2 if handler != "List" else 0)]
        s_end = min(h_end - 200 * US, s_start + self._jit(dur // 3))
        key = f"/{req.resource}/{req.namespace}/{req.name}" if req.namespace else f"/{req.resource}/{req.name}"
        group_resource = f"{req.resource}.{req.group}" if req.group else req.resource
        etcd_method, etcd_code = "etcdserverpb.KV/Range", 0
        if handler == "List":
            storage = "cacher.GetList" if self.stable else "cacher list"
            sp = self._span("apiserver", SCOPE_TRACING, storage, INTERNAL, trace_id, hspan, s_start, s_end,
                            [("audit-id", audit), ("type", object_type)],
                            [(s_start + 30 * US, "Ready", []), (s_start + 80 * US, "Listed items from cache",
                              [("count", self.rng.randint(5, 40))]), (s_end - 40 * US, "Filtered items",
                                                                    [("count", self.rng.randint(1, 10))])])
            etcd_method = ""  # served from the watch cache
        elif handler == "Get":
            sp = hspan
            if self.stable:
                sp = self._span("apiserver", SCOPE_TRACING, "cacher.Get", INTERNAL, trace_id, hspan, s_start, s_end,
                                [("audit-id", audit), ("type", object_type)])
        else:
            storage = "Create etcd3" if handler == "Create" else "GuaranteedUpdate etcd3"
            evs = ["About to Encode", "Encode succeeded", "TransformToStorage succeeded", "Txn call succeeded",
                   "decode succeeded"] if storage == "Create etcd3" else [
                "initial value restored", "About to Encode", "Encode succeeded", "TransformToStorage succeeded",
                "Transaction prepared", "Txn call completed", "Transaction committed", "decode succeeded"]
            if conflict:
                evs = evs[:6] + ["Retry value restored"]
            sp = self._span("apiserver", SCOPE_TRACING, storage, INTERNAL, trace_id, hspan, s_start, s_end,
                            [("audit-id", audit), ("key", key), ("type", object_type), ("resource", group_resource)],
                            [(et, n, [("len", 900)] if "succeeded" in n and "Encode" in n else [])
                             for et, n in zip(self._spread(s_start, s_end, evs), evs)])
            etcd_method = "etcdserverpb.KV/Txn"
        if etcd_error:
            etcd_code = 4
        if etcd_method:
            e_start = s_start + (s_end - s_start) // 3
            self._grpc_client("apiserver", trace_id, sp, e_start, self._jit((s_end - s_start) // 2), etcd_method,
                              etcd_code, "context deadline exceeded" if etcd_code else "", (120, 900))
        if downstream:
            downstream(trace_id, hspan, s_end, h_end - 100 * US)
        if status < 400:
            ser_start = max(s_end, times[-2]) + 20 * US
            self._span("apiserver", SCOPE_TRACING, "SerializeObject", INTERNAL, trace_id, hspan, ser_start,
                       min(h_end - 10 * US, ser_start + self._jit(200 * US)),
                       [("audit-id", audit), ("method", req.method), ("url", req.path), ("protocol", "HTTP/2.0"),
                        ("mediaType", "application/vnd.kubernetes.protobuf"), ("encoder", "protobuf")],
                       [(ser_start + 10 * US, "About to start writing response", [("size", wrote)]),
                        (ser_start + 100 * US, "Write call succeeded", [("size", wrote)])])
        return end
