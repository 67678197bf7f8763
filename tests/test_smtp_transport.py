"""The SMTP transport against real servers (aiosmtpd): kept connections are reused and
replaced when the server drops them; a 5xx answer to a message is final for that mail, a 4xx
answer is retried; an incident records a rejected mail and sends the next ones."""

from __future__ import annotations

import asyncio
from email.message import EmailMessage
from pathlib import Path

import pytest
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment, WorkflowEnvironment

from activities.mail import MailActivities
from activities.mail_render import MailRenderer
from activities.models import SendMailInput
from activities.providers.smtp import SmtpConfig, SmtpTransport
from starters.dev.smtp_sink import MailSink
from tests.conftest import free_port
from tests.helpers import eventually, on_a_business_morning, open_incident, status, status_when
from tests.test_mail_render import mail_input
from workers.settings import Settings
from workers.worker import build_worker
from workflows.incident import IncidentWorkflow
from workflows.models import AcknowledgeInput


def message(n: int, to: str = "someone@example.org") -> EmailMessage:
    mail = EmailMessage()
    mail["From"], mail["To"] = "vigie@example.com", to
    mail["Subject"], mail["Message-ID"] = f"mail {n}", f"<m{n}@example.com>"
    mail.set_content(f"body {n}")
    return mail


def transport(sink: MailSink, connections: int = 2, per_connection: int = 100) -> SmtpTransport:
    config = SmtpConfig(
        host=sink.host, port=sink.port, connections=connections,
        messages_per_connection=per_connection, timeout_seconds=5,
    )  # fmt: skip
    return SmtpTransport(config)


async def test_connections_are_kept_and_bounded(sink: MailSink) -> None:
    smtp = transport(sink, connections=2)
    await asyncio.gather(*(smtp.send(message(n)) for n in range(30)))
    assert sorted(str(m["Subject"]) for m in sink.messages) == sorted(
        f"mail {n}" for n in range(30)
    )
    assert smtp.opened <= 2 and len(sink.peers) == smtp.opened
    await smtp.close()


async def test_a_connection_is_renewed_after_its_quota(sink: MailSink) -> None:
    smtp = transport(sink, connections=1, per_connection=5)
    for n in range(12):
        await smtp.send(message(n))
    assert len(sink.messages) == 12
    assert smtp.opened == 3 and len(sink.peers) == 3


async def test_an_idle_connection_is_replaced(sink: MailSink) -> None:
    smtp = SmtpTransport(SmtpConfig(host=sink.host, port=sink.port, idle_seconds=0.05))
    await smtp.send(message(1))
    await asyncio.sleep(0.2)  # longer than the idle limit
    await smtp.send(message(2))
    assert smtp.opened == 2 and len(sink.messages) == 2


async def test_a_dropped_connection_is_replaced() -> None:
    port = free_port()
    with MailSink(port=port) as first:
        smtp = SmtpTransport(SmtpConfig(host=first.host, port=port, timeout_seconds=5))
        await smtp.send(message(1))
    # The server restarts: the kept connection is dead; the next mail goes on a new one.
    with MailSink(port=port) as second:
        await smtp.send(message(2))
        assert [str(m["Subject"]) for m in second.messages] == ["mail 2"]
    assert smtp.opened == 2


def answering(reply: str, subject: str) -> MailSink:
    """A server that answers ``reply`` to DATA for the mail whose subject holds ``subject``."""
    return MailSink(
        port=free_port(), answer=lambda m, _to: reply if subject in str(m["Subject"]) else None
    )


RENDERER = MailRenderer("vigie@example.com", "example.com")


async def send_activity(mail: MailActivities) -> None:
    """The incident mail activity, on the renderer tests' sample mail."""
    await ActivityEnvironment().run(mail.send_incident_mail, mail_input())


@pytest.mark.parametrize(
    ("reply", "final", "kind"),
    [
        ("554 5.7.1 Message refused as spam", True, "MailRejected"),
        ("552 5.3.4 Message too big", True, "MailRejected"),
        ("451 4.3.0 Try again later", False, "MailServerBusy"),
        ("421 4.3.2 Shutting down", False, "MailServerBusy"),
    ],
)
async def test_an_answer_to_the_message_is_final_only_when_5xx(
    reply: str, final: bool, kind: str
) -> None:
    with answering(reply, "") as sink:
        mail = MailActivities(transport(sink), RENDERER)
        with pytest.raises(ApplicationError) as caught:
            await send_activity(mail)
    assert caught.value.non_retryable is final
    assert caught.value.type == kind
    assert reply.split(" ", 1)[0] in caught.value.message
    assert sink.messages == []


async def test_a_refused_recipient_is_final() -> None:
    input: SendMailInput = mail_input()
    with MailSink(port=free_port(), refuse=frozenset(input.mail.to)) as sink:
        mail = MailActivities(transport(sink), RENDERER)
        with pytest.raises(ApplicationError) as caught:
            await ActivityEnvironment().run(mail.send_incident_mail, input)
    assert caught.value.non_retryable and "550" in caught.value.message


async def test_a_rejected_mail_is_recorded_and_the_next_ones_go_out(
    skipping_env: WorkflowEnvironment, settings: Settings
) -> None:
    # The opening mail ("Ticket ouvert") is rejected for good; the next one is accepted.
    with answering("554 5.6.0 Content rejected", "Ticket ouvert") as sink:
        cfg = settings.model_copy(update={"smtp_port": sink.port, "workflow_sandbox": "shared"})
        client = skipping_env.client
        await on_a_business_morning(skipping_env)
        async with build_worker(client, cfg):
            handle = await open_incident(client, cfg.task_queue)
            await status(handle)
            await handle.execute_update(IncidentWorkflow.acknowledge, AcknowledgeInput(by="al"))
            view = await status_when(handle, lambda v: v.mails_pending == 0)
            failed = [e for e in view.timeline if e.kind == "mail_failed"]
            assert len(failed) == 1 and "554" in failed[0].text and "opened" in failed[0].text
            mails = await eventually(
                lambda: len(sink.about(handle.id)) == 2 and sink.about(handle.id)
            )
            subjects = [str(m["Subject"]) for m in mails]
            assert any("Prise en compte" in s for s in subjects), subjects
            # The incident manager is told that the opening mail was rejected.
            [notice] = [m for m in mails if "Mail non distribué" in str(m["Subject"])]
            assert "554" in notice.get_body(("plain",)).get_content()  # type: ignore[union-attr]


async def test_a_busy_server_delays_the_mail_without_losing_it(
    skipping_env: WorkflowEnvironment, settings: Settings
) -> None:
    busy = {"left": 2}

    def answer(_message: EmailMessage, _to: list[str]) -> str | None:
        if busy["left"]:
            busy["left"] -= 1
            return "451 4.3.0 Try again later"
        return None

    with MailSink(port=free_port(), answer=answer) as sink:
        cfg = settings.model_copy(update={"smtp_port": sink.port, "workflow_sandbox": "shared"})
        client = skipping_env.client
        await on_a_business_morning(skipping_env)
        async with build_worker(client, cfg):
            handle = await open_incident(client, cfg.task_queue)
            mails = await eventually(lambda: sink.about(handle.id))
            view = await status_when(handle, lambda v: v.mails_pending == 0)
    assert "Ticket ouvert" in str(mails[0]["Subject"])
    assert not [e for e in view.timeline if e.kind == "mail_failed"]


async def test_the_dev_sink_numbers_on_after_a_restart(tmp_path: Path) -> None:
    """The dev stack keeps its mails between runs: a restart overwrites none of them."""
    for run in range(2):
        sink = MailSink(port=free_port(), directory=tmp_path).start()
        try:
            smtp = transport(sink, connections=1)
            for n in range(3):
                await smtp.send(message(10 * run + n))
            await smtp.close()
        finally:
            sink.stop()
    files = sorted(tmp_path.glob("*.eml"))
    assert [f.name for f in files] == [f"{n:05d}.eml" for n in range(1, 7)]
    subjects = [f.read_text().split("Subject: ")[1].splitlines()[0] for f in files]
    assert subjects == ["mail 0", "mail 1", "mail 2", "mail 10", "mail 11", "mail 12"]
