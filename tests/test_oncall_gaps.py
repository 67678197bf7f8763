"""The pure rules of on-call readiness: the coming cycle, gaps, empty rotations, what to tell."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from itertools import pairwise
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from workflows.oncall_gaps import (
    Cycle,
    Period,
    Rotation,
    ScheduleReport,
    Timeline,
    empty_rotations,
    find_gaps,
    next_check,
    next_cycle,
    schedule_report,
    to_tell,
    verdict,
)
from workflows.oncall_policy import Readiness

PARIS = ZoneInfo("Europe/Paris")
WEEKLY = Readiness()
# Monday 7 December 2026, 08:00 Paris (CET, UTC+1).
START = datetime(2026, 12, 7, 8, tzinfo=PARIS)
END = datetime(2026, 12, 14, 8, tzinfo=PARIS)


def at(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 12, day, hour, minute, tzinfo=PARIS)


def rotation(name: str, *spans: tuple[datetime, datetime, str | None]) -> Rotation:
    return Rotation(name=name, periods=[Period(start=a, end=b, who=w) for a, b, w in spans])


def timeline(*rotations: Rotation) -> Timeline:
    return Timeline(schedule="ops", rotations=list(rotations))


def spans(gaps: list) -> list[tuple[datetime, datetime]]:
    return [(g.start, g.end) for g in gaps]


# ----------------------------------------------------------------------------- gaps


def test_a_rotation_covering_the_week_leaves_no_gap() -> None:
    t = timeline(rotation("main", (at(1, 0), at(20, 0), "ann@example.com")))
    assert find_gaps(t, START, END) == []
    assert empty_rotations(t, START, END) == []


def test_daily_handovers_back_to_back_leave_no_gap() -> None:
    days = [(at(d, 8), at(d + 1, 8), f"p{d}@example.com") for d in range(7, 14)]
    assert find_gaps(timeline(rotation("main", *days)), START, END) == []


def test_a_hole_in_the_middle_is_one_gap_with_its_exact_bounds() -> None:
    t = timeline(
        rotation("main", (at(7, 8), at(10, 20), "ann@x.org"), (at(11, 6, 30), END, "bob@x.org"))
    )
    assert spans(find_gaps(t, START, END)) == [(at(10, 20), at(11, 6, 30))]


def test_uncovered_start_and_end_of_the_cycle_are_gaps() -> None:
    t = timeline(rotation("main", (at(7, 12), at(13, 18), "ann@x.org")))
    assert spans(find_gaps(t, START, END)) == [(START, at(7, 12)), (at(13, 18), END)]


def test_periods_outside_the_cycle_do_not_count() -> None:
    t = timeline(rotation("main", (at(1, 0), START, "ann@x.org"), (END, at(20, 0), "ann@x.org")))
    assert spans(find_gaps(t, START, END)) == [(START, END)]
    assert empty_rotations(t, START, END) == ["main"]


def test_a_schedule_without_rotations_is_one_gap_over_the_whole_cycle() -> None:
    assert spans(find_gaps(timeline(), START, END)) == [(START, END)]


def test_a_period_with_nobody_is_a_gap() -> None:
    t = timeline(
        rotation(
            "main",
            (START, at(9, 8), "ann@x.org"),
            (at(9, 8), at(10, 8), None),
            (at(10, 8), END, "bob@x.org"),
        )
    )
    assert spans(find_gaps(t, START, END)) == [(at(9, 8), at(10, 8))]


def test_two_rotations_cover_each_others_holes() -> None:
    day = rotation("day", *[(at(d, 8), at(d, 20), "day@x.org") for d in range(7, 14)])
    night = rotation("night", *[(at(d, 20), at(d + 1, 8), "night@x.org") for d in range(7, 14)])
    assert find_gaps(timeline(day, night), START, END) == []


def test_a_night_left_uncovered_between_two_rotations_is_found() -> None:
    day = rotation("day", *[(at(d, 8), at(d, 20), "day@x.org") for d in range(7, 14)])
    nights = [(at(d, 20), at(d + 1, 8), "night@x.org") for d in range(7, 14) if d != 11]
    assert spans(find_gaps(timeline(day, rotation("night", *nights)), START, END)) == [
        (at(11, 20), at(12, 8))
    ]


def test_overlapping_periods_are_merged() -> None:
    t = timeline(
        rotation("a", (START, at(10, 0), "ann@x.org"), (at(9, 0), at(12, 0), "bob@x.org")),
        rotation("b", (at(11, 0), END, "cy@x.org")),
    )
    assert find_gaps(t, START, END) == []


def test_an_empty_rotation_is_reported_even_when_another_covers_the_cycle() -> None:
    t = timeline(rotation("primary", (START, END, "ann@x.org")), rotation("secondary"))
    assert find_gaps(t, START, END) == []
    assert empty_rotations(t, START, END) == ["secondary"]
    report = schedule_report(t, Cycle(start=START, end=END, due=START - timedelta(days=1)))
    assert not report.covered and report.empty_rotations == ["secondary"]


def test_a_rotation_staffed_only_by_nobody_is_empty() -> None:
    t = timeline(rotation("main", (START, END, None)))
    assert empty_rotations(t, START, END) == ["main"]


def test_less_than_a_minute_is_not_a_gap_a_minute_is() -> None:
    seconds = timeline(
        rotation(
            "main",
            (START, at(9, 8), "a@x.org"),
            (at(9, 8) + timedelta(seconds=59), END, "b@x.org"),
        )
    )
    assert find_gaps(seconds, START, END) == []
    minute = timeline(rotation("main", (START, at(9, 8), "a@x.org"), (at(9, 8, 1), END, "b@x.org")))
    assert spans(find_gaps(minute, START, END)) == [(at(9, 8), at(9, 8, 1))]


def test_periods_given_in_utc_are_compared_as_instants() -> None:
    t = timeline(
        rotation(
            "main",
            (START.astimezone(UTC), datetime(2026, 12, 10, 19, tzinfo=UTC), "a@x.org"),
            (datetime(2026, 12, 10, 20, tzinfo=UTC), END.astimezone(UTC), "b@x.org"),
        )
    )
    # 19:00 and 20:00 UTC are 20:00 and 21:00 in Paris.
    assert spans(find_gaps(t, START, END)) == [(at(10, 20), at(10, 21))]


def test_a_report_with_an_error_is_not_covered() -> None:
    assert not ScheduleReport(schedule="ops", error="HTTP 500").covered
    assert ScheduleReport(schedule="ops").covered


@st.composite
def staffed_timelines(draw: st.DrawFn) -> Timeline:
    week = int((END - START).total_seconds() // 60)
    rotations = []
    for r in range(draw(st.integers(0, 3))):
        periods = []
        for _ in range(draw(st.integers(0, 6))):
            a = draw(st.integers(-600, week + 600))
            b = draw(st.integers(a + 1, week + 1200))
            who = draw(st.sampled_from(["a@x.org", "b@x.org", None]))
            periods.append((START + timedelta(minutes=a), START + timedelta(minutes=b), who))
        rotations.append(rotation(f"r{r}", *periods))
    return timeline(*rotations)


@given(staffed_timelines())
def test_gaps_and_staffed_time_together_make_the_whole_cycle(t: Timeline) -> None:
    gaps = find_gaps(t, START, END)
    for g in gaps:
        assert START <= g.start < g.end <= END and g.end - g.start >= timedelta(minutes=1)
    assert all(a.end < b.start for a, b in pairwise(gaps))
    # Every minute is either in a gap or has somebody on call, never both.
    minute = START
    while minute < END:
        in_gap = any(g.start <= minute < g.end for g in gaps)
        staffed = any(
            p.who is not None and p.start <= minute < p.end for r in t.rotations for p in r.periods
        )
        assert in_gap != staffed, minute
        minute += timedelta(minutes=97)


# ----------------------------------------------------------------------------- the cycle


@pytest.mark.parametrize(
    ("now", "start"),
    [
        (at(8, 15), at(14, 8)),  # a Tuesday: next Monday
        (at(6, 23, 59), at(7, 8)),  # Sunday night: tomorrow morning
        (at(7, 7, 59), at(7, 8)),  # Monday before 08:00: this morning
        (at(7, 8), at(14, 8)),  # Monday 08:00 sharp: that cycle has started
        (at(7, 8, 1), at(14, 8)),
    ],
)
def test_the_next_cycle_starts_on_the_coming_monday_at_eight(
    now: datetime, start: datetime
) -> None:
    cycle = next_cycle(now, WEEKLY, "Europe/Paris")
    assert cycle.start == start
    assert cycle.end == start + timedelta(days=7)
    assert cycle.due == start - timedelta(days=1)


def test_a_cycle_across_the_spring_change_lasts_167_hours() -> None:
    cycle = next_cycle(datetime(2027, 3, 23, 12, tzinfo=PARIS), WEEKLY, "Europe/Paris")
    assert cycle.start == datetime(2027, 3, 29, 8, tzinfo=PARIS)
    before = next_cycle(datetime(2027, 3, 16, 12, tzinfo=PARIS), WEEKLY, "Europe/Paris")
    assert before.end == cycle.start
    assert before.end - before.start == timedelta(hours=167)
    assert before.end.astimezone(PARIS).hour == 8


def test_a_cycle_across_the_autumn_change_lasts_169_hours() -> None:
    cycle = next_cycle(datetime(2027, 10, 26, 12, tzinfo=PARIS), WEEKLY, "Europe/Paris")
    assert cycle.start == datetime(2027, 11, 1, 8, tzinfo=PARIS)
    before = next_cycle(datetime(2027, 10, 19, 12, tzinfo=PARIS), WEEKLY, "Europe/Paris")
    assert before.end - before.start == timedelta(hours=169)


def test_the_cycle_day_time_and_lead_are_settings() -> None:
    readiness = Readiness(cycle_day="fri", cycle_time="18:30", complete_before="12h")
    cycle = next_cycle(at(8, 15), readiness, "Europe/Paris")
    assert cycle.start == at(11, 18, 30)
    assert cycle.due == at(11, 6, 30)
    other_zone = next_cycle(at(8, 15), WEEKLY, "America/New_York")
    assert other_zone.start == datetime(2026, 12, 14, 8, tzinfo=ZoneInfo("America/New_York"))


@pytest.mark.parametrize(
    "bad",
    [{"cycle_time": "8h"}, {"cycle_time": "24:00"}, {"complete_before": "0d"},
     {"complete_before": "1 week"}, {"cycle_day": "monday"}],
)  # fmt: skip
def test_bad_readiness_settings_are_refused(bad: dict[str, str]) -> None:
    with pytest.raises(ValueError):
        Readiness.model_validate(bad)


# ----------------------------------------------------------------------------- checks


def test_checks_run_daily_then_once_when_the_cycle_starts_then_stop() -> None:
    cycle = Cycle(start=at(14, 8), end=at(21, 8), due=at(13, 8))
    first = at(11, 9, 30)
    seen = [first]
    while (following := next_check(seen[-1], cycle)) is not None:
        seen.append(following)
    assert seen == [at(11, 9, 30), at(12, 9, 30), at(13, 9, 30), at(14, 8)]


def test_gaps_are_told_at_every_check_and_completeness_once() -> None:
    gaps = [ScheduleReport(schedule="ops", empty_rotations=["night"])]
    fine = [ScheduleReport(schedule="ops"), ScheduleReport(schedule="db")]
    told = None
    sent = []
    for reports in (gaps, gaps, fine, fine, gaps, fine):
        found = verdict(reports)
        said = to_tell(found, told)
        sent.append(said)
        told = said or told
    assert sent == ["gaps", "gaps", "complete", None, "gaps", "complete"]
    assert to_tell(verdict([]), None) == "complete"
