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
from tests.helpers import on_a_business_morning, open_incident, status_when
from workers.policy_file import load_policy
from workers.settings import DEFAULT_CONFIG_DIR
from workflows.crisis import CrisisWorkflow
from workflows.incident import IncidentWorkflow
from workflows.models import AcknowledgeInput, WorklogInput
from workflows.sla import compute_deadlines

POLICY = load_policy(DEFAULT_CONFIG_DIR)


class StandIns:
    """Records each mail the workflow asks for; mails of the kinds in ``poison`` fail for
    good, as a mail the server refuses would."""

    def __init__(self) -> None:
        self.mails: list[tuple[str, list[str]]] = []
        self.poison: set[str] = set()

    @activity.defn(name="load_policy")
    async def load_policy(self, input: LoadPolicyInput) -> LoadPolicyResult:
        return LoadPolicyResult(policy=POLICY, source="stand-in")

    @activity.defn(name="send_incident_mail")
    async def send_incident_mail(self, input: SendMailInput) -> SendMailResult:
        self.mails.append((input.mail.kind, input.mail.to))
        if input.mail.kind in self.poison:
            raise ApplicationError("550 mailbox unavailable", type="Rejected", non_retryable=True)
        return SendMailResult(message_id=f"<{input.mail.key}@stand-in>")

    @activity.defn(name="opsgenie_alert_action")
    async def alert_action(self, input: AlertActionInput) -> AlertActionResult:
        return AlertActionResult(skipped="no alert in these tests")

    @activity.defn(name="opsgenie_who_is_on_call")
    async def who_is_on_call(self, input: OnCallInput) -> OnCallResult:
        return OnCallResult(skipped="no schedule in these tests")

    def kinds(self) -> list[str]:
        return [kind for kind, _ in self.mails]


@pytest_asyncio.fixture
async def stand_ins(skipping_env: WorkflowEnvironment) -> AsyncIterator[tuple[StandIns, str]]:
    fakes = StandIns()
    queue = f"stand-ins-{uuid.uuid4().hex[:8]}"
    async with Worker(
        skipping_env.client,
        task_queue=queue,
        workflows=[IncidentWorkflow, CrisisWorkflow],
        activities=[
            fakes.load_policy, fakes.send_incident_mail, fakes.alert_action,
            fakes.who_is_on_call,
        ],
    ):  # fmt: skip
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
    handle = await open_incident(skipping_env.client, queue, priority="P3", service_level="gold")
    await handle.execute_update(IncidentWorkflow.acknowledge, AcknowledgeInput(by="alice"))
    await handle.execute_update(
        IncidentWorkflow.add_worklog, WorklogInput(by="alice", text="restarted the pool")
    )
    view = await status_when(handle, lambda v: v.mails_pending == 0 and len(fakes.mails) >= 3)
    failed = [e for e in view.timeline if e.kind == "mail_failed"]
    assert [e.fields["mail"] for e in failed] == ["acknowledged"]
    assert "550 mailbox unavailable" in failed[0].fields["error"]
    assert fakes.kinds().index("acknowledged") < len(fakes.kinds()) - 1  # others followed
