"""Inputs for the fuzz targets: mutated bytes, OTLP/JSON documents and query texts."""

from __future__ import annotations

import json

from hypothesis import strategies as st
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from kubespan.encode.otlp_json import encode_request_json
from tests.fuzz.wirebuild import REQUESTS

# ----------------------------------------------------------------- byte mutations


def _flip(data: bytes, at: int, value: int) -> bytes:
    return data[:at] + bytes([value]) + data[at + 1:] if data else data


def _delete(data: bytes, at: int, size: int) -> bytes:
    return data[:at] + data[at + size:]


def _insert(data: bytes, at: int, chunk: bytes) -> bytes:
    return data[:at] + chunk + data[at:]


def _duplicate(data: bytes, at: int, size: int) -> bytes:
    return data[:at] + data[at:at + size] + data[at:]


@st.composite
def mutated(draw: st.DrawFn, base: st.SearchStrategy[bytes], inserts: st.SearchStrategy[bytes]) -> bytes:
    """`base` with up to three byte-level mutations: flip, delete, insert, duplicate, truncate."""
    data = draw(base)
    for _ in range(draw(st.integers(0, 3))):
        at = draw(st.integers(0, len(data)))
        kind = draw(st.sampled_from(["flip", "delete", "insert", "duplicate", "truncate"]))
        if kind == "flip":
            data = _flip(data, min(at, len(data) - 1), draw(st.integers(0, 255)))
        elif kind == "delete":
            data = _delete(data, at, draw(st.integers(1, 8)))
        elif kind == "insert":
            data = _insert(data, at, draw(inserts))
        elif kind == "duplicate":
            data = _duplicate(data, at, draw(st.integers(1, 64)))
        else:
            data = data[:at]
    return data


PROTO_INPUTS = st.one_of(
    st.binary(max_size=200),
    REQUESTS,
    mutated(REQUESTS, st.binary(min_size=1, max_size=4)),
)
"""Arbitrary bytes, hostile structured requests, and those requests mutated byte by byte."""

# ----------------------------------------------------------------- OTLP/JSON


def _official_json(raw: bytes) -> str:
    """OTLP/JSON of a generated request, or "{}" when the official parser refuses its bytes."""
    try:
        return encode_request_json(ExportTraceServiceRequest.FromString(raw))
    except Exception:  # noqa: BLE001 - anything the official parser refuses is simply not a seed
        return "{}"


JSON_KEYS = st.sampled_from([
    "resourceSpans", "resource_spans", "resource", "scopeSpans", "scope_spans", "scope", "spans", "traceId",
    "spanId", "parentSpanId", "name", "kind", "startTimeUnixNano", "endTimeUnixNano", "attributes", "events",
    "links", "status", "code", "message", "key", "value", "stringValue", "intValue", "doubleValue",
    "boolValue", "bytesValue", "arrayValue", "kvlistValue", "values", "schemaUrl", "flags", "timeUnixNano",
    "droppedAttributesCount", "entityRefs", "traceState", "version",
])
JSON_SCALARS = st.one_of(
    st.none(), st.booleans(), st.integers(-(2**65), 2**65), st.floats(allow_nan=False, allow_infinity=False),
    st.sampled_from(["0102030405060708", "01" * 16, "AQIDBAUGBwg=", "NaN", "Infinity", "-1", "1e400",
                     "18446744073709551616", "SPAN_KIND_SERVER", "STATUS_CODE_ERROR", "", "\u00fc"]),
    st.text(max_size=6),
)
JSON_VALUES = st.recursive(
    JSON_SCALARS,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(JSON_KEYS | st.text(max_size=3), inner, max_size=4),
    max_leaves=20,
)
JSON_DOCS = st.dictionaries(st.sampled_from(["resourceSpans", "resource_spans"]), JSON_VALUES, min_size=1)
JSON_TEXT_INSERTS = st.sampled_from(
    [b"NaN", b"1e400", b"-", b'"', b"{", b"]", b",", b"null", b'"\\ud800"', b"\xff", b"\\u0000", b"0x1"]
)
JSON_INPUTS = st.one_of(
    st.binary(max_size=120),
    st.text(max_size=60).map(str.encode),
    JSON_DOCS.map(lambda doc: json.dumps(doc).encode()),
    mutated(REQUESTS.map(_official_json).map(str.encode), JSON_TEXT_INSERTS),
)
"""Arbitrary bytes, OTLP-shaped JSON with random values, and mutated valid OTLP/JSON."""

# ----------------------------------------------------------------- queries

REDOS = ["(a+)+$", "(a|a)*b", "(a|aa)+$", "(.*a){20}", "^(([a-z])+.)+[A-Z]([a-z])+$", "(\\w+\\s?)*$",
         "(a*)*b", "((a+)+)+c", "(x+x+)+y", "(.*)*!", "a(b|c+)+d", "(a)\\1", "(?=a)a", "(?<!a)b", "(?>a+)b"]
"""Patterns that take exponential time in a backtracking engine (and syntax only such engines have)."""
REDOS_QUERIES = st.sampled_from(REDOS).flatmap(lambda pattern: st.sampled_from([
    "{ name =~ `" + pattern + "` }", "{ .a !~ `" + pattern + "` }", "name=~`" + pattern + "`",
    "service!~`" + pattern + "`", "{ event:name =~ `" + pattern + "` } >> { .a =~ `" + pattern + "` }"]))

QUERY_TOKENS = st.sampled_from([
    "(", ")", "{", "}", "{ }", "not", "and", "or", "!", "&&", "||", ">", ">>", "<", "<<", "~", "!~", "=~", "=",
    "!=", ">=", "<=", "|", ",", "service=kubelet", "name=syncPod", "kind=server", "status=error",
    "duration>1ms", "trace=01", "span=", "parent=\"\"", "event=message", "k8s.pod=~default/.*", "a", "POD",
    ".a", "span.a", "resource.service.name", "name", "status", "kind", "duration", "span:id", "span:parentID",
    "trace:id", "event:name", "span:name", "1", "-1", "1.5", "1e3", "10ms", "-2s", "\"x\"", "\"0102\"", "`r`",
    "true", "false", "nil", "ok", "error", "unset", "server", "minInt", "maxInt", "\"(a+)+\"", "\"[\"", "'q'",
    "a.b=1", "tags=200", "http.status_code>=500", ".x = 1", "rootName", "span.a=\"\\u\"", "\\", "µs",
])
EXTREME = st.one_of(
    st.integers(4290, 4400).map(lambda n: "9" * n),  # past Python's int-from-text digit limit
    st.integers(300, 3000).map(lambda n: "(" * n + ")" * n),  # as a regex: deep groups
    st.sampled_from(["a{99999999999}", "x{1,4294967296}", "1e999", "9" * 400 + "s", "-" + "9" * 30 + "y", "²",
                     "٣", "1٣ms"]),
    st.sampled_from(REDOS).map(lambda pattern: '"' + pattern.replace("\\", "\\\\") + '"'),
)
"""Literal texts at the edges of what numbers, durations and regexes can hold."""
TOKEN_SOUP = st.lists(QUERY_TOKENS | EXTREME, max_size=14).flatmap(
    lambda tokens: st.sampled_from([" ", ""]).map(lambda sep: sep.join(tokens))
)
QUERY_TEXT = st.one_of(
    st.text(max_size=40),
    st.text(alphabet=st.sampled_from('(){}!&|=~<>.:"`\' \\anotrsequ0129-'), max_size=40),
    TOKEN_SOUP,
    TOKEN_SOUP.map(lambda t: "{ " + t + " }"),
)
"""Arbitrary text, query-alphabet text, and soups of query tokens (many of which parse)."""

# Structured queries: mostly valid, so the differential check sees many parsed queries.
TQL_FIELDS = st.sampled_from(["name", "status", "kind", "duration", ".a", "span.a", "resource.a", ".tags",
                              ".flag", ".http.status_code", "span:id", "trace:id", "span:parentID",
                              "event:name", "resource.service.name", ".raw", ".missing", "span:duration"])
TQL_OPS = st.sampled_from(["=", "!=", "=~", "!~", ">", ">=", "<", "<="])
TQL_LITERALS = st.sampled_from(['"x"', '"syncPod"', '""', '"0"', '"01"', '".*"', '"a|2.*"', "1", "1.5", "-1",
                                "0", "500", "nil", "true", "false", "ok", "error", "unset", "server", "client",
                                "1ms", "2s", "minInt", "maxInt", "1e308", '"message"', '"res"', '"NaN"'])
TQL_LITERALS = TQL_LITERALS | EXTREME | EXTREME.map(lambda text: f'"{text}"')
TQL_CONDS = st.one_of(
    st.tuples(TQL_FIELDS, TQL_OPS, TQL_LITERALS).map(" ".join),
    st.tuples(TQL_LITERALS, TQL_OPS, TQL_FIELDS).map(" ".join),
    st.sampled_from([".flag", "true", "false", ".a"]),
)
TQL_EXPRS = st.recursive(
    TQL_CONDS,
    lambda inner: st.one_of(
        st.tuples(inner, st.sampled_from(["&&", "||"]), inner).map(" ".join),
        inner.map(lambda e: f"!({e})"),
        inner.map(lambda e: f"({e})"),
    ),
    max_leaves=5,
)
TQL_SPANSETS = st.recursive(
    TQL_EXPRS.map(lambda e: "{ " + e + " }") | st.just("{ }"),
    lambda inner: st.one_of(
        st.tuples(inner, st.sampled_from(["&&", "||", ">", ">>", "<", "<<", "~"]), inner).map(" ".join),
        inner.map(lambda s: f"({s})"),
    ),
    max_leaves=4,
)
SHORT_KEYS = st.sampled_from(["service", "name", "kind", "status", "duration", "trace", "span", "parent",
                              "event", "a", "span.a", "resource.a", "tags", "flag", "raw", "http.status_code"])
SHORT_VALUES = st.sampled_from(["kubelet", "syncPod", "x", "1", "1.5", "nan", "500", "true", "server",
                                "error", "1ms", "01", "", '""', '"a b"', ".*", "2.*", "res", "message"])
SHORT_VALUES = SHORT_VALUES | EXTREME
SHORT_TERMS = st.one_of(
    st.tuples(SHORT_KEYS, st.sampled_from(["=", "!=", "=~", "!~", ">", ">=", "<", "<="]), SHORT_VALUES)
    .map("".join),
    st.sampled_from(["pod", "ECHO", "api", "res", '"get /"']),
)
SHORTHAND = st.recursive(
    SHORT_TERMS,
    lambda inner: st.one_of(
        st.tuples(inner, st.sampled_from([" ", " and ", " or ", " not "]), inner).map("".join),
        inner.map(lambda e: f"not {e}"),
        inner.map(lambda e: f"({e})"),
    ),
    max_leaves=5,
)
QUERIES = st.one_of(QUERY_TEXT, TQL_SPANSETS, SHORTHAND, REDOS_QUERIES)
"""Every kind of query text: arbitrary, token soups and grammatical TraceQL or shorthand."""
