"""Condition waits that end in cancellation only when their own task is cancelled.

Workers apply each activation's jobs as one batch (``apply_activation_in_one_batch`` in
``workers.worker``). In that order the SDK also raises ``CancelledError`` out of every
condition wait that began before the workflow was asked to cancel and ends after: in the
incident's and the crisis's senders too, which must stay up to send the mail that tells the
cancellation. ``wait_until`` waits again in that case; the run's own task, which the SDK
cancels, still ends."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import timedelta

from temporalio import workflow


async def wait_until(
    fn: Callable[[], bool],
    *,
    timeout: timedelta | None = None,  # noqa: ASYNC109 (a durable timer, as wait_condition)
    timeout_summary: str | None = None,
) -> None:
    """``workflow.wait_condition``; raises ``TimeoutError`` after ``timeout``, and
    ``CancelledError`` only when the calling task itself is cancelled."""
    ends = None if timeout is None else workflow.now() + timeout
    while True:
        left = None if ends is None else ends - workflow.now()
        if left is not None and left <= timedelta(0):
            raise TimeoutError()
        try:
            await workflow.wait_condition(  # noqa: TID251 (the one place it is called)
                fn, timeout=left, timeout_summary=timeout_summary
            )
            return
        except asyncio.CancelledError:
            task = asyncio.current_task()
            if task is None or task.cancelling():
                raise
            # The workflow's cancellation reached a wait of another task than the run's.
