"""Operations sent from the CLI survive a transient failure: sent again under one Update id,
they are applied once."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from google.protobuf.any_pb2 import Any as Any_
from temporalio.api.common.v1 import GrpcStatus
from temporalio.client import WorkflowHandle
from temporalio.service import RPCError, RPCStatusCode
from temporalio.testing import WorkflowEnvironment

from starters.dev.smtp_sink import MailSink
from starters.queries import NoAnswer, ask_within
from starters.updates import ATTEMPTS, send_update
from tests.helpers import eventually, open_incident, short_runs, status_when
from tests.workflow_health import failed_tasks
from workers.settings import Settings
from workers.worker import build_worker
from workflows.models import IncidentView, WorklogInput

WORKLOG = WorklogInput(by="alice", text="restarted the pool")


class FlakyHandle:
    """Answers ``execute_update`` with the given errors first, then with a result; records
    the Update id of each call."""

    def __init__(self, *errors: RPCError) -> None:
        self.errors = list(errors)
        self.ids: list[str] = []

    async def execute_update(self, operation: str, input: Any, *, id: str, result_type: Any) -> str:
        self.ids.append(id)
        if self.errors:
            raise self.errors.pop(0)
        return f"{operation} done"


def rpc(
    status: RPCStatusCode, message: str = "unexpected workflow task failure", detail: str = ""
) -> RPCError:
    raw = GrpcStatus(code=int(status), message=message)
    if detail:
        raw.details.append(Any_(type_url=f"type.googleapis.com/{detail}"))
    return RPCError(message, status, raw.SerializeToString())


NOT_READY = "temporal.api.errordetails.v1.WorkflowNotReadyFailure"


async def no_wait(_: float) -> None:
    return None


def as_handle(fake: FlakyHandle) -> WorkflowHandle[Any, Any]:
    return fake  # type: ignore[return-value]


async def test_a_transient_failure_is_sent_again_under_the_same_id() -> None:
    fake = FlakyHandle(rpc(RPCStatusCode.UNAVAILABLE), rpc(RPCStatusCode.ABORTED))
    result = await send_update(as_handle(fake), "add_worklog", WORKLOG, str, sleep=no_wait)
    assert result == "add_worklog done"
    assert len(fake.ids) == 3 and len(set(fake.ids)) == 1


async def test_an_update_that_met_a_failed_workflow_task_is_sent_again() -> None:
    """What the dev server answers an Update that arrived while a task failed (new events
    during continue-as-new): FAILED_PRECONDITION with a WorkflowNotReadyFailure."""
    fake = FlakyHandle(rpc(RPCStatusCode.FAILED_PRECONDITION, detail=NOT_READY))
    assert await send_update(as_handle(fake), "add_worklog", WORKLOG, str, sleep=no_wait)
    assert len(fake.ids) == 2 and len(set(fake.ids)) == 1


async def test_a_final_answer_is_not_sent_again() -> None:
    fake = FlakyHandle(rpc(RPCStatusCode.FAILED_PRECONDITION, "workflow closed"))
    with pytest.raises(RPCError, match="workflow closed"):
        await send_update(as_handle(fake), "add_worklog", WORKLOG, str, sleep=no_wait)
    assert len(fake.ids) == 1


async def test_an_invalid_argument_is_not_sent_again() -> None:
    fake = FlakyHandle(rpc(RPCStatusCode.INVALID_ARGUMENT, "bad id"))
    with pytest.raises(RPCError, match="bad id"):
        await send_update(as_handle(fake), "add_worklog", WORKLOG, str, sleep=no_wait)
    assert len(fake.ids) == 1


async def test_resending_stops_after_the_last_attempt() -> None:
    waits: list[float] = []

    async def record(seconds: float) -> None:
        waits.append(seconds)

    fake = FlakyHandle(*[rpc(RPCStatusCode.UNAVAILABLE) for _ in range(ATTEMPTS)])
    with pytest.raises(RPCError):
        await send_update(as_handle(fake), "add_worklog", WORKLOG, str, sleep=record)
    assert len(fake.ids) == ATTEMPTS and len(set(fake.ids)) == 1
    assert waits == sorted(waits) and len(waits) == ATTEMPTS - 1  # backing off
    assert ATTEMPTS == 6 and 10 <= sum(waits) <= 15  # as the README says: about 12 seconds


async def test_an_update_sent_again_to_the_next_run_is_applied_once(
    dev_env: WorkflowEnvironment, settings: Settings, config_dir: Path, sink: MailSink
) -> None:
    """Within a run the server answers a known Update id itself; an Update sent again after
    the incident continued as new reaches a run that never saw it: the workflow applies an id
    once."""
    short_runs(config_dir)
    client = dev_env.client
    async with build_worker(client, settings):
        handle = await open_incident(client, settings.task_queue, priority="P3")
        first = await send_update(handle, "add_worklog", WORKLOG, IncidentView, update_id="w-1")
        first_run = (await handle.describe()).run_id
        for n in range(40):
            step = WorklogInput(by="alice", text=f"step {n}")
            await send_update(handle, "add_worklog", step, IncidentView)
        await status_when(handle, lambda v: any(e.kind == "continued" for e in v.timeline))
        assert (await handle.describe()).run_id != first_run
        again = await send_update(handle, "add_worklog", WORKLOG, IncidentView, update_id="w-1")
        last = WorklogInput(by="alice", text="last")
        await send_update(handle, "add_worklog", last, IncidentView)
        view = await status_when(handle, lambda v: any(e.text == "last" for e in v.timeline))
    assert first.status == again.status
    worklogs = [e.text for e in view.timeline if e.kind == "worklog"]
    assert worklogs.count(WORKLOG.text) == 1 and len(worklogs) == 42, worklogs
    assert await failed_tasks(client, [(handle.id, None)]) == []


async def test_an_update_sent_again_after_a_burst_is_still_applied_once(
    dev_env: WorkflowEnvironment, settings: Settings, config_dir: Path, sink: MailSink
) -> None:
    """In a burst, a client's resend can come hundreds of Updates later (a busy server
    answered "aborted", the client waited and sent it again): its id is still known, across
    continue-as-new, and the Update is applied once."""
    short_runs(config_dir)
    client = dev_env.client
    async with build_worker(client, settings):
        handle = await open_incident(client, settings.task_queue, priority="P3")
        await send_update(handle, "add_worklog", WORKLOG, IncidentView, update_id="w-burst")
        for n in range(250):
            step = WorklogInput(by="alice", text=f"step {n}")
            await send_update(handle, "add_worklog", step, IncidentView)
        await send_update(handle, "add_worklog", WORKLOG, IncidentView, update_id="w-burst")
        last = WorklogInput(by="alice", text="last")
        await send_update(handle, "add_worklog", last, IncidentView)
        view = await status_when(
            handle,
            lambda v: v.mails_pending == 0 and any(e.text == "last" for e in v.timeline),
            within=60,
        )
        mails = await eventually(lambda: [m for m in sink.about(handle.id) if "last" in body(m)])
    assert any(e.kind == "continued" for e in view.timeline)
    told = [m for m in sink.about(handle.id) if WORKLOG.text in body(m)]
    assert len(told) == 1 and mails, len(told)  # one mail for the worklog: applied once


def body(mail: Any) -> str:
    part = mail.get_body(("plain",))
    return str(part.get_content()) if part is not None else ""


async def test_a_query_that_met_a_continue_as_new_is_asked_again() -> None:
    answers: list[RPCError | str] = [rpc(RPCStatusCode.DEADLINE_EXCEEDED), "status"]
    timeouts: list[float] = []

    async def query(rpc_timeout: timedelta) -> str:
        timeouts.append(rpc_timeout.total_seconds())
        answer = answers.pop(0)
        if isinstance(answer, RPCError):
            raise answer
        return answer

    assert await ask_within(query, timedelta(seconds=9), sleep=no_wait) == "status"
    # Two thirds of the time left for each attempt but the last (no time passed here).
    assert [round(t) for t in timeouts] == [6, 6], timeouts


async def test_a_query_unanswered_in_time_gives_no_answer() -> None:
    """The client's RPC timeout (CANCELLED, "Timeout expired") on every attempt, the last
    with all the time left; or the server's "no poller seen" at once: no answer, said why.
    A call cancelled otherwise, or refused for another precondition, is an error."""
    timeouts: list[float] = []

    async def timing_out(rpc_timeout: timedelta) -> str:
        timeouts.append(rpc_timeout.total_seconds())
        raise rpc(RPCStatusCode.CANCELLED, "Timeout expired")

    found = await ask_within(timing_out, timedelta(seconds=30), sleep=no_wait)
    assert found == NoAnswer("no answer within 30 s")
    assert [round(t) for t in timeouts] == [20, 20, 30], timeouts

    async def no_poller(_rpc_timeout: timedelta) -> str:
        raise rpc(RPCStatusCode.FAILED_PRECONDITION, "no poller seen for task queue recently")

    found = await ask_within(no_poller, timedelta(seconds=2), sleep=no_wait)
    assert found == NoAnswer("no poller seen for task queue recently")

    for status, message in (
        (RPCStatusCode.CANCELLED, "stream reset by a proxy"),
        (RPCStatusCode.FAILED_PRECONDITION, "Workflow execution closed before WorkflowTaskStarted"),
    ):

        async def refused(
            _rpc_timeout: timedelta, status: RPCStatusCode = status, message: str = message
        ) -> str:
            raise rpc(status, message)

        with pytest.raises(RPCError, match=message):
            await ask_within(refused, timedelta(seconds=2), sleep=no_wait)


async def test_a_query_refused_otherwise_is_not_asked_again() -> None:
    calls = 0

    async def query(_rpc_timeout: timedelta) -> str:
        nonlocal calls
        calls += 1
        raise rpc(RPCStatusCode.NOT_FOUND, "no such workflow")

    with pytest.raises(RPCError, match="no such workflow"):
        await ask_within(query, timedelta(seconds=2), sleep=no_wait)
    assert calls == 1
