"""Time arithmetic of the roll-ups and the latency histogram shared by ingest, queries and retention.

A range [since, until) is answered from the coarsest roll-up that fits whole periods and the finer
ones at its edges: whole days from the daily roll-up, the whole hours at either end from the hourly
one, and the minutes left at either end from the raw `genai_calls` rows. Sums are therefore exact
for any range; only their order of addition differs from a sum over the raw rows.

Latency percentiles come from a histogram with 16 buckets per doubling of the duration (each
bucket ~4.4% wide). The value reported for a percentile is the mean duration of the calls in the
bucket that holds it: exact when those calls share one duration, and never off by more than the
bucket's width otherwise.

The store's times are unix nanoseconds: `to_ns` turns a datetime (naive: UTC) into one, for the
store's queries and for those built on them (budgets.py), and `iso` turns one back for answers.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from otel_ai.serve.store import schema

__all__ = [
    "DAY_NS",
    "EPOCH",
    "HOUR_NS",
    "LATENCY",
    "MEASURES",
    "ROLLUPS",
    "SECOND_NS",
    "Segment",
    "as_utc",
    "duration_bucket",
    "floor_to",
    "iso",
    "percentiles",
    "plan",
    "to_ns",
]

SECOND_NS = 1_000_000_000
HOUR_NS = 3_600_000_000_000
DAY_NS = 24 * HOUR_NS
EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
ROLLUPS = {DAY_NS: schema.genai_rollup_day, HOUR_NS: schema.genai_rollup_hour}  # the roll-up of each step
LATENCY = {DAY_NS: schema.genai_latency_day, HOUR_NS: schema.genai_latency_hour}  # its latency histogram
MEASURES = ("calls", "input_tokens", "output_tokens", "characters", "cost_usd", "duration_ns")  # summed
BUCKETS_PER_DOUBLING = 16
_BUCKET_FLOOR_NS = 1_000  # durations up to 1 µs share bucket 0
_MAX_BUCKET = 32_767


def duration_bucket(duration_ns: int) -> int:
    if duration_ns <= _BUCKET_FLOOR_NS:
        return 0
    return min(_MAX_BUCKET, int(BUCKETS_PER_DOUBLING * math.log2(duration_ns / _BUCKET_FLOOR_NS)))


def to_ns(moment: datetime | None) -> int | None:
    """Unix nanoseconds of `moment` (naive: UTC); None stays None (an open end of a range)."""
    if moment is None:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return (moment - EPOCH) // timedelta(microseconds=1) * 1000


def iso(ns: int) -> str:
    """ISO 8601 (UTC) of unix nanoseconds, as the store's answers give times."""
    return (EPOCH + timedelta(microseconds=ns // 1000)).isoformat()


def _utcnow() -> datetime:
    return datetime.now(timezone.utc)


def as_utc(moment: datetime | None) -> datetime:
    """`moment` in UTC (naive: UTC already); None: now."""
    if moment is None:
        return _utcnow()
    return moment.replace(tzinfo=timezone.utc) if moment.tzinfo is None else moment.astimezone(timezone.utc)


def floor_to(ns: int, step: int) -> int:
    return ns - ns % step


def _ceil_to(ns: int, step: int) -> int:
    return -floor_to(-ns, step)


@dataclass(frozen=True)
class Segment:
    """A part of a range answered by one source: `step` is DAY_NS, HOUR_NS or 0 (raw rows)."""

    step: int
    lo: int | None  # ns, inclusive; None: unbounded
    hi: int | None  # ns, exclusive; None: unbounded


def plan(lo: int | None, hi: int | None, steps: tuple[int, ...] = (DAY_NS, HOUR_NS)) -> list[Segment]:
    """Cover [lo, hi) with whole periods of the coarsest step first, finer steps and raw rows at the edges."""
    if lo is not None and hi is not None and lo >= hi:
        return []
    if not steps:
        return [Segment(0, lo, hi)]
    step = steps[0]
    a = None if lo is None else _ceil_to(lo, step)
    b = None if hi is None else floor_to(hi, step)
    if a is not None and b is not None and a >= b:
        return plan(lo, hi, steps[1:])
    segments = [Segment(step, a, b)]
    if lo is not None and a is not None and a != lo:
        segments += plan(lo, a, steps[1:])
    if hi is not None and b is not None and b != hi:
        segments += plan(b, hi, steps[1:])
    return segments


def percentiles(histogram: Iterable[tuple[int, int, int]], quantiles: Iterable[float]) -> list[float | None]:
    """Nearest-rank percentiles (ms) from (bucket, calls, duration_ns sum) rows; None when empty."""
    rows = sorted((int(b), int(n), int(s)) for b, n, s in histogram if int(n) > 0)
    total = sum(n for _, n, _ in rows)
    answers: list[float | None] = []
    for q in quantiles:
        if total == 0:
            answers.append(None)
            continue
        rank = max(1, math.ceil(q * total))
        seen = 0
        for _, calls, duration_sum in rows:
            seen += calls
            if seen >= rank:
                answers.append(duration_sum / calls / 1e6)
                break
    return answers
