"""Pure rules of the incident: which deadline events are still to come, what is due next,
which operations the status allows, the class a recategorization asks for and which
deadline flags a new class resets. No Temporal calls here: tested without a server."""

from __future__ import annotations

from datetime import datetime

from workflows.models import IncidentState, IncidentStatusName, RecategorizeInput
from workflows.operations import Refused
from workflows.policy import Policy, Priority, ServiceLevel
from workflows.sla import Deadlines

ACTIVE: tuple[IncidentStatusName, ...] = ("open", "in_progress", "pending")
BREACHES = ("ack_breach", "resolution_breach")


def timed_events(s: IncidentState, d: Deadlines, policy: Policy) -> list[tuple[datetime, str]]:
    """The deadline events still to come, each with the moment it fires."""
    events: list[tuple[datetime, str]] = []
    if s.status == "open":
        if not s.ack_warned:
            events.append((d.ack_warning_at, "ack_warning"))
        if not s.ack_breached:
            events.append((d.ack_due_at, "ack_breach"))
    if s.status in ("open", "in_progress"):
        if not s.resolution_warned and d.resolution_warning_at is not None:
            events.append((d.resolution_warning_at, "resolution_warning"))
        if not s.resolution_breached and d.resolution_due_at is not None:
            events.append((d.resolution_due_at, "resolution_breach"))
    if s.p1_status_at is not None and s.status in ACTIVE:
        every = policy.confirmed_p1_status_every.on_clock(None)
        events.append((s.p1_status_at + every, "p1_status"))
    if s.status == "resolved" and s.resolved_at is not None:
        events.append((s.resolved_at + policy.auto_close_after.on_clock(None), "auto_close"))
    return events


def next_due(events: list[tuple[datetime, str]]) -> datetime | None:
    """The next acknowledgement or resolution deadline not yet breached."""
    return min((at for at, kind in events if kind in BREACHES), default=None)


def require(status: IncidentStatusName, operation: str, allowed: tuple[str, ...]) -> None:
    """Refuses ``operation`` unless the incident's status is one of ``allowed``."""
    if status not in allowed:
        names = ", ".join(allowed)
        raise Refused(
            f"cannot {operation}: the incident is {status} (allowed when: {names})",
            "why.status",
            status=status,
            allowed=",".join(allowed),
        )


def new_class(
    s: IncidentState, policy: Policy, input: RecategorizeInput
) -> tuple[Priority, ServiceLevel]:
    """The class a recategorization asks for: impact × urgency wins over an Opsgenie
    priority, which wins over a plain priority; unchanged parts stay."""
    priority = input.priority or s.priority
    if input.opsgenie_priority:
        priority = policy.opsgenie_priority(input.opsgenie_priority)
    if input.impact and input.urgency:
        priority = policy.priority_for(input.impact, input.urgency)
    return priority, input.service_level or s.service_level


def reset_flags(s: IncidentState, d: Deadlines, now: datetime) -> None:
    """After a new class: a warning or breach whose new deadline is still ahead is undone,
    so that it fires again at the new time; one already passed stays."""
    if d.ack_warning_at > now:
        s.ack_warned = False
    if d.ack_due_at > now:
        s.ack_breached = False
    if d.resolution_warning_at is None or d.resolution_warning_at > now:
        s.resolution_warned = False
    if d.resolution_due_at is None or d.resolution_due_at > now:
        s.resolution_breached = False
