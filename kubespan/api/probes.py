"""What Grafana calls when a Tempo data source is saved, and the readiness probe."""

from __future__ import annotations

import platform

from kubespan import __version__
from kubespan.api import kubespan_graph, kubespan_red, store_status
from kubespan.api.responses import Reply, json_reply, text_reply
from kubespan.api.server import ApiRequest, Route

FEATURES = (kubespan_graph.FEATURE, store_status.FEATURE, kubespan_red.FEATURE)
"""What this kubespan answers beyond Tempo's API (`kubespan attach` reads it): `service-graph` is
`/api/kubespan/graph`, `store-version` is `/api/kubespan/status` (and the search answers' version header),
`red` is `/api/kubespan/red` (the Services view's rows from the live aggregates)."""
TEMPO_LEVEL = "2.9.0"
"""The Tempo release whose HTTP API kubespan answers like; clients read features from `version`."""


def ready(_: ApiRequest) -> Reply:
    return text_reply("ready\n")


def echo(_: ApiRequest) -> Reply:
    return text_reply("echo\n")


def buildinfo(_: ApiRequest) -> Reply:
    """Tempo's fields; `version` says which Tempo API level is served, `branch` that it is kubespan,
    `features` (kubespan's own field) what it answers beyond Tempo's API."""
    return json_reply({"version": f"{TEMPO_LEVEL}-kubespan.{__version__}", "revision": __version__,
                       "branch": "kubespan", "buildUser": "kubespan", "buildDate": "",
                       "goVersion": f"python{platform.python_version()}", "features": list(FEATURES)})


def routes() -> list[Route]:
    return [Route("/ready", ready, query=False), Route("/api/echo", echo, query=False),
            Route("/api/status/buildinfo", buildinfo, query=False)]
