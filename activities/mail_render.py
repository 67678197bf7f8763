"""Builds incident mails: subject, threading headers, plain text and HTML from templates."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime
from typing import Any
from urllib.parse import quote

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from activities.mail_headers import MAIL_POLICY, new_message
from activities.mail_texts import (
    ASK_MISSING,
    CONFERENCE_LABEL,
    FIELD_NAMES,
    LABELS,
    PRODUCT_AUTHORS,
    STATUS_NAMES,
    SYSTEM_AUTHORS,
    WORDING,
)
from activities.models import CrisisMailInput, SendMailInput
from workflows.limits import DIRECTION_CONTROLS, one_line
from workflows.mail_names import CRISIS_SUBJECTS
from workflows.models import TimelineEntry
from workflows.texts import render
from workflows.texts import when as told_time


def header_text(value: str) -> str:
    """Text for a header: one line, no direction control, and nothing a mail reader would
    decode as an RFC 2047 encoded word. Python's email package decodes an encoded word it is
    given as text, line breaks included, and writes them out as they are:
    ``=?utf-8?q?x=0D=0ABcc:_y?=`` in a title would add a Bcc header. "=?" becomes "= ?",
    which no reader decodes."""
    return one_line(DIRECTION_CONTROLS.sub("", value)).replace("=?", "= ?")


MAX_ID_LEFT = 250
"""Characters on the left of a Message-ID's @ (a header line stays far below 998)."""


def message_id_left(key: str) -> str:
    """The left side of a mail's Message-ID: the mail's key, the same on every attempt.

    Vigie's own keys are of a safe alphabet and stay as they are. A key made from an id
    chosen outside Vigie is %-encoded (a Message-ID is ASCII, without spaces), and replaced
    by its digest when that is too long for a header line."""
    left = quote(key, safe=".:_-")
    if len(left) > MAX_ID_LEFT:
        left = "sha256-" + hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()
    return left


def event_text(entry: TimelineEntry, language: str, timezone: str) -> str:
    """The event told in the reader's language (entries recorded as text only keep it)."""
    if not entry.sentence:
        return entry.text
    return render(entry.sentence, entry.fields, language, timezone)


class MailRenderer:
    def __init__(self, sender: str, domain: str) -> None:
        self.sender = sender
        self.domain = domain
        # Read once: the mail library's parse of an address header is a good part of a mail.
        self._from = MAIL_POLICY.header_factory("From", sender)
        self._env = Environment(
            loader=PackageLoader("activities", "templates"),
            autoescape=select_autoescape(enabled_extensions=("html.j2",)),
            undefined=StrictUndefined,
            keep_trailing_newline=True,
        )

    @staticmethod
    def _told(kind: str, input: SendMailInput, language: str, timezone: str) -> str:
        """The event as its mail tells it: an opening and a cancellation in the requesters'
        terms (the timeline says where it was opened from, what to ask them, how it was
        cancelled in Temporal). A requester added later (by the alert's Create) is told of
        the incident as it stands."""
        event, incident = input.mail.event, input.incident
        if kind == "cancelled" and event.kind == "cancelled":
            return render("cancelled.mail", {}, language, timezone)
        if kind == "opened":
            fields = {"priority": incident.priority, "service_level": incident.service_level}
            return render("opened.mail", fields, language, timezone)
        return event_text(event, language, timezone)

    def message_id(self, key: str) -> str:
        return f"<{message_id_left(key)}@{self.domain}>"

    def render(self, input: SendMailInput) -> EmailMessage:
        mail, incident = input.mail, input.incident
        language = mail.language
        wording = WORDING[language][mail.kind]

        def when(value: datetime | None) -> str:
            if value is None:
                return LABELS[language]["none"]
            return told_time(value, language, input.display_timezone)

        self._env.filters["when"] = when
        subject = header_text(
            f"[{incident.incident_id}] {incident.priority} {incident.title} — {wording['subject']}"
        )
        context = {
            "language": language,
            "colon": " :" if language == "fr" else ":",  # French typography: a space before
            "subject": subject,
            "wording": wording,
            "labels": LABELS[language],
            "status_name": STATUS_NAMES[language][incident.status],
            "incident": incident,
            "event": mail.event,
            "event_text": self._told(mail.kind, input, language, input.display_timezone),
            "author": LABELS[language]["system"] if mail.event.by in SYSTEM_AUTHORS
            else PRODUCT_AUTHORS.get(mail.event.by, mail.event.by),
            "extra": mail.extra,
            "missing": [FIELD_NAMES[language].get(f, f) for f in incident.missing_fields]
            if mail.kind in ASK_MISSING else [],
        }  # fmt: skip
        message = self.compose(subject, mail.to, mail.key, mail.thread_key, "mail", context)
        message["Date"] = format_datetime(mail.event.at)
        message["X-Vigie-Incident"] = header_text(incident.incident_id)
        return message

    def compose(
        self,
        subject: str,
        to: list[str],
        key: str,
        thread_key: str | None,
        template: str,
        context: dict[str, Any],
    ) -> EmailMessage:
        """A mail from ``template`` (``<template>.txt.j2`` and ``.html.j2``): the headers every
        Vigie mail shares (threading on the first mail of its workflow), and the bodies."""
        message = new_message()
        message["Subject"] = subject
        message["From"] = self._from
        message["To"] = ", ".join(to)
        message["Message-ID"] = self.message_id(key)
        if thread_key:
            message["In-Reply-To"] = message["References"] = self.message_id(thread_key)
        message["Auto-Submitted"] = "auto-generated"
        # Without direction overrides, as the subject: "gnp.exe" never reads "exe.png".
        text = self._env.get_template(f"{template}.txt.j2").render(context)
        html = self._env.get_template(f"{template}.html.j2").render(context)
        message.set_content(DIRECTION_CONTROLS.sub("", text))
        message.add_alternative(DIRECTION_CONTROLS.sub("", html), subtype="html")
        return message

    def render_crisis(self, input: CrisisMailInput) -> EmailMessage:
        mail = input.mail
        heading = CRISIS_SUBJECTS[mail.language].get(mail.kind, mail.kind)
        subject = f"[{input.crisis_id}] {heading} — {mail.subject}"
        if mail.drill:  # "EXERCICE — [crisis-…] …": first, whatever the client cuts
            subject = render("drill.subject", {"title": subject}, mail.language, "UTC")
        subject = header_text(subject)
        context = {
            "mail": mail,
            "subject": subject,
            "heading": heading,
            "crisis_id": input.crisis_id,
            "conference": input.conference,
            "conference_label": CONFERENCE_LABEL[mail.language],
            "colon": " :" if mail.language == "fr" else ":",  # French typography in French
        }
        message = self.compose(subject, mail.to, mail.key, mail.thread_key, "crisis", context)
        # When the crisis queued it, whenever the server takes it (sending time, before).
        message["Date"] = format_datetime(mail.at or datetime.now(UTC))
        message["X-Vigie-Crisis"] = header_text(input.crisis_id)
        message["X-Vigie-Kind"] = header_text(mail.kind)
        return message
