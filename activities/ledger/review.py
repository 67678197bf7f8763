"""The monthly service review's activities: who had incidents, and the report mailed to each
customer's incident manager and delivery manager."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime

from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.ledger.store import Ledger
from activities.mail_headers import new_message
from activities.providers.smtp import MailTransport, RecipientsRefused
from starters.report.compute import Period, Report, build_report
from starters.report.render import to_html
from starters.report.texts import Words
from workflows.matrix import EscalationMatrix
from workflows.policy import ConfigError
from workflows.service_review import (
    ReviewCustomersInput,
    ReviewCustomersResult,
    ReviewFailuresInput,
    ReviewFailuresResult,
    SendServiceReviewInput,
    SendServiceReviewResult,
    month_bounds,
)

SUBJECT = {"fr": "Revue de service", "en": "Service review"}
BODY = {
    "fr": "Bonjour,\n\nVoici la revue de service de {customer} pour {month} (fichier joint, "
    "à ouvrir dans un navigateur).\n\n{lines}\n\nVigie",
    "en": "Hello,\n\nHere is the service review of {customer} for {month} (attached file, "
    "to open in a browser).\n\n{lines}\n\nVigie",
}

NOT_SENT = {
    "fr": (
        "Revue de service {month} non envoyée pour {count} client(s)",
        "Bonjour,\n\nLa revue de service de {month} n'a pas pu être envoyée pour ces "
        "clients :\n\n{lines}\n\nCorrigez la cause, puis relancez la revue à la main (README, "
        "« The monthly service review »).\n\nVigie",
    ),
    "en": (
        "Service review {month} not sent for {count} customer(s)",
        "Hello,\n\nThe service review of {month} could not be sent for these customers:"
        '\n\n{lines}\n\nFix the cause, then run the review again by hand (README, "The '
        'monthly service review").\n\nVigie',
    ),
}


def summary_lines(report: Report, w: Words) -> list[str]:
    c = " :" if w.language == "fr" else ":"  # French typography: a space before the colon
    mtta, mttr = w.minutes(report.mtta_minutes), w.minutes(report.mttr_minutes)
    return [
        f"- {w['incidents']}{c} {report.incidents}",
        f"- {w['ack_compliance']}{c} {w.share(report.ack_compliance)}",
        f"- {w['resolution_compliance']}{c} {w.share(report.resolution_compliance)}",
        f"- MTTA{c} {mtta} · MTTR{c} {mttr}",
        f"- {w['breaches']}{c} {len(report.breaches)}",
        f"- {w['crises']}{c} {len(report.crises)}",
    ]


class ServiceReviewActivities:
    def __init__(
        self,
        ledger: Ledger,
        transport: MailTransport,
        sender: str,
        domain: str,
        matrix_for: Callable[[str], EscalationMatrix],
    ) -> None:
        self._ledger = ledger
        self._transport = transport
        self._sender = sender
        self._domain = domain
        self._matrix_for = matrix_for

    def _period(self, month: str, timezone: str) -> Period:
        first, last = month_bounds(month)
        return Period(since=first, until=last, timezone=timezone)

    @activity.defn(name="service_review_customers")
    async def service_review_customers(self, input: ReviewCustomersInput) -> ReviewCustomersResult:
        start, end = self._period(input.month, input.timezone).bounds
        customers = await asyncio.to_thread(self._ledger.customers, start, end)
        return ReviewCustomersResult(customers=customers)

    def recipients(self, customer: str) -> list[str]:
        """The customer's incident manager and delivery manager (escalation matrix)."""
        try:
            matrix = self._matrix_for(customer)
        except ConfigError as exc:
            raise ApplicationError(str(exc), type="ConfigError", non_retryable=True) from exc
        people = [*matrix.provider.incident_manager, *matrix.provider.delivery_manager]
        return list(dict.fromkeys(str(c.email) for c in people))

    def message(
        self, input: SendServiceReviewInput, report: Report, html: str, to: list[str]
    ) -> EmailMessage:
        w = Words(input.language, input.timezone)
        first, _ = month_bounds(input.month)
        month = f"{first:%m/%Y}"
        # A retried send keeps its Message-ID; a review run again is a new mail (mail systems
        # drop a second message with a Message-ID they have seen).
        run = f".{input.review}" if input.review else ""
        message = self._new(
            f"[Vigie] {SUBJECT[w.language]} — {input.customer} — {month}",
            to,
            f"service-review.{input.customer}.{input.month}{run}",
        )
        lines = "\n".join(summary_lines(report, w))
        message.set_content(
            BODY[w.language].format(customer=input.customer, month=month, lines=lines)
        )
        name = f"{SUBJECT[w.language].lower().replace(' ', '-')}-{input.customer}-{input.month}"
        message.add_attachment(html, subtype="html", filename=f"{name}.html")
        return message

    @activity.defn(name="send_service_review_failures")
    async def send_service_review_failures(
        self, input: ReviewFailuresInput
    ) -> ReviewFailuresResult:
        """The customers whose review did not go out, to the escalation matrix's incident and
        delivery managers."""
        to = self.recipients("")  # no customer's own matrix: the escalation matrix
        first, _ = month_bounds(input.month)
        month = f"{first:%m/%Y}"
        language = input.language if input.language in NOT_SENT else "fr"
        subject, body = NOT_SENT[language]
        gap = " : " if language == "fr" else ": "
        lines = "\n".join(f"- {customer}{gap}{why[:500]}" for customer, why in input.failed.items())
        message = self._new(
            "[Vigie] " + subject.format(month=month, count=len(input.failed)),
            to,
            f"service-review-failures.{input.month}.{input.review}",
        )
        message.set_content(body.format(month=month, lines=lines))
        refused = await self._send(message)
        return ReviewFailuresResult(to=[a for a in to if a not in refused])

    def _new(self, subject: str, to: list[str], message_id: str) -> EmailMessage:
        """A review mail's headers: from Vigie, auto-generated, ``message_id`` at the domain."""
        message = new_message()
        message["Subject"] = subject
        message["From"] = self._sender
        message["To"] = ", ".join(to)
        message["Message-ID"] = f"<{message_id}@{self._domain}>"
        message["Date"] = format_datetime(datetime.now(UTC))
        message["Auto-Submitted"] = "auto-generated"
        return message

    async def _send(self, message: EmailMessage) -> dict[str, str]:
        """The recipients the server refused; none taken at all is final."""
        try:
            return await self._transport.send(message)
        except RecipientsRefused as exc:
            raise ApplicationError(str(exc), type="RecipientsRefused", non_retryable=True) from exc

    @activity.defn(name="send_service_review")
    async def send_service_review(self, input: SendServiceReviewInput) -> SendServiceReviewResult:
        to = self.recipients(input.customer)
        period = self._period(input.month, input.timezone)
        now = datetime.now(UTC)
        report = await asyncio.to_thread(build_report, self._ledger, period, input.customer, now)
        html = await asyncio.to_thread(to_html, report, input.language)
        message = self.message(input, report, html, to)
        refused = await self._send(message)
        if refused:
            activity.logger.warning("service review %s: refused %s", input.customer, refused)
        return SendServiceReviewResult(
            to=[a for a in to if a not in refused],
            incidents=report.incidents,
            message_id=str(message["Message-ID"]),
        )
