"""What goes first when workers are behind: the priority keys the server sees (dev server).

The server orders a task queue's backlog by these keys; here the history shows which key
each activity and the crisis were given.
"""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta

from temporalio.api.enums.v1 import EventType
from temporalio.client import WorkflowHandle
from temporalio.testing import WorkflowEnvironment

from starters.dev.smtp_sink import MailSink
from tests.helpers import eventually, open_incident, status_when
from workers.settings import Settings
from workers.worker import build_worker
from workflows.incident import IncidentWorkflow
from workflows.models import QualifyP1Input


async def scheduled_keys(handle: WorkflowHandle) -> list[tuple[str, int]]:  # type: ignore[type-arg]
    """(activity, or ``mail <kind>``) and its priority key (0: none, the server's default),
    for every activity the history scheduled, in order."""
    found = []
    async for event in handle.fetch_history_events():
        if event.event_type != EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
            continue
        attrs = event.activity_task_scheduled_event_attributes
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
    # the incident opens.
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
    assert by_name["mail ack_warning"] == {1}
    assert by_name["mail ack_breach"] == {1}
    assert by_name["mail opened"] == {0}  # routine: the server's default
    assert by_name["mail qualified"] == {0}
    assert by_name["record_incident_facts"] == {5}
    started = [
        e.start_child_workflow_execution_initiated_event_attributes
        async for e in incident.fetch_history_events()
        if e.event_type == EventType.EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_INITIATED
    ]
    assert [(a.workflow_type.name, a.priority.priority_key) for a in started] == [
        ("CrisisWorkflow", 1)
    ]
