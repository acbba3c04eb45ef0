"""kubespan's query API over a store holding the k8s fixture, on 127.0.0.1 port 0, for API tests."""

from __future__ import annotations

from dataclasses import dataclass

from kubespan.api import ApiSettings
from kubespan.api.component import ApiComponent
from kubespan.otlp.attributes import new_attribute_table
from kubespan.otlp.decode import decode_request
from kubespan.receive.settings import ReceiverSettings
from kubespan.stats import Counters
from kubespan.store import SpanStore
from tests.support.k8s_fixture import load_fixture
from tests.support.tempo import get


def fixture_store(shift_ns: int = 0, counters: Counters | None = None, max_spans: int = 1_000_000) -> SpanStore:
    """A store holding the fixture, moved by `shift_ns`, fed request by request as a receiver would."""
    table = new_attribute_table()
    store = SpanStore(table, max_spans=max_spans, counters=counters)
    for req in load_fixture(shift_ns):
        batch, _ = decode_request(req.SerializeToString(), table)
        store.consume_traces(batch)
    return store


@dataclass
class RunningApi:
    component: ApiComponent
    counters: Counters
    store: SpanStore

    @property
    def url(self) -> str:
        return f"http://{self.component.address}"

    def get(self, path: str, params=None, headers: dict | None = None, method: str = "GET", body: bytes | None = None):
        return get(self.url + path, params, headers, method, body)

    def stop(self) -> None:
        self.component.stop()


def start_api(store: SpanStore, counters: Counters | None = None, receivers: ReceiverSettings | None = None,
              **settings) -> RunningApi:
    counters = counters or Counters()
    api_settings = ApiSettings(address="127.0.0.1:0", explicit=True, **settings)
    component = ApiComponent(api_settings, receivers or ReceiverSettings(), counters, store)
    component.start()
    return RunningApi(component, counters, store)
