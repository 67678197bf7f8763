"""A failed send is told in the reader's language: its kind first, then what the server or
the library said, kept as it was said."""

from __future__ import annotations

from temporalio.exceptions import (
    ActivityError,
    ApplicationError,
    RetryState,
    TimeoutError,
    TimeoutType,
)
from temporalio.testing import WorkflowEnvironment

from workers.settings import Settings
from workflows.delivery import failure_fields
from workflows.texts import render

ZONE = "Europe/Paris"


def activity_error(cause: BaseException, state: RetryState) -> ActivityError:
    error = ActivityError(
        "activity error",
        scheduled_event_id=1,
        started_event_id=2,
        identity="w",
        activity_type="send_mail",
        activity_id="1",
        retry_state=state,
    )
    error.__cause__ = cause
    return error


def test_a_typed_failure_gives_its_kind_and_text() -> None:
    cause = ApplicationError("mail server unreachable: refused", type="MailServerUnavailable")
    fields = failure_fields(activity_error(cause, RetryState.MAXIMUM_ATTEMPTS_REACHED))
    assert fields == {
        "error": "mail server unreachable: refused",
        "error_kind": "MailServerUnavailable",
    }


def test_a_timeout_keeps_the_last_attempts_kind_or_says_timeout() -> None:
    last = ApplicationError("opsgenie unavailable: HTTP 503", type="OpsgenieUnavailable")
    assert failure_fields(activity_error(last, RetryState.TIMEOUT))["error_kind"] == (
        "OpsgenieUnavailable"
    )
    timeout = TimeoutError(
        "activity timeout", type=TimeoutType.START_TO_CLOSE, last_heartbeat_details=[]
    )
    assert failure_fields(activity_error(timeout, RetryState.TIMEOUT))["error_kind"] == "Timeout"


def test_french_readers_get_french_words_and_the_technical_text_quoted() -> None:
    fields = {
        "mail": "opened",
        "to": "a@example.org",
        "error": "mail to a@example.org refused: 550 no such user",
        "error_kind": "RecipientsRefused",
    }
    assert render("mail_failed", fields, "fr", ZONE) == (
        "Mail « Ticket ouvert » à a@example.org non distribué : destinataires refusés (détail "
        "technique : mail to a@example.org refused: 550 no such user)"
    )
    assert render("mail_failed", fields, "en", ZONE) == (
        'Mail "Ticket opened" to a@example.org not delivered: recipients refused (mail to '
        "a@example.org refused: 550 no such user)"
    )


def test_english_text_that_already_says_the_kind_is_not_said_twice() -> None:
    fields = {"action": "note", "attempts": "3", "error": "mail server unreachable: refused"}
    fields["error_kind"] = "MailServerUnavailable"
    shown = render("alert_retrying", fields, "en", ZONE)
    assert shown.endswith("trying again: mail server unreachable: refused"), shown


def test_a_mail_kind_unknown_to_the_names_is_said_as_it_is() -> None:
    fields = {"mail": "some_future_kind", "to": "a@example.org", "error": "boom"}
    assert render("mail_failed", fields, "fr", ZONE).startswith("Mail some_future_kind à")


def test_entries_recorded_before_kinds_and_unknown_kinds_show_the_text_alone() -> None:
    old = {"mail": "opened", "to": "a@example.org", "error": "boom"}
    assert render("mail_failed", old, "fr", ZONE).endswith("non distribué : boom")
    unknown = {**old, "error_kind": "HTTPStatusError"}
    assert render("mail_failed", unknown, "fr", ZONE).endswith("non distribué : boom")


def test_a_workflow_that_ended_or_exists_is_said_so() -> None:
    from temporalio.exceptions import WorkflowAlreadyStartedError

    from workflows.delivery import workflow_failure_fields

    ended = workflow_failure_fields(
        ApplicationError(
            "Unable to signal external workflow because it was not found",
            type="ExternalWorkflowExecutionNotFound",
        )
    )
    assert render("incident_unreachable", ended, "fr", ZONE).startswith(
        "Incident non informé : son exécution est déjà terminée, son historique clos "
        "(détail technique : "
    )
    exists = workflow_failure_fields(WorkflowAlreadyStartedError("crisis-x", "CrisisWorkflow"))
    shown = render("crisis_failed", {"crisis_id": "crisis-x", **exists}, "fr", ZONE)
    assert shown.startswith(
        "Crise crisis-x non démarrée : un workflow de cet identifiant existe déjà"
    ), shown


async def test_the_crisis_end_is_kept_by_an_incident_closed_but_still_sending(
    skipping_env: WorkflowEnvironment, settings: Settings
) -> None:
    """The incident is closed while its mails wait for the server (it still runs): the
    crisis's end, told then, is recorded, not refused as if someone had typed it."""
    from tests.helpers import mail_server_down, open_incident, status, status_when
    from workers.worker import build_worker
    from workflows.incident import IncidentWorkflow
    from workflows.models import CloseInput, ResolveInput

    _, down = mail_server_down(settings)
    async with build_worker(skipping_env.client, down):
        handle = await open_incident(skipping_env.client, down.task_queue)
        await status(handle)
        await handle.execute_update(
            IncidentWorkflow.resolve, ResolveInput(by="im", resolution="ok")
        )
        await handle.execute_update(IncidentWorkflow.close, CloseInput(by="im"))
        await handle.signal(
            "record_event", {"by": "im", "kind": "crisis_closed", "text": "Crise close : ok"}
        )
        view = await status_when(
            handle, lambda v: any(e.kind == "crisis_closed" for e in v.timeline)
        )
        assert view.status == "closed" and view.mails_pending > 0
        assert not any(e.kind == "refused" for e in view.timeline)
        await handle.terminate("the mail server never comes back in this test")


def test_a_crisis_mail_is_named_by_the_crisis_subject() -> None:
    """Some kinds are both an incident's and a crisis's mail (cancelled, on_call...): the
    crisis's entries name theirs as the crisis's mails say it."""
    fields = {"mail": "cancelled", "error": "x"}
    assert render("crisis_mail_failed", {**fields, "mails": "crisis"}, "fr", ZONE).startswith(
        "Mail « Crise annulée » non distribué"
    )
    assert render("mail_failed", {**fields, "to": "a@b.fr"}, "fr", ZONE).startswith(
        "Mail « Annulé » à a@b.fr"
    )
