"""Opsgenie's UpdatePriority webhook of a priority Vigie set is its own echo (time-skipping
server, the Opsgenie stand-in over HTTP for the alert changes, the echo sent by hand)."""

from __future__ import annotations

import uuid
from datetime import timedelta

from temporalio.testing import WorkflowEnvironment

from starters.dev.opsgenie_standin import OpsgenieStandIn
from starters.dev.smtp_sink import MailSink
from tests.helpers import advance, open_incident, status, status_when
from tests.test_incident_on_call import standin_api
from workers.settings import Settings
from workers.worker import build_worker
from workflows.incident import ECHO_WINDOW, IncidentWorkflow
from workflows.models import IncidentInput, IncidentView, RecategorizeInput, opsgenie_delivery

ECHO = {"by": "standin", "via": "opsgenie", "opsgenie_priority": "P3", "reason": "P3"}


def noted(view: IncidentView) -> list[str]:
    """What Opsgenie's events changed nothing about, as the timeline says it."""
    return [e.text for e in view.timeline if e.kind == "opsgenie"]


async def test_an_echo_counts_within_its_window_and_once(
    skipping_env: WorkflowEnvironment, settings: Settings, sink: MailSink
) -> None:
    standin = OpsgenieStandIn()
    async with build_worker(skipping_env.client, settings, alert_api=standin_api(standin)):
        handle = await open_incident(skipping_env.client, settings.task_queue, priority="P2")
        await status(handle)
        await handle.execute_update(
            IncidentWorkflow.recategorize, RecategorizeInput(by="im", priority="P3", reason="r")
        )
        await status_when(handle, lambda v: v.alert_changes_pending == 0)
        await handle.signal("recategorize", ECHO)  # the echo: left out, without a word
        await handle.signal("recategorize", ECHO)  # the same priority again: a person's
        view = await status_when(handle, lambda v: len(noted(v)) == 1)
        assert "déjà P3" in noted(view)[0]
        # Another change made by Vigie, whose echo never comes: past the window, a person
        # setting that priority in Opsgenie is heard (the incident is already P2: noted).
        await handle.execute_update(
            IncidentWorkflow.recategorize, RecategorizeInput(by="im", priority="P2", reason="r")
        )
        await status_when(handle, lambda v: v.alert_changes_pending == 0)
        await advance(skipping_env, ECHO_WINDOW + timedelta(minutes=1))
        await handle.signal("recategorize", {**ECHO, "by": "ann", "opsgenie_priority": "P2"})
        view = await status_when(handle, lambda v: len(noted(v)) == 2)
        assert "déjà P2" in noted(view)[1]


async def test_a_priority_change_delivered_after_a_later_one_is_stale(
    skipping_env: WorkflowEnvironment, settings: Settings, sink: MailSink
) -> None:
    """Opsgenie delivers P1 (made at t) then P2 (made at t - 2 s): the incident ends on P1,
    the latest change, and the stale one is noted, not applied."""
    async with build_worker(skipping_env.client, settings):
        handle = await open_incident(skipping_env.client, settings.task_queue, priority="P3")
        await status(handle)
        change = {"by": "ann", "via": "opsgenie", "reason": "priorité changée dans Opsgenie"}
        t = 1_764_570_000_000_000_000
        for priority, at in (("P1", t), ("P2", t - 2_000_000_000)):
            key = opsgenie_delivery("UpdatePriority", at)
            await handle.signal(
                "recategorize", {**change, "opsgenie_priority": priority, "delivery": key}
            )
        view = await status_when(handle, lambda v: len(noted(v)) == 1)
    assert view.priority == "P1"
    assert "arrivé après lui" in noted(view)[0], noted(view)


async def test_a_change_to_the_priority_the_incident_has_still_dates_it(
    skipping_env: WorkflowEnvironment, settings: Settings, sink: MailSink
) -> None:
    """Opsgenie delivers P3 (made at t, the incident is P3 already: noted, no change), then
    P1 made before it: stale, not applied. The incident stays P3, as the alert is."""
    async with build_worker(skipping_env.client, settings):
        handle = await open_incident(skipping_env.client, settings.task_queue, priority="P3")
        await status(handle)
        change = {"by": "ann", "via": "opsgenie", "reason": "priorité changée dans Opsgenie"}
        t = 1_764_570_000_000_000_000
        for priority, at in (("P3", t), ("P1", t - 1_000_000_000)):
            key = opsgenie_delivery("UpdatePriority", at, "digest")
            await handle.signal(
                "recategorize", {**change, "opsgenie_priority": priority, "delivery": key}
            )
        view = await status_when(handle, lambda v: len(noted(v)) == 2)
    assert view.priority == "P3"
    assert "déjà P3" in noted(view)[0] and "arrivé après lui" in noted(view)[1], noted(view)
    assert not any(e.kind == "recategorized" for e in view.timeline)


async def test_an_alerts_late_create_does_not_undo_a_later_priority_change(
    skipping_env: WorkflowEnvironment, settings: Settings, sink: MailSink
) -> None:
    """The alert's Acknowledge opens the incident (no priority said: asked for), Opsgenie's
    UpdatePriority to P3 comes, then the alert's Create, with the P1 it was created with:
    the priority Opsgenie changed last stands, and is no longer asked for."""
    async with build_worker(skipping_env.client, settings):
        handle = await skipping_env.client.start_workflow(
            IncidentWorkflow.run,
            IncidentInput(title="Disk full on db-3", service_level="gold", source="opsgenie"),
            id=f"incident-late-create-{uuid.uuid4().hex[:6]}",
            task_queue=settings.task_queue,
        )
        await status(handle)
        t = 1_764_570_000_000_000_000
        await handle.signal(
            "recategorize",
            {"by": "ann", "via": "opsgenie", "reason": "P3", "opsgenie_priority": "P3",
             "delivery": opsgenie_delivery("UpdatePriority", t, "digest")},
        )  # fmt: skip
        await handle.signal(
            "alert_created",
            {"by": "monitoring", "via": "opsgenie", "opsgenie_priority": "P1",
             "requesters": ["ops@example.org"],
             "delivery": opsgenie_delivery("Create", t - 60_000_000_000, "digest")},
        )  # fmt: skip
        view = await status_when(handle, lambda v: v.requesters == ["ops@example.org"])
    assert view.priority == "P3", [e.text for e in view.timeline]
    assert "priority" not in view.missing_fields


async def test_a_change_of_vigie_held_back_past_a_later_one_in_opsgenie_is_undone(
    skipping_env: WorkflowEnvironment, settings: Settings, sink: MailSink
) -> None:
    """Vigie sets P3 while Opsgenie answers 503; meanwhile someone sets P2 in Opsgenie (the
    incident takes it); then Vigie's P3 lands, and its echo comes back. The echo is left out,
    and the alert, off the incident's priority, is set back to P2: both end on P2."""
    standin = OpsgenieStandIn()
    async with build_worker(skipping_env.client, settings, alert_api=standin_api(standin)):
        handle = await open_incident(skipping_env.client, settings.task_queue, priority="P2")
        await status_when(handle, lambda v: v.alert_changes_pending == 0 and v.mails_pending == 0)
        standin.faults = [503] * 3  # one round of attempts
        await handle.execute_update(
            IncidentWorkflow.recategorize, RecategorizeInput(by="im", priority="P3", reason="r")
        )
        await status_when(handle, lambda v: bool(v.retrying))
        t = 1_764_570_000_000_000_000
        change = {"by": "ann", "via": "opsgenie", "reason": "P2"}
        await handle.signal(
            "recategorize",
            {**change, "opsgenie_priority": "P2",
             "delivery": opsgenie_delivery("UpdatePriority", t, "d")},
        )  # fmt: skip
        await status_when(handle, lambda v: v.priority == "P2")
        await advance(skipping_env, timedelta(minutes=5))  # the next round: P3 lands
        await status_when(handle, lambda v: v.alert_changes_pending == 0 and not v.retrying)
        alert = standin.find(handle.id, "alias")
        assert alert is not None and alert["priority"] == "P3"
        await handle.signal(
            "recategorize",
            {**change, "opsgenie_priority": "P3",
             "delivery": opsgenie_delivery("UpdatePriority", t + 5_000_000_000, "d")},
        )  # fmt: skip
        view = await status_when(
            handle,
            lambda v: (
                v.alert_changes_pending == 0
                and any(e.kind == "alert_priority_restored" for e in v.timeline)
            ),
        )
    assert view.priority == "P2"
    assert standin.find(handle.id, "alias")["priority"] == "P2"  # type: ignore[index]
    [entry] = [e for e in view.timeline if e.kind == "alert_priority_restored"]
    assert entry.text.startswith("L'alerte Opsgenie est passée à P3 par un changement de Vigie")
    assert [e.kind for e in view.timeline].count("recategorized") == 2  # P2→P3, P3→P2
