"""Horizontal scaling: two worker processes on one task queue share the incidents."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

from temporalio.testing import WorkflowEnvironment

from starters.dev.smtp_sink import MailSink
from tests.conftest import BIN
from tests.helpers import open_incident
from workers.settings import Settings
from workers.worker import build_worker
from workflows.incident import IncidentWorkflow
from workflows.models import AcknowledgeInput, CloseInput, ResolveInput


async def test_two_workers_share_incidents(
    dev_env: WorkflowEnvironment, settings: Settings, sink: MailSink, config_dir: Path
) -> None:
    client = dev_env.client
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("VIGIE_", "TEMPORAL_"))},
        "TEMPORAL_ADDRESS": client.service_client.config.target_host,
        "VIGIE_TASK_QUEUE": settings.task_queue,
        "VIGIE_CONFIG_DIR": str(config_dir),
        "VIGIE_SMTP_PORT": str(sink.port),
        "VIGIE_SMTP_HOST": sink.host,
    }
    other = await asyncio.create_subprocess_exec(
        str(BIN / "vigie"), "worker", env=env, stderr=asyncio.subprocess.PIPE
    )
    assert other.stderr is not None
    seen = b""
    while b"worker polling" not in seen:
        line = await asyncio.wait_for(other.stderr.readline(), 30)
        assert line, seen
        seen += line
    try:
        async with build_worker(client, settings):
            handles = [await open_incident(client, settings.task_queue) for _ in range(12)]
            for handle in handles:
                await handle.execute_update(IncidentWorkflow.acknowledge, AcknowledgeInput(by="a"))
                await handle.execute_update(
                    IncidentWorkflow.resolve, ResolveInput(by="a", resolution="ok")
                )
                await handle.execute_update(IncidentWorkflow.close, CloseInput(by="a"))
            results = await asyncio.gather(*(h.result() for h in handles))
            assert all(r.status == "closed" for r in results)
            identities: set[str] = set()
            for handle in handles:
                async for event in handle.fetch_history_events():
                    if event.HasField("activity_task_started_event_attributes"):
                        identities.add(event.activity_task_started_event_attributes.identity)
                    if event.HasField("workflow_task_started_event_attributes"):
                        identities.add(event.workflow_task_started_event_attributes.identity)
        assert len(identities - {""}) == 2, identities  # both workers took part
        assert len(sink.messages) >= 12 * 4
    finally:
        other.terminate()
        assert await asyncio.wait_for(other.wait(), 30) == 0
