"""IncidentWorkflow: one durable workflow per incident, from opening to closing.

Operators drive it with operations that exist both as a Signal and as an
Update of the same name. An Update is checked by its validator and refused
before anything reaches history; the same mistake sent as a Signal is
recorded as refused in the timeline. Neither ever fails the workflow.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any, Literal, TypeVar

from pydantic import BaseModel
from temporalio import workflow
from temporalio.common import Priority as TaskPriority
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError, CancelledError

from workflows.waiting import wait_until

with workflow.unsafe.imports_passed_through():
    from activities.models import (
        AlertActionInput,
        AlertActionResult,
        OnCallInput,
        OnCallResult,
        SendMailInput,
        SetTaskPriorityInput,
    )
    from activities.providers.opsgenie.marks import (
        BREACHED_TAG,
        NOTE_MARK,
        OWN_SOURCE,
        TAG,
        service_level_tag,
        status_tag,
    )
    from workflows import urgency, versions
    from workflows.calendar import BusinessClock, clock_named
    from workflows.carry import carried_input
    from workflows.chat import start_chat
    from workflows.continuing import (
        carried,
        history_is_long,
        reraise_if_run_ends,
        settle_in_flight,
        unique_recipients,
    )
    from workflows.crisis_models import CrisisInput
    from workflows.crisis_rules import future
    from workflows.delivery import failure_fields, send_in_rounds, workflow_failure_fields
    from workflows.details import crisis_summary, incident_details
    from workflows.incident_rules import (
        ACTIVE,
        new_class,
        next_due,
        require,
        reset_flags,
        timed_events,
    )
    from workflows.inputs import (
        MAX_REASON,
        PATCH_START_SENDABLE,
        checked_start,
        refusal_at_start,
        refused,
    )
    from workflows.ledger_facts import (
        RecordIncidentFactsInput,
        incident_facts,
        incident_revision,
    )
    from workflows.ledger_writer import LedgerWriter
    from workflows.limits import (
        MAX_DETAILS,
        MAX_NAME,
        MAX_REQUESTERS,
        MAX_TEXT,
        MAX_UNUSABLE,
        clip,
        one_line,
        sendable_split,
    )
    from workflows.matrix import EscalationMatrix
    from workflows.metrics import count
    from workflows.models import (
        AcknowledgeInput,
        AlertCommand,
        AlertCreatedInput,
        AlertRef,
        CloseInput,
        CompleteUrgentChangeInput,
        IncidentEvent,
        IncidentInput,
        IncidentMoment,
        IncidentNews,
        IncidentState,
        IncidentStatusName,
        IncidentView,
        OutgoingMail,
        PriorityEcho,
        QualifyP1Input,
        RecategorizeInput,
        RecordEventInput,
        ReopenInput,
        ResolveInput,
        ResumeInput,
        SetPendingInput,
        TimelineEntry,
        UrgentChange,
        UrgentChangeInput,
        WorklogInput,
        opsgenie_updated_at,
    )
    from workflows.not_json import NotJson
    from workflows.oncall_policy import ChatEventKind
    from workflows.operations import SYSTEM, Operation, Operations, Refused, operations
    from workflows.policy import Policy, Priority, ServiceLevel
    from workflows.reads import read_matrix, read_policy
    from workflows.search import NEXT_DUE, incident_attributes, publish, t0_memo
    from workflows.sla import RESOLVED_STOP, DeadlineMemo, Deadlines, Stop, due_as_resolved
    from workflows.texts import render, told_reason
    from workflows.timeline import shown_timeline
    from workflows.urgent_changes import complete, open_change, request

InputT = TypeVar("InputT", bound=BaseModel)
T = TypeVar("T")

# Behaviour changes, each behind workflow.patched so older histories replay.
PATCH_ALERT_MIRROR = "opsgenie-alert-mirror"
PATCH_CRISIS = "crisis-child"
PATCH_TELL_CRISIS = "incident-tells-crisis"
PATCH_P1_STATUS = "confirmed-p1-status"
PATCH_ON_CALL = "p1-pages-on-call"
PATCH_CANCEL = "cancel-as-operation"
# A cancelled incident waits this long at most for its last mails and alert changes.
CANCEL_WAIT = timedelta(minutes=10)
PATCH_LIGHT_CAN = "continue-as-new-without-outbox"
PATCH_WAKE_EARLY = "deadline-wake-early"
PATCH_NEXT_DUE = "next-due-attribute"
PATCH_CHAT = "chat-channels"
PATCH_LEDGER = "incident-ledger"
# The ledger is written when the incident recorded something new, not on every pass.
PATCH_LEDGER_ON_CHANGE = "ledger-writes-on-change"
# Mails and alert changes are sent in rounds of attempts: one that keeps failing is seen.
PATCH_ROUNDS = "delivery-in-rounds"
# What continues as new is measured in bytes and kept under the payload limit.
PATCH_BOUNDED_CAN = "bounded-continue-as-new"
# A mail or an alert change that fails for good is told to the incident manager by the
# other path: a mail, and a note on the alert.
PATCH_TELL_FAILURES = "incident-tells-failures"
# ...once per streak of failures to the same recipients (or of alert changes).
PATCH_TOLD_ONCE = "failures-told-once"
# The incident's task queue priority key follows its class (workflows.urgency).
PATCH_PRIORITY_CLASS = "task-priority-follows-class"
# A mail shows the incident as it was when its event happened (not when the mail server
# took it), and the opening mail tells the opening.
PATCH_MAIL_STATE = "mail-state-at-event"
# An incident qualified major is not qualified again (its crisis runs on its own).
PATCH_MAJOR_ONCE = "major-qualified-once"
# A crisis that fails to start is mailed to the incident manager (the qualification was
# answered before the crisis started) and published at once.
PATCH_CRISIS_FAILURE_TOLD = "crisis-failure-told"
# The memo keeps T0 where the start time does not say it: a back-dated incident, and every
# run after a continue-as-new (lists read it instead of the current run's start).
PATCH_T0_MEMO = "t0-in-memo"
# Its own id at continue-as-new: a run of older code answered the first one at its opening.
PATCH_T0_HANDED_ON = "t0-handed-on"
# A warning due together with its breach is not sent (workflows.incident._moot_warning).
PATCH_NO_MOOT_WARNING = "no-warning-with-its-breach"
# The breach each warning comes before.
WARNED_BY = {"ack_warning": "ack_breach", "resolution_warning": "resolution_breach"}
# An alert's late Create sets the service level it names when the incident took the default,
# and the requesters it adds get the opening mail (workflows.incident._complete_from_create).
PATCH_CREATE_COMPLETES = "late-create-completes"
# An incident first taken by a worker this long after it was started (workers behind or
# down) counts from its start: its ticket time, what lists show (patch ticket-at-start).
TICKET_AT_START_AFTER = timedelta(seconds=1)
PATCH_TICKET_AT_START = "ticket-at-start"
# An incident whose sender named no service level it knows (none, or a tag such as
# `sl:platinum`) lists it among the information to ask for: the default level was taken.
PATCH_LEVEL_ASKED = "defaulted-level-asked"
# What a sender gave as requesters that is no address is told at opening (it was dropped
# without a word, and the customer never heard of the incident).
PATCH_UNUSABLE_REQUESTERS = "unusable-requesters-told"
# Nobody is paged for an incident that was resolved or closed while the page was prepared
# (an alert whose Close reached Vigie with or before its Create).
PATCH_NO_PAGE_WHEN_ENDED = "no-page-when-ended"
# Opsgenie's UpdatePriority webhook for a priority Vigie set is its own echo, left out: a late
# one reverted a later change (a P1 set back to P3). Priorities set within the window count.
PATCH_OWN_PRIORITY_ECHO = "own-priority-echo-ignored"
# An alert's Create that reaches Vigie after its Close fills in the resolved incident and
# tells the requesters it adds (it was dropped without a word).
PATCH_CREATE_AFTER_END = "create-after-close-completes"
# A breach that a new class undoes (its new deadline still ahead) is said in the timeline: it
# was mailed, and the ledger and the service reviews no longer count it.
PATCH_BREACH_VOIDED = "breach-voided-told"
# A priority change from Opsgenie older (its updatedAt) than one already applied, delivered
# after it, is stale: noted, not applied (the incident kept an older priority than the alert).
PATCH_STALE_PRIORITY = "stale-opsgenie-priority-refused"
# A class changed in Vigie sets on the alert what changed: the priority only when it changed
# (it overwrote a P5 set in Opsgenie), the service level's tag when the level did.
PATCH_CLASS_MIRROR = "class-mirrored-as-changed"
# A priority change from Opsgenie settles the priority even when it changes nothing here (the
# incident already had it): its time counts, so an older change delivered after it is stale,
# and the priority is no longer asked for, so an alert's late Create does not set its older
# one.
PATCH_PRIORITY_SETTLED = "opsgenie-priority-settles"
# The alert's Create reaching a resolved incident also sets the class it was asked for: the
# priority if none was given, the service level if the default was taken (the service
# reviews count the incident in its class).
PATCH_CREATE_CLASS_AFTER_END = "create-after-close-sets-class"
# Vigie's own priority change that reached the alert after a later one made in Opsgenie (an
# outage held it back): its echo, left out, shows the alert off the incident's priority, so
# the incident's is set on the alert again.
PATCH_ECHO_DIVERGED = "late-own-priority-undone"
# The end of the crisis, told by the crisis while the incident is closed but still running
# (sending its last mails), is recorded instead of refused as if someone had typed it.
PATCH_CRISIS_END_AFTER_CLOSE = "crisis-end-after-close-kept"
# An event recorded from outside under a kind the incident records itself (resolved, pending,
# ...) is refused: the ledger reads those kinds to rebuild the incident's figures.
PATCH_OWN_KINDS = "own-kinds-reserved"
# A service level named by a tag in Opsgenie is taken only while the incident's level is the
# default (asked for); once known, it is changed in Vigie.
PATCH_TAGGED_LEVEL = "tagged-level-only-when-asked"
OWN_KINDS = frozenset({
    "opened", "acknowledged", "pending", "resumed", "resolved", "reopened", "closed",
    "cancelled", "recategorized", "qualified", "ack_warning", "ack_breach",
    "resolution_warning", "resolution_breach", "breach_voided", "level_confirmed",
})  # fmt: skip
# The other kinds the incident records itself, reserved too: some it reads back (a crisis
# started, the worklog of a P1's status mail, the last refusal shown). ``crisis_closed`` is
# its crisis's, ``opsgenie`` the webhook's, and ``note`` anyone's.
PATCH_OWN_KINDS_ALL = "all-own-kinds-reserved"
MORE_OWN_KINDS = frozenset({
    "alert_created", "alert_failed", "alert_off", "alert_priority_restored", "chat_failed",
    "continued", "crisis", "crisis_failed", "crisis_unreachable", "ledger_refused",
    "mail_failed", "matrix_warning", "on_call", "p1_status", "policy_warning",
    "problem_proposal", "refused", "runbook_change", "urgent_change", "urgent_change_done",
    "worklog",
})  # fmt: skip


def _priority_event_time(input: RecategorizeInput) -> int | None:
    """When Opsgenie made the priority change (the updatedAt its event's key holds); None for
    any other change."""
    if input.via != "opsgenie":
        return None
    return opsgenie_updated_at(input.delivery, "UpdatePriority")


# The one-line fields of a ticket an incident may be opened without, and asks for.
TICKET_FIELDS = ("category", "description", "application")
ECHO_WINDOW = timedelta(minutes=15)
ECHOES_KEPT = 10
# A deadline timer wakes this much before the deadline and re-arms on the time left, so that
# a task that waited in a busy worker does not push the deadline back.
WAKE_EARLY = timedelta(seconds=30)
# A fault said to have begun longer ago than this is taken as a wrong T0.
MAX_T0_AGE = timedelta(days=366)


# Shown in the Web UI next to each Signal, Update and Query.
DESCRIPTIONS = {
    "acknowledge": "Take the incident in hand: open → in_progress. {by, note?}",
    "add_worklog": "Record work done; mailed to the requesters. {by, text}",
    "set_pending": (
        "Wait on the customer or a third party; pauses the resolution clock. "
        "{by, waiting_on: customer|third_party, reason}"
    ),
    "resume": "Leave pending; the resolution clock runs again. {by, note?}",
    "recategorize": (
        "Change priority (or impact and urgency) and/or service level; deadlines are "
        "recomputed from T0. {by, priority?, impact?, urgency?, service_level?, reason}"
    ),
    "qualify_p1": (
        "Qualify a P1: unconfirmed (with new_priority P2|P3), confirmed or major. "
        "{by, verdict, new_priority?, note?}"
    ),
    "resolve": (
        "Resolve with the resolution documented. {by, resolution, runbook_change?, "
        "problem?: {reason: unknown_cause|recurring, text}}"
    ),
    "close": "Close a resolved incident. {by, note?}",
    "reopen": "Reopen a resolved incident. {by, reason}",
    "record_event": (
        "Record something that happened elsewhere (an Opsgenie escalation, tags...) in the "
        "timeline. {by, text, kind?}"
    ),
    "request_urgent_change": (
        "Request an urgent change, mailed to the change manager and tracked. {by, what, why}"
    ),
    "complete_urgent_change": "An urgent change is done. {by, change_id, outcome}",
    "status": "The incident as it stands: state, deadlines, breaches, timeline.",
    "alert_created": (
        "Sent by the webhook receiver: the alert's Create, come after another event of the "
        "alert opened the incident; fills in what the incident was opened without. {by, "
        "opsgenie_priority?, category?, description?, application?, requesters?, details?}"
    ),
}

OPERATIONS = [
    Operation(name, model, DESCRIPTIONS[name])
    for name, model in (
        ("acknowledge", AcknowledgeInput),
        ("add_worklog", WorklogInput),
        ("set_pending", SetPendingInput),
        ("resume", ResumeInput),
        ("recategorize", RecategorizeInput),
        ("qualify_p1", QualifyP1Input),
        ("resolve", ResolveInput),
        ("close", CloseInput),
        ("reopen", ReopenInput),
        ("record_event", RecordEventInput),
        ("request_urgent_change", UrgentChangeInput),
        ("complete_urgent_change", CompleteUrgentChangeInput),
    )
]


# Sent by the webhook receiver: a Signal only.
ALERT_CREATED = Operation("alert_created", AlertCreatedInput, DESCRIPTIONS["alert_created"])


EXAMPLE = '{"title": "Checkout API down", "service_level": "gold", "priority": "P2"}'
UNSTARTED = IncidentInput(title="-", service_level="gold")
"""Stands for a refused input until the run ends (handlers that come first read it)."""


@workflow.defn(name="IncidentWorkflow")
@operations(IncidentView, OPERATIONS)
class IncidentWorkflow(Operations[IncidentView]):
    @workflow.init
    def __init__(self, *inputs: Any) -> None:
        """``inputs``: as sent (one ``IncidentInput``), checked here (``workflows.inputs``)."""
        checked = checked_start(IncidentInput, inputs)
        self._inputs = inputs
        self._refused = checked if isinstance(checked, str) else None
        input = UNSTARTED if isinstance(checked, str) else checked  # refused: run ends at once
        self._input = input
        self._state: IncidentState | None = input.state
        self._changed = False
        self._chat_on = False
        self._ledger: LedgerWriter | None = None
        self._published: dict[str, Any] = {}
        self._mirroring = False
        self._crisis = False
        self._tell_crisis_on = False
        self._p1_status_on = False
        self._on_call_on = False
        self._cancel_on = False
        self._wake_early = False
        self._next_due_on = False
        self._stopping = False  # continue-as-new under way: no new send starts
        self._paging = False
        self._voided: list[tuple[str, datetime | None]] = []  # breaches a new class undid
        self._in_flight = 0
        self._tasks: list[asyncio.Task[None]] = []
        # This run's task queue priority key: wanted, and last sent to the server.
        self._task_key: int | None = None
        self._task_key_sent: int | None = None
        self._task_key_sender: asyncio.Task[None] | None = None
        self._deadline_memo = DeadlineMemo()
        self._mail_state_on = False

    # ------------------------------------------------------------------ run

    @workflow.run
    async def run(self, *inputs: Any) -> IncidentView:
        if self._refused is not None:
            raise refused(IncidentInput, self._refused, EXAMPLE)
        input = self._input
        versions.begin()  # first: see workflows.versions
        if input.state is None:  # a new incident (not one continued as new)
            self._refused = refusal_at_start(IncidentInput, self._inputs)
            if self._refused is not None:
                raise refused(IncidentInput, self._refused, EXAMPLE)
            kept, unusable = sendable_split(input.requesters)
            if unusable and versions.patched(PATCH_START_SENDABLE):
                # No mail can be sent to them, and a mail with them fails for everyone: left
                # out and told at opening, as the webhook does (one of an older release may
                # still send them).
                shown = [clip(one_line(r), MAX_NAME) for r in unusable]
                told = [*input.unusable_requesters, *shown][:MAX_UNUSABLE]
                input = input.model_copy(update={"requesters": kept, "unusable_requesters": told})
                self._input = input
        self._task_key = self._task_key_sent = workflow.info().priority.priority_key or None
        self._mirroring = versions.patched(PATCH_ALERT_MIRROR)
        self._crisis = versions.patched(PATCH_CRISIS)
        self._tell_crisis_on = versions.patched(PATCH_TELL_CRISIS)
        self._p1_status_on = versions.patched(PATCH_P1_STATUS)
        self._on_call_on = versions.patched(PATCH_ON_CALL)
        self._cancel_on = versions.patched(PATCH_CANCEL)
        self._wake_early = versions.patched(PATCH_WAKE_EARLY)
        self._next_due_on = versions.patched(PATCH_NEXT_DUE)
        self._chat_on = versions.patched(PATCH_CHAT)
        if versions.patched(PATCH_LEDGER):
            on_change = versions.patched(PATCH_LEDGER_ON_CHANGE)
            self._ledger = LedgerWriter(
                "record_incident_facts",
                lambda: RecordIncidentFactsInput(
                    facts=incident_facts(self.state, self._input.customer, workflow.now())
                ),
                on_refused=self._ledger_refused,
                revision=(lambda: incident_revision(self.state)) if on_change else None,
            )
        self._mail_state_on = versions.patched(PATCH_MAIL_STATE)
        if self._state is None:
            self._state = await self._open(input)
            s = self._state
            if s.opened_at != s.ticket_opened_at and versions.patched(PATCH_T0_MEMO):
                workflow.upsert_memo(t0_memo(s.opened_at))
        else:
            s = self._state
            if s.crisis_id and not s.crisis_started and any(e.kind == "crisis" for e in s.timeline):
                s.crisis_started = True  # started by a run that did not keep the flag
            trimmed = self.state.timeline_trimmed
            self._record("continued", SYSTEM, "continued.trimmed" if trimmed else "continued",
                         trimmed=str(trimmed))  # fmt: skip
            self._follow_class()  # the key a change of the last run could not set
        self._publish()
        senders = [asyncio.create_task(self._drain(lambda: self.state.outbox, self._send_mail))]
        if self._mirroring:
            senders.append(
                asyncio.create_task(self._drain(lambda: self.state.alert_outbox, self._send_alert))
            )
        if self._tell_crisis_on:
            senders.append(asyncio.create_task(self._drain(self._crisis_news, self._send_news)))
        if self._ledger is not None:
            senders.append(asyncio.create_task(self._ledger.run()))
        try:
            try:
                await self._live()
            except asyncio.CancelledError:
                if not self._cancel_on or self.state.status in ("closed", "cancelled"):
                    raise
                # Cancelled from the Web UI or the CLI: an operator's decision, said to all.
                self._stopping = False  # even if it came while continuing as new
                self._cancelled()
                try:
                    await wait_until(
                        lambda: self._outboxes_empty() and all(t.done() for t in self._tasks),
                        timeout=CANCEL_WAIT,
                    )
                except TimeoutError:
                    pass  # a server down for good does not keep a cancelled incident alive
                raise
        finally:
            for sender in senders:
                sender.cancel()
        return self._view()

    async def _live(self) -> None:
        """Fires deadlines and waits for operations until the incident is closed."""
        while True:
            now = workflow.now()
            self._fire_deadlines(now)
            self._publish()
            if self.state.status == "closed":
                break
            if self._should_continue_as_new():
                await self._continue_as_new()
            self._changed = False
            # Only future times: every deadline due was fired (and settled) above.
            next_at = self._next_deadline(now)
            timeout = None if next_at is None else next_at - now
            if self._wake_early and timeout is not None and timeout > 2 * WAKE_EARLY:
                timeout -= WAKE_EARLY
            try:
                await wait_until(
                    lambda: self._changed,
                    timeout=timeout,
                    timeout_summary="next incident deadline",
                )
            except TimeoutError:
                pass
        await wait_until(
            lambda: (
                self._outboxes_empty()
                and workflow.all_handlers_finished()
                and all(t.done() for t in self._tasks)
            )
        )

    def _cancelled(self) -> None:
        """The incident ends as cancelled: timeline, requesters and incident manager told, the
        alert closed with a note, the crisis told, search attributes updated."""
        s = self.state
        before = s.status
        if before == "pending":
            self._end_stop()
        s.status, s.closed_at, s.waiting_on = "cancelled", workflow.now(), None
        self._record("cancelled", "temporal", before=before)
        self._mail("cancelled", [*s.requesters, *self.policy.notifications.incident_manager])
        note = f"{NOTE_MARK} {s.timeline[-1].text}"
        self._mirror(AlertCommand(action="close", user=SYSTEM, note=note))
        self._mirror(AlertCommand(action="remove_tags", user=SYSTEM, tags=[status_tag(before)]))
        self._mirror(AlertCommand(action="add_tags", user=SYSTEM, tags=[status_tag("cancelled")]))
        self._tell_crisis("closed", SYSTEM, s.timeline[-1].text)
        self._publish()

    async def _open(self, input: IncidentInput) -> IncidentState:
        incident_id = workflow.info().workflow_id
        # Ahead of routine work: no deadline of a new incident is armed before it.
        loaded = await read_policy(incident_id, urgency.URGENT)
        policy = loaded.policy
        now = workflow.now()
        started = workflow.info().workflow_start_time
        if now - started >= TICKET_AT_START_AFTER and versions.patched(PATCH_TICKET_AT_START):
            now = started  # the ticket was opened when it reached Temporal, not when taken
        missing = [name for name in TICKET_FIELDS if not getattr(input, name)]
        if input.priority:
            priority: Priority = input.priority
        elif input.opsgenie_priority:
            priority = policy.opsgenie_priority(input.opsgenie_priority)
        elif input.impact and input.urgency:
            priority = policy.priority_for(input.impact, input.urgency)
        else:
            priority = "P3"
            missing.append("priority")
        if not input.requesters:
            missing.append("requesters")
        if input.service_level_defaulted and versions.patched(PATCH_LEVEL_ASKED):
            missing.append("service_level")
        opened_at = now
        notes: list[str] = []
        if input.t0 is not None:
            if input.t0 > now:
                notes.append("t0_future")
            elif now - input.t0 > MAX_T0_AGE:
                notes.append("t0_too_old")
            else:
                opened_at = input.t0
        self._state = IncidentState(
            incident_id=incident_id,
            policy=policy,
            title=input.title,
            priority=priority,
            service_level=input.service_level,
            category=input.category,
            description=input.description,
            application=input.application,
            requesters=input.requesters,
            details=input.details,
            source=input.source,
            language=input.language or policy.notifications.language,
            missing_fields=missing,
            opened_at=opened_at,
            ticket_opened_at=now,
            service_level_defaulted=input.service_level_defaulted,
        )
        self._record(
            "opened",
            input.opened_by,
            "opened.missing" if missing else "opened",
            source=input.source,
            priority=priority,
            service_level=input.service_level,
            missing=", ".join(missing),
        )
        opening = self.state.timeline[-1]
        count(
            workflow.metric_meter(),
            "vigie_incidents_opened",
            priority=priority,
            service_level=input.service_level,
        )
        if loaded.error:
            version = str(loaded.policy.version)
            self._record("policy_warning", SYSTEM, "policy_fallback", version=version,
                         error=loaded.error)  # fmt: skip
        elif loaded.warning:  # told by a worker of an earlier release
            self._record("policy_warning", SYSTEM, text=loaded.warning)
        if input.unusable_requesters and versions.patched(PATCH_UNUSABLE_REQUESTERS):
            shown = ", ".join(input.unusable_requesters)
            self._record("note", SYSTEM, "requesters_unusable", addresses=shown)
        for note in notes:
            assert input.t0 is not None
            self._record(
                "note", SYSTEM, note, t0_at=input.t0.isoformat(), days=str(MAX_T0_AGE.days)
            )
        self._mail("opened", self.state.requesters, opening if self._mail_state_on else None)
        if self._mirroring:
            self._open_alert(input)
        self._maybe_page_on_call()
        if self.state.priority == "P1":
            self._chat("p1_opened")
        self._follow_class()  # a policy mapping can make a P1 of what was not sent as one
        return self._state

    def _follow_class(self) -> None:
        """The incident's task queue priority key follows its class (workflows.urgency): a
        change is sent to the server by an activity, one at a time, the latest last."""
        wanted = urgency.of_class(self.state.priority)
        if wanted == self._task_key or self._task_key not in urgency.CLASS_KEYS:
            return
        if not versions.patched(PATCH_PRIORITY_CLASS):
            return
        self._task_key = wanted
        if self._task_key_sender is None or self._task_key_sender.done():
            self._task_key_sender = asyncio.create_task(self._send_task_key())
            self._tasks.append(self._task_key_sender)

    async def _send_task_key(self) -> None:
        info = workflow.info()
        while self._task_key_sent != self._task_key:
            key = self._task_key
            changed = False
            try:
                changed = await workflow.execute_activity(
                    "set_task_priority",
                    SetTaskPriorityInput(
                        workflow_id=info.workflow_id,
                        run_id=info.run_id,
                        priority_key=key,
                        expected_key=self._task_key_sent,
                    ),
                    result_type=bool,
                    start_to_close_timeout=timedelta(seconds=30),
                    retry_policy=RetryPolicy(maximum_attempts=5),
                    summary=f"task queue priority key {key or 'default'}",
                    priority=urgency.URGENT,
                )
            except ActivityError:
                pass  # its failure is in the history
            if not changed:  # the run keeps the key it has: the worker's log says why
                return
            self._task_key_sent = key

    def _chat(self, kind: ChatEventKind) -> None:
        """The chat channels that hear of ``kind`` get a message, next to the mails."""
        if self._chat_on:
            start_chat(kind, self._view(), self.policy, self._tasks, self._chat_failed)

    def _maybe_page_on_call(self) -> None:
        """§4.2: a P1 outside business hours pages the technical on-call, once."""
        s = self.state
        if not self._on_call_on or s.on_call_paged or s.priority != "P1":
            return
        if self._paging or BusinessClock(self.policy.business_hours).is_open_at(workflow.now()):
            return
        # Marked paged once done: a run that continues as new mid-page pages again.
        self._paging = True
        self._tasks.append(asyncio.create_task(self._page_on_call()))

    async def _page_on_call(self) -> None:
        s, paging = self.state, self.policy.on_call
        if paging.responder:
            responder = {"type": paging.responder_type, "name": paging.responder}
            self._mirror(AlertCommand(action="add_responder", user=SYSTEM, responder=responder))
        who: list[str] = []
        why = "no on-call schedule configured"
        if paging.schedule_name:
            try:
                found = await workflow.execute_activity(
                    "opsgenie_who_is_on_call",
                    OnCallInput(schedule=paging.schedule_name),
                    result_type=OnCallResult,
                    start_to_close_timeout=timedelta(seconds=30),
                    retry_policy=RetryPolicy(maximum_attempts=3),
                    summary="who is on call",
                    priority=urgency.URGENT,
                )
                who = [r for r in found.recipients if "@" in r]
                why = found.skipped or ("nobody on call" if not who else "")
            except ActivityError as exc:
                why = str(exc.cause or exc)
        sentence = "on_call.opsgenie"
        if not who:
            sentence = "on_call.matrix"
            try:
                matrix = await self._load_matrix(urgency.URGENT)
                who = [str(c.email) for c in matrix.provider.on_call]
            except ActivityError as exc:
                why = f"{why}; {exc.cause or exc}"
                who = list(self.policy.notifications.incident_manager)
        if s.status not in ACTIVE and versions.patched(PATCH_NO_PAGE_WHEN_ENDED):
            self._record("on_call", SYSTEM, "on_call.ended", status=s.status)
            s.on_call_paged = True
            self._changed = True
            return
        self._record("on_call", SYSTEM, sentence, to=", ".join(who), reason=why, **told_reason(why))
        self._mail("on_call", who)
        s.on_call_paged = True
        self._changed = True

    def _open_alert(self, input: IncidentInput) -> None:
        s = self.state
        if input.alert is not None:
            s.alert = input.alert
            return
        # Alias = workflow id: the alert's own Create webhook then maps back to this incident.
        s.alert = AlertRef(identifier=s.incident_id, identifier_type="alias")
        body: dict[str, Any] = {
            "message": s.title[:130],
            "alias": s.incident_id,
            "description": (s.description or s.title)[:15000],
            "priority": s.priority,
            "tags": [TAG, status_tag(s.status), service_level_tag(s.service_level)],
            "details": {"vigie_incident": s.incident_id, "service_level": s.service_level},
            "source": OWN_SOURCE,
            "user": input.opened_by,
        }
        if s.application:
            body["entity"] = s.application
        if s.requesters:
            body["details"]["requesters"] = ",".join(s.requesters)
        self._mirror(AlertCommand(action="create", user=input.opened_by, alert=body))

    # ------------------------------------------------------------ deadlines

    @property
    def state(self) -> IncidentState:
        assert self._state is not None, "incident state is not loaded yet"
        return self._state

    @property
    def policy(self) -> Policy:
        return self.state.policy

    def _deadlines(self) -> Deadlines:
        s = self.state
        return self._deadline_memo(self.policy, s.priority, s.service_level, s.opened_at, s.stops)

    def _timed_events(self) -> list[tuple[datetime, str]]:
        return timed_events(self.state, self._deadlines(), self.policy)

    def _next_due(self) -> datetime | None:
        return next_due(self._timed_events())

    def _next_deadline(self, now: datetime) -> datetime | None:
        return future([at for at, _ in self._timed_events()], now)

    def _fire_deadlines(self, now: datetime) -> None:
        due = [(at, kind) for at, kind in sorted(self._timed_events()) if at <= now]
        kinds = {kind for _, kind in due}
        folded: set[str] = set()
        for at, kind in due:
            if self._moot_warning(kind, kinds):
                folded.add(WARNED_BY[kind])
                continue
            self._fire(kind, at, folded)

    def _moot_warning(self, kind: str, due: set[str]) -> bool:
        """A warning whose deadline is due too (a back-dated ticket, a worker back after the
        deadline) is not sent: "the deadline approaches" the moment its breach is told, and
        the breach goes to those the warning was for as well. It counts as given, so that it
        never comes later."""
        if WARNED_BY.get(kind) not in due or not versions.patched(PATCH_NO_MOOT_WARNING):
            return False
        s = self.state
        if kind == "ack_warning":
            s.ack_warned = True
        else:
            s.resolution_warned = True
        return True

    def _fire(self, kind: str, at: datetime, folded: set[str] | None = None) -> None:
        s, d = self.state, self._deadlines()
        im = self.policy.notifications.incident_manager
        warned_people = [*self.policy.notifications.team, *im]
        if kind in (folded or ()):  # its warning was folded into it: to its readers too
            im = warned_people
        if kind == "ack_warning":
            s.ack_warned = True
            self._record(kind, SYSTEM, due_at=self._iso(d.ack_due_at))
            self._mail(kind, warned_people)
        elif kind == "ack_breach":
            s.ack_breached = True
            self._count_breach("acknowledgement")
            self._record(kind, SYSTEM, due_at=self._iso(at))
            self._mail(kind, im)
            self._mirror_breach()
            self._chat("breach")
        elif kind == "resolution_warning":
            s.resolution_warned = True
            self._record(kind, SYSTEM, due_at=self._iso(d.resolution_due_at))
            self._mail(kind, warned_people)
        elif kind == "resolution_breach":
            s.resolution_breached = True
            self._count_breach("resolution")
            self._record(kind, SYSTEM, due_at=self._iso(at))
            self._mail(kind, im)
            self._mirror_breach()
            self._chat("breach")
            self._tell_crisis("breached", SYSTEM)
        elif kind == "p1_status":
            self._p1_status(at)
        elif kind == "auto_close":
            self._close(SYSTEM, "auto_closed", quiet=str(self.policy.auto_close_after))

    def _p1_status(self, at: datetime) -> None:
        """§3.1 confirmed P1: the client hears regularly from the incident manager, with the
        work logged since the last status; when nothing was logged, the manager is reminded."""
        s = self.state
        since = s.p1_status_at
        assert since is not None
        logged = [e.text for e in s.timeline if e.kind == "worklog" and e.at > since]
        now = workflow.now()
        every = self.policy.confirmed_p1_status_every.on_clock(None)
        # Woken late (a worker outage, a reopening): the next status is one period from now.
        s.p1_status_at = at if at + every > now else now
        im = self.policy.notifications.incident_manager
        if logged:
            self._record("p1_status", SYSTEM, "p1_status", text=" / ".join(logged)[:4000])
        else:
            self._record("p1_status", SYSTEM, "p1_status.nothing")
            self._mail("p1_status_reminder", im)
        self._mail("p1_status", [*s.requesters, *im])
        self._chat("status_update")

    def _count_breach(self, deadline: str) -> None:
        s = self.state
        count(
            workflow.metric_meter(),
            "vigie_sla_breaches",
            deadline=deadline,
            priority=s.priority,
            service_level=s.service_level,
        )

    # ----------------------------------------------------------- operations

    def _require(self, operation: str, allowed: tuple[IncidentStatusName, ...]) -> None:
        require(self.state.status, operation, allowed)

    def _check_acknowledge(self, input: AcknowledgeInput) -> None:
        self._require("acknowledge", ("open",))

    def _apply_acknowledge(self, input: AcknowledgeInput) -> None:
        s = self.state
        s.status = "in_progress"
        s.acknowledged_at = workflow.now()
        self._record(
            "acknowledged", input.by, self._noted("acknowledged", input.note), note=input.note or ""
        )
        self._mail("acknowledged", s.requesters)
        self._tell_crisis("acknowledged", input.by, input.note or "")
        if input.via == "vigie":
            self._mirror(AlertCommand(action="acknowledge", user=input.by, note=input.note))

    def _check_add_worklog(self, input: WorklogInput) -> None:
        self._require("add a worklog", ("open", "in_progress", "pending", "resolved"))

    def _apply_add_worklog(self, input: WorklogInput) -> None:
        self._record("worklog", input.by, text=input.text)
        if self.policy.notifications.mail_requesters_on_worklog:
            self._mail("worklog", self.state.requesters)
        self._mirror_note(input.via, input.by)

    def _check_set_pending(self, input: SetPendingInput) -> None:
        self._require("set pending", ("in_progress",))

    def _apply_set_pending(self, input: SetPendingInput) -> None:
        s = self.state
        s.status = "pending"
        s.waiting_on = input.waiting_on
        s.stops.append(Stop(start=workflow.now(), reason=f"pending on {input.waiting_on}"))
        self._record("pending", input.by, waiting_on=input.waiting_on, reason=input.reason)
        self._mail("pending", [*s.requesters, *self.policy.notifications.incident_manager])
        self._mirror_note(input.via, input.by)
        self._tell_crisis("pending", input.by, input.reason)

    def _check_resume(self, input: ResumeInput) -> None:
        self._require("resume", ("pending",))

    def _apply_resume(self, input: ResumeInput) -> None:
        s = self.state
        self._end_stop()
        s.status = "in_progress"
        s.waiting_on = None
        self._record(
            "resumed",
            input.by,
            self._noted("resumed", input.note),
            note=input.note or "",
            due_at=self._iso(self._deadlines().resolution_due_at),
        )
        self._mail("resumed", s.requesters)
        self._tell_crisis("resumed", input.by, input.note or "")

    def _check_recategorize(self, input: RecategorizeInput) -> None:
        self._require("recategorize", ACTIVE)
        seen, sent = self.state.opsgenie_priority_seen, _priority_event_time(input)
        if seen is not None and sent is not None and sent < seen:
            if workflow.unsafe.is_read_only() or versions.patched(PATCH_STALE_PRIORITY):
                raise Refused(
                    "an older priority change from Opsgenie, delivered after a later one",
                    "why.stale_priority",
                )
        priority, level = self._new_class(input)
        if self._confirms_level(input, priority, level):
            return
        tagged = input.via == "opsgenie" and input.opsgenie_priority is None
        if tagged and input.service_level and not self.state.service_level_defaulted:
            # A level tag added in Opsgenie answers the question of a level taken by default;
            # a level once known is changed in Vigie (its echo could come back out of order).
            if workflow.unsafe.is_read_only() or versions.patched(PATCH_TAGGED_LEVEL):
                raise Refused(
                    "the service level is known: it is changed in Vigie (recategorize)",
                    "why.level_known", service_level=self.state.service_level,
                )  # fmt: skip
        if (priority, level) == (self.state.priority, self.state.service_level):
            raise Refused(
                f"cannot recategorize: the incident is already {priority} {level}",
                "why.same_class", priority=priority, service_level=level,
            )  # fmt: skip

    def _new_class(self, input: RecategorizeInput) -> tuple[Priority, Any]:
        return new_class(self.state, self.policy, input)

    def _confirms_level(self, input: RecategorizeInput, priority: Priority, level: Any) -> bool:
        """The same class, naming the service level the incident took by default while it
        is asked for: the level is confirmed (only asked for under defaulted-level-asked)."""
        s = self.state
        return (
            input.service_level is not None
            and "service_level" in s.missing_fields
            and (priority, level) == (s.priority, s.service_level)
        )

    def _level_confirmed(self, by: str) -> None:
        self._level_named()
        self._record("level_confirmed", by, service_level=self.state.service_level)

    def _level_named(self) -> None:
        """A service level was named: no longer the default, no longer asked for."""
        s = self.state
        s.service_level_defaulted = False
        s.missing_fields = [f for f in s.missing_fields if f != "service_level"]

    def _apply_recategorize(self, input: RecategorizeInput) -> None:
        sent = _priority_event_time(input)
        if sent is not None:  # the latest priority change from Opsgenie applied
            self.state.opsgenie_priority_seen = max(sent, self.state.opsgenie_priority_seen or 0)
            self._priority_settled()
        if self._confirms_level(input, *self._new_class(input)):
            self._level_confirmed(input.by)
            return
        if input.service_level:
            self._level_named()
        before = f"{self.state.priority} {self.state.service_level}"
        before_priority, before_level = self.state.priority, self.state.service_level
        priority, level = self._new_class(input)
        self._reclassify(priority, level)
        self._record(
            "recategorized",
            input.by,
            before=before,
            after=f"{priority} {level}",
            reason=input.reason,
        )
        entry = self.state.timeline[-1]  # what the mail and the note tell, not a voided breach
        self._tell_voided()
        self._mail("recategorized", self.state.requesters, entry)
        shown = f"{before_priority} {str(before_level).capitalize()} → {priority} "
        self._tell_crisis("recategorized", input.by, f"{shown}{str(level).capitalize()}")
        self._mirror_note(input.via, input.by, entry)
        if input.via != "vigie":
            return
        moved_level = level != before_level
        if (priority == before_priority or moved_level) and versions.patched(PATCH_CLASS_MIRROR):
            if priority != before_priority:
                self._mirror_priority(input.by, priority, before_priority)
            if moved_level:  # the alert's tag names the level: kept in step
                old, new = service_level_tag(before_level), service_level_tag(level)
                self._mirror(AlertCommand(action="remove_tags", user=input.by, tags=[old]))
                self._mirror(AlertCommand(action="add_tags", user=input.by, tags=[new]))
            return
        self._mirror_priority(input.by, priority, before_priority)

    def _reclassify(self, priority: Priority, level: Any) -> None:
        """New class, deadlines recomputed from T0; flags reset where the new deadline is ahead."""
        s = self.state
        became_p1 = priority == "P1" and s.priority != "P1"
        s.priority, s.service_level = priority, level
        if priority != "P1":
            s.p1_status_at = None  # regular status mails are for confirmed P1s
        self._maybe_page_on_call()
        if became_p1:
            self._chat("p1_opened")
        if "priority" in s.missing_fields:
            s.missing_fields.remove("priority")
        breached = {"ack": s.ack_breached, "resolution": s.resolution_breached}
        d = self._deadlines()
        reset_flags(s, d, workflow.now())
        now_breached = {"ack": s.ack_breached, "resolution": s.resolution_breached}
        self._voided = [
            (k, d.ack_due_at if k == "ack" else d.resolution_due_at)
            for k in breached
            if breached[k] and not now_breached[k]
        ]  # told after the entry of the change that undid them (_tell_voided)
        self._follow_class()

    def _tell_voided(self) -> None:
        """Said, never silent: the breaches a new class undid were mailed, and the ledger no
        longer counts them."""
        voided, self._voided = self._voided, []
        if voided and versions.patched(PATCH_BREACH_VOIDED):
            for which, due in voided:
                self._record("breach_voided", SYSTEM, f"breach_voided.{which}",
                             due_at=due.isoformat() if due else "")  # fmt: skip

    def _check_alert_created(self, input: AlertCreatedInput) -> None:
        pass  # a Create delivered again to a resolved or closed incident changes nothing

    def _apply_alert_created(self, input: AlertCreatedInput) -> None:
        """Fills in what the incident lacks: a true repeat of the Create changes nothing."""
        s = self.state
        if s.status not in ACTIVE:
            if self._adds_something(input) and versions.patched(PATCH_CREATE_AFTER_END):
                self._create_after_end(input)
            return
        level = input.service_level
        if level == s.service_level and "service_level" in s.missing_fields:
            self._level_confirmed(input.by)  # the Create names the level it took by default
        new_level = level if s.service_level_defaulted and level != s.service_level else None
        added = list(dict.fromkeys(r for r in input.requesters if r not in s.requesters))
        if (new_level or added) and versions.patched(PATCH_CREATE_COMPLETES):
            self._complete_from_create(input, new_level, added)
            return
        filled = self._fill_fields(input)
        # An earlier event's author (who acknowledged, say) is no requester of the alert's.
        added = [r for r in input.requesters if r not in s.requesters]
        if added:
            s.requesters = [*s.requesters, *added][:MAX_REQUESTERS]
            filled.append("requesters")
        if self._fill_details(input):
            filled.append("details")
        s.missing_fields = [f for f in s.missing_fields if f not in filled]
        if "priority" in s.missing_fields and input.opsgenie_priority:
            filled.append("priority")
            change = RecategorizeInput(
                by=input.by, via="opsgenie", opsgenie_priority=input.opsgenie_priority,
                reason=render("alert_created.priority", {}, s.language, "UTC"),
            )  # fmt: skip
            if self._new_class(change)[0] != s.priority:
                self._apply_recategorize(change)  # a P1 pages, and tells the chat
            s.missing_fields = [f for f in s.missing_fields if f != "priority"]
        if filled:
            self._record("alert_created", input.by, missing=", ".join(filled))

    def _adds_something(self, input: AlertCreatedInput) -> bool:
        """Whether a Create gives the incident a field, a detail or a requester it lacks."""
        s = self.state
        return (
            any(getattr(input, n) and not getattr(s, n) for n in TICKET_FIELDS)
            or any(k not in s.details for k in input.details)
            or any(r not in s.requesters for r in input.requesters)
            or bool(input.opsgenie_priority and "priority" in s.missing_fields)
            or bool(input.service_level and s.service_level_defaulted)
        )

    def _create_after_end(self, input: AlertCreatedInput) -> None:
        """The alert's Create reached Vigie after its Close: a resolved incident takes what
        it lacks, and the requesters it adds are told of the resolution; a closed one takes
        nothing, and says so."""
        s = self.state
        if s.status != "resolved":
            self._record("alert_created", input.by, "alert_created.ended", status=s.status)
            return
        filled = self._fill_fields(input) + self._class_after_end(input)
        if self._fill_details(input):
            filled.append("details")
        told = self._add_requesters(
            [r for r in dict.fromkeys(input.requesters) if r not in s.requesters]
        )
        if told:
            filled.append("requesters")
        s.missing_fields = [f for f in s.missing_fields if f not in filled]
        if filled:
            self._record("alert_created", input.by, missing=", ".join(filled))
        resolution = next((e for e in reversed(s.timeline) if e.kind == "resolved"), None)
        self._mail("resolved", told, resolution)  # the resolution, as the others were told

    def _class_after_end(self, input: AlertCreatedInput) -> list[str]:
        """The class a resolved incident was asked for, as the Create gives it (no mail, no
        page: the incident is resolved); the fields it filled."""
        s = self.state
        priority = input.opsgenie_priority if "priority" in s.missing_fields else None
        level = input.service_level if s.service_level_defaulted else None
        if not (priority or level) or not versions.patched(PATCH_CREATE_CLASS_AFTER_END):
            return []
        change = RecategorizeInput(by=input.by, via="opsgenie", opsgenie_priority=priority,
                                   service_level=level, reason="-")  # fmt: skip
        new_priority, new_level = self._new_class(change)
        moved = (new_priority != s.priority, new_level != s.service_level)
        before = f"{s.priority} {s.service_level}"
        s.priority, s.service_level = new_priority, new_level
        filled = ["priority"] * bool(priority) + ["service_level"] * bool(level)
        if level:
            self._level_named()
        if any(moved):
            what = {(True, True): "class", (True, False): "priority"}.get(moved, "level")
            reason = render(f"alert_created.{what}", {}, s.language, "UTC")
            self._record("recategorized", input.by, before=before,
                         after=f"{new_priority} {new_level}", reason=reason)  # fmt: skip
        return filled

    def _add_requesters(self, added: list[str]) -> list[str]:
        """The requesters ``added`` the incident has room for, added; those it took."""
        s = self.state
        told = added[: max(MAX_REQUESTERS - len(s.requesters), 0)]
        s.requesters = [*s.requesters, *told]
        return told

    def _fill_fields(self, input: AlertCreatedInput) -> list[str]:
        """The one-line fields the incident lacks and the Create gives: set, and named."""
        s = self.state
        filled = [name for name in TICKET_FIELDS if getattr(input, name) and not getattr(s, name)]
        for name in filled:
            setattr(s, name, getattr(input, name))
        return filled

    def _fill_details(self, input: AlertCreatedInput) -> bool:
        """Details the incident lacks, as many as it has room for; whether any was added."""
        s = self.state
        new_details = {k: v for k, v in input.details.items() if k not in s.details}
        room = max(MAX_DETAILS - len(s.details), 0)
        if new_details and room:
            s.details.update(dict(list(new_details.items())[:room]))
            return True
        return False

    def _complete_from_create(
        self, input: AlertCreatedInput, new_level: ServiceLevel | None, added: list[str]
    ) -> None:
        """The Create came after the event that opened the incident: what it was opened
        without is filled in, its class set as the alert gives it (a service level it named,
        the priority if none was given), and the requesters it adds are told of the incident,
        in its class by then; the earlier requesters are told of the new class."""
        s = self.state
        filled = self._fill_fields(input)
        if self._fill_details(input):
            filled.append("details")
        priority = input.opsgenie_priority if "priority" in s.missing_fields else None
        if priority:
            filled.append("priority")
        if new_level:
            filled.append("service_level")
        s.missing_fields = [f for f in s.missing_fields if f not in filled]
        if priority or new_level:
            change = RecategorizeInput(
                by=input.by, via="opsgenie", opsgenie_priority=priority, service_level=new_level,
                reason="-",
            )  # fmt: skip
            new_priority, level = self._new_class(change)
            moved = (new_priority != s.priority, level != s.service_level)
            if any(moved):
                what = {(True, True): "class", (True, False): "priority"}.get(moved, "level")
                reason = render(f"alert_created.{what}", {}, s.language, "UTC")
                self._apply_recategorize(change.model_copy(update={"reason": reason}))
        if new_level:
            self._level_named()  # by the Create
        told = self._add_requesters(added)
        if told:
            filled.append("requesters")
            s.missing_fields = [f for f in s.missing_fields if f != "requesters"]
        if filled:
            self._record("alert_created", input.by, missing=", ".join(filled))
        self._mail("opened", told)  # as to the requesters of any opening

    def _check_qualify_p1(self, input: QualifyP1Input) -> None:
        self._require("qualify a P1", ACTIVE)
        if self.state.priority != "P1":
            raise Refused(
                f"cannot qualify as P1: the incident is {self.state.priority}",
                "why.not_p1", priority=self.state.priority,
            )  # fmt: skip
        s = self.state
        if s.major and s.crisis_id is not None and self._major_once():
            raise Refused(
                f"cannot qualify as P1 again: the incident is qualified major (crisis "
                f"{s.crisis_id}); the crisis is run from its own workflow (if it was "
                "cancelled, vigie crisis open --t0 ... --customer ... opens another)",
                "why.major",
                crisis_id=s.crisis_id,
            )

    @staticmethod
    def _major_once() -> bool:
        """Update validators never run on replay: there the rule holds at once. A handler
        (a Signal, an Update applied) follows the patch, so that a history where a major
        incident was qualified again replays as it ran."""
        return workflow.unsafe.is_read_only() or versions.patched(PATCH_MAJOR_ONCE)

    def _apply_qualify_p1(self, input: QualifyP1Input) -> None:
        s = self.state
        s.p1_verdict = input.verdict
        if input.verdict == "unconfirmed":
            assert input.new_priority is not None
            self._reclassify(input.new_priority, s.service_level)
            self._tell_crisis("recategorized", input.by, f"P1 → {input.new_priority}")
        elif input.verdict == "confirmed" and self._p1_status_on:
            s.p1_status_at = workflow.now()  # the first status is due one period from now
        elif input.verdict == "major":
            s.major = True
            if self._crisis and s.crisis_id is None:
                s.crisis_id = f"crisis-{s.incident_id}"
                self._tasks.append(asyncio.create_task(self._start_crisis(input)))
        self._record(
            "qualified",
            input.by,
            f"qualified.{input.verdict}",
            priority=s.priority,
            note=input.note or "",
        )
        entry = s.timeline[-1]  # what the mail and the note tell (breaches voided come after)
        self._tell_voided()
        self._mail("qualified", s.requesters, entry)
        self._mirror_note(input.via, input.by, entry)
        if input.verdict == "unconfirmed" and input.via == "vigie":
            self._mirror_priority(input.by, s.priority, "P1")  # it was a P1

    def _check_resolve(self, input: ResolveInput) -> None:
        self._require("resolve", ACTIVE)

    def _apply_resolve(self, input: ResolveInput) -> None:
        s = self.state
        now = workflow.now()
        if s.status == "pending":
            self._end_stop()
        s.status = "resolved"
        s.waiting_on = None
        s.resolved_at = now
        s.stops.append(Stop(start=now, reason=RESOLVED_STOP))
        self._record("resolved", input.by, resolution=input.resolution)
        self._mail("resolved", s.requesters)
        self._tell_crisis("resolved", input.by, input.resolution)
        if input.via == "vigie":
            note = f"{NOTE_MARK} {s.timeline[-1].text}"  # the resolution, as the timeline says
            self._mirror(AlertCommand(action="close", user=input.by, note=note))
        if input.runbook_change:
            self._record("runbook_change", input.by, text=input.runbook_change)
        if input.problem:
            self._record(
                "problem_proposal",
                input.by,
                problem_reason=input.problem.reason,
                text=input.problem.text,
            )
            self._mail("problem_proposal", self.policy.notifications.incident_manager)

    def _check_close(self, input: CloseInput) -> None:
        self._require("close", ("resolved",))

    def _apply_close(self, input: CloseInput) -> None:
        self._close(input.by, self._noted("closed", input.note), note=input.note or "")

    def _close(self, by: str, sentence: str, **fields: str) -> None:
        s = self.state
        s.status = "closed"
        s.closed_at = workflow.now()
        self._record("closed", by, sentence, **fields)
        self._mail("closed", s.requesters)
        self._tell_crisis("closed", by, fields.get("note", ""))

    def _check_reopen(self, input: ReopenInput) -> None:
        self._require("reopen", ("resolved",))

    def _apply_reopen(self, input: ReopenInput) -> None:
        s = self.state
        self._end_stop()
        s.status = "in_progress"
        s.resolved_at = None
        due_at = self._iso(self._deadlines().resolution_due_at)
        self._record("reopened", input.by, reason=input.reason, due_at=due_at)
        self._mail("reopened", s.requesters)
        self._tell_crisis("reopened", input.by, input.reason)
        self._mirror_note(input.via, input.by)

    def _check_record_event(self, input: RecordEventInput) -> None:
        if (
            input.kind in OWN_KINDS
            and (workflow.unsafe.is_read_only() or versions.patched(PATCH_OWN_KINDS))
        ) or (
            input.kind in MORE_OWN_KINDS
            and (workflow.unsafe.is_read_only() or versions.patched(PATCH_OWN_KINDS_ALL))
        ):
            raise Refused(
                f"{input.kind!r} is an event the incident records itself: choose another kind",
                "why.reserved_kind",
                event_kind=input.kind,
            )
        if self.state.status == "closed" and input.kind == "crisis_closed":
            # The crisis's end, told while the closed incident sends its last mails: kept.
            if workflow.unsafe.is_read_only() or versions.patched(PATCH_CRISIS_END_AFTER_CLOSE):
                return
        self._require("record an event", ("open", "in_progress", "pending", "resolved"))

    def _apply_record_event(self, input: RecordEventInput) -> None:
        if input.sentence is not None:
            self._record(input.kind, input.by, input.sentence, **input.fields)
        else:
            self._record(input.kind, input.by, "event", text=input.text)

    async def _start_crisis(self, qualified: QualifyP1Input) -> None:
        s, by = self.state, qualified.by
        assert s.crisis_id is not None
        context = " ".join(x for x in (s.description, s.category, s.application) if x)
        d = self._deadlines()
        try:
            await workflow.start_child_workflow(
                "CrisisWorkflow",
                CrisisInput(
                    title=s.title,
                    criterion="major_incident",
                    t0=s.opened_at,
                    incident_id=s.incident_id,
                    application=s.application,
                    context=context,
                    description=s.description,
                    resolution_warning_at=d.resolution_warning_at,
                    resolution_due_at=d.resolution_due_at,
                    opened_by=by,
                    language=s.language,
                    mail_system_affected=qualified.mail_system_affected,
                    security_involved=qualified.security_involved,
                    ticket_opened_at=s.ticket_opened_at,
                    acknowledged_at=s.acknowledged_at,
                    customer=self._input.customer,
                ),
                id=s.crisis_id,
                parent_close_policy=workflow.ParentClosePolicy.ABANDON,
                static_summary=crisis_summary(s.title, s.language),
                priority=urgency.URGENT,
            )
        except Exception as exc:  # e.g. a crisis with that id exists: record, carry on
            self._record("crisis_failed", SYSTEM, crisis_id=s.crisis_id,
                         **workflow_failure_fields(exc))  # fmt: skip
            # No crisis to tell: news would wait forever; qualifying again may start one.
            s.crisis_id = None
            s.crisis_outbox.clear()
            if versions.patched(PATCH_CRISIS_FAILURE_TOLD):
                self._mail("crisis_failed", self.policy.notifications.incident_manager)
                self._changed = True
            return
        self._record("crisis", by, crisis_id=s.crisis_id)
        s.crisis_started = True
        self._changed = True

    def _check_request_urgent_change(self, input: UrgentChangeInput) -> None:
        self._require("request an urgent change", ("open", "in_progress", "pending", "resolved"))

    def _apply_request_urgent_change(self, input: UrgentChangeInput) -> None:
        s = self.state
        change = request(s.urgent_changes, input, workflow.now(), prefix="INC-UC")
        self._record("urgent_change", input.by, change_id=change.id, what=input.what, why=input.why)
        self._tasks.append(asyncio.create_task(self._mail_change_manager(s.timeline[-1])))
        self._tell_crisis("urgent_change", input.by, input.what, change=change)

    async def _load_matrix(self, priority: TaskPriority = urgency.ROUTINE) -> EscalationMatrix:
        """The escalation matrix as the worker reads it now (contacts by role); the last valid
        one, said in the timeline, while the file is broken."""
        matrix = await read_matrix(
            self.state.incident_id, RetryPolicy(maximum_attempts=3), priority
        )
        if matrix.warning:
            self._record("matrix_warning", SYSTEM, "matrix_fallback",
                         version=str(matrix.version), error=matrix.warning)  # fmt: skip
        return matrix

    async def _mail_change_manager(self, event: TimelineEntry) -> None:
        """The change manager from the escalation matrix (the incident manager if none)."""
        to = list(self.policy.notifications.incident_manager)
        try:
            matrix = await self._load_matrix()
            to = [str(c.email) for c in matrix.provider.change_manager] or to
        except ActivityError as exc:
            self._record("note", SYSTEM, "event", text=f"matrix: {exc.cause or exc}")
        self._mail("urgent_change", to, event=event)
        self._changed = True

    def _check_complete_urgent_change(self, input: CompleteUrgentChangeInput) -> None:
        open_change(self.state.urgent_changes, input.change_id)

    def _apply_complete_urgent_change(self, input: CompleteUrgentChangeInput) -> None:
        change = complete(self.state.urgent_changes, input, workflow.now())
        self._record("urgent_change_done", input.by, change_id=change.id, outcome=input.outcome)
        self._tell_crisis("urgent_change", input.by, input.outcome, change=change)

    def _tell_crisis(
        self, event: IncidentEvent, by: str, text: str = "", change: UrgentChange | None = None
    ) -> None:
        """Queues news for the incident's crisis: it follows the incident as it happens."""
        s = self.state
        if not self._tell_crisis_on or s.crisis_id is None:
            return
        d = self._deadlines()
        s.crisis_outbox.append(
            IncidentNews(
                by=by,
                event=event,
                at=workflow.now(),
                resolution_warning_at=d.resolution_warning_at,
                resolution_due_at=d.resolution_due_at,
                text=text[:2000],
                change=change.model_copy() if change else None,
            )
        )

    def _crisis_news(self) -> list[IncidentNews]:
        """News ready to go: none before the crisis has started."""
        s = self.state
        return s.crisis_outbox if s.crisis_started else []

    async def _send_news(self, news: IncidentNews) -> None:
        s = self.state
        assert s.crisis_id is not None
        handle = workflow.get_external_workflow_handle(s.crisis_id)
        try:
            await handle.signal("incident_changed", news)
        except CancelledError as exc:
            raise asyncio.CancelledError() from exc  # the run ends; the news stays queued
        except Exception as exc:  # the crisis may be over: the incident goes on
            self._record("crisis_unreachable", SYSTEM, crisis_id=s.crisis_id,
                         **workflow_failure_fields(exc))  # fmt: skip

    def _end_stop(self) -> None:
        for stop in self.state.stops:
            if stop.end is None:
                stop.end = workflow.now()

    # --------------------------------------------------- handler plumbing

    def _after_change(self) -> None:
        self._publish()

    def _in_own_words(self, input: InputT) -> InputT:
        """What Opsgenie's events say in Vigie's words ("alerte acquittée dans Opsgenie"),
        told in the incident's language rather than the receiver's; what the person typed
        with it stays as written."""
        said = getattr(input, "said", None)
        if said is None or said.field not in type(input).model_fields:
            return input
        s = self.state
        try:
            text = render(
                said.sentence, said.fields, s.language, self.policy.business_hours.timezone
            )
        except Exception as exc:  # whatever was typed, refused and said, never a failed task
            raise Refused(f"said: cannot be told ({type(exc).__name__})") from None
        if said.typed:
            text = f"{text} — {said.typed}"
        return input.model_copy(update={said.field: clip(text, MAX_TEXT), "said": None})

    def _own_echo(self, input: BaseModel) -> bool:
        """An UpdatePriority from Opsgenie naming a priority Vigie set a moment ago is that
        change coming back (Opsgenie takes no source for it): left out, so that an echo
        arriving after a later change never takes the incident back."""
        s = self.state
        if not isinstance(input, RecategorizeInput) or input.via != "opsgenie":
            return False
        recent = workflow.now() - ECHO_WINDOW
        sending = {c.priority for c in s.alert_outbox if c.action == "priority"}
        echo = next(
            (
                e
                for e in s.priority_echoes
                if e.priority == input.opsgenie_priority
                and ((e.at or e.queued_at or recent) >= recent or e.priority in sending)
            ),
            None,
        )
        if echo is None or not versions.patched(PATCH_OWN_PRIORITY_ECHO):
            return False
        s.priority_echoes = [e for e in s.priority_echoes if e is not echo]
        seen = s.opsgenie_priority_seen  # the latest change from Opsgenie before this echo
        if (sent := _priority_event_time(input)) is not None:  # Vigie's change is the latest
            s.opsgenie_priority_seen = max(sent, s.opsgenie_priority_seen or 0)
        latest = sent is not None and seen is not None and sent > seen
        if input.opsgenie_priority is not None and latest:
            self._restore_alert_priority(input.opsgenie_priority, sending, recent)
        return True

    def _restore_alert_priority(
        self, shown: str, sending: set[str | None], recent: datetime
    ) -> None:
        """The alert shows ``shown`` (Vigie's own change, come back, after a change made in
        Opsgenie) while the incident has another priority, not on its way to the alert: that
        change, made while Vigie's was held back, was applied here and Vigie's landed over it.
        The alert is set back to the incident's. (Vigie sets its own names on the alert:
        ``shown`` is compared as it is.)"""
        s = self.state
        priority = s.priority
        if s.status not in ACTIVE or shown == priority:
            return
        if not (self._mirroring and s.alert is not None and s.alert_mirror_off is None):
            return  # the alert is not kept in step: nothing would be set back
        on_its_way = any(
            e.priority == priority and ((e.at or e.queued_at or recent) >= recent)
            for e in s.priority_echoes
        )
        if priority in sending or on_its_way:
            return  # the incident's priority is on its way to the alert already
        if versions.patched(PATCH_ECHO_DIVERGED):
            self._record("alert_priority_restored", SYSTEM, priority=priority,
                         alert_priority=shown)  # fmt: skip
            self._mirror_priority(SYSTEM, priority, shown)

    def _priority_settled(self) -> None:
        """Opsgenie said the priority: no longer asked for (a late Create's is older)."""
        s = self.state
        if "priority" in s.missing_fields and versions.patched(PATCH_PRIORITY_SETTLED):
            s.missing_fields = [f for f in s.missing_fields if f != "priority"]

    def _signal_refused(
        self, name: str, by: str | None, input: Any, reason: str, told: dict[str, str]
    ) -> None:
        s = self.state
        sent = _priority_event_time(input) if isinstance(input, RecategorizeInput) else None
        if sent is not None and told.get("why") == "why.same_class":
            # Opsgenie set the priority the incident has: the latest word on it all the same.
            if sent > (s.opsgenie_priority_seen or 0) and versions.patched(PATCH_PRIORITY_SETTLED):
                s.opsgenie_priority_seen = sent
            self._priority_settled()
        if getattr(input, "via", None) == "opsgenie":
            # Opsgenie reports what happened there; when it changes nothing here, note it.
            self._record(
                "opsgenie", by or "opsgenie", "opsgenie_no_change", operation=name,
                reason=reason, **told,
            )  # fmt: skip
        else:
            self._record("refused", by or "unknown", operation=name, reason=reason, **told)

    def _apply(self, apply: Callable[[InputT], None], input: InputT) -> None:
        before = self.state.status
        apply(input)
        after = self.state.status
        if after != before:
            user = str(getattr(input, "by", SYSTEM))
            self._mirror(AlertCommand(action="remove_tags", user=user, tags=[status_tag(before)]))
            self._mirror(AlertCommand(action="add_tags", user=user, tags=[status_tag(after)]))

    @workflow.signal(name="alert_created", description=DESCRIPTIONS["alert_created"])
    async def alert_created_signal(self, *inputs: Any) -> None:
        await self._run_signal(ALERT_CREATED, inputs)  # refused unless exactly one

    @workflow.query(
        name="status",
        description=DESCRIPTIONS["status"],
    )
    def status(self) -> IncidentView:
        if self._state is None and self._refused is not None:
            raise ApplicationError(
                f"input refused at the start, nothing was opened: {self._refused[:MAX_REASON]}"
            )
        if self._state is None:
            raise ApplicationError("the incident is still opening; query again in a moment")
        return self._view()

    # ------------------------------------------------------ mail and view

    def _record(self, kind: str, by: str, sentence: str | None = None, **fields: str) -> None:
        """Records an event as data (kind, fields), told in the incident's language."""
        s = self.state
        key = sentence or kind
        text = render(key, fields, s.language, self.policy.business_hours.timezone)
        entry = TimelineEntry(
            at=workflow.now(), kind=kind, by=by, text=text, fields=fields, sentence=key
        )
        s.timeline.append(entry)

    @staticmethod
    def _noted(sentence: str, note: str | None) -> str:
        """The wording with the operator's note, or without when there is none."""
        return f"{sentence}.note" if note else sentence

    @staticmethod
    def _iso(at: datetime | None) -> str:
        return at.isoformat() if at is not None else ""

    def _mail(self, kind: str, to: list[str], event: TimelineEntry | None = None) -> None:
        recipients = unique_recipients(to)
        if not recipients:
            return
        s = self.state
        key = f"{s.incident_id}.{s.mail_seq}"
        s.mail_seq += 1
        s.outbox.append(
            OutgoingMail(
                key=key,
                thread_key=s.thread_key,
                kind=kind,
                to=recipients,
                language=s.language,
                event=event or s.timeline[-1],
                moment=self._moment() if self._mail_state_on else None,
            )
        )
        if s.thread_key is None:
            s.thread_key = key

    def _mirror(self, command: AlertCommand) -> None:
        s = self.state
        if self._mirroring and s.alert is not None and s.alert_mirror_off is None:
            s.alert_outbox.append(command)

    def _mirror_priority(self, by: str, priority: str, before: str) -> None:
        """The alert's priority set as the incident's; a change is awaited back as Opsgenie's
        UpdatePriority webhook, Vigie's own echo, which may come before the change is known
        to be done (see _own_echo)."""
        s = self.state
        queued = len(s.alert_outbox)
        self._mirror(AlertCommand(action="priority", user=by, priority=priority))
        if len(s.alert_outbox) > queued and priority != before:
            echo = PriorityEcho(priority=priority, queued_at=workflow.now())
            s.priority_echoes = [*s.priority_echoes, echo][-ECHOES_KEPT:]

    def _echo_sent(self, command: AlertCommand, *, took: bool) -> None:
        """The priority change is done (its echo is awaited a while) or not (none comes)."""
        s = self.state
        echo = next(
            (e for e in s.priority_echoes if e.priority == command.priority and e.at is None),
            None,
        )
        if echo is None:
            return
        if took:
            echo.at = workflow.now()
        else:
            s.priority_echoes = [e for e in s.priority_echoes if e is not echo]

    def _mirror_note(self, via: str, by: str, entry: TimelineEntry | None = None) -> None:
        """Copies ``entry`` (the last timeline entry) to the alert, unless the change came from
        Opsgenie."""
        if via == "vigie":
            entry = entry or self.state.timeline[-1]
            note = f"{NOTE_MARK} {entry.text}"  # in the incident's language, as in its timeline
            self._mirror(AlertCommand(action="note", user=by, note=note[:25000]))

    def _mirror_breach(self) -> None:
        entry = self.state.timeline[-1]
        self._mirror(AlertCommand(action="note", user=SYSTEM, note=f"{NOTE_MARK} {entry.text}"))
        self._mirror(AlertCommand(action="add_tags", user=SYSTEM, tags=[BREACHED_TAG]))

    def _outboxes_empty(self) -> bool:
        s = self.state
        ledger_done = self._ledger is None or self._ledger.idle()
        return not s.outbox and not s.alert_outbox and not self._crisis_news() and ledger_done

    async def _drain(
        self, outbox: Callable[[], list[Any]], send: Callable[[Any], Awaitable[None]]
    ) -> None:
        """Sends an outbox in order; an item leaves it only once it was handled."""
        while True:
            await wait_until(lambda: bool(outbox()) and not self._stopping)
            self._in_flight += 1
            try:
                await send(outbox()[0])
                outbox().pop(0)
            finally:
                self._in_flight -= 1

    async def _send_mail(self, mail: OutgoingMail) -> None:
        def send(retry: RetryPolicy, _carried: tuple[str, ...] = ()) -> Awaitable[Any]:
            return workflow.execute_activity(
                "send_incident_mail",
                SendMailInput(
                    mail=mail.model_copy(update={"moment": None}),
                    incident=self._shown(mail),
                    display_timezone=self.policy.business_hours.timezone,
                ),
                start_to_close_timeout=timedelta(minutes=2),
                retry_policy=retry,
                summary=f"mail {mail.kind}",
                priority=urgency.of_mail(mail.kind),
            )

        failing = "mail:" + ",".join(sorted(mail.to))
        try:
            await self._in_rounds(send, "mail", mail.kind, ["RecipientsRefused"])
        except ActivityError as exc:
            reraise_if_run_ends(exc)
            self._record("mail_failed", SYSTEM, mail=mail.kind, to=", ".join(mail.to),
                         **failure_fields(exc))  # fmt: skip
            telling = mail.kind in ("notification_failed", "alert_failed")  # no ping-pong
            if not telling and versions.patched(PATCH_TELL_FAILURES):
                self._tell_failure("notification_failed", failing)
        else:
            self._failure_over(failing)

    async def _send_alert(self, command: AlertCommand) -> None:
        s = self.state
        assert s.alert is not None

        def send(retry: RetryPolicy, carried: tuple[str, ...] = ()) -> Awaitable[AlertActionResult]:
            assert s.alert is not None
            return workflow.execute_activity(
                "opsgenie_alert_action",
                AlertActionInput(
                    incident_id=s.incident_id,
                    alert=s.alert,
                    command=command,
                    request_id=carried[0] if carried else None,
                ),
                result_type=AlertActionResult,
                start_to_close_timeout=timedelta(minutes=2),
                heartbeat_timeout=timedelta(minutes=1),
                retry_policy=retry,
                summary=f"alert {command.action}",
            )

        try:
            result = await self._in_rounds(send, "alert", command.action, ["OpsgenieRejected"])
        except ActivityError as exc:
            reraise_if_run_ends(exc)
            self._record("alert_failed", SYSTEM, action=command.action, **failure_fields(exc))
            if command.action == "priority":
                self._echo_sent(command, took=False)
            if versions.patched(PATCH_TELL_FAILURES):
                self._tell_failure("alert_failed", "alert")
            return
        self._failure_over("alert")
        if command.action == "priority":  # its echo may come from now on: see _own_echo
            self._echo_sent(command, took=result.skipped is None)
        if result.skipped is not None:
            s.alert_mirror_off = result.skipped
            reason = result.skipped
            self._record("alert_off", SYSTEM, reason=reason, **told_reason(reason))
            del s.alert_outbox[1:]
            # The changes dropped with them are never echoed back.
            s.priority_echoes = [e for e in s.priority_echoes if e.at is not None]

    def _tell_failure(self, kind: Literal["notification_failed", "alert_failed"], key: str) -> None:
        """Never silent: the incident manager gets the failure just recorded by mail, and the
        alert a note, so that whichever path still works carries it. Once per streak: mails
        to the same recipients (or alert changes) that keep failing are told once, and again
        only after one went through."""
        if versions.patched(PATCH_TOLD_ONCE):
            if key in self.state.failures_told:
                return
            self.state.failures_told.append(key)
        entry = self.state.timeline[-1]
        self._mail(kind, self.policy.notifications.incident_manager, event=entry)
        if kind == "notification_failed":
            note = f"{NOTE_MARK} {entry.text}"
            self._mirror(AlertCommand(action="note", user=SYSTEM, note=note[:25000]))

    def _failure_over(self, key: str) -> None:
        if key in self.state.failures_told:
            self.state.failures_told.remove(key)

    def _in_rounds(
        self,
        send: Callable[[RetryPolicy, tuple[str, ...]], Awaitable[T]],
        outbox: Literal["mail", "alert"],
        item: str,
        non_retryable: list[str],
    ) -> Awaitable[T]:
        """Sends in rounds of attempts (a send that keeps failing is seen), or as before."""
        delivery = self.policy.mail_delivery if outbox == "mail" else self.policy.alert_delivery
        if not versions.patched(PATCH_ROUNDS):
            return send(delivery.retry_policy(non_retryable), ())
        return send_in_rounds(
            send, delivery, non_retryable, outbox=outbox, item=item,
            retrying=self.state.retrying, record=self._record, publish=self._publish,
        )  # fmt: skip

    def _moment(self) -> IncidentMoment:
        """The fields of the view that a mail shows of the incident's state, as they are now."""
        view = self._view(with_timeline=False)
        return IncidentMoment(**{name: getattr(view, name) for name in IncidentMoment.model_fields})

    def _shown(self, mail: OutgoingMail) -> IncidentView:
        """The incident a mail shows: as now, with the state of its moment when it has one."""
        now = self._view(with_timeline=False)
        return now.model_copy(update=dict(mail.moment)) if mail.moment else now

    def _answer(self) -> IncidentView:
        """An Update's answer: the incident without its timeline (``status`` has it), so that
        a burst of Updates does not grow the history with copies of the whole story."""
        return self._view(with_timeline=False)

    def _resolution_due_shown(self, d: Deadlines) -> datetime | None:
        """The resolution deadline people see: once resolved, the one the incident had."""
        s = self.state
        if d.resolution_due_at is not None or s.resolved_at is None:
            return d.resolution_due_at
        clock = clock_named(self.policy.clock_for(s.priority, s.service_level), self.policy)
        return due_as_resolved(clock, s.opened_at, s.stops, d.resolution_allowance)

    def _view(self, with_timeline: bool = True) -> IncidentView:
        s, d = self.state, self._deadlines()
        shown = shown_timeline(s.timeline) if with_timeline else []
        return IncidentView(
            incident_id=s.incident_id,
            status=s.status,
            priority=s.priority,
            service_level=s.service_level,
            title=s.title,
            category=s.category,
            description=s.description,
            application=s.application,
            requesters=s.requesters,
            source=s.source,
            opened_at=s.opened_at,
            ack_due_at=d.ack_due_at,
            acknowledged_at=s.acknowledged_at,
            resolution_due_at=self._resolution_due_shown(d),
            resolved_at=s.resolved_at,
            closed_at=s.closed_at,
            sla_paused=s.status == "pending",
            waiting_on=s.waiting_on,
            ack_breached=s.ack_breached,
            resolution_breached=s.resolution_breached,
            major=s.major,
            p1_verdict=s.p1_verdict,
            missing_fields=s.missing_fields,
            policy_version=self.policy.version,
            mails_pending=len(s.outbox),
            alert=s.alert,
            alert_changes_pending=len(s.alert_outbox),
            crisis_id=s.crisis_id,
            timeline=shown if with_timeline else [],
            timeline_omitted=len(s.timeline) - len(shown) if with_timeline else 0,
            ticket_opened_at=s.ticket_opened_at,
            urgent_changes=s.urgent_changes,
            timeline_trimmed=s.timeline_trimmed,
            retrying=list(s.retrying.values()),
        )

    def _publish(self) -> None:
        """Search attributes and the UI's current details, upserted only when they change."""
        s = self.state
        wanted = incident_attributes(
            status=s.status,
            priority=s.priority,
            service_level=s.service_level,
            breached=s.ack_breached or s.resolution_breached,
        )
        if self._next_due_on:
            wanted[NEXT_DUE] = self._next_due()
        self._published = publish(self._published, wanted)
        workflow.set_current_details(incident_details(s, self._deadlines(), workflow.now()))
        if self._ledger is not None:
            self._ledger.changed()

    # --------------------------------------------------- continue-as-new

    def _should_continue_as_new(self) -> bool:
        return history_is_long(self.policy.continue_as_new_after_events)

    async def _continue_as_new(self) -> None:
        if not versions.patched(PATCH_LIGHT_CAN):
            try:
                await wait_until(lambda: not self.state.outbox, timeout=timedelta(minutes=5))
            except TimeoutError:
                pass  # what is unsent travels in the state and goes out from the next run
            await wait_until(workflow.all_handlers_finished)
            workflow.continue_as_new(self._input.model_copy(update={"state": self.state}))
        # Never wait for the outboxes: no new send starts, the ones in flight finish (bounded:
        # during an outage the item travels and goes out again, with the same Message-ID),
        # child starts and other tasks finish, and the rest goes out from the next run.
        self._stopping = True
        await settle_in_flight(
            lambda: self._in_flight == 0 and all(t.done() for t in self._tasks),
            timedelta(seconds=self.policy.mail_delivery.in_flight_wait_seconds),
        )
        s = self.state
        if self._ledger is not None:
            self._ledger.stop()  # the next run writes its facts again
        # The next run gets its start's memo, not what this run upserted: given whole.
        memo = None  # older code: the start's memo
        if versions.patched(PATCH_T0_HANDED_ON):
            kept = {k: v for k, v in workflow.memo().items() if not isinstance(v, NotJson)}
            memo = {**kept, **t0_memo(s.opened_at)}  # an unreadable entry is not carried
        if versions.patched(PATCH_BOUNDED_CAN):  # under the payload limit
            workflow.continue_as_new(carried_input(self._input, s), memo=memo)
        s.timeline, trimmed = carried(s.timeline)
        s.timeline_trimmed += trimmed
        workflow.continue_as_new(self._input.model_copy(update={"state": s}), memo=memo)
