"""§4.2: a P1 outside business hours pages the technical on-call through Opsgenie (responder on
the alert, who was on call recorded); the matrix address is the fallback (time-skipping server,
real SMTP sink, the Opsgenie stand-in over HTTP)."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import httpx
import pytest
from pydantic import SecretStr
from temporalio.testing import WorkflowEnvironment

from activities.providers.opsgenie.client import OpsgenieApi, OpsgenieConfig
from starters.dev.opsgenie_standin import OpsgenieStandIn
from starters.dev.smtp_sink import MailSink
from tests.helpers import PARIS, eventually, open_incident, sleep_until, status_when
from workers.settings import Settings
from workers.worker import build_worker
from workflows.crisis_models import CrisisView
from workflows.incident import IncidentWorkflow
from workflows.models import CloseInput, ResolveInput


def page_through(config_dir: Path, schedule: str) -> None:
    path = config_dir / "policy.toml"
    text = path.read_text(encoding="utf-8")
    old = 'responder = ""                   # e.g. "ops_team_schedule"; empty: no responder added'
    assert old in text
    path.write_text(text.replace(old, f'responder = "{schedule}"'), encoding="utf-8")


async def saturday_night(env: WorkflowEnvironment) -> None:
    now = await env.get_current_time()
    day = (now.astimezone(PARIS) + timedelta(days=1)).date()
    while day.weekday() != 5:
        day += timedelta(days=1)
    await sleep_until(env, datetime(day.year, day.month, day.day, 3, tzinfo=PARIS))


def standin_api(standin: OpsgenieStandIn) -> OpsgenieApi:
    return OpsgenieApi(
        OpsgenieConfig(base_url="http://standin", api_key=SecretStr("k")),
        transport=httpx.ASGITransport(app=standin.app()),
    )


async def test_p1_at_night_pages_who_is_on_call(
    skipping_env: WorkflowEnvironment,
    settings: Settings,
    sink: MailSink,
    config_dir: Path,
) -> None:
    page_through(config_dir, "ops_schedule")
    standin = OpsgenieStandIn(schedules={"ops_schedule": ["night.owl@example.com"]})
    await saturday_night(skipping_env)
    async with build_worker(skipping_env.client, settings, alert_api=standin_api(standin)):
        handle = await open_incident(skipping_env.client, settings.task_queue)
        view = await status_when(handle, lambda v: any(e.kind == "on_call" for e in v.timeline))
        entry = next(e for e in view.timeline if e.kind == "on_call")
        assert entry.sentence in ("on_call.opsgenie", "crisis_on_call.opsgenie")
        assert entry.fields["to"] == "night.owl@example.com"
        paged = await eventually(
            lambda: [m for m in sink.about(handle.id) if m["To"] == "night.owl@example.com"]
        )
        assert "Astreinte technique appelée" in str(paged[0]["Subject"])
        # The schedule is a responder of the incident's alert.
        await eventually(lambda: any(path.endswith("/responders") for _, path in standin.calls))


@pytest.mark.parametrize("kind", ["escalation", "team"])
async def test_an_escalation_or_a_team_is_added_to_the_alert_and_the_matrix_paged(
    skipping_env: WorkflowEnvironment,
    settings: Settings,
    sink: MailSink,
    config_dir: Path,
    kind: str,
) -> None:
    """README: the responder may be a schedule, an escalation or a team; only a schedule is
    asked who is on call, so with another the matrix's on-call is mailed."""
    page_through(config_dir, "ops_night")
    path = config_dir / "policy.toml"
    text = path.read_text(encoding="utf-8")
    path.write_text(
        text.replace('responder_type = "schedule"', f'responder_type = "{kind}"'), encoding="utf-8"
    )
    standin = OpsgenieStandIn()
    await saturday_night(skipping_env)
    async with build_worker(skipping_env.client, settings, alert_api=standin_api(standin)):
        handle = await open_incident(skipping_env.client, settings.task_queue, source="cli")
        alert = await eventually(lambda: standin.find(handle.id, "alias"))
        await eventually(lambda: alert["responders"])
        assert alert["responders"] == [{"type": kind, "name": "ops_night"}]
        view = await status_when(handle, lambda v: any(e.kind == "on_call" for e in v.timeline))
        entry = next(e for e in view.timeline if e.kind == "on_call")
        assert entry.sentence == "on_call.matrix" and entry.fields["to"] == "on-call@example.com"
    assert not any("/schedules/" in call for _, call in standin.calls), standin.calls


async def test_without_an_answer_the_matrix_address_is_paged(
    skipping_env: WorkflowEnvironment, settings: Settings, sink: MailSink
) -> None:
    """No API key and no schedule configured: the matrix's on-call address is mailed."""
    await saturday_night(skipping_env)
    async with build_worker(skipping_env.client, settings):
        handle = await open_incident(skipping_env.client, settings.task_queue)
        view = await status_when(handle, lambda v: any(e.kind == "on_call" for e in v.timeline))
        entry = next(e for e in view.timeline if e.kind == "on_call")
        assert entry.sentence == "on_call.matrix" and entry.fields["to"] == "on-call@example.com"
        # The reason in the incident's language too, not in the activity's English.
        assert entry.text.endswith("(aucun planning d'astreinte configuré).")
        await eventually(
            lambda: [m for m in sink.about(handle.id) if m["To"] == "on-call@example.com"]
        )


async def test_p2_at_night_pages_nobody(
    skipping_env: WorkflowEnvironment, settings: Settings, sink: MailSink
) -> None:
    await saturday_night(skipping_env)
    async with build_worker(skipping_env.client, settings):
        handle = await open_incident(skipping_env.client, settings.task_queue, priority="P2")
        await handle.execute_update(
            IncidentWorkflow.resolve, ResolveInput(by="bob", resolution="disk cleaned")
        )
        await handle.execute_update(IncidentWorkflow.close, CloseInput(by="bob"))
        # The run ends only once every task it started has finished.
        view = await handle.result()
        assert not any(e.kind == "on_call" for e in view.timeline)
        assert all(m["To"] != "on-call@example.com" for m in sink.about(handle.id))


async def test_a_p1_resolved_as_it_opens_pages_nobody(
    skipping_env: WorkflowEnvironment, settings: Settings, sink: MailSink
) -> None:
    """An alert whose Close reached Vigie with its Create (the webhook opens the incident with
    the resolution): nobody is woken at night for an incident that is already resolved."""
    from workflows.models import IncidentInput

    await saturday_night(skipping_env)
    async with build_worker(skipping_env.client, settings):
        handle = await skipping_env.client.start_workflow(
            IncidentWorkflow.run,
            IncidentInput(title="Payment API 500s", priority="P1", service_level="gold",
                          requesters=["customer@example.org"], opened_by="opsgenie"),
            id="incident-closed-first",
            task_queue=settings.task_queue,
            start_signal="resolve",
            start_signal_args=[ResolveInput(by="ann", resolution="fixed by restart")],
        )  # fmt: skip
        view = await status_when(handle, lambda v: any(e.kind == "on_call" for e in v.timeline))
        entry = next(e for e in view.timeline if e.kind == "on_call")
        assert entry.sentence == "on_call.ended", entry
        assert entry.text == (
            "P1 hors heures ouvrées : astreinte technique non appelée, l'incident est déjà résolu."
        )
        assert view.status == "resolved"
        await handle.execute_update(IncidentWorkflow.close, CloseInput(by="ann"))
        await handle.result()  # every mail of the run sent: none to the on-call
        assert all(m["To"] != "on-call@example.com" for m in sink.about(handle.id))
        subjects = [str(m["Subject"]) for m in sink.about(handle.id)]
        assert any(x.endswith("— Résolu") for x in subjects), subjects  # the customer told


async def test_a_crisis_at_night_pages_who_the_schedule_names(
    skipping_env: WorkflowEnvironment, settings: Settings, sink: MailSink, config_dir: Path
) -> None:
    """§4.2 for a crisis outside business hours: the schedule is asked who is on call and the
    answer recorded; without an answer, the matrix's on-call is paged and the reason kept."""
    from tests.test_crisis_chronogram import start_crisis
    from workflows.crisis_models import CrisisInput

    page_through(config_dir, "ops_schedule")
    standin = OpsgenieStandIn(schedules={"ops_schedule": ["night.owl@example.com"]})
    await saturday_night(skipping_env)
    async with build_worker(skipping_env.client, settings, alert_api=standin_api(standin)):
        crisis = await start_crisis(
            skipping_env.client, settings.task_queue, "crisis-night-owl",
            CrisisInput(title="Datacenter power lost", criterion="infrastructure_unavailable"),
        )  # fmt: skip
        view = await crisis.query("status", result_type=CrisisView)
        entry = next(e for e in view.timeline if e.kind == "on_call")
        assert entry.sentence == "crisis_on_call.opsgenie"
        assert entry.fields["to"] == "night.owl@example.com"
        assert entry.text.startswith("Crise hors heures ouvrées")
        paged = await eventually(
            lambda: [m for m in sink.messages if m["To"] == "night.owl@example.com"]
        )
        assert paged[0]["X-Vigie-Crisis"] == "crisis-night-owl"

    async with build_worker(skipping_env.client, settings):  # no Opsgenie key: the matrix
        crisis = await start_crisis(
            skipping_env.client, settings.task_queue, "crisis-night-matrix",
            CrisisInput(title="Datacenter power lost", criterion="infrastructure_unavailable"),
        )  # fmt: skip
        view = await crisis.query("status", result_type=CrisisView)
        entry = next(e for e in view.timeline if e.kind == "on_call")
        assert entry.sentence == "crisis_on_call.matrix" and entry.fields["reason"]
        assert entry.fields["to"] == "on-call@example.com"
