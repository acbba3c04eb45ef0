"""Limits on every query: length, cancellation, a deadline, memory; counted in the stats line."""

from __future__ import annotations

import time

import pytest

from kubespan.cli.main import main
from kubespan.dumpfilter import filter_dumps
from kubespan.dumps import DumpReader
from kubespan.encode.span_lines import encode_span_lines
from kubespan.otlp.attributes import new_attribute_table
from kubespan.query import QuerySyntaxError, compile_query
from kubespan.query.limits import (
    DEFAULT_MAX_LENGTH,
    Deadline,
    QueryCancelled,
    QueryOverMemory,
    QueryTimeout,
    QueryTooLong,
)
from kubespan.stats import Counters
from tests.support.spanfactory import S, batch, request

SPANS = [S(t, 10 * t + i, name=f"op{i}", attrs={"a": i}) for t in range(1, 30) for i in range(5)]


def _store(counters: Counters | None = None):
    from kubespan.store import SpanStore

    table = new_attribute_table()
    store = SpanStore(table, counters=counters)
    store.consume_traces(batch(SPANS, table))
    return store, table


def test_a_query_longer_than_the_limit_is_refused_with_the_column_past_it() -> None:
    text = "{ " + " || ".join(['.a = "x"'] * 20000) + " }"
    assert len(text) > DEFAULT_MAX_LENGTH
    with pytest.raises(QueryTooLong) as err:
        compile_query(text)
    assert err.value.column == DEFAULT_MAX_LENGTH + 1 and "query too long" in err.value.message
    assert isinstance(err.value, QuerySyntaxError)
    with pytest.raises(QueryTooLong):
        compile_query("a" * 11, max_length=10)
    compile_query("a" * 10, max_length=10)


def test_a_cancelled_search_stops_and_is_counted() -> None:
    counters = Counters()
    store, _ = _store(counters)
    deadline = Deadline()
    deadline.cancel()
    with pytest.raises(QueryCancelled) as err:
        store.search(compile_query("{ .a = 1 } >> { .a = 2 }"), deadline)
    assert err.value.progress.spans_total == len(SPANS)
    assert counters.get("queries_cancelled") == 1 and counters.get("queries") == 1
    assert len(store.search(compile_query("{ .a = 1 }"))) == 29
    assert counters.get("queries") == 2
    assert {"queries", "queries_timed_out", "queries_cancelled", "queries_over_memory"} <= set(counters.snapshot())


def test_a_search_past_its_deadline_times_out_with_its_progress() -> None:
    counters = Counters()
    store, _ = _store(counters)
    deadline = Deadline(30)
    deadline.expires = time.monotonic() - 1  # as if 30 s had passed
    with pytest.raises(QueryTimeout) as err:
        store.search_traces(compile_query("service=svc"), deadline=deadline)
    assert "timed out after 30 s" in err.value.message
    assert "spans examined" in err.value.progress.describe()
    assert counters.get("queries_timed_out") == 1


def test_intermediate_results_past_the_memory_budget_stop_the_query() -> None:
    counters = Counters()
    store, _ = _store(counters)
    with pytest.raises(QueryOverMemory) as err:
        store.search(compile_query("{ .a = 1 } && { .a = 2 }"), Deadline(max_memory_bytes=64))
    assert "MiB" in err.value.message
    assert counters.get("queries_over_memory") == 1
    roomy = Deadline(max_memory_bytes=1 << 30)
    assert len(store.search(compile_query("{ .a = 1 } && { .a = 2 }"), roomy)) == 58
    assert 0 < roomy.peak_bytes < 1 << 20


def test_the_naive_evaluator_checks_the_deadline_too() -> None:
    table = new_attribute_table()
    deadline = Deadline()
    deadline.cancel()
    with pytest.raises(QueryCancelled):
        compile_query("name=op1").match_batch(batch(SPANS, table), table, deadline)


def test_filter_dumps_stops_and_keeps_what_it_wrote() -> None:
    lines = [line.encode() for line in encode_span_lines(request(SPANS))]
    deadline = Deadline()
    written: list[str] = []

    def write(text: str) -> None:  # the first match cancels the query (as a superseded search would)
        written.append(text)
        deadline.cancel()

    with pytest.raises(QueryCancelled) as err:
        filter_dumps(compile_query("name=op1"), [DumpReader("dump", lines)], write, deadline=deadline)
    assert len(written) == 1
    assert err.value.progress.spans_done == 3  # op1 is the 2nd span; the check after the 3rd stops it


def test_kubespan_filter_says_how_far_it_got(tmp_path, capsys, monkeypatch) -> None:
    dump = tmp_path / "spans.jsonl"
    dump.write_text("".join(line + "\n" for line in encode_span_lines(request(SPANS))))

    def expired(timeout_s=None, **kw) -> Deadline:
        deadline = Deadline(timeout_s, **kw)
        deadline.expires = time.monotonic() - 1
        return deadline

    monkeypatch.setattr("kubespan.cli.filter.Deadline", expired)
    assert main(["filter", "--query-timeout", "5", "{ .a = 1 } > { }", str(dump)]) == 1
    err = capsys.readouterr().err
    assert "query timed out after 5 s" in err and f"of {len(SPANS)} spans examined" in err


@pytest.mark.parametrize("value", ["-1", "nan", "inf", "x"])
def test_kubespan_filter_refuses_a_bad_timeout(value: str, capsys) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["filter", "--query-timeout", value, "name=x"])
    assert exit_.value.code == 2
    assert "--query-timeout" in capsys.readouterr().err
