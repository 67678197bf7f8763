"""Workflows that call the on-call and chat activities the way the incident and crisis
workflows are to (tests only)."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta

from pydantic import BaseModel, Field
from temporalio import activity, workflow

with workflow.unsafe.imports_passed_through():
    from activities.oncall_models import OnCallRecipients, OnCallRecipientsInput
    from workflows.chat import ChatNotification, ChatOutcome, send_chat


class ProbeResult(BaseModel):
    mailed_at: datetime
    outcomes: list[ChatOutcome]
    done_at: dict[str, datetime]


@activity.defn(name="probe_mail")
async def probe_mail() -> None:
    """Stands for a mail: done at once."""


@workflow.defn(name="ChatProbe")
class ChatProbe:
    @workflow.run
    async def run(self, notifications: list[ChatNotification]) -> ProbeResult:
        done: dict[str, datetime] = {}

        async def chat(notification: ChatNotification) -> ChatOutcome:
            outcome = await send_chat(notification)
            done[notification.channel] = workflow.now()
            return outcome

        tasks = [asyncio.create_task(chat(n)) for n in notifications]
        await workflow.execute_activity(probe_mail, start_to_close_timeout=timedelta(seconds=10))
        mailed_at = workflow.now()
        outcomes = list(await asyncio.gather(*tasks))
        return ProbeResult(mailed_at=mailed_at, outcomes=outcomes, done_at=done)


class OnCallAsk(BaseModel):
    schedule: str
    task_queue: str = Field(description="Where Vigie's worker runs its activities")


@workflow.defn(name="OnCallProbe")
class OnCallProbe:
    """Asks who is on call as a crisis outside business hours would."""

    @workflow.run
    async def run(self, ask: OnCallAsk) -> OnCallRecipients:
        return await workflow.execute_activity(
            "on_call_recipients",
            OnCallRecipientsInput(workflow_id=workflow.info().workflow_id, schedule=ask.schedule),
            result_type=OnCallRecipients,
            start_to_close_timeout=timedelta(seconds=30),
            task_queue=ask.task_queue,
        )
