"""Incidents and a crisis replayed from their history at almost every workflow task while
they receive operations (Updates, and Signals for one incident): a worker caching one
workflow serves three workflows taking turns, so most tasks start cold. A cold task can get
an activity result and an operation in one activation where a later replay gets them in
two; the commands must come out in the same order either way (temporalio/sdk-python#1591).
The ``dev_server_health`` fixture fails the test on any failed workflow task, and every
history is replayed again at the end."""

from __future__ import annotations

from typing import Any

import pytest
from temporalio.client import WorkflowHandle, WorkflowHistory
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Replayer

import workers.worker as worker_module
from starters.updates import send_update
from tests.helpers import assert_eventually, open_incident, status, status_when
from tests.test_crisis_chronogram import crisis_status, start_crisis
from workers.settings import Settings
from workers.worker import WORKFLOWS, build_worker
from workflows.crisis_models import CrisisInput, CrisisView, PostUpdateInput
from workflows.models import AcknowledgeInput, IncidentView, WorklogInput

ROUNDS = 15
# The SDK's workflow logic flag for "apply every job of an activation before running code".
ONE_BATCH = 2


def one_batch_flags(history: WorkflowHistory) -> list[bool]:
    """For each completed workflow task, in order: whether it recorded the one-batch flag."""
    return [
        ONE_BATCH in e.workflow_task_completed_event_attributes.sdk_metadata.lang_used_flags
        for e in history.events
        if e.HasField("workflow_task_completed_event_attributes")
    ]


async def test_new_workflows_apply_their_activations_in_one_batch(
    skipping_env: WorkflowEnvironment, settings: Settings
) -> None:
    client = skipping_env.client
    async with build_worker(client, settings):
        handle = await open_incident(client, settings.task_queue, priority="P3")
        await status(handle)
        history = await handle.fetch_history()
    assert one_batch_flags(history)[0]


async def test_workflows_evicted_at_every_task_replay_cleanly(
    dev_env: WorkflowEnvironment, settings: Settings
) -> None:
    client = dev_env.client
    cfg = settings.model_copy(update={"max_cached_workflows": 1})
    async with build_worker(client, cfg):
        incidents = [await open_incident(client, cfg.task_queue, priority=p) for p in ("P2", "P3")]
        crisis = await start_crisis(
            client, cfg.task_queue, f"crisis-cold-{incidents[0].id}", CrisisInput(title="Paie")
        )
        for handle in incidents:
            await status(handle)
            await send_update(handle, "acknowledge", AcknowledgeInput(by="alice"), IncidentView)
        by_update, by_signal = incidents
        for n in range(ROUNDS):
            step = WorklogInput(by="alice", text=f"step {n}")
            await send_update(by_update, "add_worklog", step, IncidentView)
            await by_signal.signal("add_worklog", step)  # as the Opsgenie webhook does
            news = PostUpdateInput(by="bob", progress=f"round {n}")
            await send_update(crisis, "post_update", news, CrisisView)
        for handle in incidents:
            view = await status_when(
                handle,
                lambda v: (
                    v.mails_pending == 0
                    and len([e for e in v.timeline if e.kind == "worklog"]) == ROUNDS
                ),
            )
            assert [e.text for e in view.timeline if e.kind == "worklog"] == [
                f"step {n}" for n in range(ROUNDS)
            ]

        async def crisis_settled() -> None:
            view = await crisis_status(crisis)
            assert view.mails_pending == 0
            assert len([e for e in view.timeline if e.kind == "update"]) == ROUNDS

        await assert_eventually(crisis_settled)
    replayer = Replayer(workflows=WORKFLOWS, data_converter=pydantic_data_converter)
    handles: list[WorkflowHandle[Any, Any]] = [*incidents, crisis]
    for handle in handles:
        history = await handle.fetch_history()
        result = await replayer.replay_workflow(history, raise_on_replay_failure=False)
        assert result.replay_failure is None, f"{handle.id}: {result.replay_failure}"


async def test_an_incident_opened_in_the_former_order_goes_on_in_the_new_one(
    dev_env: WorkflowEnvironment, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An incident opened by a worker of an earlier release (the SDK's default order) and
    handled on by a worker of this one: the tasks written before replay in the former order,
    the later ones in the new order, and the whole history replays."""
    client = dev_env.client
    with monkeypatch.context() as former:
        former.setattr(worker_module, "apply_activation_in_one_batch", lambda worker: False)
        async with build_worker(client, settings):
            handle = await open_incident(client, settings.task_queue, priority="P3")
            await status(handle)
            step = WorklogInput(by="alice", text="before the upgrade")
            await send_update(handle, "add_worklog", step, IncidentView)
    async with build_worker(client, settings):
        await send_update(handle, "acknowledge", AcknowledgeInput(by="alice"), IncidentView)
        step = WorklogInput(by="alice", text="after the upgrade")
        await send_update(handle, "add_worklog", step, IncidentView)
        view = await status_when(handle, lambda v: v.mails_pending == 0)
    assert [e.text for e in view.timeline if e.kind == "worklog"] == [
        "before the upgrade",
        "after the upgrade",
    ]
    history = await handle.fetch_history()
    flags = one_batch_flags(history)
    assert not flags[0] and any(flags), flags
    replayer = Replayer(workflows=WORKFLOWS, data_converter=pydantic_data_converter)
    result = await replayer.replay_workflow(history, raise_on_replay_failure=False)
    assert result.replay_failure is None, result.replay_failure
