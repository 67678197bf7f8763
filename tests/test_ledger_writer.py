"""The workflows' ledger writer: coalesced writes of the latest facts, finished before the
workflow completes, a refusal reported and not retried (time-skipping server)."""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta
from pathlib import Path

import pytest
from pydantic import BaseModel
from temporalio import activity, workflow
from temporalio.exceptions import ApplicationError
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from activities.ledger.store import Ledger
from tests.test_ledger_facts import paris, state
from workflows.ledger_facts import RecordFactsResult, RecordIncidentFactsInput, incident_facts
from workflows.ledger_writer import LedgerWriter
from workflows.models import IncidentState, TimelineEntry


class Steps(BaseModel):
    states: list[IncidentState]
    burst: bool = False


@workflow.defn(name="LedgerWriterProbe", sandboxed=False)
class LedgerWriterProbe:
    def __init__(self) -> None:
        self.current: IncidentState | None = None
        self.refused: list[str] = []

    @workflow.run
    async def run(self, steps: Steps) -> list[str]:
        writer = LedgerWriter(
            "record_incident_facts",
            lambda: RecordIncidentFactsInput(
                facts=incident_facts(self.current, "acme", workflow.now())  # type: ignore[arg-type]
            ),
            on_refused=self.refused.append,
        )
        running = asyncio.create_task(writer.run())
        for snapshot in steps.states:
            self.current = snapshot
            writer.changed()
            if not steps.burst:
                await workflow.sleep(timedelta(minutes=1))
        await workflow.wait_condition(writer.idle)
        running.cancel()
        return self.refused


async def test_writes_follow_the_workflow_and_a_burst_makes_one_write(
    skipping_env: WorkflowEnvironment, tmp_path: Path
) -> None:
    ledger = Ledger(f"sqlite:///{tmp_path / 'ledger.db'}")
    ledger.migrate()
    calls: list[str] = []

    @activity.defn(name="record_incident_facts")
    async def record(input: RecordIncidentFactsInput) -> RecordFactsResult:
        calls.append(input.facts.status)
        if input.facts.title == "refuse me":
            raise ApplicationError("value too long", type="LedgerRefused", non_retryable=True)
        return RecordFactsResult(written=ledger.record_incident(input.facts))

    opened = state(opened_at=paris(24, 10))
    acked = opened.model_copy(update={"status": "in_progress", "acknowledged_at": paris(24, 10, 5)})
    acked.timeline = [
        TimelineEntry(at=paris(24, 10, 5), kind="acknowledged", by="alice", text="pris en compte")
    ]
    queue = f"ledger-writer-{uuid.uuid4().hex[:8]}"
    async with Worker(skipping_env.client, task_queue=queue, workflows=[LedgerWriterProbe],
                      activities=[record]):  # fmt: skip
        refused = await skipping_env.client.execute_workflow(
            LedgerWriterProbe.run, Steps(states=[opened, acked]), id=f"probe-{uuid.uuid4()}",
            task_queue=queue, result_type=list[str],
        )  # fmt: skip
        assert refused == [] and calls == ["open", "in_progress"]
        calls.clear()
        await skipping_env.client.execute_workflow(
            LedgerWriterProbe.run, Steps(states=[opened, acked, opened, acked], burst=True),
            id=f"probe-{uuid.uuid4()}", task_queue=queue, result_type=list[str],
        )  # fmt: skip
        assert calls == ["in_progress"]  # four changes at once, the latest facts written once
        calls.clear()
        bad = acked.model_copy(update={"title": "refuse me"})
        refused = await skipping_env.client.execute_workflow(
            LedgerWriterProbe.run, Steps(states=[bad]), id=f"probe-{uuid.uuid4()}",
            task_queue=queue, result_type=list[str],
        )  # fmt: skip
        assert refused == ["value too long"] and calls == ["in_progress"]  # tried once
    [row] = ledger.incidents_opened(paris(24, 0), paris(25, 0), None, ["status", "revision"])
    assert (row.status, row.revision) == ("in_progress", 1)


@workflow.defn(name="RefusedLedgerProbe", sandboxed=False)
class RefusedLedgerProbe:
    """As an incident does: a refusal is recorded (a new revision) and the workflow's next
    pass asks for a write again."""

    def __init__(self) -> None:
        self.revision = 1
        self.refused: list[str] = []

    @workflow.run
    async def run(self, snapshot: IncidentState, by_facts: bool) -> list[str]:
        def refused(why: str) -> None:
            self.refused.append(why)
            self.revision += 1  # the incident's ledger_refused entry
            snapshot.timeline_trimmed += 1  # the facts' own revision moves too

        writer = LedgerWriter(
            "record_incident_facts",
            lambda: RecordIncidentFactsInput(
                facts=incident_facts(snapshot, "acme", workflow.now())
            ),
            on_refused=refused,
            # An incident compares revisions; a crisis compares the facts refused.
            revision=None if by_facts else (lambda: self.revision),
            skip_refused=by_facts,
        )
        running = asyncio.create_task(writer.run())
        for _ in range(5):  # the workflow's passes
            writer.changed()
            await workflow.wait_condition(writer.idle)
            await workflow.sleep(timedelta(minutes=1))
        running.cancel()
        return self.refused


@pytest.mark.parametrize("by_facts", [False, True], ids=["by_revision", "by_facts"])
async def test_a_refusal_recorded_does_not_send_the_same_facts_again(
    skipping_env: WorkflowEnvironment, by_facts: bool
) -> None:
    calls: list[int] = []

    @activity.defn(name="record_incident_facts")
    async def record(input: RecordIncidentFactsInput) -> RecordFactsResult:
        calls.append(input.facts.revision)
        raise ApplicationError("value too long", type="LedgerRefused", non_retryable=True)

    # Resolved: its facts no longer change with time, as a crisis's between its steps.
    resolved = state(opened_at=paris(24, 10), acknowledged_at=paris(24, 10, 5),
                     resolved_at=paris(24, 11), status="resolved")  # fmt: skip
    queue = f"ledger-refused-{uuid.uuid4().hex[:8]}"
    async with Worker(skipping_env.client, task_queue=queue, workflows=[RefusedLedgerProbe],
                      activities=[record]):  # fmt: skip
        refused = await skipping_env.client.execute_workflow(
            RefusedLedgerProbe.run, args=[resolved, by_facts],
            id=f"probe-{uuid.uuid4()}", task_queue=queue, result_type=list[str],
        )  # fmt: skip
    assert refused == ["value too long"] and len(calls) == 1  # not once per pass
