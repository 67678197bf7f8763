"""Acknowledgement deadline: warning, breach, mail to the incident manager."""

from __future__ import annotations

from datetime import timedelta

from temporalio.testing import WorkflowEnvironment

from starters.dev.smtp_sink import MailSink
from tests.helpers import advance, eventually, open_incident, status
from workers.settings import Settings
from workers.worker import build_worker
from workflows.incident import IncidentWorkflow
from workflows.models import AcknowledgeInput


async def test_gold_p1_unacknowledged_for_15_minutes_breaches(
    skipping_env: WorkflowEnvironment, settings: Settings, sink: MailSink
) -> None:
    client = skipping_env.client
    async with build_worker(client, settings):
        handle = await open_incident(client, settings.task_queue)
        view = await status(handle)
        assert view.status == "open"
        assert view.ack_due_at - view.opened_at == timedelta(minutes=15)

        await advance(skipping_env, timedelta(minutes=16))
        view = await status(handle)
        assert view.ack_breached is True
        assert not view.resolution_breached
        kinds = [entry.kind for entry in view.timeline]
        assert kinds.index("ack_warning") < kinds.index("ack_breach")
        breach = next(e for e in view.timeline if e.kind == "ack_breach")
        assert timedelta(0) <= breach.at - view.ack_due_at < timedelta(seconds=1)

        mails = await eventually(
            lambda: [m for m in sink.about(handle.id) if "im@example.com" in m["To"]]
        )
        subjects = [m["Subject"] for m in mails]
        assert any("Délai de prise en compte dépassé" in s for s in subjects), subjects
        assert all(handle.id in s for s in subjects)


async def test_acknowledged_in_time_never_breaches(
    skipping_env: WorkflowEnvironment, settings: Settings, sink: MailSink
) -> None:
    client = skipping_env.client
    async with build_worker(client, settings):
        handle = await open_incident(client, settings.task_queue)
        await status(handle)
        await advance(skipping_env, timedelta(minutes=5))
        view = await handle.execute_update(
            IncidentWorkflow.acknowledge, AcknowledgeInput(by="alice")
        )
        assert view.status == "in_progress"
        assert view.acknowledged_at is not None
        await advance(skipping_env, timedelta(minutes=20))
        view = await status(handle)
        assert view.ack_breached is False
        assert [e.kind for e in view.timeline if e.kind.startswith("ack_")] == []
