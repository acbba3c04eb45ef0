"""The shorthand written as TraceQL for a remote: the text, and the same traces as the shorthand finds
locally (kubespan's TraceQL engine, itself checked against Tempo's answers, runs the translation)."""

from __future__ import annotations

import functools
import json

import pytest

from kubespan.query import compile_query
from kubespan.remote.answers import search_traces
from kubespan.remote.traceql_text import duration, quote_meta, translate
from tests.support.api_server import fixture_store
from tests.support.golden_tempo import load_capture, load_cases, load_golden

WALKTHROUGH = 'service=kubelet name=syncPod k8s.pod=default/echo-command'


@pytest.mark.parametrize(("shorthand", "traceql"), [
    (WALKTHROUGH, '{ resource.service.name = "kubelet" && name = "syncPod" && .k8s.pod = "default/echo-command" }'),
    ("", "{ }"),
    ("k8s.pod!=default/echo-command",
     '{ (.k8s.pod != "default/echo-command" || (span.k8s.pod = nil && resource.k8s.pod = nil)) }'),
    ("not (span.a=x or span.b=y) c=z",
     '{ (span.a != "x" || span.a = nil) && (span.b != "y" || span.b = nil) && .c = "z" }'),
    ("not (span.a=x span.b=y)", '{ (span.a != "x" || span.a = nil) || (span.b != "y" || span.b = nil) }'),
    ("service!=etcd", '{ resource.service.name != "etcd" }'),
    ("code!=200", '{ (.code != 200 || (span.code = nil && resource.code = nil)) }'),
    ("duration>10ms status=error kind=server", "{ duration > 10ms && status = error && kind = server }"),
    ("not duration>=1.5s", "{ duration < 1500ms }"),
    ("http.status_code=200", '{ (.http.status_code = 200 || .http.status_code = "200") }'),
    ('span.x=~"a.*" resource.y>5', '{ span.x =~ "a.*" && resource.y > 5 }'),
    ('"my key"="a \\"b\\""', '{ ."my key" = "a \\"b\\"" }'),
    ("a=x or b=y c=z", '{ .a = "x" || (.b = "y" && .c = "z") }'),
])
def test_shorthand_as_traceql(shorthand, traceql):
    query = compile_query(shorthand) if shorthand else None
    assert translate(query).traceql == traceql


def test_traceql_is_sent_as_typed():
    text = '{ resource.service.name = "kubelet" } >> { name = "x" }'
    assert translate(compile_query(text)).traceql == text
    assert not translate(compile_query(text)).translated


def test_free_text_says_what_it_searches():
    done = translate(compile_query("Echo.Command"))
    assert done.traceql.startswith('{ (name =~ "(?i).*Echo\\\\.Command.*" || resource.service.name =~')
    assert any("free text" in note for note in done.notes)


def test_helpers():
    assert duration(10_000_000) == "10ms" and duration(1_500) == "1500ns" and duration(120 * 10**9) == "2m"
    assert quote_meta("a.b*(c)") == "a\\.b\\*\\(c\\)"


AGREEMENT = [
    WALKTHROUGH,
    "service=kubelet",
    "service!=kubelet",
    "k8s.pod!=default/echo-command",
    "not k8s.pod=default/echo-command",
    "name=~sync.* not status=error",
    "status=error",
    "duration>100ms",
    "not duration>100ms",
    "kind=client service=kubelet",
    "http.status_code=200",
    "http.status_code!=200",
    "echo-command",
    "service=etcd or service=containerd",
    "not (service=etcd or name=~.*Container.*)",
]


@pytest.mark.parametrize("shorthand", AGREEMENT)
def test_the_translation_finds_what_the_shorthand_finds(kubespan_api, shorthand):
    store = kubespan_api.store
    local = set(store.search_traces(compile_query(shorthand)))
    sent = translate(compile_query(shorthand))
    answer = kubespan_api.get("/api/search", {"q": sent.traceql, "limit": 100000})
    assert answer[0] == 200, answer[2][:300]
    remote = {trace.trace_id for trace in search_traces(json.loads(answer[2]))}
    if "free text" in " ".join(sent.notes):
        assert remote <= local and remote  # free text searches fewer fields remotely
    else:
        assert remote == local


GOLDEN_LIST = "attach-shorthand"


@pytest.mark.parametrize("case", load_cases(GOLDEN_LIST), ids=lambda case: case.name)
def test_tempo_finds_what_the_shorthand_finds(case):
    """A real Tempo's answers (tests/golden/tempo/attach-shorthand, captured by scripts/tempo_golden.py)
    to the TraceQL attach sends for each shorthand, against the shorthand evaluated locally."""
    shorthand = case.note.removeprefix("shorthand: ")
    sent = translate(compile_query(shorthand))
    assert dict(case.params)["q"] == sent.traceql, "the translation changed: capture the golden list again"
    golden = load_golden(GOLDEN_LIST, case.name)
    assert golden["status"] == 200, golden
    tempo = {trace.trace_id for trace in search_traces(golden["json"])}
    store = _golden_store(load_capture(GOLDEN_LIST).shift_ns)
    local = set(store.search_traces(compile_query(shorthand)))
    if "free text" in " ".join(sent.notes):
        assert tempo <= local and tempo
    else:
        assert tempo == local


@functools.lru_cache(maxsize=1)
def _golden_store(shift_ns: int):
    return fixture_store(shift_ns)
