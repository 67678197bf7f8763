"""How starters reach incidents: a small protocol, and its Temporal implementation."""

from __future__ import annotations

from datetime import timedelta
from typing import Any, Literal, Protocol

from pydantic import BaseModel
from temporalio.client import Client
from temporalio.common import WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode

from workflows import urgency
from workflows.details import source_details
from workflows.incident import IncidentWorkflow
from workflows.models import IncidentInput

Outcome = Literal["started", "duplicate", "delivered", "missing", "closed"]


class IncidentGateway(Protocol):
    async def start(self, incident_id: str, input: IncidentInput) -> Outcome: ...

    async def signal(
        self, incident_id: str, name: str, input: BaseModel, start: IncidentInput | None
    ) -> Outcome: ...


# A webhook answers within seconds: Opsgenie retries a delivery that fails, not a slow one.
RPC_TIMEOUT = timedelta(seconds=5)
# Temporal answers these when it cannot take the call now: the sender should retry later.
UNAVAILABLE = frozenset(
    {RPCStatusCode.UNAVAILABLE, RPCStatusCode.DEADLINE_EXCEEDED, RPCStatusCode.RESOURCE_EXHAUSTED}
)


def incident_memo(input: IncidentInput) -> dict[str, str]:
    """What `vigie list` shows of an incident without asking its workflow."""
    return {"title": input.title[:200]}


def incident_start_options(input: IncidentInput) -> dict[str, Any]:
    """The start options of every incident, whoever opens it (the CLI, the webhook)."""
    return {
        # An incident id names one incident forever, closed or not (mail Message-IDs derive
        # from it): a late or repeated delivery, or a reused id, never opens it again.
        "id_reuse_policy": WorkflowIDReusePolicy.REJECT_DUPLICATE,
        "memo": incident_memo(input),
        "static_details": source_details(input.source, input.language),
        "priority": urgency.of_incident(input.customer, input.arrives_as_p1()),
    }


class TemporalGateway:
    """Starts incidents once per business key and signals them, starting them if needed."""

    def __init__(self, client: Client, task_queue: str) -> None:
        self.client = client
        self.task_queue = task_queue

    async def _start(self, incident_id: str, input: IncidentInput, **signal: Any) -> bool:
        """Starts the incident (with a first signal, if given); False if the id is taken."""
        try:
            await self.client.start_workflow(
                IncidentWorkflow.run,
                input,
                id=incident_id,
                task_queue=self.task_queue,
                static_summary=input.title[:200],
                rpc_timeout=RPC_TIMEOUT,
                **incident_start_options(input),
                **signal,
            )
        except WorkflowAlreadyStartedError:
            return False
        return True

    async def start(self, incident_id: str, input: IncidentInput) -> Outcome:
        return "started" if await self._start(incident_id, input) else "duplicate"

    async def signal(
        self, incident_id: str, name: str, input: BaseModel, start: IncidentInput | None
    ) -> Outcome:
        if start is not None:
            # Signal-with-start: signals a running incident, or opens it with the signal.
            started = await self._start(
                incident_id, start, start_signal=name, start_signal_args=[input]
            )
            return "delivered" if started else "closed"
        try:
            await self.client.get_workflow_handle(incident_id).signal(
                name, input, rpc_timeout=RPC_TIMEOUT
            )
        except RPCError as exc:
            if exc.status == RPCStatusCode.NOT_FOUND:
                return "closed" if "completed" in exc.message.lower() else "missing"
            raise
        return "delivered"
