"""A mail shows the incident as it was at its event, whenever the mail server takes it: mails
queued while the server was down, or sent a moment after the next change, do not show the
later state (dev server, real SMTP)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.message import EmailMessage

from temporalio.testing import WorkflowEnvironment

from starters.dev.smtp_sink import MailSink
from tests.helpers import eventually, mail_server_down, open_incident, status_when
from tests.test_versions import patch_markers
from workers.settings import Settings
from workers.worker import build_worker
from workflows.incident import PATCH_MAIL_STATE, IncidentWorkflow
from workflows.models import AcknowledgeInput, SetPendingInput


def text(message: EmailMessage) -> str:
    body = message.get_body(("plain",))
    assert body is not None
    return str(body.get_content())


def subject_ending(mails: list[EmailMessage], end: str) -> EmailMessage:
    [found] = [m for m in mails if str(m["Subject"]).endswith(end)]
    return found


async def test_mails_queued_while_the_server_is_down_show_their_own_moment(
    dev_env: WorkflowEnvironment, settings: Settings
) -> None:
    port, down = mail_server_down(settings)  # no mail server yet
    client = dev_env.client
    # A T0 in the future is noted after the opening: the opening mail still tells the opening.
    t0 = datetime.now(UTC) + timedelta(hours=2)
    async with build_worker(client, down):
        handle = await open_incident(
            client, down.task_queue, priority="P2", service_level="silver", t0=t0
        )
        await handle.execute_update(IncidentWorkflow.acknowledge, AcknowledgeInput(by="alice"))
        await handle.execute_update(
            IncidentWorkflow.set_pending,
            SetPendingInput(by="alice", waiting_on="customer", reason="logs asked"),
        )
        await status_when(handle, lambda v: v.status == "pending" and v.mails_pending >= 3)
        with MailSink(port=port) as sink:
            mails = await eventually(
                lambda: len(sink.about(handle.id)) >= 3 and sink.about(handle.id), within=30
            )
    opened = subject_ending(mails, "— Ticket ouvert")
    assert "Statut : Ouvert" in text(opened), text(opened)
    assert "Incident enregistré en P2" in text(opened) and "dans le futur" not in text(opened)
    acknowledged = subject_ending(mails, "— Prise en compte")
    assert "Statut : En cours" in text(acknowledged), text(acknowledged)
    assert "suspendu" not in text(acknowledged)
    pending = subject_ending(mails, "— En attente")
    assert "Statut : En attente" in text(pending) and "suspendu" in text(pending)
    assert PATCH_MAIL_STATE in await patch_markers(handle)
