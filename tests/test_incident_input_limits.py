"""A running incident refuses what breaks the input limits, and carries on: an Update is
refused with the field named, a Signal is recorded as refused, later mails still go out, and
a mail that can never be built is recorded as failed instead of being retried forever."""

from __future__ import annotations

import uuid
from email.message import EmailMessage

import pytest
from temporalio.client import (
    WorkflowExecutionStatus,
    WorkflowQueryFailedError,
    WorkflowUpdateFailedError,
)
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment, WorkflowEnvironment

from activities.mail import MailActivities
from activities.mail_render import MailRenderer
from starters.dev.smtp_sink import MailSink
from tests.helpers import eventually, open_incident, refused_at_start, status, status_when
from tests.test_mail_render import mail_input
from workers.policy_file import load_policy
from workers.settings import Settings
from workers.worker import build_worker
from workflows.incident import IncidentWorkflow
from workflows.inputs import PATCH_START_LIMITS, PATCH_START_SENDABLE
from workflows.models import AcknowledgeInput, WorklogInput

HEADER_INJECTION = "mallory\r\nBcc: victim@evil.test"


async def test_update_refused_signal_recorded_and_mails_still_flow(
    skipping_env: WorkflowEnvironment, settings: Settings, sink: MailSink
) -> None:
    client = skipping_env.client
    async with build_worker(client, settings):
        handle = await open_incident(client, settings.task_queue, priority="P3")
        await eventually(lambda: len(sink.about(handle.id)) == 1)  # the opening mail

        # Updates: refused before anything reaches history, with the field and the limit.
        with pytest.raises(WorkflowUpdateFailedError) as refused:
            await handle.execute_update("acknowledge", {"by": HEADER_INJECTION})
        assert "by: must be one line without control characters (found U+000D at position 7)" in (
            str(refused.value.cause)
        )
        with pytest.raises(WorkflowUpdateFailedError) as refused:
            await handle.execute_update("add_worklog", {"by": "ann", "text": "x" * 10_001})
        assert "text: at most 10000 characters (got 10001)" in str(refused.value.cause)

        # Signals: recorded as refused, under a name fit for the timeline.
        await handle.signal("add_worklog", {"by": HEADER_INJECTION, "text": "hello"})
        view = await status_when(handle, lambda v: any(e.kind == "refused" for e in v.timeline))
        [entry] = [e for e in view.timeline if e.kind == "refused"]
        assert entry.by == "mallory Bcc: victim@evil.test"
        assert entry.text == (  # in the incident's language
            "Signal add_worklog refusé : entrée invalide (by : sur une ligne, sans caractère de "
            "contrôle)"
        )
        assert view.status == "open"
        assert not any(e.kind == "worklog" for e in view.timeline)
        # Too long: the limit is said, as the Update says it.
        await handle.signal("add_worklog", {"by": "ann", "text": "x" * 10_001})
        view = await status_when(handle, lambda v: sum(e.kind == "refused" for e in v.timeline) > 1)
        assert view.timeline[-1].text == (
            "Signal add_worklog refusé : entrée invalide (text : trop long, 10000 au plus)"
        )

        # A name no operation has: refused with the one meant, not kept unread while the
        # sender is told it was delivered. A name far from any: the operations are listed.
        await handle.signal("add-worklog", {"by": "ann", "text": "restarted pods"})
        view = await status_when(handle, lambda v: sum(e.kind == "refused" for e in v.timeline) > 2)
        assert view.timeline[-1].by == "ann"
        assert view.timeline[-1].text == (
            "Signal add-worklog refusé : opération inconnue ; voulez-vous dire add_worklog ?"
        )
        await handle.signal("Acknowledge", {"by": "ann"})
        await handle.signal("zzz", "not an object")
        view = await status_when(handle, lambda v: sum(e.kind == "refused" for e in v.timeline) > 4)
        said = [e.text for e in view.timeline if e.kind == "refused"][-2:]
        assert said[0].endswith("voulez-vous dire acknowledge ?"), said
        assert said[1].startswith("Signal zzz refusé : opération inconnue ; les opérations sont : ")
        assert "add_worklog" in said[1] and view.timeline[-1].by == "unknown", view.timeline[-1]
        assert not any(e.kind == "worklog" for e in view.timeline)

        # The incident carries on, and its mails still arrive.
        await handle.execute_update(IncidentWorkflow.acknowledge, AcknowledgeInput(by="alice"))
        await handle.execute_update(
            IncidentWorkflow.add_worklog, WorklogInput(by="alice", text="line one\nline two")
        )
        mails = await eventually(lambda: len(sink.about(handle.id)) == 3 and sink.about(handle.id))
        assert (await status(handle)).status == "in_progress"
    assert all(m["Bcc"] is None and "evil" not in m.as_string() for m in mails)


async def test_a_mail_that_cannot_be_built_is_recorded_and_skipped(
    skipping_env: WorkflowEnvironment,
    settings: Settings,
    sink: MailSink,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Input stored before fields were bounded: the worker still decodes it. A title with a
    line break goes out on one line; a requester address with one makes every mail to it
    fail for good (mail_failed) instead of holding the outbox. Other incidents' mails go out.
    (Such incidents started before new ones were checked against the limits: a worker that
    does not take that patch stands for the release they started under.)"""
    withdrawn = frozenset({PATCH_START_LIMITS, PATCH_START_SENDABLE})
    monkeypatch.setattr("workers.worker.WITHDRAWN", withdrawn)
    client = skipping_env.client
    async with build_worker(client, settings):
        titled = await client.start_workflow(
            "IncidentWorkflow",
            {
                "title": "Checkout\r\nBcc: victim@evil.test",
                "service_level": "gold",
                "priority": "P3",
                "requesters": ["customer@example.org"],
            },
            id=f"incident-test-{uuid.uuid4().hex[:10]}",
            task_queue=settings.task_queue,
        )
        opened = (await eventually(lambda: sink.about(titled.id)))[0]
        assert "\n" not in str(opened["Subject"]) and "Checkout Bcc" in str(opened["Subject"])
        assert opened["Bcc"] is None
        legacy = await client.start_workflow(
            "IncidentWorkflow",
            {
                "title": "Checkout down",
                "service_level": "gold",
                "priority": "P3",
                "requesters": ["customer@example.org\r\nBcc: victim@evil.test"],
            },
            id=f"incident-test-{uuid.uuid4().hex[:10]}",
            task_queue=settings.task_queue,
        )
        view = await status_when(legacy, lambda v: any(e.kind == "mail_failed" for e in v.timeline))
        failed = next(e for e in view.timeline if e.kind == "mail_failed")
        assert "can never be sent" in failed.text and "ValueError" in failed.text

        await legacy.execute_update(IncidentWorkflow.acknowledge, AcknowledgeInput(by="alice"))
        view = await status_when(
            legacy,
            lambda v: (
                v.mails_pending == 0
                and len([e for e in v.timeline if e.kind == "mail_failed"]) == 2
            ),
        )
        assert view.status == "in_progress"

        other = await open_incident(client, settings.task_queue, priority="P3")
        await eventually(lambda: len(sink.about(other.id)) == 1)
    # Only the incident manager heard of the legacy incident: told once of the failing mails.
    told = sink.about(legacy.id)
    managers = ", ".join(load_policy(settings.config_dir).notifications.incident_manager)
    assert [m["To"] for m in told] == [managers]
    assert all(m["Bcc"] is None and "victim" not in str(m["To"]) for m in told)


class RecordingTransport:
    def __init__(self, error: Exception | None = None) -> None:
        self.error = error
        self.sent: list[EmailMessage] = []

    async def send(self, message: EmailMessage) -> dict[str, str]:
        if self.error is not None:
            raise self.error
        self.sent.append(message)
        return {}


async def test_an_unsendable_mail_fails_for_good_without_retry() -> None:
    transport = RecordingTransport()
    mails = MailActivities(transport, MailRenderer("vigie@example.com", "example.com"))
    poisoned = mail_input()
    legacy = poisoned.model_copy(
        update={"mail": poisoned.mail.model_copy(update={"to": ["a@example.org\r\nBcc: x@evil"]})}
    )
    with pytest.raises(ApplicationError) as failed:
        await ActivityEnvironment().run(mails.send_incident_mail, legacy)
    assert (failed.value.type, failed.value.non_retryable) == ("RecipientsRefused", True)
    assert failed.value.message.startswith("mail pending can never be sent: ValueError: Header")
    assert transport.sent == []

    # The server side refusing what it cannot be given (aiosmtplib's own check) is final too.
    refusing = RecordingTransport(ValueError("Command arg contains a prohibited control character"))
    mails = MailActivities(refusing, MailRenderer("vigie@example.com", "example.com"))
    with pytest.raises(ApplicationError) as failed:
        await ActivityEnvironment().run(mails.send_incident_mail, mail_input())
    assert (failed.value.type, failed.value.non_retryable) == ("RecipientsRefused", True)
    assert "prohibited control character" in failed.value.message


@pytest.mark.parametrize(
    ("sent", "said"),
    [
        ({"title": "Checkout down", "service_level": "platinum"}, "service_level: Input should be"),
        ({"title": "Checkout down\r\nBcc: x@evil.test", "service_level": "gold"}, "title: must be"),
        ({"service_level": "gold"}, "title: Field required"),
        ("Checkout down", "input: Input should be a valid dictionary"),
        (
            {"title": "Checkout down", "service_level": "gold", "prioirty": "P1"},
            "'prioirty': no such field, did you mean 'priority'?",
        ),
        (  # a required field misspelt: said before that the field is missing
            {"title": "Checkout down", "servce_level": "gold"},
            "'servce_level': no such field, did you mean 'service_level'?; service_level: Field",
        ),
    ],
)
async def test_a_run_started_by_hand_with_a_wrong_input_ends_at_once_saying_why(
    skipping_env: WorkflowEnvironment, settings: Settings, sent: object, said: str
) -> None:
    """Started from the Web UI or ``temporal workflow start`` with an input that is no
    incident: the run ends at once, failed with ``InputRefused`` naming the field (no
    workflow task fails, so it never looks stuck), and nothing is mailed."""
    client = skipping_env.client
    async with build_worker(client, settings):
        handle, cause = await refused_at_start(
            client, settings.task_queue, "IncidentWorkflow", sent
        )
    assert isinstance(cause, ApplicationError) and cause.type == "InputRefused"
    assert cause.non_retryable
    assert cause.message.startswith("input refused, nothing was opened: "), cause.message
    assert said in cause.message, cause.message
    assert '(expected an IncidentInput, e.g. {"title": ' in cause.message
    async with build_worker(client, settings):  # asked later, it says so (not "opening")
        with pytest.raises(WorkflowQueryFailedError) as asked:
            await handle.query("status")
    assert "input refused at the start, nothing was opened" in str(asked.value)


async def test_a_misspelt_field_is_refused_another_unknown_one_let_be(
    skipping_env: WorkflowEnvironment, settings: Settings
) -> None:
    """A crisis started by hand with ``critrion`` is refused naming it; a field no known one
    is close to (sent by a client of a newer release, say) does not stop an incident."""
    client = skipping_env.client
    async with build_worker(client, settings):
        sent = {"title": "Flood", "critrion": "other"}
        _, cause = await refused_at_start(client, settings.task_queue, "CrisisWorkflow", sent)
        assert isinstance(cause, ApplicationError) and cause.type == "InputRefused"
        assert "'critrion': no such field, did you mean 'criterion'?" in cause.message
        assert '(expected a CrisisInput, e.g. {"title": ' in cause.message

        incident = await client.start_workflow(
            "IncidentWorkflow",
            {"title": "Checkout down", "service_level": "gold", "ticket_url": "https://t/1"},
            id=f"incident-by-hand-{uuid.uuid4().hex[:8]}",
            task_queue=settings.task_queue,
        )
        view = await incident.query("status")
        assert view["title"] == "Checkout down" and view["status"] == "open", view
        await incident.terminate("seen opened")


async def test_requesters_no_mail_can_be_sent_to_are_left_out_and_told(
    skipping_env: WorkflowEnvironment, settings: Settings, sink: MailSink
) -> None:
    """Sent by a run started by hand, or a Signal (a receiver of an older release sends what
    its own check let through): the incident keeps the others, and mails them; the opening
    tells those left out. Every mail with them failed, for all its recipients."""
    client = skipping_env.client
    async with build_worker(client, settings):
        handle = await client.start_workflow(
            "IncidentWorkflow",
            {"title": "VPN down", "service_level": "silver", "priority": "P2",
             "requesters": ["ann@example.org", "bob@client.example.org.", "carl@[example.org"]},
            id=f"incident-by-hand-{uuid.uuid4().hex[:8]}",
            task_queue=settings.task_queue,
        )  # fmt: skip
        view = await status_when(handle, lambda v: v.mails_pending == 0)
        assert view.requesters == ["ann@example.org"], view.requesters
        told = " ".join(e.text for e in view.timeline)
        assert "bob@client.example.org." in told and "carl@[example.org" in told, told
        await eventually(lambda: [m for m in sink.about(handle.id) if "ann@" in str(m["To"])])
        added = {"by": "eve", "requesters": ["dan@example.org", "eve@client.example.org."]}
        await handle.signal("alert_created", added)
        await handle.signal("record_event", {"by": "ann", "kind": "event", "text": "after"})
        view = await status_when(handle, lambda v: any(e.text == "after" for e in v.timeline))
    assert view.requesters == ["ann@example.org", "dan@example.org"], view.requesters
    assert not any(e.kind == "refused" for e in view.timeline)


async def test_a_run_started_by_hand_with_two_inputs_is_refused_too(
    skipping_env: WorkflowEnvironment, settings: Settings
) -> None:
    client = skipping_env.client
    async with build_worker(client, settings):
        _, cause = await refused_at_start(
            client, settings.task_queue, "IncidentWorkflow",
            {"title": "a", "service_level": "gold"}, {"title": "b"},
        )  # fmt: skip
    assert "one input expected, 2 given" in str(cause)


async def test_an_event_under_a_kind_the_incident_records_itself_is_refused(
    skipping_env: WorkflowEnvironment, settings: Settings
) -> None:
    """``record_event`` with kind ``resolved`` would read, to the ledger, as a resolution:
    refused, said in the timeline; the same text under ``event`` is recorded."""
    client = skipping_env.client
    async with build_worker(client, settings):
        handle = await open_incident(client, settings.task_queue, priority="P3")
        await status(handle)
        await handle.signal("record_event", {"by": "mallory", "kind": "resolved", "text": "x"})
        # Kinds the incident reads back: a crisis said started, a worklog for the P1 status
        # mails, a refusal shown as the last one.
        for kind in ("crisis", "worklog", "refused", "p1_status"):
            await handle.signal("record_event", {"by": "eve", "kind": kind, "text": "forged"})
        await handle.signal("record_event", {"by": "ann", "kind": "event", "text": "vendor"})
        await handle.signal("record_event", {"by": "ann", "kind": "note", "text": "a note"})
        view = await status_when(handle, lambda v: any(e.text == "a note" for e in v.timeline))
    refusals = [e for e in view.timeline if e.kind == "refused"]
    assert [e.by for e in refusals] == ["mallory", "eve", "eve", "eve", "eve"], refusals
    assert "« resolved » est un événement que l'incident consigne lui-même" in refusals[0].text
    assert "« worklog » est un événement que l'incident consigne lui-même" in refusals[2].text
    assert view.status == "open" and not any(e.kind == "resolved" for e in view.timeline)
    assert not any(e.text == "forged" for e in view.timeline)
    assert [e.kind for e in view.timeline if e.by == "ann"] == ["event", "note"]


@pytest.mark.allow_failed_workflow_tasks  # what this test is about: checked below
async def test_a_run_carrying_state_this_worker_cannot_read_is_kept_not_refused(
    dev_env: WorkflowEnvironment, settings: Settings
) -> None:
    """A continued run whose state a worker cannot read (written by a newer release, say):
    never ended as a refused input; its workflow task fails and is retried, the incident
    kept for a worker that can read it."""
    from tests.faults.helpers import until
    from tests.workflow_health import failed_tasks

    client = dev_env.client
    own = settings.model_copy(update={"task_queue": f"carried-{uuid.uuid4().hex[:8]}"})
    async with build_worker(client, own):  # a queue of its own: other tests never see it
        handle = await client.start_workflow(
            "IncidentWorkflow",
            {"title": "Carried", "service_level": "gold", "state": {"from_a_newer": "release"}},
            id=f"incident-carried-{uuid.uuid4().hex[:8]}",
            task_queue=own.task_queue,
        )
        found = await until(lambda: failed_tasks(client, [(handle.id, None)]))
        assert any("IncidentInput: state." in line for line in found), found

        async def retried() -> bool:
            described = await handle.describe()
            assert described.status == WorkflowExecutionStatus.RUNNING
            return described.raw_description.pending_workflow_task.attempt >= 3

        await until(retried)
        await handle.terminate("kept for a worker that can read it; none in this test")
