"""Ledger facts against hand-computed cases: deadlines met at the very instant, pending
periods, the business clock across a weekend and a French public holiday, reopen after
resolve. Times are Paris times (CET, UTC+1 in November)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest

from tests.helpers import PARIS
from workers.policy_file import load_policy, with_public_holidays
from workers.settings import DEFAULT_CONFIG_DIR
from workflows.crisis_models import CrisisView, Milestone
from workflows.ledger_facts import (
    crisis_facts,
    incident_facts,
    incident_facts_from_view,
    stops_from_timeline,
)
from workflows.models import IncidentState, IncidentView, TimelineEntry
from workflows.sla import Stop

POLICY = with_public_holidays(load_policy(DEFAULT_CONFIG_DIR), 2026)


def paris(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 11, day, hour, minute, tzinfo=PARIS)


def state(**fields: Any) -> IncidentState:
    values: dict[str, Any] = {
        "incident_id": "incident-case",
        "policy": POLICY,
        "title": "Checkout down",
        "priority": "P1",
        "service_level": "gold",
        "category": None,
        "description": None,
        "application": "checkout",
        "requesters": [],
        "details": {},
        "source": "api",
        "language": "fr",
        "missing_fields": [],
    }
    values.update(fields)
    return IncidentState(**values)


def test_acknowledged_at_the_very_deadline_is_kept_a_minute_later_is_not() -> None:
    t0 = paris(24, 10)  # P1 gold: acknowledgement within 15 min, 24x7
    on_time = incident_facts(
        state(opened_at=t0, acknowledged_at=paris(24, 10, 15), status="in_progress"),
        "acme",
        paris(24, 11),
    )
    assert on_time.ack_due_at == paris(24, 10, 15)
    assert on_time.ack_kept is True
    assert on_time.mtta_minutes == 15.0 and on_time.mtta_business_minutes is None
    assert on_time.customer == "acme" and on_time.clock == "24x7"

    late = incident_facts(
        state(
            opened_at=t0, acknowledged_at=paris(24, 10, 16), status="in_progress", ack_breached=True
        ),
        None,
        paris(24, 11),
    )
    assert late.ack_kept is False and late.ack_breached
    assert late.customer == "default"  # the policy's default_customer


def test_not_acknowledged_decides_only_once_the_deadline_has_passed() -> None:
    s = state(opened_at=paris(24, 10))
    assert incident_facts(s, None, paris(24, 10, 15)).ack_kept is None
    assert incident_facts(s, None, paris(24, 10, 16)).ack_kept is False
    assert incident_facts(s.model_copy(update={"status": "cancelled"}), None,
                          paris(24, 12)).ack_kept is None  # fmt: skip


def test_resolved_without_acknowledgement_counts_as_taken_in_hand() -> None:
    s = state(opened_at=paris(24, 10), resolved_at=paris(24, 10, 10), status="resolved",
              stops=[Stop(start=paris(24, 10, 10), reason="resolved")])  # fmt: skip
    facts = incident_facts(s, None, paris(24, 12))
    assert facts.ack_kept is True and facts.mtta_minutes is None
    assert facts.resolution_kept is True and facts.mttr_minutes == 10.0


def test_pending_period_stops_the_resolution_clock() -> None:
    # P1 gold: 2 h to resolve. Pending 10:30–11:30, resolved at 12:30: 90 min of clock used.
    s = state(
        opened_at=paris(24, 10),
        acknowledged_at=paris(24, 10, 5),
        resolved_at=paris(24, 12, 30),
        status="resolved",
        stops=[
            Stop(start=paris(24, 10, 30), end=paris(24, 11, 30), reason="pending on customer"),
            Stop(start=paris(24, 12, 30), reason="resolved"),
        ],
    )
    facts = incident_facts(s, None, paris(24, 13))
    assert facts.pending_minutes == 60.0
    assert facts.resolution_clock_minutes == 90.0
    assert facts.resolution_allowance_minutes == 120.0
    assert facts.resolution_due_at == paris(24, 13)  # T0 + 2 h + 1 h pending
    assert facts.resolution_kept is True
    assert facts.mttr_minutes == 150.0  # wall clock: pending time included


def test_still_pending_has_no_deadline_and_open_pending_time_counts_to_now() -> None:
    s = state(opened_at=paris(24, 10), acknowledged_at=paris(24, 10, 5), status="pending",
              stops=[Stop(start=paris(24, 10, 30), reason="pending on customer")])  # fmt: skip
    facts = incident_facts(s, None, paris(24, 16))
    assert facts.resolution_due_at is None
    assert facts.resolution_kept is None  # 30 min used of 2 h: undecided
    assert facts.pending_minutes == 330.0


def test_business_clock_across_a_public_holiday_and_a_weekend() -> None:
    # P3 bronze counts on the business clock (08:00–18:00, Mon–Fri): 60 min to acknowledge,
    # 5 business days (50 h) to resolve. T0 Tuesday 10 November 09:00; Wednesday 11 is
    # Armistice; the weekend is 14–15. Tue 9 h + Thu 10 h + Fri 10 h + Mon 10 h + Tue 10 h
    # = 49 h, so the deadline falls 1 h into Wednesday 18: 09:00.
    s = state(
        priority="P3",
        service_level="bronze",
        opened_at=paris(10, 9),
        acknowledged_at=paris(10, 9, 45),
        resolved_at=paris(16, 10),
        status="resolved",
        stops=[Stop(start=paris(16, 10), reason="resolved")],
    )
    facts = incident_facts(s, "acme", paris(16, 11))
    assert facts.clock == "business"
    assert facts.ack_due_at == paris(10, 10)
    assert facts.resolution_due_at == paris(18, 9)
    assert facts.mtta_minutes == facts.mtta_business_minutes == 45.0
    # Tue 540 + (Wed holiday) + Thu 600 + Fri 600 + (weekend) + Mon 120 business minutes.
    assert facts.mttr_business_minutes == 1860.0
    assert facts.mttr_minutes == 6 * 24 * 60 + 60
    assert facts.resolution_clock_minutes == 1860.0 and facts.resolution_kept is True


def test_acknowledgement_clock_runs_over_the_holiday() -> None:
    # P2 silver on the business clock: 30 min to acknowledge. T0 Tuesday 10 November 17:45:
    # 15 min that evening, Wednesday 11 is a holiday, so it is due Thursday 08:15.
    s = state(priority="P2", service_level="silver", opened_at=paris(10, 17, 45))
    facts = incident_facts(s, None, paris(12, 8, 15))
    assert facts.ack_due_at == paris(12, 8, 15)
    assert facts.ack_kept is None  # at the very deadline, still undecided
    assert incident_facts(s, None, paris(12, 8, 16)).ack_kept is False


def reopened_state(second_resolution: datetime) -> IncidentState:
    # P1 gold, 2 h: resolved at 10:40 (40 min used), reopened at 14:40 (stopped meanwhile).
    return state(
        opened_at=paris(24, 10),
        acknowledged_at=paris(24, 10, 5),
        resolved_at=second_resolution,
        status="resolved",
        stops=[
            Stop(start=paris(24, 10, 40), end=paris(24, 14, 40), reason="resolved"),
            Stop(start=second_resolution, reason="resolved"),
        ],
    )


def test_reopen_after_resolve_resolved_again_exactly_at_the_deadline() -> None:
    facts = incident_facts(reopened_state(paris(24, 16)), None, paris(24, 17))
    assert facts.reopened == 1
    assert facts.resolution_due_at == paris(24, 16)  # T0 + 2 h + 4 h resolved
    assert facts.resolution_clock_minutes == 120.0
    assert facts.resolution_kept is True
    assert facts.mttr_minutes == 360.0  # the last resolution counts


def test_reopen_after_resolve_a_minute_late() -> None:
    facts = incident_facts(reopened_state(paris(24, 16, 1)), None, paris(24, 17))
    assert facts.resolution_kept is False
    assert facts.resolution_clock_minutes == 121.0


def test_reopened_and_not_resolved_yet() -> None:
    s = reopened_state(paris(24, 16)).model_copy(
        update={
            "resolved_at": None,
            "status": "in_progress",
            "stops": [Stop(start=paris(24, 10, 40), end=paris(24, 14, 40), reason="resolved")],
        }
    )
    assert incident_facts(s, None, paris(24, 15)).resolution_kept is None
    later = incident_facts(s.model_copy(update={"resolution_breached": True}), None,
                           paris(24, 16, 30))  # fmt: skip
    assert later.resolution_kept is False and later.mttr_minutes is None


def entry(at: datetime, kind: str, **fields: str) -> TimelineEntry:
    return TimelineEntry(at=at, kind=kind, by="alice", text=kind, fields=fields)


def test_rebuild_from_the_status_query_gives_the_same_facts() -> None:
    s = reopened_state(paris(24, 16))
    s.stops.insert(0, Stop(start=paris(24, 10, 10), end=paris(24, 10, 20),
                           reason="pending on customer"))  # fmt: skip
    s.timeline = [
        entry(paris(24, 10), "opened"),
        entry(paris(24, 10, 5), "acknowledged"),
        entry(paris(24, 10, 10), "pending", waiting_on="customer"),
        entry(paris(24, 10, 20), "resumed"),
        entry(paris(24, 10, 40), "resolved"),
        entry(paris(24, 14, 40), "reopened"),
        entry(paris(24, 16), "resolved"),
    ]
    view = IncidentView(
        incident_id=s.incident_id, status=s.status, priority=s.priority,
        service_level=s.service_level, title=s.title, category=None, description=None,
        application=s.application, requesters=[], source=s.source, opened_at=s.opened_at,
        ack_due_at=paris(24, 10, 15), acknowledged_at=s.acknowledged_at,
        resolution_due_at=None, resolved_at=s.resolved_at, closed_at=None, sla_paused=False,
        waiting_on=None, ack_breached=False, resolution_breached=False, major=False,
        p1_verdict=None, missing_fields=[], policy_version=1, mails_pending=0,
        timeline=s.timeline,
    )  # fmt: skip
    assert [(x.start, x.end, x.reason) for x in stops_from_timeline(view)] == [
        (x.start, x.end, x.reason) for x in s.stops
    ]
    rebuilt = incident_facts_from_view(view, POLICY, "acme", paris(24, 17))
    assert rebuilt == incident_facts(s, "acme", paris(24, 17))
    # 10 + 20 + 80 min of clock: the pending 10 min and the 4 h resolved do not count.
    assert rebuilt.resolution_clock_minutes == 110.0 and rebuilt.resolution_kept is True


def crisis_view(**fields: Any) -> CrisisView:
    t0 = paris(24, 10)
    values: dict[str, Any] = {
        "crisis_id": "crisis-incident-case", "title": "Checkout down",
        "criterion": "major_incident", "incident_id": "incident-case", "status": "closed",
        "t0": t0, "matrix_version": 1, "business_hours_at_start": True,
        "mail_system_affected": False, "security_involved": False, "channel": "smtp",
        "level": 2, "level_kind": "business_hours", "members": [], "conference": None,
        "drp": None, "last_update": None, "restored_at": None, "closed_at": paris(24, 15),
        "rex_due_at": paris(1, 15).replace(month=12), "rex": None, "mails_pending": 0,
        "timeline": [],
        "milestones": [
            Milestone(step="escalation", action="", due_at=t0 + timedelta(minutes=30),
                      done_at=t0 + timedelta(minutes=30), status="met"),
            Milestone(step="cell_opening", action="", due_at=t0 + timedelta(hours=1),
                      done_at=t0 + timedelta(minutes=70), status="late"),
            Milestone(step="restoration", action="", due_at=t0 + timedelta(minutes=210),
                      status="not_applicable"),
            Milestone(step="closing", action="", due_at=t0 + timedelta(minutes=330),
                      status="missed"),
            Milestone(step="action_plan", action="", due_at=t0 + timedelta(minutes=90),
                      done_at=t0 + timedelta(minutes=80), status="met"),
        ],
    }  # fmt: skip
    values.update(fields)
    return CrisisView(**values)


def test_crisis_chronogram_compliance_and_rex() -> None:
    due = paris(1, 15).replace(month=12)
    waiting = crisis_facts(crisis_view(), "acme", paris(30, 9))
    assert waiting.chronogram_compliance == 0.5  # met 2 of 4 decided; not applicable left out
    assert waiting.rex_on_time is None and waiting.rex_submitted_at is None
    assert crisis_facts(crisis_view(), "acme", due + timedelta(minutes=1)).rex_on_time is False
    submitted = crisis_view(timeline=[entry(due, "rex")], status="rex_submitted")
    facts = crisis_facts(submitted, "acme", due + timedelta(days=3))
    assert facts.rex_on_time is True and facts.rex_submitted_at == due
    assert facts.revision == 1 and facts.milestones[0].step == "escalation"


@pytest.mark.parametrize("level", ["gold", "silver", "bronze"])
def test_p1_counts_around_the_clock_without_business_minutes(level: str) -> None:
    s = state(service_level=level, opened_at=paris(14, 23), acknowledged_at=paris(15, 1))
    facts = incident_facts(s, None, paris(15, 2))
    assert facts.clock == "24x7" and facts.mtta_minutes == 120.0
    assert facts.mtta_business_minutes is None
