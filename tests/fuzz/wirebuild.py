"""Structure-aware generators of OTLP/protobuf trace requests, built field by field.

Requests are assembled from raw wire pieces rather than official messages, so they can
carry what an official message cannot: invalid UTF-8, wrong wire types, duplicate
message fields, unknown fields, truncated lengths and values nested past protobuf's
recursion limit. Field numbers are those of opentelemetry-proto's trace.proto.
"""

from __future__ import annotations

import struct

from hypothesis import strategies as st


def varint(value: int) -> bytes:
    """Base-128 varint of a non-negative int (negative ints as their 64-bit two's complement)."""
    value &= (1 << 64) - 1
    out = bytearray()
    while True:
        low = value & 0x7F
        value >>= 7
        if value:
            out.append(low | 0x80)
        else:
            out.append(low)
            return bytes(out)


def tag(number: int, wire_type: int) -> bytes:
    return varint(number << 3 | wire_type)


def ld(number: int, payload: bytes) -> bytes:
    """A length-delimited field (string, bytes or message)."""
    return tag(number, 2) + varint(len(payload)) + payload


def vint(number: int, value: int) -> bytes:
    return tag(number, 0) + varint(value)


def fixed64(number: int, value: int) -> bytes:
    return tag(number, 1) + struct.pack("<Q", value & ((1 << 64) - 1))


def double(number: int, value: float) -> bytes:
    return tag(number, 1) + struct.pack("<d", value)


def nested_value(depth: int, kvlist: bool) -> bytes:
    """An AnyValue `depth` arrays (or kvlists) deep around a string, built without recursion."""
    value = ld(1, b"x")
    for _ in range(depth):
        if kvlist:
            value = ld(6, ld(1, ld(1, b"k") + ld(2, value)))
        else:
            value = ld(5, ld(1, value))
    return value


# ----------------------------------------------------------------- pieces

KEYS = st.sampled_from(["service.name", "k8s.pod", "http.status_code", "a", "", "ü"])
TEXT = st.one_of(st.sampled_from(["kubelet", "syncPod", "", "GET /api"]), st.text(max_size=8))
BAD_UTF8 = st.sampled_from([b"\xff", b"\xc3", b"a\xed\xa0\x80", b"\xf4\x90\x80\x80"])


def rarely(strategy: st.SearchStrategy[bytes], otherwise: st.SearchStrategy[bytes], one_in: int = 8):
    """`strategy` about once in `one_in` draws, else `otherwise`: hostile pieces stay the exception."""
    middle = one_in // 2  # hypothesis favours the ends of a range: trigger on a middle value
    return st.integers(1, one_in).flatmap(lambda n: strategy if n == middle else otherwise)


STRINGS = rarely(BAD_UTF8, TEXT.map(str.encode), one_in=32)
"""String payloads: usually valid UTF-8, sometimes not."""

JUNK = st.one_of(
    st.builds(vint, st.integers(17, 2000), st.integers(0, 2**64)),  # unknown varint field
    st.builds(ld, st.integers(17, 2000), st.binary(max_size=6)),  # unknown length-delimited field
    st.builds(vint, st.integers(1, 16), st.integers(0, 300)),  # a known field, maybe the wrong wire type
    st.builds(ld, st.integers(1, 16), st.binary(max_size=6)),
    st.builds(lambda n: tag(n, 5) + b"\0\0\0\0", st.integers(1, 16)),  # fixed32
    st.sampled_from([tag(1, 3), tag(1, 4), tag(1, 6), b"\x0a\x7f", b"\x80", tag(0, 0) + b"\0"]),  # groups, bad
)
"""Raw fields appended to a message: unknown, wrong wire type, deprecated groups, truncated."""


def _leaf_values() -> st.SearchStrategy[bytes]:
    return st.one_of(
        st.builds(ld, st.just(1), STRINGS),
        st.builds(vint, st.just(2), st.integers(0, 2)),
        st.builds(vint, st.just(3), st.integers(-(2**63), 2**63 - 1)),
        st.builds(double, st.just(4), st.floats()),
        st.builds(ld, st.just(7), st.binary(max_size=6)),
        st.just(b""),
    )


def _key_value(value: st.SearchStrategy[bytes]) -> st.SearchStrategy[bytes]:
    return st.builds(lambda key, val: ld(1, key) + ld(2, val), rarely(BAD_UTF8, KEYS.map(str.encode), one_in=24), value)


ANY_VALUES = rarely(
    st.builds(nested_value, st.integers(25, 60), st.booleans()),
    st.recursive(
        _leaf_values(),
        lambda inner: st.one_of(
            st.lists(inner, max_size=3).map(lambda vs: ld(5, b"".join(ld(1, v) for v in vs))),
            st.lists(_key_value(inner), max_size=3).map(lambda kvs: ld(6, b"".join(ld(1, kv) for kv in kvs))),
        ),
        max_leaves=6,
    ),
)
"""AnyValue payloads, sometimes nested deep enough to meet the protobuf recursion limit."""

KEY_VALUES = _key_value(ANY_VALUES)
ATTRIBUTES = st.lists(KEY_VALUES, max_size=3)


def _attributes(number: int, attributes: list[bytes]) -> bytes:
    return b"".join(ld(number, kv) for kv in attributes)


def _junk(fields: list[bytes]) -> bytes:
    return b"".join(fields)


IDS = st.one_of(
    st.sampled_from([bytes(16), bytes(8), b"", b"\x01" * 16, b"\x02" * 16]),
    st.binary(min_size=16, max_size=16),
    st.binary(min_size=8, max_size=8),
    st.binary(max_size=20),
)
TRACE_IDS = rarely(IDS, st.binary(min_size=16, max_size=16), one_in=6)
SPAN_IDS = rarely(IDS, st.binary(min_size=8, max_size=8), one_in=6)
"""Ids of the right length, except now and then."""
TIMES = st.one_of(st.integers(0, 2**64 - 1), st.just(1_700_000_000_000_000_000))
MAYBE_JUNK = rarely(st.lists(JUNK, min_size=1, max_size=2).map(_junk), st.just(b""), one_in=16)


@st.composite
def events(draw: st.DrawFn) -> bytes:
    return fixed64(1, draw(TIMES)) + ld(2, draw(STRINGS)) + _attributes(3, draw(st.lists(KEY_VALUES, max_size=1)))


@st.composite
def links(draw: st.DrawFn) -> bytes:
    return ld(1, draw(IDS)) + ld(2, draw(IDS)) + _attributes(4, draw(st.lists(KEY_VALUES, max_size=1)))


@st.composite
def spans(draw: st.DrawFn) -> bytes:
    body = [ld(1, draw(TRACE_IDS)), ld(2, draw(SPAN_IDS))]
    if draw(st.booleans()):
        body.append(ld(4, draw(SPAN_IDS)))
    body += [
        ld(5, draw(STRINGS)), vint(6, draw(st.integers(-3, 9))),
        fixed64(7, draw(TIMES)), fixed64(8, draw(TIMES)), _attributes(9, draw(ATTRIBUTES)),
    ]
    body += [ld(11, event) for event in draw(st.lists(events(), max_size=2))]
    body += [ld(13, link) for link in draw(st.lists(links(), max_size=1))]
    if draw(st.booleans()):
        body.append(ld(15, ld(2, draw(STRINGS)) + vint(3, draw(st.integers(-1, 4)))))
    body.append(draw(MAYBE_JUNK))
    return b"".join(draw(st.permutations(body)) if draw(st.integers(0, 9)) == 0 else body)


@st.composite
def scopes(draw: st.DrawFn) -> bytes:
    return ld(1, draw(STRINGS)) + ld(2, draw(STRINGS)) + _attributes(3, draw(st.lists(KEY_VALUES, max_size=2)))


@st.composite
def resources(draw: st.DrawFn) -> bytes:
    service = ld(1, b"service.name") + ld(2, ld(1, draw(STRINGS)))
    return ld(1, service) + _attributes(1, draw(ATTRIBUTES)) + draw(MAYBE_JUNK)


def _message_field(number: int, strategy: st.SearchStrategy[bytes]) -> st.SearchStrategy[bytes]:
    """Usually one occurrence of a message field; sometimes none, or two (which protobuf merges)."""
    return st.lists(strategy, min_size=0, max_size=2).map(lambda parts: b"".join(ld(number, p) for p in parts)) \
        | strategy.map(lambda part: ld(number, part))


@st.composite
def scope_spans(draw: st.DrawFn) -> bytes:
    body = draw(_message_field(1, scopes()))
    body += b"".join(ld(2, span) for span in draw(st.lists(spans(), min_size=1, max_size=3)))
    return body + ld(3, draw(STRINGS)) + draw(MAYBE_JUNK)


@st.composite
def resource_spans(draw: st.DrawFn) -> bytes:
    body = draw(_message_field(1, resources()))
    body += b"".join(ld(2, ss) for ss in draw(st.lists(scope_spans(), min_size=1, max_size=2)))
    return body + draw(MAYBE_JUNK)


REQUESTS = st.lists(resource_spans(), min_size=1, max_size=3).map(lambda rss: b"".join(ld(1, rs) for rs in rss))
"""Whole `ExportTraceServiceRequest` bodies, hostile in places."""
