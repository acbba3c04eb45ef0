"""The Collector's debug-exporter text for traces (``kubespan serve --print``).

Reproduces, byte for byte, what the OpenTelemetry Collector's ``debug``
exporter prints with ``verbosity: detailed`` and ``use_internal_logger: false``
(format of collector v0.159), and, with ``legacy=True``, what the old
``logging`` exporter of collector v0.54 printed with ``loglevel: debug``.

One deliberate difference: text from the network (names, keys, values, schema
URLs, trace states, status messages) goes through :func:`kubespan.encode.inert.escape`,
so ESC, BEL, CR, DEL, C1 controls and bidi overrides print as ``\\x1b``-style
escapes instead of acting on the terminal (Go prints them raw). Tabs and newlines
print as the Collector prints them; text without control characters is unchanged.

Headless core: no UI imports. Nothing here raises on a valid protobuf message:
values nested thousands of levels deep are walked with explicit stacks, and
timestamps are converted with integer arithmetic (no ``datetime``).

Legacy (v0.54) decisions, reconstructed from the collector's
``exporter/loggingexporter/internal/otlptext`` of that era:

* summary line ``TracesExporter\\t{"#spans": N}`` (the logging exporter before
  v0.76), then the blob, then a blank line, as for the current format;
* ``Resource labels:`` header (renamed to ``Resource attributes`` in v0.59);
  ``ScopeSpans`` / ``InstrumentationScope`` lines as today, but no
  ``InstrumentationScope attributes`` block, no entity refs, no ``TraceState``
  span line and no ``Dropped*Count`` span lines;
* ``Kind`` and ``Status code`` use the proto enum names
  (``SPAN_KIND_SERVER``, ``STATUS_CODE_UNSET``); an unknown number prints as
  its decimal value (gogo-proto ``String()``), where the current format prints
  an empty string;
* type names ``STRING INT DOUBLE BOOL MAP SLICE BYTES EMPTY``; doubles use Go's
  ``FormatFloat(f, 'f', -1, 64)`` (never an exponent, ``NaN``, ``+Inf``);
  slices print as ``[a, b]`` (elements rendered the same way, recursively);
  maps print as ``{\\n     -> k: TYPE(v)\\n}`` with keys sorted (stable), the
  nested values rendered with ``AsString`` (JSON for maps/slices, with Go's
  HTML escaping of that era); a top-level or in-slice BYTES or EMPTY value
  prints ``<Unknown OpenTelemetry attribute value type "BYTES">`` because
  that code had no case for them;
* event and link attributes: ``     -> Attributes:`` then ``         -> k: T(v)``
  (9 spaces).

Current-format notes: a Double that is NaN or infinite prints
``json: unsupported value: NaN`` / ``+Inf`` / ``-Inf`` (pdata's
``float64AsString``), and a Map or Slice holding one anywhere prints empty,
because Go's ``json.Marshal`` fails and pdata ignores the error.

Modules: :mod:`.scalars` (ids, timestamps, doubles), :mod:`.go_json` (Go JSON of
values), :mod:`.values` (``Type(value)`` text), :mod:`.blocks` (attributes, entity refs,
events, links) and :mod:`.render` (span layouts and the public renderers).
"""

from kubespan.encode.debugtext.render import render_detailed, render_traces, summary_line
from kubespan.encode.debugtext.scalars import (
    format_double,
    format_double_legacy,
    format_id,
    format_timestamp,
)
from kubespan.encode.debugtext.values import value_as_string, value_to_string

__all__ = [
    "render_traces",
    "render_detailed",
    "summary_line",
    "format_timestamp",
    "format_id",
    "format_double",
    "format_double_legacy",
    "value_to_string",
    "value_as_string",
]
