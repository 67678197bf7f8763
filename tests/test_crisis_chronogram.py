"""The crisis chronogram on a time-skipping server, with a real SMTP sink."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from email.message import EmailMessage
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from temporalio.client import (
    Client,
    WorkflowHandle,
    WorkflowQueryFailedError,
    WorkflowUpdateFailedError,
)
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError, RPCStatusCode
from temporalio.testing import WorkflowEnvironment

from starters.dev.smtp_sink import MailSink
from tests.conftest import free_port
from tests.helpers import (
    PARIS,
    advance,
    assert_eventually,
    eventually,
    next_open_morning,
    sleep_until,
)
from workers.matrix_file import load_matrix
from workers.policy_file import load_policy
from workers.settings import Settings
from workers.worker import build_worker
from workflows.calendar import BusinessClock
from workflows.crisis import CrisisWorkflow
from workflows.crisis_models import (
    CloseCrisisInput,
    ConfirmNominalInput,
    CrisisInput,
    CrisisView,
    DecideDrpInput,
    EscalateInput,
    PostUpdateInput,
    ServiceRestoredInput,
    SubmitRexInput,
)
from workflows.models import TimelineEntry


def mails(sink: MailSink, crisis_id: str, kind: str) -> list[EmailMessage]:
    found = [
        m for m in sink.messages if m["X-Vigie-Crisis"] == crisis_id and m["X-Vigie-Kind"] == kind
    ]
    assert all(m["Date"] for m in found), [m["Subject"] for m in found]  # every one dated
    return found


def to(message: EmailMessage) -> set[str]:
    return {a.strip() for a in str(message["To"]).split(",")}


async def crisis_status(handle: WorkflowHandle[CrisisWorkflow, CrisisView]) -> CrisisView:
    """The crisis's ``status``, asked again while its first task has not run yet."""

    async def ask() -> CrisisView:
        try:
            return await handle.query(CrisisWorkflow.status)
        except WorkflowQueryFailedError as exc:
            raise AssertionError(f"crisis not answering yet: {exc}") from exc
        except RPCError as exc:  # a query lost to a continue-as-new runs out of time
            if exc.status != RPCStatusCode.DEADLINE_EXCEEDED:
                raise
            raise AssertionError(f"crisis not answering yet: {exc}") from exc

    return await assert_eventually(ask, within=10.0, handle=handle)


async def quiet_then_sleep_until(
    env: WorkflowEnvironment, handle: WorkflowHandle[CrisisWorkflow, CrisisView], at: datetime
) -> None:
    """Skips time only once the crisis is idle: no mail waiting, no activity running. The
    time-skipping server strands a run whose workflow task cancels a timer that fired while
    the task was with the worker (it refuses the completion, "invalid history builder state
    for action", and never hands the task out again); a skip landing while a mail's result
    is being handled is how a test meets it. A real server has no such race."""
    from temporalio.api.common.v1 import WorkflowExecution
    from temporalio.api.workflowservice.v1 import DescribeWorkflowExecutionRequest

    async def idle() -> None:
        view = await crisis_status(handle)
        assert view.mails_pending == 0, view.mails_pending
        described = await env.client.workflow_service.describe_workflow_execution(
            DescribeWorkflowExecutionRequest(
                namespace=env.client.namespace, execution=WorkflowExecution(workflow_id=handle.id)
            )
        )
        assert not described.pending_activities, described.pending_activities

    await assert_eventually(idle, handle=handle)
    await sleep_until(env, at)


async def start_crisis(
    client: Client, task_queue: str, crisis_id: str, input: CrisisInput, **options: Any
) -> WorkflowHandle[CrisisWorkflow, CrisisView]:
    """Starts a crisis on its own (``options`` to ``start_workflow``) and waits until it
    answers its status query."""
    handle = await client.start_workflow(
        CrisisWorkflow.run, input, id=crisis_id, task_queue=task_queue, **options
    )
    await crisis_status(handle)
    return handle


@pytest.fixture
def matrix(config_dir: Path):  # type: ignore[no-untyped-def]
    return load_matrix(config_dir / "escalation_matrix.toml")


async def test_gold_p1_major_on_tuesday_morning(
    skipping_env: WorkflowEnvironment, settings: Settings, sink: MailSink, matrix
) -> None:  # type: ignore[no-untyped-def]
    """The whole chronogram of a gold P1's crisis. The crisis runs on its own here, with the
    deadlines its incident would give it: an incident signalling its child crisis cannot run
    on the time-skipping server (the incident-crisis link is tested on the dev server)."""
    client = skipping_env.client
    tuesday = next_open_morning(await skipping_env.get_current_time(), weekday=1, hour=10)
    await sleep_until(skipping_env, tuesday)
    async with build_worker(client, settings):
        start = await skipping_env.get_current_time()
        crisis = await client.start_workflow(
            CrisisWorkflow.run,
            CrisisInput(
                title="Checkout API down",
                t0=start,
                description="HTTP 503 on every checkout since the 10:00 release",
                resolution_warning_at=start + timedelta(hours=1, minutes=30),
                resolution_due_at=start + timedelta(hours=2),
                opened_by="im",
            ),
            id="crisis-gold-tuesday",
            task_queue=settings.task_queue,
        )
        view = await crisis_status(crisis)
        t0 = view.t0
        assert view.business_hours_at_start and view.channel == "smtp"
        assert view.matrix_version == matrix.version
        assert [m.step for m in view.milestones] == [
            "ticket_opened", "acknowledgement",
            "escalation", "cell_request", "cell_opening", "action_plan", "restoration", "closing",
        ]  # fmt: skip
        # A crisis started on its own has no ticket: T0+5 and T0+15 do not apply.
        assert [m.status for m in view.milestones[:2]] == ["not_applicable"] * 2

        await quiet_then_sleep_until(skipping_env, crisis, t0 + timedelta(minutes=31))
        dnum = {str(c.email) for c in matrix.client.dnum}
        level1 = {"incident-manager@example.com", "referents@example.com", "n1@client.example.org"}
        escalation = await eventually(lambda: mails(sink, crisis.id, "escalation"))
        assert to(escalation[0]) == level1
        assert to((await eventually(lambda: mails(sink, crisis.id, "p1_open")))[0]) == dnum

        await quiet_then_sleep_until(skipping_env, crisis, t0 + timedelta(minutes=46))
        assert to((await eventually(lambda: mails(sink, crisis.id, "cell_request")))[0]) == dnum

        await crisis.execute_update(
            CrisisWorkflow.post_update,
            PostUpdateInput(
                by="im", progress="release rolled back", done="rollback", forecast="11:30"
            ),
        )
        await quiet_then_sleep_until(skipping_env, crisis, t0 + timedelta(minutes=61))
        opening = (await eventually(lambda: mails(sink, crisis.id, "cell_opening")))[0]
        permanent = {"referents@example.com", "incident-manager@example.com",
                     "delivery-manager@example.com", "n1@client.example.org"}  # fmt: skip
        assert to(opening) == permanent
        body = opening.get_body(("plain",)).get_content()
        assert "https://meet.jit.si/crisis-" in body
        # §4.6: the cell opens on the description, the actions so far, the forecast, the DRP
        # go/no-go and the hourly communication, times in the business time zone.
        paris = ZoneInfo("Europe/Paris")
        local = t0.astimezone(paris)
        for line in (
            f"Début de l'incident (T0) : {local:%d/%m/%Y %H:%M %Z}",
            "Description : HTTP 503 on every checkout since the 10:00 release",
            "Avancement : release rolled back",
            "Actions réalisées : rollback",
            "Reste à faire : —",
            "Prévision de résolution : 11:30",
            "PRA non décidé : décision attendue avant le "
            f"{local + timedelta(minutes=90):%d/%m/%Y %H:%M %Z}.",
        ):
            assert line in body.splitlines(), (line, body)
        assert "vigie crisis" not in body  # the client's management reads it: no CLI
        assert any(x.startswith("Point publié le ") and x.endswith(" par im.")
                   for x in body.splitlines())  # fmt: skip
        next_status = f"{local + timedelta(hours=2):%d/%m/%Y %H:%M %Z}"
        assert f"Prochain point de situation par mail : {next_status}." in body.splitlines()
        assert body.index("Description") < body.index("Membres de la cellule")
        # Escalations say when it began and what is known.
        assert "Description : HTTP 503" in escalation[0].get_body(("plain",)).get_content()

        await crisis.execute_update(
            CrisisWorkflow.decide_drp, DecideDrpInput(by="im", activate=True, reason="site B")
        )
        await crisis.execute_update(
            CrisisWorkflow.post_update,
            PostUpdateInput(by="im", progress="failover started", done="DNS", remaining="DB"),
        )
        await quiet_then_sleep_until(skipping_env, crisis, t0 + timedelta(minutes=91))
        assert mails(sink, crisis.id, "drp_reminder") == []
        await eventually(lambda: mails(sink, crisis.id, "action_plan"))
        # The incident's resolution deadline (2 h) is at risk at 75 %: next level.
        view = await crisis_status(crisis)
        assert view.level == 2
        assert any(
            e.kind == "escalation" and e.fields.get("escalation_reason") == "at_risk"
            for e in view.timeline
        )
        level2 = mails(sink, crisis.id, "escalation")[-1]
        assert to(level2) == {
            "delivery-manager@example.com", "account-director@example.com", "n2@client.example.org"
        }  # fmt: skip
        assert any(m.email == "account-director@example.com" and m.permanent for m in view.members)

        await quiet_then_sleep_until(skipping_env, crisis, t0 + timedelta(hours=2, minutes=1))
        status = (await eventually(lambda: mails(sink, crisis.id, "status")))[0]
        assert "failover started" in status.get_body(("plain",)).get_content()
        # No update posted in the next hour: the mail says so and the pilot is reminded.
        await quiet_then_sleep_until(skipping_env, crisis, t0 + timedelta(hours=3, minutes=1))
        statuses = await eventually(
            lambda: len(mails(sink, crisis.id, "status")) >= 2 and mails(sink, crisis.id, "status")
        )
        assert "Rien n'a été publié" in statuses[1].get_body(("plain",)).get_content()
        await eventually(lambda: mails(sink, crisis.id, "update_reminder"))
        told = [e.text for e in (await crisis_status(crisis)).timeline if e.kind == "status_mail"]
        assert told[-1] == "Rien n'a été publié depuis le dernier point.", told

        await crisis.execute_update(
            CrisisWorkflow.service_restored, ServiceRestoredInput(by="im", note="users back")
        )
        await quiet_then_sleep_until(skipping_env, crisis, t0 + timedelta(hours=5))
        # RACI §4.7: the client confirms the return to nominal, the delivery manager closes.
        await crisis.execute_update(
            CrisisWorkflow.confirm_nominal,
            ConfirmNominalInput(by="n1@client.example.org", note="users confirm"),
        )
        view = await crisis.execute_update(
            CrisisWorkflow.close_crisis,
            CloseCrisisInput(by="delivery-manager@example.com", summary="Back on site A"),
        )
        assert view.nominal_confirmed is not None
        assert view.nominal_confirmed.role == "client.management_1"
        assert view.closed is not None and view.closed.role == "provider.delivery_manager"
        assert view.restored is not None and view.restored.by == "im"
        status_of = {m.step: m for m in view.milestones}
        for step in ("escalation", "cell_request", "cell_opening", "action_plan"):
            m = status_of[step]
            assert m.status == "met" and m.done_at is not None, m
            assert m.done_at - m.due_at < timedelta(seconds=1)
        assert status_of["restoration"].status == "met"
        assert status_of["closing"].status == "met"
        assert len(mails(sink, crisis.id, "status")) >= 3  # hourly from T0+2h until closing

        closing = await eventually(lambda: mails(sink, crisis.id, "closing"))
        assert permanent <= to(closing[0]) and dnum <= to(closing[0])
        said = closing[0].get_body(("plain",)).get_content().splitlines()
        restored_at = view.restored.at.astimezone(paris)
        elapsed = int((view.restored.at - t0).total_seconds() // 60)
        for line in (
            "Back on site A",
            f"Début de l'incident (T0) : {local:%d/%m/%Y %H:%M %Z}",
            f"Service rétabli le {restored_at:%d/%m/%Y %H:%M %Z}, {elapsed // 60} h "
            f"{elapsed % 60:02d} min après T0.",
            "PRA déclenché (site B).",
        ):
            assert line in said, (line, said)
        draft = (await eventually(lambda: mails(sink, crisis.id, "rex_draft")))[0]
        assert to(draft) == {"incident-manager@example.com"}
        text = draft.get_body(("plain",)).get_content()
        assert "## Respect du chronogramme" in text and "## RACI (procédure §4.7)" in text
        assert any(
            line.startswith("- Décision PRA : déclenché — im, ") for line in text.splitlines()
        )
        # French typography, and no internal names: no "x: y" nor "[escalation]".
        assert not re.search(r"\S: ", text) and "[escalation]" not in text, text
        # The technical-facts sheet is filled from the record, with the RACI roles.
        assert "## Fiche de faits techniques (FFT)" in text
        assert "| Retour au nominal confirmé (client) |" in text
        assert "n1@client.example.org (direction du client, niveau 1)" in text
        assert "delivery-manager@example.com (delivery manager de l'infogérant)" in text
        assert "### Points forts" in text and "### Points faibles" in text
        # 5 business days from Tuesday ~15:00: the fifth open day after, at the same hour (the
        # next Tuesday unless a public holiday falls in between).
        assert view.rex_due_at is not None and view.closed is not None
        closed, due = view.closed.at.astimezone(PARIS), view.rex_due_at.astimezone(PARIS)
        clock = BusinessClock(load_policy(settings.config_dir).business_hours)
        after = (closed.date() + timedelta(days=n) for n in range(1, 20))
        assert due.date() == [day for day in after if clock.is_open_day(day)][4]
        assert due.time() == closed.time()

        reminder, _ = next(clock.windows(view.closed.at + timedelta(days=1)))  # in hours
        await sleep_until(skipping_env, reminder + timedelta(minutes=1))
        await eventually(lambda: mails(sink, crisis.id, "rex_reminder"))
        await crisis.execute_update(
            CrisisWorkflow.submit_rex, SubmitRexInput(by="im", link="https://wiki/rex/42")
        )
        result = await crisis.result()
        assert result.status == "rex_submitted"


async def test_rex_reminders_wait_for_business_hours(
    skipping_env: WorkflowEnvironment, settings: Settings, sink: MailSink
) -> None:
    """A crisis closed on a Friday afternoon: its REX reminder is not mailed on Saturday
    afternoon, a day after, but when business opens again (Monday 09:00 unless a holiday
    closes it), then a day after that, at the opening again."""
    friday = next_open_morning(await skipping_env.get_current_time(), weekday=4, hour=16)
    await sleep_until(skipping_env, friday)
    clock = BusinessClock(load_policy(settings.config_dir).business_hours)
    async with build_worker(skipping_env.client, settings):
        crisis = await start_crisis(
            skipping_env.client, settings.task_queue, f"crisis-rex-{friday:%Y%m%d}",
            CrisisInput(title="Payments down", opened_by="im"),
        )  # fmt: skip
        await crisis.execute_update(CrisisWorkflow.confirm_nominal, ConfirmNominalInput(by="n1"))
        view = await crisis.execute_update(
            CrisisWorkflow.close_crisis, CloseCrisisInput(by="im", summary="payments back")
        )
        assert view.closed is not None
        first, _ = next(clock.windows(view.closed.at + timedelta(days=1)))
        second, _ = next(clock.windows(first + timedelta(days=1)))
        opening = clock.hours.start
        assert first.astimezone(PARIS).weekday() == 0 or not clock.is_open_day(
            (friday + timedelta(days=3)).date()
        )
        assert first.astimezone(PARIS).time() == opening == second.astimezone(PARIS).time()
        await sleep_until(skipping_env, second + timedelta(minutes=1))
        reminders = await eventually(
            lambda: (
                len(mails(sink, crisis.id, "rex_reminder")) >= 2
                and mails(sink, crisis.id, "rex_reminder")
            )
        )
        view = await crisis_status(crisis)
        told = [e.at for e in view.timeline if e.kind == "rex_reminder"]
        assert len(told) == 2, told  # timer latency aside, at the opening
        lateness = [a - b for a, b in zip(told, (first, second), strict=True)]
        assert all(timedelta(0) <= x < timedelta(seconds=1) for x in lateness), told
        assert len(reminders) == 2
        await crisis.execute_update(
            CrisisWorkflow.submit_rex, SubmitRexInput(by="im", link="https://wiki/rex/43")
        )
        assert (await crisis.result()).status == "rex_submitted"


async def test_saturday_night_escalates_outside_business_hours(
    skipping_env: WorkflowEnvironment, settings: Settings, sink: MailSink
) -> None:
    client = skipping_env.client
    now = await skipping_env.get_current_time()
    day = (now.astimezone(PARIS) + timedelta(days=1)).date()
    while day.weekday() != 5:
        day += timedelta(days=1)
    await sleep_until(skipping_env, datetime(day.year, day.month, day.day, 3, tzinfo=PARIS))
    async with build_worker(client, settings):
        crisis = await client.start_workflow(
            CrisisWorkflow.run,
            CrisisInput(title="Payments down", opened_by="on-call"),
            id=f"crisis-night-{day}",
            task_queue=settings.task_queue,
        )
        view = await crisis_status(crisis)
        assert not view.business_hours_at_start
        on_call = (await eventually(lambda: mails(sink, crisis.id, "on_call")))[0]
        assert to(on_call) == {"on-call@example.com"}

        await advance(skipping_env, timedelta(minutes=31))
        first = (await eventually(lambda: mails(sink, crisis.id, "escalation")))[0]
        assert to(first) == {"on-call@example.com", "incident-manager@example.com"}
        view = await crisis.execute_update(
            CrisisWorkflow.escalate, EscalateInput(by="im", reason="resolution will be late")
        )
        assert (view.level, view.level_kind) == (2, "outside_business_hours")
        view = await crisis.execute_update(
            CrisisWorkflow.escalate, EscalateInput(by="im", reason="client must know")
        )
        assert view.level == 3
        levels = await eventually(
            lambda: (
                len(mails(sink, crisis.id, "escalation")) == 3
                and mails(sink, crisis.id, "escalation")
            )
        )
        assert to(levels[1]) == {"delivery-manager@example.com"}
        assert "Escalade demandée par im." in levels[1].get_body(("plain",)).get_content()
        assert to(levels[2]) == {"astreinte@client.example.org"}
        # The night ladder names other people than the cell's levels (§4.3): each level's
        # contacts take part in the cell, and the members a level adds are told they joined.
        joined = await eventually(
            lambda: (
                len(mails(sink, crisis.id, "member_added")) == 2
                and mails(sink, crisis.id, "member_added")
            )
        )
        assert to(joined[0]) == {"account-director@example.com", "n2@client.example.org"}
        told = joined[0].get_body(("plain",)).get_content().splitlines()
        assert any(x.startswith("Début de l'incident (T0) : ") for x in told), told
        assert "PRA non décidé." in told and "Aucun avancement publié." in told, told
        assert to(joined[1]) == {"agency-director@example.com", "n3@client.example.org"}
        members = {m.email: m for m in view.members}
        for email in ("on-call@example.com", "astreinte@client.example.org"):
            assert members[email].participating and not members[email].permanent
        assert members["astreinte@client.example.org"].role == "client.on_call_manager"
        # An operator cannot escalate past the last level: refused, said why.
        with pytest.raises(WorkflowUpdateFailedError) as refused:
            await crisis.execute_update(
                CrisisWorkflow.escalate, EscalateInput(by="im", reason="again")
            )
        assert isinstance(refused.value.cause, ApplicationError)
        assert refused.value.cause.message == "cannot escalate: the crisis is at the last level (3)"
        # The same as a Signal: recorded as refused, in the crisis's language.
        await crisis.signal("escalate", {"by": "im", "reason": "again"})
        last = await eventually_last(crisis, "refused")
        assert "la crise est déjà au dernier niveau d'escalade (3)" in last.text
        # Sent with two inputs: refused by name too, the crisis carries on.
        await crisis.signal("escalate", args=[{"by": "im", "reason": "a"}, {"by": "im"}])
        arity = "Signal escalate refusé : une seule entrée attendue (un objet JSON), 2 reçue(s)"
        assert (await eventually_last(crisis, "refused", arity)).text == arity
        # Under a name no operation has: refused with the name meant.
        await crisis.signal("post-update", {"by": "im", "progress": "x"})
        meant = "Signal post-update refusé : opération inconnue ; voulez-vous dire post_update ?"
        assert (await eventually_last(crisis, "refused", meant)).by == "im"
        assert (await crisis_status(crisis)).level == 3


async def test_mail_system_incident_uses_the_alternate_relay(
    skipping_env: WorkflowEnvironment, settings: Settings, sink: MailSink
) -> None:
    client = skipping_env.client
    with MailSink(port=free_port()) as relay:
        cfg = settings.model_copy(update={"alt_smtp_host": relay.host, "alt_smtp_port": relay.port})
        async with build_worker(client, cfg):
            crisis = await client.start_workflow(
                CrisisWorkflow.run,
                CrisisInput(
                    title="Exchange down", context="messagerie indisponible", opened_by="im"
                ),
                id="crisis-mail-system",
                task_queue=cfg.task_queue,
            )
            view = await crisis_status(crisis)
            assert view.mail_system_affected and view.channel == "auto"
            assert any(e.kind == "channel" and "relais" in e.text for e in view.timeline)
            await advance(skipping_env, timedelta(minutes=61))
            await eventually(lambda: mails(relay, crisis.id, "cell_opening"))
            assert [m for m in sink.messages if m["X-Vigie-Crisis"] == crisis.id] == []
            view = await crisis_status(crisis)
            assert view.notifications and {n.channel for n in view.notifications} == {"relay"}


async def eventually_last(
    crisis: WorkflowHandle[CrisisWorkflow, CrisisView], kind: str, text: str | None = None
) -> TimelineEntry:
    """The crisis's latest timeline entry, once it is of ``kind`` (and says ``text``)."""

    async def check() -> TimelineEntry:
        last = (await crisis_status(crisis)).timeline[-1]
        assert last.kind == kind and text in (None, last.text), last
        return last

    return await assert_eventually(check)


async def test_escalations_due_together_are_one_mail(
    skipping_env: WorkflowEnvironment, settings: Settings, sink: MailSink
) -> None:
    """A gold P1's crisis without a DRP decision: at T0+1 h 30 the DRP is undecided and the
    2 h resolution deadline is at risk (75 %), in the same second. One escalation, every
    reason, one level each, instead of two mails a second apart."""
    client = skipping_env.client
    tuesday = next_open_morning(await skipping_env.get_current_time(), weekday=1, hour=9)
    await sleep_until(skipping_env, tuesday)
    async with build_worker(client, settings):
        start = await skipping_env.get_current_time()
        crisis = await start_crisis(
            client, settings.task_queue, "crisis-merged",
            CrisisInput(title="Checkout down", t0=start, opened_by="im",
                        resolution_warning_at=start + timedelta(minutes=90),
                        resolution_due_at=start + timedelta(hours=2)),
        )  # fmt: skip
        t0 = (await crisis_status(crisis)).t0
        await quiet_then_sleep_until(skipping_env, crisis, t0 + timedelta(minutes=91))
        await eventually(lambda: mails(sink, crisis.id, "drp_reminder"))

        async def merged() -> CrisisView:
            view = await crisis_status(crisis)
            assert view.level == 3 and view.mails_pending == 0, view.level
            return view

        view = await assert_eventually(merged, handle=crisis)
    escalations = [e for e in view.timeline if e.kind == "escalation"]
    assert [e.fields.get("level") for e in escalations] == ["1", "3"], escalations
    assert escalations[1].fields["escalation_reasons"] == "drp_undecided,at_risk"
    assert escalations[1].text.startswith("Niveau 3 (heures ouvrées) en une seule escalade ;")
    assert len(mails(sink, crisis.id, "escalation")) == 2
