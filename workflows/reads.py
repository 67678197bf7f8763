"""The policy and the escalation matrix, as the worker running the workflow reads them.

Both are files on the worker. A local activity reads them inside the workflow task that asks,
with no round trip through the server: per read, one activity task and one workflow task
fewer, and six history events fewer (an opening incident went from 32 events to 28). The
answer is recorded in the history as before (in a marker), so a replay never reads the files
again. Workflows started before ``LOCAL_READS`` read them with ordinary activities, and keep
doing so when replayed.
"""

from __future__ import annotations

from datetime import timedelta
from typing import TypeVar

from temporalio import workflow
from temporalio.common import RetryPolicy

with workflow.unsafe.imports_passed_through():
    from activities.models import LoadMatrixInput, LoadPolicyInput, LoadPolicyResult
    from workflows import versions
    from workflows.matrix import EscalationMatrix

LOCAL_READS = "policy-read-locally"
TIMEOUT = timedelta(seconds=30)

T = TypeVar("T")


async def _read(
    name: str, arg: object, result_type: type[T], retry_policy: RetryPolicy | None
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
    )


async def read_policy(key: str) -> LoadPolicyResult:
    """The current policy (the last valid one, with a warning, when the file is broken)."""
    return await _read("load_policy", LoadPolicyInput(incident_id=key), LoadPolicyResult, None)


async def read_matrix(key: str, retry_policy: RetryPolicy | None = None) -> EscalationMatrix:
    """The current escalation matrix. Without ``retry_policy`` a broken file is read again
    until it is fixed."""
    return await _read(
        "load_escalation_matrix", LoadMatrixInput(crisis_id=key), EscalationMatrix, retry_policy
    )
