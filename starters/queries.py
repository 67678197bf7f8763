"""Asks a workflow a query in a bounded time, again when it met a continue-as-new; tells a
stuck workflow.

A query that arrives while the workflow continues as new can be handed to the run that just
completed; the server then lets it time out (DEADLINE_EXCEEDED, or the client's RPC timeout
first). Asked again, the new run answers. Queries change nothing, so asking again is always
safe."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TypeVar

from temporalio.api.common.v1 import WorkflowExecution
from temporalio.api.enums.v1 import EventType
from temporalio.api.workflowservice.v1 import GetWorkflowExecutionHistoryReverseRequest
from temporalio.client import Client, WorkflowExecutionDescription
from temporalio.service import RPCError, RPCStatusCode

from workflows.limits import clip, one_line

T = TypeVar("T")

ATTEMPTS = 3
REASON_CHARS = 300
# What the server says when no worker polled the task queue lately, and what the SDK says
# when a call's RPC timeout expires.
NO_POLLER = "no poller seen"
CLIENT_TIMEOUT = "Timeout expired"


@dataclass(frozen=True)
class NoAnswer:
    """No worker answered the query in time: why, in a few words."""

    reason: str


async def ask_within(
    query: Callable[[timedelta], Awaitable[T]],
    wait: timedelta,
    *,
    attempts: int = ATTEMPTS,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
) -> T | NoAnswer:
    """The query's answer within about ``wait``, asked up to ``attempts`` times: each attempt
    but the last gets two thirds of the time left as RPC timeout (a slow answer, such as a
    long replay, has most of the wait; a query lost to a continue-as-new, time to be asked
    again), the last all of it. ``NoAnswer`` when none came (every worker down, or the
    workflow's task waiting in a backlog), or at once when the server says no worker polls
    the task queue. Other refusals (unknown workflow, closed before its first task, ...)
    raise."""
    loop = asyncio.get_running_loop()
    end = loop.time() + wait.total_seconds()
    for attempt in range(1, attempts + 1):
        left = end - loop.time()
        share = left if attempt == attempts else left * 2 / 3
        try:
            return await query(timedelta(seconds=max(share, 0.1)))
        except RPCError as exc:
            if exc.status == RPCStatusCode.FAILED_PRECONDITION and NO_POLLER in exc.message:
                return NoAnswer(clip(one_line(exc.message), REASON_CHARS))
            if not timed_out(exc):
                raise
        if attempt < attempts and end - loop.time() > 1:
            await sleep(0.5)
        elif attempt < attempts:
            break
    return NoAnswer(f"no answer within {wait.total_seconds():g} s")


def timed_out(exc: RPCError) -> bool:
    """The server's deadline, or the client's RPC timeout (which the SDK gives as CANCELLED,
    "Timeout expired"); not a call cancelled otherwise."""
    if exc.status == RPCStatusCode.DEADLINE_EXCEEDED:
        return True
    return exc.status == RPCStatusCode.CANCELLED and exc.message == CLIENT_TIMEOUT


# A workflow task on its third attempt (it failed or timed out twice in a row): stuck.
STUCK_AFTER = 3


@dataclass(frozen=True)
class Stuck:
    """A workflow whose current workflow task keeps failing: its queries wait and time out."""

    failures: int  # in a row, the current attempt not counted
    since: datetime | None
    reason: str


async def described_or_none(
    client: Client, workflow_id: str
) -> WorkflowExecutionDescription | None:
    """The workflow as the server describes it; None when unknown or unreachable (the query
    that follows says which)."""
    try:
        return await client.get_workflow_handle(workflow_id).describe()
    except RPCError:
        return None


async def stuck(
    client: Client, workflow_id: str, described: WorkflowExecutionDescription | None = None
) -> Stuck | None:
    """Whether the workflow's current task has failed ``STUCK_AFTER`` times or more, with
    the last failure recorded in its history. None when it is not, or cannot be told.
    ``described``: the workflow as described already (else asked here)."""
    described = described or await described_or_none(client, workflow_id)
    if described is None:
        return None
    raw = described.raw_description
    if not raw.HasField("pending_workflow_task"):
        return None
    pending = raw.pending_workflow_task
    if pending.attempt < STUCK_AFTER:
        return None
    since = (
        pending.original_scheduled_time.ToDatetime(tzinfo=UTC)
        if pending.HasField("original_scheduled_time")
        else None
    )
    return Stuck(pending.attempt - 1, since, await _last_task_failure(client, workflow_id))


async def _last_task_failure(client: Client, workflow_id: str) -> str:
    """The last failed (or timed-out) workflow task of the history, on one bounded line."""
    request = GetWorkflowExecutionHistoryReverseRequest(
        namespace=client.namespace,
        execution=WorkflowExecution(workflow_id=workflow_id),
        maximum_page_size=100,
    )
    try:
        page = await client.workflow_service.get_workflow_execution_history_reverse(request)
    except RPCError:
        return "no failure could be read from its history"
    for event in page.history.events:
        if event.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_TIMED_OUT:
            return "the workflow task timed out (no worker finished it in time)"
        if event.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED:
            failure = event.workflow_task_failed_event_attributes.failure
            text = failure.message
            if failure.HasField("cause") and failure.cause.message:
                text = f"{text}: {failure.cause.message}"
            return clip(one_line(text), REASON_CHARS)
    return "no failure in the latest events of its history"
