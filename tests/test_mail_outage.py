"""A mail server outage delays mails; it never loses them nor blocks the lifecycle."""

from __future__ import annotations

from temporalio.testing import WorkflowEnvironment

from starters.dev.smtp_sink import MailSink
from tests.conftest import free_port
from tests.helpers import (
    eventually,
    mail_server_down,
    on_a_business_morning,
    open_incident,
    status,
    status_when,
)
from tests.test_incident_operations import details_of
from workers.policy_file import load_policy
from workers.settings import Settings
from workers.worker import build_worker
from workflows.incident import IncidentWorkflow
from workflows.models import AcknowledgeInput


async def test_mails_wait_for_the_server_and_arrive_in_order(
    skipping_env: WorkflowEnvironment, settings: Settings
) -> None:
    port, down = mail_server_down(settings)  # no mail server yet
    client = skipping_env.client
    await on_a_business_morning(skipping_env)
    async with build_worker(client, down):
        handle = await open_incident(client, down.task_queue)
        await status(handle)
        # The lifecycle goes on while the server is down.
        view = await handle.execute_update(IncidentWorkflow.acknowledge, AcknowledgeInput(by="al"))
        assert view.status == "in_progress"
        # A few failed rounds of attempts, in real time: the send that keeps failing is seen.
        view = await status_when(handle, lambda v: bool(v.retrying), within=30)
        assert view.mails_pending == 2
        [trouble] = view.retrying
        assert (trouble.outbox, trouble.item) == ("mail", "opened")
        assert trouble.attempts >= 3 and "mail server unreachable" in trouble.error
        assert [e.kind for e in view.timeline].count("mail_retrying") == 1
        # Told in French, with the server's own words kept as the technical detail.
        [told] = [e for e in view.timeline if e.kind == "mail_retrying"]
        assert told.fields["error_kind"] == "MailServerUnavailable"
        assert (
            "nouvel essai à venir : serveur de mail injoignable (détail technique : mail "
            "server unreachable" in told.text
        ), told.text
        assert "serveur de mail injoignable (détail technique" in await details_of(handle)

        with MailSink(port=port) as sink:
            mails = await eventually(
                lambda: len(sink.about(handle.id)) == 2 and sink.about(handle.id)
            )
            assert "Ticket ouvert" in mails[0]["Subject"]
            assert "Prise en compte" in mails[1]["Subject"]
            view = await status_when(handle, lambda v: v.mails_pending == 0 and not v.retrying)
            assert [e.kind for e in view.timeline].count("mail_through") == 1


async def test_a_refused_address_is_recorded_and_the_outbox_moves_on(
    skipping_env: WorkflowEnvironment, settings: Settings
) -> None:
    with MailSink(port=free_port(), refuse=frozenset({"gone@example.org"})) as sink:
        cfg = settings.model_copy(update={"smtp_port": sink.port})
        client = skipping_env.client
        await on_a_business_morning(skipping_env)
        async with build_worker(client, cfg):
            handle = await open_incident(client, cfg.task_queue, requesters=["gone@example.org"])
            await status(handle)
            await handle.execute_update(IncidentWorkflow.acknowledge, AcknowledgeInput(by="al"))
            view = await status_when(
                handle, lambda v: len([e for e in v.timeline if e.kind == "mail_failed"]) == 2
            )
            failure = next(e for e in view.timeline if e.kind == "mail_failed")
            assert "gone@example.org" in failure.text and "550" in failure.text
            assert "non distribué : destinataires refusés (détail technique : " in failure.text
            # The incident manager is told once while mails to that address keep failing.
            view = await status_when(handle, lambda v: v.mails_pending == 0)
            [told] = await eventually(lambda: sink.about(handle.id))
            managers = load_policy(cfg.config_dir).notifications.incident_manager
            assert told["To"] == ", ".join(managers)
            assert "Mail non distribué" in told["Subject"]
            body = told.get_body(("plain",)).get_content()  # type: ignore[union-attr]
            assert "gone@example.org" in body and "550" in body, body
            kinds = [e.kind for e in view.timeline]
            assert kinds.count("mail_failed") == 2, kinds  # the manager's own mails went out
