"""`kubespan serve --api` as a real process: Tempo's streaming gRPC API on the same port as the HTTP API,
fed through the OTLP/HTTP receiver, answering the walkthrough's search the way Grafana's streaming search
asks it, next to an HTTP request on the same port."""

from __future__ import annotations

import grpc
from google.protobuf import json_format

from kubespan.api.tempopb import tempo_pb2 as pb
from kubespan.api.tempopb import tempo_pb2_grpc as pb_grpc
from tests.api.test_api_serve import WALKTHROUGH_Q, _api_address
from tests.support.k8s_fixture import BLOG_TRACE_ID, fixture_bounds, load_fixture
from tests.support.serve_process import ServeProcess
from tests.support.tempo import get, send_requests


def test_serve_streams_the_walkthrough_search_over_grpc_on_the_api_port():
    serve = ServeProcess("--grpc", "off", "--http", "127.0.0.1:0", "--api", "127.0.0.1:0")
    try:
        requests = load_fixture()
        send_requests(f"http://{serve.addresses['http']}", requests)
        address = _api_address(serve)
        lo, hi = fixture_bounds(requests)
        with grpc.insecure_channel(address) as channel:
            stub = pb_grpc.StreamingQuerierStub(channel)
            request = pb.SearchRequest(Query=WALKTHROUGH_Q, Limit=20, SpansPerSpanSet=3, start=lo // 10**9,
                                       end=hi // 10**9 + 1)
            messages = [json_format.MessageToDict(m) for m in stub.Search(request, timeout=60)]
            values = list(stub.SearchTagValuesV2(pb.SearchTagValuesRequest(tagName="resource.service.name"),
                                                 timeout=60))
        traces = messages[-1]["traces"]
        assert len(traces) == 9 and BLOG_TRACE_ID in {t["traceID"] for t in traces}
        assert len(values[0].tagValues) == 4
        assert get(f"http://{address}/api/echo")[2] == b"echo\n"
    finally:
        serve.kill()
