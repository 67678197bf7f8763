"""Small helpers of the fault cases."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, TypeVar

from temporalio.client import Client, WorkflowHandle
from temporalio.common import WorkflowIDReusePolicy
from temporalio.service import RPCError, RPCStatusCode

from workflows.crisis import CrisisWorkflow
from workflows.crisis_models import CrisisInput, CrisisView

T = TypeVar("T")


def run_examples(
    loop: asyncio.AbstractEventLoop, body: Callable[..., Coroutine[Any, Any, None]]
) -> Callable[..., None]:
    """A synchronous function for ``@given`` that runs ``body`` on the test's event loop.

    Hypothesis then runs in a thread (``asyncio.to_thread``) while the loop keeps serving the
    worker, so that a test can check everything once all the examples have run."""

    def run(*args: Any, **kwargs: Any) -> None:
        asyncio.run_coroutine_threadsafe(body(*args, **kwargs), loop).result(timeout=120)

    return run


async def until(check: Callable[[], Awaitable[T | None]], within: float = 30.0) -> T:
    """Polls an async ``check`` until it returns something truthy (real time)."""
    deadline = asyncio.get_running_loop().time() + within
    last: T | None = None
    while True:
        try:
            last = await check()
        except AssertionError:
            last = None
        if last:
            return last
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"not reached within {within} s; last: {last!r}")
        await asyncio.sleep(0.1)


async def crisis_view(handle: WorkflowHandle[Any, Any]) -> CrisisView | None:
    """The crisis as it stands, or None while it is still opening."""
    try:
        view: CrisisView = await handle.query(CrisisWorkflow.status)
    except Exception:
        return None
    return view


async def open_crisis(
    client: Client, task_queue: str, **fields: Any
) -> WorkflowHandle[CrisisWorkflow, CrisisView]:
    values: dict[str, Any] = {"title": "Datacenter power loss", "opened_by": "im"}
    values.update(fields)
    handle = await client.start_workflow(
        CrisisWorkflow.run,
        CrisisInput(**values),
        id=f"crisis-faults-{uuid.uuid4().hex[:10]}",
        task_queue=task_queue,
        id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
    )
    await until(lambda: crisis_view(handle))
    return handle


def closed(exc: RPCError) -> bool:
    """The workflow is over (an accepted operation closed it)."""
    return exc.status == RPCStatusCode.NOT_FOUND
