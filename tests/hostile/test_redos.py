"""Hostile regexes against hostile values: every surface that takes a user regex answers at once.

With a backtracking engine, `{ name =~ "(a+)+$" }` over a span named `aaaa…!` took seconds,
doubling with every `a`. kubespan compiles user regexes with RE2, so each of these runs in time
linear in the input. The bound below is loose (hostile CI machines), the backtracking cost for
these inputs would be years.
"""

from __future__ import annotations

import subprocess
import sys
import time

import pytest

from kubespan.otlp.attributes import new_attribute_table
from kubespan.processors.drop import DropProcessor, compile_queries
from kubespan.query import QuerySyntaxError, compile_query
from kubespan.store import SpanStore
from tests.fuzz.strategies import REDOS
from tests.support.spanfactory import S, batch, request

HOSTILE = "a" * 5000 + "!"
SECONDS = 2.0
LINEAR_TIME = [p for p in REDOS if not any(x in p for x in ("\\1", "(?=", "(?<!", "(?>"))]


def _spans() -> list[S]:
    return [S(1, 1, name=HOSTILE, attrs={"a": HOSTILE, "w": "word " * 1000 + "!"}, events=(HOSTILE,)),
            S(1, 2, 1, name="x" * 5000, attrs={"a": ["a" * 3000 + "!"] * 3})]


@pytest.mark.parametrize("pattern", LINEAR_TIME)
@pytest.mark.parametrize("form", ['{{ name =~ `{p}` }}', '{{ .a !~ `{p}` }} && {{ event:name =~ `{p}` }}',
                                  'name=~`{p}`', 'a!~`{p}` or w=~`{p}`'])
def test_store_and_naive_answer_in_linear_time(pattern: str, form: str) -> None:
    table = new_attribute_table()
    store = SpanStore(table)
    spans = batch(_spans(), table)
    store.consume_traces(spans)
    query = compile_query(form.format(p=pattern))
    started = time.monotonic()
    found = store.search(query).tolist()
    naive = [i for i, hit in enumerate(query.match_batch(spans, table)) if hit]
    assert time.monotonic() - started < SECONDS
    assert found == naive


@pytest.mark.parametrize("pattern", LINEAR_TIME)
def test_drop_on_the_ingest_path_answers_in_linear_time(pattern: str) -> None:
    table = new_attribute_table()
    queries = compile_queries([f"{{ name =~ `{pattern}` }}", f"a=~`{pattern}`"])
    drop = DropProcessor(queries, table)
    spans = batch(_spans(), table)
    started = time.monotonic()
    kept = drop.process(spans)
    assert time.monotonic() - started < SECONDS
    dropped = [any(flags) for flags in zip(*(q.match_batch(spans, table) for q in queries))]
    assert (kept.span_count if kept is not None else 0) == dropped.count(False)


@pytest.mark.parametrize("pattern", [p for p in REDOS if p not in LINEAR_TIME])
def test_backtracking_only_syntax_is_refused_with_a_column(pattern: str) -> None:
    text = f"{{ name =~ `{pattern}` }}"
    with pytest.raises(QuerySyntaxError) as err:
        compile_query(text)
    assert "linear time" in err.value.message
    assert 12 <= err.value.column < 12 + len(pattern)


def test_kubespan_filter_cli_answers_at_once(tmp_path) -> None:
    from kubespan.encode.span_lines import encode_span_lines

    dump = tmp_path / "hostile.jsonl"
    dump.write_text("".join(line + "\n" for line in encode_span_lines(request(_spans()))))
    started = time.monotonic()
    command = [sys.executable, "-m", "kubespan", "filter", '{ name =~ "(a+)+$" }', str(dump)]
    done = subprocess.run(command, check=False, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert time.monotonic() - started < 30  # includes starting Python
    assert done.stdout == ""
