"""Sends incident mails. Retries are Temporal's: a mail server outage delays, never drops."""

from __future__ import annotations

import logging

from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.mail_render import MailRenderer
from activities.models import SendMailInput, SendMailResult
from activities.providers.smtp import MailTransport, RecipientsRefused

log = logging.getLogger(__name__)


class MailActivities:
    def __init__(self, transport: MailTransport, renderer: MailRenderer) -> None:
        self._transport = transport
        self._renderer = renderer

    @activity.defn(name="send_incident_mail")
    async def send_incident_mail(self, input: SendMailInput) -> SendMailResult:
        message = self._renderer.render(input)
        message_id = str(message["Message-ID"])
        try:
            refused = await self._transport.send(message)
        except RecipientsRefused as exc:
            raise ApplicationError(
                f"mail {input.mail.kind} to {', '.join(input.mail.to)} refused: {exc}",
                type="RecipientsRefused",
                non_retryable=True,
            ) from exc
        except (OSError, TimeoutError) as exc:
            # Unreachable server: Temporal retries with backoff until it is back.
            raise ApplicationError(
                f"mail server unreachable: {exc}", type="MailServerUnavailable"
            ) from exc
        log.info(
            "mail %s sent for %s to %s",
            input.mail.kind,
            input.incident.incident_id,
            ", ".join(input.mail.to),
        )
        return SendMailResult(message_id=message_id, refused=refused)
