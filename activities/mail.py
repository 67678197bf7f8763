"""Sends incident mails. Retries are Temporal's: a mail server outage delays, never drops."""

from __future__ import annotations

from datetime import UTC, datetime
from email.errors import MessageError
from email.message import EmailMessage

from aiosmtplib import SMTPException
from jinja2 import TemplateError
from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.mail_render import MailRenderer
from activities.models import CrisisMailInput, SendMailInput, SendMailResult
from activities.providers.opsgenie.client import OpsgenieApi, OpsgenieError, OpsgenieUnavailable
from activities.providers.smtp import MailRejected, MailTransport, RecipientsRefused
from workflows.metrics import count

# What building or serialising a mail raises when its content can never make a mail
# (a header with a line break, from data stored before inputs were bounded...).
UNSENDABLE = (ValueError, TypeError, LookupError, MessageError, TemplateError)


def unsendable(what: str, exc: Exception) -> ApplicationError:
    """A mail that no retry can send: recorded by the workflow as failed, and skipped."""
    return ApplicationError(
        f"{what} can never be sent: {type(exc).__name__}: {exc}",
        type="RecipientsRefused",
        non_retryable=True,
    )


ALERT_MESSAGE = 130  # Opsgenie's limit for an alert's message


def alert_message(subject: str) -> str:
    """The subject as an alert's message: whole when it fits, else cut between words."""
    if len(subject) <= ALERT_MESSAGE:
        return subject
    cut = subject[: ALERT_MESSAGE - 1]
    space = cut.rfind(" ")
    return (cut[:space] if space > ALERT_MESSAGE // 2 else cut).rstrip(" ,;:-—") + "…"


class MailActivities:
    """``relay`` is the alternate mail relay used when the mail system itself is down;
    ``alerts`` notifies through Opsgenie instead of mail when configured so."""

    def __init__(
        self,
        transport: MailTransport,
        renderer: MailRenderer,
        relay: MailTransport | None = None,
        alerts: OpsgenieApi | None = None,
    ) -> None:
        self._transport = transport
        self._renderer = renderer
        self._relay = relay
        self._alerts = alerts

    @activity.defn(name="send_incident_mail")
    async def send_incident_mail(self, input: SendMailInput) -> SendMailResult:
        what = f"mail {input.mail.kind}"
        try:
            message = self._renderer.render(input)
        except UNSENDABLE as exc:
            raise unsendable(what, exc) from exc
        return await self._send(self._transport, message, what)

    @activity.defn(name="send_crisis_mail")
    async def send_crisis_mail(self, input: CrisisMailInput) -> SendMailResult:
        """Sends over the mail's channel; a channel that fails hands over to the next one
        (alternate relay, Opsgenie, the usual mail server). The result names the channel
        that carried the notification and why the ones before it did not."""
        what = f"crisis mail {input.mail.kind}"
        try:
            message = self._renderer.render_crisis(input)
        except UNSENDABLE as exc:
            raise unsendable(what, exc) from exc
        skipped: list[str] = []
        transient = False
        chain = self.channels(input.mail.channel)
        for channel in chain:
            try:
                if channel == "opsgenie":
                    result = await self._notify_through_opsgenie(input, message)
                else:
                    transport = self._relay if channel == "relay" else self._transport
                    assert transport is not None
                    result = await self._send(transport, message, what)
            except ApplicationError as exc:
                if len(chain) == 1:
                    raise
                transient = transient or not exc.non_retryable
                skipped.append(f"{channel}: {exc.message}")
                activity.logger.warning("%s: channel %s failed: %s", what, channel, exc.message)
                continue
            result.channel = channel
            result.fallback_reason = "; ".join(skipped) or None
            result.sent_at = datetime.now(UTC)
            return result
        reasons = "; ".join(skipped)
        if transient:
            # A server was only unreachable: Temporal tries the whole chain again later.
            raise ApplicationError(f"no channel could carry it: {reasons}", type="ChannelsDown")
        raise ApplicationError(
            f"no channel could carry it: {reasons}", type="RecipientsRefused", non_retryable=True
        )

    def channels(self, requested: str) -> list[str]:
        """Channels to try in order for a crisis notification."""
        if requested == "smtp":
            return ["smtp"]
        configured = {"relay": self._relay is not None, "opsgenie": self._alerts is not None}
        order = [requested] if requested in configured else []
        order += [c for c in ("relay", "opsgenie") if c not in order]
        return [c for c in order if configured[c]] + ["smtp"]

    async def _notify_through_opsgenie(
        self, input: CrisisMailInput, message: EmailMessage
    ) -> SendMailResult:
        assert self._alerts is not None
        body = message.get_body(("plain",))
        text = body.get_content() if body is not None else ""
        drill = input.mail.drill  # an exercise pages at the lowest priority
        try:
            request_id = await self._alerts.create_alert(
                {
                    "message": alert_message(str(message["Subject"])),
                    "alias": input.mail.key,
                    "description": text[:15000],
                    "responders": [{"type": "user", "username": a} for a in input.mail.to],
                    "tags": ["vigie", "crisis", *(["drill"] if drill else [])],
                    "priority": "P5" if drill else "P1",
                    "source": "vigie",
                }
            )
        except OpsgenieError as exc:
            raise ApplicationError(str(exc), type="OpsgenieRejected", non_retryable=True) from exc
        except OpsgenieUnavailable as exc:
            raise ApplicationError(str(exc), type="OpsgenieUnavailable") from exc
        return SendMailResult(message_id=f"opsgenie:{request_id}")

    async def deliver(self, message: EmailMessage, what: str) -> SendMailResult:
        """Sends a built mail over the usual server, with the errors every mail has."""
        return await self._send(self._transport, message, what)

    async def _send(
        self, transport: MailTransport, message: EmailMessage, what: str
    ) -> SendMailResult:
        message_id = str(message["Message-ID"])
        try:
            refused = await transport.send(message)
        except RecipientsRefused as exc:
            raise ApplicationError(
                f"{what} to {message['To']} refused: {exc}",
                type="RecipientsRefused",
                non_retryable=True,
            ) from exc
        except MailRejected as exc:
            # A 5xx answer to the message itself: final for this mail, which the workflow
            # records as failed, with this reason, before sending the next ones.
            raise ApplicationError(
                f"{what} to {message['To']} rejected by the mail server: {exc}",
                type="MailRejected",
                non_retryable=True,
            ) from exc
        except (OSError, TimeoutError) as exc:
            # Unreachable server: Temporal retries with backoff until it is back.
            raise ApplicationError(
                f"mail server unreachable: {exc}", type="MailServerUnavailable"
            ) from exc
        except SMTPException as exc:
            # A temporary refusal (4xx: greylisting, a full queue...): retried with backoff.
            raise ApplicationError(
                f"mail server refused {what} for now, retried: {exc}", type="MailServerBusy"
            ) from exc
        except UNSENDABLE as exc:  # content the server cannot be given (a control character...)
            raise unsendable(what, exc) from exc
        activity.logger.info("%s sent to %s", what, message["To"])
        count(activity.metric_meter(), "vigie_mails", outcome="sent", kind=what.rsplit(" ", 1)[-1])
        return SendMailResult(message_id=message_id, refused=refused)
