"""A crisis opened after its cell's target: a major incident qualified late catches up once."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from temporalio.client import WorkflowHandle
from temporalio.testing import WorkflowEnvironment

from starters.dev.smtp_sink import MailSink
from tests.helpers import PARIS, assert_eventually, eventually, next_open_morning, sleep_until
from tests.test_crisis_chronogram import (
    crisis_status,
    mails,
    quiet_then_sleep_until,
    start_crisis,
    to,
)
from workers.settings import Settings
from workers.worker import build_worker
from workflows.crisis import CrisisWorkflow
from workflows.crisis_models import CrisisInput, CrisisView, DecideDrpInput
from workflows.search import NEXT_DUE


def plain(message) -> str:  # type: ignore[no-untyped-def]
    return str(message.get_body(("plain",)).get_content())


def settled(view: CrisisView) -> bool:
    opening = next(m for m in view.milestones if m.step == "cell_opening")
    return opening.status != "pending" and view.mails_pending == 0


async def crisis_when(
    crisis: WorkflowHandle[CrisisWorkflow, CrisisView], check: Callable[[CrisisView], bool]
) -> CrisisView:
    """The crisis's status once ``check`` holds (a failed workflow task fails at once)."""

    async def matched() -> CrisisView:
        view = await crisis_status(crisis)
        assert check(view), (view.level, [(m.step, m.status) for m in view.milestones])
        return view

    return await assert_eventually(matched, handle=crisis)


async def test_a_crisis_opened_two_hours_late_escalates_once_and_leaves_time_for_the_drp(
    skipping_env: WorkflowEnvironment, settings: Settings, sink: MailSink
) -> None:
    """Qualified major 2 h 10 after T0, past the incident's resolution deadline: one
    escalation for everything already due (T0+30, and the deadline breached: its warning
    adds no level of its own) to the level they reach together, before the DNUM is told;
    the cell opened at once, and the DRP decision due half an hour after it (the
    chronogram's time between the two), not missed on the spot."""
    client = skipping_env.client
    tuesday = next_open_morning(await skipping_env.get_current_time(), weekday=1, hour=11)
    await sleep_until(skipping_env, tuesday)
    async with build_worker(client, settings):
        now = await skipping_env.get_current_time()
        t0 = now - timedelta(hours=2, minutes=10)
        crisis = await start_crisis(
            client,
            settings.task_queue,
            "crisis-late-opening",
            CrisisInput(
                title="Payroll down since this morning",
                t0=t0,
                description="Payroll batch fails on every run",
                resolution_warning_at=t0 + timedelta(hours=1, minutes=30),
                resolution_due_at=t0 + timedelta(hours=2),
                opened_by="im",
            ),
        )
        view = await crisis_when(crisis, settled)
        opened_at = next(e.at for e in view.timeline if e.kind == "opened")
        assert view.level == 2 and view.level_kind == "business_hours"
        escalations = [e for e in view.timeline if e.kind == "escalation"]
        assert len(escalations) == 1, [e.text for e in escalations]
        assert escalations[0].fields["escalation_reasons"] == "chronogram,breached"
        assert escalations[0].text.startswith(
            "Niveau 2 (heures ouvrées) en une seule escalade à l'ouverture tardive de la crise ; "
            "motifs : T0+30 min : escalade à l'incident manager ; le délai de résolution de "
            "l'incident est dépassé → "
        ), escalations[0].text
        # One mail to every level reached, each reason on its own line, saying why at once.
        sent = mails(sink, crisis.id, "escalation")
        assert len(sent) == 1
        assert to(sent[0]) == {
            "incident-manager@example.com", "referents@example.com", "n1@client.example.org",
            "delivery-manager@example.com", "account-director@example.com",
            "n2@client.example.org",
        }  # fmt: skip
        body = plain(sent[0]).splitlines()
        cell_due = f"{(t0 + timedelta(hours=1)).astimezone(PARIS):%d/%m/%Y %H:%M %Z}"
        late = (
            f"La crise a été ouverte après l'heure prévue pour la cellule ({cell_due}) : les "
            "étapes échues sont faites maintenant et la suite du chronogramme part de maintenant."
        )
        for line in (
            "T0+30 min : escalade à l'incident manager",
            "le délai de résolution de l'incident est dépassé",
            late,
        ):
            assert line in body, body
        # The provider's chain first, then the DNUM, then the cell; nobody mailed twice.
        kinds = [m["X-Vigie-Kind"] for m in sink.messages if m["X-Vigie-Crisis"] == crisis.id]
        assert kinds == ["escalation", "p1_open", "cell_request", "cell_opening"], kinds
        # The cell opens now, on the members of every level, with time to decide the DRP.
        steps = {m.step: m for m in view.milestones}
        assert steps["cell_opening"].status == "late"
        plan = steps["action_plan"]
        assert plan.status == "pending" and plan.due_at == t0 + timedelta(minutes=90)
        assert plan.acts_at is not None
        assert timedelta(minutes=30) <= plan.acts_at - opened_at < timedelta(minutes=31)
        assert steps["closing"].acts_at == steps["closing"].due_at + (plan.acts_at - plan.due_at)
        drp_due = f"{plan.acts_at.astimezone(PARIS):%d/%m/%Y %H:%M %Z}"
        opening = plain(mails(sink, crisis.id, "cell_opening")[0])
        assert f"PRA non décidé : décision attendue avant le {drp_due}." in opening.splitlines()
        assert "(directeur de compte)" in opening  # level 2's member
        assert opening.splitlines()[2] == late, opening
        told = next(e for e in view.timeline if e.kind == "caught_up")
        assert told.text.endswith(f"(décision PRA attendue avant le {drp_due}).")
        assert not mails(sink, crisis.id, "drp_reminder")
        assert not mails(sink, crisis.id, "closing_reminder")
        assert not any(e.kind == "drp_undecided" for e in view.timeline)
        described = await crisis.describe()
        assert described.typed_search_attributes.get(NEXT_DUE) == plan.acts_at

        # Undecided by then: the reminder, and the escalation the chronogram asks; the step
        # is missed, counted from T0.
        await quiet_then_sleep_until(skipping_env, crisis, plan.acts_at + timedelta(minutes=1))
        await eventually(lambda: mails(sink, crisis.id, "drp_reminder"))
        view = await crisis_status(crisis)
        assert next(m for m in view.milestones if m.step == "action_plan").status == "missed"
        last = [e for e in view.timeline if e.kind == "escalation"][-1]
        assert last.fields["escalation_reason"] == "drp_undecided" and view.level == 3
        third = (await eventually(lambda: mails(sink, crisis.id, "escalation")[1:]))[0]
        assert to(third) == {"agency-director@example.com", "n3@client.example.org"}
        assert late not in plain(third)  # a later escalation: no word of the opening
        view = await crisis.execute_update(
            CrisisWorkflow.decide_drp, DecideDrpInput(by="im", activate=False, reason="no site B")
        )
        assert next(m for m in view.milestones if m.step == "action_plan").status == "late"


async def test_a_crisis_opened_before_its_cells_target_keeps_the_chronogram(
    skipping_env: WorkflowEnvironment, settings: Settings, sink: MailSink
) -> None:
    """Qualified 40 minutes after T0: the T0+30 escalation is made at once, alone, and the
    cell still opens at T0+1 h; nothing is moved."""
    client = skipping_env.client
    tuesday = next_open_morning(await skipping_env.get_current_time(), weekday=1, hour=14)
    await sleep_until(skipping_env, tuesday)
    async with build_worker(client, settings):
        t0 = await skipping_env.get_current_time() - timedelta(minutes=40)
        crisis = await start_crisis(
            client,
            settings.task_queue,
            "crisis-opened-at-t0-40",
            CrisisInput(title="Search slow", t0=t0, opened_by="im"),
        )
        view = await crisis_when(crisis, lambda v: v.level == 1 and v.mails_pending == 0)
        assert all(m.acts_at is None for m in view.milestones)
        assert not any(e.kind == "caught_up" for e in view.timeline)
        described = await crisis.describe()  # the cell request, on time
        assert described.typed_search_attributes.get(NEXT_DUE) == t0 + timedelta(minutes=45)
        (sent,) = mails(sink, crisis.id, "escalation")
        assert to(sent) == {
            "incident-manager@example.com", "referents@example.com", "n1@client.example.org"
        }  # fmt: skip


async def test_a_late_crisis_the_client_asked_for_opens_its_cell_now(
    skipping_env: WorkflowEnvironment, settings: Settings, sink: MailSink
) -> None:
    """Opened at the client's request 1 h 20 after T0: the DNUM is told that the cell opens
    now (not at a T0+1 h already past); the DRP decided in the moved window settles the
    step at the decision's time, not when the moved step comes."""
    client = skipping_env.client
    tuesday = next_open_morning(await skipping_env.get_current_time(), weekday=1, hour=15)
    await sleep_until(skipping_env, tuesday)
    async with build_worker(client, settings):
        t0 = await skipping_env.get_current_time() - timedelta(hours=1, minutes=20)
        crisis = await start_crisis(
            client,
            settings.task_queue,
            "crisis-late-client",
            CrisisInput(title="Badge readers down", t0=t0, triggered_by="client", opened_by="im"),
        )
        view = await crisis_when(crisis, settled)
        (confirm,) = mails(sink, crisis.id, "cell_confirm")
        assert (
            "La crise a été déclenchée à la demande du client : la cellule de crise ouvre "
            "maintenant." in plain(confirm).splitlines()
        )
        assert not mails(sink, crisis.id, "member_added")
        # Its T0+45 step is named for what it is: the DNUM told, not asked.
        told = next(e for e in view.timeline if e.fields.get("step") == "cell_confirm")
        assert told.text.startswith("DNUM informée de l'ouverture de la cellule demandée par le "
                                    "client"), told.text  # fmt: skip
        plan = next(m for m in view.milestones if m.step == "action_plan")
        assert plan.acts_at is not None and plan.due_at < plan.acts_at
        view = await crisis.execute_update(
            CrisisWorkflow.decide_drp, DecideDrpInput(by="im", activate=False, reason="no need")
        )
        assert view.drp is not None
        await quiet_then_sleep_until(skipping_env, crisis, plan.acts_at + timedelta(minutes=1))
        await eventually(lambda: mails(sink, crisis.id, "action_plan"))
        view = await crisis_status(crisis)
        settled_plan = next(m for m in view.milestones if m.step == "action_plan")
        # Decided before its target (T0+1 h 30): met, at the decision's time.
        assert (settled_plan.status, settled_plan.done_at) == ("met", view.drp.at)
        assert not mails(sink, crisis.id, "drp_reminder")


async def test_a_crisis_closed_before_its_moved_step_keeps_its_drp_decision(
    skipping_env: WorkflowEnvironment, settings: Settings, sink: MailSink
) -> None:
    """Opened late, the DRP decided, the service restored and the crisis closed before the
    moved action plan's time: the step is settled by the decision (late, counted from T0),
    not said not applicable as if no decision had been taken."""
    from workflows.crisis_models import CloseCrisisInput, ServiceRestoredInput

    client = skipping_env.client
    tuesday = next_open_morning(await skipping_env.get_current_time(), weekday=1, hour=10)
    await sleep_until(skipping_env, tuesday)
    async with build_worker(client, settings):
        t0 = await skipping_env.get_current_time() - timedelta(hours=2, minutes=10)
        crisis = await start_crisis(
            client,
            settings.task_queue,
            "crisis-late-closed-early",
            CrisisInput(title="Storage down", t0=t0, opened_by="im"),
        )
        await crisis_when(crisis, settled)
        await crisis.execute_update(
            CrisisWorkflow.decide_drp, DecideDrpInput(by="im", activate=True, reason="site B")
        )
        await crisis.execute_update(
            CrisisWorkflow.service_restored, ServiceRestoredInput(by="im", note="back")
        )
        view = await crisis.execute_update(
            CrisisWorkflow.close_crisis,
            CloseCrisisInput(by="dm", summary="on site B", without_client_confirmation="test"),
        )
    plan = next(m for m in view.milestones if m.step == "action_plan")
    assert view.drp is not None
    assert (plan.status, plan.done_at, plan.by) == ("late", view.drp.at, "im")


async def test_an_escalation_asked_while_a_late_crisis_opens_comes_on_top_of_the_catch_up(
    skipping_env: WorkflowEnvironment, settings: Settings, sink: MailSink
) -> None:
    """At night the opening asks who is on call; an operator's escalation arriving then
    (here with the start) is made after the catch-up, one level above it, instead of taking
    the T0+30 step's place and leaving the catch-up a level short."""
    from tests.test_incident_on_call import saturday_night
    from workflows.crisis_models import EscalateInput

    await saturday_night(skipping_env)
    client = skipping_env.client
    async with build_worker(client, settings):
        t0 = await skipping_env.get_current_time() - timedelta(hours=2, minutes=10)
        crisis = await start_crisis(
            client,
            settings.task_queue,
            "crisis-late-escalated",
            CrisisInput(title="Payments down", t0=t0, opened_by="im"),
            start_signal="escalate",
            start_signal_args=[
                EscalateInput(by="im", reason="every store stopped taking payments")
            ],
        )
        view = await crisis_when(crisis, lambda v: v.level == 2 and v.mails_pending == 0)
    first, second = mails(sink, crisis.id, "escalation")
    assert "La crise a été ouverte après l'heure prévue" in plain(first)
    assert "Escalade demandée par im." in plain(second)
    step = next(m for m in view.milestones if m.step == "escalation")
    assert step.by == "vigie" and step.status == "late"
