"""The vigie CLI and the temporal CLI against a real dev server with a worker."""

from __future__ import annotations

import asyncio
import json
import re
import subprocess
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from temporalio.api.common.v1 import Payload
from temporalio.client import Client, WorkflowHandle
from temporalio.common import RawValue
from temporalio.testing import WorkflowEnvironment
from typer.testing import CliRunner

from starters.cli import app
from tests.conftest import BIN
from tests.faults.helpers import until
from workers.settings import Settings
from workers.worker import build_worker

runner = CliRunner()


class Cli:
    def __init__(self, env: dict[str, str]) -> None:
        self.env = env

    async def __call__(self, *args: str) -> tuple[int, str, str]:
        result = await asyncio.to_thread(runner.invoke, app, list(args), env=self.env)
        return result.exit_code, result.stdout, result.stderr

    async def temporal(self, *args: str) -> subprocess.CompletedProcess[str]:
        return await asyncio.to_thread(
            subprocess.run,
            [str(BIN / "temporal"), *args, "--address", self.env["TEMPORAL_ADDRESS"]],
            capture_output=True,
            text=True,
            timeout=60,
        )


@pytest_asyncio.fixture
async def cli(dev_env: WorkflowEnvironment, settings: Settings) -> AsyncIterator[Cli]:
    address = dev_env.client.service_client.config.target_host
    env = {
        "TEMPORAL_ADDRESS": address,
        "TEMPORAL_NAMESPACE": dev_env.client.namespace,
        "VIGIE_TASK_QUEUE": settings.task_queue,
        "VIGIE_OPERATOR": "cli-tester",
        "COLUMNS": "200",
    }
    async with build_worker(dev_env.client, settings):
        yield Cli(env)


async def test_open_prints_the_id_last_and_operations_work(
    cli: Cli, dev_env: WorkflowEnvironment
) -> None:
    code, out, err = await cli(
        "open", "--title", "Payroll export fails", "--service-level", "silver",
        "--impact", "high", "--urgency", "medium", "--requester", "rh@example.org",
        "--requester", "RH@Example.org",  # the same person: mailed once
        "--application", "payroll", "--category", "batch", "--description", "since 02:00",
    )  # fmt: skip
    assert code == 0, err
    incident = out.strip().splitlines()[-1]
    assert re.fullmatch(r"incident-\d{8}-[0-9a-f]{6}", incident)

    # The Web UI's summary is the title; its static details what never changes.
    described = await dev_env.client.get_workflow_handle(incident).describe()
    assert await described.static_summary() == "Payroll export fails"
    assert await described.static_details() == "Source : cli"

    # Open: the next thing due is the acknowledgement, listed and filterable.
    for _ in range(50):  # the first workflow task may not have run yet
        code, out, err = await cli("status", incident, "--json")
        if code == 0:
            break
        await asyncio.sleep(0.2)
    assert code == 0, err
    assert json.loads(out)["requesters"] == ["rh@example.org"]
    ack_due = datetime.fromisoformat(json.loads(out)["ack_due_at"])

    async def next_due() -> datetime | None:
        _, out, _ = await cli("list", "--json")
        row = next((r for r in json.loads(out) if r["incident"] == incident), None)
        return (
            None if row is None or not row["next_due"] else datetime.fromisoformat(row["next_due"])
        )

    for _ in range(50):
        if await next_due() == ack_due:
            break
        await asyncio.sleep(0.2)
    assert await next_due() == ack_due

    code, out, _ = await cli("acknowledge", incident, "--note", "on it")
    assert code == 0 and "in_progress" in out
    # An operation's answer leaves the timeline out (a pipe here: one line per field).
    assert "status\tin_progress" in out.splitlines() and "timeline" not in out, out
    code, _, err = await cli("acknowledge", incident)
    assert code == 1 and "refused: cannot acknowledge" in err

    code, out, _ = await cli(
        "set-pending", incident, "--waiting-on", "customer", "--reason", "which employee?"
    )
    assert code == 0 and "pending" in out
    code, out, _ = await cli("status", incident, "--json")
    view = json.loads(out)
    assert view["status"] == "pending" and view["priority"] == "P2" and view["sla_paused"]
    assert [e["by"] for e in view["timeline"] if e["kind"] == "acknowledged"] == ["cli-tester"]
    assert view["opened_at"].endswith("+00:00")

    async def listed() -> bool:
        code, out, _ = await cli("list", "--status", "pending", "--priority", "P2")
        return code == 0 and incident in out

    for _ in range(50):
        if await listed():
            break
        await asyncio.sleep(0.2)
    assert await listed()
    # In a pipe: one whole line per incident, tab-separated, with the title; --json too.
    code, out, _ = await cli("list", "--status", "pending")
    line = next(row for row in out.splitlines() if row.startswith(incident))
    assert line.split("\t") == [
        incident,
        "pending",
        "P2",
        "silver",
        "no",  # breached: yes or no, as vigie status says it
        "",  # pending: the resolution deadline is paused, nothing falls due
        line.split("\t")[6],
        "Payroll export fails",
        line.split("\t")[6],  # T0, last (the start: neither back-dated nor continued)
    ]
    code, out, _ = await cli("list", "--json")
    row = next(r for r in json.loads(out) if r["incident"] == incident)
    assert row["title"] == "Payroll export fails" and row["status"] == "pending"
    assert datetime.fromisoformat(row["started"]).tzinfo is not None

    code, _, err = await cli("recategorize", incident, "--reason", "nothing")
    assert code == 2 and "give a new priority" in err
    for args in (
        ("resume", incident),
        ("add-worklog", incident, "--text", "called the customer"),
        ("resolve", incident, "--resolution", "export rerun", "--problem-reason", "recurring",
         "--problem", "third time"),
        ("reopen", incident, "--reason", "still failing"),
        ("recategorize", incident, "--priority", "P1", "--reason", "all payslips"),
        ("qualify-p1", incident, "--verdict", "confirmed"),
        ("resolve", incident, "--resolution", "fixed the mapping"),
        ("close", incident),
    ):  # fmt: skip
        code, out, err = await cli(*args)
        assert code == 0, (args, err)
    code, out, _ = await cli("status", incident, "--json")
    assert json.loads(out)["status"] == "closed"
    code, _, err = await cli("add-worklog", incident, "--text", "one more thing")
    assert code == 1, err  # refused by the incident, closed and sending its last mails
    await dev_env.client.get_workflow_handle(incident).result()  # then ended
    code, _, err = await cli("add-worklog", incident, "--text", "one more thing")
    said = " ".join(err.split())
    assert code == 1 and "has ended (closed, cancelled, refused at the" in said, err
    assert said.endswith("nothing changes it any more; its status says how it ended"), err
    code, out, _ = await cli("status", incident)  # in a pipe: when it was resolved and closed
    said = dict(line.split("\t", 1) for line in out.splitlines() if not line.startswith("timeline"))
    assert said["status"] == "closed" and said["resolved"].startswith("20"), out
    assert said["closed"] >= said["resolved"], out
    entries = [line.split("\t") for line in out.splitlines() if line.startswith("timeline\t")]
    kinds = [kind for _, _, kind, *_ in entries]
    assert "closed" in kinds[kinds.index("reopened") :], kinds  # each entry: at, kind, by, text


async def test_cli_errors_are_clear(cli: Cli) -> None:
    code, _, err = await cli("open", "--title", "x", "--service-level", "gold")
    assert code == 2 and "--priority" in err
    code, _, err = await cli(
        "open", "--title", "x", "--service-level", "platinum", "--priority", "P1"
    )
    assert code == 2
    code, _, err = await cli("status", "incident-does-not-exist")
    assert code == 1 and "no running incident" in err
    code, _, err = await cli(
        "resolve", "incident-does-not-exist", "--resolution", "x", "--problem", "y"
    )
    assert code == 2 and "go together" in err


async def test_temporal_cli_update_signal_and_search(cli: Cli) -> None:
    code, out, err = await cli("open", "--title", "VPN down", "--service-level", "gold",
                               "--priority", "P1")  # fmt: skip
    assert code == 0, err
    incident = out.strip().splitlines()[-1]

    done = await cli.temporal(
        "workflow", "update", "execute", "--workflow-id", incident,
        "--name", "acknowledge", "--input", '{"by": "alice"}',
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "in_progress" in done.stdout

    refused = await cli.temporal(
        "workflow", "update", "execute", "--workflow-id", incident,
        "--name", "acknowledge", "--input", '{"by": "alice"}',
    )  # fmt: skip
    assert refused.returncode != 0 and "cannot acknowledge" in refused.stderr

    # JSON the worker cannot read, as the temporal CLI sends it (a lone surrogate escape):
    # the Update refused saying so, the Signal recorded as refused, nothing lost after it.
    unreadable = '{"by": "alice", "text": "caf\\ud800"}'
    refused = await cli.temporal(
        "workflow", "update", "execute", "--workflow-id", incident,
        "--name", "add_worklog", "--input", unreadable,
    )  # fmt: skip
    assert refused.returncode != 0 and "the input is not JSON that can be read" in refused.stderr
    for name, given in (("add_worklog", unreadable), ("add_worklog", '{"by": "al", "text": "ok"}')):
        signalled = await cli.temporal(
            "workflow", "signal", "--workflow-id", incident, "--name", name, "--input", given
        )
        assert signalled.returncode == 0, signalled.stderr

    signalled = await cli.temporal(
        "workflow", "signal", "--workflow-id", incident,
        "--name", "set_pending",
        "--input", '{"by": "bob", "waiting_on": "third_party", "reason": "ISP"}',
    )  # fmt: skip
    assert signalled.returncode == 0, signalled.stderr

    async def found() -> str:
        listed = await cli.temporal(
            "workflow", "list", "--query",
            f"IncidentPriority='P1' AND IncidentStatus='pending' AND WorkflowId='{incident}'",
        )  # fmt: skip
        return listed.stdout if incident in listed.stdout else ""

    for _ in range(50):
        if await found():
            break
        await asyncio.sleep(0.2)
    assert await found()
    code, out, err = await cli("status", incident)
    assert code == 0, err
    told = " ".join(out.split())
    assert "Signal add_worklog refusé : l'entrée n'est pas un JSON lisible" in told, told
    assert "worklog · al" in told or "worklog al" in told, told


async def test_worker_refuses_a_broken_policy_and_stops_cleanly_on_sigterm(
    dev_env: WorkflowEnvironment, config_dir: Path, tmp_path: Path
) -> None:
    address = dev_env.client.service_client.config.target_host
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "policy.toml").write_text(
        (config_dir / "policy.toml").read_text().replace('bronze = "60m"', 'bronze = "1 hour"')
    )
    env = {"TEMPORAL_ADDRESS": address, "VIGIE_TASK_QUEUE": "cli-worker", "PATH": str(BIN)}
    refused = await asyncio.to_thread(
        subprocess.run,
        [str(BIN / "vigie"), "worker"],
        env={**env, "VIGIE_CONFIG_DIR": str(broken)},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert refused.returncode == 2
    assert "acknowledgement.bronze" in refused.stderr and "policy.toml" in refused.stderr

    # A clean stop exits 0 every time (the SDK's threads must not abort the exit).
    for _ in range(5):
        worker = await asyncio.create_subprocess_exec(
            str(BIN / "vigie"),
            "worker",
            env={**env, "VIGIE_CONFIG_DIR": str(config_dir)},
            stderr=asyncio.subprocess.PIPE,
        )
        assert worker.stderr is not None
        seen = b""
        while b"worker polling" not in seen:
            line = await asyncio.wait_for(worker.stderr.readline(), 30)
            assert line, seen
            seen += line
        worker.terminate()
        rest = await asyncio.wait_for(worker.stderr.read(), 30)
        assert await asyncio.wait_for(worker.wait(), 30) == 0, rest.decode()


@pytest.fixture(autouse=True)
def _wide_console(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "200")


async def test_webhook_command_needs_a_secret_and_serves(dev_env: WorkflowEnvironment) -> None:
    from tests.conftest import free_port

    address = dev_env.client.service_client.config.target_host
    env = {"TEMPORAL_ADDRESS": address, "PATH": str(BIN)}
    refused = await asyncio.to_thread(
        subprocess.run,
        [str(BIN / "vigie"), "webhook"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert refused.returncode == 2 and "VIGIE_WEBHOOK_SECRET is not set" in refused.stderr

    port = free_port()
    server = await asyncio.create_subprocess_exec(
        str(BIN / "vigie"), "webhook", "--port", str(port),
        env={**env, "VIGIE_WEBHOOK_SECRET": "s"},
    )  # fmt: skip
    try:
        import httpx

        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as http:
            for _ in range(100):
                try:
                    health = await http.get("/healthz")
                    break
                except httpx.TransportError:
                    await asyncio.sleep(0.1)
            assert health.json() == {"status": "ok"}
            denied = await http.post("/webhooks/opsgenie", json={})
            assert denied.status_code == 401
    finally:
        server.terminate()
        assert await asyncio.wait_for(server.wait(), 30) == 0


async def _webhook_answers(env: dict[str, str], *posts: dict[str, str]) -> list[int]:
    """Starts `vigie webhook` with ``env`` and posts an empty body once per header set."""
    import httpx

    from tests.conftest import free_port

    port = free_port()
    server = await asyncio.create_subprocess_exec(
        str(BIN / "vigie"), "webhook", "--port", str(port), env=env
    )
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as http:
            for _ in range(100):
                try:
                    await http.get("/healthz")
                    break
                except httpx.TransportError:
                    await asyncio.sleep(0.1)
            return [
                (await http.post("/webhooks/opsgenie", json={}, headers=h)).status_code
                for h in posts
            ]
    finally:
        server.terminate()
        assert await asyncio.wait_for(server.wait(), 30) == 0


async def test_webhook_settings_dev_mode_secret_header_and_a_broken_mapping(
    dev_env: WorkflowEnvironment, tmp_path: Path
) -> None:
    import shutil

    from workers.settings import DEFAULT_CONFIG_DIR

    address = dev_env.client.service_client.config.target_host
    env = {"TEMPORAL_ADDRESS": address, "PATH": str(BIN)}
    # VIGIE_DEV_MODE=true is --dev: served without a secret (the empty body is refused as
    # unreadable, not as unauthenticated).
    assert await _webhook_answers({**env, "VIGIE_DEV_MODE": "true"}, {}) == [422]
    # The secret travels in the header VIGIE_WEBHOOK_SECRET_HEADER names, and only there.
    custom = {**env, "VIGIE_WEBHOOK_SECRET": "s", "VIGIE_WEBHOOK_SECRET_HEADER": "X-Og-Token"}
    answers = await _webhook_answers(custom, {"X-Webhook-Secret": "s"}, {"X-Og-Token": "s"})
    assert answers == [401, 422]
    # A broken config/opsgenie.toml stops the receiver at start, naming the field.
    config = tmp_path / "config"
    shutil.copytree(DEFAULT_CONFIG_DIR, config)
    mapping = config / "opsgenie.toml"
    text = mapping.read_text(encoding="utf-8")
    assert re.search(r'(?m)^default_service_level = "\w+"', text)
    mapping.write_text(
        re.sub(r'(?m)^default_service_level = "\w+"', 'default_service_level = "platinum"', text),
        encoding="utf-8",
    )
    refused = await asyncio.to_thread(
        subprocess.run,
        [str(BIN / "vigie"), "webhook"],
        env={**env, "VIGIE_WEBHOOK_SECRET": "s", "VIGIE_CONFIG_DIR": str(config)},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert refused.returncode == 2, refused.stderr
    assert "opsgenie.toml: 1 problem(s)" in refused.stderr
    assert "default_service_level: Input should be 'gold', 'silver' or 'bronze'" in refused.stderr


async def test_open_takes_any_iso_t0_and_never_reuses_an_id(cli: Cli) -> None:
    incident = f"incident-cli-{uuid.uuid4().hex[:8]}"
    paris = timezone(timedelta(hours=1))
    t0 = (datetime.now(UTC) - timedelta(minutes=7)).astimezone(paris).isoformat()
    code, out, err = await cli(
        "open", "--title", "VPN down", "--service-level", "gold", "--priority", "P2",
        "--t0", t0, "--id", incident, "--requester", "it@example.org",
    )  # fmt: skip
    assert code == 0, err
    for _ in range(50):  # the first query can race the policy load at start
        code, out, _ = await cli("status", incident, "--json")
        if code == 0:
            break
        await asyncio.sleep(0.2)
    opened_at = json.loads(out)["opened_at"]
    # Given in Paris time, told back in UTC like every other `..._at` field.
    assert opened_at.endswith("+00:00")
    assert datetime.fromisoformat(opened_at) == datetime.fromisoformat(t0)
    # Lists show the T0 given, not when the incident was opened in Vigie.
    code, out, _ = await cli("list", "--json")
    row = next(r for r in json.loads(out) if r["incident"] == incident)
    assert datetime.fromisoformat(row["t0"]) == datetime.fromisoformat(t0)
    assert datetime.fromisoformat(row["started"]) > datetime.fromisoformat(t0)
    code, _, err = await cli("open", "--title", "x", "--service-level", "gold",
                             "--priority", "P3", "--t0", "2026-11-29T15:45")  # fmt: skip
    assert code == 2 and "--t0: give an offset" in err
    # A T0 the incident could not run from is refused before anything starts.
    for t0, said in (
        ((datetime.now(UTC) + timedelta(hours=2)).isoformat(), "--t0: in the future"),
        ((datetime.now(UTC) - timedelta(days=400)).isoformat(), "--t0: more than 366 days"),
    ):
        code, out, err = await cli(
            "open", "--title", "x", "--service-level", "gold", "--priority", "P3", "--t0", t0
        )
        assert code == 2 and not out and said in " ".join(err.split()), (t0, err)
    # Closed or not, an incident id names one incident forever.
    for args in (("resolve", incident, "--resolution", "tunnel restarted"), ("close", incident)):
        code, _, err = await cli(*args)
        assert code == 0, err
    code, _, err = await cli(
        "open", "--title", "VPN down again", "--service-level", "gold", "--priority", "P2",
        "--id", incident,
    )  # fmt: skip
    assert code == 1 and f"an incident with id {incident} already exists" in err


async def stuck_workflow(
    client: Client, task_queue: str, workflow: str
) -> WorkflowHandle[Any, Any]:
    """A workflow started by a raw client with an input in an encoding no worker reads (a
    typo in a model's fields, or JSON that cannot be read, ends the run, refused; this cannot
    reach the workflow's code), once its first task failed twice (its third attempt)."""
    kind = workflow.removesuffix("Workflow").lower()  # incident-stuck-…, crisis-stuck-…
    broken = Payload(metadata={"encoding": b"application/x-unknown"}, data=b"VPN down")
    handle = await client.start_workflow(
        workflow, RawValue(broken), id=f"{kind}-stuck-{uuid.uuid4().hex[:6]}",
        task_queue=task_queue,
    )  # fmt: skip

    async def failed_twice() -> bool:
        described = await handle.describe()
        return described.raw_description.pending_workflow_task.attempt >= 3

    await until(failed_twice, within=60.0)
    return handle


@pytest.mark.allow_failed_workflow_tasks  # the workflows under test fail their first task
async def test_status_of_a_stuck_incident_says_so_at_once(
    cli: Cli, dev_env: WorkflowEnvironment, settings: Settings
) -> None:
    """An incident whose workflow task keeps failing (here: started by a raw client with an
    input in an encoding no worker reads) answers no query; ``vigie status`` says why
    instead of waiting for the query to time out."""
    client = dev_env.client
    handle = await stuck_workflow(client, settings.task_queue, "IncidentWorkflow")
    code, out, err = await cli("status", handle.id)
    assert code == 1 and not out, (code, out, err)
    said = " ".join(err.split())
    assert f"{handle.id} is stuck: its workflow task failed" in said, said
    assert "Failed decoding arguments" in said and "Unknown payload encoding" in said, said
    assert "WorkflowTaskFailed" in said, said
    await handle.terminate("input no model can decode")
    code, out, err = await cli("status", "incident-does-not-exist")  # not stuck: unknown
    assert code == 1 and "no running incident" in err
    crisis = await stuck_workflow(client, settings.task_queue, "CrisisWorkflow")
    code, out, err = await cli("crisis", "status", crisis.id)
    said = " ".join(err.split())
    assert code == 1 and f"{crisis.id} is stuck" in said and "Unknown payload" in said, said
    await crisis.terminate("input no model can decode")


def test_what_people_typed_is_printed_as_typed(capsys: pytest.CaptureFixture[str]) -> None:
    """Titles, names and texts with brackets or emoji codes are data, never terminal markup:
    ``[/x]`` used to stop ``vigie status`` with a traceback, and ``[PROD]`` to vanish."""
    from starters import crisis_cli
    from starters.cli import show
    from tests.test_chat_notifications import crisis
    from tests.test_mail_render import view
    from workflows.models import TimelineEntry

    typed = "[PROD] checkout [/x] down [bold]now :fire:"
    entry = TimelineEntry(at=datetime(2026, 11, 24, 9, 30, tzinfo=UTC), kind="worklog",
                          by="[/al]", text=typed)  # fmt: skip
    show(view(title=typed, timeline=[entry]), False)
    crisis_cli.show(crisis(title=typed))
    printed = " ".join(capsys.readouterr().out.split())
    assert printed.count(typed) == 3 and "[/al]" in printed, printed


def test_an_argument_with_brackets_is_refused_as_typed() -> None:
    result = runner.invoke(
        app, ["open", "--title", "x", "--service-level", "gold", "--priority", "P1",
              "--t0", "[/oops]"],
    )  # fmt: skip
    assert result.exit_code == 2, result.output
    assert "not an ISO 8601 date-time: '[/oops]'" in " ".join(result.stderr.split())


@pytest.mark.parametrize(
    ("args", "said"),
    [
        (["status", "incident-x\r\nBcc: y"], "not 'incident-x\\r\\nBcc: y'"),
        (["acknowledge", "incident-\u202ex"], "one line without control characters"),
        (["crisis", "status", " "], "an id is 1 to 1000 characters"),
        (["crisis", "escalate", "c" * 1001, "--reason", "x"], "an id is 1 to 1000"),
    ],
)
def test_an_id_that_can_be_no_workflows_is_refused_before_connecting(
    args: list[str], said: str
) -> None:
    """Pasted with a line break, or blank: refused at once (exit status 2), the id escaped,
    instead of being sent to Temporal and echoed back raw."""
    result = runner.invoke(app, args, env={"TEMPORAL_ADDRESS": "127.0.0.1:9"})
    assert result.exit_code == 2, result.output
    assert said in " ".join(result.stderr.split()), result.stderr
    assert "\r" not in result.stderr


@pytest.mark.parametrize(
    ("variable", "value", "said"),
    [
        ("VIGIE_SMTP_PORT", "abc", "VIGIE_SMTP_PORT: Input should be a valid integer"),
        ("VIGIE_CHAT_WEBHOOKS", "notjson", "VIGIE_CHAT_WEBHOOKS: not valid JSON"),
        ("VIGIE_SMTP_USERNAME", "x", "VIGIE_SMTP_USERNAME and VIGIE_SMTP_PASSWORD go together"),
        ("TEMPORAL_ADDRESS", "", "cannot connect to Temporal (''): invalid target URL"),
        ("VIGIE_LOG_LEVEL", "verbose", "VIGIE_LOG_LEVEL: expected DEBUG, INFO, WARNING, ERROR"),
    ],
)
def test_a_broken_setting_is_named_in_one_line(variable: str, value: str, said: str) -> None:
    """No traceback, no pydantic block: the variable at fault and what is wrong, exit 2."""
    result = runner.invoke(app, ["list"], env={variable: value})
    assert result.exit_code == 2, result.output
    told = result.stderr.strip()
    assert said in told and len(told.splitlines()) == 1 and "errors.pydantic.dev" not in told


def test_operator_commands_start_without_the_worker_the_ledger_or_the_opsgenie_client() -> None:
    """``vigie ack`` and the like load what they use: the worker's wiring, the ledger
    (SQLAlchemy, alembic) and the HTTP client are imported only by the commands that need
    them (``worker``, ``webhook``, ``report``, ``ledger``, ``oncall``, ``schedules``)."""
    heavy = ["workers.worker", "workers.ledger", "sqlalchemy", "alembic", "httpx", "aiosmtplib"]
    probe = (
        "import sys; from starters.cli import app; "
        f"print(','.join(m for m in {heavy!r} if m in sys.modules))"
    )
    done = subprocess.run(
        [str(BIN / "python"), "-c", probe], capture_output=True, text=True, check=True
    )
    assert done.stdout.strip() == ""


def test_by_defaults_to_the_login_name_else_operator(monkeypatch: pytest.MonkeyPatch) -> None:
    import getpass

    from starters.cli_support import operator_name

    monkeypatch.setattr(getpass, "getuser", lambda: "mdupont")
    assert operator_name() == "mdupont"

    def no_user() -> str:
        raise OSError("No username set in the environment")

    monkeypatch.setattr(getpass, "getuser", no_user)
    assert operator_name() == "operator"


def test_help_paragraphs_are_folded_to_the_terminal() -> None:
    """In an 80-column terminal, a command's description is folded as a paragraph: no line
    holds a lone word that the docstring's own line breaks left behind."""
    for command in (["list"], ["status"], ["crisis", "status"], ["report"]):
        result = runner.invoke(app, [*command, "--help"], env={"COLUMNS": "80"})
        assert result.exit_code == 0, result.output
        description = result.output.split("╭")[0]
        lone = [line for line in description.splitlines() if re.fullmatch(r"\s*\S+\s*", line)]
        assert lone == [], (command, lone)


def test_new_ids_carry_the_date_where_the_business_is() -> None:
    """At 00:30 in Paris on 1 December, UTC is still on 30 November: ids say the 1st, the
    date the team lives in and will look for."""
    from starters.cli_support import dated_id
    from starters.incidents import new_incident_id

    late = datetime(2026, 11, 30, 23, 30, tzinfo=UTC)
    assert re.fullmatch(r"incident-20261201-[0-9a-f]{6}", new_incident_id(late))
    assert re.fullmatch(r"crisis-20261201-[0-9a-f]{6}", dated_id("crisis", late))
    summer = datetime(2026, 7, 31, 21, 59, tzinfo=UTC)  # 23:59 in Paris (UTC+2)
    assert dated_id("incident", summer).startswith("incident-20260731-")


async def test_a_crisis_id_given_to_status_points_to_crisis_status(cli: Cli) -> None:
    """The crisis id is what `vigie status` shows in its crisis row: pasted into `vigie
    status`, it is refused in one line that names the command to use (it was a traceback)."""
    code, out, err = await cli("crisis", "open", "--title", "Flood", "--criterion", "other")
    assert code == 0, err
    crisis = out.strip().splitlines()[-1]
    code, out, err = await cli("status", crisis)
    said = " ".join(err.split())
    assert code == 2 and not out, (code, out, err)
    assert (
        said == f"error: {crisis} is a crisis, not an incident: use `vigie crisis status {crisis}`"
    )
    incident = await cli("open", "--title", "x", "--service-level", "gold", "--priority", "P3")
    incident_id = incident[1].strip().splitlines()[-1]
    code, out, err = await cli("crisis", "status", incident_id, "--json")
    said = " ".join(err.split())
    assert code == 2 and not out and "Traceback" not in err, (code, out, err)
    assert (
        said
        == f"error: {incident_id} is an incident, not a crisis: use `vigie status {incident_id}`"
    )
    # An operation of the other kind: the same one line, not the SDK's list of handlers.
    code, out, err = await cli("acknowledge", crisis)
    said = " ".join(err.split())
    assert code == 2 and said.startswith(f"error: {crisis} is a crisis, not an incident"), said
    code, out, err = await cli("crisis", "escalate", incident_id, "--reason", "x")
    said = " ".join(err.split())
    assert code == 2 and said.startswith(f"error: {incident_id} is an incident, not a"), said
    # An operation both kinds have is refused before it is sent, and the incident is left
    # as it was (it was applied to the incident, then the command failed reading the answer).
    code, out, err = await cli(
        "crisis", "urgent-change", incident_id, "--what", "failover", "--why", "x"
    )
    said = " ".join(err.split())
    assert code == 2 and "Traceback" not in err, (code, out, err)
    assert said.startswith(f"error: {incident_id} is an incident, not a crisis"), said
    code, out, err = await cli("status", incident_id, "--json")
    assert code == 0 and json.loads(out)["urgent_changes"] == [], (code, out, err)


def test_operations_checked_before_sending_are_those_both_kinds_have() -> None:
    from temporalio.workflow import _Definition

    from starters.published import BOTH_KINDS
    from workflows.crisis import CrisisWorkflow
    from workflows.incident import IncidentWorkflow

    incident = _Definition.must_from_class(IncidentWorkflow).updates
    crisis = _Definition.must_from_class(CrisisWorkflow).updates
    assert set(incident) & set(crisis) == BOTH_KINDS


async def test_an_operation_both_kinds_have_is_not_sent_to_an_id_of_the_other_kind_unseen(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """When the server does not describe the workflow (a blip), the id's form tells its kind:
    an incident's id is refused for a crisis's urgent change, and nothing is sent."""
    import typer

    from starters import published

    async def undescribed(client: object, workflow_id: str) -> None:
        return None

    monkeypatch.setattr(published, "described_or_none", undescribed)
    sent: list[str] = []

    async def send() -> str:
        sent.append("sent")
        return "applied"

    with pytest.raises(typer.Exit) as refused:
        await published.operate_on_kind(
            None, "incident-20261202-a1b2c3", "CrisisWorkflow", send,  # type: ignore[arg-type]
            "request_urgent_change",
        )  # fmt: skip
    assert refused.value.exit_code == 2 and sent == []
    answer = await published.operate_on_kind(
        None, "crisis-20261202-a1b2c3", "CrisisWorkflow", send,  # type: ignore[arg-type]
        "request_urgent_change",
    )  # fmt: skip
    assert answer == "applied" and sent == ["sent"]
