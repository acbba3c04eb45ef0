"""Reading a remote Tempo-compatible API (another kubespan's `--api`, or Grafana Tempo) for `kubespan attach`.

Headless (no Textual): :mod:`.settings` (URL, credentials, TLS, limits), :mod:`.client` (blocking HTTP
with timeouts and one-line errors), :mod:`.detect` (kubespan or Tempo), :mod:`.answers` (Tempo's JSON
checked into typed values), :mod:`.feed` (one search followed over a sliding window),
:mod:`.trace_fetch` (a trace by id into a store of its own), :mod:`.traceql_text` (the shorthand
written as TraceQL a Tempo accepts).
"""
