"""An input that is not JSON the worker can read: a lone surrogate escape, bytes that are not
UTF-8, nesting deeper than the parser goes. Sent by hand (the Web UI, ``temporal workflow
signal --input``, another SDK), it is refused like any other wrong input: a Signal recorded
as refused (the SDK dropped it, told only in the worker's log), an Update refused saying why,
a run started by hand ended with ``InputRefused`` (its first workflow task failed over and
over). The incident carries on."""

from __future__ import annotations

import pytest
from temporalio.api.common.v1 import Payload
from temporalio.client import WorkflowUpdateFailedError
from temporalio.common import RawValue
from temporalio.exceptions import ApplicationError
from temporalio.testing import WorkflowEnvironment

from starters.dev.smtp_sink import MailSink
from tests.helpers import open_incident, refused_at_start, status_when
from workers.converter import CLIENT_CONVERTER, DATA_CONVERTER
from workers.settings import Settings
from workers.worker import build_worker
from workflows.not_json import NotJson

UNREADABLE = {
    "lone surrogate": (b'{"by": "ann", "text": "caf\\ud800"}', "hex escape"),
    "not utf-8": (b'{"by": "ann", "text": "caf\xe9"}', "invalid unicode code point"),
    "too deep": (b'{"by": "ann", "text": ' + b"[" * 300 + b"]" * 300 + b"}", "recursion limit"),
}


def raw(data: bytes) -> RawValue:
    return RawValue(Payload(metadata={"encoding": b"json/plain"}, data=data))


@pytest.mark.parametrize("name", sorted(UNREADABLE))
def test_the_worker_hands_such_an_input_over_as_not_json(name: str) -> None:
    data, reason = UNREADABLE[name]
    [decoded] = DATA_CONVERTER.payload_converter.from_payloads([raw(data).payload], None)
    assert isinstance(decoded, NotJson) and reason in decoded.error, decoded
    assert decoded.error.isprintable() and len(decoded.error) <= 200
    # A typed value (an activity's input or result) is decoded as before: it raises; and
    # so does every other client (a memo that is not JSON gives no title in `vigie list`).
    with pytest.raises(ValueError, match="Invalid JSON"):
        DATA_CONVERTER.payload_converter.from_payloads([raw(data).payload], [dict])
    with pytest.raises(ValueError, match="Invalid JSON"):
        CLIENT_CONVERTER.payload_converter.from_payloads([raw(data).payload], None)


@pytest.mark.parametrize("sandbox", ["strict", "off"])  # the suite's, and workers' default
async def test_a_signal_or_update_that_is_not_json_is_refused_and_the_incident_goes_on(
    skipping_env: WorkflowEnvironment, settings: Settings, sink: MailSink, sandbox: str
) -> None:
    client = skipping_env.client
    async with build_worker(client, settings.model_copy(update={"workflow_sandbox": sandbox})):
        handle = await open_incident(client, settings.task_queue, priority="P3")
        for n, name in enumerate(sorted(UNREADABLE), start=1):
            data, reason = UNREADABLE[name]
            with pytest.raises(WorkflowUpdateFailedError) as refused:
                await handle.execute_update("add_worklog", raw(data))
            assert isinstance(refused.value.cause, ApplicationError)
            said = refused.value.cause.message
            assert said.startswith("add_worklog: the input is not JSON that can be read ("), said
            assert reason in said, said

            await handle.signal("add_worklog", raw(data))
            view = await status_when(
                handle, lambda v, n=n: sum(e.kind == "refused" for e in v.timeline) == n
            )
            # The latest refusal (the opening's own entries, such as the alert's, may come
            # after it: the incident records them as their activities answer).
            entry = [e for e in view.timeline if e.kind == "refused"][-1]
            assert entry.by == "unknown", entry
            assert entry.text.startswith(
                "Signal add_worklog refusé : l'entrée n'est pas un JSON lisible (Invalid JSON: "
            ), entry.text
            assert reason in entry.text, entry.text
        # Later operations are applied, and the incident's mails still go out.
        await handle.signal("add_worklog", {"by": "ann", "text": "café"})
        view = await status_when(handle, lambda v: any(e.kind == "worklog" for e in v.timeline))
        assert view.status == "open", view
        assert [e.text for e in view.timeline if e.kind == "worklog"] == ["café"]


@pytest.mark.parametrize("sandbox", ["strict", "off"])
@pytest.mark.parametrize("workflow_type", ["IncidentWorkflow", "CrisisWorkflow"])
async def test_a_run_started_by_hand_with_no_json_ends_at_once_saying_why(
    skipping_env: WorkflowEnvironment, settings: Settings, workflow_type: str, sandbox: str
) -> None:
    client = skipping_env.client
    async with build_worker(client, settings.model_copy(update={"workflow_sandbox": sandbox})):
        sent = raw(b'{"title": "caf\xe9 down", "service_level": "gold"}')
        _, cause = await refused_at_start(client, settings.task_queue, workflow_type, sent)
    assert isinstance(cause, ApplicationError) and cause.type == "InputRefused"
    assert cause.message.startswith(
        "input refused, nothing was opened: the input is not JSON that can be read (Invalid "
        "JSON: invalid unicode code point"
    ), cause.message
