"""The pipeline between receivers and outputs, shaped like the Collector's.

receivers → `Pipeline.export_traces` (decode at the edge) → processors (sampling,
dropping) → every `TracesConsumer` (store, writers, forwarders).

A consumer that cannot take more raises `Backpressure`; the pipeline asks every
consumer first (`has_room(spans, request_bytes)`), so a refused request reaches none of them and the
client's retry delivers it exactly once.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from kubespan.model import AttributeTable, Rejections, TraceBatch
from kubespan.otlp.attributes import new_attribute_table
from kubespan.otlp.decode import check_request, decode_request, refuse_message_bomb
from kubespan.otlp.slices import SLICE_BYTES, Slice, request_slices, slice_request
from kubespan.otlp.wire import count_messages
from kubespan.stats import Counters

PIPELINE_COUNTERS = (
    "received_requests", "received_spans", "rejected_spans", "refused_requests", "refused_spans",
    "invalid_requests", "received_logs_requests", "received_logs", "received_metrics_requests", "received_metrics",
)
"""Counted by the pipeline, reported from the first stats line on."""


class Backpressure(Exception):
    """A consumer is full: the client should retry (gRPC UNAVAILABLE, HTTP 503)."""


class PermanentError(Exception):
    """A consumer failed for good (gRPC INTERNAL, HTTP 500)."""


@runtime_checkable
class TracesConsumer(Protocol):
    """Anything that takes accepted batches: the store, writers, forwarders."""

    def consume_traces(self, batch: TraceBatch) -> None: ...


class Processor(Protocol):
    """Transforms a batch before the consumers see it; returns None to drop it all."""

    def process(self, batch: TraceBatch) -> TraceBatch | None: ...


@dataclass(slots=True)
class ExportResult:
    """What a receiver answers: the partial-success part of the response."""

    rejected_spans: int = 0
    error_message: str = ""


class Pipeline:
    """Decode, process and fan out trace batches; count everything on the way."""

    def __init__(
        self,
        table: AttributeTable | None = None,
        processors: list[Processor] | None = None,
        consumers: list[TracesConsumer] | None = None,
        counters: Counters | None = None,
    ) -> None:
        self.table = table or new_attribute_table()
        self.processors = list(processors or [])
        self.consumers = list(consumers or [])
        self.counters = counters or Counters()
        self.counters.declare(*PIPELINE_COUNTERS)
        self._lock = threading.Lock()
        self.slice_bytes = SLICE_BYTES
        """Larger requests are decoded in slices of about this many bytes (kubespan.otlp.slices)."""
        self.decode: Callable[[bytes], tuple[TraceBatch, Rejections]] = self.decode_here
        """Turns request bytes into a batch; a decode pool replaces it to decode on other cores."""

    def use_decoder(self, decode: Callable[[bytes], tuple[TraceBatch, Rejections]] | None) -> None:
        """Decode with `decode` from now on; None decodes in this process again."""
        self.decode = decode or self.decode_here

    def add_processor(self, processor: Processor) -> None:
        """Run `processor` after those already added, before every consumer."""
        with self._lock:
            self.processors.append(processor)

    def remove_processor(self, processor: Processor) -> None:
        with self._lock:
            if processor in self.processors:
                self.processors.remove(processor)

    def add_consumer(self, consumer: TracesConsumer) -> None:
        with self._lock:
            self.consumers.append(consumer)

    def remove_consumer(self, consumer: TracesConsumer) -> None:
        """Take `consumer` out (a component shutting down); a missing one is ignored."""
        with self._lock:
            if consumer in self.consumers:
                self.consumers.remove(consumer)

    def export_traces(self, raw: bytes) -> ExportResult:
        """Handle one protobuf `ExportTraceServiceRequest` (raises `UndecodableRequest`)."""
        if len(raw) > self.slice_bytes:
            refuse_message_bomb(raw)
            cuts = request_slices(raw, self.slice_bytes)
            if cuts is not None:
                return self._export_slices(raw, cuts)
        batch, rejections = self.decode(raw)
        if batch.span_count:
            self.consume(batch)  # a refusal (Backpressure) is retried: count rejections once, when accepted
        self._count_rejections(rejections)
        return ExportResult(rejections.count, rejections.message)

    def _export_slices(self, raw: bytes, cuts: list[Slice]) -> ExportResult:
        """A large request decoded a slice at a time (kubespan.otlp.slices), so its decoding holds
        little memory; checked whole first, it is refused whole or taken whole."""
        for cut in cuts:
            check_request(slice_request(raw, cut), self.table)
        spans = count_messages(raw, len(raw))[1]
        with self._lock:
            self._refuse_if_full(spans, len(raw))
            self.counters.add("received_requests", 1)
        rejections = Rejections()
        for cut in cuts:
            batch, found = self.decode(slice_request(raw, cut))
            rejections.extend(found)
            if batch.span_count:
                self.consume(batch, room_checked=True)
        self._count_rejections(rejections)
        return ExportResult(rejections.count, rejections.message)

    def decode_here(self, raw: bytes) -> tuple[TraceBatch, Rejections]:
        return decode_request(raw, self.table)

    def consume(self, batch: TraceBatch, *, room_checked: bool = False) -> None:
        """Run processors and hand the batch to every consumer, or refuse it whole.

        `room_checked`: a slice of a request whose room was asked for and which was counted as a whole."""
        with self._lock:
            batch = self.table.rebase(batch)  # decoded before the store compacted the table: ids moved
            if not room_checked:
                self._refuse_if_full(batch.span_count, batch.held_bytes())
                self.counters.add("received_requests", 1)
            self.counters.add("received_spans", batch.span_count)
            for processor in self.processors:
                kept = processor.process(batch)
                if kept is None or not kept.span_count:
                    return
                batch = kept
            for consumer in self.consumers:
                consumer.consume_traces(batch)

    def count_other_signal(self, signal: str, items: int) -> None:
        """Logs and metrics are accepted and counted, never stored."""
        self.counters.add(f"received_{signal}_requests", 1)
        self.counters.add(f"received_{signal}", items)

    def count_invalid_request(self) -> None:
        self.counters.add("invalid_requests", 1)

    def _count_rejections(self, rejections: Rejections) -> None:
        if rejections.count:
            self.counters.add("rejected_spans", rejections.count)

    def _refuse_if_full(self, spans: int, size: int) -> None:
        for consumer in self.consumers:
            has_room = getattr(consumer, "has_room", None)
            if has_room is not None and not has_room(spans, size):
                self.counters.add("refused_requests", 1)
                self.counters.add("refused_spans", spans)
                raise Backpressure(f"{type(consumer).__name__} is full, retry later")
