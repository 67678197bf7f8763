"""Texts at their size limits, in bursts: nothing a person types within the limits can push
a payload over the server's 2 MB. The status answer stays small, the incident continues as
new with whatever it must still send, operations keep being accepted, and every mail arrives
once. The slow case also sends oversized Updates from a raw client, all at once."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from temporalio.client import WorkflowHandle, WorkflowUpdateFailedError
from temporalio.service import RPCError
from temporalio.testing import WorkflowEnvironment

from starters.dev.smtp_sink import MailSink
from starters.updates import send_update
from tests.faults.helpers import until
from tests.faults.ledger import check_mails
from tests.faults.tally import TALLY
from tests.helpers import mail_server_down, open_incident, short_runs, status
from tests.workflow_health import failed_tasks
from workers.settings import Settings
from workers.worker import build_worker
from workflows.incident import IncidentWorkflow
from workflows.limits import MAX_TEXT
from workflows.models import AcknowledgeInput, IncidentView, WorklogInput

# 10,000 characters of 4 bytes each: the longest worklog, in bytes.
WIDEST = "\U0001f525" * (MAX_TEXT - 8)


async def settled(handle: WorkflowHandle[Any, Any]) -> IncidentView | None:
    view = await status(handle)
    return view if view.mails_pending == 0 and not view.retrying else None


async def test_widest_worklogs_while_the_mail_server_is_down(
    dev_env: WorkflowEnvironment, settings: Settings, config_dir: Path
) -> None:
    """Eighty worklogs of 40 KB wait in the outbox (6 MB with their timeline entries) when
    the incident continues as new: it carries them all, their quoted texts shortened. On the
    dev server, with the Updates sent as the CLI sends them."""
    short_runs(config_dir, in_flight_wait=True)
    port, down = mail_server_down(settings)  # no mail server yet
    client = dev_env.client
    async with build_worker(client, down):
        handle = await open_incident(client, down.task_queue, priority="P3")
        first_run = (await handle.describe()).run_id
        await send_update(handle, "acknowledge", AcknowledgeInput(by="al"), IncidentView)
        TALLY.fault("mail server down during a burst of the widest worklogs")
        for n in range(80):
            worklog = WorklogInput(by="al", text=f"{n} {WIDEST}")
            answer = await send_update(handle, "add_worklog", worklog, IncidentView)
            assert answer.timeline == []
            TALLY.bad_input("worklog at the size limit")
            if n % 20 == 0:
                view = await status(handle)  # the answer stays under the payload limit
                assert len(view.model_dump_json().encode()) < 1_500_000
        view = await until(lambda: _continued(handle))
        assert (await handle.describe()).run_id != first_run
        assert view.mails_pending > 50
        with MailSink(port=port) as sink:
            view = await until(lambda: settled(handle), within=120)
            check = await check_mails(client, sink, [handle.id])
        assert check.kinds(handle.id)["worklog"] == 80
        worklogs = [e for e in view.timeline if e.kind == "worklog"]
        assert worklogs[-1].text.startswith("79 ") and len(worklogs[-1].text) == len(
            f"79 {WIDEST}"
        )  # the timeline keeps whole texts; only mails waiting at the move were shortened
        assert await failed_tasks(client, [(handle.id, None)]) == []


async def _continued(handle: WorkflowHandle[Any, Any]) -> IncidentView | None:
    view = await status(handle)
    return view if any(e.kind == "continued" for e in view.timeline) else None


@pytest.mark.faults_slow
async def test_updates_of_almost_2_mb_from_a_raw_client(
    dev_env: WorkflowEnvironment, settings: Settings, sink: MailSink
) -> None:
    """Updates of almost 2 MB, one after another between valid operations (a raw Temporal
    client; Vigie's own entrances never send one): each is refused by the validator with the
    field named, the valid operations are applied, nothing is lost, no task fails."""
    client = dev_env.client
    async with build_worker(client, settings):
        handle = await open_incident(client, settings.task_queue, priority="P3")
        await status(handle)
        for n in range(5):
            with pytest.raises(WorkflowUpdateFailedError) as refused:
                await handle.execute_update("add_worklog", {"by": "m", "text": "z" * 1_900_000})
            assert "text: at most 10000 characters (got 1900000)" in str(refused.value.cause)
            await handle.execute_update(
                IncidentWorkflow.add_worklog, WorklogInput(by="al", text=f"valid {n}")
            )
            TALLY.bad_input("update of 1.9 MB")
        view = await until(lambda: settled(handle), within=60)
        assert [e.text for e in view.timeline if e.kind == "worklog"] == [
            f"valid {n}" for n in range(5)
        ]
        await check_mails(client, sink, [handle.id])
        await handle.terminate("test over")


@pytest.mark.faults_slow
@pytest.mark.allow_failed_workflow_tasks  # checked below: only the refusal that cannot be sent
async def test_an_update_over_2_mb_from_a_raw_client(
    dev_env: WorkflowEnvironment, settings: Settings, sink: MailSink
) -> None:
    """The server takes an Update of 3 MB to the worker; its refusal carries the request back
    and is itself over the limit, so the workflow task fails until the caller gives up. The
    incident then goes on: the operations after it are applied, nothing is lost."""
    client = dev_env.client
    async with build_worker(client, settings):
        handle = await open_incident(client, settings.task_queue, priority="P3")
        await status(handle)
        with pytest.raises(RPCError):
            await handle.execute_update("add_worklog", {"by": "m", "text": "z" * 3_000_000})
        TALLY.bad_input("update of 3 MB")
        loop = asyncio.get_running_loop()
        began = loop.time()
        while True:  # refused while the workflow task fails ("Workflow Task in failed state")
            try:
                await handle.execute_update(
                    IncidentWorkflow.add_worklog, WorklogInput(by="al", text="after it")
                )
                break
            except RPCError:
                assert loop.time() - began < 30, "the incident did not recover within 30 s"
                await asyncio.sleep(1)
        print(f"operations refused for {loop.time() - began:.0f} s after an Update of 3 MB")
        view = await until(lambda: settled(handle), within=60)
        assert [e.text for e in view.timeline if e.kind == "worklog"] == ["after it"]
        await check_mails(client, sink, [handle.id])
        found = await failed_tasks(client, [(handle.id, None)])
        assert all("PAYLOADS_TOO_LARGE" in line for line in found), found
        await handle.terminate("test over")
