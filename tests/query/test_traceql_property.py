"""Property test: the store's indexed evaluator and the naive one agree on generated TraceQL queries
that use every construct (arithmetic, fields against fields, every scope and intrinsic the spans
carry, nil tests, all seventeen spanset operators, pipelines with aggregates, by, select, coalesce)."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kubespan.otlp.attributes import new_attribute_table
from kubespan.query import compile_query
from kubespan.query.nodes import SPANSET_OPS
from kubespan.store import SpanStore
from tests.support.spanfactory import S, batch

VALUES = st.one_of(st.integers(-3, 3), st.sampled_from([1.5, 0.5, -2.0, 0.0, -0.0]),
                   st.sampled_from(["x", "xy", "1", ""]), st.booleans(),
                   st.lists(st.sampled_from(["x", "y"]), min_size=0, max_size=3),
                   st.sampled_from([2**62, -(2**63), 2**63 - 1, 1e308]))


@st.composite
def span_lists(draw) -> list[S]:
    spans = []
    for n in range(draw(st.integers(1, 14))):
        trace = draw(st.integers(1, 3))
        parent = draw(st.sampled_from([0] + [s.span for s in spans if s.trace == trace] + [99]))
        attrs = {k: draw(VALUES) for k in draw(st.lists(st.sampled_from(["a", "b", "flag"]), max_size=3))}
        spans.append(S(trace, n + 1, parent, name=draw(st.sampled_from(["op1", "op2", "Op3"])),
                       service=draw(st.sampled_from(["svc1", "svc2"])), kind=draw(st.integers(0, 5)),
                       status=draw(st.integers(0, 2)), start=draw(st.integers(0, 5000)),
                       duration=draw(st.integers(0, 5000)), attrs=attrs,
                       resource=draw(st.sampled_from([{}, {"a": "x"}, {"r": 1}])),
                       events=tuple(draw(st.lists(st.sampled_from(["e1", "e2"]), max_size=2)))))
    return spans


CONDITIONS = st.sampled_from([
    ".a = 1", ".a = 1.5", '.a = "x"', '.a != "x"', ".a > 0", '.a =~ "x.*"', '.a !~ "x"', ".a = nil", ".a != nil",
    "span.a * 2 > 1", "span.a + 1 = 2", "-span.a < 0", "span.a > span.b", "span.a / 2 = 0", "span.a % 2 = 1",
    "span.a ^ 2 = 4", "duration > 1us", "duration * 2 > 3us", "duration > span.a", 'name = "op1"',
    'name =~ "(?i)op.*"', "kind = server", "kind != client", "status = error", "status != ok",
    "span:childCount > 0", 'trace:rootName = "op1"', 'trace:rootService = "svc1"', "trace:duration > 2us",
    'span:statusMessage = ""', 'event:name = "e1"', 'event:name != "e1"', "span:parentID != nil",
    'resource.r = 1', '.r = 1', 'instrumentation:name = ""', "true", "false", "span.flag", "!span.flag",
    'resource.service.name = "svc2"', "1 = 1", 'span:id != ""', "event:timeSinceStart >= 0ns",
    # arithmetic and fields against fields, answered over columns by the store
    "span.a / span.b > 0", "span.a % span.b = 0", "span.a - span.b != 0", "span.a = span.b", 'span.a < "xy"',
    "name != span.a", "span.a * 1.5 >= 1", "(span.a + 1) * 2 = 4", "-span.a = 1", "span.a ^ span.b = 1",
    "span.a * span.b < 0", "resource.r + span.a > 0", "duration - trace:duration < 0ns", "(span.a > 0) = true",
    "span.a * 2 > 1 || duration > 3us", ".a + .b >= .r", "span.a / 0.0 < 0", "span.a ^ 0.5 > 1", "span.a % 1.5 = 0.5",
    'trace:rootName = name', "-duration < -1us", "span.a * 1e300 > 1", "kind = span.a", "(span.a > 0) != (span.b > 0)",
])
STAGES = st.sampled_from([
    "count() > 1", "by(kind)", "by(span.a) | count() = 1", "avg(duration) > 1us", "select(span.a, name)",
    "by(kind) | coalesce()", "max(span.a) > 0", "sum(duration) > 1us", "min(span.a) < 5", "{ kind = server }",
    "avg(span.a) >= 0", "by(resource.service.name) | count() > 1", "by(span.a)", "by(span.a * 2) | count() > 1",
    "by(name) | max(span.b) > 0", "sum(span.a) >= 0", "avg(span.b) != 0", "min(span.a * 1.5) < 1", "by(.a)",
    "by(kind) | max(span.a) = 1", "max(span.a) = 1 | by(span.b)", "{ span.a > 0 } && { kind = server }",
    "{ span.a > 0 } || { span.b > 0 }", "avg(duration) > 1us | coalesce()",
])


@st.composite
def queries(draw) -> str:
    def filter_() -> str:
        conds = draw(st.lists(CONDITIONS, min_size=1, max_size=3))
        text = conds[0]
        for cond in conds[1:]:
            text = draw(st.sampled_from(["({}) && ({})", "({}) || ({})", "({}) && !({})"])).format(text, cond)
        return "{ " + text + " }"

    if draw(st.integers(0, 9)) == 0:  # a pipeline that starts with a stage
        return draw(STAGES) + " | " + draw(STAGES)
    text = filter_()
    for _ in range(draw(st.integers(0, 2))):
        text += f" {draw(st.sampled_from(SPANSET_OPS))} " + filter_()
    for _ in range(draw(st.integers(0, 2))):
        text += " | " + draw(STAGES)
    return text


def _spansets(found) -> list:
    """Spansets in their order, each its spans in order and its attributes (by() groups, aggregates)."""
    return [(list(ss.spans), [repr(a) for a in ss.attributes], ss.selected) for ss in found]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(span_lists(), queries(), st.integers(1, 3))
def test_indexed_and_naive_agree_on_every_construct(spans, text, chunks) -> None:
    table = new_attribute_table()
    full = batch(spans, table)
    store = SpanStore(table)
    size = max(1, len(spans) // chunks)
    for start in range(0, len(spans), size):
        store.consume_traces(batch(spans[start:start + size], table))
    query = compile_query(text)
    naive = [i for i, hit in enumerate(query.match_batch(full, table)) if hit]
    assert store.search(query).tolist() == naive, text
    if query.is_pipeline:
        assert _spansets(store.spansets(query)) == _spansets(query.spansets_batch(full, table)), text


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(span_lists(), queries(), st.integers(1, 8))
def test_indexed_and_naive_agree_after_eviction(spans, text, keep) -> None:
    """The store keeps its last `keep` spans (older ones evicted, so its live spans start past ordinal 0):
    its answers are the naive evaluator's over the spans still stored (spansets compared trace by
    trace: after eviction the store lists traces in arrival order, the naive one by first stored span)."""
    table = new_attribute_table()
    store = SpanStore(table, max_spans=keep)
    for start in range(0, len(spans), 2):
        store.consume_traces(batch(spans[start:start + 2], table))
    live = store.search(None).tolist()
    if not live:
        return
    survivors = [spans[o] for o in live]
    survivors_table = new_attribute_table()
    stored = batch(survivors, survivors_table)
    query = compile_query(text)
    naive = [live[i] for i, hit in enumerate(query.match_batch(stored, survivors_table)) if hit]
    assert store.search(query).tolist() == naive, text
    if query.is_pipeline:
        position = {o: i for i, o in enumerate(live)}
        mine = [([position[o] for o in ss.spans], [repr(a) for a in ss.attributes]) for ss in store.spansets(query)]
        theirs = [(list(ss.spans), [repr(a) for a in ss.attributes])
                  for ss in query.spansets_batch(stored, survivors_table)]

        def by_trace(item: tuple) -> int:
            return survivors[item[0][0]].trace

        assert sorted(mine, key=by_trace) == sorted(theirs, key=by_trace), text
