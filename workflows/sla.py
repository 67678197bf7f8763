"""Deadline arithmetic: acknowledgement and resolution, with pauses.

The resolution clock runs from T0 and stops while the incident waits
(pending) or is resolved; ``stops`` lists those intervals. Everything here is
a pure function of its arguments.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from pydantic import BaseModel, ConfigDict

from workflows.calendar import Clock, clock_named
from workflows.policy import Policy, Priority, ServiceLevel

RESOLVED_STOP = "resolved"
"""The reason of the stop that a resolution opens (closed again by a reopening)."""


class Stop(BaseModel):
    """An interval during which the resolution clock is stopped; ``end`` is None while open."""

    start: datetime
    end: datetime | None = None
    reason: str


def running_intervals(t0: datetime, stops: list[Stop]) -> list[tuple[datetime, datetime | None]]:
    """The intervals during which the clock runs, the last one open-ended if running."""
    intervals: list[tuple[datetime, datetime | None]] = []
    cursor: datetime | None = t0
    for stop in sorted(stops, key=lambda s: s.start):
        if cursor is None:
            break
        if stop.start > cursor:
            intervals.append((cursor, stop.start))
        cursor = None if stop.end is None else max(cursor, stop.end)
    if cursor is not None:
        intervals.append((cursor, None))
    return intervals


def due_at(clock: Clock, t0: datetime, stops: list[Stop], allowance: timedelta) -> datetime | None:
    """When ``allowance`` of running clock time is used up; None while stopped short of it."""
    remaining = allowance
    for start, end in running_intervals(t0, stops):
        if end is None:
            return clock.add(start, remaining)
        spent = clock.elapsed(start, end)
        if spent >= remaining:
            return clock.add(start, remaining)
        remaining -= spent
    return None


def due_as_resolved(
    clock: Clock, t0: datetime, stops: list[Stop], allowance: timedelta
) -> datetime | None:
    """The resolution deadline as it stood when the incident was resolved: the stop its
    resolution opened left out (None still when it waits, pending, short of the allowance)."""
    kept = [x for x in stops if not (x.reason == RESOLVED_STOP and x.end is None)]
    return due_at(clock, t0, kept, allowance)


def consumed(clock: Clock, t0: datetime, stops: list[Stop], now: datetime) -> timedelta:
    """Running clock time used between T0 and ``now``."""
    total = timedelta(0)
    for start, end in running_intervals(t0, stops):
        if start >= now:
            break
        total += clock.elapsed(start, now if end is None else min(end, now))
    return total


class Deadlines(BaseModel):
    model_config = ConfigDict(frozen=True)  # shared by every caller of a DeadlineMemo

    ack_warning_at: datetime
    ack_due_at: datetime
    resolution_allowance: timedelta
    resolution_warning_at: datetime | None
    resolution_due_at: datetime | None


def compute_deadlines(
    policy: Policy,
    priority: Priority,
    level: ServiceLevel,
    t0: datetime,
    stops: list[Stop],
) -> Deadlines:
    """Every deadline of an incident, from its T0, class and stops."""
    clock_name = policy.clock_for(priority, level)
    clock = clock_named(clock_name, policy)
    business_day = policy.business_hours.day_length if clock_name == "business" else None
    ack = policy.ack_allowance(level).on_clock(business_day)
    allowance = policy.resolution_cell(priority, level).within.on_clock(business_day)
    return Deadlines(
        ack_warning_at=clock.add(t0, ack * policy.warning_ratio),
        ack_due_at=clock.add(t0, ack),
        resolution_allowance=allowance,
        resolution_warning_at=due_at(clock, t0, stops, allowance * policy.warning_ratio),
        resolution_due_at=due_at(clock, t0, stops, allowance),
    )


class DeadlineMemo:
    """``compute_deadlines`` that keeps its last answer while the arguments are unchanged.

    A workflow asks for its deadlines several times per task (to fire, to publish, to
    answer, to choose its next wake-up), and a business-hours clock costs tens of
    microseconds a call. The policy is compared by identity (it is frozen); the stops by
    their times, so a pause that ends is seen.
    """

    def __init__(self) -> None:
        self._policy: Policy | None = None
        self._key: tuple[object, ...] = ()
        self._deadlines: Deadlines | None = None

    def __call__(
        self,
        policy: Policy,
        priority: Priority,
        level: ServiceLevel,
        t0: datetime,
        stops: list[Stop],
    ) -> Deadlines:
        key = (priority, level, t0, tuple((stop.start, stop.end) for stop in stops))
        if self._deadlines is None or self._policy is not policy or self._key != key:
            self._deadlines = compute_deadlines(policy, priority, level, t0, stops)
            self._policy, self._key = policy, key
        return self._deadlines
