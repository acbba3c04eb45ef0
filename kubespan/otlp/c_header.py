"""The tables the compiled walk shares with Python, written as a C header from their one definition.

`kubespan/otlp/csrc/generated.h` is this module's output: the order of the packed span arrays
(`kubespan.model.PACKED_ARRAYS`), the characters the JSON writer escapes
(`kubespan.encode.inert.TERMINAL_ACTIVE`) and the field numbers of the messages the C
walks (from the official descriptors). It is committed, so building kubespan needs
no Python step; tests/otlp/test_c_header.py fails when it is out of date, and
`python -m kubespan.otlp.c_header` writes it anew.
"""

from __future__ import annotations

import sys
from pathlib import Path

from google.protobuf.descriptor import Descriptor
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.trace.v1.trace_pb2 import ResourceSpans, ScopeSpans, Span, Status

from kubespan.encode.inert import TERMINAL_ACTIVE
from kubespan.model import PACKED_ARRAYS

HEADER_PATH = Path(__file__).parent / "csrc" / "generated.h"
JSON_ESCAPES_ITSELF = 0x7F
"""JSON escapes every code point below this itself; the table lists the rest."""

_FIELDS: tuple[tuple[str, Descriptor, tuple[str, ...]], ...] = (
    ("REQUEST", ExportTraceServiceRequest.DESCRIPTOR, ("resource_spans",)),
    ("RESOURCE_SPANS", ResourceSpans.DESCRIPTOR, ("resource", "scope_spans")),
    ("SCOPE_SPANS", ScopeSpans.DESCRIPTOR, ("scope", "spans")),
    ("SPAN", Span.DESCRIPTOR, (
        "trace_id", "span_id", "trace_state", "parent_span_id", "name", "kind", "start_time_unix_nano",
        "end_time_unix_nano", "attributes", "dropped_attributes_count", "events", "dropped_events_count", "links",
        "dropped_links_count", "status", "flags",
    )),
    ("EVENT", Span.Event.DESCRIPTOR, ("time_unix_nano", "name", "attributes", "dropped_attributes_count")),
    ("LINK", Span.Link.DESCRIPTOR, (
        "trace_id", "span_id", "trace_state", "attributes", "dropped_attributes_count", "flags",
    )),
    ("STATUS", Status.DESCRIPTOR, ("message", "code")),
)
"""The fields the compiled walk reads, by message (a field the protocol adds later changes nothing here)."""


def generated_header() -> str:
    """The text of csrc/generated.h."""
    arrays = ", ".join(f"PACKED_{name.upper()}" for name in PACKED_ARRAYS)
    ranges = [(max(low, JSON_ESCAPES_ITSELF), high) for low, high in TERMINAL_ACTIVE if high >= JSON_ESCAPES_ITSELF]
    escapes = ",\n".join(f"    {{0x{low:04X}, 0x{high:04X}}}" for low, high in ranges)
    return "\n".join([
        "/* Written by `python -m kubespan.otlp.c_header` from kubespan's Python definitions: do not edit.",
        "   tests/otlp/test_c_header.py fails when this file is out of date. */",
        "#ifndef KUBESPAN_GENERATED_H",
        "#define KUBESPAN_GENERATED_H",
        "",
        "#include <stdint.h>",
        "",
        "/* kubespan.model.PACKED_ARRAYS: the arrays span_arrays returns, in order. */",
        f"enum {{ {arrays}, PACKED_COUNT }};",
        "",
        f"/* kubespan.encode.inert.TERMINAL_ACTIVE from U+{JSON_ESCAPES_ITSELF:04X} on (JSON escapes the rest itself):",
        "   inclusive ranges of the code points the JSON writer writes as \\uXXXX. */",
        f"static const uint32_t TERMINAL_ACTIVE[{len(ranges)}][2] = {{",
        escapes,
        "};",
        "",
        "/* Field numbers, from the official opentelemetry/proto descriptors. */",
        "enum {",
        *(f"    {prefix}_{name.upper()} = {message.fields_by_name[name].number},"
          for prefix, message, names in _FIELDS for name in names),
        "};",
        "",
        "#endif",
        "",
    ])


def main() -> None:
    HEADER_PATH.write_text(generated_header())
    print(f"wrote {HEADER_PATH}", file=sys.stderr)


if __name__ == "__main__":
    main()
