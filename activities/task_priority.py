"""Changes a workflow's task queue priority on the server (UpdateWorkflowExecutionOptions).

An incident that becomes a P1 goes ahead of the others in a backlog, one that stops being
one goes back among them (workflows.urgency). The server gives the new key to the tasks
scheduled after the change and to the next run of a continue-as-new.

The change is made to the run that asked for it, and only when the key on the server is
still the one the workflow knows: a run already closed, or a key that someone set from the
Temporal UI or CLI meanwhile, is left as it is. The fairness key and weight are the server's.
The key is read again afterwards: a server that refuses the call, or takes it and keeps the
former key (one before 1.30 may), changes nothing else, and the worker's log says so."""

from __future__ import annotations

import logging
from datetime import timedelta

from google.protobuf.field_mask_pb2 import FieldMask
from temporalio import activity
from temporalio.api.common.v1 import Priority, WorkflowExecution
from temporalio.api.enums.v1 import WorkflowExecutionStatus
from temporalio.api.workflow.v1 import WorkflowExecutionOptions
from temporalio.api.workflowservice.v1 import (
    DescribeWorkflowExecutionRequest,
    UpdateWorkflowExecutionOptionsRequest,
)
from temporalio.client import Client
from temporalio.service import RPCError, RPCStatusCode

from activities.models import SetTaskPriorityInput

log = logging.getLogger("vigie.task_priority")

RPC_TIMEOUT = timedelta(seconds=5)
RUNNING = WorkflowExecutionStatus.WORKFLOW_EXECUTION_STATUS_RUNNING
# Answers worth another attempt (the activity's retry policy bounds them); any other is final.
PASSING = frozenset(
    {
        RPCStatusCode.UNAVAILABLE,
        RPCStatusCode.DEADLINE_EXCEEDED,
        RPCStatusCode.RESOURCE_EXHAUSTED,
        RPCStatusCode.ABORTED,
        RPCStatusCode.INTERNAL,
        RPCStatusCode.UNKNOWN,
        RPCStatusCode.CANCELLED,
    }
)


def key_of(priority: Priority) -> int | None:
    """A priority's key; None for the server's default (0 on the wire)."""
    return priority.priority_key or None


def options_request(
    namespace: str, execution: WorkflowExecution, key: int | None, current: Priority
) -> UpdateWorkflowExecutionOptionsRequest:
    """The request that gives the run ``key`` and keeps the rest of its ``current`` priority."""
    return UpdateWorkflowExecutionOptionsRequest(
        namespace=namespace,
        workflow_execution=execution,
        workflow_execution_options=WorkflowExecutionOptions(
            priority=Priority(
                priority_key=key or 0,  # 0: unset, the server's default
                fairness_key=current.fairness_key,
                fairness_weight=current.fairness_weight,
            )
        ),
        update_mask=FieldMask(paths=["priority"]),
    )


class TaskPriorityActivities:
    def __init__(self, client: Client) -> None:
        self._client = client

    async def _current(self, execution: WorkflowExecution) -> tuple[Priority, bool]:
        """The run's priority on the server, and whether it is still running."""
        described = await self._client.workflow_service.describe_workflow_execution(
            DescribeWorkflowExecutionRequest(namespace=self._client.namespace, execution=execution),
            timeout=RPC_TIMEOUT,
        )
        info = described.workflow_execution_info
        return info.priority, info.status == RUNNING

    @activity.defn(name="set_task_priority")
    async def set_task_priority(self, input: SetTaskPriorityInput) -> bool:
        """True when the run has the new key; False, logged, when it was left as it was."""
        execution = WorkflowExecution(workflow_id=input.workflow_id, run_id=input.run_id or "")
        wanted = f"key {input.priority_key or 'default'}"

        def left(why: str) -> bool:
            log.warning("task queue priority of %s not changed to %s: %s", input.workflow_id,
                        wanted, why)  # fmt: skip
            return False

        try:
            current, running = await self._current(execution)
            if not running:
                return left("the run is closed")
            if key_of(current) != input.expected_key:
                return left(f"key {key_of(current)} was set otherwise, and is left as it is")
            request = options_request(
                self._client.namespace, execution, input.priority_key, current
            )
            await self._client.workflow_service.update_workflow_execution_options(
                request, timeout=RPC_TIMEOUT
            )
            after, _ = await self._current(execution)
        except RPCError as exc:
            if exc.status in PASSING:
                raise
            return left(f"{exc.message} ({exc.status.name})")
        if key_of(after) != input.priority_key:
            return left(f"the server kept key {key_of(after) or 'default'} (before 1.30?)")
        return True
