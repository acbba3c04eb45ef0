"""Reading Prometheus remote-write requests (snappy-compressed `prometheus.WriteRequest`) without extra
packages: what Tempo's metrics-generator sends, for capturing its service-graph counters."""

from __future__ import annotations

import struct

from kubespan.otlp.protowire import read_varint as _varint


def snappy_decompress(data: bytes) -> bytes:
    """Snappy's block format (not the framed one): a varint length, then literals and back-references."""
    length, pos = _varint(data, 0)
    out = bytearray()
    while pos < len(data):
        tag = data[pos]
        pos += 1
        kind = tag & 3
        if kind == 0:
            size = tag >> 2
            if size >= 60:
                extra = size - 59
                size = int.from_bytes(data[pos:pos + extra], "little")
                pos += extra
            size += 1
            out += data[pos:pos + size]
            pos += size
            continue
        if kind == 1:
            size = 4 + ((tag >> 2) & 7)
            offset = ((tag >> 5) << 8) | data[pos]
            pos += 1
        elif kind == 2:
            size = (tag >> 2) + 1
            offset = int.from_bytes(data[pos:pos + 2], "little")
            pos += 2
        else:
            size = (tag >> 2) + 1
            offset = int.from_bytes(data[pos:pos + 4], "little")
            pos += 4
        if offset == 0 or offset > len(out):
            raise ValueError("snappy: bad back-reference")
        for _ in range(size):  # may overlap what it writes
            out.append(out[-offset])
    if len(out) != length:
        raise ValueError(f"snappy: {len(out)} bytes, header said {length}")
    return bytes(out)


def _fields(data: bytes) -> list[tuple[int, int | bytes]]:
    """(field number, value) of one protobuf message: varints and fixed64 as ints, the rest as bytes."""
    out: list[tuple[int, int | bytes]] = []
    pos = 0
    while pos < len(data):
        key, pos = _varint(data, pos)
        number, wire = key >> 3, key & 7
        if wire == 0:
            value, pos = _varint(data, pos)
            out.append((number, value))
        elif wire == 1:
            out.append((number, int.from_bytes(data[pos:pos + 8], "little")))
            pos += 8
        elif wire == 2:
            size, pos = _varint(data, pos)
            out.append((number, data[pos:pos + size]))
            pos += size
        elif wire == 5:
            out.append((number, int.from_bytes(data[pos:pos + 4], "little")))
            pos += 4
        else:
            raise ValueError(f"protobuf: wire type {wire}")
    return out


def decode_write_request(body: bytes) -> list[tuple[list[tuple[str, str]], list[tuple[float, int]]]]:
    """Each time series of a remote-write body: its labels and its (value, timestamp ms) samples."""
    series = []
    for number, raw in _fields(snappy_decompress(body)):
        if number != 1 or not isinstance(raw, bytes):
            continue
        labels: list[tuple[str, str]] = []
        samples: list[tuple[float, int]] = []
        for field, value in _fields(raw):
            if field == 1 and isinstance(value, bytes):
                pair = dict(_fields(value))
                name, text = pair.get(1, b""), pair.get(2, b"")
                labels.append((bytes(name).decode(), bytes(text).decode()))
            elif field == 2 and isinstance(value, bytes):
                sample = dict(_fields(value))
                number_bits = int(sample.get(1, 0))
                stamp = int(sample.get(2, 0))
                samples.append((struct.unpack("<d", number_bits.to_bytes(8, "little"))[0], stamp))
        series.append((labels, samples))
    return series
