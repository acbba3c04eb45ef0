"""The big hostile requests against a real `kubespan serve` process: peak memory stays bounded.

The peak resident set (VmHWM) of the server and of each of its decode workers is read
before and after each request; no process may grow beyond the request's budget.
Requests refused before parsing (empty-message bombs) may raise it by a few MiB at
most; accepted big ones by a small multiple of their size, plus what the store keeps of
the distinct attributes they bring; requests over the limit by at most the limit (the
HTTP receiver buffers up to `max_recv_mib` before refusing).
"""

from __future__ import annotations

from pathlib import Path

from tests.hostile.cases import CASES, LIMIT, Case
from tests.hostile.clients import Answer
from tests.hostile.test_corpus import follow_up, payload, send
from tests.support.serve_process import ServeProcess

MIB = 1024 * 1024
REFUSED_BUDGET = 16 * MIB
SLACK = 32 * MIB
KEPT_PER_NEW_ATTRIBUTE = 512
"""Bytes the store may keep per distinct attribute it has not seen before (measured: about 400 B
per new attribute, proto_notes/store.md), so a request of 100,000 distinct attributes is allowed
what it legitimately leaves behind, on top of its transient decoding cost."""


def peak_rss(pid: int) -> int:
    """The process's peak resident set size in bytes (VmHWM)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmHWM in /proc status")


def processes(pid: int) -> list[int]:
    """The server and its children (the decode workers)."""
    children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    return [pid, *map(int, children)]


def peaks(pid: int) -> dict[int, int]:
    return {process: peak_rss(process) for process in processes(pid)}


def growth(before: dict[int, int], after: dict[int, int]) -> int:
    """The most any one process's peak grew (a restarted worker counts from zero)."""
    return max(peak - before.get(process, 0) for process, peak in after.items())


def budget(case: Case) -> int:
    """How much a request may raise the server's peak RSS."""
    if case.expect.http == 413:
        return LIMIT + SLACK
    if case.expect.accepted:
        return 6 * len(payload(case)) + SLACK + KEPT_PER_NEW_ATTRIBUTE * case.new_attributes
    return REFUSED_BUDGET


def order(case: Case) -> int:
    """Cheap refusals first, so they are measured against the lowest peak."""
    return {413: 2}.get(case.expect.http, 0 if not case.expect.accepted else 1)


def address(server: ServeProcess, transport: str) -> str:
    return server.addresses["grpc" if transport == "grpc" else "http"]


def test_big_hostile_requests_stay_within_memory_budget() -> None:
    server = ServeProcess("--grpc", "127.0.0.1:0", "--http", "127.0.0.1:0", "--decode-workers", "1")
    try:
        replay_big_cases(server)
        counters = server.stop()
    finally:
        server.kill()
    assert counters["received_spans"] == 3 * 2 + sum(
        c.expect.accepted * len(c.transports) for c in CASES if c.big)


def replay_big_cases(server: ServeProcess) -> None:
    for transport in ("grpc", "http", "json"):  # warm up imports and buffers
        assert follow_up(transport, address(server, transport)).status in ("OK", 200)
    measured = []
    for case in sorted((c for c in CASES if c.big), key=order):
        for transport in case.transports:
            before = peaks(server.process.pid)
            answer: Answer = send(case, transport, address(server, transport))
            grown = growth(before, peaks(server.process.pid))
            want = case.expect.grpc if transport == "grpc" else case.expect.http
            assert answer.status == want, (case.name, transport, answer)
            assert grown <= budget(case), (case.name, transport, grown // MIB)
            measured.append(case.name)
    assert len(measured) >= 15
    assert len(processes(server.process.pid)) == 2  # the decode worker was measured too
