"""kubespan's output encoders, one family over one table of inert text.

- `inert`: the characters that act on a terminal, and how each is shown instead;
  every encoder, the TUI and the compiled JSON writer use this one table.
- `otlp_json`: OTLP/JSON of a request, in the Collector's pdata writer style.
- `span_lines`: one-span-per-line OTLP/JSON (`--jsonl`, `--dump`, saved traces), from an
  official message or, faster, from wire bytes (compiled where built).
- `message_json`: Collector-style JSON of any other message (export responses, statuses).
- `debugtext`: the Collector's debug-exporter text (`--print`).

Headless: nothing here imports a terminal UI.
"""
