"""§4.2 on-call readiness, on a time-skipping server with the Opsgenie stand-in over HTTP and a
real SMTP sink: gaps are mailed every day until filled, then "complete" once."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage

from temporalio.client import WorkflowHandle
from temporalio.testing import WorkflowEnvironment

from starters.dev.opsgenie_standin import OpsgenieStandIn
from starters.dev.smtp_sink import MailSink
from tests.helpers import PARIS, eventually, sleep_until
from tests.test_incident_on_call import standin_api
from workers.settings import Settings
from workers.worker import build_worker
from workflows.oncall_readiness import OnCallReadinessWorkflow, ReadinessInput, ReadinessView

SCHEDULE = "astreinte_technique"  # watched by the shipped policy's example customer
MANAGERS = {"delivery-manager@example.com", "incident-manager@example.com"}


async def two_days_before_a_cycle(env: WorkflowEnvironment) -> datetime:
    """Moves the server to Saturday 08:00 Paris; returns the Monday 08:00 the cycle starts."""
    now = (await env.get_current_time()).astimezone(PARIS)
    day = now.date() + timedelta(days=1)
    while day.weekday() != 5:
        day += timedelta(days=1)
    saturday = datetime(day.year, day.month, day.day, 8, tzinfo=PARIS)
    await sleep_until(env, saturday)
    monday = saturday.date() + timedelta(days=2)
    return datetime(monday.year, monday.month, monday.day, 8, tzinfo=PARIS)


def readiness_mails(sink: MailSink) -> list[EmailMessage]:
    return [m for m in sink.messages if str(m["X-Vigie-Kind"]).startswith("oncall_")]


def text_of(message: EmailMessage) -> str:
    body = message.get_body(("plain",))
    assert body is not None
    return str(body.get_content())


async def start(
    env: WorkflowEnvironment, settings: Settings
) -> WorkflowHandle[OnCallReadinessWorkflow, ReadinessView]:
    return await env.client.start_workflow(
        OnCallReadinessWorkflow.run,
        ReadinessInput(),
        id=f"oncall-readiness-test-{uuid.uuid4().hex[:8]}",
        task_queue=settings.task_queue,
    )


async def test_a_gap_two_days_before_the_cycle_is_mailed_every_day_until_filled(
    skipping_env: WorkflowEnvironment, settings: Settings, sink: MailSink
) -> None:
    standin = OpsgenieStandIn(schedules={SCHEDULE: ["ann@example.com", "bob@example.com"]})
    monday = await two_days_before_a_cycle(skipping_env)
    # Nobody on call from Tuesday 20:00 to Wednesday 08:00 of the coming cycle.
    gap = (monday + timedelta(days=1, hours=12), monday + timedelta(days=2))
    standin.gaps[SCHEDULE] = [(gap[0].astimezone(UTC), gap[1].astimezone(UTC))]
    async with build_worker(skipping_env.client, settings, alert_api=standin_api(standin)):
        handle = await start(skipping_env, settings)
        first = (await eventually(lambda: readiness_mails(sink)))[0]
        assert set(str(first["To"]).split(", ")) == MANAGERS
        when = monday.strftime("%d/%m/%Y %H:%M %Z")
        assert str(first["Subject"]) == (
            f"[oncall-client] Astreintes incomplètes pour le cycle du {when}"
        )
        body = text_of(first)
        tuesday, wednesday = (t.strftime("%d/%m/%Y %H:%M %Z") for t in gap)
        assert f"astreinte_technique : personne d'astreinte du {tuesday} au {wednesday}" in body
        assert "doivent l'être avant le" in body and "renvoyé chaque jour" in body

        # The next day, still not filled: mailed again, in the same thread. Checks are a day
        # (24 hours) apart: Sunday 09:00 on the weekend summer time begins.
        first_check = (monday - timedelta(days=2)).astimezone(UTC)  # Saturday 08:00 Paris
        await sleep_until(skipping_env, first_check + timedelta(days=1, minutes=1))
        second = (await eventually(lambda: readiness_mails(sink)[1:]))[0]
        assert str(second["Subject"]) == str(first["Subject"])
        assert second["In-Reply-To"] == first["Message-ID"]
        assert "personne d'astreinte" in text_of(second)

        # Filled on Sunday: the check when the cycle starts says it is complete, and stops.
        standin.gaps.clear()
        view = await handle.result()
        assert view.customers[0].verdict == "complete" and view.next_check_at is None
        assert timedelta(0) <= view.checked_at - monday < timedelta(minutes=1)
        mails = readiness_mails(sink)
        assert [m["X-Vigie-Kind"] for m in mails] == [
            "oncall_gaps",
            "oncall_gaps",
            "oncall_complete",
        ]
        assert str(mails[2]["Subject"]).endswith(f"Astreintes complètes pour le cycle du {when}")
        assert mails[2]["In-Reply-To"] == first["Message-ID"]


async def test_a_complete_schedule_mails_only_the_complete_notice(
    skipping_env: WorkflowEnvironment, settings: Settings, sink: MailSink
) -> None:
    standin = OpsgenieStandIn(schedules={SCHEDULE: ["ann@example.com"]})
    monday = await two_days_before_a_cycle(skipping_env)
    async with build_worker(skipping_env.client, settings, alert_api=standin_api(standin)):
        handle = await start(skipping_env, settings)
        view = await handle.result()
    assert view.cycle.start == monday.astimezone(UTC)
    mails = readiness_mails(sink)
    assert [m["X-Vigie-Kind"] for m in mails] == ["oncall_complete"]
    assert "astreinte_technique : complet" in text_of(mails[0])
    # Three checks (Saturday, Sunday, Monday 08:00) read the timeline; one mail told it.
    timelines = [p for _, p in standin.calls if p.endswith("/timeline")]
    assert len(timelines) == 3


async def test_two_watches_of_one_cycle_mail_under_their_own_message_ids(
    skipping_env: WorkflowEnvironment, settings: Settings, sink: MailSink
) -> None:
    """A watch fired by hand next to the Schedule's: its verdict is a mail of its own, never
    hidden by a mail client behind the other watch's under the same Message-ID."""
    standin = OpsgenieStandIn(schedules={SCHEDULE: ["ann@example.com"]})
    await two_days_before_a_cycle(skipping_env)
    async with build_worker(skipping_env.client, settings, alert_api=standin_api(standin)):
        watches = [await start(skipping_env, settings) for _ in range(2)]
        for watch in watches:
            await watch.result()
    mails = readiness_mails(sink)
    assert [m["X-Vigie-Kind"] for m in mails] == ["oncall_complete"] * 2
    ids = {str(m["Message-ID"]) for m in mails}
    assert len(ids) == 2, ids
    assert all(i.startswith("<oncall-client-") for i in ids), ids


async def test_a_schedule_api_outage_is_retried_then_reported_never_crashes_the_check(
    skipping_env: WorkflowEnvironment, settings: Settings, sink: MailSink
) -> None:
    standin = OpsgenieStandIn(schedules={SCHEDULE: ["ann@example.com"]})
    monday = await two_days_before_a_cycle(skipping_env)
    # Two failures are absorbed by retries; the next check meets a five-attempt outage.
    standin.faults += [500, 500]
    async with build_worker(skipping_env.client, settings, alert_api=standin_api(standin)):
        handle = await start(skipping_env, settings)
        await sleep_until(skipping_env, monday - timedelta(hours=47))  # past the retries
        await eventually(lambda: readiness_mails(sink))
        standin.faults += [503] * 5
        view = await handle.result()
    mails = readiness_mails(sink)
    kinds = [m["X-Vigie-Kind"] for m in mails]
    assert kinds == ["oncall_complete", "oncall_gaps", "oncall_complete"]
    reported = text_of(mails[1])
    assert "astreinte_technique : planning illisible" in reported and "HTTP 503" in reported
    # The Monday check reads it again: complete, and says so since the outage was reported.
    assert view.customers[0].verdict == "complete" and view.customers[0].told == "complete"
    timelines = [p for _, p in standin.calls if p.endswith("/timeline")]
    assert len(timelines) == 3 + 5 + 1


async def test_a_worker_without_a_schedule_api_says_so_in_the_mail(
    skipping_env: WorkflowEnvironment, settings: Settings, sink: MailSink
) -> None:
    """A watch started elsewhere, run by a worker that has no schedule API: the schedule is
    reported unread, naming the settings to give, in the mail's language."""
    await two_days_before_a_cycle(skipping_env)
    async with build_worker(skipping_env.client, settings):
        handle = await start(skipping_env, settings)
        await eventually(lambda: readiness_mails(sink))
        await handle.terminate("test over")
    reported = text_of(readiness_mails(sink)[0])
    assert (
        "astreinte_technique : planning illisible : aucune API de planning n'est configurée "
        "sur le worker qui a vérifié" in " ".join(reported.split())
    ), reported
    assert "no schedule API" not in reported
