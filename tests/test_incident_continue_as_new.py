"""A long-lived incident continues as new before its history grows large, keeping its state.

On the dev server, as in production: Updates meet the continue-as-new and are sent again the
way the CLI sends them (the time-skipping server now and then leaves a query to the new run
unanswered after a continue-as-new)."""

from __future__ import annotations

from pathlib import Path

from temporalio.client import WorkflowExecution
from temporalio.testing import WorkflowEnvironment

from starters.dev.smtp_sink import MailSink
from starters.listing import incident_row
from starters.updates import send_update
from tests.conftest import free_port
from tests.helpers import (
    assert_eventually,
    eventually,
    open_incident,
    short_runs,
    status,
    status_when,
)
from tests.workflow_health import failed_tasks
from workers.settings import Settings
from workers.worker import build_worker
from workflows.models import AcknowledgeInput, IncidentView, WorklogInput


async def test_state_survives_continue_as_new(
    dev_env: WorkflowEnvironment, settings: Settings, config_dir: Path, sink: MailSink
) -> None:
    short_runs(config_dir)
    client = dev_env.client
    async with build_worker(client, settings):
        handle = await open_incident(client, settings.task_queue, priority="P2")
        first = await status(handle)
        await send_update(handle, "acknowledge", AcknowledgeInput(by="alice"), IncidentView)
        first_run = (await handle.describe()).run_id
        for n in range(40):
            step = WorklogInput(by="alice", text=f"step {n}")
            await send_update(handle, "add_worklog", step, IncidentView)
        view = await status_when(handle, lambda v: any(e.kind == "continued" for e in v.timeline))
        assert (await handle.describe()).run_id != first_run
        assert view.status == "in_progress"
        assert view.opened_at == first.opened_at
        assert view.ack_due_at == first.ack_due_at
        # Lists show T0, kept in the memo the next run inherits, not the new run's start.
        query = f"WorkflowId = '{handle.id}' AND ExecutionStatus = 'Running'"

        async def listed_now() -> WorkflowExecution:
            found = [w async for w in client.list_workflows(query)]
            assert found and found[0].run_id != first_run, found  # visibility caught up
            return found[0]

        listed = await assert_eventually(listed_now)
        assert listed.start_time is not None and listed.start_time > first.opened_at
        assert (await incident_row(listed))["t0"] == first.opened_at
        assert [e.text for e in view.timeline if e.kind == "worklog"][:40] == [
            f"step {n}" for n in range(40)
        ]
        # Every mail still goes out once, in one thread, across runs.
        mails = await eventually(lambda: len(sink.about(handle.id)) >= 42 and sink.about(handle.id))
        ids = [m["Message-ID"] for m in mails]
        assert len(ids) == len(set(ids)) == 42
        assert {m["In-Reply-To"] for m in mails[1:]} == {mails[0]["Message-ID"]}
    assert await failed_tasks(client, [(handle.id, None)]) == []


async def test_continue_as_new_does_not_wait_for_the_mail_server(
    dev_env: WorkflowEnvironment, settings: Settings, config_dir: Path
) -> None:
    """A burst of Updates while the mail server is down: the incident still continues as new
    (the history cannot grow to the server's limit) and the unsent mails travel with it."""
    short_runs(config_dir, in_flight_wait=True)
    down = settings.model_copy(update={"smtp_port": free_port()})
    client = dev_env.client
    async with build_worker(client, down):
        handle = await open_incident(client, down.task_queue, priority="P2")
        first_run = (await handle.describe()).run_id
        for n in range(60):
            step = WorklogInput(by="alice", text=f"step {n}")
            answer = await send_update(handle, "add_worklog", step, IncidentView)
            assert answer.timeline == []  # small answers: the history grows linearly
        view = await status_when(handle, lambda v: any(e.kind == "continued" for e in v.timeline))
        assert (await handle.describe()).run_id != first_run
        assert view.mails_pending > 0  # still waiting for the server, in the new run
    assert await failed_tasks(client, [(handle.id, None)]) == []
