"""The query language: both syntaxes, operators, precedence, coercion, errors with columns."""

from __future__ import annotations

import pytest

from kubespan.otlp.attributes import new_attribute_table
from kubespan.query import QuerySyntaxError, compile_query
from kubespan.query.ast import And, BareWord, Cond, Filter, Not, Or, SpansetOp
from kubespan.query.literals import parse_duration
from tests.support.spanfactory import S, batch

SPANS = [
    S(1, 1, name="syncPod", service="kubelet", attrs={"k8s.pod": "default/echo-command", "net.peer.port": 54678}),
    S(1, 2, parent=1, name="runtime.v1.ImageService/PullImage", service="kubelet", kind=3,
      attrs={"net.peer.port": "54678", "rpc.grpc.status_code": 0}),
    S(1, 3, parent=2, name="runtime.v1.ImageService/PullImage", service="containerd", kind=2, status=2,
      duration=1_500_000_000, attrs={"http.status_code": 500.0}),
    S(2, 4, name="GET /api", service="apiserver", kind=2, status=1, duration=250_000,
      attrs={"http.status_code": 200, "audit-id": "abc", "tags": ["x", "y"]}, resource={"host.name": "node-1"},
      events=("About to write a response",)),
]


def matches(text: str) -> list[int]:
    table = new_attribute_table()
    b = batch(SPANS, table)
    return [s.span for s, hit in zip(SPANS, compile_query(text).match_batch(b, table)) if hit]


@pytest.mark.parametrize("text, expected", [
    ("service=kubelet", [1, 2]),
    ("service=kubelet name=syncPod k8s.pod=default/echo-command", [1]),
    ("operation=syncPod", [1]),
    ("service!=kubelet", [3, 4]),
    ("name=~runtime.*", [2, 3]),
    ("name=~runtime", []),  # anchored
    ("name!~runtime.*", [1, 4]),
    ("kind=server", [3, 4]),
    ("kind=SPAN_KIND_CLIENT", [2]),
    ("status=error", [3]),
    ("status=ok", [4]),
    ("duration>1s", [3]),
    ("duration>=250us duration<1.5s", [4]),
    ("duration<=250us", [1, 2, 4]),
    ("net.peer.port=54678", [1, 2]),  # int and string
    ("net.peer.port>50000", [1, 2]),
    ("http.status_code=500", [3]),  # double 500.0
    ("http.status_code>=200 http.status_code<300", [4]),
    ("http.status_code>300", [3]),
    ("rpc.grpc.status_code=0", [2]),
    ("tags=y", [4]),
    ("host.name=node-1", [4]),
    ("resource.host.name=node-1", [4]),
    ("span.host.name=node-1", []),
    ("audit-id=abc", [4]),
    ('name="GET /api"', [4]),
    ("name='GET /api'", [4]),
    ("event=~About.*", [4]),
    ("pullimage", [2, 3]),
    ("ECHO", [1]),
    ('"to write"', [4]),
    ("node-1", [4]),
    ("trace=0000", [1, 2, 3, 4]),
    ("trace=00000000000000000000000000000002", [4]),
    ("span=0000000000000003", [3]),
    ("parent=0000000000000001", [2]),
    ('parent=""', [1, 4]),
    ("service=kubelet or service=apiserver", [1, 2, 4]),
    ("service=containerd or service=kubelet name=syncPod", [1, 3]),  # and binds tighter
    ("(service=containerd or service=kubelet) name=syncPod", [1]),
    ("not service=kubelet", [3, 4]),
    ("not (service=kubelet or kind=server)", []),
    ("service=kubelet and not name=syncPod", [2]),
    ("missing.key!=x", [1, 2, 3, 4]),
    ("", [1, 2, 3, 4]),
])
def test_shorthand(text, expected):
    assert matches(text) == expected


@pytest.mark.parametrize("text, expected", [
    ('{ resource.service.name = "kubelet" && name = "syncPod" && span.k8s.pod = "default/echo-command" }', [1]),
    ("{ .net.peer.port = 54678 }", [1]),  # strict typing
    ('{ .net.peer.port = "54678" }', [2]),
    ("{ span.net.peer.port = 54678 } || { span.net.peer.port = \"54678\" }", [1, 2]),
    ('{ span.rpc.grpc.status_code = "0" }', []),
    ("{ .http.status_code = 500 }", []),  # a double 500.0: Tempo compares an int literal with ints only
    ("{ .http.status_code = 500.0 }", [3]),
    ("{ .http.status_code >= 200 && .http.status_code < 300 }", [4]),
    ('{ .k8s.pod != "x" }', [1]),  # missing attribute is nil: != is false
    ("{ .k8s.pod = nil }", [1, 2, 3, 4]),  # span 1's resource lacks it: Tempo matches either scope
    ("{ .k8s.pod != nil }", [1]),
    ('{ name =~ "runtime.*" }', [2, 3]),
    ('{ name =~ `.*Pull.*` && kind = client }', [2]),
    ('{ name !~ "runtime.*" }', [1, 4]),
    ("{ kind = server || status = error }", [3, 4]),
    ("{ status = ok }", [4]),
    ("{ span:duration > 1s }", [3]),
    ("{ duration < 300us && duration >= 250000 }", [4]),
    ('{ .tags = "x" }', [4]),
    ('{ .tags != "z" }', [4]),
    ('{ .tags != "x" }', [4]),  # any element differs, as Tempo answers
    ('{ event:name = "About to write a response" }', [4]),
    ('{ resource.host.name = "node-1" }', [4]),
    ('{ !(.k8s.pod = nil) }', []),
    ('{ span.k8s.pod != nil }', [1]),
    ("{ true }", [1, 2, 3, 4]),
    ("{ }", [1, 2, 3, 4]),
    ("{ false || kind = client }", [2]),
    ("{ kind = server || kind = client && status = error }", [3]),  # Tempo: same level, left assoc
    ('{ name = "syncPod" } >> { resource.service.name = "containerd" }', [3]),
    ('{ name = "syncPod" } > { }', [2]),
    ('{ name = "syncPod" } > { resource.service.name = "containerd" }', []),
    ('{ resource.service.name = "containerd" } < { }', [2]),
    ('{ resource.service.name = "containerd" } << { }', [1, 2]),
    ('{ status = error } && { name = "syncPod" }', [1, 3]),
    ('{ status = error } && { name = "GET /api" }', []),
    ('{ status = error } || { status = ok }', [3, 4]),
    ('({ name = "syncPod" } > { }) > { }', [3]),
    ('{ span:id = "0000000000000004" }', [4]),
    ('{ trace:id = "1" && span:parentID != "0000000000000001" }', [3]),  # a root has no parent id: nil
    ('{ trace:id = "00000000000000000000000000000001" } | count() = 3', [1, 2, 3]),
])
def test_traceql(text, expected):
    assert matches(text) == expected


def test_structure_and_precedence():
    root = compile_query("a=1 b=2 or c=3").root
    assert isinstance(root, Filter) and isinstance(root.expr, Or) and isinstance(root.expr.left, And)
    assert isinstance(compile_query("not a=1 b").root.expr.left, Not)
    assert isinstance(compile_query("k!=v").root.expr, Not)
    assert isinstance(compile_query("hello").root.expr, BareWord)
    tql = compile_query("{ .a = 1 } && { } >> { }")
    assert tql.syntax == "traceql" and isinstance(tql.root, SpansetOp) and tql.root.op == "&&"
    assert tql.root.right.op == ">>"  # structural binds tighter
    cond = compile_query("{ 1 < .x }").root.expr
    assert isinstance(cond, Cond) and cond.op == ">" and cond.field.key == "x"


@pytest.mark.parametrize("text, nanos", [
    ("250us", 250_000), ("10ms", 10_000_000), ("1.5s", 1_500_000_000), ("2m", 120_000_000_000),
    ("1h30m", 5_400_000_000_000), ("500µs", 500_000), ("42", 42), ("1d", 86_400_000_000_000), ("3ns", 3),
])
def test_durations(text, nanos):
    assert parse_duration(text) == nanos


@pytest.mark.parametrize("text, message, column", [
    ("duration>abc", "invalid duration", 10),
    ("kind=sever", "invalid kind", 6),
    ("status=bad", "invalid status", 8),
    ('name="GET /api', "unterminated", 6),
    ("(service=a", "missing ')'", 11),
    ("service=a )", "unexpected", 11),
    ("=x", "missing key", 1),
    ("name=~(a", "invalid regex", 7),
    ("trace=xyz", "invalid trace", 7),
    ("{ name = }", "expecting a field or a value", 10),
    ("{ .a = 1", "expecting '}'", 9),
    ("{ foo = 1 }", "unknown identifier", 3),
    ('{ .a = "x }', "string literal not terminated", 8),
    ("{ .a = 1 } | count()", "expecting a comparison", 21),
    ('{ name =~ "(" }', "invalid regex", 12),
    ("{ 1 = name }", "must operate on the same type", 5),
    ("{ status > ok }", "illegal operation for the given types", 10),
    ("{ .a } | by(1)", "must reference the span", 10),
    ("{ parent.x = 1 }", "parent. attributes are not supported", 3),
    ("{ trace:rootName = 1 }", "must operate on the same type", 18),
    ("{ span:parentID = nil }", "intrinsics cannot be nil", 3),
    ("{ .a = 1 } x", "unexpected", 12),
    ("{ .a $ 1 }", "unexpected character", 6),
])
def test_syntax_errors(text, message, column):
    with pytest.raises(QuerySyntaxError) as info:
        compile_query(text)
    assert message in info.value.message
    assert info.value.column == column
    assert f"(column {column})" in str(info.value)
    assert info.value.caret(text).splitlines()[1] == " " * (column - 1) + "^"


@pytest.mark.parametrize("text, syntax", [
    ("{ }", "traceql"), ("  ( { .a = 1 } > { })", "traceql"), ('(name="{x}")', "shorthand"), ("a=1", "shorthand"),
    ("", "shorthand"),
])
def test_syntax_detection(text, syntax):
    assert compile_query(text).syntax == syntax


@pytest.mark.parametrize("text, same_as", [
    ("name==syncPod", "name=syncPod"),
    ("k8s.pod==default/echo-command", "k8s.pod=default/echo-command"),
    ('"k8s.pod"=default/echo-command', "k8s.pod=default/echo-command"),
    ('"my key"!=v', "not my\\ key=v"),
])
def test_double_equals_and_quoted_keys(text, same_as):
    if "\\" in same_as:  # no unquoted spelling of a key with a space: compare the tree
        cond = compile_query(text).root.expr
        assert isinstance(cond, Not) and cond.inner.field.key == "my key" and cond.inner.literal.value == "v"
        return
    assert compile_query(text).root == compile_query(same_as).root


def test_quoted_word_without_operator_stays_a_bare_word():
    assert compile_query('"my key" x').root.expr == And(BareWord("my key"), BareWord("x"))
