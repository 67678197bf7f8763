"""The crisis learns what happens to its incident as it happens (dev server, back-dated T0).

A parent signalling its child is the mechanism that is right on a real cluster; the
time-skipping test server cannot run it, so this runs on the dev server with a T0 set
just under 1 h 30 in the past: the crisis's T0+1 h 30 step falls due seconds later. Its
cell opens at T0+1 h 30 too in these tests: a crisis opened after its cell's target would
count the DRP decision from its opening (tests/test_crisis_late_opening.py).
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from temporalio.client import WorkflowQueryFailedError, WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError
from temporalio.testing import WorkflowEnvironment

from starters.dev.smtp_sink import MailSink
from tests.helpers import assert_eventually, eventually, open_incident, status_when
from workers.settings import Settings
from workers.worker import build_worker
from workflows.crisis import AT_RISK, CrisisWorkflow
from workflows.crisis_models import CloseCrisisInput, CrisisView, DecideDrpInput
from workflows.incident import IncidentWorkflow
from workflows.models import AcknowledgeInput, QualifyP1Input, ReopenInput, ResolveInput

LEAD = timedelta(seconds=20)  # for opening, qualifying, acknowledging and resolving


@pytest.fixture(autouse=True)
def cell_opening_with_the_action_plan(config_dir: Path) -> None:
    policy = config_dir / "policy.toml"
    text = policy.read_text(encoding="utf-8")
    step = 'step = "cell_opening"\nat = "1h"\n'
    assert step in text
    policy.write_text(text.replace(step, 'step = "cell_opening"\nat = "90m"\n'), "utf-8")


async def test_resolved_incident_stops_the_crisis_escalating_for_lateness(
    dev_env: WorkflowEnvironment, settings: Settings, sink: MailSink
) -> None:
    client = dev_env.client
    t0 = datetime.now(UTC) - timedelta(hours=1, minutes=30) + LEAD
    async with build_worker(client, settings):
        incident = await open_incident(client, settings.task_queue, t0=t0)
        await incident.execute_update(
            IncidentWorkflow.qualify_p1,
            QualifyP1Input(by="im", verdict="major", mail_system_affected=True),
        )
        crisis = client.get_workflow_handle_for(CrisisWorkflow.run, f"crisis-{incident.id}")

        async def crisis_view() -> CrisisView | None:
            try:
                return await crisis.query(CrisisWorkflow.status)
            except (RPCError, WorkflowQueryFailedError):
                return None  # the child crisis has not started, or not loaded its policy

        async def when(predicate: object, within: float = 30.0) -> CrisisView:
            deadline = asyncio.get_running_loop().time() + within
            while True:
                view = await crisis_view()
                if view is not None and predicate(view):  # type: ignore[operator]
                    return view
                if asyncio.get_running_loop().time() > deadline:
                    raise AssertionError(f"crisis never matched: {view}")
                await asyncio.sleep(0.2)

        # Settled by its first steps: at night the crisis answers while it still asks who
        # is on call, before it has settled the steps already due.
        opened = await when(lambda v: any(m.status == "met" or m.status == "late"
                                           for m in v.milestones)
                            and all(m.status != "pending" for m in v.milestones
                                    if m.step in ("ticket_opened", "acknowledgement")))  # fmt: skip
        level_before = opened.level
        assert opened.mail_system_affected  # as the incident manager said when qualifying
        # DNUM is told of the P1 with the incident's own description.
        p1_open = await eventually(lambda: mails_of(sink, crisis.id, "p1_open"))
        body = p1_open[0].get_body(("plain",)).get_content()  # type: ignore[attr-defined]
        assert "Description : HTTP 500 on every checkout since 09:58" in body.splitlines()
        # §4.6 T0+5: the ticket was opened 1 h 30 after the fault began; T0+15: not yet
        # acknowledged, missed until the incident is.
        by_step = {m.step: m for m in opened.milestones}
        assert by_step["ticket_opened"].status == "late"
        assert by_step["acknowledgement"].status == "missed"
        await incident.execute_update(IncidentWorkflow.acknowledge, AcknowledgeInput(by="alice"))
        acked = await when(
            lambda v: next(m for m in v.milestones if m.step == "acknowledgement").status == "late"
        )
        assert next(m for m in acked.milestones if m.step == "acknowledgement").by == "alice"
        await incident.execute_update(
            IncidentWorkflow.resolve, ResolveInput(by="im", resolution="rolled back the release")
        )
        restored = await when(lambda v: v.restored_at is not None)
        assert any(e.kind == "incident_resolved" for e in restored.timeline)

        # T0+1 h 30: the action plan goes out, the resolution deadline would be at risk.
        view = await when(
            lambda v: next(m for m in v.milestones if m.step == "action_plan").status != "pending"
        )
        assert not any(e.kind == "escalation" and AT_RISK in e.text for e in view.timeline)
        assert not any(e.kind == "drp_undecided" for e in view.timeline)
        assert view.level == level_before
        assert mails_of(sink, crisis.id, "drp_reminder") == []

        await incident.execute_update(
            IncidentWorkflow.reopen, ReopenInput(by="im", reason="errors are back")
        )
        view = await when(lambda v: any(e.kind == "incident_reopened" for e in v.timeline))
        assert view.restored_at is None
        await eventually(lambda: mails_of(sink, crisis.id, "action_plan"))

        # And the other way: the incident learns that its crisis is closed.
        await crisis.execute_update(
            CrisisWorkflow.close_crisis,
            CloseCrisisInput(
                by="dm", summary="release rolled back", without_client_confirmation="test"
            ),
        )
        incident_view = await status_when(
            incident, lambda v: any(e.kind == "crisis_closed" for e in v.timeline)
        )
        assert incident_view.crisis_id == crisis.id
        await crisis.terminate("test over")
        await incident.terminate("test over")


async def test_a_cancelled_incident_stops_its_crisis_escalating_and_tells_the_pilots(
    dev_env: WorkflowEnvironment, settings: Settings, sink: MailSink
) -> None:
    """Cancelled from the Temporal UI, the incident no longer has deadlines: its crisis stops
    escalating for them, and its pilots are told that it stays open until they close it."""
    client = dev_env.client
    t0 = datetime.now(UTC) - timedelta(hours=1, minutes=30) + LEAD
    async with build_worker(client, settings):
        incident = await open_incident(client, settings.task_queue, t0=t0, description=None)
        await incident.execute_update(
            IncidentWorkflow.qualify_p1, QualifyP1Input(by="im", verdict="major")
        )
        crisis = client.get_workflow_handle_for(CrisisWorkflow.run, f"crisis-{incident.id}")
        p1_open = await eventually(lambda: mails_of(sink, crisis.id, "p1_open"))  # it runs
        # An incident without a description: its category and application are none.
        body = p1_open[0].get_body(("plain",)).get_content()  # type: ignore[attr-defined]
        assert "Description" not in body and "Début de l'incident (T0)" in body
        await incident.cancel()
        ended = (await eventually(lambda: mails_of(sink, crisis.id, "incident_ended")))[0]
        assert to_of(ended) == {"incident-manager@example.com", "delivery-manager@example.com"}
        text = ended.get_body(("plain",)).get_content()  # type: ignore[attr-defined]
        assert f"L'incident {incident.id} s'est terminé sans résolution" in text
        assert f"vigie crisis close {crisis.id} --summary" in text
        assert "--without-confirmation" in text

        # T0+1 h 30: the action plan goes out (without a DRP decision: the next level); the
        # resolution deadline, at risk then, no longer escalates.
        async def planned() -> CrisisView:
            view = await crisis.query(CrisisWorkflow.status)
            plan = next(m for m in view.milestones if m.step == "action_plan")
            assert plan.status != "pending", plan
            return view

        view = await assert_eventually(planned, within=60.0, handle=crisis)
        reasons = [e.fields.get("escalation_reason") for e in view.timeline
                   if e.kind == "escalation"]  # fmt: skip
        assert view.status == "active" and "drp_undecided" in reasons
        # The cell it keeps writing to reads that the incident was cancelled.
        escalations = await eventually(
            lambda: (
                len(mails_of(sink, crisis.id, "escalation")) >= 2
                and mails_of(sink, crisis.id, "escalation")
            )
        )
        last = escalations[-1]  # the DRP undecided's, after the cancellation
        text = last.get_body(("plain",)).get_content()  # type: ignore[attr-defined]
        assert f"L'incident {incident.id} a été annulé le " in text
        assert AT_RISK not in reasons, reasons
        assert any(e.kind == "incident_closed" for e in view.timeline)
        # No DRP decision by its step: the step is missed, then settled by the decision (met
        # within the minute of grace for timer latency, late after it).
        plan = next(m for m in view.milestones if m.step == "action_plan")
        assert plan.status == "missed", plan
        decided = await crisis.execute_update(
            CrisisWorkflow.decide_drp, DecideDrpInput(by="im", activate=False, reason="no need")
        )
        plan = next(m for m in decided.milestones if m.step == "action_plan")
        assert plan.by == "im" and plan.done_at is not None, plan
        in_grace = plan.done_at <= plan.due_at + timedelta(minutes=1)
        assert plan.status == ("met" if in_grace else "late"), plan
        await crisis.terminate("test over")


async def test_a_crisis_that_fails_to_start_is_mailed_to_the_incident_manager(
    dev_env: WorkflowEnvironment, settings: Settings, sink: MailSink
) -> None:
    """The qualification is answered before the crisis starts: if it cannot start (its id is
    taken), the incident manager learns it by mail and can qualify the incident again."""
    client = dev_env.client
    async with build_worker(client, settings):
        incident = await open_incident(client, settings.task_queue)
        taken = await client.start_workflow(
            "NobodyRunsThis", id=f"crisis-{incident.id}", task_queue="nobody-polls-this"
        )
        await incident.execute_update(
            IncidentWorkflow.qualify_p1, QualifyP1Input(by="im", verdict="major")
        )
        failed = await status_when(
            incident, lambda v: any(e.kind == "crisis_failed" for e in v.timeline)
        )
        assert failed.crisis_id is None and failed.major
        ending = "— Crise non démarrée"
        told = await eventually(
            lambda: [m for m in sink.about(incident.id) if str(m["Subject"]).endswith(ending)]
        )
        assert to_of(told[0]) == {"im@example.com"}  # the policy's incident manager
        text = told[0].get_body(("plain",)).get_content()  # type: ignore[union-attr]
        assert "vigie qualify-p1 ID --verdict major" in text and "Crise crisis-" in text

        await taken.terminate("id freed")  # a crisis with that id may run again
        await incident.execute_update(
            IncidentWorkflow.qualify_p1, QualifyP1Input(by="im", verdict="major")
        )
        started = await status_when(incident, lambda v: any(e.kind == "crisis" for e in v.timeline))
        assert started.crisis_id == f"crisis-{incident.id}"
        crisis = client.get_workflow_handle(f"crisis-{incident.id}")
        await crisis.terminate("test over")
        await incident.terminate("test over")


def to_of(message: object) -> set[str]:
    return {a.strip() for a in str(message["To"]).split(",")}  # type: ignore[index]


def mails_of(sink: MailSink, crisis_id: str, kind: str) -> list[object]:
    return [
        m for m in sink.messages if m["X-Vigie-Crisis"] == crisis_id and m["X-Vigie-Kind"] == kind
    ]


async def test_an_incident_qualified_major_is_not_qualified_again(
    dev_env: WorkflowEnvironment, settings: Settings, sink: MailSink
) -> None:
    """A second qualification would tell the requesters a crisis started that did not, or
    downgrade an incident whose crisis runs: refused as an Update, recorded as a Signal."""
    client = dev_env.client
    async with build_worker(client, settings):
        incident = await open_incident(client, settings.task_queue)
        await incident.execute_update(
            IncidentWorkflow.qualify_p1, QualifyP1Input(by="im", verdict="major")
        )
        crisis_id = f"crisis-{incident.id}"
        await status_when(incident, lambda v: any(e.kind == "crisis" for e in v.timeline))
        for verdict in ("major", "confirmed"):
            with pytest.raises(WorkflowUpdateFailedError) as refused:
                await incident.execute_update(
                    IncidentWorkflow.qualify_p1, QualifyP1Input(by="im", verdict=verdict)
                )
            assert isinstance(refused.value.cause, ApplicationError)
            assert refused.value.cause.message == (
                f"cannot qualify as P1 again: the incident is qualified major (crisis "
                f"{crisis_id}); the crisis is run from its own workflow (if it was cancelled, "
                "vigie crisis open --t0 ... --customer ... opens another)"
            )
        # As a Signal, what an Opsgenie webhook sends: the refusal is in the timeline.
        await incident.signal(
            "qualify_p1", {"by": "im", "verdict": "unconfirmed", "new_priority": "P2"}
        )
        view = await status_when(incident, lambda v: v.timeline[-1].kind == "refused")
        assert (
            f"l'incident est déjà qualifié majeur (crise {crisis_id} ; si elle a été annulée, "
            "vigie crisis open en ouvre une autre)"
        ) in view.timeline[-1].text
        assert (view.priority, view.major, view.crisis_id) == ("P1", True, crisis_id)
        await status_when(incident, lambda v: v.mails_pending == 0)
        qualified = [
            m for m in sink.messages
            if m["X-Vigie-Incident"] == incident.id and "Qualification P1" in str(m["Subject"])
        ]  # fmt: skip
        assert len(qualified) == 1
        await client.get_workflow_handle(crisis_id).terminate("test over")
        await incident.terminate("test over")
