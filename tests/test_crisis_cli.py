"""vigie matrix check, vigie crisis ..., vigie drill against a dev server."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import get_args

import pytest_asyncio
from temporalio.testing import WorkflowEnvironment
from typer.testing import CliRunner

from starters.cli import app
from starters.dev.smtp_sink import MailSink
from workers.settings import Settings
from workers.worker import build_worker
from workflows.crisis_models import Criterion

runner = CliRunner()


async def invoke(env: dict[str, str], *args: str) -> tuple[int, str, str]:
    result = await asyncio.to_thread(runner.invoke, app, list(args), env=env)
    return result.exit_code, result.stdout, result.stderr


@pytest_asyncio.fixture
async def env(dev_env: WorkflowEnvironment, settings: Settings) -> AsyncIterator[dict[str, str]]:
    async with build_worker(dev_env.client, settings):
        yield {
            "TEMPORAL_ADDRESS": dev_env.client.service_client.config.target_host,
            "VIGIE_TASK_QUEUE": settings.task_queue,
            "VIGIE_OPERATOR": "cli",
            "COLUMNS": "200",
        }


async def test_matrix_check(config_dir: Path, tmp_path: Path) -> None:
    code, out, _ = await invoke({}, "matrix", "check", str(config_dir / "escalation_matrix.toml"))
    assert code == 0 and "valid, version 1" in out
    broken = tmp_path / "matrix.toml"
    text = (config_dir / "escalation_matrix.toml").read_text()
    broken.write_text(text.replace('email = "dnum@client.example.org"', 'email = "dnum"'))
    code, _, err = await invoke({}, "matrix", "check", str(broken))
    assert code == 2 and "client.dnum.0.email" in err
    hno = text.replace('[[levels.outside_business_hours]]\nprovider = ["delivery_manager"]',
                       '[[levels.outside_business_hours]]\nclient = ["management_2"]')  # fmt: skip
    broken.write_text(hno)
    code, _, err = await invoke({}, "matrix", "check", str(broken))
    assert code == 2 and "first two levels" in err and "internal" in err


async def test_crisis_commands(env: dict[str, str], dev_env: WorkflowEnvironment) -> None:
    t0 = (datetime.now(UTC) - timedelta(minutes=3)).isoformat()
    code, out, err = await invoke(
        env, "crisis", "open", "--title", "Flood at the main site",
        "--criterion", "natural_disaster", "--security", "--t0", t0,
        "--customer", "client", "--application", "erp",
    )  # fmt: skip
    assert code == 0, err
    crisis = out.strip().splitlines()[-1]
    assert crisis.startswith("crisis-")
    for _ in range(50):
        code, out, _ = await invoke(env, "crisis", "status", crisis, "--json")
        if code == 0:
            break
        await asyncio.sleep(0.2)
    view = json.loads(out)
    assert view["criterion"] == "natural_disaster" and view["security_involved"]
    # Its customer's, for the service reviews and the chat channels.
    assert (view["customer"], view["application"]) == ("client", "erp")
    # A crisis's tasks go ahead of a backlog of incidents' (task queue priority key 1).
    described = await dev_env.client.get_workflow_handle(crisis).describe()
    assert described.raw_description.workflow_execution_info.priority.priority_key == 1
    assert any(m["role"] == "security" and m["participating"] for m in view["members"])
    code, out, _ = await invoke(
        env, "crisis", "escalate", crisis, "--reason", "site flooded", "--json"
    )
    escalated = json.loads(out)
    assert code == 0 and escalated["level"] == 1
    first_due = min(m["due_at"] for m in escalated["milestones"] if m["status"] == "pending")

    # Listed through its search attributes: status, level, next milestone, title.
    async def listed() -> dict[str, object] | None:
        code, out, _ = await invoke(env, "crisis", "list", "--status", "active", "--json")
        assert code == 0
        return next((r for r in json.loads(out) if r["crisis"] == crisis), None)

    for _ in range(50):
        row = await listed()
        if row is not None and row["level"] == 1:
            break
        await asyncio.sleep(0.2)
    assert row is not None and row["level"] == 1 and row["title"] == "Flood at the main site"
    assert row["next_due"] == first_due
    t0, started = (datetime.fromisoformat(row[k]) for k in ("t0", "started"))
    assert t0 == datetime.fromisoformat(view["t0"]) and started > t0  # T0, as given
    code, out, _ = await invoke(env, "crisis", "list")  # a pipe: whole id, tab-separated
    line = next(r for r in out.splitlines() if r.startswith(crisis + "\t"))
    assert line.split("\t")[1:4] == ["active", "1", first_due]
    code, _, err = await invoke(
        env, "crisis", "add-member", crisis, "--name", "X", "--email", "bad"
    )
    assert code == 2 and "email" in err
    code, _, err = await invoke(env, "crisis", "submit-rex", crisis, "--link", "https://w/r")
    assert code == 1 and "cannot submit the REX" in err
    code, out, _ = await invoke(
        env, "crisis", "validate", crisis, "--party", "client", "--by", "dnum@client.example.org",
        "--json",
    )  # fmt: skip
    validation = json.loads(out)["validations"][0]
    assert code == 0 and validation["decision"] == "validated"
    assert validation["role"] == "client.dnum"
    code, out, _ = await invoke(
        env, "crisis", "post-update", crisis, "--progress", "pumps running",
        "--forecast", "tomorrow 08:00", "--json",
    )  # fmt: skip
    assert code == 0, out
    last = json.loads(out)["last_update"]
    assert (last["progress"], last["forecast"]) == ("pumps running", "tomorrow 08:00")
    code, out, err = await invoke(
        env, "crisis", "urgent-change", crisis, "--what", "open the backup site",
        "--why", "main site flooded", "--json",
    )  # fmt: skip
    assert code == 0 and json.loads(out)["urgent_changes"][0]["id"] == "UC-1"
    # Its id is said, with the command that ends it: the operator needs it.
    assert err.strip().splitlines()[-1] == (
        f"urgent change UC-1 requested; once done: vigie crisis urgent-change-done {crisis} "
        "--change-id UC-1 --outcome ..."
    ), err
    code, out, _ = await invoke(env, "crisis", "status", crisis)
    [change] = [line.split("\t") for line in out.splitlines() if line.startswith("urgent_change")]
    assert change[1:3] == ["UC-1", "open the backup site"] and change[5] == "", change
    code, out, _ = await invoke(
        env, "crisis", "urgent-change-done", crisis, "--change-id", "UC-1",
        "--outcome", "backup site open", "--json",
    )  # fmt: skip
    assert code == 0 and json.loads(out)["urgent_changes"][0]["outcome"] == "backup site open"
    # The DRP decision and the cell as a person reads them: no Python data, business time.
    code, out, _ = await invoke(
        env, "crisis", "decide-drp", crisis, "--activate", "--reason", "site B"
    )
    said = dict(line.split("\t", 1) for line in out.splitlines() if line.startswith("drp"))
    assert code == 0 and said["drp"] == "activated" and said["drp by"] == "cli", out
    assert said["drp reason"] == "site B" and re.fullmatch(  # a pipe: ISO 8601 times
        r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[.\d]*\+00:00", said["drp at"]
    ), out
    assert "{'activate'" not in out and "True" not in out and "False" not in out
    code, _, err = await invoke(env, "crisis", "status", "crisis-nope")
    assert code == 1 and "no running incident or crisis with that id" in err
    # No client confirmation of the return to nominal: closing needs a reason.
    code, _, err = await invoke(env, "crisis", "close", crisis, "--summary", "water gone")
    assert code == 1 and "confirm_nominal" in err
    code, out, _ = await invoke(
        env, "crisis", "close", crisis, "--summary", "water gone",
        "--without-confirmation", "client site evacuated", "--json",
    )  # fmt: skip
    assert code == 0 and json.loads(out)["status"] == "closed"


async def test_drill_runs_the_whole_chronogram(
    env: dict[str, str], dev_env: WorkflowEnvironment, sink: MailSink
) -> None:
    code, out, err = await invoke(env, "drill", "--speed", "900")
    assert code == 0, err
    # Every mail says it is a drill, and the team's answers are in the mails' language.
    drill_id = err.split("drill ", 1)[1].split()[0]
    sent = [m for m in sink.messages if m["X-Vigie-Crisis"] == drill_id]
    assert sent and all(
        str(m["Subject"]).startswith(f"EXERCICE — [{drill_id}] ")
        and str(m["Subject"]).endswith(" — application principale indisponible")
        for m in sent
    ), [str(m["Subject"]) for m in sent]
    bodies = [str(part.get_content()) for m in sent if (part := m.get_body(("plain",)))]
    assert all(b.split("\n")[2].startswith("EXERCICE : ce message fait partie") for b in bodies)
    assert any("Avancement : diagnostic en cours" in b for b in bodies)
    english = [
        line
        for b in bodies
        for line in b.replace(drill_id, "").splitlines()
        if "drill" in line.lower().replace("[drill]", "")
    ]  # fmt: skip (REX: kinds)
    assert english == [], english
    assert "T0+30 min" in out and "T0+330 min" in out
    assert "6 of 6 applicable milestones met on time" in out
    # Every step in the CLI's language, those the incident reports included.
    assert "Crisis cell opens" in out and "T0+15: ticket acknowledged" in out
    assert "Ouverture" not in out and "prise en compte" not in out
    # An exercise never overtakes real work: no priority key (the server's default).
    drill = err.split("drill ", 1)[1].split()[0]
    described = await dev_env.client.get_workflow_handle(drill).describe()
    assert described.raw_description.workflow_execution_info.priority.priority_key == 0
    # A list says which crises are drills.
    for _ in range(50):  # visibility follows the writes
        code, out, _ = await invoke(env, "crisis", "list", "--json")
        rows = {r["crisis"]: r for r in json.loads(out)}
        if drill in rows and rows[drill]["status"] == "rex_submitted":
            break
        await asyncio.sleep(0.2)
    assert rows[drill]["drill"] is True, rows[drill]
    assert rows[drill]["title"] == "drill: application principale indisponible"
    assert not any(r["drill"] for k, r in rows.items() if k != drill)


async def test_crisis_open_refuses_a_t0_it_could_not_run_from() -> None:
    """A T0 out of range, in the future, or so old that every step would fall due at once
    (a flood of mails): refused before anything starts, with exit status 2."""
    from datetime import UTC, datetime, timedelta

    now = datetime.now(UTC)
    for t0, said in (
        ("1999-01-01T00:00Z", "t0 must be between 2000-01-01 and 2100-01-01"),
        ((now + timedelta(hours=2)).isoformat(), "--t0: in the future"),
        ((now - timedelta(days=400)).isoformat(), "--t0: more than 366 days ago"),
        # As `vigie open --t0` says it.
        ("2026-11-30T10:00", "--t0: give an offset or Z, e.g. 2026-11-30T10:00+01:00"),
        ("yesterday", "--t0: not an ISO 8601 date-time: 'yesterday'"),
    ):
        code, out, err = await invoke(
            {}, "crisis", "open", "--title", "Flood", "--criterion", "natural_disaster",
            "--t0", t0,
        )  # fmt: skip
        assert code == 2 and not out, (t0, code, out, err)
        assert said in " ".join(err.split()), (t0, err)


async def test_the_criteria_are_listed_whole_in_an_80_column_pipe() -> None:
    code, out, _ = await invoke({"COLUMNS": "80"}, "crisis", "open", "--help")
    assert code == 0
    words = set(out.replace(",", " ").replace(".", " ").split())
    for criterion in get_args(Criterion):
        assert criterion in words, (criterion, out)


async def test_drill_refuses_a_speed_it_could_not_run_at() -> None:
    """Below real time, zero, not a number or beyond 3600×: one line, exit status 2, before
    anything starts (it was a validation traceback once the drill had been started)."""
    for speed in ("0.5", "0", "nan", "1e9"):
        code, out, err = await invoke({"COLUMNS": "80"}, "drill", "--speed", speed)
        assert code == 2 and not out and "Traceback" not in err, (speed, code, out, err)
        assert "Invalid value for '--speed'" in err, (speed, err)


async def test_an_interrupted_drill_is_cancelled_and_two_in_one_second_are_two(
    dev_env: WorkflowEnvironment, settings: Settings, sink: MailSink
) -> None:
    """Ctrl-C on `vigie drill` (its task cancelled, as asyncio.run does on SIGINT) left the
    exercise running and mailing its cell; it is cancelled. Two drills started in the same
    second got the same id (the second ended in a traceback)."""
    import pytest
    from temporalio.client import WorkflowExecutionStatus, WorkflowFailureError

    from starters.crisis_cli import run_drill

    client = dev_env.client
    async with build_worker(client, settings):
        drills = [
            asyncio.create_task(run_drill(client, settings, 600, "Interrupted")) for _ in range(2)
        ]
        found: list[str] = []
        for _ in range(100):
            found = [
                e.id
                async for e in client.list_workflows(
                    "WorkflowType = 'CrisisWorkflow' AND WorkflowId STARTS_WITH 'crisis-drill-'"
                    " AND ExecutionStatus = 'Running'"
                )
            ]
            if len(found) >= 2:
                break
            await asyncio.sleep(0.1)
        assert len(set(found)) >= 2, found
        for task in drills:
            task.cancel()
        for task in drills:
            try:
                await task
            except asyncio.CancelledError:
                pass
        for workflow_id in found:
            handle = client.get_workflow_handle(workflow_id)
            with pytest.raises(WorkflowFailureError):  # ends cancelled, its cell told
                await asyncio.wait_for(handle.result(), 60)
            described = await handle.describe()
            assert described.status == WorkflowExecutionStatus.CANCELED, workflow_id


async def test_a_drill_interrupted_while_it_starts_is_cancelled(
    dev_env: WorkflowEnvironment, settings: Settings, sink: MailSink
) -> None:
    """Ctrl-C while Temporal answers the start: the exercise started all the same, and
    nobody would play the team's answers. It is cancelled."""
    import pytest
    from temporalio.client import (
        Client,
        Interceptor,
        OutboundInterceptor,
        StartWorkflowInput,
        WorkflowExecutionStatus,
        WorkflowFailureError,
        WorkflowHandle,
    )

    from starters.crisis_cli import run_drill

    started: asyncio.Queue[str] = asyncio.Queue()

    class AnswerNeverArrives(OutboundInterceptor):
        async def start_workflow(self, input: StartWorkflowInput) -> WorkflowHandle[object, object]:
            handle = await super().start_workflow(input)
            await started.put(handle.id)
            await asyncio.Event().wait()  # the answer is still on its way when Ctrl-C comes
            return handle

    class Slow(Interceptor):
        def intercept_client(self, next: OutboundInterceptor) -> OutboundInterceptor:
            return AnswerNeverArrives(next)

    slow = Client(**{**dev_env.client.config(), "interceptors": [Slow()]})
    async with build_worker(dev_env.client, settings):
        drill = asyncio.create_task(run_drill(slow, settings, 600, "Interrupted at start"))
        workflow_id = await asyncio.wait_for(started.get(), 30)
        drill.cancel()
        with pytest.raises(asyncio.CancelledError):
            await drill
        handle = dev_env.client.get_workflow_handle(workflow_id)
        with pytest.raises(WorkflowFailureError):  # ends cancelled
            await asyncio.wait_for(handle.result(), 60)
        assert (await handle.describe()).status == WorkflowExecutionStatus.CANCELED
