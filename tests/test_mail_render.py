"""Mail building: subject, threading headers, languages, and SMTP delivery errors."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

from activities.mail import MailActivities
from activities.mail_render import MailRenderer
from activities.models import SendMailInput
from activities.providers.smtp import SmtpConfig, SmtpTransport
from starters.dev.smtp_sink import MailSink
from tests.conftest import free_port
from workflows.models import IncidentView, OutgoingMail, TimelineEntry

AT = datetime(2026, 11, 24, 9, 30, tzinfo=UTC)


def view(**changes: object) -> IncidentView:
    base = IncidentView(
        incident_id="incident-42",
        status="pending",
        priority="P2",
        service_level="silver",
        title="Invoices <script>",
        category=None,
        description="Since 09:00",
        application="billing",
        requesters=["a@example.org"],
        source="cli",
        opened_at=AT,
        ack_due_at=AT + timedelta(minutes=30),
        acknowledged_at=AT,
        resolution_due_at=None,
        resolved_at=None,
        closed_at=None,
        sla_paused=True,
        waiting_on="customer",
        ack_breached=False,
        resolution_breached=False,
        major=False,
        p1_verdict=None,
        missing_fields=["category"],
        policy_version=1,
        mails_pending=0,
        timeline=[],
    )
    return base.model_copy(update=changes)


def mail_input(language: str = "fr", thread_key: str | None = "incident-42.0") -> SendMailInput:
    return SendMailInput(
        mail=OutgoingMail(
            key="incident-42.3",
            thread_key=thread_key,
            kind="pending",
            to=["a@example.org", "im@example.com"],
            language=language,  # type: ignore[arg-type]
            event=TimelineEntry(at=AT, kind="pending", by="alice", text="Waiting on the customer"),
        ),
        incident=view(),
        display_timezone="Europe/Paris",
    )


def test_headers_thread_the_incident() -> None:
    message = MailRenderer("Vigie <vigie@example.com>", "example.com").render(mail_input())
    assert message["Message-ID"] == "<incident-42.3@example.com>"
    assert message["In-Reply-To"] == "<incident-42.0@example.com>"
    assert message["References"] == "<incident-42.0@example.com>"
    assert message["Subject"].startswith("[incident-42] P2 ")
    assert "En attente" in message["Subject"]
    assert message["To"] == "a@example.org, im@example.com"


def test_a_typed_direction_override_cannot_turn_the_subject_around() -> None:
    """U+202E in a title would show the rest of the subject ("— En attente") backwards."""
    typed = mail_input()
    typed.incident = view(title="Factures \u202eetnetta ne\u2066 x\u2069")
    rendered = MailRenderer("v@example.com", "example.com").render(typed)
    subject = rendered["Subject"]
    assert subject == "[incident-42] P2 Factures etnetta ne x — En attente", subject
    # Nor the bodies: the title line and the HTML heading read as typed, without them.
    for part in ("plain", "html"):
        body = str(rendered.get_body((part,)).get_content())  # type: ignore[union-attr]
        assert "Factures etnetta ne x" in body and "\u202e" not in body, body


def told(kind: str, event: TimelineEntry, **incident: object) -> str:
    mail = mail_input()
    mail.mail = mail.mail.model_copy(update={"kind": kind, "event": event})
    mail.incident = view(**incident)
    rendered = MailRenderer("v@example.com", "example.com").render(mail)
    return str(rendered.get_body(("plain",)).get_content())  # type: ignore[union-attr]


def test_a_cancellation_is_told_in_the_requesters_terms() -> None:
    """How it was cancelled (in Temporal) is for the timeline; the requester reads that the
    incident is no longer followed, by Vigie, with no deadline nor request for details."""
    event = TimelineEntry(
        at=AT, kind="cancelled", by="temporal", sentence="cancelled", fields={"before": "open"},
        text="Incident annulé depuis Temporal",
    )  # fmt: skip
    text = told("cancelled", event, status="cancelled", sla_paused=False)
    assert "Il n'est plus suivi. Pour un nouveau problème, ouvrez un nouvel incident." in text
    assert "Par : Vigie — " in text
    assert "Temporal" not in text and "temporal" not in text
    assert "Résolution avant" not in text and "Informations manquantes" not in text


def test_the_team_warning_asks_no_details_and_the_resolved_mail_tells_when() -> None:
    warning = TimelineEntry(at=AT, kind="resolution_warning", by="vigie", text="75 %")
    text = told("resolution_warning", warning, status="in_progress", sla_paused=False)
    assert "Informations manquantes" not in text  # the team's mail: nothing to ask them
    asked = told("acknowledged", warning, status="in_progress", sla_paused=False)
    assert "Informations manquantes, merci de nous les transmettre : catégorie" in asked
    resolved = TimelineEntry(at=AT, kind="resolved", by="alice", text="fixed")
    text = told(
        "resolved", resolved, status="resolved", sla_paused=False, resolved_at=AT,
        resolution_due_at=AT - timedelta(hours=1), resolution_breached=True,
    )  # fmt: skip
    assert "Résolution avant : 24/11/2026 09:30 CET (dépassé)" in text.splitlines()
    assert "Résolu le : 24/11/2026 10:30 CET" in text.splitlines()
    # Acknowledged: the mail says when, not the deadline that no longer matters.
    assert "Pris en compte le : 24/11/2026 10:30 CET" in text.splitlines()
    assert "Prise en compte avant" not in text
    late = told("resolved", resolved, status="resolved", sla_paused=False, ack_breached=True)
    assert "Pris en compte le : 24/11/2026 10:30 CET (dépassé)" in late.splitlines()
    waiting = told("opened", resolved, status="open", acknowledged_at=None)
    assert "Prise en compte avant : 24/11/2026 11:00 CET" in waiting.splitlines(), waiting
    overdue = told("opened", resolved, status="open", acknowledged_at=None, ack_breached=True)
    assert "Prise en compte avant : 24/11/2026 11:00 CET (dépassé)" in overdue.splitlines()


def test_the_opening_is_told_in_the_requesters_terms() -> None:
    """Where it was opened from and what to ask them are the team's (the timeline)."""
    event = TimelineEntry(
        at=AT, kind="opened", by="opsgenie", sentence="opened.missing",
        fields={"source": "opsgenie", "priority": "P3", "service_level": "bronze",
                "missing": "category"},
        text="Incident ouvert depuis Opsgenie : P3 Bronze. Informations manquantes…",
    )  # fmt: skip
    text = told("opened", event, status="open", sla_paused=False, priority="P3",
                service_level="bronze")  # fmt: skip
    assert text.splitlines()[2] == "Incident enregistré en P3, niveau de service Bronze."
    assert "opsgenie" not in text and "à demander" not in text
    assert "Par : Opsgenie — 24/11/2026 10:30 CET" in text  # raised by monitoring
    english = mail_input("en")
    english.mail = english.mail.model_copy(update={"kind": "opened", "event": event})
    english.incident = view(priority="P3", service_level="bronze")
    rendered = MailRenderer("v@example.com", "example.com").render(english)
    plain = str(rendered.get_body(("plain",)).get_content())  # type: ignore[union-attr]
    assert "Incident registered as P3, service level Bronze." in plain


def test_root_mail_has_no_parent() -> None:
    message = MailRenderer("v@example.com", "example.com").render(mail_input(thread_key=None))
    assert message["In-Reply-To"] is None and message["References"] is None


def test_french_and_english_bodies_plain_and_html() -> None:
    renderer = MailRenderer("v@example.com", "example.com")
    fr = renderer.render(mail_input("fr"))
    plain = fr.get_body(("plain",)).get_content()
    html = fr.get_body(("html",)).get_content()
    assert "suspendu (en attente)" in plain
    assert "24/11/2026 10:30 CET" in plain  # shown in Paris time
    assert "catégorie" in plain  # missing fields in the mail's language
    assert "Invoices &lt;script&gt;" in html  # escaped in HTML
    assert "Statut : " in plain and "Par : " in plain  # French: a space before the colon
    en = renderer.render(mail_input("en")).get_body(("plain",)).get_content()
    assert "paused (pending)" in en and "Missing information" in en
    assert "Status: " in en and "By: " in en and " : " not in en
    assert "2026-11-24 10:30 CET" in en  # as English timelines say times


async def test_delivery_to_a_real_smtp_server_and_stable_message_id() -> None:
    with MailSink(port=free_port()) as sink:
        transport = SmtpTransport(SmtpConfig(host=sink.host, port=sink.port))
        activities = MailActivities(transport, MailRenderer("v@example.com", "example.com"))
        env = ActivityEnvironment()
        first = await env.run(activities.send_incident_mail, mail_input())
        again = await env.run(activities.send_incident_mail, mail_input())  # a retry
        assert first.message_id == again.message_id == "<incident-42.3@example.com>"
        assert len(sink.messages) == 2
        assert sink.messages[0]["Message-ID"] == sink.messages[1]["Message-ID"]


async def test_unreachable_server_is_a_retryable_error() -> None:
    transport = SmtpTransport(SmtpConfig(host="127.0.0.1", port=free_port(), timeout_seconds=2))
    activities = MailActivities(transport, MailRenderer("v@example.com", "example.com"))
    with pytest.raises(ApplicationError) as caught:
        await ActivityEnvironment().run(activities.send_incident_mail, mail_input())
    assert not caught.value.non_retryable
    assert caught.value.type == "MailServerUnavailable"


def test_the_fields_an_incident_was_opened_without_are_named_in_its_language() -> None:
    from workflows.texts import render

    fields = {"source": "opsgenie", "priority": "P3", "service_level": "silver",
              "missing": "category, description, requesters"}  # fmt: skip
    french = render("opened.missing", fields, "fr", "Europe/Paris")
    assert french.endswith("Informations manquantes à demander : catégorie, description, "
                           "demandeurs.")  # fmt: skip
    english = render("opened.missing", fields, "en", "Europe/Paris")
    assert english.endswith("Missing information to ask for: category, description, requesters.")


def test_a_note_followed_by_a_sentence_ends_with_a_full_stop() -> None:
    from workflows.texts import render

    due = {"due_at": "2026-11-30T16:26:00+01:00"}
    resumed = render("resumed.note", {"note": "order id received", **due}, "fr", "Europe/Paris")
    assert resumed == (
        "Traitement repris : order id received. Résolution attendue avant le 30/11/2026 16:26 CET."
    )
    kept = render("resumed.note", {"note": "logs sent!", **due}, "en", "Europe/Paris")
    assert kept == "Work resumed: logs sent! Resolution due 2026-11-30 16:26 CET."
    closed = render("crisis_closed", {"summary": "payments back", **due}, "fr", "Europe/Paris")
    assert closed.startswith("payments back. REX attendu avant le")
    # A note that ends the line, or a reason followed by an arrow, is left as typed.
    confirmed = render("qualified.confirmed", {"note": "client told"}, "fr", "Europe/Paris")
    assert confirmed.endswith("vers le client. client told")
    level = render(
        "escalation", {"level": "2", "hours": "1 h", "reason": "site B down", "to": "a@b.c"},
        "fr", "Europe/Paris",
    )  # fmt: skip
    assert level.endswith("site B down → a@b.c")


def test_the_crisis_validation_line_asks_a_person_not_an_operation() -> None:
    from workflows.texts import render

    french = render("line.validate", {}, "fr", "Europe/Paris")
    english = render("line.validate", {}, "en", "Europe/Paris")
    assert "pilote de crise" in french and "crisis pilot" in english
    assert not any(mark in french + english for mark in ("validate_crisis", "{", "|"))


def test_the_cell_roles_are_named_in_the_crisis_language() -> None:
    from workflows.texts import render

    member = {"name": "Ann", "role": "client management level 1"}
    assert render("line.member", member, "fr", "Europe/Paris") == (
        "- Ann (direction du client, niveau 1)"
    )
    assert render("line.member", member, "en", "Europe/Paris") == (
        "- Ann (client management level 1)"
    )
    typed = {"name": "Bob", "role": "network expert"}  # a role typed for a member added by hand
    assert render("line.member", typed, "fr", "Europe/Paris") == "- Bob (network expert)"


def test_a_failed_alert_change_is_named_in_the_language_of_its_reader() -> None:
    from typing import get_args

    from workflows.models import AlertCommand
    from workflows.texts import VALUES, render

    failed = {"action": "remove_tags", "error": "HTTP 422: Request body is not processable"}
    assert render("alert_failed", failed, "fr", "Europe/Paris") == (
        "Alerte : retrait d'étiquettes non appliqué : HTTP 422: Request body is not processable"
    )
    assert render("alert_failed", failed, "en", "Europe/Paris").startswith(
        "Alert tag removal not applied: HTTP 422"
    )
    through = {"action": "acknowledge", "since_at": "2026-11-30T10:00:00+00:00"}
    assert render("alert_through", through, "fr", "Europe/Paris") == (
        "Alerte : accusé de prise en compte appliqué (en échec depuis 30/11/2026 11:00 CET)."
    )
    actions = set(get_args(AlertCommand.model_fields["action"].annotation))
    for language in ("fr", "en"):  # every change the workflows can push has its name
        assert set(VALUES["alert_action"][language]) == actions
    # An Opsgenie action told by a webhook is the vendor's name, left as it is.
    assert render("opsgenie.action", {"action": "close", "who": "x"}, "fr", "Europe/Paris") == (
        "Action Opsgenie close par x."
    )


def test_a_validation_note_is_set_apart_from_the_sentence() -> None:
    from workflows.texts import render

    fields = {"party": "client", "note": "Crise confirmée côté DNUM"}
    assert render("validation.validated.note", fields, "fr", "Europe/Paris") == (
        "Situation de crise validée (client) : Crise confirmée côté DNUM"
    )
    assert render("validation.declined", {"party": "client", "note": ""}, "en", "UTC") == (
        "Crisis situation declined (client)"
    )


def test_a_recategorization_names_the_service_levels_as_people_read_them() -> None:
    from workflows.texts import render

    fields = {"before": "P1 gold", "after": "P3 gold", "reason": "moins grave"}
    assert render("recategorized", fields, "fr", "Europe/Paris") == (
        "P1 Gold → P3 Gold : moins grave"
    )


def test_an_automatic_close_says_its_delay_in_words() -> None:
    """The policy writes "3d"; the requesters read "3 jours" (or "3 days")."""
    from workflows.texts import render

    assert render("auto_closed", {"quiet": "3d"}, "fr", "Europe/Paris") == (
        "Clôturé automatiquement après 3 jours sans réouverture."
    )
    assert render("auto_closed", {"quiet": "1h"}, "en", "Europe/Paris") == (
        "Closed after 1 hour without reopening."
    )
