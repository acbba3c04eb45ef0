"""Vocabulary of the simulated cluster: versions, time units, span kinds, instrumentation
scopes, OTLP attribute helpers, and the callers, API requests and pods the scenarios use."""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass

from opentelemetry.proto.common.v1.common_pb2 import KeyValue
from opentelemetry.proto.trace.v1.trace_pb2 import Span, Status

VERSIONS = ("1.27", "1.36")
DEFAULT_START_NS = 1_684_842_401_975_000_000  # 2023-05-23 11:46:41.975 UTC, the blog's syncPod trace
NODE = "k3d-tracingcluster-server-0"

MS = 1_000_000
US = 1_000
S = 1_000_000_000

SERVER, CLIENT, INTERNAL = Span.SPAN_KIND_SERVER, Span.SPAN_KIND_CLIENT, Span.SPAN_KIND_INTERNAL
ERROR = Status.STATUS_CODE_ERROR

SCOPE_TRACING = "k8s.io/component-base/tracing"
SCOPE_FILTER = "k8s.op/apiserver/pkg/endpoints/filterlatency"
SCOPE_OTELHTTP = "go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
SCOPE_OTELGRPC = "go.opentelemetry.io/contrib/instrumentation/google.golang.org/grpc/otelgrpc"
SCOPE_OTELRESTFUL = "go.opentelemetry.io/contrib/instrumentation/github.com/emicklei/go-restful/otelrestful"
SCOPE_KUBELET = "k8s.io/kubernetes/pkg/kubelet"
SCOPE_OTELTTRPC = "go.opentelemetry.io/contrib/instrumentation/github.com/containerd/ttrpc/otelttrpc"
IMAGE_METHODS = ("PullImage", "ImageStatus", "ListImages", "RemoveImage", "ImageFsInfo")

GRPC_CODES = {0: "OK", 2: "UNKNOWN", 4: "DEADLINE_EXCEEDED", 5: "NOT_FOUND", 14: "UNAVAILABLE"}

AttrValue = str | int | float | bool
Attr = tuple[str, AttrValue]
Attrs = list[Attr]


def kv(key: str, value: AttrValue) -> KeyValue:
    """One OTLP attribute."""
    out = KeyValue(key=key)
    if isinstance(value, bool):
        out.value.bool_value = value
    elif isinstance(value, int):
        out.value.int_value = value
    elif isinstance(value, float):
        out.value.double_value = value
    else:
        out.value.string_value = value
    return out


def apiserver_instance_id(hostname: str = NODE) -> str:
    """`apiserver-` + 26 lowercase base32 chars of sha256(hostname + "kube-apiserver")[:16]."""
    digest = hashlib.sha256((hostname + "kube-apiserver").encode()).digest()[:16]
    return "apiserver-" + base64.b32encode(digest).decode().rstrip("=").lower()


@dataclass(frozen=True)
class Caller:
    """Who sends an HTTP request to the apiserver."""

    user_agent: str
    peer_ip: str
    host: str  # Host header
    masters: bool  # member of system:masters: parented normally from 1.33 on
    traced: bool = False  # sends a traceparent (only the kubelet does)


@dataclass
class ApiRequest:
    """One request to the apiserver, enough to derive URL, route template and handler."""

    method: str
    resource: str = ""  # empty for non-resource URLs such as /readyz
    namespace: str = ""
    name: str = ""
    subresource: str = ""
    group: str = ""
    version: str = "v1"
    query: str = ""
    raw_path: str = ""  # non-resource path

    @property
    def path(self) -> str:
        if not self.resource:
            return self.raw_path
        parts = ["/apis/" + self.group if self.group else "/api", self.version]
        if self.namespace:
            parts += ["namespaces", self.namespace]
        parts.append(self.resource)
        if self.name:
            parts.append(self.name)
        if self.subresource:
            parts.append(self.subresource)
        return "/".join(parts)

    @property
    def target(self) -> str:
        return self.path + ("?" + self.query if self.query else "")

    def route(self) -> str:
        """Span name the apiserver uses from 1.31: method plus path template."""
        if not self.resource:
            return self.method
        parts = ["/apis/" + self.group if self.group else "/api", self.version]
        if self.namespace:
            parts += ["namespaces", "{:namespace}"]
        parts.append(self.resource)
        if self.name:
            parts.append("{:name}")
        if self.subresource:
            parts.append(self.subresource)
        return f"{self.method} {'/'.join(parts)}"

    @property
    def verb(self) -> str:
        if self.method == "GET" and not self.name:
            return "WATCH" if "watch=true" in self.query else "LIST"
        return self.method

    @property
    def handler(self) -> str:
        return {"POST": "Create", "PUT": "Update", "PATCH": "Patch", "DELETE": "Delete"}.get(
            self.method, "Get" if self.name else "List"
        )

    @property
    def scope(self) -> str:
        return "resource" if self.name else "namespace" if self.namespace else "cluster"


@dataclass
class Pod:
    """A pod on the node and the sandbox and container ids the runtime gave it."""

    namespace: str
    name: str
    image: str
    uid: str
    image_ok: bool = True
    sandbox_id: str = ""
    container_id: str = ""
