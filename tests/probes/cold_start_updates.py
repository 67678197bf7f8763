"""Probe, run by hand (not part of the suite): incidents replayed from their history at
almost every workflow task while they receive Updates.

    .venv/bin/pytest tests/probes/cold_start_updates.py

A worker caching one workflow serves two incidents taking turns, so most tasks start cold
(the incident is replayed from its history first). On temporalio 1.35 this failed in 1 run
of 4 (and in 2 of 3 while new workflows read the policy with local activities): a workflow
task fails with a nondeterminism error ("Non-deprecated patch marker encountered…" or
"Activity machine does not handle this event: … TimerCanceled"). The history written while
an Update was handled on a cold start does not replay (an SDK issue,
temporalio/sdk-python#1591); ``tests/test_sdk_canaries.py`` keeps one such history. The
README ("What is not guaranteed") says what it means for an incident and how to recover.
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
