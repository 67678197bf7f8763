"""Pure rules of the crisis: keyword hints, milestone settlement. No Temporal calls here."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Protocol

from workflows.crisis_models import CrisisState, Milestone


class CrisisKind(Protocol):
    """What tells a crisis of a major incident from a crisis event: its state, its view, the
    ledger's line of it."""

    @property
    def incident_id(self) -> str | None: ...

    @property
    def criterion(self) -> str: ...


def is_incident(s: CrisisKind) -> bool:
    """A crisis for a major incident (opened from one, or said to be one)."""
    return s.incident_id is not None or s.criterion == "major_incident"


def shown_step(step: str, s: CrisisKind) -> str:
    """A step's name as people read it: T0+30 tells DNUM of a P1, or of a crisis event;
    T0+45 asks DNUM to trigger the cell, or tells it that the cell the client asked opens."""
    if step == "escalation" and not is_incident(s):
        return "escalation_event"
    if step == "cell_request" and getattr(s, "triggered_by", None) == "client":
        return "cell_confirm"
    return step


def mentions(text: str, keywords: list[str]) -> bool:
    """True when ``text`` holds one of ``keywords`` as whole words, case-insensitive.

    "mail server" matches "Mail server down" but "mail" does not match "email".
    """
    for keyword in keywords:
        words = keyword.strip().split()
        if not words:
            continue
        pattern = r"(?<!\w)" + r"[\s-]+".join(re.escape(w) for w in words) + r"(?!\w)"
        if re.search(pattern, text, flags=re.IGNORECASE):
            return True
    return False


def settle(m: Milestone, done_at: datetime, by: str, grace: timedelta) -> None:
    """Marks a milestone done at ``done_at``: met within its target (plus grace), else late."""
    m.done_at, m.by = done_at, by
    m.status = "met" if done_at <= m.due_at + grace else "late"


def acts_at(m: Milestone) -> datetime:
    """When the crisis acts on a step: its target, or later after a late opening."""
    return m.acts_at or m.due_at


def future(times: list[datetime], now: datetime) -> datetime | None:
    """The earliest of ``times`` strictly after ``now``: a run loop never waits on the past."""
    ahead = [t for t in times if t > now]
    return min(ahead) if ahead else None


def next_crisis_due(s: CrisisState) -> datetime | None:
    """What the crisis owes next: its earliest pending milestone while active, the
    lessons-learned report once closed; nothing after that."""
    if s.status == "active":
        return min((acts_at(m) for m in s.milestones if m.status == "pending"), default=None)
    if s.status == "closed":
        return s.rex_due_at
    return None
