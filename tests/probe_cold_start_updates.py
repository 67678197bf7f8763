"""Probe, run by hand (``.venv/bin/pytest tests/probe_cold_start_updates.py``; not collected
by the suite): incidents replayed from their history at almost every workflow task while
they receive Updates. A worker caching one workflow serves two incidents taking turns, so
most tasks start cold (the incident is replayed from its history first).

On temporalio 1.35 a task that handled an Update on a cold start can order its commands
differently from a later replay, and the incident's next cold task fails for good with a
nondeterminism error (temporalio/sdk-python#1591); the ``dev_server_health`` fixture reports
it. Measured: 3 runs in 8 failed so (2 in 3 while new workflows read the policy with local
activities). With the SDK's newer activation order (each activation's jobs applied as one
batch, workflow logic flag 2, set through the worker's private
``_set_default_workflow_logic_flag``) 0 runs in 14 failed, but a crisis cancelled from
Temporal then never sent its last mail (``test_cancel_from_temporal_tells_the_cell``), so
that order is not used.
"""

from __future__ import annotations

from temporalio.testing import WorkflowEnvironment

from starters.updates import send_update
from tests.helpers import open_incident, status, status_when
from workers.settings import Settings
from workers.worker import build_worker
from workflows.models import AcknowledgeInput, IncidentView, WorklogInput


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
