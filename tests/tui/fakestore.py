"""A minimal SpanStore following the store contract, until kubespan.store lands."""

from __future__ import annotations

import threading
from dataclasses import dataclass

import numpy as np
from opentelemetry.proto.common.v1.common_pb2 import InstrumentationScope
from opentelemetry.proto.resource.v1.resource_pb2 import Resource
from opentelemetry.proto.trace.v1.trace_pb2 import Span


@dataclass(frozen=True)
class SpanRow:
    ordinal: int
    trace_id: bytes
    span_id: bytes
    parent_id: bytes
    name: str
    service: str
    kind: int
    status: int
    start: int
    end: int
    duration: int
    attributes: tuple
    resource_attributes: tuple


@dataclass(frozen=True)
class SpanDetail:
    ordinal: int
    span: Span
    resource: Resource
    scope: InstrumentationScope
    resource_schema_url: str
    scope_schema_url: str
    service: str


@dataclass(frozen=True)
class TraceSummary:
    trace_id: bytes
    root_service: str
    root_name: str
    start: int
    end: int
    duration: int
    span_count: int
    error_count: int
    services: tuple
    root: int | None


class QuerySyntaxError(ValueError):
    def __init__(self, message: str, column: int) -> None:
        super().__init__(message)
        self.message = message
        self.column = column


class FakeQuery:
    def __init__(self, text: str) -> None:
        self.terms = []
        for word in text.split():
            key, eq, value = word.partition("=")
            self.terms.append((key, value.strip('"')) if eq else (None, word.strip('"').lower()))

    def matches(self, row: SpanRow) -> bool:
        for key, value in self.terms:
            if key == "status":
                if row.status != 2:
                    return False
            elif key is not None:
                attrs = dict(row.attributes + row.resource_attributes)
                if str(attrs.get(key)) != value:
                    return False
            else:
                haystack = " ".join([row.name, row.service] + [f"{k}={v}" for k, v in row.attributes]).lower()
                if value not in haystack:
                    return False
        return True


def compile_query(text: str) -> FakeQuery:
    if text.count("{") != text.count("}"):
        raise QuerySyntaxError("unbalanced braces", text.find("{") + 1)
    return FakeQuery(text)


class FakeStore:
    def __init__(self, table) -> None:
        self.table = table
        self.rows: list[SpanRow] = []
        self.details: list[SpanDetail] = []
        self.version = 0
        self.lock = threading.Lock()
        self.by_trace: dict[bytes, list[int]] = {}

    def __len__(self) -> int:
        return len(self.rows)

    def consume_traces(self, batch) -> None:
        from kubespan.otlp.attributes import any_value_to_python

        with self.lock:
            spans = batch.spans
            for i in range(len(spans)):
                scope = batch.scopes[spans.scope[i]]
                resource_info = batch.resources[scope.resource]
                resource = Resource.FromString(resource_info.raw)
                attrs = tuple((self.table.attributes[a].key, self.table.attributes[a].value) for a in spans.attribute_ids[i])
                rattrs = tuple((kv.key, any_value_to_python(kv.value)[0]) for kv in resource.attributes)
                ordinal = len(self.rows)
                row = SpanRow(ordinal, spans.trace_id[i], spans.span_id[i], spans.parent_id[i], spans.name[i],
                              resource_info.service, spans.kind[i], spans.status[i], spans.start[i], spans.end[i],
                              spans.end[i] - spans.start[i], attrs, rattrs)
                self.rows.append(row)
                self.details.append(SpanDetail(ordinal, Span.FromString(spans.raw[i]), resource,
                                               InstrumentationScope.FromString(scope.raw), resource_info.schema_url,
                                               scope.schema_url, resource_info.service))
                self.by_trace.setdefault(row.trace_id, []).append(ordinal)
            self.version += 1

    def search(self, query=None):
        rows = self.rows if query is None else [r for r in self.rows if query.matches(r)]
        return np.array([r.ordinal for r in rows], dtype=np.int64)

    def search_traces(self, query=None):
        seen = {}
        for ordinal in self.search(query):
            seen[self.rows[ordinal].trace_id] = min(self.rows[o].start for o in self.by_trace[self.rows[ordinal].trace_id])
        return sorted(seen, key=lambda t: -seen[t])

    def span_row(self, ordinal):
        return self.rows[ordinal] if 0 <= ordinal < len(self.rows) else None

    def span_rows(self, ordinals):
        return [self.rows[int(o)] for o in ordinals]

    def span_detail(self, ordinal):
        return self.details[ordinal] if 0 <= ordinal < len(self.details) else None

    def trace_ordinals(self, trace_id):
        return sorted(self.by_trace.get(trace_id, []), key=lambda o: self.rows[o].start)

    def trace_summary(self, trace_id):
        ordinals = self.by_trace.get(trace_id)
        if not ordinals:
            return None
        rows = [self.rows[o] for o in ordinals]
        ids = {r.span_id for r in rows}
        roots = [r for r in rows if not r.parent_id or r.parent_id not in ids]
        root = min(roots or rows, key=lambda r: (bool(r.parent_id), r.start))
        start = min(r.start for r in rows)
        end = max(r.end for r in rows)
        services = tuple(dict.fromkeys(r.service for r in rows))
        return TraceSummary(trace_id, root.service, root.name if not root.parent_id else "", start, end, end - start,
                            len(rows), sum(r.status == 2 for r in rows), services, root.ordinal)

    def trace_summaries(self, trace_ids):
        return [s for s in map(self.trace_summary, trace_ids) if s is not None]

    def attribute_values(self, key, limit=1000):
        counts = {}
        for row in self.rows:
            for k, v in row.attributes + row.resource_attributes:
                if k == key:
                    counts[str(v)] = counts.get(str(v), 0) + 1
        return sorted(counts.items(), key=lambda kv: -kv[1])[:limit]

    def stats(self):
        return {"stored_spans": len(self.rows)}
