"""The decode pool answers exactly as `decode_request` in this process does, whatever happens
to its workers."""

from __future__ import annotations

import os
import signal
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from kubespan.encode.span_lines import SPAN_LINES, encode_span_lines
from kubespan.k8s.demo import load_batch
from kubespan.model import AttributeTable, SpanBlobs, TraceBatch
from kubespan.otlp.attributes import new_attribute_table
from kubespan.otlp.decode import UndecodableRequest, decode_request
from kubespan.otlp.decode_pool import DecodePool
from kubespan.otlp.select import select_spans
from tests.support.forward_helpers import wait_until
from tests.support.requests import request_with_ids
from tests.support.spanfactory import S, request


@pytest.fixture
def pool():
    restarts = threading.Event()
    pool = DecodePool(new_attribute_table(), workers=2, on_restart=restarts.set)
    pool.restarted = restarts
    yield pool
    pool.close()


def view(batch: TraceBatch, table: AttributeTable) -> dict:
    """A batch with its attribute ids replaced by the attributes they stand for."""
    spans = batch.spans
    return {
        "raw": batch.raw,
        "resource_spans": batch.resource_spans_count,
        "resources": [(r.service, [table.attributes[i] for i in r.attribute_ids], r.raw, r.schema_url)
                      for r in batch.resources],
        "scopes": [(s.resource, s.name, s.version, s.raw, s.schema_url) for s in batch.scopes],
        "columns": {name: getattr(spans, name) for name in ("trace_id", "span_id", "parent_id", "name", "kind",
                                                           "start", "end", "status", "scope", "event_names")},
        "attributes": [[table.attributes[i] for i in ids] for ids in spans.attribute_ids],
    }


def assert_same_as_here(pool: DecodePool, raw: bytes, reference: AttributeTable) -> None:
    batch, rejections = pool.decode(raw)
    expected, expected_rejections = decode_request(raw, reference)
    assert view(batch, pool.table) == view(expected, reference)
    assert (rejections.count, rejections.message) == (expected_rejections.count, expected_rejections.message)


def test_concurrent_requests_decode_as_in_process(pool: DecodePool) -> None:
    payloads = load_batch(64 * 40, seed=3, batch_size=64)
    with ThreadPoolExecutor(4) as threads:
        results = list(threads.map(pool.decode, payloads))
    reference = new_attribute_table()
    for raw, (batch, _) in zip(payloads, results):
        expected, _ = decode_request(raw, reference)
        assert view(batch, pool.table) == view(expected, reference)
    assert len(pool.table) == len(reference)  # both workers' first sightings became one id each


def test_same_new_attribute_in_both_workers_gets_one_id(pool: DecodePool) -> None:
    raw = request([S(1, 1, attrs={"k8s.pod": "default/echo-command"})]).SerializeToString()
    with ThreadPoolExecutor(4) as threads:
        results = list(threads.map(pool.decode, [raw] * 16))
    ids = {tuple(batch.spans.attribute_ids[0]) for batch, _ in results}
    assert len(ids) == 1
    (attribute,) = [pool.table.attributes[i] for i in ids.pop()]
    assert (attribute.key, attribute.value) == ("k8s.pod", "default/echo-command")


def test_rejected_spans_and_rebuilt_request(pool: DecodePool) -> None:
    raw = request_with_ids([(16, 8), (15, 8), (16, 9), (16, 8)]).SerializeToString()
    batch, rejections = pool.decode(raw)
    assert rejections.count == 2 and batch.span_count == 2
    assert batch.raw != raw
    assert_same_as_here(pool, raw, new_attribute_table())


def test_invalid_attribute_rejects_its_span_only(pool: DecodePool) -> None:
    raw = bytearray(request([S(1, 1, attrs={"a": "x"}), S(1, 2, attrs={"b": "NOT-UTF-8"})]).SerializeToString())
    raw[raw.index(b"NOT-UTF-8")] = 0xFF  # invalid UTF-8 in the second span's attribute value
    batch, rejections = pool.decode(bytes(raw))
    assert rejections.count == 1 and batch.span_count == 1
    assert_same_as_here(pool, bytes(raw), new_attribute_table())


def test_undecodable_request_raises_and_later_ids_stay_right(pool: DecodePool) -> None:
    with pytest.raises(UndecodableRequest) as refused:
        pool.decode(b"\x0a\x05garb")
    with pytest.raises(UndecodableRequest) as here:
        decode_request(b"\x0a\x05garb", new_attribute_table())
    assert str(refused.value) == str(here.value)
    assert_same_as_here(pool, request([S(2, 1, attrs={"after": "failure"})]).SerializeToString(), new_attribute_table())


def test_killed_worker_is_restarted_and_nothing_is_lost(pool: DecodePool) -> None:
    raw = request([S(3, 1, attrs={"before": "kill"})]).SerializeToString()
    pool.decode(raw)
    victim = pool._workers[0]
    os.kill(victim.pid, signal.SIGKILL)
    payloads = [request([S(4, n + 1, attrs={"n": n})]).SerializeToString() for n in range(20)]
    with ThreadPoolExecutor(4) as threads:  # some of these reach the dying worker
        results = list(threads.map(pool.decode, payloads))
    assert [batch.spans.span_id for batch, _ in results] == [[(n + 1).to_bytes(8, "big")] for n in range(20)]
    assert [pool.table.attributes[batch.spans.attribute_ids[0][0]].value for batch, _ in results] == list(range(20))
    assert pool.restarted.wait(10)
    assert pool.restarts == 1
    assert_same_as_here(pool, raw, new_attribute_table())


def test_workers_encode_the_json_lines_of_what_they_keep() -> None:
    pool = DecodePool(new_attribute_table(), workers=1, lines=True)
    try:
        raw = request_with_ids([(16, 8), (15, 8), (16, 8), (16, 8)]).SerializeToString()
        batch, rejections = pool.decode(raw)
        assert rejections.count == 1
        assert batch.encoded[SPAN_LINES] == lines_of(batch) and len(batch.encoded[SPAN_LINES]) == 3
        picked = select_spans(batch, [True, False, True])
        assert picked.encoded[SPAN_LINES] == lines_of(picked) and len(picked.encoded[SPAN_LINES]) == 2
        assert picked.encoded[SPAN_LINES].blob.count(b"\n") == 2 and picked.encoded[SPAN_LINES].blob.endswith(b"\n")
    finally:
        pool.close()


def lines_of(batch: TraceBatch) -> SpanBlobs:
    return SpanBlobs.of([line.encode() + b"\n" for line in encode_span_lines(batch.request)])


def test_without_lines_workers_leave_them_to_the_writers(pool: DecodePool) -> None:
    batch, _ = pool.decode(request([S(1, 1)]).SerializeToString())
    assert batch.encoded == {}


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_a_signal_to_the_whole_process_group_stops_serve_without_worker_restarts(signum: int) -> None:
    """Ctrl-C in a terminal signals every process of the group, the decode workers too."""
    import subprocess

    from tests.support.serve_process import ServeProcess

    served = ServeProcess("--grpc", "127.0.0.1:0", "--http", "off", "--decode-workers", "2",
                          popen=dict(start_new_session=True))
    try:
        workers = subprocess.run(["pgrep", "-P", str(served.process.pid)], capture_output=True, text=True)
        assert len(workers.stdout.split()) == 2, workers
        for pid in workers.stdout.split():  # a worker ignores them once its interpreter is up
            assert wait_until(lambda pid=pid: _ignores(int(pid), signal.SIGINT, signal.SIGTERM))
        summary = served.stop(signum, group=True)
    finally:
        served.kill()
    assert summary["decode_restarts"] == 0


def _ignores(pid: int, *signums: int) -> bool:
    with open(f"/proc/{pid}/status") as status:
        ignored = int(next(line for line in status if line.startswith("SigIgn:")).split()[1], 16)
    return all(ignored >> (signum - 1) & 1 for signum in signums)
