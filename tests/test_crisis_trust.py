"""A crisis settles every milestone whatever the order of operator actions, never drops a
notification, and says what it is (time-skipping server, real SMTP sink)."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from temporalio.testing import WorkflowEnvironment

from starters.dev.smtp_sink import MailSink
from tests.conftest import free_port
from tests.helpers import advance, eventually
from tests.test_crisis_chronogram import crisis_status, mails, start_crisis
from workers.settings import Settings
from workers.worker import build_worker
from workflows.crisis import CrisisWorkflow
from workflows.crisis_models import (
    CloseCrisisInput,
    ConfirmNominalInput,
    CrisisInput,
    DecideDrpInput,
    ServiceRestoredInput,
)


async def test_restored_before_the_drp_decision_settles_the_restoration(
    skipping_env: WorkflowEnvironment, settings: Settings, sink: MailSink
) -> None:
    client = skipping_env.client
    async with build_worker(client, settings):
        crisis = await start_crisis(
            client,
            settings.task_queue,
            "crisis-restored-first",
            CrisisInput(title="Payments down", opened_by="im"),
        )
        await advance(skipping_env, timedelta(minutes=10))
        await crisis.execute_update(
            CrisisWorkflow.service_restored, ServiceRestoredInput(by="im", note="rollback done")
        )
        await crisis.execute_update(
            CrisisWorkflow.decide_drp,
            DecideDrpInput(by="im", activate=True, reason="site B kept until the root cause"),
        )
        # Past the restoration target (T0+3 h 30) and the closing target (T0+5 h 30).
        await advance(skipping_env, timedelta(hours=5, minutes=31))
        closing_due = await eventually(lambda: mails(sink, crisis.id, "closing_reminder"))
        assert closing_due
        await crisis.execute_update(
            CrisisWorkflow.confirm_nominal, ConfirmNominalInput(by="n1@client.example.org")
        )
        view = await asyncio.wait_for(
            crisis.execute_update(
                CrisisWorkflow.close_crisis, CloseCrisisInput(by="dm", summary="all good")
            ),
            timeout=30,
        )
        by_step = {m.step: m for m in view.milestones}
        restoration = by_step["restoration"]
        assert restoration.status == "met", restoration
        assert restoration.done_at is not None and restoration.done_at < restoration.due_at
        assert all(m.status != "pending" for m in view.milestones), view.milestones
        # Restored at T0+10 min: the DRP is no reason to escalate at T0+1 h 30.
        assert not any(e.kind == "drp_undecided" for e in view.timeline)


async def test_every_milestone_settles_whatever_the_order(
    skipping_env: WorkflowEnvironment, settings: Settings, sink: MailSink
) -> None:
    """DRP activated late (after T0+1 h 30), service restored after the restoration target."""
    client = skipping_env.client
    async with build_worker(client, settings):
        crisis = await start_crisis(
            client,
            settings.task_queue,
            "crisis-late-drp",
            CrisisInput(title="Storage array lost", opened_by="im"),
        )
        await advance(skipping_env, timedelta(hours=2))
        await crisis.execute_update(
            CrisisWorkflow.decide_drp, DecideDrpInput(by="im", activate=True, reason="late call")
        )
        await advance(skipping_env, timedelta(hours=2))
        view = await crisis.execute_update(
            CrisisWorkflow.service_restored, ServiceRestoredInput(by="im")
        )
        restoration = next(m for m in view.milestones if m.step == "restoration")
        assert restoration.status == "late", restoration
        view = await crisis.execute_update(
            CrisisWorkflow.close_crisis,
            CloseCrisisInput(by="dm", summary="back", without_client_confirmation="no answer"),
        )
        assert all(m.status != "pending" for m in view.milestones), view.milestones
        story = (await crisis_status(crisis)).timeline
        assert any(e.kind == "closed_unconfirmed" for e in story)


async def test_a_word_containing_mail_is_not_a_mail_system_incident(
    skipping_env: WorkflowEnvironment, settings: Settings, sink: MailSink
) -> None:
    client = skipping_env.client
    async with build_worker(client, settings):
        crisis = await client.start_workflow(
            CrisisWorkflow.run,
            CrisisInput(
                title="Checkout broken",
                context="Customers get no confirmation email after paying",
                opened_by="im",
            ),
            id="crisis-email-word",
            task_queue=settings.task_queue,
        )
        view = await crisis_status(crisis)
        assert not view.mail_system_affected and view.channel == "smtp"
        await advance(skipping_env, timedelta(minutes=31))
        await eventually(lambda: mails(sink, crisis.id, "escalation"))


async def test_mail_system_without_alternate_channel_falls_back_and_says_so(
    skipping_env: WorkflowEnvironment, settings: Settings, sink: MailSink
) -> None:
    """Nothing configured but the primary mail server: every notification still goes out,
    and each one records the channel that carried it."""
    client = skipping_env.client
    async with build_worker(client, settings):
        crisis = await client.start_workflow(
            CrisisWorkflow.run,
            CrisisInput(title="Exchange down", mail_system_affected=True, opened_by="im"),
            id="crisis-no-relay",
            task_queue=settings.task_queue,
        )
        view = await crisis_status(crisis)
        assert view.mail_system_affected
        await advance(skipping_env, timedelta(minutes=31))
        await eventually(lambda: mails(sink, crisis.id, "escalation"))
        await eventually(lambda: mails(sink, crisis.id, "p1_open"))
        view = await crisis_status(crisis)
        sent = [n for n in view.notifications if n.kind == "escalation"]
        assert sent and sent[0].status == "sent" and sent[0].channel == "smtp", sent
        assert not any(e.kind == "mail_failed" for e in view.timeline), view.timeline


async def test_a_refused_notification_is_recorded_and_the_manager_told(
    skipping_env: WorkflowEnvironment, settings: Settings
) -> None:
    """The DNUM's server refuses the "P1 open" mail for good: the notification is recorded
    as failed, the timeline says so, and the incident manager is mailed about it."""
    client = skipping_env.client
    with MailSink(port=free_port(), refuse=frozenset({"dnum@client.example.org"})) as sink:
        cfg = settings.model_copy(update={"smtp_port": sink.port})
        async with build_worker(client, cfg):
            crisis = await start_crisis(
                client,
                cfg.task_queue,
                "crisis-refused-dnum",
                CrisisInput(title="Payments down", opened_by="im"),
            )
            await advance(skipping_env, timedelta(minutes=31))
            told = (await eventually(lambda: mails(sink, crisis.id, "notification_failed")))[0]
            assert "p1_open" in str(told.get_body(("plain",)).get_content())
            view = await crisis_status(crisis)
            failed = [n for n in view.notifications if n.kind == "p1_open"]
            assert failed and failed[0].status == "failed" and failed[0].detail
            assert any(e.kind == "mail_failed" for e in view.timeline)


async def test_a_breached_resolution_deadline_escalates_once(
    skipping_env: WorkflowEnvironment, settings: Settings, sink: MailSink
) -> None:
    client = skipping_env.client
    async with build_worker(client, settings):
        start = await skipping_env.get_current_time()
        crisis = await start_crisis(
            client,
            settings.task_queue,
            "crisis-breached",
            CrisisInput(
                title="Payments down",
                t0=start,
                opened_by="im",
                resolution_due_at=start + timedelta(minutes=20),
            ),
        )
        await advance(skipping_env, timedelta(minutes=21))
        await eventually(lambda: mails(sink, crisis.id, "escalation"))
        await advance(skipping_env, timedelta(minutes=10))  # past the T0+30 escalation step
        await eventually(lambda: mails(sink, crisis.id, "p1_open"))
        view = await crisis_status(crisis)
        reasons = [
            e.fields.get("escalation_reason") for e in view.timeline if e.kind == "escalation"
        ]
        assert reasons.count("breached") == 1
        assert view.level == 1  # the T0+30 step found level 1 already reached: not repeated
