"""Which tasks go first when workers are behind: Temporal task queue priorities.

The server hands out the tasks of a task queue by priority key (1 first, 3 when none is
set), then in order. When openings arrive faster than the workers can mail them, what a
deadline sets off (a warning, a breach, a P1 status reminder, the on-call page) and a crisis
go ahead of the routine mails of other incidents, and ledger writes go last (only a closed
workflow, before it ends, waits for its last one). Without a backlog, priorities change
nothing.

A priority is an option of the command, not of what the workflow does: histories recorded
before or after it replay alike.
"""

from __future__ import annotations

from temporalio.common import Priority

URGENT = Priority(priority_key=1)
"""Set off by a deadline, or what a crisis does (the crisis workflow runs at this key)."""

ROUTINE = Priority()
"""The server's default key (3): openings, operators' changes and their mails."""

BACKGROUND = Priority(priority_key=5)
"""Copies kept for reports: ledger writes."""

TIMED_MAILS = frozenset(
    {
        "ack_warning",
        "ack_breach",
        "resolution_warning",
        "resolution_breach",
        "p1_status",
        "p1_status_reminder",
        "on_call",
    }
)
"""Incident mails set off by a deadline (or paging the on-call engineer of a P1)."""


def of_mail(kind: str) -> Priority:
    """The priority of an incident mail of ``kind``."""
    return URGENT if kind in TIMED_MAILS else ROUTINE
