"""kubespan's query API: Grafana Tempo's HTTP API and Jaeger's query API (v1 JSON and api_v3) over the
span store, so Grafana (as a Tempo or a Jaeger data source), tempo-cli and `kubespan attach` read
what kubespan holds. Headless core: no terminal UI imports.

Modules: :mod:`.server` (the HTTP server, limits, auth, counters), :mod:`.component` (start/stop with
a running kubespan), :mod:`.tempo_search`, :mod:`.tempo_traces`, :mod:`.tempo_tags`,
:mod:`.tempo_metrics`, :mod:`.probes` (Tempo endpoints), :mod:`.jaeger_api`, :mod:`.jaeger_v3`,
:mod:`.jaeger_model` (Jaeger endpoints), :mod:`.source`, :mod:`.catalog` (reads from the store),
:mod:`.search_params`, :mod:`.search_shape`, :mod:`.tempo_json`, :mod:`.gotext` (Tempo's formats).
See proto_notes/api.md. Importing the package is cheap (the CLI reads its options); the server and
handlers load when `kubespan.api.component` is imported, i.e. when the API starts.
"""

from kubespan.api.settings import DEFAULT_API, ApiSettings

__all__ = ["DEFAULT_API", "ApiSettings"]
