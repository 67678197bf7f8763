"""Workflow rules with activity stand-ins registered by name, as samples-python does: no SMTP
server, no Opsgenie, only what the workflow asks its activities to do, and when."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import datetime, timedelta

import pytest_asyncio
from temporalio import activity
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.exceptions import ApplicationError
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from activities.models import (
    AlertActionInput,
    AlertActionResult,
    LoadPolicyInput,
    LoadPolicyResult,
    OnCallInput,
    OnCallResult,
    SendMailInput,
    SendMailResult,
)
from tests.helpers import assert_eventually, on_a_business_morning, open_incident, status_when
from workers.policy_file import load_policy
from workers.settings import DEFAULT_CONFIG_DIR
from workers.worker import apply_activation_in_one_batch
from workflows.chat import ChatInput, ChatNotification, ChatResult
from workflows.crisis import CrisisWorkflow
from workflows.incident import IncidentWorkflow
from workflows.models import AcknowledgeInput, AlertCommand, AlertRef, ResolveInput, WorklogInput
from workflows.oncall_policy import ChatChannel, Customer
from workflows.sla import compute_deadlines

POLICY = load_policy(DEFAULT_CONFIG_DIR)


class StandIns:
    """Records each mail and chat message the workflow asks for; mails of the kinds in
    ``poison`` fail for good, as a mail the server refuses would; chat channels named in
    ``refusing`` refuse their messages."""

    def __init__(self) -> None:
        self.policy = POLICY
        self.mails: list[tuple[str, list[str]]] = []
        self.poison: set[str] = set()
        self.chats: list[ChatNotification] = []
        self.refusing: set[str] = set()
        self.alert_changes: list[AlertCommand] = []

    @activity.defn(name="load_policy")
    async def load_policy(self, input: LoadPolicyInput) -> LoadPolicyResult:
        return LoadPolicyResult(policy=self.policy, source="stand-in")

    @activity.defn(name="send_chat_message")
    async def send_chat_message(self, input: ChatInput) -> ChatResult:
        self.chats.append(input.notification)
        if input.notification.channel in self.refusing:
            raise ApplicationError("404 webhook not found", type="ChatRejected", non_retryable=True)
        return ChatResult(channel=input.notification.channel, status=200)

    @activity.defn(name="send_incident_mail")
    async def send_incident_mail(self, input: SendMailInput) -> SendMailResult:
        self.mails.append((input.mail.kind, input.mail.to))
        if input.mail.kind in self.poison:
            raise ApplicationError("550 mailbox unavailable", type="Rejected", non_retryable=True)
        return SendMailResult(message_id=f"<{input.mail.key}@stand-in>")

    @activity.defn(name="opsgenie_alert_action")
    async def alert_action(self, input: AlertActionInput) -> AlertActionResult:
        self.alert_changes.append(input.command)
        return AlertActionResult(status="accepted")

    @activity.defn(name="opsgenie_who_is_on_call")
    async def who_is_on_call(self, input: OnCallInput) -> OnCallResult:
        return OnCallResult(skipped="no schedule in these tests")

    def kinds(self) -> list[str]:
        return [kind for kind, _ in self.mails]


@pytest_asyncio.fixture
async def stand_ins(skipping_env: WorkflowEnvironment) -> AsyncIterator[tuple[StandIns, str]]:
    fakes = StandIns()
    queue = f"stand-ins-{uuid.uuid4().hex[:8]}"
    worker = Worker(
        skipping_env.client,
        task_queue=queue,
        workflows=[IncidentWorkflow, CrisisWorkflow],
        activities=[
            fakes.load_policy, fakes.send_incident_mail, fakes.alert_action,
            fakes.who_is_on_call, fakes.send_chat_message,
        ],
    )  # fmt: skip
    assert apply_activation_in_one_batch(worker)  # as workers.worker.build_worker does
    async with worker:
        yield fakes, queue


async def test_deadlines_fire_at_the_times_the_rules_give(
    skipping_env: WorkflowEnvironment, stand_ins: tuple[StandIns, str]
) -> None:
    assert skipping_env.client.data_converter is pydantic_data_converter
    fakes, queue = stand_ins
    await on_a_business_morning(skipping_env)
    handle = await open_incident(skipping_env.client, queue, priority="P2", service_level="silver")
    opened = await status_when(handle, lambda v: bool(v.timeline))
    d = compute_deadlines(POLICY, "P2", "silver", opened.opened_at, [])
    await skipping_env.sleep(d.ack_due_at - opened.opened_at + timedelta(minutes=1))
    view = await status_when(handle, lambda v: v.ack_breached)
    fired: dict[str, datetime] = {e.kind: e.at for e in view.timeline}
    # Each fires at its time (timers have millisecond grain), not a task's wait later.
    assert timedelta(0) <= fired["ack_warning"] - d.ack_warning_at < timedelta(seconds=1)
    assert timedelta(0) <= fired["ack_breach"] - d.ack_due_at < timedelta(seconds=1)
    assert fakes.kinds()[-2:] == ["ack_warning", "ack_breach"]
    assert dict(fakes.mails)["ack_breach"] == POLICY.notifications.incident_manager


async def test_a_mail_refused_for_good_is_recorded_and_the_next_ones_go(
    skipping_env: WorkflowEnvironment, stand_ins: tuple[StandIns, str]
) -> None:
    fakes, queue = stand_ins
    fakes.poison.add("acknowledged")
    await on_a_business_morning(skipping_env)
    handle = await open_incident(
        skipping_env.client, queue, priority="P3", service_level="gold",
        alert=AlertRef(identifier="alert-1", identifier_type="id"),
    )  # fmt: skip
    await handle.execute_update(IncidentWorkflow.acknowledge, AcknowledgeInput(by="alice"))
    await handle.execute_update(
        IncidentWorkflow.add_worklog, WorklogInput(by="alice", text="restarted the pool")
    )
    view = await status_when(
        handle,
        lambda v: v.mails_pending == 0 and v.alert_changes_pending == 0 and len(fakes.mails) >= 4,
    )
    failed = [e for e in view.timeline if e.kind == "mail_failed"]
    assert [e.fields["mail"] for e in failed] == ["acknowledged"]
    assert "550 mailbox unavailable" in failed[0].fields["error"]
    assert fakes.kinds().index("acknowledged") < len(fakes.kinds()) - 1  # others followed
    # The incident manager is told by mail, and the alert by a note.
    assert ("notification_failed", POLICY.notifications.incident_manager) in fakes.mails
    notes = [c.note or "" for c in fakes.alert_changes if c.action == "note"]
    assert [n for n in notes if "550 mailbox unavailable" in n], notes


async def test_a_failed_failure_notice_is_not_told_again(
    skipping_env: WorkflowEnvironment, stand_ins: tuple[StandIns, str]
) -> None:
    """When the incident manager's own notice fails too, nothing loops: one notice per failure."""
    fakes, queue = stand_ins
    fakes.poison |= {"acknowledged", "notification_failed"}
    await on_a_business_morning(skipping_env)
    handle = await open_incident(skipping_env.client, queue, priority="P3", service_level="gold")
    await handle.execute_update(IncidentWorkflow.acknowledge, AcknowledgeInput(by="alice"))
    await handle.execute_update(
        IncidentWorkflow.add_worklog, WorklogInput(by="alice", text="restarted the pool")
    )
    view = await status_when(handle, lambda v: v.mails_pending == 0 and "worklog" in fakes.kinds())
    failed = [e.fields["mail"] for e in view.timeline if e.kind == "mail_failed"]
    assert failed == ["acknowledged", "notification_failed"]
    assert fakes.kinds().count("notification_failed") == 1


def with_channels(*channels: ChatChannel) -> object:
    return POLICY.model_copy(
        update={
            "customers": [
                Customer(name="client", applications=["checkout"], channels=list(channels))
            ]
        }
    )


async def test_a_p1_and_its_breach_reach_the_chat_channels_that_listen(
    skipping_env: WorkflowEnvironment, stand_ins: tuple[StandIns, str]
) -> None:
    fakes, queue = stand_ins
    fakes.policy = with_channels(  # type: ignore[assignment]
        ChatChannel(name="crise", vendor="teams", events=["p1_opened", "breach"]),
        ChatChannel(name="ops", vendor="slack", events=["breach"], language="en"),
        ChatChannel(name="gone", vendor="mattermost", events=["p1_opened"]),
    )
    fakes.refusing.add("gone")
    await on_a_business_morning(skipping_env)
    handle = await open_incident(skipping_env.client, queue, application="checkout")
    view = await status_when(handle, lambda v: any(e.kind == "chat_failed" for e in v.timeline))
    assert sorted((n.kind, n.channel) for n in fakes.chats) == [
        ("p1_opened", "crise"), ("p1_opened", "gone"),
    ]  # fmt: skip
    failed = next(e for e in view.timeline if e.kind == "chat_failed")
    assert failed.fields["channel"] == "gone" and "404 webhook not found" in failed.fields["error"]
    # The mails went out all the same; then the acknowledgement deadline passes.
    assert "opened" in fakes.kinds()
    d = compute_deadlines(POLICY, "P1", "gold", view.opened_at, [])
    await skipping_env.sleep(d.ack_due_at - view.opened_at + timedelta(minutes=1))
    await status_when(handle, lambda v: v.ack_breached)
    breaches = await assert_eventually(lambda: breach_chats(fakes))
    assert sorted((n.channel, n.language) for n in breaches) == [("crise", "fr"), ("ops", "en")]


async def breach_chats(fakes: StandIns) -> list[ChatNotification]:
    found = [n for n in fakes.chats if n.kind == "breach"]
    assert len(found) == 2, found
    return found


async def test_an_incident_of_another_application_stays_out_of_the_channel(
    skipping_env: WorkflowEnvironment, stand_ins: tuple[StandIns, str]
) -> None:
    fakes, queue = stand_ins
    fakes.policy = with_channels(ChatChannel(name="crise", vendor="teams"))  # type: ignore[assignment]
    await on_a_business_morning(skipping_env)
    other = await open_incident(skipping_env.client, queue, application="payroll")
    mine = await open_incident(skipping_env.client, queue, application="checkout")
    await assert_eventually(lambda: chats_of(fakes, mine.id))
    await status_when(other, lambda v: v.mails_pending == 0 and "opened" in fakes.kinds())
    assert not [n for n in fakes.chats if other.id in n.key]


async def chats_of(fakes: StandIns, workflow_id: str) -> list[ChatNotification]:
    found = [n for n in fakes.chats if workflow_id in n.key]
    assert found
    return found


async def test_failures_are_told_once_per_streak(
    skipping_env: WorkflowEnvironment, stand_ins: tuple[StandIns, str]
) -> None:
    """Mails to the same recipients that keep failing are told once; once one went through,
    the next failure is told again."""
    fakes, queue = stand_ins
    fakes.poison |= {"acknowledged", "worklog", "resolved"}
    await on_a_business_morning(skipping_env)
    handle = await open_incident(skipping_env.client, queue, priority="P3", service_level="gold")
    await handle.execute_update(IncidentWorkflow.acknowledge, AcknowledgeInput(by="alice"))
    await handle.execute_update(
        IncidentWorkflow.add_worklog, WorklogInput(by="alice", text="restarted the pool")
    )
    await status_when(handle, lambda v: v.mails_pending == 0 and "worklog" in fakes.kinds())
    assert fakes.kinds().count("notification_failed") == 1  # acknowledged, then worklog
    fakes.poison.discard("worklog")
    await handle.execute_update(
        IncidentWorkflow.add_worklog, WorklogInput(by="alice", text="pool is back")
    )
    await handle.execute_update(IncidentWorkflow.resolve, ResolveInput(by="alice", resolution="ok"))
    view = await status_when(handle, lambda v: v.mails_pending == 0 and "resolved" in fakes.kinds())
    failed = [e.fields["mail"] for e in view.timeline if e.kind == "mail_failed"]
    assert failed == ["acknowledged", "worklog", "resolved"]
    assert fakes.kinds().count("notification_failed") == 2  # the second worklog went through
