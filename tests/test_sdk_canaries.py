"""Known SDK behaviour that the README documents. Each test fails when an SDK upgrade
changes it, so that the README and the workarounds are revisited."""

from __future__ import annotations

import json
from pathlib import Path

from temporalio.client import WorkflowHistory
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.worker import Replayer

from workers.worker import WORKFLOWS

HISTORIES = Path(__file__).parent / "histories_sdk"


async def test_a_history_written_on_a_cold_start_with_an_update_does_not_replay() -> None:
    """Written, in the SDK's default activation order, by a worker that cached one workflow
    (as in ``test_cold_start_updates.py``): the worker handled an ``add_worklog`` Update in a
    task that started cold, right after a task that issued no command, and got the activity
    result of that earlier task with the Update in one activation, where a replay gets them
    in two. The commands came out in another order (the ledger write before the timer
    change, then the mail), and every later cold task of that incident fails the same way
    (temporalio/sdk-python#1591). Workers now apply an activation's jobs in one batch."""
    text = (HISTORIES / "incident_cold_start_update.json").read_text()
    events = json.loads(text)["events"]
    failed = [e for e in events if e["eventType"] == "EVENT_TYPE_WORKFLOW_TASK_FAILED"]
    assert failed, "the saved history shows the failed tasks"
    replayer = Replayer(workflows=WORKFLOWS, data_converter=pydantic_data_converter)
    result = await replayer.replay_workflow(
        WorkflowHistory.from_json("incident-cold-start", text), raise_on_replay_failure=False
    )
    assert result.replay_failure is not None
    assert "TimerCanceled" in str(result.replay_failure)
