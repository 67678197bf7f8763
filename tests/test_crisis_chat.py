"""The crisis cell's chat message carries the call, even when the cell is due at once (a
crisis started more than an hour after its T0): time-skipping server, a real HTTP listener
as the channel's webhook."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr
from temporalio.testing import WorkflowEnvironment

from starters.dev.smtp_sink import MailSink
from tests.conftest import free_port
from tests.helpers import eventually, on_a_business_morning
from tests.test_crisis_chronogram import crisis_status, mails, start_crisis
from workers.settings import Settings
from workers.worker import build_worker
from workflows.crisis_models import CrisisInput


class Listener(ThreadingHTTPServer):
    posts: list[dict[str, Any]]


class _Handler(BaseHTTPRequestHandler):
    server: Listener

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length", "0"))
        self.server.posts.append(json.loads(self.rfile.read(length)))
        self.send_response(200)
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def listener() -> Iterator[Listener]:
    server = Listener(("127.0.0.1", free_port()), _Handler)
    server.posts = []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def with_a_cell_channel(config_dir: Path) -> None:
    policy = config_dir / "policy.toml"
    text = policy.read_text(encoding="utf-8")
    anchor = 'notify = ["provider.delivery_manager", "provider.incident_manager"]\n'
    assert anchor in text
    channel = (
        '\n[[customers.channels]]\nname = "client-crise"\nvendor = "mattermost"\n'
        'events = ["crisis_cell"]\n'
    )
    policy.write_text(text.replace(anchor, anchor + channel, 1), encoding="utf-8")


async def test_the_cell_message_carries_the_call_when_the_cell_is_due_at_once(
    skipping_env: WorkflowEnvironment, settings: Settings, sink: MailSink, listener: Listener
) -> None:
    with_a_cell_channel(settings.config_dir)
    url = f"http://127.0.0.1:{listener.server_address[1]}/hooks/cell"
    cfg = settings.model_copy(update={"chat_webhooks": {"client-crise": SecretStr(url)}})
    await on_a_business_morning(skipping_env)
    t0 = await skipping_env.get_current_time() - timedelta(hours=1, minutes=10)
    async with build_worker(skipping_env.client, cfg):
        crisis = await start_crisis(
            skipping_env.client, cfg.task_queue, "crisis-cell-chat",
            CrisisInput(title="Payments down", t0=t0),
        )  # fmt: skip
        await eventually(lambda: mails(sink, crisis.id, "cell_opening"))
        posts = await eventually(lambda: listener.posts)
        view = await crisis_status(crisis)
    assert view.conference is not None
    assert len(posts) == 1 and view.conference.url in json.dumps(posts[0]), posts
