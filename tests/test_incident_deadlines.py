"""Deadlines computed by the running workflow from T0, business hours and holidays."""

from __future__ import annotations

from datetime import datetime, timedelta

from temporalio.testing import WorkflowEnvironment

from starters.dev.smtp_sink import MailSink
from tests.helpers import PARIS, eventually, open_incident, status_when
from workers.settings import Settings
from workers.worker import build_worker


async def test_bronze_p3_friday_afternoon_before_a_public_holiday(
    skipping_env: WorkflowEnvironment, settings: Settings, sink: MailSink
) -> None:
    # Friday 3 April 2026, 15:00 in Paris; Monday 6 April is Easter Monday.
    t0 = datetime(2026, 4, 3, 15, 0, tzinfo=PARIS)
    client = skipping_env.client
    async with build_worker(client, settings):
        handle = await open_incident(
            client, settings.task_queue, service_level="bronze", priority="P3", t0=t0
        )
        # T0 is long past: both deadlines are already breached when the incident opens.
        view = await status_when(handle, lambda v: v.ack_breached and v.resolution_breached)
        assert view.opened_at == t0
        assert view.ack_due_at == datetime(2026, 4, 3, 16, 0, tzinfo=PARIS)
        # 5 business days of 10 h: Friday 3 h, Easter Monday closed, Tuesday to
        # Friday 40 h, then Monday 13 April 08:00 + 7 h.
        assert view.resolution_due_at == datetime(2026, 4, 13, 15, 0, tzinfo=PARIS)
        await eventually(
            lambda: [
                m for m in sink.about(handle.id) if "Délai de résolution dépassé" in m["Subject"]
            ]
        )


async def test_impact_and_urgency_give_the_priority(
    skipping_env: WorkflowEnvironment, settings: Settings
) -> None:
    client = skipping_env.client
    async with build_worker(client, settings):
        handle = await open_incident(
            client, settings.task_queue, priority=None, impact="high", urgency="medium"
        )
        view = await status_when(handle, lambda v: True)
        assert view.priority == "P2"


async def test_missing_information_is_listed_not_refused(
    skipping_env: WorkflowEnvironment, settings: Settings
) -> None:
    client = skipping_env.client
    async with build_worker(client, settings):
        handle = await open_incident(
            client,
            settings.task_queue,
            priority=None,
            category=None,
            description=None,
            application=None,
            requesters=[],
        )
        view = await status_when(handle, lambda v: True)
        assert view.status == "open"
        assert view.priority == "P3"
        assert view.missing_fields == [
            "category",
            "description",
            "application",
            "priority",
            "requesters",
        ]


async def test_a_future_t0_is_not_trusted(
    skipping_env: WorkflowEnvironment, settings: Settings
) -> None:
    client = skipping_env.client
    now = await skipping_env.get_current_time()
    async with build_worker(client, settings):
        handle = await open_incident(client, settings.task_queue, t0=now + timedelta(days=1))
        view = await status_when(handle, lambda v: True)
        assert view.opened_at < now + timedelta(minutes=1)
        assert any(e.sentence == "t0_future" for e in view.timeline)
