"""kubespan's one-span-per-line OTLP/JSON (`--jsonl`, `--dump`, saved traces).

Each line is a complete `ExportTraceServiceRequest` holding one span with its
resource and scope: what `otlp_json.encode_request_json` writes for that one-span
request, which the tests hold every line to. Lines are written from a request's wire
bytes, by the compiled writer where it is built (kubespan/otlp/csrc/json_lines.c),
else from the wire views with `otlp_json.span_json`; each attribute's JSON comes from
a cache keyed by its `KeyValue` bytes.
"""

from __future__ import annotations

from itertools import accumulate
from typing import Any, Callable, Iterator

from google.protobuf.message import Message
from opentelemetry.proto.common.v1.common_pb2 import InstrumentationScope, KeyValue
from opentelemetry.proto.resource.v1.resource_pb2 import Resource

from kubespan.encode.otlp_json import (
    attributes_json,
    json_double,
    json_string,
    resource_json,
    schema_suffix,
    scope_json,
    span_json,
)
from kubespan.model import SpanBlobs, TraceBatch
from kubespan.otlp.compiled import BytesCache, scalar_key_value
from kubespan.otlp.compiled import span_json_lines as compiled_span_json_lines
from kubespan.otlp.wire import WireRequest

SPAN_LINES = "otlp-json-lines"
"""The name of one-span-per-line OTLP/JSON among a batch's `encoded` forms (`TraceBatch.encoded`)."""
RAW_ATTRIBUTE_CACHE_ENTRIES = 200_000
"""Distinct attributes whose JSON `encode_raw_span_lines` remembers before starting over."""


class RawAttributeJson(dict[bytes, str]):
    """JSON of each attribute by its raw `KeyValue` bytes: Kubernetes spans repeat their pairs,
    so most attributes are encoded once, not once per span."""

    def __init__(self) -> None:
        super().__init__()
        self.compiled = BytesCache(attribute_json, RAW_ATTRIBUTE_CACHE_ENTRIES) if BytesCache else None
        """The same cache for the compiled writer, which looks wire slices up without copying them."""

    def __missing__(self, raw: bytes) -> str:
        if len(self) >= RAW_ATTRIBUTE_CACHE_ENTRIES:
            self.clear()
        text = self[raw] = attribute_json(raw)
        return text


_SCALAR_VALUE_JSON: dict[str, Callable[[Any], str]] = {
    "str": lambda text: '{"stringValue":' + json_string(text) + "}",
    "int": lambda n: f'{{"intValue":"{n}"}}',
    "double": lambda d: '{"doubleValue":' + json_double(d) + "}",
    "bool": lambda b: '{"boolValue":true}' if b else '{"boolValue":false}',
    "empty": lambda _: "{}",
}
"""What `otlp_json.attributes_json` writes for each scalar value, by the model's type name."""


def attribute_json(raw: bytes) -> str:
    """The JSON of one attribute from its `KeyValue` bytes, as it sits in an "attributes" array.

    A scalar is read by the compiled KeyValue decoder where it is built (a new attribute costs
    about 1 µs less than through the official message); anything else by the official message.
    """
    found = scalar_key_value(raw) if scalar_key_value is not None else None
    if found is None:
        return attributes_json([KeyValue.FromString(raw)])[1:-1]
    key, value, kind = found
    value_json = _SCALAR_VALUE_JSON[kind](value)
    return f'{{"key":{json_string(key)},"value":{value_json}}}' if key else f'{{"value":{value_json}}}'


ATTRIBUTE_JSON = RawAttributeJson()
"""The attribute cache of the writers that do not keep their own."""


def encode_span_lines(request: Message) -> list[str]:
    """One complete OTLP/JSON request per span of `request`, without newlines; join with "\\n".

    Each line holds one ResourceSpans (resource and schemaUrl kept) with one ScopeSpans
    (scope and schemaUrl kept) with one span: `encode_request_json` of that request.
    """
    return encode_raw_span_lines(request.SerializeToString())


def span_lines_of(batch: TraceBatch) -> SpanBlobs:
    """The span lines of a batch, UTF-8, each ending in a newline: made by a decode worker, or now."""
    made = batch.encoded.get(SPAN_LINES)
    return made if made is not None else SpanBlobs(*raw_span_json_lines(batch.raw, ATTRIBUTE_JSON))


def encode_raw_span_lines(raw: bytes, cache: RawAttributeJson = ATTRIBUTE_JSON, *, compiled: bool = True) -> list[str]:
    """The span lines of a serialized request.

    Takes each attribute's JSON from `cache`; the rest of each span is written by the
    compiled encoder where it is built, else from the wire views (span attributes as raw
    bytes). `compiled=False` always takes the views (tests compare the two).
    """
    if compiled:
        found = _compiled_lines(raw, cache)
        if found is not None:
            return found[0].decode().split("\n")[:-1]
    return [prefix + span_json(span, cache) + suffix for prefix, suffix, spans in _scopes(raw) for span in spans]


def raw_span_json_lines(raw: bytes, cache: RawAttributeJson) -> tuple[bytes, list[int]]:
    """`encode_raw_span_lines` as UTF-8 lines, each ending in a newline, in one blob, and where each ends."""
    found = _compiled_lines(raw, cache)
    if found is not None:
        return found
    lines = [line.encode() + b"\n" for line in encode_raw_span_lines(raw, cache, compiled=False)]
    return b"".join(lines), list(accumulate(map(len, lines)))


def _compiled_lines(raw: bytes, cache: RawAttributeJson) -> tuple[bytes, list[int]] | None:
    if compiled_span_json_lines is None or cache.compiled is None:
        return None
    affixes = [(prefix.encode(), suffix.encode()) for prefix, suffix, _ in _scopes(raw, empty=True)]
    return compiled_span_json_lines(raw, cache.compiled, affixes)


def _scopes(raw: bytes, empty: bool = False) -> Iterator[tuple[str, str, Any]]:
    """(line prefix, line suffix, wire-view spans) of every ScopeSpans with spans (or every one)."""
    for rs in WireRequest.FromString(raw).resource_spans:
        resource = Resource.FromString(b"".join(rs.resource))
        rs_head = '{"resourceSpans":[{"resource":' + resource_json(resource)
        rs_tail = schema_suffix(rs.schema_url) + "}]}"
        for ss in rs.scope_spans:
            spans = ss.spans
            if not spans and not empty:
                continue
            scope = InstrumentationScope.FromString(b"".join(ss.scope))
            prefix = rs_head + ',"scopeSpans":[{"scope":' + scope_json(scope) + ',"spans":['
            suffix = "]" + schema_suffix(ss.schema_url) + "}]" + rs_tail
            yield prefix, suffix, spans
