"""kubespan.api.pb_json against protobuf's own `json_format.Parse`: the same message from every JSON answer
a real Tempo gave (tests/golden/tempo/, tests/golden/tempo-grpc/) and from kubespan's HTTP answers."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
from google.protobuf import json_format

from kubespan.api import pb_json
from kubespan.api.tempopb import tempo_pb2 as pb

GOLDEN = Path(__file__).resolve().parents[1] / "golden"
TYPES = {"Search": pb.SearchResponse, "SearchTags": pb.SearchTagsResponse, "SearchTagsV2": pb.SearchTagsV2Response,
         "SearchTagValues": pb.SearchTagValuesResponse, "SearchTagValuesV2": pb.SearchTagValuesV2Response,
         "MetricsQueryRange": pb.QueryRangeResponse, "MetricsQueryInstant": pb.QueryInstantResponse}


def _http_type(record: dict):
    path = record["request"]["path"]
    if path == "/api/search":
        return pb.SearchResponse
    if path.endswith("/values"):
        return pb.SearchTagValuesV2Response if "/v2/" in path else pb.SearchTagValuesResponse
    if path.endswith("/search/tags"):
        return pb.SearchTagsV2Response if "/v2/" in path else pb.SearchTagsResponse
    if path == "/api/metrics/query_range":
        return pb.QueryRangeResponse
    if path == "/api/metrics/query":
        return pb.QueryInstantResponse
    return None


def _answers() -> list:
    cases = []
    for path in sorted((GOLDEN / "tempo-grpc" / "grpc").glob("*.json")):
        record = json.loads(path.read_text())
        for number, message in enumerate(record.get("messages", [])):
            cases.append(pytest.param(TYPES[record["method"]], message, id=f"grpc/{path.stem}/{number}"))
    for path in sorted((GOLDEN / "tempo").glob("*/*.json")):
        record = json.loads(path.read_text())
        answer_type = _http_type(record) if "request" in record else None
        if answer_type is not None and record.get("status") == 200 and isinstance(record.get("json"), dict):
            cases.append(pytest.param(answer_type, record["json"], id=f"http/{path.parent.name}/{path.stem}"))
    return cases


@pytest.mark.parametrize("answer_type,obj", _answers())
def test_the_same_message_as_json_format(answer_type, obj):
    text = json.dumps(obj)
    expected = json_format.Parse(text, answer_type(), ignore_unknown_fields=True)
    assert pb_json.parse(text, answer_type) == expected


def test_scalars_of_the_json_mapping():
    text = json.dumps({"traces": [{"traceID": "ab", "startTimeUnixNano": "18446744073709551615", "durationMs": 7,
                                   "unknownKey": {"x": 1}, "spanSet": {}}],
                       "metrics": {"inspectedBytes": "12", "completedJobs": 1}})
    message = pb_json.parse(text, pb.SearchResponse)
    assert message == json_format.Parse(text, pb.SearchResponse(), ignore_unknown_fields=True)
    assert message.traces[0].HasField("spanSet") and message.traces[0].startTimeUnixNano == 2**64 - 1
    sample = pb_json.parse('{"series":[{"samples":[{"value":"NaN","timestampMs":"5"}]}]}', pb.QueryRangeResponse)
    assert math.isnan(sample.series[0].samples[0].value) and sample.series[0].samples[0].timestamp_ms == 5
