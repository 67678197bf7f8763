"""A new workflow records one patch marker, the baseline, which stands for every behaviour
change made before it; workflows started before it replay on their own markers
(``test_replay.py``)."""

from __future__ import annotations

from temporalio.api.enums.v1 import EventType
from temporalio.client import WorkflowHandle
from temporalio.converter import PayloadConverter
from temporalio.testing import WorkflowEnvironment

from starters.dev.smtp_sink import MailSink
from tests.helpers import on_a_business_morning, open_incident, status_when
from workers.settings import Settings
from workers.worker import build_worker
from workflows import versions
from workflows.incident import IncidentWorkflow
from workflows.models import AcknowledgeInput, QualifyP1Input, ResolveInput, WorklogInput

# A baseline never changes once workflows carry its marker: a patch added to it later would
# read as in force while replaying workflows that ran without it. A new baseline gets a new id.
FROZEN = {
    "baseline-2026-12": {
        "bounded-continue-as-new", "cancel-as-operation", "chat-channels",
        "confirmed-p1-status", "continue-as-new-without-outbox", "crisis-asks-who-is-on-call",
        "crisis-child", "crisis-continue-as-new", "crisis-follows-incident", "crisis-ledger",
        "crisis-search-attributes", "deadline-wake-early", "delivery-in-rounds",
        "incident-ledger", "incident-tells-crisis", "incident-tells-failures", "input-limits",
        "next-due-attribute", "opsgenie-alert-mirror", "p1-pages-on-call",
    },
}  # fmt: skip


def test_the_baseline_is_frozen() -> None:
    assert versions.BASELINE_PATCHES == FROZEN[versions.BASELINE]


async def patch_markers(handle: WorkflowHandle[object, object]) -> list[str]:
    history = await handle.fetch_history()
    converter = PayloadConverter.default
    found = []
    for event in history.events:
        marker = event.marker_recorded_event_attributes
        if event.event_type == EventType.EVENT_TYPE_MARKER_RECORDED:
            assert marker.marker_name == "core_patch", marker.marker_name  # no other marker
            found.append(
                str(converter.from_payloads(marker.details["patch-data"].payloads)[0]["id"])
            )
    return found


async def test_a_new_incident_and_its_crisis_record_one_marker(
    skipping_env: WorkflowEnvironment, settings: Settings, sink: MailSink
) -> None:
    client = skipping_env.client
    await on_a_business_morning(skipping_env)
    async with build_worker(client, settings):
        handle = await open_incident(client, settings.task_queue, priority="P1")
        await handle.execute_update(IncidentWorkflow.acknowledge, AcknowledgeInput(by="alice"))
        await handle.execute_update(
            IncidentWorkflow.add_worklog, WorklogInput(by="alice", text="failing over")
        )
        await handle.execute_update(
            IncidentWorkflow.qualify_p1, QualifyP1Input(by="alice", verdict="major")
        )
        view = await status_when(handle, lambda v: v.crisis_id is not None)
        await handle.execute_update(
            IncidentWorkflow.resolve, ResolveInput(by="alice", resolution="failed over")
        )
        await status_when(handle, lambda v: v.status == "resolved" and v.mails_pending == 0)
        assert view.crisis_id is not None
        crisis = client.get_workflow_handle(view.crisis_id)
        assert await patch_markers(handle) == [versions.BASELINE]
        assert await patch_markers(crisis) == [versions.BASELINE]
