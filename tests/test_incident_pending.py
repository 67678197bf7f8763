"""Pending pauses the resolution clock; resuming pushes the deadline back."""

from __future__ import annotations

from datetime import timedelta

from temporalio.testing import WorkflowEnvironment

from starters.dev.smtp_sink import MailSink
from tests.helpers import advance, eventually, next_open_morning, open_incident, sleep_until, status
from workers.policy_file import load_policy
from workers.settings import Settings
from workers.worker import build_worker
from workflows.calendar import BusinessClock
from workflows.incident import IncidentWorkflow
from workflows.models import AcknowledgeInput, ResumeInput, SetPendingInput


async def test_silver_p2_pending_for_3_hours_moves_its_deadline_3_hours(
    skipping_env: WorkflowEnvironment, settings: Settings, sink: MailSink
) -> None:
    client = skipping_env.client
    clock = BusinessClock(load_policy(settings.config_dir).business_hours)
    tuesday_9 = next_open_morning(await skipping_env.get_current_time(), weekday=1, hour=9)
    await sleep_until(skipping_env, tuesday_9)

    async with build_worker(client, settings):
        handle = await open_incident(
            client, settings.task_queue, service_level="silver", priority="P2"
        )
        view = await status(handle)
        original_due = view.resolution_due_at
        assert original_due is not None
        # 8 business hours from Tuesday ~09:00 → Tuesday ~17:00.
        assert clock.elapsed(view.opened_at, original_due) == timedelta(hours=8)

        await handle.execute_update(IncidentWorkflow.acknowledge, AcknowledgeInput(by="alice"))
        await sleep_until(skipping_env, view.opened_at + timedelta(hours=1))
        paused = await handle.execute_update(
            IncidentWorkflow.set_pending,
            SetPendingInput(by="alice", waiting_on="customer", reason="need the failing order id"),
        )
        assert paused.status == "pending" and paused.sla_paused
        assert paused.resolution_due_at is None

        await advance(skipping_env, timedelta(hours=3))
        view = await status(handle)
        assert view.status == "pending" and not view.resolution_breached
        assert "resolution_warning" not in [entry.kind for entry in view.timeline]

        resumed = await handle.execute_update(IncidentWorkflow.resume, ResumeInput(by="alice"))
        assert resumed.status == "in_progress" and not resumed.sla_paused
        story = (await status(handle)).timeline
        paused_at = next(e.at for e in story if e.kind == "pending")
        resumed_at = next(e.at for e in story if e.kind == "resumed")
        pause = resumed_at - paused_at
        assert timedelta(hours=3) <= pause < timedelta(hours=3, seconds=1)
        assert resumed.resolution_due_at == clock.add(original_due, pause)
        assert resumed.resolution_due_at - original_due > timedelta(hours=3)  # crossed the night

        # The incident manager hears about the pending state.
        await eventually(
            lambda: [
                m
                for m in sink.about(handle.id)
                if "En attente" in m["Subject"] and "im@example.com" in m["To"]
            ]
        )
