"""What is at the other end: a kubespan (its `--api`) or a Grafana Tempo, and what it can answer.

Both answer `/api/status/buildinfo`; a kubespan says so (`branch` "kubespan", `version`
"<tempo level>-kubespan.<version>") and lists what it answers beyond Tempo's API in `features`
(`service-graph`, `store-version`). A server that answers it with something else is taken for a Tempo. A server
that does not answer it at all (an older Tempo, a proxy that only passes `/api/*` search paths) is
still tried as a Tempo, with the probe's error kept.
"""

from __future__ import annotations

from dataclasses import dataclass

from kubespan.remote.client import RemoteClient, RemoteError

GRAPH_FEATURE = "service-graph"
"""In a kubespan's buildinfo `features`: it serves `/api/kubespan/graph` (kubespan.api.kubespan_graph)."""
RED_FEATURE = "red"
"""In a kubespan's buildinfo `features`: it serves `/api/kubespan/red` (kubespan.api.kubespan_red)."""
STORE_VERSION_FEATURE = "store-version"
"""In a kubespan's buildinfo `features`: it serves `STATUS_PATH` and says each search's store version."""
STATUS_PATH = "/api/kubespan/status"


@dataclass(frozen=True, slots=True)
class RemoteInfo:
    kind: str
    """"kubespan" or "tempo"."""
    version: str
    """As the remote reports it ("" when unknown)."""
    most_recent_hint: bool
    """Searches add TraceQL's `with(most_recent=true)` (Tempo otherwise returns whichever traces its
    jobs found first when more match than `limit`; kubespan always returns the newest)."""
    metrics: bool
    """`/api/metrics/query_range` answers (TraceQL metrics)."""
    note: str = ""
    """Why a probe failed, when it did (shown once, not an error)."""
    graph: bool = False
    """A kubespan that serves `/api/kubespan/graph` (buildinfo's `features` has `service-graph`)."""
    red: bool = False
    """A kubespan that serves `/api/kubespan/red` (buildinfo's `features` has `red`): the Services rows in
    one request, from its live aggregates."""
    status_path: str = ""
    """A kubespan's store-version endpoint (buildinfo's `features` has `store-version`): polls of an
    unchanged store are skipped. Empty for a Tempo, which is polled as it is."""

    @property
    def label(self) -> str:
        return f"{self.kind} {self.version}".strip()


def detect(client: RemoteClient) -> RemoteInfo:
    """Probe the remote; raises `RemoteError` only when it cannot be reached or refuses us (TLS, 401)."""
    try:
        info = client.get_json("/api/status/buildinfo")
    except RemoteError as exc:
        if exc.kind in ("unreachable", "tls", "unauthorized"):
            raise
        return RemoteInfo("tempo", "", True, True, f"no build info ({exc.message})")
    if not isinstance(info, dict):
        return RemoteInfo("tempo", "", True, True, "build info is not a JSON object")
    version = str(info.get("version") or "")
    if info.get("branch") == "kubespan" or "-kubespan." in version:
        features = info.get("features")
        offered = features if isinstance(features, list) else []
        return RemoteInfo("kubespan", version.partition("-kubespan.")[2] or version, False, True,
                          graph=GRAPH_FEATURE in offered, red=RED_FEATURE in offered,
                          status_path=STATUS_PATH if STORE_VERSION_FEATURE in offered else "")
    return RemoteInfo("tempo", version, True, True)

