"""Which tasks go first when workers are behind: Temporal task queue priorities.

The server hands out the tasks of a task queue by priority key (1 first, 3 when none is
set), then in order. When openings arrive faster than the workers can mail them, what a
deadline sets off (a warning, a breach, a P1 status reminder, the on-call page) and a crisis
go ahead of the routine mails of other incidents; an incident that arrives as a P1 (the most
severe, whose deadlines run around the clock) goes ahead of the others; ledger writes go last
(only a closed workflow, before it ends, waits for its last one). Without a backlog, priorities
change nothing.

Within a key, a server with fairness on (``matching.enableFairness``) takes turns between
customers (the key comes first: a P1 goes ahead whatever its customer). An incident is
started with its customer as fairness key, which its activities and its crisis inherit, so a
storm of one customer's incidents does not hold up the deadlines and mails of another's of
the same key. A server without fairness ignores the key.

A priority is an option of the command, not of what the workflow does: histories recorded
before or after it replay alike. An incident's own key follows its class: one that becomes a
P1 (recategorized, or its Opsgenie alert raised) is moved to key 2, one that stops being a P1
back to the default, by an activity (activities.task_priority).
"""

from __future__ import annotations

import hashlib

from temporalio.common import Priority

MAX_FAIRNESS_KEY = 64
"""Bytes in a fairness key (the server's limit)."""

URGENT = Priority(priority_key=1)
"""Set off by a deadline, or what a crisis does (the crisis workflow runs at this key)."""

P1_INCIDENT = 2
"""The key of an incident that arrives as a P1 (workflows.models ``arrives_as_p1``): its
workflow tasks and what it does without a key of its own go ahead of other incidents'. A P1
is the most severe kind, and its deadlines run around the clock; in business hours a gold
P2 or P3 has an acknowledgement deadline as near, and waits behind a storm of P1s."""

ROUTINE = Priority()
"""The server's default key (3), or the incident's: openings, operators' changes, mails."""

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


def fairness_key(customer: str) -> str:
    """``customer`` as a fairness key: itself when it fits, else its first characters and a
    digest of the whole (customer names are ASCII, at most 80 characters)."""
    if len(customer.encode()) <= MAX_FAIRNESS_KEY:
        return customer
    digest = hashlib.sha256(customer.encode()).hexdigest()[:16]
    return f"{customer[: MAX_FAIRNESS_KEY - 17]}~{digest}"


def of_incident(customer: str | None, p1: bool = False) -> Priority:
    """An incident's workflow priority: key 2 when it arrives as a P1, else the default; its
    customer as fairness key. Without a customer (the policy's default customer applies), no
    fairness key: such incidents share one turn."""
    key = P1_INCIDENT if p1 else None
    if not customer and key is None:
        return ROUTINE
    return Priority(priority_key=key, fairness_key=fairness_key(customer) if customer else None)


CLASS_KEYS = frozenset({None, P1_INCIDENT})
"""The keys an incident's class gives it. A key given otherwise when it was started (from the
Temporal UI, say) is someone's choice, and left as it is."""


def of_class(priority: str) -> int | None:
    """The key an incident of ``priority`` is given: 2 for a P1, else the default (None)."""
    return P1_INCIDENT if priority == "P1" else None
