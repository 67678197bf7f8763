"""Prometheus metrics: the worker's (SDK and Vigie counters) and the webhook receiver's."""

from __future__ import annotations

import json
import re
from datetime import timedelta
from pathlib import Path

import httpx
from temporalio.testing import WorkflowEnvironment

from starters.dev.smtp_sink import MailSink
from tests.conftest import free_port
from tests.helpers import advance, eventually, open_incident, status
from tests.test_webhook_receiver import RecordingGateway
from workers.connection import connect, metrics_runtime
from workers.settings import Settings
from workers.worker import build_worker


def sample(text: str, name: str, **labels: str) -> float:
    """The value of one sample in Prometheus text format (0 when absent)."""
    total = 0.0
    for line in text.splitlines():
        if not line.startswith(name) or line.startswith("#"):
            continue
        match = re.match(rf"^{name}(?:_total)?(?:\{{(.*)\}})? ([0-9.e+-]+)$", line)
        if not match:
            continue
        found = dict(re.findall(r'(\w+)="([^"]*)"', match.group(1) or ""))
        if all(found.get(k) == v for k, v in labels.items()):
            total += float(match.group(2))
    return total


async def test_worker_metrics_show_vigie_counters_moving(
    skipping_env: WorkflowEnvironment, settings: Settings, sink: MailSink
) -> None:
    port = free_port()
    address = skipping_env.client.service_client.config.target_host
    cfg = settings.model_copy(update={"temporal_address": address})
    client = await connect(cfg, metrics_runtime(f"127.0.0.1:{port}"))

    async def scrape() -> str:
        async with httpx.AsyncClient() as http:
            return (await http.get(f"http://127.0.0.1:{port}/metrics")).text

    async with build_worker(client, cfg):
        handle = await open_incident(client, cfg.task_queue)
        await status(handle)
        await advance(skipping_env, timedelta(minutes=16))
        await eventually(lambda: len(sink.about(handle.id)) >= 3)
        text = ""
        for _ in range(50):
            text = await scrape()
            if sample(text, "vigie_sla_breaches", deadline="acknowledgement"):
                break
            await advance(skipping_env, timedelta(seconds=1))
    assert sample(text, "vigie_incidents_opened", priority="P1", service_level="gold") >= 1
    assert sample(text, "vigie_sla_breaches", deadline="acknowledgement", priority="P1") >= 1
    assert sample(text, "vigie_mails", outcome="sent") >= 3
    assert sample(text, "vigie_opsgenie_calls", action="create", outcome="skipped") >= 1
    assert "temporal_workflow_completed" in text or "temporal_request" in text  # the SDK's own


async def test_webhook_receiver_metrics(tmp_path: Path) -> None:
    from starters.webhook import create_app
    from workers.opsgenie_file import load_mapping
    from workers.settings import DEFAULT_CONFIG_DIR

    app = create_app(RecordingGateway(), load_mapping(DEFAULT_CONFIG_DIR), secret="s")
    fixture = Path(__file__).parent / "fixtures/opsgenie/webhook/create.json"
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://v") as c:
        headers = {"X-Webhook-Secret": "s"}
        for _ in range(3):
            await c.post("/webhooks/opsgenie", content=fixture.read_bytes(), headers=headers)
        await c.post("/webhooks/opsgenie", content=b"{", headers=headers)
        await c.post("/webhooks/opsgenie", content=json.dumps({}).encode())
        text = (await c.get("/metrics")).text
    assert sample(text, "vigie_webhook_requests", action="Create", status="202") == 3
    assert sample(text, "vigie_webhook_requests", status="400") == 1
    assert sample(text, "vigie_webhook_requests", status="401") == 1
    assert sample(text, "vigie_webhook_request_seconds_count") == 5
