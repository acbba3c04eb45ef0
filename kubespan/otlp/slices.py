"""Large export requests cut into smaller ones at span boundaries, so decoding one holds little memory.

A 57 MiB request of 2,000,000 minimal spans takes ~380 MiB to parse at once and ~250 MiB more
for its columns. Cut into requests of about `SLICE_BYTES` each, the same spans are decoded a
slice at a time. A slice is itself an `ExportTraceServiceRequest`: whole ResourceSpans where they
fit; a larger one is cut between its ScopeSpans, and a larger ScopeSpans between its spans, each
part keeping the container's other fields (resource, scope, schema URL, unknown fields) as they
were. So every byte of the request is in some slice, and the request parses iff every slice does.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterator, Union

from kubespan.otlp import compiled
from kubespan.otlp.protowire import read_varint, varint

SLICE_BYTES = 4 << 20
"""About how many request bytes one slice holds (a single span may make it larger)."""

Range = tuple[int, int]


@dataclass(slots=True)
class _Part:
    """Part of a container: its other fields kept whole, and a run of its children's fields."""

    header: list[Range]
    children: list[Union[Range, "_Part"]] = field(default_factory=list)

    def size(self) -> int:
        return sum(end - start for start, end in self.header) + sum(
            child.size() + 6 if isinstance(child, _Part) else child[1] - child[0] for child in self.children)


Slice = list[Union[Range, _Part]]
"""Top-level entries of one slice: a whole ResourceSpans field (its range), or part of one."""


def request_slices(raw: bytes, limit: int = SLICE_BYTES) -> list[Slice] | None:
    """How to cut `raw` into slices of about `limit` bytes; None when it needs no cutting or
    holds something the cut leaves to the parser (a top-level field other than ResourceSpans,
    framing the wire walk cannot read): the caller then decodes it whole, as any request."""
    try:
        top = list(_fields(raw, 0, len(raw)))
    except ValueError:
        return None
    if any(number != 1 or payload is None for number, _, payload in top):
        return None
    cutter = _Cutter(raw, limit)
    try:
        for _, whole, payload in top:
            cutter.add(whole, payload or whole, [2, 2])  # payload: checked above
    except ValueError:
        return None
    cutter.close()
    return cutter.slices if len(cutter.slices) > 1 else None


def slice_request(raw: bytes, entries: Slice) -> bytes:
    """The request bytes of one slice."""
    return b"".join(_encode(raw, entry, 1) for entry in entries)


def _encode(raw: bytes, entry: Range | _Part, number: int) -> bytes:
    if not isinstance(entry, _Part):
        return raw[entry[0]:entry[1]]
    body = b"".join([raw[start:end] for start, end in entry.header]
                    + [_encode(raw, child, 2) for child in entry.children])
    return varint((number << 3) | 2) + varint(len(body)) + body


class _Cutter:
    """Greedy: whole containers while they fit the slice being filled, cut open only when larger than a slice."""

    def __init__(self, raw: bytes, limit: int) -> None:
        self.raw, self.limit = raw, limit
        self.slices: list[Slice] = []
        self.current: Slice = []
        self.used = 0
        self.path: list[_Part] = []  # the containers being cut, outermost first (their headers)
        self.overhead: list[int] = []  # per depth of `path`: what its headers take in a slice, down to there
        self.opened: list[_Part] = []  # their parts in the current slice, as far as opened
        self.filled = False  # the current slice holds more than the opened headers of containers being cut

    def add(self, whole: Range, payload: Range, child_numbers: list[int]) -> None:
        """Add one field: whole if it fits, else its children one by one (`child_numbers`: the field
        number of the children at each level below, ResourceSpans → ScopeSpans → spans)."""
        size = whole[1] - whole[0]
        if self.used + size > self.limit:
            self.close()  # it does not fit what is left: start a slice (cut it open there if it is larger)
        if size + self._headers() <= self.limit or not child_numbers:  # fits a slice with its containers' headers
            self._place(whole, size)
            return
        number = child_numbers[0]  # two walks over the fields, so millions of spans are never listed
        self.path.append(_Part(self._header(payload, number)))
        self.overhead.append(self._headers() + _Part(self.path[-1].header).size() + 6)
        self._open()  # even without children: every slice with a part of it parses its header
        if compiled.cut_children is None:
            for child, whole, inner in _fields(self.raw, *payload):
                if child == number and inner is not None:
                    self.add(whole, inner, child_numbers[1:])
        else:
            self._add_compiled(payload, number, child_numbers[1:])
        self.path.pop()
        self.overhead.pop()
        del self.opened[len(self.path):]
        self.filled = self.filled or bool(self.current)  # the part of a container, children or not, is done

    def _header(self, payload: Range, number: int) -> list[Range]:
        if compiled.cut_header is None:
            return [whole for child, whole, inner in _fields(self.raw, *payload) if child != number or inner is None]
        header = compiled.cut_header(self.raw, payload[0], payload[1], number)
        if header is None:
            raise ValueError("a field the cut cannot read: left to the parser")
        return header

    def _add_compiled(self, payload: Range, number: int, below: list[int]) -> None:
        """The loop over the children of `add`, its whole children placed by `cut_children` (C)."""
        assert compiled.cut_children is not None
        position, end = payload
        full = self._headers()
        largest = max(0, self.limit - full) if below else end  # a larger child is cut open by `add`
        while position < end:
            pending = sum(_Part(part.header).size() + 6 for part in self.path[len(self.opened):])
            placed = compiled.cut_children(self.raw, position, end, number, largest, self.used, self.filled,
                                           self.limit, pending, full)
            if placed is None:
                raise ValueError("a field the cut cannot read: left to the parser")
            events, position, used, filled = placed
            for event in events:
                if event is None:
                    self.close()
                    continue
                self._open()
                entries = self.opened[-1].children
                last = entries[-1] if entries else None
                if isinstance(last, tuple) and last[1] == event[0]:
                    entries[-1] = (last[0], event[1])
                else:
                    entries.append(event)
                self.filled = True
            self.used, self.filled = used, bool(filled)
            if position < end:  # a child larger than a slice
                _, whole, inner = next(_fields(self.raw, position, end))
                self.add(whole, inner or whole, below)
                position = whole[1]

    def _headers(self) -> int:
        """What the headers of the containers being cut take in every slice holding a part of them."""
        return self.overhead[-1] if self.overhead else 0

    def _open(self) -> None:
        """Open a part of each container being cut that has none in the current slice yet."""
        while len(self.opened) < len(self.path):
            part = _Part(self.path[len(self.opened)].header)
            (self.opened[-1].children if self.opened else self.current).append(part)
            self.opened.append(part)
            self.used += part.size() + 6

    def _place(self, whole: Range, size: int) -> None:
        self._open()
        entries = self.opened[-1].children if self.opened else self.current
        last = entries[-1] if entries else None
        if isinstance(last, tuple) and last[1] == whole[0]:  # adjacent fields: one range
            entries[-1] = (last[0], whole[1])
        else:
            entries.append(whole)
        self.used += size
        self.filled = True
        if self.used >= self.limit:
            self.close()

    def close(self) -> None:
        """End the current slice; the containers being cut go on in new parts when more of them comes.
        A slice holding only the headers just opened is not ended: it goes on with what comes next."""
        if self.path and not self.filled:
            return
        if self.current:
            self.slices.append(self.current)
        self.current, self.used, self.opened, self.filled = [], 0, [], False


def _fields(raw: bytes, start: int, end: int) -> Iterator[tuple[int, Range, Range | None]]:
    """(number, the whole field's range, its payload's range if length-delimited) of each field."""
    position = start
    while position < end:
        first = position
        key, position = _read_varint(raw, position, end)
        wire_type = key & 7
        payload: Range | None = None
        if wire_type == 2:
            length, position = _read_varint(raw, position, end)
            payload = (position, position + length)
            position += length
        elif wire_type == 0:
            position = _read_varint(raw, position, end)[1]
        elif wire_type in (1, 5):
            position += 8 if wire_type == 1 else 4
        else:
            raise ValueError("a group: left to the parser")
        if position > end:
            raise ValueError("field overruns its message")
        yield key >> 3, (first, position), payload


def _read_varint(raw: bytes, position: int, end: int) -> tuple[int, int]:
    """The varint at `position`, which must end within the message (ValueError if not)."""
    try:
        value, after = read_varint(raw, position)
    except IndexError:
        raise ValueError("unreadable varint") from None
    if after > end:
        raise ValueError("unreadable varint")
    return value, after
