"""Nothing lost, nothing doubled, nothing stuck: mails counted by Message-ID.

The workflow histories say which mails were handed to the mail activity (each scheduled
activity carries the mail's key, the left-hand side of its Message-ID) and how each send
ended: completed (the server took it), failed for good (recorded by the workflow), or not
at all (stuck). The SMTP sink says which Message-IDs arrived and how often. A mail is lost
when its send completed but no mail with its Message-ID arrived.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from temporalio.api.enums.v1 import EventType, RetryState
from temporalio.client import Client

from activities.mail_render import header_text, message_id_left
from starters.dev.smtp_sink import MailSink
from tests.faults.tally import TALLY

MAIL_ACTIVITIES = frozenset({"send_incident_mail", "send_crisis_mail"})


@dataclass
class Sends:
    """The mail sends of some workflows, from their histories (every run)."""

    scheduled: dict[str, str] = field(default_factory=dict)  # key → mail kind
    completed: set[str] = field(default_factory=set)
    failed: set[str] = field(default_factory=set)  # failed for good
    attempts: Counter[str] = field(default_factory=Counter)  # activity executions per key

    @property
    def unfinished(self) -> set[str]:
        return set(self.scheduled) - self.completed - self.failed


async def mail_sends(client: Client, workflow_ids: Iterable[str]) -> Sends:
    sends = Sends()
    for workflow_id in workflow_ids:
        for events in await _runs(client, workflow_id):
            _read(events, sends)
    return sends


async def _runs(client: Client, workflow_id: str) -> list[list[Any]]:
    """The events of every run of a workflow: from the latest back through the runs it
    continued (each run's first event names the one before)."""
    runs: list[list[Any]] = []
    run_id: str | None = None
    while True:
        handle = client.get_workflow_handle(workflow_id, run_id=run_id)
        events = [e async for e in handle.fetch_history_events()]
        runs.append(events)
        started = events[0].workflow_execution_started_event_attributes
        run_id = started.continued_execution_run_id or None
        if run_id is None:
            return runs[::-1]


def _read(events: list[Any], sends: Sends) -> None:
    keys: dict[int, str] = {}
    for event in events:
        if event.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
            attrs = event.activity_task_scheduled_event_attributes
            if attrs.activity_type.name in MAIL_ACTIVITIES:
                mail = json.loads(attrs.input.payloads[0].data)["mail"]
                keys[event.event_id] = mail["key"]
                sends.scheduled[mail["key"]] = mail["kind"]
                sends.attempts[mail["key"]] += 1
        elif event.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED:
            key = keys.get(event.activity_task_completed_event_attributes.scheduled_event_id)
            if key is not None:
                sends.completed.add(key)
        elif event.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_FAILED:
            attrs = event.activity_task_failed_event_attributes
            key = keys.get(attrs.scheduled_event_id)
            if (
                key is not None
                and attrs.retry_state == RetryState.RETRY_STATE_NON_RETRYABLE_FAILURE
            ):
                sends.failed.add(key)


def delivered(sink: MailSink, keys: Iterable[str]) -> Counter[str]:
    """Arrivals by mail key, for the keys given (a Message-ID is ``<left@domain>``, its left
    side made from the key by the renderer)."""
    by_left = {message_id_left(key): key for key in keys}
    with sink._lock:
        ids = [str(m["Message-ID"] or "") for m in sink.messages]
    lefts = (i.strip().removeprefix("<").rsplit("@", 1)[0] for i in ids)
    return Counter(by_left[left] for left in lefts if left in by_left)


def arrived_from(sink: MailSink, workflow_ids: Iterable[str]) -> set[str]:
    """Message-ID left sides of the mails of these workflows (by their X-Vigie headers)."""
    shown = {header_text(w) for w in workflow_ids}
    with sink._lock:
        return {
            str(m["Message-ID"]).strip().removeprefix("<").rsplit("@", 1)[0]
            for m in sink.messages
            if shown & {m["X-Vigie-Incident"], m["X-Vigie-Crisis"]}
        }


@dataclass
class MailCheck:
    sends: Sends
    arrived: Counter[str]

    @property
    def lost(self) -> set[str]:
        return self.sends.completed - set(self.arrived)

    @property
    def twice(self) -> dict[str, int]:
        return {k: n for k, n in self.arrived.items() if n > 1}

    def kinds(self, workflow_id: str) -> Counter[str]:
        """The kinds of mail a workflow queued, each counted once per key."""
        return Counter(
            kind for key, kind in self.sends.scheduled.items()
            if key.rsplit(".", 1)[0] == workflow_id
        )  # fmt: skip


async def check_mails(
    client: Client,
    sink: MailSink,
    workflow_ids: Iterable[str],
    *,
    may_fail: bool = False,
    may_arrive_twice: bool = False,
) -> MailCheck:
    """Asserts nothing lost, nothing doubled, nothing stuck for these workflows' mails, and adds
    the figures to the tally. ``may_fail``: some mails are expected to fail for good (recorded);
    ``may_arrive_twice``: a worker was killed mid-send, so a mail the server took may arrive
    again with the same Message-ID (never under another one)."""
    ids = list(workflow_ids)
    sends = await mail_sends(client, ids)
    check = MailCheck(sends, delivered(sink, sends.scheduled))
    # Every mail of these workflows that arrived was sent by one of their sends.
    strays = arrived_from(sink, ids) - {message_id_left(k) for k in sends.scheduled}
    assert not strays, f"mails from no send: {sorted(strays)}"
    TALLY.mails_checked += len(check.sends.completed)
    TALLY.mails_lost += len(check.lost)
    TALLY.mails_delivered_twice += sum(n - 1 for n in check.twice.values())
    assert not check.lost, f"mails lost: {sorted(check.lost)}"
    assert not check.sends.unfinished, f"mails stuck: {sorted(check.sends.unfinished)}"
    if not may_fail:
        assert not check.sends.failed, f"mails failed: {sorted(check.sends.failed)}"
    if not may_arrive_twice:
        assert not check.twice, f"mails delivered twice: {check.twice}"
    # One key per queued mail: a mail is never queued twice under two keys.
    assert len(set(check.sends.scheduled)) == len(check.sends.scheduled)
    return check
