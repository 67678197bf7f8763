"""`vigie dev` as a user runs it: open, acknowledge with the temporal CLI, mails in the sink."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
from email import message_from_bytes
from email.policy import default
from pathlib import Path

import httpx
from temporalio import workflow
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import UnsandboxedWorkflowRunner, Worker

from starters.dev.stack import dev_server_command
from tests.conftest import BIN, free_ports


async def run(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return await asyncio.to_thread(
        subprocess.run, list(args), env=env, capture_output=True, text=True, timeout=60
    )


NAMES = ("port", "ui", "smtp", "webhook", "opsgenie")


def vigie_dev_command(data: Path, ports: dict[str, int]) -> list[str]:
    return [
        str(BIN / "vigie"), "dev", "--data-dir", str(data),
        "--port", str(ports["port"]), "--ui-port", str(ports["ui"]),
        "--smtp-port", str(ports["smtp"]), "--webhook-port", str(ports["webhook"]),
        "--opsgenie-port", str(ports["opsgenie"]),
    ]  # fmt: skip


def without_vigie_or_temporal_settings() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith(("VIGIE_", "TEMPORAL_"))}


async def start_stack(
    data: Path,
) -> tuple[asyncio.subprocess.Process, dict[str, int], dict[str, str], bytes]:
    """`vigie dev` on free ports, once it says it is ready. A port chosen free can be taken
    by another process before the stack binds it: then the stack is started again on other
    ports (at most three times)."""
    for _attempt in range(3):
        ports = dict(zip(NAMES, free_ports(len(NAMES)), strict=True))
        env = {
            **without_vigie_or_temporal_settings(),
            "TEMPORAL_ADDRESS": f"127.0.0.1:{ports['port']}",
            "VIGIE_OPERATOR": "dev-tester",
        }
        stack = await asyncio.create_subprocess_exec(
            *vigie_dev_command(data, ports),
            env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
        )  # fmt: skip
        assert stack.stdout is not None
        seen = b""
        try:
            while b"Ctrl-C stops everything" not in seen:
                line = await asyncio.wait_for(stack.stdout.readline(), 60)
                if not line:
                    break
                seen += line
            else:
                return stack, ports, env, seen
        except BaseException:
            stack.kill()
            raise
        await asyncio.wait_for(stack.wait(), 60)
        assert b"already in use" in seen, seen.decode()
    raise AssertionError(f"no free ports after three tries: {seen.decode()}")


async def test_dev_stack_end_to_end(tmp_path: Path) -> None:
    data = tmp_path / "vigie"
    stack, ports, env, seen = await start_stack(data)
    assert stack.stdout is not None
    try:
        opened = await run(
            str(BIN / "vigie"), "open", "--title", "Checkout down", "--service-level", "gold",
            "--priority", "P1", "--requester", "client@example.org", env=env,
        )  # fmt: skip
        assert opened.returncode == 0, opened.stderr
        incident = opened.stdout.strip().splitlines()[-1]
        acked = await run(
            str(BIN / "temporal"), "workflow", "update", "execute", "--address",
            env["TEMPORAL_ADDRESS"], "--workflow-id", incident, "--name", "acknowledge",
            "--input", '{"by": "alice"}', env=env,
        )  # fmt: skip
        assert acked.returncode == 0, acked.stderr

        mail_dir = data / "mail"
        subjects: list[str] = []
        for _ in range(100):
            files = sorted(mail_dir.glob("*.eml")) if mail_dir.exists() else []
            subjects = [
                str(message_from_bytes(f.read_bytes(), policy=default)["Subject"]) for f in files
            ]
            # A P1 outside business hours also pages the on-call: not the requesters' thread;
            # the on-call readiness check mails the managers: not about the incident.
            subjects = [s for s in subjects if not s.endswith("Astreinte technique appelée")]
            subjects = [s for s in subjects if s.startswith(f"[{incident}]")]
            if any(s.endswith("Prise en compte") for s in subjects):
                break
            await asyncio.sleep(0.2)
        assert subjects[0] == f"[{incident}] P1 Checkout down — Ticket ouvert"
        assert subjects[1] == f"[{incident}] P1 Checkout down — Prise en compte"

        # An alert raised in the Opsgenie stand-in opens an incident through the webhook.
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{ports['opsgenie']}") as http:
            raised = await http.post(
                "/v2/alerts",
                headers={"Authorization": "GenieKey dev"},
                json={"message": "Disk full", "source": "web", "user": "ann@example.org"},
            )
            assert raised.status_code == 202
        for _ in range(100):
            listed = await run(str(BIN / "vigie"), "list", "--status", "open", env=env)
            if "incident-" in listed.stdout and listed.stdout.count("incident-") >= 1:
                break
            await asyncio.sleep(0.3)
        assert listed.returncode == 0 and "open" in listed.stdout

        # On-call readiness: watched from the start, its schedule served by the stand-in.
        for _ in range(100):
            files = sorted(mail_dir.glob("*.eml"))
            readiness = [
                str(message_from_bytes(f.read_bytes(), policy=default)["Subject"]) for f in files
            ]
            readiness = [s for s in readiness if s.startswith("[oncall-client]")]
            if readiness:
                break
            await asyncio.sleep(0.2)
        assert "Astreintes complètes pour le cycle du" in readiness[0]
        standin_env = {
            **env,
            "VIGIE_OPSGENIE_API_URL": f"http://127.0.0.1:{ports['opsgenie']}",
            "VIGIE_OPSGENIE_API_KEY": "dev",
        }
        checked = await run(str(BIN / "vigie"), "oncall", "check", env=standin_env)
        assert checked.returncode == 0, checked.stderr
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{ports['opsgenie']}") as http:
            gap = {"from": "2020-01-01T00:00:00Z", "to": "2100-01-01T00:00:00Z"}
            made = await http.post("/_standin/schedules/astreinte_technique/gaps", json=gap)
            assert made.status_code == 200
        checked = await run(str(BIN / "vigie"), "oncall", "check", env=standin_env)
        assert checked.returncode == 1 and checked.stdout.startswith("astreinte_technique\t")
    finally:
        stack.send_signal(signal.SIGINT)
        rest = await asyncio.wait_for(stack.stdout.read(), 60)
        code = await asyncio.wait_for(stack.wait(), 60)
    assert code == 0, (seen + rest).decode()[-2000:]
    assert b"Vigie dev stack stopped." in rest


@workflow.defn(name="QueuedBeforeFairness", sandboxed=False)
class QueuedBeforeFairness:
    @workflow.run
    async def run(self) -> str:
        return "ran"


async def test_a_task_queued_before_fairness_was_on_still_runs(tmp_path: Path) -> None:
    """A dev stack's database from before fairness: the workflow task it left queued runs
    once the server starts with the dev stack's settings."""
    database, (port, ui_port) = str(tmp_path / "temporal.db"), free_ports(2)
    command = dev_server_command(tmp_path, port, ui_port)
    settings = [
        arg for n, arg in enumerate(command) if "--dynamic-config-value" in (arg, command[n - 1])
    ]
    assert "matching.enableFairness=true" in settings
    start = {"dev_server_existing_path": str(BIN / "temporal"), "port": port,
             "dev_server_database_filename": database}  # fmt: skip
    before = await WorkflowEnvironment.start_local(**start)  # type: ignore[arg-type]
    try:
        await before.client.start_workflow(QueuedBeforeFairness.run, id="queued", task_queue="q")
    finally:
        await before.shutdown()
    after = await WorkflowEnvironment.start_local(
        **start,
        dev_server_extra_args=settings,  # type: ignore[arg-type]
    )
    try:
        async with Worker(
            after.client, task_queue="q", workflows=[QueuedBeforeFairness],
            workflow_runner=UnsandboxedWorkflowRunner(),
        ):  # fmt: skip
            handle = after.client.get_workflow_handle("queued")
            assert await asyncio.wait_for(handle.result(), 60) == "ran"
    finally:
        await after.shutdown()


async def vigie_dev(data: Path, port: int) -> subprocess.CompletedProcess[str]:
    ports = dict(zip(NAMES, [port, *free_ports(len(NAMES) - 1)], strict=True))
    return await run(*vigie_dev_command(data, ports), env=without_vigie_or_temporal_settings())


async def test_a_port_in_use_is_named_before_anything_starts(tmp_path: Path) -> None:
    """Another Temporal server (or another `vigie dev`) on the port: the stack says which
    port and which option chooses another, and starts nothing."""
    with socket.socket() as held:
        held.bind(("127.0.0.1", 0))
        held.listen()
        taken = held.getsockname()[1]
        stack = await vigie_dev(tmp_path / "vigie", taken)
    said = stack.stdout + stack.stderr
    assert stack.returncode == 1, said
    assert f"already in use: {taken} (--port). Is another vigie dev" in said
    assert not (tmp_path / "vigie" / "temporal.log").exists()  # no server was started


async def test_the_dev_servers_own_error_is_told_when_it_exits(tmp_path: Path) -> None:
    data = tmp_path / "vigie"
    (data / "temporal.db").mkdir(parents=True)  # no database the server can open
    (data / "temporal.log").write_text("Error: from an earlier run\n")
    stack = await vigie_dev(data, free_ports(1)[0])
    said = stack.stdout + stack.stderr
    assert stack.returncode == 1, said
    assert "the Temporal dev server exited (1): " in said
    assert "from an earlier run" not in said  # only this run's part of the log
