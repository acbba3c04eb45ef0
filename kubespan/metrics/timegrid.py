"""Tempo's time grid for metrics: the default step, the alignment of start and end, and which
interval a span falls in (`pkg/traceql/engine_metrics.go`: DefaultQueryRangeStep, AlignRequest,
IntervalMapperQueryRange, IntervalMapperInstant).

A range query's sample at time T counts the spans that *started* in (T - step, T]. The request
is widened to whole steps, plus one step before the start, so a refresh of "the last hour" gives
the same buckets. An instant query has one interval, (start, end], stamped at its end.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

SECOND = 1_000_000_000
MINUTE = 60 * SECOND
_GRANULARITIES = (3600 * SECOND, 5 * MINUTE, MINUTE, 15 * SECOND, 5 * SECOND, SECOND)


def default_step(start_ns: int, end_ns: int) -> int:
    """About 240 points over the window, rounded down to a whole 1h, 5m, 1m, 15s, 5s or 1s (50ms below 1m)."""
    delta = end_ns - start_ns
    baseline = delta // 240
    if delta < MINUTE:
        grain = 50_000_000
        return baseline // grain * grain if baseline > grain else grain
    for grain in _GRANULARITIES:
        if baseline > grain:
            return baseline // grain * grain
    return SECOND


@dataclass(frozen=True, slots=True)
class TimeGrid:
    """The intervals of one metrics evaluation (unix ns): `intervals` of `step` after `start`."""

    start: int
    end: int
    step: int
    instant: bool = False

    @classmethod
    def for_range(cls, start_ns: int, end_ns: int, step_ns: int) -> TimeGrid:
        """Tempo's AlignRequest: start down to a step (then one step earlier), end up to a step."""
        start = start_ns - start_ns % step_ns
        end = end_ns if end_ns % step_ns == 0 else end_ns + step_ns - end_ns % step_ns
        if start > step_ns:
            start -= step_ns
        return cls(start, end, step_ns)

    @classmethod
    def for_instant(cls, start_ns: int, end_ns: int) -> TimeGrid:
        return cls(start_ns, end_ns, end_ns - start_ns, instant=True)

    def clamp_end(self, limit_ns: int) -> TimeGrid:
        """Tempo's clampQueryEnd: an end past `limit_ns` becomes `limit_ns`, rounded down to a step."""
        if self.instant or self.end <= limit_ns:
            return self
        end = limit_ns - limit_ns % self.step
        return TimeGrid(self.start, max(end, self.start), self.step)

    @property
    def intervals(self) -> int:
        if self.instant:
            return 1
        return max(0, (self.end - self.start) // self.step)

    @property
    def step_seconds(self) -> float:
        return self.step / SECOND

    def interval_of(self, start_ns: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
        """The interval of each span start, -1 outside (start, end]."""
        inside = (start_ns > self.start) & (start_ns <= self.end)
        if self.instant:
            return np.where(inside, 0, -1).astype(np.int64)
        index = (start_ns - self.start - 1) // self.step
        return np.where(inside, index, -1).astype(np.int64)

    def timestamps_ms(self) -> list[int]:
        """The time of each sample in unix milliseconds: an interval's end."""
        if self.instant:
            return [self.end // 1_000_000]
        return [(self.start + (i + 1) * self.step) // 1_000_000 for i in range(self.intervals)]
