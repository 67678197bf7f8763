"""Runs ASGI apps (webhook receiver, Opsgenie stand-in) inside an asyncio program."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import uvicorn


@asynccontextmanager
async def serving(
    app: Any, host: str, port: int, log_level: str = "warning"
) -> AsyncIterator[None]:
    server = uvicorn.Server(
        uvicorn.Config(app, host=host, port=port, log_level=log_level, lifespan="off")
    )
    # The embedding program owns SIGINT/SIGTERM and stops the server itself.
    server.capture_signals = contextlib.nullcontext  # type: ignore[method-assign,assignment]
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()  # raises why it could not start (port taken...)
            raise RuntimeError(f"server on {host}:{port} stopped at start")
        await asyncio.sleep(0.02)
    try:
        yield
    finally:
        server.should_exit = True
        await task
