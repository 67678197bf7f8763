"""Records, on the dev server, the histories the time-skipping server cannot make:
``python -m tests.record_dev_histories TAG``.

- ``incident_opsgenie_major_<TAG>``: an incident driven by Opsgenie webhook events (the real
  fixtures through the receiver's plan and gateway), qualified major, so that it starts its
  crisis child and signals it; ``crisis_child_<TAG>`` is that crisis as far as it went.
- ``crisis_incident_cancelled_<TAG>``: the crisis of a major incident cancelled from
  Temporal, as far as it went once told.
- ``incident_crisis_start_failed_<TAG>``: a major incident whose crisis could not start.
- ``incident_continued_first_<TAG>`` / ``incident_continued_second_<TAG>``: a busy incident
  that continued as new, both runs.
- ``incident_cold_a_<TAG>`` / ``incident_cold_b_<TAG>``: two incidents taking turns on a
  worker that caches one workflow, with 15 worklog Updates each (their first runs): most of
  their tasks started cold, and some of those got an activity result and an Update in one
  activation, which a replay gets in two (2 and 5 such tasks in the recording of 2026-11-30).

Like ``tests.record_histories``, it never overwrites a stored history.
"""

from __future__ import annotations

import asyncio
import json
import sys
import tempfile
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
from pydantic import SecretStr
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client, WorkflowHandle, WorkflowQueryFailedError
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.service import RPCError
from temporalio.testing import WorkflowEnvironment

from activities.providers.opsgenie.client import OpsgenieApi, OpsgenieConfig
from activities.providers.opsgenie.webhook_events import WebhookEvent, plan
from starters.dev.opsgenie_standin import OpsgenieStandIn
from starters.dev.smtp_sink import MailSink
from starters.gateway import TemporalGateway
from starters.updates import send_update
from tests.conftest import BIN, TEST_POLICY_CHANGES, free_port
from tests.helpers import assert_eventually, open_incident, status, status_when
from tests.record_histories import HISTORIES, made_p1_then_p2, resolved_and_closed
from workers.opsgenie_file import load_mapping
from workers.settings import DEFAULT_CONFIG_DIR, Settings
from workers.worker import build_worker
from workflows.crisis import CrisisWorkflow
from workflows.crisis_models import CrisisInput
from workflows.incident import IncidentWorkflow
from workflows.models import (
    AcknowledgeInput,
    CloseInput,
    IncidentView,
    QualifyP1Input,
    ResolveInput,
    WorklogInput,
)
from workflows.search import SEARCH_ATTRIBUTES

WEBHOOKS = Path(__file__).parent / "fixtures" / "opsgenie" / "webhook"


async def deliver(gateway: TemporalGateway, name: str, alert_id: str, **alert: Any) -> None:
    """One webhook fixture through the receiver's own plan and gateway."""
    body = json.loads((WEBHOOKS / f"{name}.json").read_text())
    body["alert"] |= {"alertId": alert_id, "alias": alert_id, **alert}
    todo = plan(WebhookEvent.model_validate(body), load_mapping(DEFAULT_CONFIG_DIR))
    if todo.kind == "start":
        assert todo.start is not None
        if await gateway.start(todo.incident_id, todo.start) == "duplicate" and todo.input:
            await gateway.signal(todo.incident_id, "alert_created", todo.input, None)
    elif todo.kind == "signal":
        assert todo.operation is not None and todo.input is not None
        await gateway.signal(todo.incident_id, todo.operation, todo.input, todo.start)


async def crisis_when(crisis: WorkflowHandle[Any, Any], wanted: Callable[[Any], bool]) -> None:
    """Waits (30 s at most) until the crisis answers its status with a view ``wanted``."""

    async def matches() -> None:
        try:
            view = await crisis.query(CrisisWorkflow.status)
        except (RPCError, WorkflowQueryFailedError) as exc:
            raise AssertionError(f"crisis not answering yet: {exc}") from exc
        assert wanted(view), view.timeline

    await assert_eventually(matches, within=30.0)


async def opsgenie_major(client: Client, queue: str) -> list[tuple[str, WorkflowHandle[Any, Any]]]:
    alert = f"recorded-{uuid.uuid4().hex[:8]}"
    gateway = TemporalGateway(client, queue)
    await deliver(gateway, "create", alert, priority="P1")
    incident = client.get_workflow_handle(f"incident-{alert}")
    await status(incident)
    await deliver(gateway, "acknowledge", alert)
    await deliver(gateway, "addnote", alert, note="restarting the payment gateway")
    await status_when(incident, lambda v: v.status == "in_progress")
    await incident.execute_update(
        IncidentWorkflow.qualify_p1, QualifyP1Input(by="im", verdict="major")
    )
    crisis = client.get_workflow_handle(f"crisis-incident-{alert}")
    await deliver(gateway, "close", alert, note="gateway back")
    await crisis_when(crisis, lambda v: any(e.kind == "incident_resolved" for e in v.timeline))
    await status_when(incident, lambda v: v.status == "resolved" and v.mails_pending == 0)
    return [("incident_opsgenie_major", incident), ("crisis_child", crisis)]


async def late_create(client: Client, queue: str) -> list[tuple[str, WorkflowHandle[Any, Any]]]:
    """An alert acknowledged before its Create arrives: the Create fills the incident in,
    sets the service level it names and tells the requesters it adds."""
    alert = f"recorded-{uuid.uuid4().hex[:8]}"
    gateway = TemporalGateway(client, queue)
    await deliver(gateway, "acknowledge", alert)
    incident = client.get_workflow_handle(f"incident-{alert}")
    await status_when(incident, lambda v: v.status == "in_progress")
    details = {"category": "database", "requesters": "client@example.org"}
    await deliver(gateway, "create", alert, priority="P1", description="down", details=details,
                  tags=["sl:gold"])  # fmt: skip
    await status_when(incident, lambda v: v.priority == "P1" and v.mails_pending == 0)
    return [("incident_late_create", incident)]


async def incident_cancelled(
    client: Client, queue: str
) -> list[tuple[str, WorkflowHandle[Any, Any]]]:
    """A major incident cancelled from Temporal: its crisis stops escalating for its deadlines
    and tells its pilots."""
    incident = await open_incident(client, queue)
    await incident.execute_update(
        IncidentWorkflow.qualify_p1, QualifyP1Input(by="im", verdict="major")
    )
    crisis = client.get_workflow_handle(f"crisis-{incident.id}")
    await status_when(incident, lambda v: v.crisis_id is not None)
    await incident.cancel()
    await crisis_when(
        crisis,
        lambda v: any(e.kind == "incident_closed" for e in v.timeline) and v.mails_pending == 0,
    )
    return [("crisis_incident_cancelled", crisis)]


async def crisis_start_failed(
    client: Client, queue: str
) -> list[tuple[str, WorkflowHandle[Any, Any]]]:
    """A major incident whose crisis cannot start (its id is taken): the incident manager is
    mailed."""
    incident = await open_incident(client, queue)
    taken = await client.start_workflow(
        "NobodyRunsThis", id=f"crisis-{incident.id}", task_queue="nobody-polls-this"
    )
    await incident.execute_update(
        IncidentWorkflow.qualify_p1, QualifyP1Input(by="im", verdict="major")
    )
    await status_when(
        incident,
        lambda v: any(e.kind == "crisis_failed" for e in v.timeline) and v.mails_pending == 0,
    )
    await taken.terminate("recorded")
    return [("incident_crisis_start_failed", incident)]


async def continued(client: Client, queue: str) -> list[tuple[str, WorkflowHandle[Any, Any]]]:
    handle = await open_incident(client, queue, priority="P2")
    await handle.execute_update(IncidentWorkflow.acknowledge, AcknowledgeInput(by="alice"))
    first_run = (await handle.describe()).run_id
    for n in range(60):  # sent again under the same Update id after a transient failure
        worklog = WorklogInput(by="alice", text=f"step {n}")
        await send_update(
            handle, "add_worklog", worklog, IncidentView, update_id=f"worklog-{handle.id}-{n}"
        )
    await status_when(handle, lambda v: any(e.kind == "continued" for e in v.timeline))
    return [
        ("incident_continued_first", client.get_workflow_handle(handle.id, run_id=first_run)),
        ("incident_continued_second", client.get_workflow_handle(handle.id)),
    ]


async def recategorized(client: Client, queue: str) -> list[tuple[str, WorkflowHandle[Any, Any]]]:
    """A P3 made a P1, then not confirmed as one: the server takes each new key (its history
    records WorkflowExecutionOptionsUpdated events, which a replay passes over)."""
    handle = await made_p1_then_p2(client, queue)

    async def both_keys_set() -> None:
        updated = EventType.EVENT_TYPE_WORKFLOW_EXECUTION_OPTIONS_UPDATED
        events = [e.event_type async for e in handle.fetch_history_events()]
        assert events.count(updated) == 2, events

    await assert_eventually(both_keys_set)
    await resolved_and_closed(handle)
    return [("incident_recategorized_dev", handle)]


async def cold(client: Client, queue: str) -> list[tuple[str, WorkflowHandle[Any, Any]]]:
    handles = [await open_incident(client, queue, priority=p) for p in ("P2", "P3")]
    first_runs = [(await handle.describe()).run_id for handle in handles]
    for handle in handles:
        await status(handle)
        await send_update(handle, "acknowledge", AcknowledgeInput(by="alice"), IncidentView)
    for n in range(15):
        for handle in handles:
            step = WorklogInput(by="alice", text=f"step {n}")
            await send_update(handle, "add_worklog", step, IncidentView)
    for handle in handles:
        await status_when(handle, lambda v: v.mails_pending == 0)
    names = ("incident_cold_a", "incident_cold_b")
    return [
        (name, client.get_workflow_handle(handle.id, run_id=run))
        for name, handle, run in zip(names, handles, first_runs, strict=True)
    ]


async def taken_late(
    client: Client, settings: Settings
) -> list[tuple[str, WorkflowHandle[Any, Any]]]:
    """An incident no worker took for a while: it counts from its start."""
    queue = "record-late"
    handle = await open_incident(client, queue, priority="P2")
    await asyncio.sleep(1.5)  # no worker polls this queue yet
    async with build_worker(client, settings.model_copy(update={"task_queue": queue})):
        await status_when(handle, lambda v: v.mails_pending == 0)
        await handle.execute_update(IncidentWorkflow.resolve, ResolveInput(by="a", resolution="ok"))
        await handle.execute_update(IncidentWorkflow.close, CloseInput(by="a"))
        await handle.result()
    return [("incident_taken_late", handle)]


async def crisis_taken_late(
    client: Client, settings: Settings
) -> list[tuple[str, WorkflowHandle[Any, Any]]]:
    """A crisis no worker took for a while: its T0 is its start. Then the matrix and the
    policy files break under the running worker: the next crisis opens under the last valid
    ones, and says so."""
    queue = "record-crisis-late"
    late = await client.start_workflow(
        CrisisWorkflow.run, CrisisInput(title="Payments down"), id=f"crisis-late-{uuid.uuid4()}",
        task_queue=queue,
    )  # fmt: skip
    await asyncio.sleep(1.5)  # no worker polls this queue yet
    config = settings.config_dir
    async with build_worker(client, settings.model_copy(update={"task_queue": queue})):
        await assert_eventually(lambda: crisis_opened(late))
        for name, old, new in (
            ("escalation_matrix.toml", "version = 1", "version = 0"),
            ("policy.toml", "version = 1", "version = zero"),
        ):
            text = (config / name).read_text(encoding="utf-8")
            (config / name).write_text(text.replace(old, new, 1), encoding="utf-8")
        fallback = await client.start_workflow(
            CrisisWorkflow.run, CrisisInput(title="Site B down"),
            id=f"crisis-fallback-{uuid.uuid4()}", task_queue=queue,
        )  # fmt: skip
        await assert_eventually(lambda: crisis_opened(fallback))
        for handle in (late, fallback):
            await handle.terminate("recorded")
        for name in ("escalation_matrix.toml", "policy.toml"):
            (config / name).write_text(
                (DEFAULT_CONFIG_DIR / name).read_text(encoding="utf-8"), encoding="utf-8"
            )
    return [("crisis_taken_late", late), ("crisis_under_last_valid_files", fallback)]


async def crisis_opened(handle: WorkflowHandle[Any, Any]) -> None:
    try:
        opened = await handle.query(CrisisWorkflow.status)
    except (WorkflowQueryFailedError, RPCError) as exc:
        raise AssertionError(f"not answering yet: {exc}") from exc
    assert opened is not None, "still opening"


async def record(tag: str, scenarios: list[tuple[str, WorkflowHandle[Any, Any]]]) -> None:
    for name, handle in scenarios:
        path = HISTORIES / f"{name}_{tag}.json"
        if path.exists():
            print(f"kept {path.name}: a stored history is never overwritten")
            continue
        history = await handle.fetch_history()
        path.write_text(history.to_json())
        print(f"recorded {path.name}: {len(history.events)} events")


async def main(tag: str) -> None:
    env = await WorkflowEnvironment.start_local(
        dev_server_existing_path=str(BIN / "temporal"),
        data_converter=pydantic_data_converter,
        search_attributes=SEARCH_ATTRIBUTES,
    )
    with tempfile.TemporaryDirectory() as tmp, MailSink(port=free_port()) as sink:
        config = Path(tmp)
        text = (DEFAULT_CONFIG_DIR / "policy.toml").read_text(encoding="utf-8")
        for old, new in TEST_POLICY_CHANGES.items():
            text = text.replace(old, new)
        text = text.replace(
            "continue_as_new_after_events = 8000", "continue_as_new_after_events = 200"
        )
        for other in DEFAULT_CONFIG_DIR.glob("*.toml"):
            (config / other.name).write_text(other.read_text(encoding="utf-8"), encoding="utf-8")
        (config / "policy.toml").write_text(text, encoding="utf-8")
        settings = Settings(config_dir=config, smtp_port=sink.port, task_queue="record-dev")
        standin = OpsgenieStandIn()
        alert_api = OpsgenieApi(
            OpsgenieConfig(base_url="http://standin", api_key=SecretStr("k")),
            transport=httpx.ASGITransport(app=standin.app()),
        )
        async with build_worker(env.client, settings, alert_api=alert_api):
            scenarios = (
                opsgenie_major, continued, recategorized, late_create, incident_cancelled,
                crisis_start_failed,
            )  # fmt: skip
            for scenario in scenarios:
                await record(tag, await scenario(env.client, settings.task_queue))
        one = settings.model_copy(update={"max_cached_workflows": 1, "task_queue": "record-cold"})
        async with build_worker(env.client, one, alert_api=alert_api):
            await record(tag, await cold(env.client, one.task_queue))
        await record(tag, await taken_late(env.client, settings))
        await record(tag, await crisis_taken_late(env.client, settings))
    await env.shutdown()


if __name__ == "__main__":
    if len(sys.argv) != 2 or not sys.argv[1].replace("_", "").isalnum():
        sys.exit("usage: python -m tests.record_dev_histories TAG   (e.g. 2026_11)")
    asyncio.run(main(sys.argv[1]))
