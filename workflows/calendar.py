"""Clocks that deadlines count in: around the clock, or business hours only.

Public holidays come from the policy (resolved to dates when it is loaded).

Pure and deterministic: the same inputs always give the same answer, so the
workflow can call these directly.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Protocol
from zoneinfo import ZoneInfo

from workflows.policy import BusinessHours, ClockName, Policy

# A business clock never looks further than this for the next open window.
_MAX_SEARCH_DAYS = 3660


class Clock(Protocol):
    """Counts time: ``elapsed`` between two instants, ``add`` a duration to one."""

    def elapsed(self, start: datetime, end: datetime) -> timedelta: ...

    def add(self, start: datetime, duration: timedelta) -> datetime: ...


class WallClock:
    """24×7: every second counts."""

    def elapsed(self, start: datetime, end: datetime) -> timedelta:
        return max(end - start, timedelta(0))

    def add(self, start: datetime, duration: timedelta) -> datetime:
        return start + duration


class BusinessClock:
    """Counts only the open hours of the business calendar, in its own time zone."""

    def __init__(self, hours: BusinessHours) -> None:
        self.hours = hours
        self.zone = ZoneInfo(hours.timezone)
        self._weekdays = hours.weekday_numbers
        self._closed = frozenset(hours.closed_dates) | frozenset(hours.public_holidays)

    def is_open_day(self, day: date) -> bool:
        return day.weekday() in self._weekdays and day not in self._closed

    def holiday_name(self, day: date) -> str | None:
        return self.hours.public_holidays.get(day)

    def is_open_at(self, instant: datetime) -> bool:
        """Whether ``instant`` falls within business hours."""
        return self.elapsed(instant, instant + timedelta(seconds=1)) > timedelta(0)

    def _window(self, day: date) -> tuple[datetime, datetime]:
        opens = datetime.combine(day, self.hours.start, tzinfo=self.zone).astimezone(UTC)
        closes = datetime.combine(day, self.hours.end, tzinfo=self.zone).astimezone(UTC)
        return opens, closes

    def windows(
        self, start: datetime, until: datetime | None = None
    ) -> Iterator[tuple[datetime, datetime]]:
        """Open windows that end after ``start``, in order, clipped to begin no earlier.

        With ``until``, stops after the day of ``until``; without, searches ten years ahead.
        """
        day = start.astimezone(self.zone).date()
        last = until.astimezone(self.zone).date() if until is not None else None
        days = (last - day).days + 1 if last is not None else _MAX_SEARCH_DAYS
        for _ in range(max(days, 0)):
            if self.is_open_day(day):
                opens, closes = self._window(day)
                if closes > start:
                    yield max(opens, start), closes
            day += timedelta(days=1)
        if until is None:
            raise ValueError("the business calendar has no open hours in the next ten years")

    def elapsed(self, start: datetime, end: datetime) -> timedelta:
        total = timedelta(0)
        if end <= start:
            return total
        for opens, closes in self.windows(start, until=end):
            if opens >= end:
                break
            total += min(closes, end) - opens
            if closes >= end:
                break
        return total

    def add(self, start: datetime, duration: timedelta) -> datetime:
        remaining = duration
        if remaining <= timedelta(0):
            return start
        for opens, closes in self.windows(start):
            span = closes - opens
            if remaining <= span:
                return opens + remaining
            remaining -= span
        raise AssertionError("unreachable: windows() is unbounded or raises")


def clock_named(name: ClockName, policy: Policy) -> Clock:
    if name == "business":
        return BusinessClock(policy.business_hours)
    return WallClock()
