"""CrisisWorkflow: the crisis process of a major incident or a crisis event (procedure §4).

It drives the chronogram from T0, composes the crisis cell from the
escalation matrix, escalates by business-hours or on-call levels, sends the
opening, status and closing mails, and chases the lessons-learned report.
Operations are Signals and Updates of the same name, like the incident's.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from datetime import datetime, timedelta
from typing import Any, Literal

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError
from temporalio.exceptions import is_cancelled_exception as cancelled

from workflows.waiting import wait_until

with workflow.unsafe.imports_passed_through():
    from activities.models import (
        ConferenceInput,
        ConferenceResult,
        CrisisMailInput,
        SendMailResult,
    )
    from activities.oncall_models import OnCallRecipients, OnCallRecipientsInput
    from workflows import versions
    from workflows.calendar import BusinessClock
    from workflows.chat import start_chat
    from workflows.continuing import (
        carried,
        history_is_long,
        reraise_if_run_ends,
        settle_in_flight,
        unique_recipients,
    )
    from workflows.crisis_alerts import CLOSE_WITHIN, AlertCloser
    from workflows.crisis_models import (
        Acted,
        AddMemberInput,
        CloseCrisisInput,
        Conference,
        ConfirmNominalInput,
        CrisisInput,
        CrisisMail,
        CrisisState,
        CrisisView,
        DecideDrpInput,
        DrpDecision,
        EscalateInput,
        Member,
        Milestone,
        Notification,
        PostUpdateInput,
        ServiceRestoredInput,
        StatusUpdate,
        SubmitRexInput,
        ValidateCrisisInput,
        Validation,
    )
    from workflows.crisis_rules import (
        acts_at,
        future,
        is_incident,
        mentions,
        next_crisis_due,
        settle,
        shown_step,
    )
    from workflows.delivery import failure_fields, send_in_rounds, workflow_failure_fields
    from workflows.details import crisis_details
    from workflows.inputs import MAX_REASON, checked_start, refusal_at_start, refused
    from workflows.ledger_facts import RecordCrisisFactsInput, crisis_facts
    from workflows.ledger_writer import LedgerWriter
    from workflows.matrix import Contact
    from workflows.metrics import count
    from workflows.models import (
        CompleteUrgentChangeInput,
        IncidentNews,
        TimelineEntry,
        UrgentChangeInput,
    )
    from workflows.oncall_policy import ChatEventKind
    from workflows.operations import SYSTEM, Operation, Operations, Refused, operations
    from workflows.reads import read_matrix, read_policy
    from workflows.rex import rex_draft
    from workflows.search import CRISIS_LEVEL, CRISIS_STATUS, NEXT_DUE, publish, t0_memo
    from workflows.texts import render, told_reason
    from workflows.timeline import shown_timeline
    from workflows.urgent_changes import complete, open_change, request

# Behaviour changes, each behind workflow.patched so older histories replay.
PATCH_TRUST = "crisis-follows-incident"
PATCH_CANCEL = "cancel-as-operation"
PATCH_SEARCH = "crisis-search-attributes"
PATCH_CAN = "crisis-continue-as-new"
PATCH_CHAT = "chat-channels"
PATCH_ON_CALL = "crisis-asks-who-is-on-call"
PATCH_LEDGER = "crisis-ledger"
# Facts the ledger refused are not sent again until they change.
PATCH_LEDGER_REFUSED_ONCE = "ledger-refused-once"
# Mails are sent in rounds of attempts: one that keeps failing is seen (workflows.delivery).
PATCH_ROUNDS = "delivery-in-rounds"
# A cancellation is published (search attributes, UI), told to the incident when it comes
# during the opening, and mailed to the cell only while the crisis is active.
PATCH_CANCEL_TOLD = "crisis-cancel-told"
# News of the incident is dated between the crisis's T0 and now (the incident's clock may
# run a little ahead of the crisis's task): the restoration it records cannot be forged.
PATCH_NEWS_TIME = "incident-news-dated-in-crisis"
NEWS_AHEAD = timedelta(minutes=1)
# The crisis cell's chat message waits for the conference, to carry its link.
PATCH_CELL_CHAT_CALL = "cell-chat-after-call"
# An operator's escalation at the last level is refused instead of recorded as done.
PATCH_LAST_LEVEL = "escalate-refused-at-last-level"
# A decision not to trigger the DRP is mailed to the cell, as a decision to trigger it is.
PATCH_DRP_DECLINED_TOLD = "drp-not-activated-mailed"
# A party's latest decision on the crisis situation stands (a decline withdraws its
# validation).
PATCH_LATEST_VALIDATION = "latest-validation-stands"
# An incident that ends unresolved (cancelled) stops the escalations its deadlines planned,
# and the pilots are told that the crisis stays open until they close it.
PATCH_INCIDENT_ENDED = "incident-ended-told"
# The action plan's step is the DRP decision at the latest: without one it is missed (then
# late when the decision comes), not met because its mail went out.
PATCH_DRP_IN_PLAN = "drp-decision-settles-action-plan"
# An escalation's contacts take part in the cell, and members its level adds are told.
PATCH_ESCALATION_JOINS = "escalation-joins-cell"
# The memo keeps T0 beside the title: `vigie crisis list` shows it (a crisis's T0 is its
# incident's, or the one given, rarely when the crisis started).
PATCH_T0_MEMO = "t0-in-memo"
# A crisis opened without a T0 that no worker took at once (workers behind or down) counts
# from its start, not from when a worker took it.
PATCH_T0_AT_START = "crisis-t0-at-start"
T0_AT_START_AFTER = timedelta(seconds=1)
# REX reminders fall in business hours: one due at night, on a weekend or a holiday waits for
# the next opening (a drill, on its compressed clock, keeps the plain interval).
PATCH_REX_IN_HOURS = "rex-reminders-in-business-hours"
# A member already taking part is refused when added again, whatever the case of the address
# (they were mailed again, and listed twice).
PATCH_MEMBER_ONCE = "member-added-once"
# A crisis opened after its cell's target (a major incident qualified late) catches up once:
# every escalation already due in one mail, up to the level they reach together, and the
# steps after the cell's counted from the moment its cell opens (the DRP decision gets the
# chronogram's time after the opening, instead of being missed and escalated at once).
PATCH_CAUGHT_UP = "late-opening-caught-up"
# A crisis closed before its action plan's step, with the DRP decided: the step is settled
# by the decision (it was said not applicable, and the REX left the decision out).
PATCH_DRP_AT_CLOSE = "drp-decision-kept-at-close"
# Escalations due in the same pass (the DRP undecided and the deadline at risk, both at
# T0+1 h 30 for a gold P1) are made as one: one mail, every reason (it was two in a second).
PATCH_MERGED = "escalations-merged-per-pass"
# A cancelled crisis waits this long at most for its last mails.
CANCEL_WAIT = timedelta(minutes=10)
CANCEL_MARGIN = timedelta(minutes=2)  # for the mails and records after the last close
# Notification records carried to the next run at continue-as-new: the latest ones.
NOTIFICATIONS_KEPT = 500
# A step done this soon after its target still counts as on time (timer and task latency).
# Drills compress it, down to a floor.
ON_TIME_GRACE = timedelta(minutes=1)
MIN_GRACE = timedelta(seconds=1)
# Notifications a status answer lists (the latest; all are in the history).
SHOWN_NOTIFICATIONS = 500

DESCRIPTIONS = {
    "post_update": "Post progress for the next status mail. "
    "{by, progress, done?, remaining?, forecast?}",
    "decide_drp": "Decide whether the DRP (PRA) is triggered. {by, activate: bool, reason}",
    "escalate": "Escalate to the next managerial level. {by, reason}",
    "add_member": "Add a member to the crisis cell. {by, name, email, kind: expert|security|other}",
    "service_restored": "Service is restored for users. {by, note?}",
    "close_crisis": (
        "Close the crisis: closing mail, REX draft. Without the client's confirm_nominal, "
        "give the reason. {by, summary, without_client_confirmation?}"
    ),
    "validate_crisis": (
        "Validate or decline the crisis situation (§4.7). "
        "{by, party: provider_manager|provider_admin|client, decision: validated|declined, note?}"
    ),
    "confirm_nominal": "The client confirms the return to nominal (§4.7). {by, note?}",
    "request_urgent_change": (
        "Request an urgent change, mailed to the change manager and tracked. {by, what, why}"
    ),
    "complete_urgent_change": "An urgent change is done. {by, change_id, outcome}",
    "submit_rex": "Submit the lessons-learned report. {by, link? , text?}",
    "incident_changed": (
        "Sent by the incident: resolved, reopened, recategorized, pending, resumed, breached, "
        "closed. {by, event, at, resolution_warning_at?, resolution_due_at?, text?}"
    ),
    "status": "The crisis as it stands: milestones, cell, level, DRP decision, timeline.",
}
# Reasons for automatic escalation from the incident's deadlines (see texts.VALUES).
AT_RISK = "at_risk"
BREACHED = "breached"

OPERATIONS = [
    Operation(name, model, DESCRIPTIONS[name])
    for name, model in (
        ("post_update", PostUpdateInput),
        ("decide_drp", DecideDrpInput),
        ("escalate", EscalateInput),
        ("add_member", AddMemberInput),
        ("service_restored", ServiceRestoredInput),
        ("validate_crisis", ValidateCrisisInput),
        ("confirm_nominal", ConfirmNominalInput),
        ("request_urgent_change", UrgentChangeInput),
        ("complete_urgent_change", CompleteUrgentChangeInput),
        ("close_crisis", CloseCrisisInput),
        ("submit_rex", SubmitRexInput),
    )
]
# Sent by the incident to its crisis: a Signal only.
INCIDENT_CHANGED = Operation("incident_changed", IncidentNews, DESCRIPTIONS["incident_changed"])


def described(input: CrisisInput) -> str:
    """What is known of the outage: the incident's description, or for a crisis opened on
    its own the context typed with it (an incident's context also holds its category and
    application, which are no description)."""
    if input.description is not None:
        return input.description
    return input.context if input.incident_id is None else ""


EXAMPLE = '{"title": "Datacenter power loss", "criterion": "infrastructure_unavailable"}'
UNSTARTED = CrisisInput(title="-")
"""Stands for a refused input until the run ends (handlers that come first read it)."""


@workflow.defn(name="CrisisWorkflow")
@operations(CrisisView, OPERATIONS)
class CrisisWorkflow(Operations[CrisisView]):
    @workflow.init
    def __init__(self, *inputs: Any) -> None:
        """``inputs``: as sent (one ``CrisisInput``), checked here (``workflows.inputs``)."""
        checked = checked_start(CrisisInput, inputs)
        self._inputs = inputs
        self._refused = checked if isinstance(checked, str) else None
        input = UNSTARTED if isinstance(checked, str) else checked  # refused: run ends at once
        self._input = input
        self._state: CrisisState | None = None
        self._changed = False
        self._tasks: list[asyncio.Task[None]] = []
        self._trust = False
        self._searchable = False
        self._chat_on = False
        self._ask_on_call = False
        self._ledger: LedgerWriter | None = None
        self._stopping = False
        self._sending = False
        self._published: dict[str, Any] = {}
        self._alerts = AlertCloser(self._record, self._line, lambda: self._stopping)
        self._opened = False
        self._cancelled_opening = False
        self._conference_tried = False  # the call opened, failed, or carried from a run
        self._catching_up = False  # opened after its cell's target: the first pass catches up
        self._late: str | None = None  # during that pass: what its mails say of it
        self._held: list[str] | None = None  # escalations due in that pass, made as one

    @property
    def state(self) -> CrisisState:
        assert self._state is not None
        return self._state

    # ------------------------------------------------------------------ run

    @workflow.run
    async def run(self, *inputs: Any) -> CrisisView:
        if self._refused is not None:
            raise refused(CrisisInput, self._refused, EXAMPLE)
        input = self._input
        versions.begin()  # first: see workflows.versions
        if input.state is None and workflow.info().parent is None:  # opened by a person
            self._refused = refusal_at_start(CrisisInput, self._inputs)
            if self._refused is not None:
                raise refused(CrisisInput, self._refused, EXAMPLE)
        self._trust = versions.patched(PATCH_TRUST)
        cancel_as_operation = versions.patched(PATCH_CANCEL)
        self._searchable = versions.patched(PATCH_SEARCH)
        self._chat_on = versions.patched(PATCH_CHAT)
        self._ask_on_call = versions.patched(PATCH_ON_CALL)
        if versions.patched(PATCH_LEDGER):
            refused_once = versions.patched(PATCH_LEDGER_REFUSED_ONCE)
            self._ledger = LedgerWriter(
                "record_crisis_facts",
                self._ledger_facts,
                on_refused=self._ledger_refused,
                skip_refused=refused_once,
            )
        sender: asyncio.Task[None] | None = None
        writer: asyncio.Task[None] | None = None
        try:
            try:
                if input.state is None:
                    self._state = await self._open(input)
                else:
                    self._state = input.state
                    if not self._state.description:  # carried by a run before it was kept
                        self._state.description = described(input)
                    trimmed = self.state.timeline_trimmed
                    self._record(
                        "continued",
                        SYSTEM,
                        "crisis_continued.trimmed" if trimmed else "crisis_continued",
                        trimmed=str(trimmed),
                    )
                    self._close_alerts()  # those a former run had queued
                self._opened = True
                sender = asyncio.create_task(self._deliver())
                if self._ledger is not None:
                    writer = asyncio.create_task(self._ledger.run())
                await self._live()
            except (asyncio.CancelledError, ActivityError) as exc:
                # A cancellation reaches the opening as its read's cancelled activity.
                if isinstance(exc, ActivityError) and (self._opened or not cancelled(exc)):
                    raise
                if not cancel_as_operation or not self._cancel_said(input):
                    raise
                try:
                    await wait_until(
                        lambda: (
                            (self._state is None or self._sent())
                            and all(t.done() for t in self._tasks)
                        ),
                        timeout=CANCEL_WAIT,
                    )
                except TimeoutError:
                    pass  # a mail server down for good does not keep a cancelled crisis alive
                raise
        finally:
            if sender is not None:
                sender.cancel()
            if writer is not None:
                writer.cancel()
        return self._view()

    def _ledger_facts(self) -> RecordCrisisFactsInput:
        """The crisis as the ledger keeps it, under its customer (else the policy's default)."""
        view = self._view()
        customer = view.customer or self.state.policy.default_customer
        return RecordCrisisFactsInput(facts=crisis_facts(view, customer, workflow.now()))

    def _cancel_said(self, input: CrisisInput) -> bool:
        """A cancellation from the Web UI or the CLI, told as the crisis stands: to the cell
        while it is active; recorded only once it is closed (the REX is no longer awaited);
        to the incident alone during the opening, which had told no one yet. False when it
        is not the crisis's to tell (over already, or opening under older code)."""
        if self._opened and self.state.status in ("rex_submitted", "cancelled"):
            return False
        if self._opened and self.state.status == "active":
            self._cancelled()
            if versions.patched(PATCH_CANCEL_TOLD):
                self._publish()
            return True
        if not versions.patched(PATCH_CANCEL_TOLD):
            if not self._opened:
                return False  # older code let the cancellation end the opening
            self._cancelled()  # older code told the cell of a closed crisis too
            return True
        if self._opened:
            self._cancelled_after_close()
        else:
            self._cancelled_while_opening(input)
        return True

    async def _live(self) -> None:
        """Runs the chronogram and waits for operations until the REX is submitted."""
        while self.state.status != "rex_submitted":
            now = workflow.now()
            self._fire(now)
            self._publish()
            if self.state.status == "rex_submitted":
                break
            if self._should_continue_as_new() and versions.patched(PATCH_CAN):
                await self._continue_as_new()
            self._changed = False
            # Only future times: everything due was settled by _fire above.
            next_at = self._next_event(now)
            timeout = None if next_at is None else next_at - now
            try:
                await wait_until(
                    lambda: self._changed, timeout=timeout, timeout_summary="next crisis step"
                )
            except TimeoutError:
                pass
        await wait_until(
            lambda: (
                self._sent()
                and workflow.all_handlers_finished()
                and all(t.done() for t in self._tasks)
            )
        )

    def _sent(self) -> bool:
        """Every mail out and the ledger written."""
        return not self.state.outbox and (self._ledger is None or self._ledger.idle())

    def _after_change(self) -> None:
        self._publish()

    def _chat(self, kind: ChatEventKind) -> None:
        """The chat channels that hear of ``kind`` get a message, next to the mails. The
        cell's message carries the call: it waits for the conference to be opened (or to
        fail), as the cell's mail does."""
        if not self._chat_on:
            return
        waits = kind == "crisis_cell" and not self._conference_tried
        if waits and versions.patched(PATCH_CELL_CHAT_CALL):
            self._tasks.append(asyncio.create_task(self._chat_after_call(kind)))
        else:
            self._start_chat(kind)

    async def _chat_after_call(self, kind: ChatEventKind) -> None:
        await wait_until(lambda: self._conference_tried)
        self._start_chat(kind)

    def _start_chat(self, kind: ChatEventKind) -> None:
        s = self.state
        start_chat(kind, self._view(), s.policy, self._tasks, self._chat_failed,
                   application=s.application)  # fmt: skip

    def _should_continue_as_new(self) -> bool:
        return history_is_long(self.state.policy.continue_as_new_after_events)

    async def _continue_as_new(self) -> None:
        """Starts afresh with the state: no new send starts, the one in flight finishes
        (bounded: during an outage the mail travels and goes out again with the same
        Message-ID), child tasks and handlers finish, and the outbox goes to the next run."""
        self._stopping = True
        await settle_in_flight(
            lambda: not self._sending and all(t.done() for t in self._tasks),
            timedelta(seconds=self.state.policy.mail_delivery.in_flight_wait_seconds),
        )
        s = self.state
        s.timeline, trimmed = carried(s.timeline)
        s.timeline_trimmed += trimmed
        s.notifications = s.notifications[-NOTIFICATIONS_KEPT:]
        if self._ledger is not None:
            self._ledger.stop()  # the next run writes its facts again
        workflow.continue_as_new(self._input.model_copy(update={"state": s}))

    def _publish(self) -> None:
        """The UI's current details: level, next milestone, DRP, last refusal."""
        s = self.state
        next_status = None
        if s.last_status_at is not None:
            next_status = s.last_status_at + self._scaled(s.policy.crisis.status_every)
        workflow.set_current_details(crisis_details(s, workflow.now(), next_status))
        if self._ledger is not None:
            self._ledger.changed()
        if self._searchable:
            if "title" not in self._published:  # what `vigie crisis list` shows
                memo = {"title": s.title}
                if versions.patched(PATCH_T0_MEMO):
                    memo |= t0_memo(s.t0)
                workflow.upsert_memo(memo)
                self._published["title"] = s.title
            self._published = publish(
                self._published,
                {CRISIS_STATUS: s.status, CRISIS_LEVEL: s.level, NEXT_DUE: next_crisis_due(s)},
            )

    def _cancelled(self) -> None:
        s = self.state
        s.status = "cancelled"
        s.closed_at = s.closed_at or workflow.now()
        self._none_pending()
        self._record("cancelled", "temporal", "crisis_cancelled")
        # The on-call engineer paged at the opening stands down too.
        paged = [a.strip() for e in s.timeline if e.kind == "on_call"
                 for a in e.fields.get("to", "").split(",") if a.strip()]  # fmt: skip
        to = list(dict.fromkeys([*self._recipients(["cell.participants"]), *paged]))
        self._mail("cancelled", to, [s.timeline[-1].text])
        if s.incident_id:
            self._tasks.append(
                asyncio.create_task(self._tell_incident("temporal", s.timeline[-1].text))
            )
        self._close_alerts()

    def _none_pending(self) -> None:
        """The crisis is over: the steps still to come no longer apply."""
        for m in self.state.milestones:
            if m.status == "pending":
                m.status = "not_applicable"

    def _cancelled_after_close(self) -> None:
        s = self.state
        s.status = "cancelled"
        self._none_pending()
        self._record("cancelled", "temporal", "crisis_cancelled.closed")
        self._publish()
        self._close_alerts()

    def _cancelled_while_opening(self, input: CrisisInput) -> None:
        """Nobody was told of the crisis yet: its first mails are dropped, its incident is
        told, and its search attributes say it is cancelled."""
        self._cancelled_opening = True
        language = input.language or "fr"
        if self._state is not None:  # the policy was read, the cell composed
            s = self.state
            language = s.language
            s.outbox.clear()
            s.status, s.closed_at = "cancelled", workflow.now()
            self._none_pending()
            self._record("cancelled", "temporal", "crisis_cancelled.opening")
        if self._searchable:
            if "title" not in self._published:
                workflow.upsert_memo({"title": input.title})
                self._published["title"] = input.title
            self._published = publish(
                self._published, {CRISIS_STATUS: "cancelled", CRISIS_LEVEL: 0, NEXT_DUE: None}
            )
        if input.incident_id:
            text = render("crisis_cancelled.opening", {}, language, "UTC")  # no time in it
            self._tasks.append(
                asyncio.create_task(self._tell_incident("temporal", text, input.incident_id))
            )

    async def _open(self, input: CrisisInput) -> CrisisState:
        crisis_id = workflow.info().workflow_id
        loaded = await read_policy(crisis_id)
        matrix = await read_matrix(crisis_id)
        policy = loaded.policy
        now = workflow.now()
        t0 = input.t0 if input.t0 is not None and input.t0 <= now else now
        started = workflow.info().workflow_start_time
        if input.t0 is None and now - started >= T0_AT_START_AFTER:
            if versions.patched(PATCH_T0_AT_START):
                t0 = started  # opened when it reached Temporal, not when a worker took it
        context = f"{input.title} {input.context}"
        mail_system = (
            input.mail_system_affected
            if input.mail_system_affected is not None
            else self._hint(context, policy.crisis.mail_system_keywords)
        )
        security = (
            input.security_involved
            if input.security_involved is not None
            else input.criterion in ("virus_attack", "aggression")
            or self._hint(context, policy.crisis.security_keywords)
        )
        business_hours = BusinessClock(policy.business_hours).is_open_at(now)
        self._state = CrisisState(
            crisis_id=crisis_id,
            policy=policy,
            matrix=matrix,
            title=input.title,
            criterion=input.criterion,
            incident_id=input.incident_id,
            t0=t0,
            triggered_by=input.triggered_by,
            mail_system_affected=mail_system,
            security_involved=security,
            business_hours_at_start=business_hours,
            language=input.language or policy.notifications.language,
            time_scale=input.time_scale,
            application=input.application,
            description=described(input),
        )
        s = self.state
        s.milestones = [
            Milestone(step=step.step, action=step.action, due_at=t0 + self._scaled(step.at))
            for step in policy.crisis.chronogram
        ]
        if self._trust:
            s.milestones = self._incident_milestones(input, t0) + s.milestones
        self._compose_cell()
        self._plan_auto_escalations(input.resolution_warning_at, input.resolution_due_at)
        self._record(
            "opened",
            input.opened_by,
            "crisis_opened",
            criterion=input.criterion,
            hours="business_hours" if business_hours else "outside_business_hours",
            matrix_version=str(matrix.version),
        )
        if loaded.error:  # opened all the same, under the last valid policy
            self._record("policy_warning", SYSTEM, "policy_fallback",
                         version=str(policy.version), error=loaded.error)  # fmt: skip
        if matrix.warning:  # and the last valid matrix: said, never waited on
            self._record("matrix_warning", SYSTEM, "matrix_fallback",
                         version=str(matrix.version), error=matrix.warning)  # fmt: skip
        opening = self._milestone("cell_opening")
        if opening is not None and opening.due_at + self._grace() < now:
            self._catching_up = versions.patched(PATCH_CAUGHT_UP)
        if input.time_scale > 1:
            self._record("drill", SYSTEM, scale=f"{input.time_scale:g}")
        if mail_system:
            self._record("channel", SYSTEM, channel=self._channel())
        if security:
            self._record("security", SYSTEM)
            if self._trust:  # §4.5: the security teams are contacted from the opening
                self._mail(
                    "security_alert",
                    self._recipients(["provider.security", "client.ciso"]),
                    [self._line("line.security", title=s.title)],
                )
        if not business_hours:
            on_call = [str(c.email) for c in matrix.provider.on_call]
            if self._ask_on_call:
                on_call = await self._who_is_on_call(on_call)
            else:
                self._record("on_call", SYSTEM, to=", ".join(on_call))
            self._mail("on_call", on_call, [self._line("line.on_call", title=s.title)])
        return s

    def _catch_up(self, now: datetime) -> None:
        """Opened after its cell's target (the first pass): the cell opens now, with one
        escalation for all that is already due, and the steps after the cell's are counted
        from now. Its mails say so."""
        s = self.state
        opening = self._milestone("cell_opening")
        assert opening is not None
        for m in s.milestones:
            if m.due_at > opening.due_at:
                m.acts_at = m.due_at + (now - opening.due_at)
        fields = {"cell_due_at": opening.due_at.isoformat()}
        plan = self._milestone("action_plan")
        if plan is not None and plan.acts_at is not None:
            fields["drp_due_at"] = plan.acts_at.isoformat()
        drp = "drp_due_at" in fields
        self._record("caught_up", SYSTEM, "caught_up.drp" if drp else "caught_up", **fields)
        self._late = self._line("line.caught_up", **fields)
        self._held = []

    async def _who_is_on_call(self, matrix_on_call: list[str]) -> list[str]:
        """§4.2 outside business hours: who the on-call schedule names now, recorded; the
        matrix's on-call when the schedule cannot answer."""
        s = self.state
        try:
            found = await workflow.execute_activity(
                "on_call_recipients",
                OnCallRecipientsInput(
                    workflow_id=s.crisis_id, schedule=s.policy.on_call.schedule_name
                ),
                result_type=OnCallRecipients,
                start_to_close_timeout=timedelta(seconds=30),
                retry_policy=RetryPolicy(maximum_attempts=3),
                summary="who is on call",
            )
        except ActivityError as exc:
            if cancelled(exc) and versions.patched(PATCH_CANCEL_TOLD):
                raise  # the crisis is cancelled while it opens: not a failed lookup
            reason = str(exc.cause or exc)
            self._record("on_call", SYSTEM, "crisis_on_call.matrix",
                         to=", ".join(matrix_on_call), reason=reason)  # fmt: skip
            return matrix_on_call
        sentence = f"crisis_on_call.{'opsgenie' if found.source == 'schedule' else 'matrix'}"
        reason = found.reason or ""
        self._record("on_call", SYSTEM, sentence, to=", ".join(found.recipients),
                     reason=reason, **told_reason(reason))  # fmt: skip
        return found.recipients

    def _hint(self, context: str, keywords: list[str]) -> bool:
        """Whole words; crises started before that rule keep the substring match on replay."""
        if self._trust:
            return mentions(context, keywords)
        return any(k in context.lower() for k in keywords)

    def _incident_milestones(self, input: CrisisInput, t0: datetime) -> list[Milestone]:
        """§4.6 T0+5 (ticket opened) and T0+15 (acknowledged), as the incident reports them."""
        crisis = self.state.policy.crisis
        found: list[Milestone] = []
        for step, within, done_at in (
            ("ticket_opened", crisis.ticket_within, input.ticket_opened_at),
            ("acknowledgement", crisis.acknowledged_within, input.acknowledged_at),
        ):
            m = Milestone(
                step=step,
                action=self._line("line.step", step=step),
                due_at=t0 + self._scaled(within),
            )
            if input.incident_id is None:
                m.status = "not_applicable"  # a crisis event has no ticket
            elif done_at is not None:
                settle(m, done_at, "incident", self._grace())
            found.append(m)
        return found

    def _scaled(self, allowance: Any) -> timedelta:
        """A policy duration on the crisis clock (compressed in drills)."""
        duration: timedelta = allowance.on_clock(None) / self._input.time_scale
        return duration

    def _channel(self) -> str:
        s = self.state
        return s.policy.crisis.alternate_channel if s.mail_system_affected else "smtp"

    # ---------------------------------------------------------------- cell

    def _compose_cell(self) -> None:
        """Permanent members by level (§4.3), optional experts and security."""
        s, m = self.state, self.state.matrix
        level = max(s.level, 1)
        wanted: list[tuple[str, Any, bool, bool]] = [
            ("technical referent", m.provider.technical_referents, True, True),
            ("pilot: incident manager", m.provider.incident_manager, True, True),
            ("pilot: delivery manager", m.provider.delivery_manager, True, True),
            ("client management level 1", m.client.management_1, True, True),
        ]
        if level >= 2:
            wanted += [
                ("account director", m.provider.account_director, True, True),
                ("client management level 2", m.client.management_2, True, True),
            ]
        if level >= 3:
            wanted += [
                ("agency director", m.provider.agency_director, True, True),
                ("client management level 3", m.client.management_3, True, True),
            ]
        wanted += [
            ("expert", m.provider.experts, False, False),
            ("client expert", m.client.experts, False, False),
            ("security", m.provider.security, False, s.security_involved),
            ("client CISO", m.client.ciso, False, s.security_involved),
        ]
        known = {member.email for member in s.members}
        for role, contacts, permanent, participating in wanted:
            for contact in contacts:
                if str(contact.email) not in known:
                    s.members.append(
                        Member(
                            name=contact.name,
                            email=str(contact.email),
                            role=role,
                            permanent=permanent,
                            participating=participating,
                        )
                    )
                    known.add(str(contact.email))

    def _recipients(self, names: list[str]) -> list[str]:
        s, m = self.state, self.state.matrix
        found: list[str] = []
        for name in names:
            if name == "escalation_level":
                found += self._level_contacts()
            elif name == "cell.permanent":
                found += [x.email for x in s.members if x.permanent]
            elif name == "cell.participants":
                found += [x.email for x in s.members if x.permanent or x.participating]
            elif name == "cell.pilot":
                found += [
                    str(c.email) for c in m.provider.incident_manager + m.provider.delivery_manager
                ]
            elif name.startswith(("provider.", "client.")):
                found += [str(c.email) for c in m.contacts_for([name])]
        return list(dict.fromkeys(found))

    def _level_contacts(self) -> list[str]:
        return [str(c.email) for c in self._level_people()]

    def _level_people(self) -> list[Contact]:
        """The contacts of the escalation level reached, on its ladder."""
        s = self.state
        if s.level == 0 or s.level_kind is None:
            return []
        levels = getattr(s.matrix.levels, s.level_kind)
        return s.matrix.level_contacts(levels[s.level - 1])

    # ------------------------------------------------------------ timeline

    def _milestone(self, step: str) -> Milestone | None:
        return next((m for m in self.state.milestones if m.step == step), None)

    def _done(self, step: str, by: str, at: datetime | None = None) -> None:
        """Settles a milestone done at ``at`` (now by default): met or late."""
        m = self._milestone(step)
        if m is None or m.status in ("met", "late", "not_applicable"):
            return
        settle(m, at or workflow.now(), by, self._grace())
        self._record_milestone(m, by)

    def _grace(self) -> timedelta:
        return max(ON_TIME_GRACE / self._input.time_scale, MIN_GRACE)

    def _count_milestone(self, m: Milestone) -> None:
        count(workflow.metric_meter(), "vigie_crisis_milestones", step=m.step, status=m.status)

    def _next_event(self, now: datetime) -> datetime | None:
        s = self.state
        times = [acts_at(m) for m in s.milestones if m.status == "pending"]
        if s.status == "active":
            times += [at for at, _ in s.auto_escalations]
        if s.status == "active" and s.last_status_at is not None:
            times.append(s.last_status_at + self._scaled(s.policy.crisis.status_every))
        if s.status == "closed" and s.rex_due_at is not None:
            times.append(self._next_rex_reminder())
        return future(times, now)

    def _next_rex_reminder(self) -> datetime:
        """A day (``rex_reminder_every``) after closing or the last reminder; in business
        hours, so the incident manager is not mailed at night or on a weekend."""
        s = self.state
        base = s.rex_reminded_at or s.closed_at
        assert base is not None
        at = base + self._scaled(s.policy.crisis.rex_reminder_every)
        if self._input.time_scale == 1 and versions.patched(PATCH_REX_IN_HOURS):
            opens, _ = next(BusinessClock(s.policy.business_hours).windows(at))
            at = opens
        return at

    def _fire(self, now: datetime) -> None:
        s = self.state
        if self._catching_up:  # the escalations already due are held, and made as one
            self._catching_up = False
            self._catch_up(now)
        else:  # those due together in this pass (the DRP undecided, the deadline at risk)
            self._held = []
        for m in sorted(s.milestones, key=acts_at):
            if m.status == "pending" and acts_at(m) <= now:
                self._step(m)
                if m.status == "pending":  # every step settles; never wait on it again
                    m.status = "missed"
                    self._record_milestone(m, SYSTEM)
        self._auto_escalate(now)
        self._release_held()
        self._late = None
        if s.status == "active" and s.last_status_at is not None:
            if now >= s.last_status_at + self._scaled(s.policy.crisis.status_every):
                self._status_mail()
        if s.status == "closed" and s.rex_due_at is not None:
            if now >= self._next_rex_reminder():
                s.rex_reminded_at = now
                sentence = "rex_reminder.overdue" if now > s.rex_due_at else "rex_reminder"
                self._record("rex_reminder", SYSTEM, sentence, due_at=s.rex_due_at.isoformat())
                self._mail(
                    "rex_reminder",
                    self._recipients(["provider.incident_manager"]),
                    [s.timeline[-1].text],
                )

    def _auto_escalate(self, now: datetime) -> None:
        """The next level for each of the incident's resolution deadlines passed."""
        s = self.state
        while s.status == "active" and s.auto_escalations and min(s.auto_escalations)[0] <= now:
            _, why = min(s.auto_escalations)
            s.auto_escalations.remove(min(s.auto_escalations))
            if s.restored_at is None:  # lateness no longer matters once the service is back
                s.auto_escalated.append(why)
                self._escalate(SYSTEM, code=why)

    def _step(self, m: Milestone) -> None:
        s = self.state
        step = next((x for x in s.policy.crisis.chronogram if x.step == m.step), None)
        if step is None:
            # T0+5 and T0+15 are the incident's: not done by their target, they are missed
            # (settled late when the incident says so).
            m.status = "missed"
            self._record_milestone(m, SYSTEM)
            return
        to = self._recipients(step.recipients)
        if m.step == "escalation":
            self._escalation_step(SYSTEM, code="chronogram")
        elif m.step == "cell_request":
            kind, lines = "cell_request", [self._line("line.step", step=m.step)]
            opening = self._milestone("cell_opening")
            if s.triggered_by == "client" and opening is not None:
                # The client asked for the crisis: the DNUM is not asked to trigger it.
                kind = "cell_confirm"
                opens_at = opening.due_at.isoformat()
                lines = [self._line("line.client_triggered", opens_at=opens_at)]
                if self._late is not None:  # a late opening: the cell opens now
                    lines = [self._line("line.client_triggered.now")]
            if self._trust:
                lines.append(self._line("line.validate"))
            self._mail(kind, to, lines)
            self._done("cell_request", SYSTEM)
        elif m.step == "cell_opening":
            self._open_cell(to)
        elif m.step == "action_plan":
            self._mail("action_plan", to, self._update_lines())
            if self._trust and s.drp is None and s.restored_at is not None:
                self._record("drp_not_needed", SYSTEM)
            elif s.drp is None:
                self._record("drp_undecided", SYSTEM)
                self._mail(
                    "drp_reminder", self._recipients(["cell.pilot"]), [self._line("line.drp_due")]
                )
                self._escalate(SYSTEM, code="drp_undecided")
                if versions.patched(PATCH_DRP_IN_PLAN):
                    # The step is the DRP decision at the latest: missed until it comes, then
                    # late (decide_drp settles it).
                    m.status = "missed"
                    self._record_milestone(m, SYSTEM)
                    return
            if m.acts_at is not None and s.drp is not None:  # decided in the moved window
                self._plan_decided()
                return
            self._done("action_plan", SYSTEM)
        elif m.step == "restoration":
            if s.drp is None or not s.drp.activate:
                m.status = "not_applicable"
                self._record("milestone", SYSTEM, "milestone.no_drp", step=m.step)
            elif s.restored_at is not None:
                # Restored before the DRP was decided: settled by the restoration time.
                self._done("restoration", s.restored_by or SYSTEM, at=s.restored_at)
            else:
                m.status = "missed"
                self._record_milestone(m, SYSTEM)
                self._escalate(SYSTEM, code="not_restored")
        elif m.step == "closing" and s.status == "active":
            m.status = "missed"
            self._record("milestone", SYSTEM, "milestone.still_open", step=m.step)
            self._count_milestone(m)
            self._mail(
                "closing_reminder",
                self._recipients(["cell.pilot"]),
                [self._line("line.step", step=m.step)],
            )

    def _open_cell(self, to: list[str]) -> None:
        s = self.state
        if self._trust and not self._validated():
            action = s.policy.crisis.unvalidated_at_cell_opening
            if self._late is not None:  # opened a moment ago: no one could validate it yet
                action = "open"
            self._record("unvalidated", SYSTEM, f"unvalidated.{action}")
            if action == "escalate":
                self._escalate(SYSTEM, code="unvalidated")
        self._release_held()  # a late opening's escalation: before the cell's mail
        # §4.6: the cell opens on the description, the actions so far, the forecast, the
        # DRP go/no-go and the hourly communication.
        lines = [self._late] if self._late is not None else []
        lines += self._context_lines()  # the heading names the step
        lines += [*self._update_lines(), self._drp_due_text(), self._next_status_line()]
        lines.append(self._line("line.members"))
        members = [
            self._line("line.member", name=x.name, role=x.role)
            for x in s.members
            if x.permanent or x.participating
        ]
        self._mail("cell_opening", to + self._recipients(["cell.participants"]), lines + members)
        self._chat("crisis_cell")
        s.last_status_at = workflow.now()
        self._done("cell_opening", SYSTEM)

    def _validated(self) -> bool:
        """Whether a party stands by a validation of the crisis situation: its latest
        decision (a decline after a validation withdraws it)."""
        s = self.state
        latest = {v.party: v.decision for v in s.validations}  # in order: the last stands
        now = any(decision == "validated" for decision in latest.values())
        before = any(v.decision == "validated" for v in s.validations)
        if now != before and not versions.patched(PATCH_LATEST_VALIDATION):
            return before
        return now

    def _update_lines(self) -> list[str]:
        s = self.state
        if not s.updates:
            return [self._line("line.no_progress")]
        u = s.updates[-1]
        lines = [
            self._line("line.progress", text=u.progress),
            self._line("line.done", text=u.done or "—"),
            self._line("line.remaining", text=u.remaining or "—"),
        ]
        if u.forecast:
            lines.append(self._line("line.forecast", text=u.forecast))
        lines.append(self._line("line.posted", posted_at=u.at.isoformat(), by=u.by))
        return lines

    def _context_lines(self) -> list[str]:
        """When it began and what is known of it: for people who were not told yet."""
        s = self.state
        t0 = "line.t0" if self._is_incident() else "line.t0_event"
        lines = [self._line(t0, t0_at=s.t0.isoformat())]
        if s.description.strip():
            lines.append(self._line("line.description", text=s.description.strip()))
        return lines + self._incident_ended_lines()

    def _incident_ended_lines(self) -> list[str]:
        """That the incident was cancelled, for the cell the crisis keeps writing to."""
        s = self.state
        if s.incident_ended_at is None:
            return []
        ended = {"incident_id": s.incident_id or "", "ended_at": s.incident_ended_at.isoformat()}
        return [self._line("line.incident_cancelled", **ended)]

    def _drp_due_text(self) -> str:
        """The DRP decision taken, or when it is due (the action plan's step; none is asked
        once the incident's service is restored)."""
        s = self.state
        m = self._milestone("action_plan")
        restored = self._trust and s.restored_at is not None
        if s.drp is not None or m is None or m.status != "pending" or restored:
            return self._drp_line()
        if acts_at(m) <= workflow.now():
            return self._line("line.drp_due_now")
        return self._line("line.drp_due_at", due_at=acts_at(m).isoformat())

    def _next_status_line(self) -> str:
        every = self._scaled(self.state.policy.crisis.status_every)
        return self._line("line.next_status", next_at=(workflow.now() + every).isoformat())

    def _status_mail(self) -> None:
        s = self.state
        now = workflow.now()
        since = s.last_status_at
        fresh = [u for u in s.updates if since is None or u.at > since]
        if fresh:
            lines = self._update_lines()
        else:
            lines = [self._line("line.nothing_posted"), *self._update_lines()]
            self._mail(
                "update_reminder",
                self._recipients(["cell.pilot"]),
                [self._line("line.post_update")],
            )
        lines.append(self._drp_line())
        lines += self._incident_ended_lines()
        s.last_status_at = now
        s.last_status_fresh = bool(fresh)
        told = lines[0] if fresh else self._line("line.nothing_new")  # not the recall's colon
        self._record("status_mail", SYSTEM, text=told)
        self._mail("status", self._recipients(["cell.participants"]), lines)
        self._chat("status_update")

    def _drp_text(self) -> str:
        d = self.state.drp
        if d is None:
            return self._line("line.drp_undecided")
        return self._line("drp.activated" if d.activate else "drp.not_activated", reason=d.reason)

    def _drp_line(self) -> str:
        """The DRP decision, or that there is none yet, as a line of a mail."""
        return self._line("line.drp", drp=self._drp_text())

    def _plan_decided(self) -> None:
        """The action plan's step settled by the DRP decision, at the decision's time."""
        s = self.state
        assert s.drp is not None
        self._done("action_plan", s.drp.by, at=s.drp.at)

    def _escalate(self, by: str, *, code: str = "", reason: str = "") -> None:
        """Next managerial level, for a known ``code`` (automatic) or an operator's ``reason``."""
        if self._held is not None and by == SYSTEM:  # a late opening's: made as one
            self._held.append(code)
            return
        self._escalate_for(by, [code], reason)

    def _release_held(self) -> None:
        """The escalations held in this pass, made: as one when several came together (a
        late opening's, with the incident's deadlines already passed, before the cell's mail
        that names the members of every level reached), else each as it came."""
        if self._held is None:
            return
        if self._late is not None:
            self._auto_escalate(workflow.now())
        held, self._held = self._held, None
        if self._late is None and (len(held) < 2 or not versions.patched(PATCH_MERGED)):
            for code in held:  # one at a time, as they came
                self._escalate_for(SYSTEM, [code])
            return
        if AT_RISK in held and BREACHED in held:  # one deadline: its breach says it all
            held.remove(AT_RISK)
        if held:
            self._escalate_for(SYSTEM, held)

    def _escalate_for(self, by: str, codes: list[str], reason: str = "") -> None:
        """One level per code, in one escalation: one entry, one mail to the contacts of
        every level reached (several codes when they came in the same pass)."""
        s = self.state
        kind = self._hours()
        levels = getattr(s.matrix.levels, kind)
        s.level_kind = kind
        many = len(codes) > 1
        why = {"escalation_reasons": ",".join(codes)} if many else {
            "escalation_reason": codes[0], "reason": reason
        }  # fmt: skip
        if s.level >= len(levels):
            last = "escalation.last.caught_up" if many else "escalation.last"
            self._record("escalation", by, last, level=str(s.level), **why)
            return
        before = {member.email for member in s.members}
        people: list[Contact] = []
        for _ in codes:
            if s.level >= len(levels):
                break
            s.level += 1
            self._compose_cell()
            named = {str(c.email) for c in people}
            people += [c for c in self._level_people() if str(c.email) not in named]
        contacts = [str(c.email) for c in people]
        level = {"level": str(s.level), "hours": kind}
        sentence = (
            None if not many else "escalation.caught_up" if self._late else "escalation.merged"
        )
        self._record("escalation", by, sentence, **level, **why, to=", ".join(contacts))
        lines = [self._line("line.level", **level)]
        lines += [self._line("line.reason", escalation_reason=c, reason=reason) for c in codes]
        if by != SYSTEM:
            lines.append(self._line("line.escalated_by", by=by))
        if self._late is not None:
            lines.append(self._late)
        self._mail("escalation", contacts, lines + self._context_lines())
        # At a late opening the cell's mail follows at once: it tells who joined.
        self._escalation_joins_cell(before, people, tell=self._late is None)

    def _escalation_joins_cell(
        self, before: set[str], people: list[Contact], *, tell: bool = True
    ) -> None:
        """The level's contacts take part in the cell (told by the escalation mail), and
        whoever the level made a permanent member without mailing them is told they joined:
        outside business hours the ladder and the cell's levels (§4.3) name different people."""
        s = self.state
        contacts = {str(c.email) for c in people}
        members = {member.email for member in s.members}
        joined = [e for e in members - before if e not in contacts]
        outside = list({str(c.email): c for c in people if str(c.email) not in members}.values())
        if not (joined or outside) or not versions.patched(PATCH_ESCALATION_JOINS):
            return
        for contact in outside:
            email = str(contact.email)
            s.members.append(
                Member(
                    name=contact.name, email=email, role=self._role(email) or "other",
                    permanent=False, participating=True,
                )
            )  # fmt: skip
        ordered = [m.email for m in s.members if m.email in joined]  # in the cell's order
        if ordered and tell:
            # Joining at night, told what they join: when it began, what is known, the DRP.
            lines = [self._line("line.joined", title=s.title), *self._context_lines()]
            lines += [*self._update_lines(), self._drp_line()]
            self._mail("member_added", ordered, lines)

    # ----------------------------------------------------------- operations

    def _require_active(self, what: str) -> None:
        if self.state.status != "active":
            status = self.state.status
            raise Refused(
                f"cannot {what}: the crisis is {status}", "why.crisis", crisis_status=status
            )

    def _check_post_update(self, input: PostUpdateInput) -> None:
        self._require_active("post an update")

    def _apply_post_update(self, input: PostUpdateInput) -> None:
        self.state.updates.append(
            StatusUpdate(
                at=workflow.now(),
                by=input.by,
                progress=input.progress,
                done=input.done,
                remaining=input.remaining,
                forecast=input.forecast,
            )
        )
        self._record("update", input.by, progress=input.progress)

    def _check_decide_drp(self, input: DecideDrpInput) -> None:
        self._require_active("decide the DRP")

    def _apply_decide_drp(self, input: DecideDrpInput) -> None:
        s = self.state
        s.drp = DrpDecision(
            activate=input.activate, reason=input.reason, by=input.by, at=workflow.now()
        )
        sentence = "drp.activated" if input.activate else "drp.not_activated"
        self._record("drp", input.by, sentence, reason=input.reason)
        plan = self._milestone("action_plan")
        if plan is not None and plan.status == "missed":  # the decision came after its step
            self._done("action_plan", input.by)
        m = self._milestone("restoration")
        if input.activate and s.restored_at is not None and m is not None:
            # The service came back before the decision: the restoration is settled by then.
            self._done("restoration", s.restored_by or input.by, at=s.restored_at)
        if input.activate:
            self._mail(
                "drp",
                self._recipients(["cell.participants"]),
                [self._line("line.drp_activated", reason=input.reason)],
            )
        elif versions.patched(PATCH_DRP_DECLINED_TOLD):  # the cell knows either decision
            self._mail(
                "drp_not_activated",
                self._recipients(["cell.participants"]),
                [self._line("line.drp_not_activated", reason=input.reason)],
            )

    def _check_escalate(self, input: EscalateInput) -> None:
        self._require_active("escalate")
        s = self.state
        m = self._milestone("escalation")
        levels = getattr(s.matrix.levels, self._hours())
        at_last = s.level >= len(levels) and (m is None or m.status != "pending")
        # Update validators never run on replay; a Signal handler follows the patch.
        if at_last and (workflow.unsafe.is_read_only() or versions.patched(PATCH_LAST_LEVEL)):
            raise Refused(
                f"cannot escalate: the crisis is at the last level ({s.level})",
                "why.last_level",
                level=str(s.level),
            )

    def _hours(self) -> Literal["business_hours", "outside_business_hours"]:
        """Which escalation ladder applies now."""
        open_now = BusinessClock(self.state.policy.business_hours).is_open_at(workflow.now())
        return "business_hours" if open_now else "outside_business_hours"

    def _apply_escalate(self, input: EscalateInput) -> None:
        if self._catching_up:  # a late opening's catch-up first: the operator's level on top
            self._fire(workflow.now())
        m = self._milestone("escalation")
        if m is not None and m.status == "pending":
            self._escalation_step(input.by, reason=input.reason)  # done early: not at T0+30
        else:
            self._escalate(input.by, reason=input.reason)

    def _escalation_step(self, by: str, *, code: str = "", reason: str = "") -> None:
        """Escalation to the incident manager's level, and DNUM told: that a P1 is open for a
        major incident, that a crisis is under way for any other event."""
        s = self.state
        if s.level == 0 or by != SYSTEM:
            self._escalate(by, code=code, reason=reason)
            self._release_held()  # a late opening: the provider's chain before the DNUM
        if self._is_incident():
            line = self._line("line.p1_open", title=s.title)
            self._mail("p1_open", self._recipients(["client.dnum"]), [line, *self._context_lines()])
        else:
            line = self._line("line.crisis_event", title=s.title, criterion=s.criterion)
            lines = [line, *self._context_lines()]
            self._mail("crisis_event", self._recipients(["client.dnum"]), lines)
        self._done("escalation", by)

    def _is_incident(self) -> bool:
        return is_incident(self.state)

    def _check_add_member(self, input: AddMemberInput) -> None:
        self._require_active("add a member")
        # Update validators never run on replay; a Signal handler follows the patch.
        if not (workflow.unsafe.is_read_only() or versions.patched(PATCH_MEMBER_ONCE)):
            return
        existing = self._member(str(input.email), any_case=True)
        if existing is not None and existing.participating:
            raise Refused(
                f"{existing.email} is already in the cell ({existing.name})",
                "why.member",
                email=existing.email,
                name=existing.name,
            )

    def _member(self, email: str, any_case: bool) -> Member | None:
        """The member with this address; ``any_case``: as mail servers read it, whatever
        the case (``Incident-Manager@`` is ``incident-manager@``)."""
        same = (lambda a: a.casefold() == email.casefold()) if any_case else email.__eq__
        return next((x for x in self.state.members if same(x.email)), None)

    def _apply_add_member(self, input: AddMemberInput) -> None:
        s = self.state
        existing = self._member(str(input.email), any_case=versions.patched(PATCH_MEMBER_ONCE))
        if existing is not None:
            existing.participating = True
        else:
            s.members.append(
                Member(
                    name=input.name,
                    email=str(input.email),
                    role=input.kind,
                    permanent=False,
                    participating=True,
                )
            )
        self._record("member", input.by, name=input.name, email=str(input.email), role=input.kind)
        if s.conference is not None or self._trust:  # told, with the call when there is one
            self._mail(
                "member_added", [str(input.email)], [self._line("line.joined", title=s.title)]
            )

    def _check_service_restored(self, input: ServiceRestoredInput) -> None:
        self._require_active("record the restoration")
        if self.state.restored_at is not None:
            raise Refused("the service is already recorded as restored", "why.restored")

    def _apply_service_restored(self, input: ServiceRestoredInput) -> None:
        sentence = "restored.note" if input.note else "restored"
        role = self._role(input.by)
        self._record("restored", input.by, sentence, note=input.note or "", role=role)
        self._restored(input.by, workflow.now(), input.note)

    def _role(self, who: str) -> str:
        """The person's role in the escalation matrix (RACI), or '' when not listed."""
        return self.state.matrix.role_of(who) or ""

    def _acted(self, by: str, note: str | None = None) -> Acted:
        return Acted(by=by, role=self._role(by) or None, at=workflow.now(), note=note)

    def _restored(self, by: str, at: datetime, note: str | None = None) -> None:
        s = self.state
        s.restored_at, s.restored_by = at, by
        s.restored = Acted(by=by, role=self._role(by) or None, at=at, note=note)
        s.auto_escalations.clear()
        m = self._milestone("restoration")
        if m is not None and s.drp is not None and s.drp.activate:
            if m.status == "pending":
                self._done("restoration", by, at=at)
            elif m.status == "missed":
                m.done_at, m.by, m.status = at, by, "late"

    def _plan_auto_escalations(self, warning_at: datetime | None, due_at: datetime | None) -> None:
        """The next levels the incident's resolution deadlines call for, each reason once."""
        s = self.state
        planned = [(warning_at, AT_RISK), (due_at, BREACHED)]
        s.auto_escalations = [
            (at, why) for at, why in planned if at is not None and why not in s.auto_escalated
        ]

    def _check_incident_changed(self, input: IncidentNews) -> None:
        s = self.state
        if s.incident_id is None:
            raise Refused("this crisis follows no incident", "why.no_incident")
        outside = input.at < s.t0 or input.at > workflow.now() + NEWS_AHEAD
        if outside and versions.patched(PATCH_NEWS_TIME):
            raise Refused(
                f"the news is dated {input.at.isoformat()}, outside the crisis (from its T0 "
                f"{s.t0.isoformat()} to now)",
                "why.news_time",
                event_at=input.at.isoformat(),
            )

    def _apply_incident_changed(self, input: IncidentNews) -> None:
        s = self.state
        self._record(
            f"incident_{input.event}",
            input.by,
            "incident_changed",
            incident_event=input.event,
            text=input.text,
        )
        if input.event == "resolved" and s.restored_at is None and s.status == "active":
            self._restored(input.by, input.at)
        elif input.event == "acknowledged":
            m = self._milestone("acknowledgement")
            if m is not None and m.status == "missed":
                m.done_at, m.by, m.status = input.at, input.by, "late"
            elif m is not None and m.status == "pending":
                self._done("acknowledgement", input.by, at=input.at)
        elif input.event == "urgent_change" and input.change is not None:
            s.urgent_changes = [c for c in s.urgent_changes if c.id != input.change.id]
            s.urgent_changes.append(input.change)
        elif input.event == "reopened" and s.status == "active":
            s.restored_at = s.restored_by = None
            s.restored = s.nominal_confirmed = None
            s.auto_escalated.clear()
        elif self._ended_unresolved(input) and versions.patched(PATCH_INCIDENT_ENDED):
            s.auto_escalations.clear()  # its deadlines no longer stand
            s.incident_ended_at = input.at
            line = self._line(
                "line.incident_ended", incident_id=s.incident_id or "", crisis_id=s.crisis_id
            )
            self._mail("incident_ended", self._recipients(["cell.pilot"]), [line])
            return
        if s.status == "active":
            self._plan_auto_escalations(input.resolution_warning_at, input.resolution_due_at)

    def _ended_unresolved(self, input: IncidentNews) -> bool:
        """The incident ended (cancelled) while its service was not restored."""
        s = self.state
        return input.event == "closed" and s.status == "active" and s.restored_at is None

    def _check_close_crisis(self, input: CloseCrisisInput) -> None:
        self._require_active("close the crisis")
        reason = (input.without_client_confirmation or "").strip()
        if self._trust and self.state.nominal_confirmed is None and not reason:
            raise Refused(
                "the client has not confirmed the return to nominal: confirm_nominal first "
                "(CLI: vigie crisis confirm-nominal), or close with without_client_confirmation "
                "giving the reason (CLI: --without-confirmation REASON)",
                "why.unconfirmed_close",
            )

    def _check_confirm_nominal(self, input: ConfirmNominalInput) -> None:
        self._require_active("confirm the return to nominal")
        if self.state.nominal_confirmed is not None:
            who = self.state.nominal_confirmed.by  # not "by": the refusal's entry has its own
            raise Refused(f"already confirmed by {who}", "why.confirmed", who=who)

    def _apply_confirm_nominal(self, input: ConfirmNominalInput) -> None:
        s = self.state
        s.nominal_confirmed = self._acted(input.by, input.note)
        self._record(
            "nominal_confirmed", input.by, role=self._role(input.by), note=input.note or ""
        )
        if s.restored_at is None:
            self._restored(input.by, workflow.now(), input.note)

    def _check_validate_crisis(self, input: ValidateCrisisInput) -> None:
        self._require_active("validate the crisis situation")

    def _apply_validate_crisis(self, input: ValidateCrisisInput) -> None:
        s = self.state
        role = self._role(input.by)
        s.validations.append(
            Validation(
                party=input.party, decision=input.decision, by=input.by, role=role or None,
                at=workflow.now(), note=input.note,
            )
        )  # fmt: skip
        self._record(
            "validation",
            input.by,
            f"validation.{input.decision}" + (".note" if input.note else ""),
            party=input.party,
            role=role,
            note=input.note or "",
        )
        if input.decision == "declined":  # who declined, so that the pilot can call them
            decided = self._line(
                "line.decided_by.role" if role else "line.decided_by", by=input.by, role=role
            )
            self._mail(
                "validation_declined",
                self._recipients(["cell.pilot"]),
                [s.timeline[-1].text, decided],
            )

    def _check_request_urgent_change(self, input: UrgentChangeInput) -> None:
        self._require_active("request an urgent change")

    def _apply_request_urgent_change(self, input: UrgentChangeInput) -> None:
        s = self.state
        change = request(s.urgent_changes, input, workflow.now(), prefix="UC")
        self._record("urgent_change", input.by, change_id=change.id, what=input.what, why=input.why)
        managers = self._recipients(["provider.change_manager"]) or self._recipients(
            ["provider.incident_manager"]
        )
        self._mail("urgent_change", managers, [s.timeline[-1].text])

    def _check_complete_urgent_change(self, input: CompleteUrgentChangeInput) -> None:
        open_change(self.state.urgent_changes, input.change_id)

    def _apply_complete_urgent_change(self, input: CompleteUrgentChangeInput) -> None:
        change = complete(self.state.urgent_changes, input, workflow.now())
        self._record("urgent_change_done", input.by, change_id=change.id, outcome=input.outcome)

    def _apply_close_crisis(self, input: CloseCrisisInput) -> None:
        s = self.state
        now = workflow.now()
        s.status, s.closed_at, s.summary = "closed", now, input.summary
        s.closed = self._acted(input.by, input.without_client_confirmation)
        unconfirmed: list[str] = []  # said in the closing mail as in the timeline
        if s.nominal_confirmed is None and input.without_client_confirmation:
            self._record("closed_unconfirmed", input.by, reason=input.without_client_confirmation)
            unconfirmed.append(s.timeline[-1].text)
        m = self._milestone("closing")
        if m is not None:
            if m.status == "pending":
                self._done("closing", input.by)
            elif m.status == "missed":
                m.done_at, m.by, m.status = now, input.by, "late"
        plan = self._milestone("action_plan")
        if plan is not None and plan.status == "pending" and s.drp is not None:
            if versions.patched(PATCH_DRP_AT_CLOSE):  # decided before its step came
                self._plan_decided()
        self._none_pending()
        clock = BusinessClock(s.policy.business_hours)
        allowance = s.policy.crisis.rex_within.on_clock(s.policy.business_hours.day_length)
        s.rex_due_at = now + (clock.add(now, allowance) - now) / s.time_scale
        due_at = s.rex_due_at.isoformat()
        self._record(
            "closed",
            input.by,
            "crisis_closed",
            summary=input.summary,
            due_at=due_at,
            role=self._role(input.by),
        )
        closing = [self._line("line.text", text=input.summary), *unconfirmed]
        closing += [*self._context_lines(), self._restored_line(), self._drp_line()]
        # §4.5: the cell, and the DNUM who was told of the P1 and asked to convene it.
        self._mail("closing", self._recipients(["cell.participants", "client.dnum"]), closing)
        self._mail(
            "rex_draft",
            self._recipients(["provider.incident_manager"]),
            [self._line("line.rex_due", due_at=due_at), self._line("line.rex_draft")],
            markdown=rex_draft(s),
        )
        if s.incident_id:
            text = self._line(
                "crisis_closed_for_incident", crisis_id=s.crisis_id, summary=input.summary
            )
            self._tasks.append(asyncio.create_task(self._tell_incident(input.by, text)))
        self._close_alerts()

    def _restored_line(self) -> str:
        """When the service came back, counted from T0 (for the closing mail)."""
        s = self.state
        if s.restored_at is None:
            return self._line("line.not_restored")
        elapsed = (s.restored_at - s.t0).total_seconds() * s.time_scale  # a drill's clock
        minutes = max(int(elapsed // 60), 0)
        hours, minutes = divmod(minutes, 60)
        return self._line(
            "line.restored_after",
            restored_at=s.restored_at.isoformat(),
            hours=str(hours),
            minutes=f"{minutes:02d}",
        )

    def _close_alerts(self) -> None:
        """Once the crisis is over, the alerts that carried its notifications are closed."""
        s = self.state
        if self._alerts.queue(s):
            # A cancelled crisis waits CANCEL_WAIT at most for what it sends: the closes too.
            within = CANCEL_WAIT - CANCEL_MARGIN if s.status == "cancelled" else CLOSE_WITHIN
            self._tasks.append(asyncio.create_task(self._alerts.drain(s, within)))

    async def _tell_incident(self, by: str, text: str, incident_id: str | None = None) -> None:
        incident_id = incident_id or self.state.incident_id
        assert incident_id is not None
        handle = workflow.get_external_workflow_handle(incident_id)
        try:
            await handle.signal("record_event", {"by": by, "kind": "crisis_closed", "text": text})
        except Exception as exc:  # the incident may be closed already: the crisis goes on
            if self._state is not None:
                self._record("incident_unreachable", SYSTEM, **workflow_failure_fields(exc))

    def _check_submit_rex(self, input: SubmitRexInput) -> None:
        if self.state.status != "closed":
            status = self.state.status
            raise Refused(
                f"cannot submit the REX: the crisis is {status}",
                "why.crisis",
                crisis_status=status,
            )

    def _apply_submit_rex(self, input: SubmitRexInput) -> None:
        s = self.state
        s.rex = input.link or input.text
        s.status = "rex_submitted"
        late = s.rex_due_at is not None and workflow.now() > s.rex_due_at
        self._record("rex", input.by, "rex.late" if late else "rex", rex=s.rex or "")
        if self._trust:  # §4.8: the report goes to the parties concerned, and no further
            to = [str(c.email) for c in s.matrix.contacts_for(s.matrix.rex_distribution)]
            lines = [self._line("line.rex_submitted", by=input.by, link=input.link or "")]
            self._mail("rex", to, lines, markdown=input.text)

    # ------------------------------------------------------------- plumbing

    @workflow.signal(name="incident_changed", description=DESCRIPTIONS["incident_changed"])
    async def incident_changed_signal(self, *inputs: Any) -> None:
        await self._run_signal(INCIDENT_CHANGED, inputs)  # refused unless exactly one

    @workflow.query(name="status", description=DESCRIPTIONS["status"])
    def status(self) -> CrisisView:
        if self._state is None and self._cancelled_opening:
            raise ApplicationError("the crisis was cancelled while it opened, before it had "
                                   "read its policy: nobody was told of it")  # fmt: skip
        if self._state is None and self._refused is not None:
            raise ApplicationError(
                f"input refused at the start, nothing was opened: {self._refused[:MAX_REASON]}"
            )
        if self._state is None:
            raise ApplicationError("the crisis is still opening; query again in a moment")
        return self._view()

    # ---------------------------------------------------------------- mail

    def _record(self, kind: str, by: str, sentence: str | None = None, **fields: str) -> None:
        """Records an event as data (kind, fields), told in the crisis's language."""
        key = sentence or kind
        if "mail" in fields:  # a crisis's mail: named by the crisis's subjects
            fields = {**fields, "mails": "crisis"}
        self.state.timeline.append(
            TimelineEntry(
                at=workflow.now(), kind=kind, by=by, text=self._line(key, **fields),
                fields=fields, sentence=key,
            )
        )  # fmt: skip

    def _line(self, sentence: str, **fields: str) -> str:
        """A sentence in the crisis's language, times in the business time zone."""
        s = self.state
        if "mail" in fields:
            fields = {**fields, "mails": "crisis"}
        return render(sentence, fields, s.language, s.policy.business_hours.timezone)

    def _record_milestone(self, m: Milestone, by: str) -> None:
        step = shown_step(m.step, self.state)
        self._record("milestone", by, step=step, milestone_status=m.status)
        self._count_milestone(m)

    def _mail(
        self, kind: str, to: list[str], lines: list[str], markdown: str | None = None
    ) -> None:
        recipients = unique_recipients(to)
        if not recipients:
            return
        s = self.state
        key = f"{s.crisis_id}.{s.mail_seq}"
        s.mail_seq += 1
        drill = s.time_scale > 1  # a drill says so first in every subject and body
        if drill:
            lines = [self._line("line.drill"), *lines]
        s.outbox.append(
            CrisisMail(
                key=key,
                thread_key=s.thread_key,
                kind=kind,
                to=recipients,
                channel=self._channel(),
                language=s.language,
                subject=s.title,
                lines=lines,
                markdown=markdown,
                at=workflow.now(),
                drill=drill,
            )
        )
        if s.thread_key is None:
            s.thread_key = key

    async def _deliver(self) -> None:
        s = self.state
        final = ["RecipientsRefused", "OpsgenieRejected"]
        if s.conference is None:
            try:
                result = await workflow.execute_activity(
                    "open_conference",
                    ConferenceInput(crisis_id=s.crisis_id, title=s.title, start=s.t0),
                    result_type=ConferenceResult,
                    start_to_close_timeout=timedelta(minutes=1),
                    retry_policy=RetryPolicy(maximum_attempts=3),
                )
                s.conference = Conference(
                    provider=result.provider, url=result.url,
                    meeting_id=result.meeting_id, passcode=result.passcode,
                )  # fmt: skip
                self._record(
                    "conference",
                    SYSTEM,
                    "conference.fallback" if result.fallback_reason else "conference",
                    provider=result.provider,
                    url=result.url,
                    reason=result.fallback_reason or "",
                )
            except ActivityError as exc:
                reraise_if_run_ends(exc)
                self._record("conference_failed", SYSTEM, **failure_fields(exc))
        self._conference_tried = True
        while True:
            await wait_until(lambda: bool(s.outbox) and not self._stopping)
            mail = s.outbox[0]

            def send(
                retry: RetryPolicy, _: tuple[str, ...] = (), mail: CrisisMail = mail
            ) -> Awaitable[SendMailResult]:
                return workflow.execute_activity(
                    "send_crisis_mail",
                    CrisisMailInput(crisis_id=s.crisis_id, mail=mail, conference=s.conference),
                    result_type=SendMailResult,
                    start_to_close_timeout=timedelta(minutes=2),
                    retry_policy=retry,
                    summary=f"crisis mail {mail.kind}",
                )

            self._sending = True
            try:
                if versions.patched(PATCH_ROUNDS):
                    result = await send_in_rounds(
                        send, s.policy.mail_delivery, final, outbox="mail", item=mail.kind,
                        retrying=s.retrying, record=self._record, publish=self._publish,
                    )  # fmt: skip
                else:
                    result = await send(s.policy.mail_delivery.retry_policy(final))
            except ActivityError as exc:
                reraise_if_run_ends(exc)
                self._undelivered(mail, failure_fields(exc))
            else:
                self._delivered(mail, result)
            finally:
                self._sending = False
            s.outbox.pop(0)

    def _delivered(self, mail: CrisisMail, result: SendMailResult) -> None:
        channel = result.channel or mail.channel
        # When it went out, as the send recorded it: the same in every replay (the time of
        # the task that took the result may not be, when a replay merges activations).
        at = result.sent_at or workflow.now()
        self.state.notifications.append(
            Notification(
                key=mail.key, kind=mail.kind, to=mail.to, at=at, status="sent",
                channel=channel, detail=result.fallback_reason,
            )
        )  # fmt: skip
        if result.fallback_reason:
            self._record(
                "channel_fallback",
                SYSTEM,
                mail=mail.kind,
                channel=channel,
                reason=result.fallback_reason,
            )
        if channel == "opsgenie":
            self._close_alerts()  # sent once the crisis is over: closed in turn

    def _undelivered(self, mail: CrisisMail, failure: dict[str, str]) -> None:
        """Never silent: a timeline entry, and the incident manager told on any channel left.
        ``failure``: the error and its kind (``failure_fields``)."""
        s = self.state
        s.notifications.append(
            Notification(
                key=mail.key, kind=mail.kind, to=mail.to, at=workflow.now(), status="failed",
                detail=failure["error"],
            )
        )  # fmt: skip
        self._record("mail_failed", SYSTEM, "crisis_mail_failed", mail=mail.kind, **failure)
        if self._trust and mail.kind != "notification_failed":
            managers = self._recipients(["provider.incident_manager"])
            self._mail(
                "notification_failed",
                managers + s.policy.notifications.incident_manager,
                [
                    self._line(
                        "line.not_delivered", mail=mail.kind, to=", ".join(mail.to), **failure
                    )
                ],
            )

    def _answer(self) -> CrisisView:
        """An Update's answer: the crisis without its timeline (``status`` has it)."""
        return self._view().model_copy(update={"timeline": [], "notifications": []})

    def _view(self) -> CrisisView:
        s = self.state
        shown = shown_timeline(s.timeline)  # an answer stays far below the payload limit
        return CrisisView(
            crisis_id=s.crisis_id,
            title=s.title,
            drill=s.time_scale > 1,
            criterion=s.criterion,
            incident_id=s.incident_id,
            triggered_by=s.triggered_by,
            application=s.application,
            customer=self._input.customer,
            status=s.status,
            t0=s.t0,
            matrix_version=s.matrix.version,
            business_hours_at_start=s.business_hours_at_start,
            mail_system_affected=s.mail_system_affected,
            security_involved=s.security_involved,
            channel=self._channel(),
            level=s.level,
            level_kind=s.level_kind,
            milestones=s.milestones,
            members=s.members,
            conference=s.conference,
            drp=s.drp,
            last_update=s.updates[-1] if s.updates else None,
            last_status_fresh=s.last_status_fresh,
            restored_at=s.restored_at,
            closed_at=s.closed_at,
            rex_due_at=s.rex_due_at,
            rex=s.rex,
            mails_pending=len(s.outbox),
            timeline=shown,
            timeline_omitted=len(s.timeline) - len(shown),
            notifications=s.notifications[-SHOWN_NOTIFICATIONS:],
            notifications_omitted=max(0, len(s.notifications) - SHOWN_NOTIFICATIONS),
            restored=s.restored,
            nominal_confirmed=s.nominal_confirmed,
            closed=s.closed,
            validations=s.validations,
            urgent_changes=s.urgent_changes,
            retrying=list(s.retrying.values()),
        )
