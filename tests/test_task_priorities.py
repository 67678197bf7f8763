"""What goes first when workers are behind: the priority keys the server sees (dev server).

The server orders a task queue's backlog by these keys; here the history shows which key
each activity and the crisis were given.
"""

from __future__ import annotations

import asyncio
import json
import logging
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, cast

import pytest
import pytest_asyncio
from temporalio import activity, workflow
from temporalio.api.common.v1 import Priority as ProtoPriority
from temporalio.api.enums.v1 import EventType, WorkflowExecutionStatus
from temporalio.api.workflow.v1 import WorkflowExecutionInfo
from temporalio.api.workflowservice.v1 import DescribeWorkflowExecutionResponse
from temporalio.client import Client, WorkflowExecutionDescription, WorkflowHandle
from temporalio.common import Priority
from temporalio.service import RPCError, RPCStatusCode
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import UnsandboxedWorkflowRunner, Worker

from activities.models import SetTaskPriorityInput
from activities.task_priority import TaskPriorityActivities
from starters.dev.smtp_sink import MailSink
from starters.gateway import TemporalGateway
from starters.incidents import open_incident as start_incident
from starters.updates import send_update
from tests.conftest import BIN
from tests.helpers import (
    assert_eventually,
    eventually,
    open_incident,
    scheduled_activities,
    short_runs,
    status,
    status_when,
)
from tests.test_crisis_chronogram import start_crisis
from tests.test_versions import patch_markers
from workers.settings import Settings
from workers.worker import build_worker
from workflows import urgency
from workflows.crisis_models import CrisisInput, CrisisView, PostUpdateInput
from workflows.incident import PATCH_PRIORITY_CLASS, IncidentWorkflow
from workflows.models import (
    AcknowledgeInput,
    IncidentInput,
    IncidentView,
    QualifyP1Input,
    RecategorizeInput,
    WorklogInput,
)


async def scheduled_keys(handle: WorkflowHandle) -> list[tuple[str, int]]:  # type: ignore[type-arg]
    """(activity, or ``mail <kind>``) and its priority key (0: none, the server's default),
    for every activity the history scheduled, in order."""
    found = []
    for attrs in await scheduled_activities(handle):
        name = attrs.activity_type.name
        if name == "send_incident_mail":
            name = "mail " + json.loads(attrs.input.payloads[0].data)["mail"]["kind"]
        found.append((name, attrs.priority.priority_key))
    return found


async def test_deadline_work_goes_first_ledger_writes_last_and_a_crisis_is_urgent(
    dev_env: WorkflowEnvironment, settings: Settings, sink: MailSink
) -> None:
    client = dev_env.client
    # Gold P1, acknowledgement due 15 min after T0: the warning and the breach fall due as
    # the incident opens (the breach alone is told, to the team too).
    t0 = datetime.now(UTC) - timedelta(minutes=20)
    async with build_worker(client, settings):
        incident = await open_incident(client, settings.task_queue, t0=t0)
        await status_when(incident, lambda v: v.ack_breached)
        await incident.execute_update(
            IncidentWorkflow.qualify_p1, QualifyP1Input(by="im", verdict="major")
        )
        await eventually(lambda: [m for m in sink.about(incident.id) if "dépassé" in m["Subject"]])
        for _ in range(100):  # the mail that tells the qualification is scheduled after it
            keys = await scheduled_keys(incident)
            if ("mail qualified", 0) in keys:
                break
            await asyncio.sleep(0.1)

    by_name: dict[str, set[int]] = {}
    for name, key in keys:
        by_name.setdefault(name, set()).add(key)
    assert by_name["load_policy"] == {1}  # no deadline is armed before the policy is read
    assert "mail ack_warning" not in by_name
    assert by_name["mail ack_breach"] == {1}
    assert by_name["mail opened"] == {0}  # routine: the server's default
    assert by_name["mail qualified"] == {0}
    assert by_name["record_incident_facts"] == {5}
    # Read here only to page the on-call engineer of a P1 outside business hours.
    assert by_name.get("load_escalation_matrix", {1}) == {1}
    assert by_name.get("opsgenie_who_is_on_call", {1}) == {1}
    started = [
        e.start_child_workflow_execution_initiated_event_attributes
        async for e in incident.fetch_history_events()
        if e.event_type == EventType.EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_INITIATED
    ]
    assert [(a.workflow_type.name, a.priority.priority_key) for a in started] == [
        ("CrisisWorkflow", 1)
    ]


async def test_a_crisis_keeps_its_key_when_it_continues_as_new(
    dev_env: WorkflowEnvironment, settings: Settings, config_dir: Path
) -> None:
    """Its activities inherit key 1 (the history shows none on them) but its ledger writes,
    which set key 5; the next run of a crisis keeps key 1 and its customer's fairness key."""
    short_runs(config_dir)
    client = dev_env.client
    async with build_worker(client, settings):
        handle = await start_crisis(
            client,
            settings.task_queue,
            f"crisis-priority-{uuid.uuid4().hex[:6]}",
            CrisisInput(title="Datacenter A flooded", opened_by="im"),
            priority=Priority(priority_key=1, fairness_key="acme"),
        )  # its first task has run: it takes Updates
        first_run = (await handle.describe()).run_id
        n = 0
        while (await handle.describe()).run_id == first_run:
            assert n < 200, "the crisis never continued as new"
            await send_update(
                handle, "post_update", PostUpdateInput(by="im", progress=f"step {n}"), CrisisView
            )
            n += 1
        described = await handle.describe()
        kept = described.raw_description.workflow_execution_info.priority
        assert (kept.priority_key, kept.fairness_key) == (1, "acme")
        first = client.get_workflow_handle(handle.id, run_id=first_run)
        keys = {(name, key) for name, key in await scheduled_keys(first)}
    assert ("record_crisis_facts", 5) in keys
    # The policy read, the matrix read and the conference: inherited from the crisis, key 1.
    assert {key for name, key in keys if name != "record_crisis_facts"} == {0}


ran: list[int] = []


@activity.defn(name="priority_probe")
async def priority_probe(key: int) -> None:
    ran.append(key)


@workflow.defn(name="PriorityProbe", sandboxed=False)
class PriorityProbe:
    """Activities that set only their key, as Vigie's do (the workflow's fairness key is
    inherited); each tells its label when it runs."""

    @workflow.run
    async def run(self, count: int, key: int, label: int) -> None:
        await asyncio.gather(
            *(
                workflow.execute_activity(
                    priority_probe,
                    label,
                    start_to_close_timeout=timedelta(seconds=30),
                    priority=Priority(priority_key=key),
                )
                for _ in range(count)
            )
        )


async def one_partition_server(*settings: str) -> WorkflowEnvironment:
    """A dev server whose task queues have one partition (the server keeps key order within
    a partition, and spreads a queue's tasks over four by default), with these settings."""
    args: list[str] = []
    for value in ("matching.numTaskqueueReadPartitions=1",
                  "matching.numTaskqueueWritePartitions=1", *settings):  # fmt: skip
        args += ["--dynamic-config-value", value]
    return await WorkflowEnvironment.start_local(
        dev_server_existing_path=str(BIN / "temporal"), dev_server_extra_args=args
    )


@pytest_asyncio.fixture
async def one_partition() -> AsyncIterator[WorkflowEnvironment]:
    env = await one_partition_server()
    yield env
    await env.shutdown()


Batch = tuple[int, int, int, Priority]
"""Activities to schedule: how many, their key, their label, and their workflow's priority."""


async def order_run(env: WorkflowEnvironment, waiting: Batch, late: Batch) -> list[int]:
    """Schedules ``waiting``, then ``late``, with no worker to run them; then runs them one
    at a time and returns their labels in the order they ran."""
    client, queue = env.client, f"probe-{uuid.uuid4().hex[:8]}"
    runner = UnsandboxedWorkflowRunner()
    ran.clear()
    handles = []
    async with Worker(client, task_queue=queue, workflows=[PriorityProbe], workflow_runner=runner):
        for n, (count, key, label, priority) in enumerate((waiting, late)):
            handle = await client.start_workflow(
                PriorityProbe.run, args=[count, key, label], id=f"{queue}-{n}",
                task_queue=queue, priority=priority,
            )  # fmt: skip
            await wait_for_scheduled(handle, count)
            handles.append(handle)
    async with Worker(
        client, task_queue=queue, workflows=[PriorityProbe], activities=[priority_probe],
        workflow_runner=runner, max_concurrent_activities=1,
    ):  # fmt: skip
        for handle in handles:
            await handle.result()
    for handle in handles:
        async for event in handle.fetch_history_events():
            assert event.event_type != EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED
    assert len(ran) == waiting[0] + late[0]
    return list(ran)


async def test_the_dev_server_hands_out_a_backlog_by_key(
    one_partition: WorkflowEnvironment,
) -> None:
    """What the keys rely on: 30 activities at key 5 wait, then 3 at key 1 are scheduled; a
    worker that then runs one activity at a time runs the key-1 ones first (give or take the
    few tasks already on their way to it)."""
    order = await order_run(one_partition, (30, 5, 5, Priority()), (3, 1, 1, Priority()))
    assert order[:6].count(1) == 3, order


async def wait_for_scheduled(handle: WorkflowHandle, count: int) -> None:  # type: ignore[type-arg]
    for _ in range(100):
        if len(await scheduled_activities(handle)) == count:
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"{handle.id}: {count} activities never scheduled")


async def test_an_incident_is_started_with_its_customer_as_fairness_key(
    dev_env: WorkflowEnvironment, settings: Settings
) -> None:
    """As the CLI and the webhook start it, at key 2 when it arrives as a P1; its crisis
    inherits the fairness key (and has key 1)."""
    client = dev_env.client
    async with build_worker(client, settings):
        acme = IncidentInput(
            title="Checkout down", service_level="gold", priority="P1", opened_by="tester",
            customer="acme",
        )  # fmt: skip
        incident_id = await start_incident(client, settings.task_queue, acme)
        incident = client.get_workflow_handle_for(IncidentWorkflow.run, incident_id)
        await incident.execute_update(
            IncidentWorkflow.qualify_p1, QualifyP1Input(by="im", verdict="major")
        )
        view = await status_when(incident, lambda v: v.crisis_id is not None)
        assert view.crisis_id is not None
        crisis = client.get_workflow_handle(view.crisis_id)

        async def crisis_started() -> WorkflowExecutionDescription:
            try:
                return await crisis.describe()
            except RPCError as exc:  # not started yet
                raise AssertionError(str(exc)) from exc

        await assert_eventually(crisis_started)
        first = await anext(aiter(incident.fetch_history_events()))
        started = first.workflow_execution_started_event_attributes
        assert started.priority.priority_key == urgency.P1_INCIDENT  # what the history shows
        for handle, key in ((incident, urgency.P1_INCIDENT), (crisis, 1)):
            info = (await handle.describe()).raw_description.workflow_execution_info
            assert (info.priority.priority_key, info.priority.fairness_key) == (key, "acme")
        without = await start_incident(
            client, settings.task_queue,
            IncidentInput(title="Disk full", service_level="bronze", priority="P3",
                          opened_by="tester"),
        )  # fmt: skip
        other = client.get_workflow_handle_for(IncidentWorkflow.run, without)
        info = (await other.describe()).raw_description
        assert info.workflow_execution_info.priority.fairness_key == ""
        assert info.workflow_execution_info.priority.priority_key == 0  # a P3: the default
        await status(other)  # it opened
        # The webhook's way in: the alert's customer:<name> tag made the input's customer.
        hooked = f"incident-hook-{uuid.uuid4().hex[:8]}"
        gateway = TemporalGateway(client, settings.task_queue)
        outcome = await gateway.start(hooked, acme.model_copy(update={"title": "From an alert"}))
        assert outcome == "started"
        described = await client.get_workflow_handle(hooked).describe()
        given = described.raw_description.workflow_execution_info.priority
        assert (given.priority_key, given.fairness_key) == (urgency.P1_INCIDENT, "acme")
        await status(client.get_workflow_handle_for(IncidentWorkflow.run, hooked))
        # An alert's later event for an incident not yet open: signal-with-start, same keys.
        signalled = f"incident-hook-{uuid.uuid4().hex[:8]}"
        outcome = await gateway.signal(
            signalled, "acknowledge", AcknowledgeInput(by="ops"), acme.model_copy()
        )
        assert outcome == "delivered"
        described = await client.get_workflow_handle(signalled).describe()
        given = described.raw_description.workflow_execution_info.priority
        assert (given.priority_key, given.fairness_key) == (urgency.P1_INCIDENT, "acme")
        opened = client.get_workflow_handle_for(IncidentWorkflow.run, signalled)
        await status_when(opened, lambda v: v.status == "in_progress")


def test_an_incident_that_arrives_as_a_p1_goes_first() -> None:
    """What the sender says, in the workflow's order: priority, Opsgenie's, impact and
    urgency."""

    def arrives(**fields: Any) -> bool:
        return IncidentInput(title="t", service_level="gold", **fields).arrives_as_p1()

    assert arrives(priority="P1")
    assert not arrives(priority="P2", opsgenie_priority="P1")  # the priority given wins
    assert arrives(opsgenie_priority="P1")
    assert not arrives(opsgenie_priority="P2", impact="high", urgency="high")
    assert arrives(impact="high", urgency="high")
    assert not arrives(impact="high", urgency="medium")
    assert not arrives()  # nothing said: P3, with the priority recorded as missing
    assert urgency.of_incident(None, p1=True) == Priority(priority_key=urgency.P1_INCIDENT)
    assert urgency.of_incident("acme", p1=True) == Priority(
        priority_key=urgency.P1_INCIDENT, fairness_key="acme"
    )


def test_a_fairness_key_fits_the_server_limit() -> None:
    assert urgency.fairness_key("acme") == "acme"
    assert urgency.of_incident(None) == urgency.ROUTINE
    assert urgency.of_incident("acme") == Priority(fairness_key="acme")
    long_a, long_b = "a" * 79 + "x", "a" * 79 + "y"  # customer names: at most 80 characters
    keys = {urgency.fairness_key(name) for name in (long_a, long_b, "a" * 64)}
    assert len(keys) == 3  # names that share their first 64 characters stay apart
    assert all(len(key.encode()) <= urgency.MAX_FAIRNESS_KEY for key in keys)
    assert urgency.fairness_key(long_a) == urgency.fairness_key(long_a)


@pytest_asyncio.fixture
async def fair_partition() -> AsyncIterator[WorkflowEnvironment]:
    """A dev server with fairness on, and one partition per task queue."""
    env = await one_partition_server("matching.enableFairness=true")
    yield env
    await env.shutdown()


async def test_with_fairness_one_customer_s_backlog_does_not_hold_up_another(
    fair_partition: WorkflowEnvironment,
) -> None:
    """What the fairness keys rely on: 30 activities of customer "storm" wait, then 3 of
    customer "calm" are scheduled, all at the same key; a worker that then runs one activity
    at a time takes turns between the customers, so the calm ones run among the first."""
    storm = (30, 3, 5, urgency.of_incident("storm"))
    calm = (3, 3, 1, urgency.of_incident("calm"))
    order = await order_run(fair_partition, storm, calm)
    assert order[:10].count(1) == 3, order  # in order, they would be the last three


async def keys_of(handle: WorkflowHandle) -> tuple[int, str]:  # type: ignore[type-arg]
    info = (await handle.describe()).raw_description.workflow_execution_info
    return info.priority.priority_key, info.priority.fairness_key


async def keys_become(handle: WorkflowHandle, expected: tuple[int, str]) -> None:  # type: ignore[type-arg]
    async def check() -> None:
        assert await keys_of(handle) == expected

    await assert_eventually(check, handle=handle)


async def test_an_incident_s_key_follows_its_class(
    dev_env: WorkflowEnvironment, settings: Settings, config_dir: Path
) -> None:
    """Recategorized to P1: key 2, by an activity at key 1; back to P2: the default; the
    fairness key kept. A policy that maps an Opsgenie P2 to P1 opens a P1 at key 2, though it
    was not sent as one. A key given otherwise at start is left as it is."""
    client = dev_env.client
    policy = config_dir / "policy.toml"
    text = policy.read_text(encoding="utf-8")
    policy.write_text(text.replace('P2 = "P2"\nP3 = "P3"', 'P2 = "P1"\nP3 = "P3"', 1))
    async with build_worker(client, settings):
        input = IncidentInput(
            title="Invoices late", service_level="gold", priority="P3", opened_by="tester",
            customer="acme", requesters=["customer@example.org"],
        )  # fmt: skip
        incident = client.get_workflow_handle_for(
            IncidentWorkflow.run, await start_incident(client, settings.task_queue, input)
        )
        await status(incident)
        assert await keys_of(incident) == (0, "acme")
        await incident.execute_update(
            IncidentWorkflow.recategorize,
            RecategorizeInput(by="im", priority="P1", reason="every customer blocked"),
        )
        await keys_become(incident, (2, "acme"))
        await incident.execute_update(
            IncidentWorkflow.qualify_p1,
            QualifyP1Input(by="im", verdict="unconfirmed", new_priority="P2"),
        )
        await keys_become(incident, (0, "acme"))
        sent = [key for name, key in await scheduled_keys(incident) if name == "set_task_priority"]
        assert sent == [1, 1], sent  # each change ahead of the backlog
        events = [e.event_type async for e in incident.fetch_history_events()]
        assert events.count(EventType.EVENT_TYPE_WORKFLOW_EXECUTION_OPTIONS_UPDATED) == 2
        assert PATCH_PRIORITY_CLASS in await patch_markers(incident)  # replays without it

        mapped = await start_incident(
            client, settings.task_queue,
            input.model_copy(update={"priority": None, "opsgenie_priority": "P2"}),
        )  # fmt: skip
        opened = client.get_workflow_handle_for(IncidentWorkflow.run, mapped)
        assert (await status(opened)).priority == "P1"
        await keys_become(opened, (2, "acme"))

        chosen = await client.start_workflow(
            IncidentWorkflow.run, input, id=f"incident-ui-{uuid.uuid4().hex[:8]}",
            task_queue=settings.task_queue, priority=Priority(priority_key=4),
        )  # fmt: skip
        await chosen.execute_update(
            IncidentWorkflow.recategorize,
            RecategorizeInput(by="im", priority="P1", reason="every customer blocked"),
        )
        await chosen.execute_update(
            IncidentWorkflow.add_worklog, WorklogInput(by="im", text="a later task")
        )
        assert await keys_of(chosen) == (4, "")
        assert "set_task_priority" not in [name for name, _ in await scheduled_keys(chosen)]


class OptionsService:
    """The calls of the workflow service that the activity makes: the run's priority key
    as ``keys`` say, one per read, and an update that answers as told."""

    def __init__(self, keys: list[int], answer: RPCError | None = None) -> None:
        self.keys = keys
        self.answer = answer
        self.updates: list[Any] = []

    async def describe_workflow_execution(self, request: Any, **_rpc: Any) -> Any:
        info = WorkflowExecutionInfo(
            status=WorkflowExecutionStatus.WORKFLOW_EXECUTION_STATUS_RUNNING,
            priority=ProtoPriority(priority_key=self.keys.pop(0), fairness_key="acme"),
        )
        return DescribeWorkflowExecutionResponse(workflow_execution_info=info)

    async def update_workflow_execution_options(self, request: Any, **_rpc: Any) -> None:
        self.updates.append(request)
        if self.answer is not None:
            raise self.answer


class FakeClient:
    namespace = "default"

    def __init__(self, service: OptionsService) -> None:
        self.workflow_service = service


async def set_key(service: OptionsService, input: SetTaskPriorityInput) -> bool:
    return await TaskPriorityActivities(cast(Client, FakeClient(service))).set_task_priority(input)


async def test_the_key_is_changed_for_the_run_that_asked_and_only_from_the_key_it_knew(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Taken: the run's key changes, its fairness key stays. Left as it is, said in the
    worker's log: a key set otherwise meanwhile, a server that refuses the call or keeps the
    former key. A server that does not answer: raised, for the retry policy."""
    ask = SetTaskPriorityInput(workflow_id="incident-1", run_id="run-1", priority_key=2)
    taken = OptionsService(keys=[0, 2])
    assert await set_key(taken, ask)
    (request,) = taken.updates
    assert list(request.update_mask.paths) == ["priority"]
    assert (request.workflow_execution.workflow_id, request.workflow_execution.run_id) == (
        "incident-1",
        "run-1",
    )
    given = request.workflow_execution_options.priority
    assert (given.priority_key, given.fairness_key) == (2, "acme")
    back = ask.model_copy(update={"priority_key": None, "expected_key": 2})
    assert await set_key(OptionsService(keys=[2, 0]), back)

    with caplog.at_level(logging.WARNING, "vigie.task_priority"):
        someone = OptionsService(keys=[1])
        assert not await set_key(someone, ask) and not someone.updates
        refused = rpc_error(RPCStatusCode.INVALID_ARGUMENT, "unknown path: priority")
        assert not await set_key(OptionsService(keys=[0], answer=refused), ask)
        assert not await set_key(OptionsService(keys=[0, 0]), ask)
    said = caplog.text
    assert "incident-1 not changed to key 2: key 1 was set otherwise" in said, said
    assert "not changed to key 2: unknown path: priority (INVALID_ARGUMENT)" in said, said
    assert "not changed to key 2: the server kept key default" in said, said

    down = OptionsService(keys=[0], answer=rpc_error(RPCStatusCode.UNAVAILABLE, "refused"))
    with pytest.raises(RPCError, match="refused"):
        await set_key(down, ask)


def rpc_error(status: RPCStatusCode, message: str) -> RPCError:
    return RPCError(message, status, b"")


async def acme_p3(client: Client, settings: Settings) -> WorkflowHandle[Any, IncidentView]:
    """A gold P3 of customer "acme", as the CLI opens it (default key, fairness "acme")."""
    input = IncidentInput(
        title="Invoices late", service_level="gold", priority="P3", opened_by="tester",
        customer="acme",
    )  # fmt: skip
    incident_id = await start_incident(client, settings.task_queue, input)
    return client.get_workflow_handle_for(IncidentWorkflow.run, incident_id)


async def continue_as_new(incident: WorkflowHandle[Any, IncidentView]) -> None:
    """Enough worklogs for a run of 200 events (``short_runs``) to continue as new."""
    for n in range(60):  # sent again under the same Update id after a transient failure
        worklog = WorklogInput(by="im", text=f"step {n}")
        await send_update(
            incident, "add_worklog", worklog, IncidentView, update_id=f"w-{incident.id}-{n}"
        )
    await status_when(incident, lambda v: any(e.kind == "continued" for e in v.timeline))


async def runs_after(
    incident: WorkflowHandle[Any, IncidentView], run_id: str
) -> list[WorkflowHandle[Any, IncidentView]]:
    """Every run continued from ``run_id``, in order, followed through the histories' last
    events (a burst of worklogs may continue the incident more than once)."""
    runs = []
    while True:
        handle = incident._client.get_workflow_handle_for(
            IncidentWorkflow.run, incident.id, run_id=run_id
        )
        last = None
        async for event in handle.fetch_history_events():
            last = event
        if last is None or not last.HasField(
            "workflow_execution_continued_as_new_event_attributes"
        ):
            return runs
        run_id = last.workflow_execution_continued_as_new_event_attributes.new_execution_run_id
        runs.append(
            incident._client.get_workflow_handle_for(
                IncidentWorkflow.run, incident.id, run_id=run_id
            )
        )


async def sent_by_runs_after(incident: WorkflowHandle[Any, IncidentView], run_id: str) -> list[str]:
    """The activities scheduled by the runs continued from ``run_id``."""
    return [
        name for run in await runs_after(incident, run_id) for name, _ in await scheduled_keys(run)
    ]


async def test_a_key_changed_by_the_class_holds_after_continue_as_new(
    dev_env: WorkflowEnvironment, settings: Settings, config_dir: Path
) -> None:
    """The server gives the next run the key the last one was moved to."""
    short_runs(config_dir)
    client = dev_env.client
    async with build_worker(client, settings):
        incident = await acme_p3(client, settings)
        first_run = (await incident.describe()).run_id
        await incident.execute_update(
            IncidentWorkflow.recategorize,
            RecategorizeInput(by="im", priority="P1", reason="every customer blocked"),
        )
        await keys_become(incident, (2, "acme"))
        await continue_as_new(incident)
        assert (await status(incident)).priority == "P1"
        assert first_run is not None and (await incident.describe()).run_id != first_run
        assert await keys_of(incident) == (2, "acme")
        assert "set_task_priority" not in await sent_by_runs_after(incident, first_run)


async def test_a_change_that_missed_its_run_is_made_by_the_next(
    dev_env: WorkflowEnvironment,
    settings: Settings,
    config_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Made a P1, then a P2 again: the change back is held up (a slow server) until the
    incident has continued as new. The closed run it was for refuses it; the next run,
    which the server started at key 2, moves itself back to the default."""
    short_runs(config_dir, in_flight_wait=True)
    release = asyncio.Event()
    held_runs: set[str] = set()
    original = TaskPriorityActivities._current

    async def held(self: TaskPriorityActivities, execution: Any) -> Any:
        if execution.run_id in held_runs:  # the activity's first read, for the held run
            await release.wait()
        return await original(self, execution)

    monkeypatch.setattr(TaskPriorityActivities, "_current", held)
    client = dev_env.client
    async with build_worker(client, settings):
        incident = await acme_p3(client, settings)
        first_run = (await incident.describe()).run_id
        assert first_run is not None
        await incident.execute_update(
            IncidentWorkflow.recategorize,
            RecategorizeInput(by="im", priority="P1", reason="every customer blocked"),
        )
        await keys_become(incident, (2, "acme"))
        held_runs.add(first_run)
        await incident.execute_update(
            IncidentWorkflow.recategorize,
            RecategorizeInput(by="im", priority="P2", reason="one customer only"),
        )
        await continue_as_new(incident)
        with caplog.at_level(logging.WARNING, "vigie.task_priority"):
            release.set()
            await keys_become(incident, (0, "acme"))

            async def refused_by_the_closed_run() -> None:
                assert "not changed to key default: the run is closed" in caplog.text

            await assert_eventually(refused_by_the_closed_run)
        assert (await incident.describe()).run_id != first_run
        sent = await sent_by_runs_after(incident, first_run)
        assert sent.count("set_task_priority") == 1, sent  # by the next run, at its start
