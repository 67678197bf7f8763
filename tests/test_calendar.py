"""Business clock and deadline arithmetic, on the shipped policy."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tests.helpers import PARIS
from workers.policy_file import load_policy, with_public_holidays
from workers.settings import DEFAULT_CONFIG_DIR
from workflows.calendar import BusinessClock, WallClock
from workflows.policy import Policy
from workflows.sla import DeadlineMemo, Stop, compute_deadlines, consumed, due_at


@pytest.fixture(scope="module")
def policy() -> Policy:
    """The shipped policy with the holidays around 2026, the year of the dates below (a
    worker loads those around the current year)."""
    return with_public_holidays(load_policy(DEFAULT_CONFIG_DIR), 2026)


@pytest.fixture(scope="module")
def clock(policy: Policy) -> BusinessClock:
    return BusinessClock(policy.business_hours)


def paris(*args: int) -> datetime:
    return datetime(*args, tzinfo=PARIS)  # type: ignore[misc]


def test_french_holidays_are_closed(clock: BusinessClock) -> None:
    assert not clock.is_open_day(paris(2026, 4, 6).date())  # Easter Monday
    assert not clock.is_open_day(paris(2026, 7, 14).date())  # Bastille Day
    assert not clock.is_open_day(paris(2026, 5, 14).date())  # Ascension
    assert not clock.is_open_day(paris(2026, 4, 4).date())  # Saturday
    assert clock.is_open_day(paris(2026, 4, 7).date())
    assert clock.holiday_name(paris(2026, 4, 6).date()) is not None


def test_adding_business_hours_skips_nights_weekends_and_holidays(clock: BusinessClock) -> None:
    friday = paris(2026, 4, 3, 15, 0)  # Friday before Easter Monday
    assert clock.add(friday, timedelta(hours=3)) == paris(2026, 4, 3, 18, 0)
    assert clock.add(friday, timedelta(hours=4)) == paris(2026, 4, 7, 9, 0)
    # Before opening: the clock starts at 08:00.
    assert clock.add(paris(2026, 4, 7, 6, 0), timedelta(hours=1)) == paris(2026, 4, 7, 9, 0)


def test_elapsed_business_time(clock: BusinessClock) -> None:
    friday = paris(2026, 4, 3, 15, 0)
    assert clock.elapsed(friday, paris(2026, 4, 7, 9, 0)) == timedelta(hours=4)
    assert clock.elapsed(paris(2026, 4, 4, 10), paris(2026, 4, 6, 23)) == timedelta(0)
    assert clock.elapsed(paris(2026, 4, 7, 9), paris(2026, 4, 7, 8)) == timedelta(0)


def test_daylight_saving_change_keeps_local_hours(clock: BusinessClock) -> None:
    # Clocks go forward on Sunday 29 March 2026; Monday still opens at 08:00 local.
    due = clock.add(paris(2026, 3, 27, 17, 0), timedelta(hours=2))
    assert due == paris(2026, 3, 30, 9, 0)
    assert due.astimezone(UTC).hour == 7


def test_bronze_p3_friday_afternoon_before_easter_monday(policy: Policy) -> None:
    t0 = paris(2026, 4, 3, 15, 0)
    d = compute_deadlines(policy, "P3", "bronze", t0, [])
    assert d.ack_due_at == paris(2026, 4, 3, 16, 0)
    # 5 business days = 50 h: Fri 3 h, Mon holiday, Tue–Fri 40 h, Mon 13 at 08:00 + 7 h.
    assert d.resolution_due_at == paris(2026, 4, 13, 15, 0)


def test_p1_counts_around_the_clock(policy: Policy) -> None:
    t0 = paris(2026, 4, 4, 3, 0)  # Saturday night
    d = compute_deadlines(policy, "P1", "gold", t0, [])
    assert d.ack_due_at == t0 + timedelta(minutes=15)
    assert d.ack_warning_at == t0 + timedelta(minutes=15) * 0.75
    assert d.resolution_due_at == t0 + timedelta(hours=2)


def test_pending_pushes_the_deadline_back_by_the_time_paused() -> None:
    clock = WallClock()
    t0 = datetime(2026, 1, 1, tzinfo=UTC)
    stops = [Stop(start=t0 + timedelta(hours=1), end=t0 + timedelta(hours=4), reason="pending")]
    assert due_at(clock, t0, stops, timedelta(hours=2)) == t0 + timedelta(hours=5)
    # Still paused: no deadline.
    open_stop = [Stop(start=t0 + timedelta(hours=1), reason="pending")]
    assert due_at(clock, t0, open_stop, timedelta(hours=2)) is None
    # Allowance already used up before the pause: the deadline stands.
    assert due_at(clock, t0, open_stop, timedelta(minutes=30)) == t0 + timedelta(minutes=30)
    assert consumed(clock, t0, stops, t0 + timedelta(hours=5)) == timedelta(hours=2)


def test_the_memo_answers_as_compute_deadlines_through_every_change(policy: Policy) -> None:
    """A bronze P3 opened on a Friday afternoon, paused, resumed, made a P2, under a policy
    loaded again: at every step the memo gives what a fresh computation gives, and the same
    object while nothing changed."""
    memo = DeadlineMemo()
    t0 = paris(2026, 4, 3, 16, 0)
    stops: list[Stop] = []
    priority = "P3"

    def same() -> None:
        got = memo(policy, priority, "bronze", t0, stops)
        assert got == compute_deadlines(policy, priority, "bronze", t0, stops)
        assert memo(policy, priority, "bronze", t0, stops) is got

    same()
    first = memo(policy, priority, "bronze", t0, stops)
    stops.append(Stop(start=paris(2026, 4, 3, 17, 0), reason="pending"))
    same()
    assert memo(policy, priority, "bronze", t0, stops).resolution_due_at is None
    stops[0].end = paris(2026, 4, 7, 10, 0)  # the pause ends: the same Stop, its end set
    same()
    later = memo(policy, priority, "bronze", t0, stops).resolution_due_at
    assert later is not None and first.resolution_due_at is not None
    assert later > first.resolution_due_at
    priority = "P2"
    same()
    reloaded = load_policy(DEFAULT_CONFIG_DIR)
    shorter = reloaded.model_copy(update={"warning_ratio": 0.5})
    policy = shorter
    same()
    assert memo(policy, priority, "bronze", t0, stops) != compute_deadlines(
        reloaded, priority, "bronze", t0, stops
    )


def test_policy_cell_clock_override(policy: Policy) -> None:
    override = policy.model_copy(
        update={
            "resolution": policy.resolution.model_copy(
                update={
                    "P2": policy.resolution.P2.model_copy(
                        update={
                            "gold": policy.resolution.P2.gold.model_copy(update={"clock": "24x7"})
                        }
                    )
                }
            )
        }
    )
    assert override.clock_for("P2", "gold") == "24x7"
    assert override.clock_for("P2", "silver") == "business"


def test_impact_urgency_matrix(policy: Policy) -> None:
    assert policy.priority_for("high", "high") == "P1"
    assert policy.priority_for("high", "medium") == "P2"
    assert policy.priority_for("medium", "high") == "P2"
    assert policy.priority_for("medium", "medium") == "P3"
    assert policy.priority_for("low", "high") == "P3"
    assert [policy.opsgenie_priority(p) for p in ("P1", "P2", "P3", "P4", "P5")] == [
        "P1",
        "P2",
        "P3",
        "P3",
        "P3",
    ]


def test_a_deadline_ending_at_closing_time_is_the_closing_time() -> None:
    """Silver P2 (8 business hours) opened Tuesday 10:00: due Tuesday 18:00 as people read
    the clock, not Wednesday 08:00 (the same instant in business time)."""
    from zoneinfo import ZoneInfo

    from workers.policy_file import load_policy
    from workers.settings import DEFAULT_CONFIG_DIR
    from workflows.sla import compute_deadlines

    paris = ZoneInfo("Europe/Paris")
    policy = load_policy(DEFAULT_CONFIG_DIR)
    opened = datetime(2026, 12, 1, 10, 0, tzinfo=paris)  # a Tuesday, no holiday
    due = compute_deadlines(policy, "P2", "silver", opened, []).resolution_due_at
    assert due is not None and due.astimezone(paris) == datetime(2026, 12, 1, 18, 0, tzinfo=paris)
