"""Spans made with the official OpenTelemetry Python SDK, for end-to-end tests."""

from __future__ import annotations

from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor, SpanExporter, SpanExportResult
from opentelemetry.trace import Link, SpanKind, Status, StatusCode


class Collect(SpanExporter):
    """Keeps finished spans so a test can hand them to a real OTLP exporter."""

    def __init__(self) -> None:
        self.spans: list[ReadableSpan] = []

    def export(self, spans) -> SpanExportResult:
        self.spans.extend(spans)
        return SpanExportResult.SUCCESS


def sdk_spans() -> list[ReadableSpan]:
    """A small trace exercising every field the SDK can set."""
    collect = Collect()
    provider = TracerProvider(
        resource=Resource.create({"service.name": "kubelet", "host.name": "k3d-server-0", "k8s.node.cpu": 2})
    )
    provider.add_span_processor(SimpleSpanProcessor(collect))
    tracer = provider.get_tracer("k8s.io/kubelet", "1.27.1")
    with tracer.start_as_current_span("syncPod", kind=SpanKind.INTERNAL) as root:
        root.set_attribute("k8s.pod", "default/echo-command")
        root.set_attribute("k8s.pod.update_type", "create")
        root.set_attribute("retries", 3)
        root.set_attribute("ratio", 0.25)
        root.set_attribute("ready", True)
        root.set_attribute("containers", ["echo", "sidecar"])
        root.set_attribute("ports", [80, 443])
        root.add_event("pod started", {"attempt": 1, "phase": "Pending"})
        with tracer.start_as_current_span(
            "runtime.v1.RuntimeService/RunPodSandbox", kind=SpanKind.CLIENT
        ) as child:
            child.set_attribute("rpc.system", "grpc")
            child.set_attribute("net.peer.port", 54678)
            child.set_status(Status(StatusCode.ERROR, "sandbox failed"))
        link = Link(root.get_span_context(), {"link.kind": "follows"})
        with tracer.start_as_current_span("KubernetesAPI", kind=SpanKind.SERVER, links=[link]) as server:
            server.set_attribute("http.status_code", 201)
    provider.shutdown()
    return collect.spans
