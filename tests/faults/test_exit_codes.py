"""Exit statuses that tell the truth, every time: the worker and the webhook receiver exit 0 on
SIGTERM, and every CLI command exits 0 after its operation succeeded (the Temporal SDK's
threads once aborted the interpreter's shutdown after the work was done: exit 134 or 139, and
a script retrying on failure would have repeated the operation)."""

from __future__ import annotations

import asyncio
import signal

import httpx
import pytest
from temporalio.testing import WorkflowEnvironment

from starters.dev.smtp_sink import MailSink
from tests.conftest import BIN, free_port
from tests.faults.ledger import check_mails
from tests.faults.processes import Worker, vigie_env
from tests.faults.tally import TALLY
from tests.helpers import status
from workers.settings import Settings
from workers.worker import build_worker

ROUNDS = 10


async def run(env: dict[str, str], *args: str) -> tuple[int, str, str]:
    process = await asyncio.create_subprocess_exec(
        str(BIN / "vigie"), *args, env=env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, err = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


@pytest.mark.faults_slow
async def test_worker_and_webhook_exit_0_on_sigterm_every_time(
    dev_env: WorkflowEnvironment, settings: Settings
) -> None:
    env = vigie_env(dev_env.client.service_client.config.target_host, settings)
    for _ in range(2 * ROUNDS):
        assert await (await Worker(env).start()).stop() == 0
        TALLY.exits_checked += 1
    for _ in range(ROUNDS):
        port = free_port()
        receiver = await asyncio.create_subprocess_exec(
            str(BIN / "vigie"), "webhook", "--port", str(port),
            env={**env, "VIGIE_WEBHOOK_SECRET": "s"},
        )  # fmt: skip
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as http:
            for _ in range(200):
                try:
                    assert (await http.get("/healthz")).status_code == 200
                    break
                except httpx.TransportError:
                    await asyncio.sleep(0.05)
        receiver.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(receiver.wait(), 60) == 0
        TALLY.exits_checked += 1


@pytest.mark.faults_slow
async def test_cli_commands_exit_0_after_success_every_time(
    dev_env: WorkflowEnvironment, settings: Settings, sink: MailSink
) -> None:
    client = dev_env.client
    env = vigie_env(client.service_client.config.target_host, settings, VIGIE_OPERATOR="al")
    incidents: list[str] = []
    async with build_worker(client, settings):
        for n in range(ROUNDS):
            code, said, errors = await run(
                env, "open", "--title", f"Checkout down {n}", "--service-level", "gold",
                "--priority", "P3", "--requester", "customer@example.org",
            )  # fmt: skip
            assert code == 0, errors
            incident = said.strip().splitlines()[-1]  # the id, on the last line
            for args in (
                ("acknowledge", incident),
                ("add-worklog", incident, "--text", "restarted"),
                ("status", incident),
                ("resolve", incident, "--resolution", "ok"),
                ("close", incident),
            ):
                code, said, errors = await run(env, *args)
                assert code == 0, (args, said, errors)
            view = await status(client.get_workflow_handle(incident))
            assert view.status == "closed"
            TALLY.exits_checked += 6
            incidents.append(incident)
        for incident in incidents:  # an incident ends once its last mail went out
            await asyncio.wait_for(client.get_workflow_handle(incident).result(), 60)
        await check_mails(client, sink, incidents)
