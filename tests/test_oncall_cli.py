"""``vigie oncall check`` against the Opsgenie stand-in over HTTP, and ``vigie schedules apply``
against a real dev server."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import pytest_asyncio
from pydantic import SecretStr
from temporalio.client import ScheduleOverlapPolicy
from temporalio.service import RPCError, RPCStatusCode
from temporalio.testing import WorkflowEnvironment
from typer.testing import CliRunner

from starters.cli import app
from starters.dev.opsgenie_standin import OpsgenieStandIn
from starters.serving import serving
from tests.conftest import free_port
from workers.policy_file import load_policy
from workers.readiness_schedule import (
    SCHEDULE_ID,
    apply_readiness_schedule,
    readiness_schedule,
    schedule_id,
)
from workers.settings import Settings
from workflows.oncall_gaps import Cycle, next_cycle

runner = CliRunner()
PARIS = ZoneInfo("Europe/Paris")


@dataclass
class Check:
    standin: OpsgenieStandIn
    env: dict[str, str]
    cycle: Cycle

    async def __call__(self, *args: str) -> tuple[int, str, str]:
        result = await asyncio.to_thread(
            runner.invoke, app, ["oncall", "check", *args], env=self.env
        )
        return result.exit_code, result.stdout, result.stderr


@pytest_asyncio.fixture
async def check(config_dir: Path) -> AsyncIterator[Check]:
    standin = OpsgenieStandIn(api_key="k", schedules={"astreinte_technique": ["ann@example.com"]})
    port = free_port()
    env = {
        "VIGIE_CONFIG_DIR": str(config_dir),
        "VIGIE_OPSGENIE_API_URL": f"http://127.0.0.1:{port}",
        "VIGIE_OPSGENIE_API_KEY": "k",
        "VIGIE_OPSGENIE_PROVIDER": "opsgenie",
    }
    cycle = next_cycle(datetime.now(UTC), load_policy(config_dir).readiness, "Europe/Paris")
    async with serving(standin.app(), "127.0.0.1", port):
        yield Check(standin, env, cycle)


def minute(value: datetime) -> str:
    return value.astimezone(PARIS).strftime("%Y-%m-%d %H:%M %Z")


async def test_a_covered_cycle_prints_nothing_and_exits_0(check: Check) -> None:
    code, out, err = await check()
    assert code == 0, err
    assert out == ""
    assert f"cycle {minute(check.cycle.start)} → {minute(check.cycle.end)}" in err
    assert err.rstrip().endswith(": covered")


async def test_each_gap_is_printed_and_the_exit_status_is_1(check: Check) -> None:
    first = (check.cycle.start + timedelta(days=1, hours=12), check.cycle.start + timedelta(days=2))
    second = (check.cycle.end - timedelta(hours=3, minutes=30), check.cycle.end)
    check.standin.gaps["astreinte_technique"] = [first, second]
    code, out, err = await check()
    assert code == 1
    assert out.splitlines() == [
        f"astreinte_technique\t{minute(first[0])}\t{minute(first[1])}",
        f"astreinte_technique\t{minute(second[0])}\t{minute(second[1])}",
    ]
    assert "NOT covered" in err

    code, out, _ = await check("--json")
    assert code == 1
    found = json.loads(out)
    assert found["covered"] is False
    assert found["cycle"]["start"] == check.cycle.start.astimezone(PARIS).isoformat()
    (customer,) = found["customers"]
    assert customer["customer"] == "client"
    assert customer["schedules"][0]["gaps"][0] == {
        "from": first[0].astimezone(PARIS).isoformat(),
        "to": first[1].astimezone(PARIS).isoformat(),
    }


async def test_an_empty_rotation_is_printed_over_the_whole_cycle(check: Check) -> None:
    check.standin.schedules["astreinte_technique"] = []
    code, out, _ = await check()
    assert code == 1
    start, end = minute(check.cycle.start), minute(check.cycle.end)
    assert out.splitlines() == [  # one row: the gap, and why
        f"astreinte_technique\t{start}\t{end}\trotation 'Rotation' empty",
    ]


async def test_an_unreadable_schedule_is_not_covered(check: Check) -> None:
    check.standin.faults += [500]
    code, out, err = await check()
    assert code == 1 and out == ""
    assert "schedule 'astreinte_technique' could not be read: HTTP 500" in err


async def test_an_unknown_customer_is_bad_input(check: Check) -> None:
    code, _, err = await check("--customer", "nobody")
    assert code == 2 and "no customer 'nobody'" in err
    code, _, _ = await check("--customer", "client")
    assert code == 0


async def test_without_an_api_key_nothing_is_asked(check: Check) -> None:
    check.env["VIGIE_OPSGENIE_API_KEY"] = ""
    code, _, err = await check()
    assert code == 2 and "VIGIE_OPSGENIE_API_KEY" in err
    assert check.standin.calls == []


# ----------------------------------------------------------------------------- the schedule


@pytest.fixture
def with_key(settings: Settings) -> Settings:
    return settings.model_copy(update={"opsgenie_api_key": SecretStr("k")})


async def test_schedule_apply_is_idempotent_and_keeps_a_pause(
    dev_env: WorkflowEnvironment, with_key: Settings, config_dir: Path
) -> None:
    client = dev_env.client
    # One per task queue: workers of another queue never take over the default one.
    assert schedule_id("incidents") == SCHEDULE_ID
    sid = schedule_id(with_key.task_queue)
    assert sid == f"{SCHEDULE_ID}-{with_key.task_queue}"
    handle = client.get_schedule_handle(sid)
    # What an earlier release made for this queue, under the default queue's name: replaced.
    former = await client.create_schedule(
        SCHEDULE_ID, readiness_schedule(load_policy(config_dir), with_key.task_queue)
    )
    try:
        applied, detail = await apply_readiness_schedule(client, with_key)
        assert applied == "created", detail
        with pytest.raises(RPCError) as gone:
            await former.describe()
        assert gone.value.status == RPCStatusCode.NOT_FOUND
        described = await handle.describe()
        spec = described.schedule.spec
        assert spec.time_zone_name == "Europe/Paris"
        (calendar,) = spec.calendars
        assert [r.start for r in calendar.day_of_week] == [1]  # Monday
        assert [r.start for r in calendar.hour] == [8] and [r.start for r in calendar.minute] == [0]
        assert described.schedule.policy.overlap == ScheduleOverlapPolicy.ALLOW_ALL
        action = described.schedule.action
        assert action.workflow == "OnCallReadinessWorkflow"  # type: ignore[attr-defined]
        assert action.task_queue == with_key.task_queue  # type: ignore[attr-defined]
        # Created once at once: the coming cycle is watched without waiting for Monday.
        assert described.info.num_actions == 1
        first_run = described.info.recent_actions[0].action.workflow_id
        assert first_run.startswith(f"oncall-readiness-{with_key.task_queue}-")

        await handle.pause(note="holidays")
        text = (config_dir / "policy.toml").read_text(encoding="utf-8")
        (config_dir / "policy.toml").write_text(
            text.replace('cycle_day = "mon"', 'cycle_day = "fri"'), encoding="utf-8"
        )
        applied, _ = await apply_readiness_schedule(client, with_key)
        assert applied == "updated"
        described = await handle.describe()
        assert described.schedule.state.paused and described.schedule.state.note == "holidays"
        assert [r.start for r in described.schedule.spec.calendars[0].day_of_week] == [5]
        assert described.info.num_actions == 1  # an update starts nothing

        # A worker or a shell without a key leaves the Schedule the others keep.
        keyless = with_key.model_copy(update={"opsgenie_api_key": None})
        applied, why = await apply_readiness_schedule(client, keyless)
        assert applied == "kept" and "no schedule API" in why, why
        assert (await handle.describe()).schedule.state.paused
        # A policy with nothing to watch turns it off, key or no key.
        unwatched = load_policy(config_dir).model_copy(update={"customers": []})
        assert (await apply_readiness_schedule(client, keyless, unwatched))[0] == "deleted"
        applied, why = await apply_readiness_schedule(client, keyless)
        assert applied == "off" and "no schedule API" in why  # and none is created
        await client.get_workflow_handle(first_run).terminate("test over")
    finally:
        try:
            await handle.delete()
        except Exception:
            pass


async def test_schedules_apply_command(
    dev_env: WorkflowEnvironment, config_dir: Path, settings: Settings
) -> None:
    env = {
        "TEMPORAL_ADDRESS": dev_env.client.service_client.config.target_host,
        "TEMPORAL_NAMESPACE": dev_env.client.namespace,
        "VIGIE_CONFIG_DIR": str(config_dir),
        "VIGIE_TASK_QUEUE": settings.task_queue,
        "VIGIE_OPSGENIE_API_KEY": "",
    }
    result = await asyncio.to_thread(runner.invoke, app, ["schedules", "apply"], env=env)
    assert result.exit_code == 0, result.stderr
    assert result.stdout.startswith(
        f"{schedule_id(settings.task_queue)}: off (no schedule API is configured"
    )
    # One command applies every Schedule Vigie runs: the monthly service review too.
    review = f"vigie-service-review-{settings.task_queue}: "
    assert review in result.stdout.splitlines()[-1]
