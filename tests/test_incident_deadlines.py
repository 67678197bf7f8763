"""Deadlines computed by the running workflow from T0, business hours and holidays."""

from __future__ import annotations

import asyncio
from datetime import date, datetime, time, timedelta

from temporalio.testing import WorkflowEnvironment

from starters.dev.smtp_sink import MailSink
from tests.helpers import PARIS, eventually, open_incident, status, status_when
from tests.test_versions import patch_markers
from workers.policy_file import load_policy
from workers.settings import Settings
from workers.worker import build_worker
from workflows.calendar import BusinessClock
from workflows.sla import compute_deadlines


def latest_monday_holiday(clock: BusinessClock, before: date) -> date:
    """The latest public holiday on a Monday, before ``before``, with the week after it open
    (Tuesday to Friday and the next Monday)."""
    day = before - timedelta(days=before.weekday())  # a Monday
    while True:
        week = [day + timedelta(days=n) for n in (1, 2, 3, 4, 7)]
        if clock.holiday_name(day) and all(clock.is_open_day(d) for d in week):
            return day
        day -= timedelta(days=7)


async def test_bronze_p3_friday_afternoon_before_a_public_holiday(
    skipping_env: WorkflowEnvironment, settings: Settings, sink: MailSink
) -> None:
    # The latest Monday holiday of the past year (Easter or Whit Monday at least) whose next
    # week is open; T0 the Friday before, 15:00 in Paris. A T0 is taken up to 366 days back.
    clock = BusinessClock(load_policy(settings.config_dir).business_hours)
    holiday = latest_monday_holiday(clock, date.today() - timedelta(days=10))
    t0 = datetime.combine(holiday - timedelta(days=3), time(15, 0), tzinfo=PARIS)
    client = skipping_env.client
    async with build_worker(client, settings):
        handle = await open_incident(
            client, settings.task_queue, service_level="bronze", priority="P3", t0=t0
        )
        # T0 is long past: both deadlines are already breached when the incident opens.
        view = await status_when(handle, lambda v: v.ack_breached and v.resolution_breached)
        assert view.opened_at == t0
        assert view.ack_due_at == t0 + timedelta(hours=1)
        # 5 business days of 10 h: Friday 3 h, the holiday closed, Tuesday to Friday 40 h,
        # then the next Monday 08:00 + 7 h.
        next_monday = holiday + timedelta(days=7)
        assert view.resolution_due_at == datetime.combine(next_monday, time(15, 0), tzinfo=PARIS)
        await eventually(
            lambda: [
                m for m in sink.about(handle.id) if "Délai de résolution dépassé" in m["Subject"]
            ]
        )
        # Each deadline's breach is told, never "the deadline approaches" with it.
        subjects = [str(m["Subject"]) for m in sink.about(handle.id)]
        assert sum("Délai de prise en compte dépassé" in s for s in subjects) == 1, subjects
        # ... to the team the warnings are for as well (policy [notifications] team).
        breaches = [m for m in sink.about(handle.id) if "dépassé" in str(m["Subject"])]
        assert all("team@example.com" in str(m["To"]).split(", ") for m in breaches), breaches
        assert not [s for s in subjects if "Alerte délai" in s], subjects
        kinds = [e.kind for e in (await status(handle)).timeline]
        assert "ack_warning" not in kinds and "resolution_warning" not in kinds, kinds
        assert "no-warning-with-its-breach" in await patch_markers(handle)


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


async def test_an_incident_counts_from_its_start_when_no_worker_took_it_at_once(
    dev_env: WorkflowEnvironment, settings: Settings
) -> None:
    """Workers behind or down: the ticket opened when it reached Temporal, as lists show it,
    and its deadlines count from then, not from when a worker took it."""
    client = dev_env.client
    handle = await open_incident(client, settings.task_queue, priority="P2")
    started = (await handle.describe()).start_time
    await asyncio.sleep(1.5)  # no worker yet: the delay this is about, on a real server
    async with build_worker(client, settings):
        view = await status(handle)
    assert view.opened_at == started and view.ticket_opened_at == started, view
    policy = load_policy(settings.config_dir)
    assert view.ack_due_at == compute_deadlines(policy, "P2", "gold", started, []).ack_due_at
    assert "ticket-at-start" in await patch_markers(handle)


async def test_a_breach_a_new_class_undoes_is_said_in_the_timeline(
    skipping_env: WorkflowEnvironment, settings: Settings, sink: MailSink
) -> None:
    """A gold P1 at night breaches its acknowledgement deadline (15 min, around the clock);
    made a P3 (business hours), that deadline is Monday morning: the breach no longer
    counts, and the timeline says so rather than dropping it without a word."""
    from tests.helpers import advance
    from tests.test_incident_on_call import saturday_night
    from workflows.incident import IncidentWorkflow
    from workflows.models import RecategorizeInput

    await saturday_night(skipping_env)
    async with build_worker(skipping_env.client, settings):
        handle = await open_incident(skipping_env.client, settings.task_queue)
        await status(handle)
        await advance(skipping_env, timedelta(minutes=16))
        await status_when(handle, lambda v: v.ack_breached)
        view = await handle.execute_update(
            IncidentWorkflow.recategorize,
            RecategorizeInput(by="im", priority="P3", reason="only one user"),
        )
        assert not view.ack_breached and view.priority == "P3"
        view = await status(handle)  # an Update's answer leaves the timeline out
        voided = next((e for e in view.timeline if e.kind == "breach_voided"), None)
        assert voided is not None, [(e.kind, e.text) for e in view.timeline]
        due = view.ack_due_at.astimezone(PARIS)
        assert voided.text == (
            "Le dépassement du délai de prise en charge ne compte plus : avec la nouvelle "
            f"classe, ce délai est le {due:%d/%m/%Y %H:%M %Z}."
        ), voided.text
        assert due.weekday() == 0  # Monday, in business hours
        kinds = [e.kind for e in view.timeline]
        assert kinds.index("recategorized") < kinds.index("breach_voided")  # cause first
        # The requesters' mail and the alert's note tell the change itself, with its reason.
        await status_when(handle, lambda v: v.mails_pending == 0)
        [mail] = [m for m in sink.about(handle.id) if "Recatégorisé" in str(m["Subject"])]
        body = str(mail.get_body(("plain",)).get_content())  # type: ignore[union-attr]
        assert "P1 Gold → P3 Gold : only one user" in body, body
        assert "ne compte plus" not in body, body
