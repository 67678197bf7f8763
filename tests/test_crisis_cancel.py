"""A crisis cancelled from Temporal, at every moment of its life: what it publishes, who is
told, and what `vigie crisis status` says (time-skipping server, and a dev server for the
CLI)."""

from __future__ import annotations

import asyncio
from datetime import date, datetime, time, timedelta
from functools import partial
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from temporalio import activity
from temporalio.client import WorkflowFailureError, WorkflowHandle, WorkflowQueryFailedError
from temporalio.exceptions import CancelledError
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from activities.policy import PolicyActivities
from starters.dev.smtp_sink import MailSink
from tests.helpers import (
    PARIS,
    assert_eventually,
    eventually,
    on_a_business_morning,
    search_attributes,
    sleep_until,
)
from tests.test_crisis_chronogram import mails, start_crisis, to
from tests.test_crisis_cli import invoke
from workers.file_cache import FileCache
from workers.matrix_file import load_matrix
from workers.policy_file import POLICY_FILE, load_policy
from workers.settings import Settings
from workers.worker import DATA_CONVERTER, baseline_gate, build_worker
from workflows.crisis import CrisisWorkflow
from workflows.crisis_models import CloseCrisisInput, ConfirmNominalInput, CrisisInput, CrisisView
from workflows.search import CRISIS_STATUS, NEXT_DUE

PAYMENTS = CrisisInput(title="Payments down")
PILOTS = {"incident-manager@example.com", "delivery-manager@example.com"}


@activity.defn(name="load_policy")
async def policy_never_read(input: Any) -> None:
    await asyncio.Event().wait()  # until the worker stops


@activity.defn(name="on_call_recipients")
async def on_call_never_known(input: Any) -> None:
    await asyncio.Event().wait()


def opening_worker(server: WorkflowEnvironment, settings: Settings, stuck: Any) -> Worker:
    """A worker for crises whose activity ``stuck`` never answers: a crisis waits there in
    its opening. The policy and the matrix are read from the test's files otherwise."""
    policies = PolicyActivities(
        FileCache(settings.config_dir / POLICY_FILE, partial(load_policy, settings.config_dir),
                  lambda: date.today().year),
        source="test",
        last_valid=load_policy(settings.config_dir),
        load_matrix=FileCache(settings.matrix_path, partial(load_matrix, settings.matrix_path)),
    )  # fmt: skip
    served = [policies.load_policy, policies.load_escalation_matrix, on_call_never_known]
    config = server.client.config()
    config["data_converter"] = DATA_CONVERTER
    return Worker(
        type(server.client)(**config),
        task_queue=settings.task_queue,
        workflows=[CrisisWorkflow],
        activities=[stuck, *served[1:]] if stuck is policy_never_read else served,
        patch_activation_callback=baseline_gate(settings.patch_baseline),  # as workers run
    )


async def waiting_on(handle: WorkflowHandle[Any, Any], activity: str) -> None:
    """Until the workflow waits for ``activity`` to be picked up."""

    async def pending() -> None:
        described = await handle.describe()
        raw = described.raw_description.pending_activities
        assert any(a.activity_type.name == activity for a in raw), raw

    await assert_eventually(pending, handle=handle)


async def published(handle: WorkflowHandle[Any, Any]) -> dict[str, Any]:
    found = await search_attributes(handle)
    return {key: found.get(key.name) for key in (CRISIS_STATUS, NEXT_DUE)}


async def cancelled(handle: WorkflowHandle[Any, Any]) -> None:
    await handle.cancel()
    with pytest.raises(WorkflowFailureError) as ended:
        await handle.result()
    assert isinstance(ended.value.cause, CancelledError)


async def test_an_active_crisis_cancelled_tells_the_cell_and_publishes_it(
    skipping_env: WorkflowEnvironment, settings: Settings, sink: MailSink
) -> None:
    await on_a_business_morning(skipping_env)
    async with build_worker(skipping_env.client, settings):
        crisis = await start_crisis(
            skipping_env.client, settings.task_queue, "crisis-cancel-active", PAYMENTS
        )
        assert (await published(crisis))[CRISIS_STATUS] == "active"
        await cancelled(crisis)
        told = (await eventually(lambda: mails(sink, crisis.id, "cancelled")))[0]
        assert PILOTS <= to(told)
        assert await published(crisis) == {CRISIS_STATUS: "cancelled", NEXT_DUE: None}


async def test_the_on_call_paged_at_night_is_told_of_the_cancellation(
    skipping_env: WorkflowEnvironment, settings: Settings, sink: MailSink
) -> None:
    """Woken for a crisis opened at night, the on-call engineer stands down when it is
    cancelled: the cancellation mail goes to them too."""
    now = (await skipping_env.get_current_time()).astimezone(PARIS)
    night = datetime.combine(now.date() + timedelta(days=1), time(3), tzinfo=PARIS)
    await sleep_until(skipping_env, night)
    async with build_worker(skipping_env.client, settings):
        crisis = await start_crisis(
            skipping_env.client, settings.task_queue, "crisis-cancel-night", PAYMENTS
        )
        await eventually(lambda: mails(sink, crisis.id, "on_call"))
        await cancelled(crisis)
        told = (await eventually(lambda: mails(sink, crisis.id, "cancelled")))[0]
    assert PILOTS <= to(told) and "on-call@example.com" in to(told)


async def test_a_closed_crisis_cancelled_stops_awaiting_its_rex_without_a_mail(
    skipping_env: WorkflowEnvironment, settings: Settings, sink: MailSink
) -> None:
    await on_a_business_morning(skipping_env)
    async with build_worker(skipping_env.client, settings):
        crisis = await start_crisis(
            skipping_env.client, settings.task_queue, "crisis-cancel-closed", PAYMENTS
        )
        await crisis.execute_update(CrisisWorkflow.confirm_nominal, ConfirmNominalInput(by="n1"))
        await crisis.execute_update(
            CrisisWorkflow.close_crisis, CloseCrisisInput(by="im", summary="payments back")
        )
        await eventually(lambda: mails(sink, crisis.id, "closing"))
        assert (await published(crisis))[NEXT_DUE] is not None  # the REX is awaited
        await cancelled(crisis)
        view: CrisisView = await crisis.query(CrisisWorkflow.status)
        assert (
            view.status == "cancelled" and view.timeline[-1].sentence == "crisis_cancelled.closed"
        )
        assert "le REX n'est plus attendu" in view.timeline[-1].text
        assert await published(crisis) == {CRISIS_STATUS: "cancelled", NEXT_DUE: None}
    assert mails(sink, crisis.id, "cancelled") == []  # the worker is gone: nothing can follow


async def test_a_crisis_cancelled_while_it_reads_its_policy_publishes_it_and_says_so(
    dev_env: WorkflowEnvironment, settings: Settings
) -> None:
    async with opening_worker(dev_env, settings, policy_never_read):
        crisis = await dev_env.client.start_workflow(
            CrisisWorkflow.run, PAYMENTS, id=f"crisis-cancel-reading-{settings.task_queue}",
            task_queue=settings.task_queue,
        )  # fmt: skip
        await waiting_on(crisis, "load_policy")
        await cancelled(crisis)
        with pytest.raises(WorkflowQueryFailedError) as refused:
            await crisis.query(CrisisWorkflow.status)
        assert "cancelled while it opened" in str(refused.value)
        assert await published(crisis) == {CRISIS_STATUS: "cancelled", NEXT_DUE: None}


async def test_a_crisis_cancelled_while_it_asks_who_is_on_call_drops_its_first_mails(
    dev_env: WorkflowEnvironment, settings: Settings
) -> None:
    """Outside business hours the opening asks the on-call schedule: cancelled then, the
    crisis had told no one, and tells no one; its search attributes and its timeline say
    it."""
    closed_today(settings.config_dir)
    async with opening_worker(dev_env, settings, on_call_never_known):
        crisis = await dev_env.client.start_workflow(
            CrisisWorkflow.run, CrisisInput(title="Payments down", security_involved=True),
            id=f"crisis-cancel-on-call-{settings.task_queue}", task_queue=settings.task_queue,
        )  # fmt: skip
        await waiting_on(crisis, "on_call_recipients")
        await cancelled(crisis)
        view: CrisisView = await crisis.query(CrisisWorkflow.status)
        assert view.status == "cancelled" and view.mails_pending == 0  # the security alert too
        assert view.timeline[-1].sentence == "crisis_cancelled.opening"
        assert all(m.status != "pending" for m in view.milestones)
        assert await published(crisis) == {CRISIS_STATUS: "cancelled", NEXT_DUE: None}


def closed_today(config_dir: Path) -> None:
    """Today and tomorrow, Paris time, closed days of the test policy: outside business
    hours whenever the test runs."""
    policy = config_dir / "policy.toml"
    today = datetime.now(ZoneInfo("Europe/Paris")).date()
    days = ", ".join(f'"{d}"' for d in (today, today + timedelta(days=1)))
    text = policy.read_text(encoding="utf-8")
    assert "closed_dates = []" in text
    policy.write_text(text.replace("closed_dates = []", f"closed_dates = [{days}]"))


async def test_crisis_status_of_a_crisis_that_ended_while_it_opened(
    dev_env: WorkflowEnvironment, settings: Settings
) -> None:
    """A crisis cancelled or terminated before it read its policy has nothing to show: `vigie
    crisis status` says so in a line, instead of asking to query again or a traceback."""
    client = dev_env.client
    cli = {
        "TEMPORAL_ADDRESS": client.service_client.config.target_host,
        "VIGIE_TASK_QUEUE": settings.task_queue,
    }
    async with opening_worker(dev_env, settings, policy_never_read):
        crises = [
            await client.start_workflow(
                CrisisWorkflow.run,
                PAYMENTS,
                id=f"crisis-{end}-{settings.task_queue}",
                task_queue=settings.task_queue,
            )
            for end in ("cancelled", "terminated")
        ]
        for crisis in crises:
            await waiting_on(crisis, "load_policy")
        await cancelled(crises[0])
        await crises[1].terminate("opened by mistake")
        said = []
        for crisis in crises:
            code, out, err = await invoke(cli, "crisis", "status", crisis.id)
            assert code == 1 and not out and "Traceback" not in err, (code, out, err)
            said.append(" ".join(err.split()))
    assert f"{crises[0].id} could not answer: the crisis was cancelled while it opened" in said[0]
    assert f"{crises[1].id} ended (terminated) before it finished opening" in said[1], said
