"""Client-side calls on incidents, shared by the CLI and other starters."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel
from temporalio.client import Client

from starters import listing
from starters.cli_support import dated_id
from starters.gateway import incident_start_options
from starters.published import answer_or_published, operate_on_kind
from starters.updates import send_update
from workflows.incident import IncidentWorkflow
from workflows.models import IncidentInput, IncidentView


def new_incident_id(now: datetime | None = None) -> str:
    return dated_id("incident", now or datetime.now(UTC))


async def open_incident(
    client: Client, task_queue: str, input: IncidentInput, incident_id: str | None = None
) -> str:
    workflow_id = incident_id or new_incident_id()
    await client.start_workflow(
        IncidentWorkflow.run,
        input,
        id=workflow_id,
        task_queue=task_queue,
        static_summary=input.title,
        **incident_start_options(input),
    )
    return workflow_id


async def incident_status(
    client: Client, incident_id: str, wait: float
) -> IncidentView | dict[str, Any]:
    """The incident's answer to ``status``; what it last published when no worker answers
    within about ``wait`` seconds (``starters.published``)."""
    return await answer_or_published(
        client, incident_id, IncidentWorkflow.status, wait, listing.incident_row
    )


async def run_operation(
    client: Client, incident_id: str, operation: str, input: BaseModel
) -> IncidentView:
    """Sends an operation as an Update: refused ones raise with the workflow's reason."""
    handle = client.get_workflow_handle(incident_id)
    return await operate_on_kind(
        client, incident_id, "IncidentWorkflow",
        lambda: send_update(handle, operation, input, IncidentView), operation,
    )  # fmt: skip
