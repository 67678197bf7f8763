"""On-call readiness rules (§4.2), pure: the coming cycle, the gaps in a schedule, what to tell.

A schedule's timeline is its rotations, each a list of periods with the person on call (or
nobody). A gap is a stretch of the cycle when no rotation has anybody on call; an empty
rotation is one with nobody on call at any moment of the cycle, even if another rotation
covers it. Stretches shorter than a minute are not gaps: people read times to the minute.

Deterministic and free of I/O: the readiness workflow and ``vigie oncall check`` call the
same functions.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

from pydantic import BaseModel, Field

from workflows.oncall_policy import WEEKDAY_NUMBERS, Readiness

MIN_GAP = timedelta(minutes=1)
CHECK_EVERY = timedelta(days=1)
CYCLE_LENGTH_DAYS = 7


class Period(BaseModel):
    start: datetime
    end: datetime
    who: str | None = Field(default=None, description="Who is on call; None: nobody")


class Rotation(BaseModel):
    name: str
    periods: list[Period] = []


class Timeline(BaseModel):
    """A schedule's final timeline (overrides and forwardings applied) over some window."""

    schedule: str
    rotations: list[Rotation] = []


class Gap(BaseModel):
    schedule: str
    start: datetime
    end: datetime


# What to check when a schedule refused to be read: the API credentials, its name, the entry.
Advice = Literal["credentials", "name", "schedule", "no_api"]
ADVICE: tuple[Advice, ...] = ("credentials", "name", "schedule", "no_api")


class ScheduleReport(BaseModel):
    """What one schedule looks like for the cycle, or why it could not be read."""

    schedule: str
    gaps: list[Gap] = []
    empty_rotations: list[str] = []
    error: str | None = Field(default=None, description="Why the timeline could not be read")
    advice: Advice | None = Field(
        default=None, description="What to check when the schedule refused to be read"
    )

    @property
    def covered(self) -> bool:
        return self.error is None and not self.gaps and not self.empty_rotations


class Cycle(BaseModel):
    start: datetime
    end: datetime
    due: datetime = Field(description="When its rotations must be complete")


def cycle_starting(day_start: datetime, readiness: Readiness) -> Cycle:
    """The cycle that starts at ``day_start`` (a zoned local start time). Instants are kept
    in UTC: Python subtracts two times of one zone as wall-clock times."""
    zone = day_start.tzinfo
    end_day = day_start.date() + timedelta(days=CYCLE_LENGTH_DAYS)
    end = datetime.combine(end_day, readiness.start_time, tzinfo=zone).astimezone(UTC)
    start = day_start.astimezone(UTC)
    return Cycle(start=start, end=end, due=start - readiness.lead)


def next_cycle(now: datetime, readiness: Readiness, timezone: str) -> Cycle:
    """The first cycle that starts strictly after ``now``; local times of the business time
    zone, so a cycle across a daylight-saving change lasts 167 or 169 hours."""
    zone = ZoneInfo(timezone)
    local = now.astimezone(zone)
    ahead = (WEEKDAY_NUMBERS[readiness.cycle_day] - local.weekday()) % CYCLE_LENGTH_DAYS
    start = datetime.combine(local.date() + timedelta(days=ahead), readiness.start_time, zone)
    if start <= now:
        start = datetime.combine(
            start.date() + timedelta(days=CYCLE_LENGTH_DAYS), readiness.start_time, zone
        )
    return cycle_starting(start, readiness)


def _staffed(rotation: Rotation, start: datetime, end: datetime) -> list[tuple[datetime, datetime]]:
    """The rotation's periods with somebody on call, clipped to [start, end)."""
    found = []
    for period in rotation.periods:
        if period.who is None:
            continue
        lo = max(period.start.astimezone(UTC), start.astimezone(UTC))
        hi = min(period.end.astimezone(UTC), end.astimezone(UTC))
        if lo < hi:
            found.append((lo, hi))
    return found


def find_gaps(timeline: Timeline, start: datetime, end: datetime) -> list[Gap]:
    """Every stretch of [start, end) of at least a minute when nobody is on call."""
    spans = sorted(s for rotation in timeline.rotations for s in _staffed(rotation, start, end))
    gaps: list[Gap] = []
    cursor, end = start.astimezone(UTC), end.astimezone(UTC)
    for lo, hi in spans:
        if lo - cursor >= MIN_GAP:
            gaps.append(Gap(schedule=timeline.schedule, start=cursor, end=lo))
        cursor = max(cursor, hi)
    if end - cursor >= MIN_GAP:
        gaps.append(Gap(schedule=timeline.schedule, start=cursor, end=end))
    return gaps


def empty_rotations(timeline: Timeline, start: datetime, end: datetime) -> list[str]:
    """Rotations with nobody on call at any moment of [start, end)."""
    return [r.name for r in timeline.rotations if not _staffed(r, start, end)]


def schedule_report(timeline: Timeline, cycle: Cycle) -> ScheduleReport:
    return ScheduleReport(
        schedule=timeline.schedule,
        gaps=find_gaps(timeline, cycle.start, cycle.end),
        empty_rotations=empty_rotations(timeline, cycle.start, cycle.end),
    )


def next_check(last: datetime, cycle: Cycle) -> datetime | None:
    """A day after the last check while the cycle has not started; a last check when it
    starts; then none (the next cycle has its own watch)."""
    if last >= cycle.start:
        return None
    return min(last + CHECK_EVERY, cycle.start)


Verdict = Literal["gaps", "complete"]


def verdict(reports: list[ScheduleReport]) -> Verdict:
    """``complete`` only when every schedule was read and covers the whole cycle."""
    return "complete" if all(r.covered for r in reports) else "gaps"


def to_tell(found: Verdict, told: Verdict | None) -> Verdict | None:
    """What to mail after a check: the gaps every time there are some (once a day), and
    ``complete`` once, the first time the cycle is found complete."""
    if found == "gaps":
        return "gaps"
    return None if told == "complete" else "complete"
