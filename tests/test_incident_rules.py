"""The incident's pure rules, without a server: many cases in milliseconds."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import get_args

import pytest
from hypothesis import given
from hypothesis import strategies as st

from workers.policy_file import load_policy
from workers.settings import DEFAULT_CONFIG_DIR
from workflows.incident_rules import new_class, next_due, require, reset_flags, timed_events
from workflows.models import IncidentState, IncidentStatusName, RecategorizeInput
from workflows.operations import Refused
from workflows.policy import Priority, ServiceLevel
from workflows.sla import Stop, compute_deadlines

POLICY = load_policy(DEFAULT_CONFIG_DIR)
TUESDAY_10 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)  # 10:00 in Paris


def state(**fields: object) -> IncidentState:
    base: dict[str, object] = {
        "incident_id": "incident-rules", "policy": POLICY, "title": "t", "priority": "P2",
        "service_level": "silver", "category": None, "description": None, "application": None,
        "requesters": [], "details": {}, "source": "vigie", "language": "fr",
        "missing_fields": [], "opened_at": TUESDAY_10,
    }  # fmt: skip
    return IncidentState.model_validate(base | fields)


statuses = st.sampled_from(get_args(IncidentStatusName))
priorities = st.sampled_from(get_args(Priority))
levels = st.sampled_from(get_args(ServiceLevel))
flags = st.booleans()


@given(statuses, priorities, levels, flags, flags, flags, flags)
def test_only_the_events_the_status_allows_are_planned(
    status: IncidentStatusName,
    priority: Priority,
    level: ServiceLevel,
    ack_warned: bool,
    ack_breached: bool,
    resolution_warned: bool,
    resolution_breached: bool,
) -> None:
    s = state(
        status=status, priority=priority, service_level=level, ack_warned=ack_warned,
        ack_breached=ack_breached, resolution_warned=resolution_warned,
        resolution_breached=resolution_breached,
        resolved_at=TUESDAY_10 + timedelta(hours=1) if status == "resolved" else None,
        stops=[Stop(start=TUESDAY_10 + timedelta(hours=1), reason="pending on customer")]
        if status == "pending" else [],
    )  # fmt: skip
    d = compute_deadlines(POLICY, priority, level, s.opened_at, s.stops)
    kinds = {kind for _, kind in timed_events(s, d, POLICY)}
    assert ("ack_warning" in kinds) == (status == "open" and not ack_warned)
    assert ("ack_breach" in kinds) == (status == "open" and not ack_breached)
    # Pending, resolved or closed: no resolution deadline runs.
    running = status in ("open", "in_progress")
    assert ("resolution_breach" in kinds) == (running and not resolution_breached)
    assert ("auto_close" in kinds) == (status == "resolved")
    due = next_due(timed_events(s, d, POLICY))
    breaches = [at for at, kind in timed_events(s, d, POLICY) if kind.endswith("_breach")]
    assert due == (min(breaches) if breaches else None)


def test_next_due_is_the_acknowledgement_then_the_resolution() -> None:
    opened = state()
    d = compute_deadlines(POLICY, "P2", "silver", TUESDAY_10, [])
    assert next_due(timed_events(opened, d, POLICY)) == d.ack_due_at
    taken = state(status="in_progress", acknowledged_at=TUESDAY_10)
    assert next_due(timed_events(taken, d, POLICY)) == d.resolution_due_at
    late = state(status="in_progress", resolution_breached=True)
    assert next_due(timed_events(late, d, POLICY)) is None


@given(statuses)
def test_a_refusal_names_the_status_and_what_is_allowed(status: IncidentStatusName) -> None:
    if status == "resolved":
        require(status, "close", ("resolved",))
        return
    with pytest.raises(Refused) as refused:
        require(status, "close", ("resolved",))
    assert str(refused.value) == (
        f"cannot close: the incident is {status} (allowed when: resolved)"
    )


def test_the_new_class_takes_impact_and_urgency_first() -> None:
    s = state(priority="P3", service_level="bronze")
    asked = RecategorizeInput(by="a", reason="r", impact="high", urgency="high")
    assert new_class(s, POLICY, asked) == ("P1", "bronze")
    assert new_class(s, POLICY, RecategorizeInput(by="a", reason="r", opsgenie_priority="P1")) == (
        "P1",
        "bronze",
    )
    only_level = RecategorizeInput(by="a", reason="r", service_level="gold")
    assert new_class(s, POLICY, only_level) == ("P3", "gold")


@given(flags, flags, flags, flags, st.integers(min_value=0, max_value=60 * 24 * 7))
def test_a_new_class_undoes_only_the_flags_whose_deadline_is_ahead(
    ack_warned: bool,
    ack_breached: bool,
    resolution_warned: bool,
    resolution_breached: bool,
    minutes: int,
) -> None:
    s = state(
        ack_warned=ack_warned, ack_breached=ack_breached, resolution_warned=resolution_warned,
        resolution_breached=resolution_breached, priority="P3",
    )  # fmt: skip
    now = TUESDAY_10 + timedelta(minutes=minutes)
    d = compute_deadlines(POLICY, "P3", "silver", TUESDAY_10, [])
    reset_flags(s, d, now)
    assert s.ack_warned == (ack_warned and d.ack_warning_at <= now)
    assert s.ack_breached == (ack_breached and d.ack_due_at <= now)
    assert d.resolution_due_at is not None and d.resolution_warning_at is not None
    assert s.resolution_warned == (resolution_warned and d.resolution_warning_at <= now)
    assert s.resolution_breached == (resolution_breached and d.resolution_due_at <= now)
