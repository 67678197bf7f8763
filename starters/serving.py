"""Runs ASGI apps (webhook receiver, Opsgenie stand-in) inside an asyncio program."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import uvicorn

from workers.settings import Settings


@dataclass(frozen=True)
class ServerLimits:
    """What senders may hold of the server. Bodies have their own read timeout in the app
    (uvicorn has none); headers are bounded in size by h11 (16 KiB)."""

    keep_alive_seconds: int = 5
    """An idle kept-alive connection is closed after this long."""
    max_connections: int = 256
    """Connections and requests in flight; beyond, uvicorn answers 503 at once."""
    shutdown_seconds: int = 10
    """On stop, requests in flight get this long to finish."""


def webhook_limits(settings: Settings) -> ServerLimits:
    return ServerLimits(
        keep_alive_seconds=settings.webhook_keep_alive_seconds,
        max_connections=settings.webhook_max_connections,
    )


@asynccontextmanager
async def serving(
    app: Any, host: str, port: int, log_level: str = "warning", limits: ServerLimits | None = None
) -> AsyncIterator[None]:
    limits = limits or ServerLimits()
    server = uvicorn.Server(
        uvicorn.Config(
            app,
            host=host,
            port=port,
            log_level=log_level,
            lifespan="off",
            timeout_keep_alive=limits.keep_alive_seconds,
            limit_concurrency=limits.max_connections,
            timeout_graceful_shutdown=limits.shutdown_seconds,
        )
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
