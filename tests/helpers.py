"""Small helpers shared by the workflow tests."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

import pytest
from temporalio.api.enums.v1 import EventType
from temporalio.api.history.v1 import ActivityTaskScheduledEventAttributes
from temporalio.client import Client, WorkflowFailureError, WorkflowHandle, WorkflowQueryFailedError
from temporalio.service import RPCError, RPCStatusCode
from temporalio.testing import WorkflowEnvironment

from tests.conftest import free_port
from tests.workflow_health import failed_tasks, report
from workers.settings import Settings
from workflows import urgency
from workflows.incident import IncidentWorkflow
from workflows.models import IncidentInput, IncidentView

PARIS = ZoneInfo("Europe/Paris")
T = TypeVar("T")


async def eventually(check: Callable[[], T], within: float = 15.0) -> T:
    """Polls ``check`` (real time) until it returns something truthy."""
    deadline = asyncio.get_running_loop().time() + within
    while True:
        result = check()
        if result:
            return result
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"condition not met within {within}s: last result {result!r}")
        await asyncio.sleep(0.1)


def mail_server_down(settings: Settings) -> tuple[int, Settings]:
    """A port where no mail server listens yet (a test starts its sink there later), and the
    settings that send mail to it."""
    port = free_port()
    return port, settings.model_copy(update={"smtp_port": port})


async def open_incident(
    client: Client, task_queue: str, **fields: Any
) -> WorkflowHandle[IncidentWorkflow, IncidentView]:
    values: dict[str, Any] = {
        "title": "Checkout API down",
        "service_level": "gold",
        "priority": "P1",
        "category": "application",
        "description": "HTTP 500 on every checkout since 09:58",
        "application": "checkout",
        "requesters": ["customer@example.org"],
        "opened_by": "tester",
    }
    values.update(fields)
    input = IncidentInput(**values)
    handle = await client.start_workflow(
        IncidentWorkflow.run,
        input,
        id=f"incident-test-{uuid.uuid4().hex[:10]}",
        task_queue=task_queue,
        # The key its class gives it, as the CLI and the webhook start it.
        priority=urgency.of_incident(input.customer, input.arrives_as_p1()),
    )
    return handle


async def refused_at_start(
    client: Client, task_queue: str, workflow_type: str, *inputs: Any
) -> tuple[WorkflowHandle[Any, Any], BaseException | None]:
    """A run started by hand (``inputs`` as sent) that must end failed: its handle and the
    failure's cause."""
    handle: WorkflowHandle[Any, Any] = await client.start_workflow(
        workflow_type,
        args=list(inputs),
        id=f"{workflow_type.removesuffix('Workflow').lower()}-by-hand-{uuid.uuid4().hex[:8]}",
        task_queue=task_queue,
    )
    with pytest.raises(WorkflowFailureError) as failed:
        await handle.result()
    return handle, failed.value.cause


async def assert_eventually(
    check: Callable[[], Awaitable[T]],
    within: float = 15.0,
    handle: WorkflowHandle[Any, Any] | None = None,
) -> T:
    """Awaits ``check`` until it stops raising AssertionError (real time), as sdk-python's
    test helpers do. Any other error fails at once; so does a failed workflow task of
    ``handle``, rather than waiting out the deadline on a workflow that cannot progress."""
    deadline = asyncio.get_running_loop().time() + within
    while True:
        try:
            return await check()
        except AssertionError:
            if handle is not None:
                failed = await failed_tasks(handle._client, [(handle.id, None)])
                if failed:
                    raise AssertionError(report(failed)) from None
            if asyncio.get_running_loop().time() > deadline:
                raise
        await asyncio.sleep(0.1)


async def status(handle: WorkflowHandle[Any, Any]) -> IncidentView:
    """The incident's ``status``; a query that arrives before the workflow has loaded its
    policy (its first task) is asked again."""

    async def ask() -> IncidentView:
        try:
            return await handle.query(IncidentWorkflow.status)
        except WorkflowQueryFailedError as exc:
            raise AssertionError(f"status not answered yet: {exc}") from exc
        except RPCError as exc:
            # A query that races a continue-as-new can be handed to the run that just
            # completed; the server then lets it time out. Asked again, the new run answers.
            if exc.status != RPCStatusCode.DEADLINE_EXCEEDED:
                raise
            raise AssertionError(f"status not answered yet: {exc.message}") from exc

    return await assert_eventually(ask, within=30.0, handle=handle)


# Skipping in steps of a few hours keeps each call well within its RPC timeout.
SKIP_STEP = timedelta(hours=6)


async def advance(env: WorkflowEnvironment, duration: timedelta) -> None:
    while duration > timedelta(0):
        step = min(duration, SKIP_STEP)
        await env.sleep(step)
        duration -= step


async def sleep_until(env: WorkflowEnvironment, target: datetime) -> None:
    now = await env.get_current_time()
    if target > now:
        await advance(env, target - now)


def next_business_morning(now: datetime, weekday: int, hour: int = 9) -> datetime:
    """The next given weekday (0 = Monday) at ``hour`` Paris time, at least a day ahead."""
    day = (now.astimezone(PARIS) + timedelta(days=1)).date()
    while day.weekday() != weekday:
        day += timedelta(days=1)
    return datetime(day.year, day.month, day.day, hour, tzinfo=PARIS)


def next_open_morning(now: datetime, weekday: int, hour: int = 9) -> datetime:
    """Like ``next_business_morning`` but skips public holidays of the shipped calendar."""
    from workers.policy_file import load_policy
    from workers.settings import DEFAULT_CONFIG_DIR
    from workflows.calendar import BusinessClock

    clock = BusinessClock(load_policy(DEFAULT_CONFIG_DIR).business_hours)
    candidate = next_business_morning(now, weekday, hour)
    while not clock.is_open_day(candidate.date()):
        candidate = next_business_morning(candidate, weekday, hour)
    return candidate


async def status_when(
    handle: WorkflowHandle[Any, Any],
    predicate: Callable[[IncidentView], bool],
    within: float = 15.0,
) -> IncidentView:
    """Queries the incident until ``predicate`` holds (signals are applied asynchronously)."""

    async def check() -> IncidentView:
        view = await status(handle)
        assert predicate(view), f"incident never matched; last timeline: {view.timeline}"
        return view

    return await assert_eventually(check, within, handle)


async def on_a_business_morning(env: WorkflowEnvironment) -> None:
    """Moves a time-skipping server to the next open Tuesday at 10:00 Paris time, so that a
    test's mails do not depend on the hour it runs at (a P1 at night pages the on-call)."""
    await sleep_until(env, next_open_morning(await env.get_current_time(), weekday=1, hour=10))


async def search_attributes(handle: WorkflowHandle[Any, Any]) -> dict[str, Any]:
    """The workflow's search attributes, leaving out unset ones. The time-skipping server
    keeps an unset Datetime attribute as a null value, which the SDK's describe() cannot
    decode; a real server drops it."""
    from temporalio.api.common.v1 import WorkflowExecution
    from temporalio.api.workflowservice.v1 import DescribeWorkflowExecutionRequest
    from temporalio.converter import default

    described = await handle._client.workflow_service.describe_workflow_execution(
        DescribeWorkflowExecutionRequest(
            namespace=handle._client.namespace,
            execution=WorkflowExecution(workflow_id=handle.id),
        )
    )
    fields = described.workflow_execution_info.search_attributes.indexed_fields
    found = {name: default().payload_converter.from_payloads([p])[0] for name, p in fields.items()}
    return {name: value for name, value in found.items() if value is not None}


def short_runs(config_dir: Path, in_flight_wait: bool = False) -> None:
    """Makes the test policy continue as new after 200 events (and, with ``in_flight_wait``,
    wait a second at most for the sends in flight), so that a test sees a new run soon."""
    policy = config_dir / "policy.toml"
    text = policy.read_text(encoding="utf-8")
    changes = [("continue_as_new_after_events = 8000", "continue_as_new_after_events = 200")]
    if in_flight_wait:
        changes.append(("in_flight_wait_seconds = 120", "in_flight_wait_seconds = 1"))
    for old, new in changes:
        assert old in text, f"test policy changed: {old!r} not found"
        text = text.replace(old, new)
    policy.write_text(text, encoding="utf-8")


async def scheduled_activities(
    handle: WorkflowHandle[Any, Any],
) -> list[ActivityTaskScheduledEventAttributes]:
    """Every activity the workflow's history scheduled, in order."""
    return [
        event.activity_task_scheduled_event_attributes
        async for event in handle.fetch_history_events()
        if event.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED
    ]
