"""OTLP/JSON decoding of traces and of kubespan's one-span-per-line JSONL dumps.

Headless core: no terminal UI imports.

Decoding follows the Collector's lenient pdata reader (lowerCamelCase or
snake_case keys, hex ids in either case, enum numbers or names, 64-bit ints as
numbers or strings, unknown fields ignored). The encoders, in the Collector's
pdata writer style, are in :mod:`kubespan.encode` (``otlp_json``, ``span_lines``,
``message_json``).

Canonical form: like pdata, the decoder always sets ``ResourceSpans.resource``,
``ScopeSpans.scope``, ``Span.status`` and ``KeyValue.value`` (possibly empty),
because pdata always writes them, in JSON and in protobuf. A request in this
form survives ``decode_traces_json(encode_request_json(r)) == r``.

Nesting limit: at most :data:`MAX_VALUE_NESTING` ``arrayValue``/``kvlistValue``
levels inside one attribute value. Deeper values would exceed protobuf's
default recursion limit (100 message levels) once the request is serialised,
so kubespan's own gRPC receiver could not accept them either.

Modules: :mod:`.errors`, :mod:`.scalars` and :mod:`.values` (JSON readers),
:mod:`.jsontext` (JSON text to values) and :mod:`.decoder` (requests). Dump files are read by
:mod:`kubespan.dumps`.
"""

from kubespan.otlp.jsoncodec.decoder import decode_resource_spans, decode_traces_json
from kubespan.otlp.jsoncodec.errors import JsonDecodeError
from kubespan.otlp.jsoncodec.jsontext import iter_json_documents, load_json
from kubespan.otlp.jsoncodec.scalars import HEX_IDS, IdRules
from kubespan.otlp.jsoncodec.values import MAX_VALUE_NESTING

__all__ = [
    "HEX_IDS",
    "MAX_VALUE_NESTING",
    "IdRules",
    "JsonDecodeError",
    "decode_resource_spans",
    "decode_traces_json",
    "iter_json_documents",
    "load_json",
]
