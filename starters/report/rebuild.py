"""Fills the ledger from the workflows still within Temporal's retention.

Each incident and crisis is listed through visibility, its ``status`` query read (on a
closed workflow a worker replays it to answer) and its customer taken from its start
input. The facts go through the same guarded upsert as the workflows' own: a rebuild
never counts an incident twice and never replaces newer facts.
"""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from typing import Any, TypeVar

from pydantic import BaseModel
from temporalio.client import (
    Client,
    WorkflowExecution,
    WorkflowExecutionStatus,
    WorkflowQueryFailedError,
)
from temporalio.service import RPCError

from activities.ledger.store import Ledger
from workflows.crisis_models import CrisisView
from workflows.ledger_facts import crisis_facts, incident_facts_from_view
from workflows.limits import LIMITS
from workflows.models import IncidentInput, IncidentView
from workflows.policy import Policy

AT_ONCE = 8
V = TypeVar("V", IncidentView, CrisisView)
QUERY_TIMEOUT = timedelta(seconds=30)


class RebuildOutcome(BaseModel):
    incidents: int = 0
    crises: int = 0
    written: int = 0
    kept: int = 0
    problems: list[str] = []


async def start_input(client: Client, execution: WorkflowExecution, model: type[Any]) -> Any:
    """The input the run was started with (None if its history has no start event)."""
    handle = client.get_workflow_handle(execution.id, run_id=execution.run_id)
    async for event in handle.fetch_history_events(page_size=1):
        payloads = list(event.workflow_execution_started_event_attributes.input.payloads)
        if not payloads:
            return None
        # Read as stored, the input limits waived: a run may have started under older
        # limits (a requester the entrances now refuse) and must still be counted.
        [raw] = await client.data_converter.decode(payloads, [dict])
        return model.model_validate(raw, context={LIMITS: False})
    return None


async def _latest_runs(
    client: Client, workflow_type: str, task_queue: str, limit: int
) -> list[WorkflowExecution]:
    found: list[WorkflowExecution] = []
    query = f"WorkflowType = '{workflow_type}' AND TaskQueue = '{task_queue}'"
    async for execution in client.list_workflows(query, limit=limit):
        if execution.status != WorkflowExecutionStatus.CONTINUED_AS_NEW:
            found.append(execution)
    return found


async def rebuild_ledger(
    client: Client, ledger: Ledger, policy: Policy, task_queue: str, limit: int, now: datetime
) -> RebuildOutcome:
    """Reads the workflows of ``task_queue`` (whose worker must run to answer queries)."""
    done = RebuildOutcome()
    gate = asyncio.Semaphore(AT_ONCE)

    def count(written: bool) -> None:
        if written:
            done.written += 1
        else:
            done.kept += 1

    async def status(execution: WorkflowExecution, view: type[V]) -> V | None:
        try:
            handle = client.get_workflow_handle(execution.id, run_id=execution.run_id)
            found: V = await handle.query("status", result_type=view, rpc_timeout=QUERY_TIMEOUT)
            return found
        except (RPCError, WorkflowQueryFailedError) as exc:
            done.problems.append(f"{execution.id}: {exc}")
            return None

    async def incident(execution: WorkflowExecution) -> None:
        async with gate:
            view = await status(execution, IncidentView)
            if view is None:
                return
            started = await start_input(client, execution, IncidentInput)
            customer = started.customer if started is not None else None
            facts = incident_facts_from_view(view, policy, customer, now)
            count(await asyncio.to_thread(ledger.record_incident, facts))
            done.incidents += 1

    async def crisis(execution: WorkflowExecution) -> None:
        async with gate:
            view = await status(execution, CrisisView)
            if view is None:
                return
            facts = crisis_facts(view, policy.default_customer, now)
            if not facts.drill:  # an exercise is not a crisis of the service reviews
                count(await asyncio.to_thread(ledger.record_crisis, facts))
            done.crises += 1

    # Incidents first: a crisis takes its incident's customer from the ledger.
    runs = await _latest_runs(client, "IncidentWorkflow", task_queue, limit)
    await asyncio.gather(*(incident(e) for e in runs))
    runs = await _latest_runs(client, "CrisisWorkflow", task_queue, limit)
    await asyncio.gather(*(crisis(e) for e in runs))
    return done
