"""Every operation of both workflows, as an Update and as a Signal, with generated bad input.

An Update the input model refuses is refused with a typed, non-retryable error
(``InvalidOperation``) naming the field; the same input as a Signal is recorded as refused.
The workflows never fail a task, keep answering, accept a valid operation afterwards, and
every mail they queued arrives once.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from typing import Any

from hypothesis import HealthCheck, given
from hypothesis import settings as examples_of
from hypothesis import strategies as st
from pydantic import ValidationError
from temporalio.client import Client, WorkflowHandle, WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError
from temporalio.testing import WorkflowEnvironment

from starters.dev.smtp_sink import MailSink
from tests.faults.helpers import closed, crisis_view, open_crisis, run_examples, until
from tests.faults.ledger import check_mails
from tests.faults.poison import VALID, operation_payloads
from tests.faults.tally import FULL, TALLY, examples
from tests.helpers import open_incident, status
from workers.settings import Settings
from workers.worker import build_worker
from workflows import crisis, incident
from workflows.operations import Operation, describe

Kind = str  # "incident" or "crisis"
UPDATES: list[tuple[Kind, Operation]] = [("incident", op) for op in incident.OPERATIONS] + [
    ("crisis", op) for op in crisis.OPERATIONS
]
SIGNAL_ONLY: list[tuple[Kind, Operation]] = [("crisis", crisis.INCIDENT_CHANGED)]
REFUSED = "InvalidOperation"


def model_refusal(op: Operation, payload: Any) -> str | None:
    """What the operation's input model says of the payload, limits applied (None: fine)."""
    try:
        op.model.model_validate(payload)
    except ValidationError as exc:
        return describe(exc)
    return None


class Targets:
    """A running incident and a running crisis; an operation that closes one gets a new one."""

    def __init__(self, client: Client, task_queue: str) -> None:
        self.client, self.task_queue = client, task_queue
        self.live: dict[Kind, WorkflowHandle[Any, Any]] = {}
        self.all: list[str] = []

    async def get(self, kind: Kind) -> WorkflowHandle[Any, Any]:
        if kind not in self.live:
            if kind == "incident":
                handle: WorkflowHandle[Any, Any] = await open_incident(
                    self.client, self.task_queue, priority="P3"
                )
                await status(handle)
            else:
                handle = await open_crisis(self.client, self.task_queue)
            self.live[kind] = handle
            self.all.append(handle.id)
        return self.live[kind]

    def gone(self, kind: Kind) -> None:
        self.live.pop(kind, None)


async def refused_signals(handle: WorkflowHandle[Any, Any], kind: Kind) -> int:
    view = await status(handle) if kind == "incident" else await crisis_view(handle)
    assert view is not None
    return sum(e.kind in ("refused", "opsgenie") for e in view.timeline)


async def test_every_operation_refuses_bad_input_and_keeps_going(
    skipping_env: WorkflowEnvironment, settings: Settings, sink: MailSink
) -> None:
    client = skipping_env.client
    loop = asyncio.get_running_loop()
    seen: Counter[str] = Counter()
    async with build_worker(client, settings):
        targets = Targets(client, settings.task_queue)

        async def update(kind: Kind, op: Operation, payload: Any) -> None:
            handle = await targets.get(kind)
            refusal = model_refusal(op, payload)
            try:
                await handle.execute_update(op.name, payload)
            except WorkflowUpdateFailedError as exc:
                cause = exc.cause
                assert isinstance(cause, ApplicationError), cause
                assert (cause.type, cause.non_retryable) == (REFUSED, True), cause
                if refusal is not None:
                    assert cause.message == f"{op.name}: {refusal}"
                seen["update refused"] += 1
            except RPCError as exc:
                assert closed(exc), exc
                targets.gone(kind)
            else:
                assert refusal is None, f"{op.name} took {payload!r}: the model says {refusal}"
                seen["update applied"] += 1
            if payload != VALID.get(op.name):
                TALLY.bad_input(f"{kind} update")

        async def signal(kind: Kind, op: Operation, payload: Any) -> None:
            handle = await targets.get(kind)
            before = await refused_signals(handle, kind)
            try:
                await handle.signal(op.name, payload)
            except RPCError as exc:
                assert closed(exc), exc
                targets.gone(kind)
                return
            if model_refusal(op, payload) is not None:
                # Recorded as refused, never applied, never a failed task.
                await until(lambda: _grew(handle, kind, before))
                seen["signal refused"] += 1
            if payload != VALID.get(op.name):
                TALLY.bad_input(f"{kind} signal")

        @examples_of(
            max_examples=examples(30, 400),
            deadline=None,
            derandomize=not FULL,
            suppress_health_check=list(HealthCheck),
        )
        @given(data=st.data())
        def one(data: st.DataObject) -> None:
            as_update = data.draw(st.booleans(), label="as update")
            choices = UPDATES if as_update else UPDATES + SIGNAL_ONLY
            kind, op = data.draw(st.sampled_from(choices), label="operation")
            payload = data.draw(operation_payloads(op.name, op.model), label="payload")
            send = update if as_update else signal
            run_examples(loop, send)(kind, op, payload)

        await asyncio.to_thread(one)

        # Still answering, and a valid operation still goes through.
        live_incident = await targets.get("incident")
        if (await status(live_incident)).status in ("open", "in_progress", "pending"):
            await live_incident.execute_update(
                "record_event", {"by": "alice", "text": "still here"}
            )
        live_crisis = await targets.get("crisis")
        view = await crisis_view(live_crisis)
        assert view is not None
        if view.status == "active":
            await live_crisis.execute_update("post_update", {"by": "im", "progress": "still here"})
        for handle in targets.live.values():
            await until(lambda h=handle: _drained(h))
        await check_mails(client, sink, targets.all)
    assert seen["update refused"] and seen["signal refused"], seen


async def _grew(handle: WorkflowHandle[Any, Any], kind: Kind, before: int) -> bool:
    return await refused_signals(handle, kind) > before


async def _drained(handle: WorkflowHandle[Any, Any]) -> bool:
    if handle.id.startswith("incident-"):
        view: Any = await status(handle)
    else:
        view = await crisis_view(handle)
    return view is not None and view.mails_pending == 0 and not view.retrying
