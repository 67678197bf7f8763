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
from tests.conftest import free_port
from tests.faults.helpers import until
from tests.faults.ledger import check_mails
from tests.faults.tally import TALLY
from tests.helpers import on_a_business_morning, open_incident, status
from workers.settings import Settings
from workers.worker import build_worker
from workflows.incident import IncidentWorkflow
from workflows.limits import MAX_TEXT
from workflows.models import AcknowledgeInput, IncidentView, WorklogInput

# 10,000 characters of 4 bytes each: the longest worklog, in bytes.
WIDEST = "\U0001f525" * (MAX_TEXT - 8)


def small_runs(config_dir: Path) -> None:
    policy = config_dir / "policy.toml"
    text = policy.read_text(encoding="utf-8")
    for old, new in (
        ("continue_as_new_after_events = 8000", "continue_as_new_after_events = 200"),
        ("in_flight_wait_seconds = 120", "in_flight_wait_seconds = 1"),
    ):
        assert old in text
        text = text.replace(old, new)
    policy.write_text(text, encoding="utf-8")


async def settled(handle: WorkflowHandle[Any, Any]) -> IncidentView | None:
    view = await status(handle)
    return view if view.mails_pending == 0 and not view.retrying else None


async def test_widest_worklogs_while_the_mail_server_is_down(
    skipping_env: WorkflowEnvironment, settings: Settings, config_dir: Path
) -> None:
    """Eighty worklogs of 40 KB wait in the outbox (6 MB with their timeline entries) when
    the incident continues as new: it carries them all, their quoted texts shortened."""
    small_runs(config_dir)
    port = free_port()
    down = settings.model_copy(update={"smtp_port": port})
    client = skipping_env.client
    await on_a_business_morning(skipping_env)
    async with build_worker(client, down):
        handle = await open_incident(client, down.task_queue, priority="P3")
        first_run = (await handle.describe()).run_id
        await handle.execute_update(IncidentWorkflow.acknowledge, AcknowledgeInput(by="al"))
        TALLY.fault("mail server down during a burst of the widest worklogs")
        for n in range(80):
            answer = await handle.execute_update(
                IncidentWorkflow.add_worklog, WorklogInput(by="al", text=f"{n} {WIDEST}")
            )
            assert answer.timeline == []
            TALLY.bad_input("widest worklog")
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


async def _continued(handle: WorkflowHandle[Any, Any]) -> IncidentView | None:
    view = await status(handle)
    return view if any(e.kind == "continued" for e in view.timeline) else None


@pytest.mark.faults_slow
async def test_oversized_updates_all_at_once_from_a_raw_client(
    dev_env: WorkflowEnvironment, settings: Settings, sink: MailSink
) -> None:
    """Ten Updates of 1.5 MB each at once (the validator refuses them: 10,000 characters at
    most), with valid operations in between: the valid ones are applied, none is lost, and
    the incident never fails a workflow task."""
    client = dev_env.client
    async with build_worker(client, settings):
        handle = await open_incident(client, settings.task_queue, priority="P3")
        await status(handle)
        huge = {"by": "mallory", "text": "z" * 1_500_000}
        TALLY.bad_input("oversized update", 10)

        async def oversized() -> str:
            try:
                await handle.execute_update("add_worklog", huge)
            except WorkflowUpdateFailedError as exc:
                return str(exc.cause)
            except RPCError as exc:
                return f"rpc: {exc.message}"  # the server refused it before the workflow
            return "applied"

        async def valid(n: int) -> IncidentView:
            result: IncidentView = await handle.execute_update(
                IncidentWorkflow.add_worklog, WorklogInput(by="al", text=f"valid {n}")
            )
            return result

        outcomes = await asyncio.gather(
            *(oversized() for _ in range(10)), *(valid(n) for n in range(5))
        )
        refusals = outcomes[:10]
        assert "applied" not in refusals, refusals
        assert all("at most 10000 characters" in r or r.startswith("rpc: ") for r in refusals)
        view = await until(lambda: settled(handle), within=60)
        assert sorted(e.text for e in view.timeline if e.kind == "worklog") == [
            f"valid {n}" for n in range(5)
        ]
        await check_mails(client, sink, [handle.id])
        await handle.terminate("test over")
