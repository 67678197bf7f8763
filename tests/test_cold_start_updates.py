"""Incidents replayed from their history at almost every workflow task while they receive
Updates: a worker caching one workflow serves two incidents taking turns, so most tasks
start cold (the incident is replayed from its history first).

With the SDK's older activation order, a task that handled an Update on a cold start could
order its commands differently from a later replay, and the incident's next cold task failed
for good with a nondeterminism error (temporalio/sdk-python#1591): 3 runs of this test in 8
failed so. Workers now apply each activation's jobs as one batch
(``workers.worker.single_batch_activations``): 0 failures in 14 runs. The failed tasks are
caught by the ``dev_server_health`` fixture.
"""

from __future__ import annotations

from temporalio.api.enums.v1 import EventType
from temporalio.testing import WorkflowEnvironment
from temporalio.worker._workflow_instance import _WorkflowLogicFlag

from starters.updates import send_update
from tests.helpers import open_incident, status, status_when
from workers.settings import Settings
from workers.worker import build_worker
from workflows.models import AcknowledgeInput, IncidentView, WorklogInput

SINGLE_BATCH = _WorkflowLogicFlag.PROCESS_WORKFLOW_ACTIVATION_JOBS_AS_SINGLE_BATCH


async def test_incidents_evicted_at_every_task_replay_cleanly(
    dev_env: WorkflowEnvironment, settings: Settings
) -> None:
    client = dev_env.client
    cfg = settings.model_copy(update={"max_cached_workflows": 1})
    async with build_worker(client, cfg):
        handles = [await open_incident(client, cfg.task_queue, priority=p) for p in ("P2", "P3")]
        for handle in handles:
            await status(handle)
            await send_update(handle, "acknowledge", AcknowledgeInput(by="alice"), IncidentView)
        for n in range(15):
            for handle in handles:
                step = WorklogInput(by="alice", text=f"step {n}")
                await send_update(handle, "add_worklog", step, IncidentView)
        for handle in handles:
            view = await status_when(handle, lambda v: v.mails_pending == 0)
            assert [e.text for e in view.timeline if e.kind == "worklog"] == [
                f"step {n}" for n in range(15)
            ]
    for handle in handles:  # every task since the first records the batch order
        flags = [
            list(e.workflow_task_completed_event_attributes.sdk_metadata.lang_used_flags)
            async for e in handle.fetch_history_events()
            if e.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED
        ]
        assert SINGLE_BATCH in flags[0], flags[0]
