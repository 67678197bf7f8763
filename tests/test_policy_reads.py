"""New workflows read the policy and the escalation matrix with ordinary activities: the
local reads (patch ``policy-read-locally``) are withdrawn, and the incidents that took them
still replay (``test_replay.py``, the ``*_local_reads`` histories)."""

from __future__ import annotations

from temporalio.api.enums.v1 import EventType
from temporalio.client import WorkflowHandle
from temporalio.testing import WorkflowEnvironment

from tests.helpers import on_a_business_morning, open_incident, status_when
from workers.settings import Settings
from workers.worker import build_worker
from workflows.incident import IncidentWorkflow
from workflows.models import UrgentChangeInput


async def reads(handle: WorkflowHandle[object, object]) -> tuple[list[str], int]:
    """Activity types scheduled on the server, and local activity markers."""
    scheduled, local = [], 0
    async for event in handle.fetch_history_events():
        if event.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
            scheduled.append(event.activity_task_scheduled_event_attributes.activity_type.name)
        if event.event_type == EventType.EVENT_TYPE_MARKER_RECORDED:
            local += event.marker_recorded_event_attributes.marker_name == "core_local_activity"
    return scheduled, local


async def test_a_new_incident_reads_its_policy_and_matrix_with_activities(
    skipping_env: WorkflowEnvironment, settings: Settings
) -> None:
    client = skipping_env.client
    await on_a_business_morning(skipping_env)
    async with build_worker(client, settings):
        handle = await open_incident(client, settings.task_queue, priority="P3")
        await handle.execute_update(
            IncidentWorkflow.request_urgent_change,
            UrgentChangeInput(by="alice", what="restart the pool", why="memory leak"),
        )
        view = await status_when(
            handle, lambda v: any(e.kind == "urgent_change" for e in v.timeline)
        )
        await status_when(handle, lambda v: v.mails_pending == 0)
    scheduled, local = await reads(handle)  # type: ignore[arg-type]
    assert "load_policy" in scheduled  # at opening
    assert "load_escalation_matrix" in scheduled  # the change manager
    assert local == 0
    assert view.policy_version >= 1
