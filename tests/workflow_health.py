"""Every workflow a test ran must have run cleanly: no failed workflow task anywhere.

A workflow task that fails (a deadlock, a non-determinism error, an exception in
workflow code) is retried by the server forever while the test, polling a query
answered from the last good state, may still pass. The check here reads the
histories of every workflow a test started, every run after continue-as-new and
every child, and names the first ``WorkflowTaskFailed`` event it finds.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from temporalio.api.enums.v1 import EventType, WorkflowTaskFailedCause
from temporalio.client import (
    Client,
    Interceptor,
    OutboundInterceptor,
    StartWorkflowInput,
    StartWorkflowUpdateWithStartInput,
    WorkflowHandle,
    WorkflowUpdateHandle,
)
from temporalio.service import RPCError, RPCStatusCode

# Tasks the server fails by protocol, not because of workflow code: the workflow was closed
# (a test terminating it) while a task was in flight; or new events (an Update, a Signal)
# arrived while a task was completing the run (continue-as-new), so the server asks for a
# new task that sees them.
NOT_A_WORKFLOW_FAULT = {
    WorkflowTaskFailedCause.WORKFLOW_TASK_FAILED_CAUSE_FORCE_CLOSE_COMMAND,
    WorkflowTaskFailedCause.WORKFLOW_TASK_FAILED_CAUSE_UNHANDLED_COMMAND,
}


class StartedWorkflows(Interceptor):
    """Client interceptor remembering the id of every workflow started through the client."""

    def __init__(self) -> None:
        self.runs: set[tuple[str, str | None]] = set()

    def intercept_client(self, next: OutboundInterceptor) -> OutboundInterceptor:
        return _Recorder(next, self.runs)


class _Recorder(OutboundInterceptor):
    def __init__(self, next: OutboundInterceptor, runs: set[tuple[str, str | None]]) -> None:
        super().__init__(next)
        self._runs = runs

    async def start_workflow(self, input: StartWorkflowInput) -> WorkflowHandle[Any, Any]:
        handle = await super().start_workflow(input)
        self._runs.add((input.id, handle.first_execution_run_id))
        return handle

    async def start_update_with_start_workflow(
        self, input: StartWorkflowUpdateWithStartInput
    ) -> WorkflowUpdateHandle[Any]:
        self._runs.add((input.start_workflow_input.id, None))
        return await super().start_update_with_start_workflow(input)


async def failed_tasks(client: Client, runs: Iterable[tuple[str, str | None]]) -> list[str]:
    """One line per failed workflow task found in these runs (``None``: the latest run),
    the runs that continued them and their children."""
    found: list[str] = []
    todo = sorted(runs, key=lambda r: (r[0], r[1] or ""))
    seen: set[tuple[str, str | None]] = set()
    while todo:
        workflow_id, run_id = todo.pop()
        if (workflow_id, run_id) in seen:
            continue
        seen.add((workflow_id, run_id))
        handle = client.get_workflow_handle(workflow_id, run_id=run_id)
        try:
            events = [event async for event in handle.fetch_history_events()]
        except RPCError as exc:
            if exc.status == RPCStatusCode.NOT_FOUND:
                continue  # a start that was refused: nothing ran
            raise
        for event in events:
            if event.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED:
                attrs = event.workflow_task_failed_event_attributes
                if attrs.cause in NOT_A_WORKFLOW_FAULT:
                    continue
                cause = WorkflowTaskFailedCause.Name(attrs.cause)
                found.append(
                    f"{workflow_id} (run {run_id}, event {event.event_id}): {cause}: "
                    f"{attrs.failure.message[:300]}"
                )
            elif event.event_type == EventType.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_STARTED:
                child = event.child_workflow_execution_started_event_attributes
                todo.append((child.workflow_execution.workflow_id, child.workflow_execution.run_id))
            elif event.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW:
                attrs = event.workflow_execution_continued_as_new_event_attributes
                todo.append((workflow_id, attrs.new_execution_run_id))
    return found


async def started_since(client: Client, since: datetime) -> list[tuple[str, str | None]]:
    """Every run a (visibility-capable) server started since ``since``."""
    query = f"StartTime >= '{since.isoformat()}'"
    return [(w.id, w.run_id) async for w in client.list_workflows(query)]


def report(found: list[str]) -> str:
    lines = "\n".join(f"- {line}" for line in found)
    return f"workflow tasks failed during the test:\n{lines}"
