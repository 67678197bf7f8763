"""Changes a workflow's task queue priority on the server (UpdateWorkflowExecutionOptions).

An incident that becomes a P1 goes ahead of the others in a backlog, one that stops being
one goes back among them (workflows.urgency). The server copies the priority to the tasks
scheduled after the change and to the next run of a continue-as-new. A server older than
1.30 does not know the field and refuses it: the priority stays as it was, the worker's log
says why, and nothing else changes."""

from __future__ import annotations

import logging

from google.protobuf.field_mask_pb2 import FieldMask
from temporalio import activity
from temporalio.api.common.v1 import Priority, WorkflowExecution
from temporalio.api.workflow.v1 import WorkflowExecutionOptions
from temporalio.api.workflowservice.v1 import UpdateWorkflowExecutionOptionsRequest
from temporalio.client import Client
from temporalio.service import RPCError, RPCStatusCode

from activities.models import SetTaskPriorityInput

log = logging.getLogger("vigie.task_priority")

# Answers worth another attempt (the activity's retry policy bounds them); any other is final.
PASSING = frozenset(
    {
        RPCStatusCode.UNAVAILABLE,
        RPCStatusCode.DEADLINE_EXCEEDED,
        RPCStatusCode.RESOURCE_EXHAUSTED,
        RPCStatusCode.ABORTED,
        RPCStatusCode.INTERNAL,
        RPCStatusCode.UNKNOWN,
    }
)


def options_request(
    namespace: str, input: SetTaskPriorityInput
) -> UpdateWorkflowExecutionOptionsRequest:
    """The request that sets the whole priority of the workflow's current run."""
    return UpdateWorkflowExecutionOptionsRequest(
        namespace=namespace,
        workflow_execution=WorkflowExecution(workflow_id=input.workflow_id),
        workflow_execution_options=WorkflowExecutionOptions(
            priority=Priority(
                priority_key=input.priority_key or 0,  # 0: unset, the server's default
                fairness_key=input.fairness_key or "",
                fairness_weight=input.fairness_weight or 0.0,
            )
        ),
        update_mask=FieldMask(paths=["priority"]),
    )


class TaskPriorityActivities:
    def __init__(self, client: Client) -> None:
        self._client = client

    @activity.defn(name="set_task_priority")
    async def set_task_priority(self, input: SetTaskPriorityInput) -> bool:
        """True when the server took the new priority; False when it refused it for good
        (an older server, a workflow already closed), logged with the server's answer."""
        request = options_request(self._client.namespace, input)
        try:
            await self._client.workflow_service.update_workflow_execution_options(request)
        except RPCError as exc:
            if exc.status in PASSING:
                raise
            log.warning(
                "task queue priority of %s not changed to key %s: %s (%s)",
                input.workflow_id,
                input.priority_key or "default",
                exc.message,
                exc.status.name,
            )
            return False
        return True
