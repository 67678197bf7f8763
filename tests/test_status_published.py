"""`vigie status` and `vigie crisis status` when no worker answers: the published state."""

from __future__ import annotations

import asyncio
import json
import time
from datetime import datetime
from functools import partial
from typing import Any

from temporalio.client import Client, WorkflowHandle
from temporalio.testing import WorkflowEnvironment
from typer.testing import CliRunner

from starters.cli import app
from starters.published import PUBLISHED_EXIT
from tests.faults.helpers import until
from tests.helpers import assert_eventually, search_attributes
from workers.settings import Settings
from workers.worker import build_worker
from workflows.search import CRISIS_STATUS

runner = CliRunner()


async def invoke(env: dict[str, str], *args: str) -> tuple[int, str, str]:
    result = await asyncio.to_thread(runner.invoke, app, list(args), env=env)
    return result.exit_code, result.stdout, result.stderr


def cli_env(dev_env: WorkflowEnvironment, settings: Settings) -> dict[str, str]:
    return {
        "TEMPORAL_ADDRESS": dev_env.client.service_client.config.target_host,
        "VIGIE_TASK_QUEUE": settings.task_queue,
        "VIGIE_OPERATOR": "cli-tester",
        "COLUMNS": "200",
    }


async def opened(env: dict[str, str], *command: str) -> str:
    """Opens an incident or a crisis with the CLI; its id, which it prints last."""
    code, out, err = await invoke(env, *command)
    assert code == 0, err
    return out.strip().splitlines()[-1]


async def answered(env: dict[str, str], *command: str) -> dict[str, object]:
    """The workflow's own answer, once its first task ran."""
    for _ in range(50):
        code, out, err = await invoke(env, *command, "--json")
        if code == 0:
            return dict(json.loads(out))
        await asyncio.sleep(0.2)
    raise AssertionError(f"{command} never answered: {code} {err}")


async def settled(client: Client, workflow_id: str) -> bool:
    """No activity and no workflow task in flight: the worker has done everything."""
    raw = (await client.get_workflow_handle(workflow_id).describe()).raw_description
    return not raw.pending_activities and not raw.HasField("pending_workflow_task")


async def test_with_every_worker_down_status_shows_what_the_incident_published(
    dev_env: WorkflowEnvironment, settings: Settings
) -> None:
    env = cli_env(dev_env, settings)
    async with build_worker(dev_env.client, settings):
        incident = await opened(
            env, "open", "--title", "Payroll export fails", "--service-level", "silver",
            "--priority", "P2", "--requester", "rh@example.org", "--application", "payroll",
            "--category", "batch", "--description", "since 02:00",
        )  # fmt: skip
        view = await answered(env, "status", incident)
        code, _, err = await invoke(env, "acknowledge", incident, "--note", "on it")
        assert code == 0, err
        await until(lambda: settled(dev_env.client, incident), within=30.0)
    # The worker is gone: nothing answers the query.

    began = time.monotonic()
    code, out, err = await invoke(env, "status", incident, "--wait", "2", "--json")
    took = time.monotonic() - began
    assert code == PUBLISHED_EXIT, (code, out, err)
    said = " ".join(err.split())
    assert f"{incident} did not answer (no answer within 2 s)" in said, said
    assert "not the rest of its view (timeline, ...)" in said, said
    found = json.loads(out)
    assert found["incident"] == incident and found["title"] == "Payroll export fails"
    assert (found["status"], found["priority"], found["level"]) == ("in_progress", "P2", "silver")
    assert found["breached"] is False and found["answered_by"] == "search_attributes"
    assert datetime.fromisoformat(found["next_due"]) == datetime.fromisoformat(
        str(view["resolution_due_at"])
    )
    assert found["workflow"] == "running" and found["workflow_task"] == "none"
    assert found["task_queue"] == settings.task_queue
    assert found["last_poll"], "the worker polled seconds ago"
    assert "timeline" not in found
    assert took < 30, took  # --wait 2 bounds the wait, where a query alone waits much longer

    # A change waits for a worker: said, with since when. In a pipe: one tab-separated
    # line per field.
    handle = dev_env.client.get_workflow_handle(incident)
    await handle.cancel()
    code, out, err = await invoke(env, "status", incident, "--wait", "1")
    assert code == PUBLISHED_EXIT, (code, out, err)
    fields = dict(line.split("\t") for line in out.splitlines())
    assert (fields["status"], fields["priority"], fields["breached"]) == (
        "in_progress",
        "P2",
        "no",
    ), out
    assert fields["workflow task"] == "waiting for a worker, attempt 1", out
    assert datetime.fromisoformat(fields["workflow task since"]).tzinfo is not None, out
    assert fields["task queue"] == settings.task_queue, out
    await handle.terminate("test over")
    # Closed: what it published last; the task it had waiting is gone with the run.
    code, out, err = await invoke(env, "status", incident, "--wait", "1", "--json")
    assert code == PUBLISHED_EXIT, (code, out, err)
    found = json.loads(out)
    assert (found["workflow"], found["status"]) == ("terminated", "in_progress"), found
    assert found["workflow_task"] == "none" and found["workflow_task_since"] is None, found


async def test_an_incident_no_worker_ever_opened_shows_nothing_it_did_not_publish(
    dev_env: WorkflowEnvironment, settings: Settings
) -> None:
    """Started, its first task never run, no worker ever polled its task queue: said at
    once, without waiting; status, priority and breach unknown (not "no"). Terminated then,
    with a worker back: the query is refused for what it is."""
    env = cli_env(dev_env, settings)
    incident = await opened(
        env, "open", "--title", "VPN down", "--service-level", "gold", "--priority", "P3",
    )  # fmt: skip
    began = time.monotonic()
    code, out, err = await invoke(env, "status", incident, "--json")  # the default wait, 10 s
    took = time.monotonic() - began
    assert code == PUBLISHED_EXIT, (code, out, err)
    found = json.loads(out)
    assert (
        found["reason"] == f"no worker polled task queue {settings.task_queue} in the last minutes"
    )
    assert took < 10, took  # no worker to wait for
    assert (found["status"], found["priority"], found["breached"]) == ("?", "?", None), found
    assert found["title"] == "VPN down" and found["last_poll"] is None
    assert found["workflow_task"] == "waiting for a worker, attempt 1"
    await dev_env.client.get_workflow_handle(incident).terminate("never opened")
    async with build_worker(dev_env.client, settings):
        code, out, err = await invoke(env, "status", incident, "--wait", "5")
    assert code == 1 and not out and "closed before" in err, (code, out, err)


async def published_status(handle: WorkflowHandle[Any, Any]) -> None:
    assert (await search_attributes(handle)).get(CRISIS_STATUS.name) == "active"


async def test_with_every_worker_down_crisis_status_shows_what_the_crisis_published(
    dev_env: WorkflowEnvironment, settings: Settings
) -> None:
    env = cli_env(dev_env, settings)
    async with build_worker(dev_env.client, settings):
        crisis = await opened(
            env, "crisis", "open", "--title", "Flood at the main site",
            "--criterion", "natural_disaster",
        )  # fmt: skip
        view = await answered(env, "crisis", "status", crisis)
        # It answers once composed; it publishes once opened (at night, after the on-call
        # page): the workers stop after that.
        await assert_eventually(
            partial(published_status, dev_env.client.get_workflow_handle(crisis))
        )

    code, out, err = await invoke(env, "crisis", "status", crisis, "--wait", "1", "--json")
    assert code == PUBLISHED_EXIT, (code, out, err)
    assert f"{crisis} did not answer" in " ".join(err.split())
    found = json.loads(out)
    assert (found["crisis"], found["status"], found["level"]) == (crisis, "active", view["level"])
    assert found["title"] == "Flood at the main site" and found["workflow"] == "running"
    await dev_env.client.get_workflow_handle(crisis).terminate("test over")


async def test_with_a_worker_status_answers_as_before(
    dev_env: WorkflowEnvironment, settings: Settings
) -> None:
    """--wait only bounds the wait: a worker's answer is the whole view, exit status 0."""
    env = cli_env(dev_env, settings)
    async with build_worker(dev_env.client, settings):
        incident = await opened(
            env, "open", "--title", "VPN down", "--service-level", "gold", "--priority", "P3",
        )  # fmt: skip
        await answered(env, "status", incident)
        code, out, err = await invoke(env, "status", incident, "--wait", "5", "--json")
        assert code == 0 and not err, (code, err)
        assert json.loads(out)["timeline"]
        code, _, err = await invoke(env, "status", incident, "--wait", "0")
        assert code == 2 and "--wait" in err
        await dev_env.client.get_workflow_handle(incident).terminate("test over")
