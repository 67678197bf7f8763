"""What an incident or a crisis last published to Temporal, for when no worker answers.

A query is answered by a worker: when every worker is down, or the workflow's task waits in
a backlog, ``vigie status`` gets no answer. The server still holds what the workflow last
published: its search attributes (the fields of ``vigie list``), its title, whether its
workflow task waits and since when, and when a worker last polled its task queue. That is
what this module reads and prints, said for what it is: not the workflow's answer, and
without the timeline."""

from __future__ import annotations

import json
import sys
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

import typer
from rich.table import Table
from rich.text import Text
from temporalio.api.enums.v1 import PendingWorkflowTaskState, TaskQueueKind, TaskQueueType
from temporalio.api.taskqueue.v1 import TaskQueue
from temporalio.api.workflowservice.v1 import DescribeTaskQueueRequest
from temporalio.client import (
    Client,
    WorkflowExecution,
    WorkflowExecutionDescription,
    WorkflowExecutionStatus,
    WorkflowQueryFailedError,
    WorkflowUpdateFailedError,
)
from temporalio.service import RPCError

from starters.cli_support import err, fail, out, refuse_if_stuck
from starters.listing import cell, iso
from starters.queries import NoAnswer, ask_within, described_or_none
from workflows.search import SLA_BREACHED

T = TypeVar("T")

# `vigie status` and `vigie crisis status` exit with this when they print the published state.
PUBLISHED_EXIT = 3
Row = Callable[[WorkflowExecution], Awaitable[dict[str, Any]]]
# The command that shows each kind of workflow: an id of the other kind is pointed there.
SHOWN_BY = {"IncidentWorkflow": "vigie status", "CrisisWorkflow": "vigie crisis status"}
KIND = {"IncidentWorkflow": "an incident", "CrisisWorkflow": "a crisis"}
# The ids Vigie gives each kind start so (a crisis for an incident: crisis-incident-...).
ID_PREFIX = {"IncidentWorkflow": "incident-", "CrisisWorkflow": "crisis-"}


async def answer_or_published(
    client: Client,
    workflow_id: str,
    query: Callable[[Any], T],
    wait: float,
    row: Row,
    described: WorkflowExecutionDescription | None = None,
) -> T | dict[str, Any]:
    """The answer to ``query`` (a workflow's query method, e.g. ``IncidentWorkflow.status``)
    within about ``wait`` seconds; else what the workflow published. At once when no worker
    polled the workflow's task queue lately: no one could answer. ``described``: the
    workflow as described already (else asked here)."""
    described = described or await described_or_none(client, workflow_id)
    queue = described.task_queue if described is not None else None
    if queue is not None and await poll_times(client, queue) == []:
        reason = f"no worker polled task queue {queue} in the last minutes"
        return await published(client, workflow_id, reason, row)
    handle = client.get_workflow_handle(workflow_id)

    async def ask(rpc_timeout: timedelta) -> T:
        answer: T = await handle.query(query, rpc_timeout=rpc_timeout)
        return answer

    answer = await ask_within(ask, timedelta(seconds=wait))
    if isinstance(answer, NoAnswer):
        return await published(client, workflow_id, answer.reason, row)
    return answer


async def said_or_published(
    client: Client,
    workflow_id: str,
    query: Callable[[Any], T],
    wait: float,
    row: Row,
) -> T | dict[str, Any]:
    """``answer_or_published`` for the CLI, the workflow described once: a stuck workflow
    is said at once (exit status 1, ``refuse_if_stuck``); the id of another kind of workflow
    (a crisis's for ``vigie status``) is refused with the command that shows it (exit status
    2); a query the workflow refuses is said in one line (exit status 1)."""
    described = await described_or_none(client, workflow_id)
    if described is not None:
        refuse_other_kind(workflow_id, described.workflow_type, query.__qualname__.split(".")[0])
        await refuse_if_stuck(client, workflow_id, described)
    try:
        return await answer_or_published(client, workflow_id, query, wait, row, described)
    except WorkflowQueryFailedError as exc:
        fail(await unanswered(client, workflow_id, exc.message))


NO_HANDLER = "expected but not found"
"""What the SDK says of an Update whose name the workflow does not know."""


# Operations both kinds of workflow have: sent to the other kind's id, it would be applied
# there, so the id's kind is checked before.
BOTH_KINDS = frozenset({"request_urgent_change", "complete_urgent_change"})


async def operate_on_kind(
    client: Client,
    workflow_id: str,
    expected: str,
    send: Callable[[], Awaitable[T]],
    operation: str | None = None,
) -> T:
    """``send`` (an operation's Update); an operation the workflow does not have, because
    the id is another kind's (an incident's operation on a crisis), is refused with the
    command for that kind (exit status 2) instead of the SDK's list of handlers. An
    ``operation`` both kinds have is refused so before it is sent."""
    if operation in BOTH_KINDS:
        described = await described_or_none(client, workflow_id)
        if described is not None:
            refuse_other_kind(workflow_id, described.workflow_type, expected)
        else:  # not described (unknown, or the server did not answer): told by its id
            found = next((k for k, p in ID_PREFIX.items() if workflow_id.startswith(p)), None)
            refuse_other_kind(workflow_id, found or expected, expected)
    try:
        return await send()
    except WorkflowUpdateFailedError as exc:
        if NO_HANDLER not in str(getattr(exc.cause, "message", "")):
            raise
        described = await described_or_none(client, workflow_id)
        if described is not None:
            refuse_other_kind(workflow_id, described.workflow_type, expected)
        raise


def refuse_other_kind(workflow_id: str, found: str, expected: str) -> None:
    if found == expected:
        return
    command = SHOWN_BY.get(found)
    shown = f": use `{command} {workflow_id}`" if command else ""
    said = KIND.get(found, f"a {found}")
    fail(f"{workflow_id} is {said}, not {KIND.get(expected, expected)}{shown}", 2)


async def unanswered(client: Client, workflow_id: str, message: str) -> str:
    """Why a workflow's query failed, for people: a workflow that ended before it finished
    opening (cancelled or terminated at once) has nothing to show, and will never have."""
    try:
        status = (await client.get_workflow_handle(workflow_id).describe()).status
    except RPCError:
        status = None
    if status not in (None, WorkflowExecutionStatus.RUNNING) and "still opening" in message:
        name = status.name.lower().replace("_", " ")
        return (
            f"{workflow_id} ended ({name}) before it finished opening: it has nothing to "
            "show, and it sent nothing"
        )
    return f"{workflow_id} could not answer: {message}"


async def published(
    client: Client,
    workflow_id: str,
    reason: str,
    row: Row,
) -> dict[str, Any]:
    """The workflow's row as ``vigie list`` gives it, and why it is given instead of an
    answer: the run's status, its waiting workflow task, the last poll of its task queue."""
    described = await client.get_workflow_handle(workflow_id).describe()
    raw = described.raw_description
    found = await row(described)
    found.update(
        answered_by="search_attributes",
        reason=reason,
        workflow=described.status.name.lower() if described.status else "unknown",
        workflow_task="none",
        workflow_task_since=None,
        task_queue=described.task_queue,
        last_poll=await last_poll(client, described.task_queue),
    )
    if found.get("breached") is False and SLA_BREACHED not in described.typed_search_attributes:
        found["breached"] = None  # not published yet: unknown, not "no"
    running = described.status == WorkflowExecutionStatus.RUNNING
    if running and raw.HasField("pending_workflow_task"):  # a closed run keeps its last one
        task = raw.pending_workflow_task
        started = task.state == PendingWorkflowTaskState.PENDING_WORKFLOW_TASK_STATE_STARTED
        found["workflow_task"] = (
            f"{'running on a worker' if started else 'waiting for a worker'}, "
            f"attempt {task.attempt}"
        )
        since = task.started_time if started else task.scheduled_time
        if since.ByteSize():
            found["workflow_task_since"] = since.ToDatetime(tzinfo=UTC)
    return found


async def poll_times(client: Client, task_queue: str) -> list[datetime] | None:
    """When each worker last polled the task queue for workflow tasks (the server remembers
    the pollers of the last minutes); None when it cannot be told."""
    request = DescribeTaskQueueRequest(
        namespace=client.namespace,
        task_queue=TaskQueue(name=task_queue, kind=TaskQueueKind.TASK_QUEUE_KIND_NORMAL),
        task_queue_type=TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW,
    )
    try:
        described = await client.workflow_service.describe_task_queue(request)
    except RPCError:
        return None
    return [p.last_access_time.ToDatetime(tzinfo=UTC) for p in described.pollers]


async def last_poll(client: Client, task_queue: str) -> datetime | None:
    """When a worker last polled the task queue; None when none did, or it cannot be told."""
    return max(await poll_times(client, task_queue) or [], default=None)


def show_answer(
    found: T | dict[str, Any],
    show: Callable[[T, bool], None],
    columns: tuple[str, ...],
    *,
    as_json: bool,
    when: Callable[[datetime | None], str],
) -> None:
    """The workflow's answer as ``show`` prints it; else what it published, and exit status
    3 (``answer_or_published``)."""
    if isinstance(found, dict):
        show_published(found, columns, as_json=as_json, when=when)
        raise typer.Exit(PUBLISHED_EXIT)
    show(found, as_json)


def show_published(
    found: dict[str, Any],
    columns: tuple[str, ...],
    *,
    as_json: bool,
    when: Callable[[datetime | None], str],
) -> None:
    """A warning on stderr, then the published fields: JSON (ISO 8601 times) or a table."""
    workflow_id = found[columns[0]]
    err.print(
        Text.assemble(
            ("warning:", "bold yellow"),
            f" {workflow_id} did not answer ({found['reason']}). What follows is the state "
            "it last published to Temporal (search attributes), not the rest of its view "
            "(timeline, ...); exit status 3.",
        ),
        highlight=False,
    )
    if as_json:
        print(json.dumps(found, ensure_ascii=False, indent=2, default=iso))
        return
    polled = found["last_poll"]
    waiting = found["workflow_task"]
    rows = [(key.replace("_", " "), found[key]) for key in columns]
    rows += [
        ("workflow", found["workflow"]),
        ("workflow task", waiting),
        ("workflow task since", found["workflow_task_since"]),
        ("task queue", found["task_queue"]),
        ("last poll", polled if polled is not None else "none in the last minutes"),
    ]
    if not sys.stdout.isatty():  # a pipe: one tab-separated line per field, never folded
        for label, value in rows:
            print(f"{label}\t{iso(value).replace(chr(9), ' ')}")
        return
    table = Table(show_header=False, box=None, pad_edge=False)
    for label, value in rows:
        table.add_row(Text(label, style="bold"), cell(value, when))
    out.print(table)
