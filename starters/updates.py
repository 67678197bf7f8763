"""Sends an Update so that a transient failure never loses or doubles it.

An Update that meets a busy or restarting server, or a workflow task that failed while the
workflow continued as new, can fail before the workflow saw it or after it applied it; the
caller cannot tell which. It is sent again under the same Update id: the server answers a
known id with the first outcome, and the workflows apply an id once (``applied_updates``).
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from pydantic import BaseModel
from temporalio.client import WorkflowHandle, WorkflowUpdateRPCTimeoutOrCancelledError
from temporalio.service import RPCError, RPCStatusCode

T = TypeVar("T")

RESEND_ON = frozenset(
    {
        RPCStatusCode.UNAVAILABLE,
        RPCStatusCode.ABORTED,
        RPCStatusCode.DEADLINE_EXCEEDED,
        RPCStatusCode.RESOURCE_EXHAUSTED,
        RPCStatusCode.INTERNAL,
        RPCStatusCode.UNKNOWN,
    }
)
"""Answers after which the Update may or may not have been applied: sent again."""

NOT_READY = "WorkflowNotReadyFailure"
"""The detail of a FAILED_PRECONDITION answer to an Update that met a failed workflow task
(new events while the workflow continued as new): the next task takes it."""


def transient(exc: RPCError) -> bool:
    if exc.status in RESEND_ON:
        return True
    if exc.status != RPCStatusCode.FAILED_PRECONDITION:
        return False
    try:
        details = exc.grpc_status.details
    except Exception:  # an answer without parsable details is not the one above
        return False
    return any(d.type_url.endswith(NOT_READY) for d in details)


ATTEMPTS = 6
FIRST_WAIT = 0.5  # seconds, doubled after each attempt up to MAX_WAIT
MAX_WAIT = 5.0


def new_update_id(operation: str) -> str:
    return f"{operation}-{uuid.uuid4().hex}"


async def send_update(
    handle: WorkflowHandle[Any, Any],
    operation: str,
    input: BaseModel,
    result_type: type[T],
    *,
    update_id: str | None = None,
    attempts: int = ATTEMPTS,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
) -> T:
    """``execute_update`` under one id, sent again after a transient failure. A refusal by
    the workflow (``WorkflowUpdateFailedError``) and a final RPC answer raise at once."""
    update_id = update_id or new_update_id(operation)
    wait = FIRST_WAIT
    for attempt in range(1, attempts + 1):
        try:
            result: T = await handle.execute_update(
                operation, input, id=update_id, result_type=result_type
            )
            return result
        except WorkflowUpdateRPCTimeoutOrCancelledError as exc:
            if isinstance(exc.__cause__, asyncio.CancelledError) or attempt == attempts:
                raise  # the caller's own cancellation (Ctrl-C) is not sent again
        except RPCError as exc:
            if not transient(exc) or attempt == attempts:
                raise
        await sleep(wait)
        wait = min(wait * 2, MAX_WAIT)
    raise AssertionError("unreachable")  # the loop returns or raises
