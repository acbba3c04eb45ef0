"""A consumer that records accepted batches, for receiver and pipeline tests."""

from __future__ import annotations

import threading

from kubespan.model import TraceBatch


class Recorder:
    """A consumer that keeps every batch and lets tests wait for a span count."""

    def __init__(self) -> None:
        self.batches: list[TraceBatch] = []
        self._changed = threading.Condition()

    def consume_traces(self, batch: TraceBatch) -> None:
        with self._changed:
            self.batches.append(batch)
            self._changed.notify_all()

    @property
    def span_count(self) -> int:
        return sum(batch.span_count for batch in self.batches)

    def wait_for_spans(self, count: int, timeout: float = 10.0) -> bool:
        with self._changed:
            return self._changed.wait_for(lambda: self.span_count >= count, timeout)

    def spans(self):
        """(resource_spans, scope_spans, span) official messages of everything received."""
        for batch in self.batches:
            for resource_spans in batch.request.resource_spans:
                for scope_spans in resource_spans.scope_spans:
                    for span in scope_spans.spans:
                        yield resource_spans, scope_spans, span
