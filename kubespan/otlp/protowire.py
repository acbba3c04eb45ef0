"""The protobuf wire primitives kubespan reads and writes by hand: base-128 varints and
length-delimited fields, for walks the official parser does not do (a span's fields
between two others) and for messages whose stubs kubespan does not ship (Tempo's
`TraceByIDResponse`)."""

from __future__ import annotations


def read_varint(buf: bytes, position: int) -> tuple[int, int]:
    """The varint at ``position`` and the position after it (ValueError or IndexError when malformed)."""
    result = shift = 0
    while True:
        byte = buf[position]
        position += 1
        result |= (byte & 0x7F) << shift
        if byte < 0x80:
            return result, position
        shift += 7
        if shift > 63:
            raise ValueError("varint too long")


def varint(n: int) -> bytes:
    """``n`` (0 or more) as a varint."""
    out = bytearray()
    while n > 0x7F:
        out.append(n & 0x7F | 0x80)
        n >>= 7
    out.append(n)
    return bytes(out)


def length_delimited(number: int, payload: bytes) -> bytes:
    """Field ``number`` (wire type 2) holding ``payload``."""
    return varint(number << 3 | 2) + varint(len(payload)) + payload
