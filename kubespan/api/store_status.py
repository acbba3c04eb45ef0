"""kubespan's own addition to the API: whether the store changed, for clients that poll.

`GET /api/kubespan/status` answers `{"storeVersion": "N", "storedSpans": M}` without a query (it
never waits behind one); N moves with every batch stored (and the evictions it causes). Every search
answer carries the version its snapshot was taken at in `X-Kubespan-Store-Version` (read just before
the snapshot, so it is never newer than the answer). A client that polls the same search (attach's
followed list) asks the status first and skips the search while the version has not moved.
`/api/status/buildinfo` lists `store-version` in its `features`; a Tempo has neither, and its clients
keep polling the search itself.
"""

from __future__ import annotations

from kubespan.api.context import ApiContext
from kubespan.api.responses import Reply, json_reply
from kubespan.api.server import ApiRequest, Route

STATUS_PATH = "/api/kubespan/status"
VERSION_HEADER = "X-Kubespan-Store-Version"
FEATURE = "store-version"
"""In buildinfo's `features`: this server answers `STATUS_PATH` and the version header."""


def store_version(ctx: ApiContext) -> str:
    """The store's version now, as the header and the status answer say it."""
    return str(getattr(ctx.store, "version", 0))


def routes(ctx: ApiContext) -> list[Route]:
    def status(_: ApiRequest) -> Reply:
        ctx.counters.add("api_kubespan_requests", 1)  # an attached viewer is there (kubespan.api.warm)
        return json_reply({"storeVersion": store_version(ctx), "storedSpans": len(ctx.store)})

    return [Route(STATUS_PATH, status, query=False)]
