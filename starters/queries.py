"""Asks a workflow a query, again when it met a continue-as-new.

A query that arrives while the workflow continues as new can be handed to the run that just
completed; the server then lets it time out (DEADLINE_EXCEEDED). Asked again, the new run
answers. Queries change nothing, so asking again is always safe."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar

from temporalio.service import RPCError, RPCStatusCode

T = TypeVar("T")

ATTEMPTS = 3


async def ask(
    query: Callable[[], Awaitable[T]],
    *,
    attempts: int = ATTEMPTS,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
) -> T:
    for attempt in range(1, attempts + 1):
        try:
            return await query()
        except RPCError as exc:
            if exc.status != RPCStatusCode.DEADLINE_EXCEEDED or attempt == attempts:
                raise
        await sleep(0.5)
    raise AssertionError("unreachable")  # the loop returns or raises
