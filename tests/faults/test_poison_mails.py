"""Poison values in every field that reaches a mail header, end to end: incident and crisis
titles (Subject), requester and member addresses (To), workflow ids (Subject, Message-ID,
X-Vigie-*). Through the validated entrances a poison is refused or goes out harmless; through
a raw Temporal client (no validation at all) a mail goes out harmless, or fails for good and is
recorded, and the mails behind it still go out. Every mail's headers are checked."""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta
from email.message import EmailMessage
from typing import Any

import pytest
from pydantic import BaseModel, ValidationError
from temporalio.client import Client, WorkflowFailureError, WorkflowHandle
from temporalio.exceptions import ApplicationError
from temporalio.testing import WorkflowEnvironment

from activities.mail_render import header_text
from starters.dev.smtp_sink import MailSink
from tests.faults.helpers import crisis_view, until
from tests.faults.ledger import check_mails
from tests.faults.poison import POISON, encodable
from tests.faults.tally import TALLY
from tests.faults.test_poison_entrances import DELIVERABLE
from tests.helpers import advance, on_a_business_morning, status
from tests.workflow_health import failed_tasks
from workers.settings import Settings
from workers.worker import build_worker
from workflows.crisis import CrisisWorkflow
from workflows.crisis_models import CrisisInput
from workflows.incident import IncidentWorkflow
from workflows.inputs import PATCH_START_LIMITS
from workflows.limits import LIMITS, is_clean_line
from workflows.models import AcknowledgeInput, IncidentInput

HEADERS = {
    "subject", "from", "to", "message-id", "in-reply-to", "references", "auto-submitted",
    "date", "x-vigie-incident", "x-vigie-crisis", "x-vigie-kind", "mime-version",
    "content-type", "content-transfer-encoding",
}  # fmt: skip
SENDABLE = {name: value for name, value in POISON.items() if encodable(value)}
GOOD = "customer@example.org"
# Raw addresses whose RCPT TO line the mail server refuses (500 Line too long).
TOO_LONG_FOR_SMTP = ("long_word", "huge")


@pytest.fixture
def legacy_worker(monkeypatch: pytest.MonkeyPatch) -> None:
    """A worker of the release before new runs were checked against the input limits: raw
    inputs run as incidents and crises started then still do (their mails are under test)."""
    monkeypatch.setattr("workers.worker.WITHDRAWN", frozenset({PATCH_START_LIMITS}))


def harmless(message: EmailMessage, to: set[str] | None = None) -> None:
    """Only Vigie's own headers, each on one line; the recipients are the expected ones."""
    names = {name.lower() for name in message.keys()}
    assert names <= HEADERS, (
        f"unexpected headers {names - HEADERS} in {message.as_bytes()[:1500]!r}"
    )
    for name, value in message.items():
        assert is_clean_line(str(value)), f"{name}: {str(value)[:120]!r}"
    if to is not None:
        assert {a.addr_spec for a in message["To"].addresses} == to


def mails_of(sink: MailSink, workflow_id: str) -> list[EmailMessage]:
    shown = header_text(workflow_id)  # as the mail's X-Vigie header carries it
    with sink._lock:
        return [m for m in sink.messages if shown in (m["X-Vigie-Incident"], m["X-Vigie-Crisis"])]


async def start_incident(client: Client, queue: str, input: Any, key: str) -> WorkflowHandle:
    """Starts an incident from a model (validated) or a plain dict (no validation at all)."""
    return await client.start_workflow(
        "IncidentWorkflow", input, id=f"incident-poison-{key}-{uuid.uuid4().hex[:6]}",
        task_queue=queue,
    )  # fmt: skip


def decodes(model: type[BaseModel], raw: dict[str, Any]) -> bool:
    """Whether a workflow can decode this start input at all (limits waived, as in a workflow).
    One it cannot decode fails its first workflow task until someone terminates it: Temporal
    runs no code that could refuse it (see the README's Reliability section)."""
    try:
        model.model_validate(raw, context={LIMITS: False})
    except ValidationError:
        return False
    return True


def validated(**fields: Any) -> IncidentInput | None:
    """The input as the CLI and the webhook build it, or None when it is refused."""
    base = {"title": "Checkout down", "service_level": "gold", "priority": "P3",
            "requesters": [GOOD]}  # fmt: skip
    try:
        return IncidentInput(**{**base, **fields})
    except ValidationError:
        return None


async def settled(handle: WorkflowHandle) -> Any:
    """The incident once its outbox is empty and nothing is being retried."""

    last: list[Any] = []

    async def check() -> Any:
        view = await status(handle)
        last[:] = [view]
        return view if view.mails_pending == 0 and not view.retrying else None

    try:
        return await until(check)
    except AssertionError:
        view = last[0] if last else None
        raise AssertionError(
            f"{handle.id} never settled: pending {view and view.mails_pending}, "
            f"retrying {view and view.retrying}"
        ) from None


@pytest.mark.usefixtures("legacy_worker")
async def test_titles_reach_the_subject_on_one_line(
    skipping_env: WorkflowEnvironment, settings: Settings, sink: MailSink
) -> None:
    client = skipping_env.client
    await on_a_business_morning(skipping_env)
    async with build_worker(client, settings):
        handles: list[WorkflowHandle] = []
        for name, poison in SENDABLE.items():
            raw = {"title": poison, "service_level": "gold", "priority": "P3",
                   "requesters": [GOOD]}  # fmt: skip
            if decodes(IncidentInput, raw):
                handles.append(
                    await start_incident(client, settings.task_queue, raw, f"raw-{name}")
                )
            input = validated(title=poison)
            if input is not None:
                handles.append(
                    await start_incident(client, settings.task_queue, input, f"ok-{name}")
                )
            TALLY.bad_input("incident title", 2)
        for handle in handles:
            await handle.execute_update(IncidentWorkflow.acknowledge, AcknowledgeInput(by="al"))
        for handle in handles:
            await settled(handle)
            mails = await until(lambda h=handle: _all(mails_of(sink, h.id), 2))  # type: ignore[misc]
            for mail in mails:
                harmless(mail, {GOOD})
        await check_mails(client, sink, [h.id for h in handles])


async def _all(mails: list[EmailMessage], count: int) -> list[EmailMessage] | None:
    return mails if len(mails) >= count else None


@pytest.mark.usefixtures("legacy_worker")
async def test_requester_addresses(
    skipping_env: WorkflowEnvironment, settings: Settings, sink: MailSink
) -> None:
    """Validated: only a deliverable address is taken. Raw: a mail no server could be given is
    recorded as failed for good, and the incident's later mails are not held behind it."""
    client = skipping_env.client
    await on_a_business_morning(skipping_env)
    async with build_worker(client, settings):
        raw_handles: dict[str, WorkflowHandle] = {}
        for name, poison in SENDABLE.items():
            if name in TOO_LONG_FOR_SMTP:
                continue  # the server's own 5xx: see the test below
            address = f"{poison}@example.org"
            TALLY.bad_input("requester address", 2)
            input = validated(requesters=[GOOD, address])
            assert (input is not None) == (name in DELIVERABLE), name
            raw = {"title": "Checkout down", "service_level": "gold", "priority": "P3",
                   "requesters": [GOOD, address]}  # fmt: skip
            raw_handles[name] = await start_incident(client, settings.task_queue, raw, name)
        for handle in raw_handles.values():
            await handle.execute_update(IncidentWorkflow.acknowledge, AcknowledgeInput(by="al"))
        for name, handle in raw_handles.items():
            view = await settled(handle)
            failed = [e for e in view.timeline if e.kind == "mail_failed"]
            mails = mails_of(sink, handle.id)
            notices = [m for m in mails if "Mail non distribué" in str(m["Subject"])]
            delivered = [m for m in mails if m not in notices]
            # Either both mails went out, or both are recorded as failed: none is pending.
            assert len(failed) + len(delivered) == 2, (name, failed, len(delivered))
            # The failures are told to the incident manager once, on a mail with clean headers.
            assert len(notices) == min(len(failed), 1), (name, len(notices))
            for mail in notices:
                harmless(mail)
            for mail in delivered:
                harmless(mail)
            if name in DELIVERABLE:
                assert len(delivered) == 2, name
        check = await check_mails(client, sink, [h.id for h in raw_handles.values()], may_fail=True)
        assert check.sends.failed, "some raw addresses can never be sent"


@pytest.mark.usefixtures("legacy_worker")
async def test_a_recipient_the_server_answers_500_to(
    skipping_env: WorkflowEnvironment, settings: Settings, sink: MailSink
) -> None:
    """A raw requester address of a thousand characters or more: validation refuses it at every
    entrance (254 at most), a raw client does not. The server answers 500: the mail must be
    recorded as failed for good, not retried for ever in front of the incident's other mails."""
    client = skipping_env.client
    async with build_worker(client, settings):
        handles = []
        for name in TOO_LONG_FOR_SMTP:
            raw = {"title": "Checkout down", "service_level": "gold", "priority": "P3",
                   "requesters": [GOOD, f"{POISON[name]}@example.org"]}  # fmt: skip
            handles.append(await start_incident(client, settings.task_queue, raw, name))
            TALLY.bad_input("requester address")
        for handle in handles:
            view = await settled(handle)
            assert [e.kind for e in view.timeline].count("mail_failed") == 1


async def test_workflow_ids_chosen_outside_vigie(
    skipping_env: WorkflowEnvironment, settings: Settings, sink: MailSink
) -> None:
    """The CLI and the webhook only make ids of a safe alphabet; a raw Temporal client can
    choose any id. Its mails still go out with clean headers, or are recorded as failed."""
    client = skipping_env.client
    await on_a_business_morning(skipping_env)
    async with build_worker(client, settings):
        handles = []
        for n, poison in enumerate(SENDABLE.values()):
            if len(poison) > 900:
                continue  # Temporal refuses over-long ids itself
            TALLY.bad_input("workflow id")
            handles.append(
                await client.start_workflow(
                    IncidentWorkflow.run,
                    validated(),
                    id=f"incident-{n}-{poison}",
                    task_queue=settings.task_queue,
                )
            )
        for handle in handles:
            view = await settled(handle)
            delivered = mails_of(sink, handle.id)
            failed = [e for e in view.timeline if e.kind == "mail_failed"]
            assert len(delivered) + len(failed) == 1, handle.id
            for mail in delivered:
                harmless(mail, {GOOD})


@pytest.mark.usefixtures("legacy_worker")
async def test_crisis_titles_and_members(
    skipping_env: WorkflowEnvironment, settings: Settings, sink: MailSink
) -> None:
    client = skipping_env.client
    await on_a_business_morning(skipping_env)
    async with build_worker(client, settings):
        crises = []
        for name, poison in SENDABLE.items():
            raw = {"title": poison, "opened_by": "im"}
            TALLY.bad_input("crisis title")
            if not decodes(CrisisInput, raw):
                continue
            handle = await client.start_workflow(
                "CrisisWorkflow", raw, id=f"crisis-poison-{name}-{uuid.uuid4().hex[:6]}",
                task_queue=settings.task_queue,
            )  # fmt: skip
            crises.append(handle)
        # Members with addresses a mail can carry, though they look like others.
        first = crises[0]
        await until(lambda: crisis_view(first))
        for name in sorted(DELIVERABLE):
            TALLY.bad_input("member address")
            await first.execute_update(
                CrisisWorkflow.add_member,
                {"by": "im", "name": name, "email": f"{POISON[name]}@example.org",
                 "kind": "expert"},
            )  # fmt: skip
        await first.execute_update(CrisisWorkflow.post_update, {"by": "im", "progress": "p"})
        await advance(skipping_env, timedelta(minutes=35))  # the escalation mails (T0+30)
        for handle in crises:
            try:
                view = await until(lambda h=handle: _crisis_mailed(h))
            except AssertionError:
                raise AssertionError(f"{handle.id}: {await crisis_view(handle)}") from None
            assert not [n for n in view.notifications if n.status == "failed"], handle.id
            for mail in mails_of(sink, handle.id):
                harmless(mail)
        await asyncio.sleep(0)
        await check_mails(client, sink, [h.id for h in crises])


async def _crisis_mailed(handle: WorkflowHandle) -> Any:
    view = await crisis_view(handle)
    if view is None or view.mails_pending or view.retrying or not view.notifications:
        return None
    return view


async def test_a_start_input_no_model_can_decode_ends_the_run_at_once(
    skipping_env: WorkflowEnvironment, settings: Settings
) -> None:
    """A raw Temporal client starts an incident with a blank title, or a crisis with a title
    on two lines: the run ends at once, failed with ``InputRefused`` naming the field, and no
    workflow task fails. Vigie's own entrances refuse such input before sending it."""
    client = skipping_env.client
    async with build_worker(client, settings):
        raw = {"title": "   ", "service_level": "gold"}
        assert not decodes(IncidentInput, raw) and validated(title="   ") is None
        handle = await start_incident(client, settings.task_queue, raw, "blank")
        TALLY.bad_input("raw start input")
        with pytest.raises(WorkflowFailureError) as failed:
            await handle.result()
        assert isinstance(failed.value.cause, ApplicationError)
        assert failed.value.cause.type == "InputRefused" and "title" in str(failed.value.cause)
        crisis = await client.start_workflow(
            "CrisisWorkflow", {"title": "Datacenter\r\nBcc: x@evil.test"},
            id=f"crisis-poison-raw-{uuid.uuid4().hex[:6]}", task_queue=settings.task_queue,
        )  # fmt: skip
        TALLY.bad_input("raw start input")
        with pytest.raises(WorkflowFailureError) as failed:
            await crisis.result()
        assert isinstance(failed.value.cause, ApplicationError)
        assert failed.value.cause.type == "InputRefused" and "title" in str(failed.value.cause)
        assert not await failed_tasks(client, [(handle.id, None), (crisis.id, None)])
