"""The pod view on a real cluster's shapes: whole traces count for the pods they touch, the
filter narrows it, `o` sorts it, `b` groups it by namespace or node."""

from __future__ import annotations

from kubespan.tui.source.pods import PodGroup, PodGrouping, PodRow, PodSort
from tests.tui import data
from tests.tui.helpers import ready, screen_text, searched, wait_for

SIZE = (120, 36)
NODE = "k3d-tracingcluster-server-0"


def image_pull_failure(t: int, pod: str) -> list[bytes]:
    """A syncPod that ends well itself while containerd's PullImage under it fails: only the
    containerd span is an error, and it carries no pod attribute."""
    kubelet = [
        data.make_span(t, 0, "syncPod", start=0, dur=900, attrs={"k8s.pod": pod}),
        data.make_span(t, 1, "runtime.v1.ImageService/PullImage", parent=0, start=10, dur=800, kind=3),
    ]
    containerd = [data.make_span(t, 11, "runtime.v1.ImageService/PullImage", parent=1, start=11, dur=790, kind=2,
                                 error=True, message="ErrImagePull")]
    return [data.request("kubelet", kubelet, extra_resource={"host.name": NODE}),
            data.request("containerd", containerd, scope="")]


def app_pod(app, qualified: str) -> PodRow:
    return next(pod for pod in app.pod_list.pods if pod.qualified == qualified)


async def show_pods(pilot, app, count: int) -> None:
    await ready(pilot, app)
    await pilot.press("3")
    await wait_for(pilot, lambda: len(app.pod_list.pods) == count and app.pod_list.row_count(), what="pods")
    await pilot.pause()


async def test_a_failed_image_pull_under_a_pods_sync_is_the_pods_error(app_factory):
    app = app_factory(image_pull_failure(1, "default/bad-image") + data.sync_pod_trace(2, "default/good"))
    async with app.run_test(size=SIZE) as pilot:
        await show_pods(pilot, app, 2)
        bad = app_pod(app, "default/bad-image")
        assert (bad.spans, bad.errors, bad.traces) == (3, 1, 1)  # the containerd span counts for the pod
        good = app_pod(app, "default/good")
        assert (good.spans, good.errors) == (7, 0)
        assert bad.node == NODE
        row = app.pod_list.index_of("default/bad-image")
        assert app.pod_list.render_row(row, 120).plain.split()[-2:-1] == ["1"]  # ERRORS column


async def test_pod_view_obeys_the_filter(app_factory):
    app = app_factory()
    async with app.run_test(size=SIZE) as pilot:
        await show_pods(pilot, app, 3)
        await pilot.press("slash")
        await pilot.press(*"status=error", "enter")
        await wait_for(pilot, lambda: [p.qualified for p in app.pod_list.pods] == ["default/web-0"], what="filtered")
        assert app_pod(app, "default/web-0").traces == 1  # the failing sync only, not the other one
        assert "1 pod" in screen_text(app) and "echo-command" not in screen_text(app)
        await pilot.press("slash")
        await pilot.press(*"name=nothing-like-this", "enter")
        await wait_for(pilot, lambda: not app.pod_list.pods, what="no pods")
        assert "No pods in the traces that match the filter" in screen_text(app)


async def test_pod_view_sorts_by_spans_errors_and_last_activity(app_factory):
    requests = (data.sync_pod_trace(1, "a/many") + data.sync_pod_trace(2, "a/many") + data.sync_pod_trace(3, "a/many")
                + data.sync_pod_trace(4, "a/failing", error=True) + data.sync_pod_trace(9, "a/latest"))
    app = app_factory(requests)
    async with app.run_test(size=SIZE) as pilot:
        await show_pods(pilot, app, 3)
        app.pod_list.grouping = PodGrouping.NONE

        def names() -> list[str]:
            return [row.name for row in app.pod_list.rows]

        assert app.pod_list.sort is PodSort.SPANS and names() == ["many", "latest", "failing"]
        assert "SPANS▼" in screen_text(app)
        await pilot.press("o")
        assert app.pod_list.sort is PodSort.ERRORS and names() == ["failing", "many", "latest"]
        assert "ERRORS▼" in screen_text(app)
        await pilot.press("o")
        assert app.pod_list.sort is PodSort.LAST and names() == ["latest", "failing", "many"]
        assert "LAST ACTIVITY▼" in screen_text(app)
        await pilot.press("o")
        assert app.pod_list.sort is PodSort.SPANS


async def test_pod_view_groups_by_namespace_then_node(app_factory):
    requests = data.cluster() + [data.request("kubelet", [
        data.make_span(40, 0, "syncPod", attrs={"k8s.pod": "default/on-agent"})],
        extra_resource={"host.name": "k3d-tracingcluster-agent-0"})]
    app = app_factory(requests)
    async with app.run_test(size=SIZE) as pilot:
        await show_pods(pilot, app, 4)
        rows = app.pod_list.rows
        assert app.pod_list.grouping is PodGrouping.NAMESPACE
        headings = [row.label for row in rows if isinstance(row, PodGroup)]
        assert headings == ["default", "kube-system"]  # most spans first
        assert isinstance(rows[0], PodGroup) and rows[0].pods == 3 and rows[0].spans == sum(
            pod.spans for pod in app.pod_list.pods if pod.namespace == "default")
        text = screen_text(app)
        assert "default  namespace · 3 pods" in text and "NODE" in text and "NAMESPACE" not in text
        await pilot.press("b")
        rows = app.pod_list.rows
        assert [row.label for row in rows if isinstance(row, PodGroup)] == [NODE, "k3d-tracingcluster-agent-0"]
        assert rows[-2].qualified == "node:k3d-tracingcluster-agent-0" and rows[-1].qualified == "default/on-agent"
        text = screen_text(app)
        assert "NAMESPACE" in text and "NODE" not in text
        app.pod_list.move_cursor(app.pod_list.index_of("node:k3d-tracingcluster-agent-0"))
        await pilot.press("enter")
        assert app.view == "traces" and app.search.text == 'host.name="k3d-tracingcluster-agent-0"'
        await wait_for(pilot, lambda: searched(app.trace_list, app) and app.trace_list.row_count() == 1)
        await pilot.press("3")
        await wait_for(pilot, lambda: [p.name for p in app.pod_list.pods] == ["on-agent"], what="node's pods")
        await pilot.press("b")
        assert app.pod_list.grouping is PodGrouping.NONE
        assert not any(isinstance(row, PodGroup) for row in app.pod_list.rows)
        assert "NAMESPACE" in screen_text(app) and "NODE" in screen_text(app)


def test_newer_conventions_name_the_pod_on_the_span_or_the_resource():
    """k8s.pod.name with k8s.namespace.name, on the span or (k8sattributes) on the resource;
    the node from k8s.node.name."""
    from tests.tui.conftest import make_app

    app_spans = [data.make_span(1, 0, "GET /cart", kind=2, error=True),
                 data.make_span(1, 1, "SELECT", parent=0, kind=3)]
    requests = [
        data.request("cart", app_spans, extra_resource={"k8s.pod.name": "cart-7d9", "k8s.namespace.name": "shop",
                                                        "k8s.node.name": "worker-2"}),
        data.request("kubelet", [data.make_span(2, 0, "syncPod", attrs={"k8s.pod.name": "cart-7d9",
                                                                        "k8s.namespace.name": "shop"})]),
        data.request("kubelet", [data.make_span(3, 0, "syncPod", attrs={"k8s.pod.name": "cart-7d9",
                                                                        "k8s.namespace.name": "other"})]),
    ]
    source = make_app(requests).source
    pods = {pod.qualified: pod for pod in source.pods(source.compile(""))}
    assert set(pods) == {"shop/cart-7d9", "other/cart-7d9"}
    shop = pods["shop/cart-7d9"]
    assert (shop.spans, shop.errors, shop.traces, shop.node) == (3, 1, 2, "worker-2")
