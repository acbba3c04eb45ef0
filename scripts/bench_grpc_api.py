"""What the streaming gRPC API costs over the HTTP API for the same answer (the HTTP/2 relay, grpcio, the
protobuf conversion).

    flock /work/coord/bench.lock python scripts/bench_grpc_api.py [--runs 200]

One in-process API over a store holding the k8s fixture, on 127.0.0.1:0 (`--api-cpu-share` budget off: no
spans arrive). For each request, `--runs` calls over HTTP/1.1 (a kept-alive connection) and over gRPC
(one channel, as Grafana and tempo-cli keep), alternated call by call after a warm-up; prints the median
and p90 of each and their ratio. The HTTP answer is the baseline in the same run.
"""

from __future__ import annotations

import argparse
import http.client
import statistics
import sys
import time
import urllib.parse
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import grpc  # noqa: E402

from kubespan.api.grpc_querier import search_params, tag_values_params, tags_params  # noqa: E402
from kubespan.api.tempopb import tempo_pb2 as pb  # noqa: E402
from kubespan.api.tempopb import tempo_pb2_grpc as pb_grpc  # noqa: E402
from tests.support.api_server import fixture_store, start_api  # noqa: E402

WALKTHROUGH = '{ resource.service.name = "kubelet" && name = "syncPod" && span.k8s.pod = "default/echo-command" }'
CASES = [
    ("search walkthrough", "Search", pb.SearchRequest(Query=WALKTHROUGH, Limit=20), "/api/search", search_params),
    ("search { } limit 200", "Search", pb.SearchRequest(Query="{ }", Limit=200), "/api/search", search_params),
    ("tags v2", "SearchTagsV2", pb.SearchTagsRequest(), "/api/v2/search/tags", tags_params),
    ("tag values v2", "SearchTagValuesV2", pb.SearchTagValuesRequest(tagName="span.k8s.pod"),
     "/api/v2/search/tag/span.k8s.pod/values", tag_values_params),
]


def _ms(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    return statistics.median(ordered) * 1000, ordered[int(len(ordered) * 0.9)] * 1000


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=200)
    args = ap.parse_args()
    api = start_api(fixture_store(0), cpu_share=0)
    host, port = api.component.address.rsplit(":", 1)
    try:
        connection = http.client.HTTPConnection(host, int(port))
        with grpc.insecure_channel(api.component.address) as channel:
            stub = pb_grpc.StreamingQuerierStub(channel)
            print(f"{'request':24} {'HTTP median/p90 ms':>20} {'gRPC median/p90 ms':>20} {'gRPC/HTTP':>10}")
            for name, method, request, path, to_params in CASES:
                url = path + "?" + urllib.parse.urlencode(to_params(request))
                call = getattr(stub, method)
                timings: dict[str, list[float]] = {"http": [], "grpc": []}
                for run in range(args.runs + 5):
                    t0 = time.perf_counter()
                    connection.request("GET", url)
                    response = connection.getresponse()
                    body = response.read()
                    t1 = time.perf_counter()
                    messages = list(call(request, timeout=60))
                    t2 = time.perf_counter()
                    assert response.status == 200 and body and messages
                    if run >= 5:
                        timings["http"].append(t1 - t0)
                        timings["grpc"].append(t2 - t1)
                (h50, h90), (g50, g90) = _ms(timings["http"]), _ms(timings["grpc"])
                print(f"{name:24} {h50:9.2f} /{h90:8.2f} {g50:10.2f} /{g90:8.2f} {g50 / h50:9.2f}x")
    finally:
        api.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
