"""The policy and the escalation matrix, as the worker running the workflow reads them.

They are read by ordinary activities. For a while new workflows read them with local
activities (patch ``LOCAL_READS``): inside the workflow task that asks, with no activity task
and no workflow task of their own. That made an SDK issue with Updates handled on cold-started
tasks far more likely (README, "What is not guaranteed"), so the patch is withdrawn
(``versions.WITHDRAWN``): new workflows do not take it, and the workflows that took it still
replay their local reads.
"""

from __future__ import annotations

from datetime import timedelta
from typing import TypeVar

from temporalio import workflow
from temporalio.common import Priority, RetryPolicy

with workflow.unsafe.imports_passed_through():
    from activities.models import LoadMatrixInput, LoadPolicyInput, LoadPolicyResult
    from workflows import urgency, versions
    from workflows.matrix import EscalationMatrix

LOCAL_READS = "policy-read-locally"
TIMEOUT = timedelta(seconds=30)

T = TypeVar("T")


async def _read(
    name: str,
    arg: object,
    result_type: type[T],
    retry_policy: RetryPolicy | None,
    priority: Priority = urgency.ROUTINE,
) -> T:
    if versions.patched(LOCAL_READS):
        return await workflow.execute_local_activity(
            name,
            arg,
            result_type=result_type,
            start_to_close_timeout=TIMEOUT,
            retry_policy=retry_policy,
        )
    return await workflow.execute_activity(
        name,
        arg,
        result_type=result_type,
        start_to_close_timeout=TIMEOUT,
        retry_policy=retry_policy,
        priority=priority,
    )


async def read_policy(key: str, priority: Priority = urgency.ROUTINE) -> LoadPolicyResult:
    """The current policy (the last valid one, with a warning, when the file is broken)."""
    return await _read(
        "load_policy", LoadPolicyInput(incident_id=key), LoadPolicyResult, None, priority
    )


async def read_matrix(
    key: str, retry_policy: RetryPolicy | None = None, priority: Priority = urgency.ROUTINE
) -> EscalationMatrix:
    """The current escalation matrix. Without ``retry_policy`` a broken file is read again
    until it is fixed."""
    return await _read(
        "load_escalation_matrix",
        LoadMatrixInput(crisis_id=key),
        EscalationMatrix,
        retry_policy,
        priority,
    )
