"""The mail server down: operations go on, the mail that keeps failing is shown with its last
error (status, current details, timeline), and once the server is back every mail arrives
once, in order. The slow case keeps it down for two minutes across deadlines."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path
from typing import Any

import pytest
from temporalio.client import Client, WorkflowHandle
from temporalio.testing import WorkflowEnvironment
from typer.testing import CliRunner

from starters.cli import app
from starters.dev.smtp_sink import MailSink
from tests.faults.helpers import until
from tests.faults.ledger import check_mails
from tests.faults.tally import TALLY
from tests.helpers import mail_server_down, on_a_business_morning, open_incident, status
from tests.test_incident_operations import details_of
from workers.settings import Settings
from workers.worker import build_worker
from workflows.incident import IncidentWorkflow
from workflows.models import AcknowledgeInput, IncidentView, WorklogInput

runner = CliRunner()


def cli_env(client: Client, settings: Settings) -> dict[str, str]:
    return {
        "TEMPORAL_ADDRESS": client.service_client.config.target_host,
        "VIGIE_CONFIG_DIR": str(settings.config_dir),
        "COLUMNS": "300",
    }


async def retrying(handle: WorkflowHandle[Any, Any]) -> IncidentView | None:
    view = await status(handle)
    return view if view.retrying else None


async def settled(handle: WorkflowHandle[Any, Any]) -> IncidentView | None:
    view = await status(handle)
    return view if view.mails_pending == 0 and not view.retrying else None


def in_order(sink: MailSink, incident_id: str) -> list[int]:
    """The mail numbers of an incident, in the order they arrived."""
    return [
        int(str(m["Message-ID"]).split("@")[0].rsplit(".", 1)[1]) for m in sink.about(incident_id)
    ]


async def test_mails_wait_for_the_server_shown_retrying_then_all_arrive_once(
    skipping_env: WorkflowEnvironment, settings: Settings
) -> None:
    port, down = mail_server_down(settings)  # no mail server yet
    client = skipping_env.client
    await on_a_business_morning(skipping_env)
    async with build_worker(client, down):
        handles = [await open_incident(client, down.task_queue, priority=p) for p in ("P2", "P3")]
        TALLY.fault("mail server down")
        for handle in handles:
            # The lifecycle goes on while the server is down.
            await handle.execute_update(IncidentWorkflow.acknowledge, AcknowledgeInput(by="al"))
            await handle.execute_update(
                IncidentWorkflow.add_worklog, WorklogInput(by="al", text="restarted the pods")
            )
        for handle in handles:
            view = await until(lambda h=handle: retrying(h))
            [trouble] = view.retrying
            assert (trouble.outbox, trouble.item) == ("mail", "opened")
            assert "mail server unreachable" in trouble.error and trouble.attempts >= 3
            assert view.mails_pending == 3 and view.status == "in_progress"
            [entry] = [e for e in view.timeline if e.kind == "mail_retrying"]
            assert "Mail « Ticket ouvert » pas encore parti après 3 essais" in entry.text
            details = await details_of(handle)
            assert "- en échec, nouvel essai à venir : mail opened · " in details
            assert (
                "dernière erreur : serveur de mail injoignable (détail technique : mail server"
                " unreachable" in details
            )
            shown = await asyncio.to_thread(
                runner.invoke, app, ["status", handle.id], env=cli_env(client, down)
            )
            assert shown.exit_code == 0, shown.output
            assert re.search(r"retrying\s+mail opened: \d+ attempts since .*, last error: mail "
                             "server unreachable", shown.output), shown.output  # fmt: skip

        with MailSink(port=port) as sink:
            for handle in handles:
                view = await until(lambda h=handle: settled(h))
                assert [e.kind for e in view.timeline].count("mail_through") == 1
                assert "nouvel essai à venir" not in await details_of(handle)
                assert in_order(sink, handle.id) == [0, 1, 2]
            await check_mails(client, sink, [h.id for h in handles])


async def test_a_mail_server_that_never_answers(
    skipping_env: WorkflowEnvironment, settings: Settings
) -> None:
    """It takes the connection and never greets: each attempt gives up after
    VIGIE_SMTP_TIMEOUT_SECONDS, the mail is shown retrying, then goes out once the server
    answers."""
    held: list[asyncio.StreamWriter] = []

    async def hold(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        held.append(writer)  # say nothing

    hung = await asyncio.start_server(hold, "127.0.0.1", 0)
    port = hung.sockets[0].getsockname()[1]
    cfg = settings.model_copy(update={"smtp_port": port, "smtp_timeout_seconds": 0.5})
    client = skipping_env.client
    await on_a_business_morning(skipping_env)
    async with build_worker(client, cfg):
        handle = await open_incident(client, cfg.task_queue, priority="P3")
        TALLY.fault("mail server that never answers")
        view = await until(lambda: retrying(handle))
        assert "mail server unreachable" in view.retrying[0].error
        hung.close()
        for writer in held:
            writer.close()
        await hung.wait_closed()
        with MailSink(port=port) as sink:
            await until(lambda: settled(handle))
            await check_mails(client, sink, [handle.id])


@pytest.mark.faults_slow
async def test_two_minutes_down_across_deadlines(
    dev_env: WorkflowEnvironment, settings: Settings, config_dir: Path
) -> None:
    """A gold P1 acknowledged by nobody: its warning (45 s) and breach (1 min) fall inside a
    two-minute outage. Each is recorded once and mailed once, after the outage."""
    policy = config_dir / "policy.toml"
    policy.write_text(
        policy.read_text(encoding="utf-8").replace('gold = "15m"', 'gold = "1m"', 1),
        encoding="utf-8",
    )
    port, down = mail_server_down(settings)  # no mail server yet
    client = dev_env.client
    loop = asyncio.get_running_loop()
    async with build_worker(client, down):
        began = loop.time()
        handle = await open_incident(client, down.task_queue, priority="P1")
        TALLY.fault("mail server down for two minutes")
        await until(lambda: _breached(handle), within=90)
        view = await status(handle)
        assert view.mails_pending >= 3 and view.retrying
        await asyncio.sleep(max(0.0, 120 - (loop.time() - began)))  # the outage lasts 2 min
        with MailSink(port=port) as sink:
            view = await until(lambda: settled(handle), within=120)
            kinds = [e.kind for e in view.timeline]
            assert kinds.count("ack_warning") == 1 and kinds.count("ack_breach") == 1
            check = await check_mails(client, sink, [handle.id])
            assert check.kinds(handle.id)["ack_warning"] == 1
            assert check.kinds(handle.id)["ack_breach"] == 1
        await handle.terminate("test over")


async def _breached(handle: WorkflowHandle[Any, Any]) -> IncidentView | None:
    view = await status(handle)
    return view if view.ack_breached else None
