"""Vigie's processes as a person runs them (``vigie worker``, ``vigie webhook``, the CLI), and a
Temporal dev server of their own on a database file, to stop, kill and start again."""

from __future__ import annotations

import asyncio
import os
import signal
from pathlib import Path
from types import TracebackType

from temporalio.api.workflowservice.v1 import GetSystemInfoRequest
from temporalio.client import Client
from temporalio.service import RPCError

from tests.conftest import BIN, free_port
from workers.settings import Settings
from workflows.search import dev_server_flags


def vigie_env(address: str, settings: Settings, **extra: str) -> dict[str, str]:
    """The environment of a Vigie process: this server, this task queue, this mail sink."""
    inherited = {k: v for k, v in os.environ.items() if not k.startswith(("VIGIE_", "TEMPORAL_"))}
    return {
        **inherited,
        "TEMPORAL_ADDRESS": address,
        "VIGIE_TASK_QUEUE": settings.task_queue,
        "VIGIE_CONFIG_DIR": str(settings.config_dir),
        "VIGIE_SMTP_HOST": settings.smtp_host,
        "VIGIE_SMTP_PORT": str(settings.smtp_port),
        "VIGIE_MAIL_FROM": settings.mail_from,
        **extra,
    }


class Worker:
    """``vigie worker`` in its own process."""

    def __init__(self, env: dict[str, str]) -> None:
        self.env = env
        self.process: asyncio.subprocess.Process | None = None

    async def start(self) -> Worker:
        self.process = await asyncio.create_subprocess_exec(
            str(BIN / "vigie"), "worker", env=self.env, stderr=asyncio.subprocess.PIPE
        )
        assert self.process.stderr is not None
        seen = b""
        while b"worker polling" not in seen:
            line = await asyncio.wait_for(self.process.stderr.readline(), 60)
            assert line, seen.decode()
            seen += line
        self._drain = asyncio.create_task(self.process.stderr.read())  # never blocks on a pipe
        return self

    async def kill(self) -> None:
        """SIGKILL: no chance to finish anything."""
        assert self.process is not None
        self.process.kill()
        await self.process.wait()

    async def stop(self) -> int:
        """SIGTERM, the way a supervisor stops it; its exit status."""
        assert self.process is not None
        self.process.send_signal(signal.SIGTERM)
        return await asyncio.wait_for(self.process.wait(), 60)

    async def __aenter__(self) -> Worker:
        return await self.start()

    async def __aexit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self.process is not None and self.process.returncode is None:
            await self.kill()


class DevServer:
    """``temporal server start-dev`` on a database file: stopped and started again, it keeps
    its workflows, timers and task queues."""

    def __init__(self, db: Path) -> None:
        self.db = db
        self.port = free_port()
        self.process: asyncio.subprocess.Process | None = None

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    async def start(self) -> None:
        self.process = await asyncio.create_subprocess_exec(
            str(BIN / "temporal"), "server", "start-dev", "--headless", "--log-level", "error",
            "--db-filename", str(self.db), "--port", str(self.port), *dev_server_flags(),
            stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL,
        )  # fmt: skip
        # Ready when its frontend answers, not when its port is open ("Frontend is not healthy
        # yet" comes in between).
        last: Exception | None = None
        for _ in range(300):
            try:
                client = await Client.connect(self.address)
                await client.workflow_service.get_system_info(GetSystemInfoRequest())
                return
            except (RuntimeError, RPCError) as exc:
                last = exc
                await asyncio.sleep(0.1)
        raise AssertionError(f"the dev server did not start: {last}")

    async def stop(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGTERM)
        await asyncio.wait_for(self.process.wait(), 60)

    async def __aenter__(self) -> DevServer:
        await self.start()
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self.process is not None and self.process.returncode is None:
            self.process.kill()
            await self.process.wait()
