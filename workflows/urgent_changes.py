"""Urgent changes (§3.1), tracked the same way by incidents and crises: pure rules."""

from __future__ import annotations

from datetime import datetime

from workflows.models import CompleteUrgentChangeInput, UrgentChange, UrgentChangeInput
from workflows.operations import Refused


def request(
    changes: list[UrgentChange], input: UrgentChangeInput, now: datetime, prefix: str
) -> UrgentChange:
    """Tracks a new urgent change, numbered ``<prefix>-<n>``."""
    change = UrgentChange(
        id=f"{prefix}-{len(changes) + 1}", what=input.what, why=input.why, by=input.by, at=now
    )
    changes.append(change)
    return change


def open_change(changes: list[UrgentChange], change_id: str) -> UrgentChange:
    """The change ``change_id`` still to do; refuses an unknown or finished one."""
    change = next((c for c in changes if c.id == change_id), None)
    if change is None:
        known = ", ".join(c.id for c in changes)
        raise Refused(
            f"change_id: no urgent change {change_id} (known: {known or 'none'})",
            "why.unknown_change", change_id=change_id[:80], known=known[:300] or "—",
        )  # fmt: skip
    if change.done_at is not None:
        raise Refused(
            f"urgent change {change.id} is already done", "why.change_done", change_id=change.id
        )
    return change


def complete(
    changes: list[UrgentChange], input: CompleteUrgentChangeInput, now: datetime
) -> UrgentChange:
    change = open_change(changes, input.change_id)
    change.done_at, change.done_by, change.outcome = now, input.by, input.outcome
    return change
