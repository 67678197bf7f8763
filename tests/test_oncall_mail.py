"""The on-call readiness mails: wording in French and English, times to the minute in the
business time zone, plain text and HTML, stable Message-ID and threading."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.message import EmailMessage

from activities.mail_render import MailRenderer
from activities.oncall_mail import ReadinessMailActivities
from activities.oncall_models import ReadinessMailInput
from workflows.oncall_gaps import Cycle, Gap, ScheduleReport

START = datetime(2026, 12, 7, 7, tzinfo=UTC)  # Monday 08:00 Paris
CYCLE = Cycle(start=START, end=START + timedelta(days=7), due=START - timedelta(days=1))
REPORTS = [
    ScheduleReport(
        schedule="astreinte_technique",
        gaps=[
            Gap(
                schedule="astreinte_technique",
                start=START + timedelta(days=1, hours=12),
                end=START + timedelta(days=2),
            )
        ],
    ),
    ScheduleReport(schedule="astreinte_n2", empty_rotations=["Nuit"]),
    ScheduleReport(schedule="dba", error="HTTP 503: Service Unavailable"),
    ScheduleReport(schedule="nosuch", error="HTTP 404: Schedule not found", advice="name"),
    ScheduleReport(schedule="reseau"),
]


def render(**changes: object) -> EmailMessage:
    values: dict[str, object] = {
        "key": "oncall-client-20261207T0700Z-2",
        "thread_key": "oncall-client-20261207T0700Z-1",
        "to": ["dm@example.com", "im@example.com"],
        "language": "fr",
        "timezone": "Europe/Paris",
        "verdict": "gaps",
        "customer": "client",
        "cycle": CYCLE,
        "reports": REPORTS,
        "checked_at": START - timedelta(days=2),
    }
    values.update(changes)
    mailer = ReadinessMailActivities(None, MailRenderer("Vigie <vigie@example.com>", "example.com"))  # type: ignore[arg-type]
    return mailer.render(ReadinessMailInput.model_validate(values))


def plain(message: EmailMessage) -> str:
    body = message.get_body(("plain",))
    assert body is not None
    return str(body.get_content())


def test_the_gaps_mail_in_french() -> None:
    message = render()
    assert message["Subject"] == (
        "[oncall-client] Astreintes incomplètes pour le cycle du 07/12/2026 08:00 CET"
    )
    assert message["To"] == "dm@example.com, im@example.com"
    assert message["Message-ID"] == "<oncall-client-20261207T0700Z-2@example.com>"
    assert message["In-Reply-To"] == "<oncall-client-20261207T0700Z-1@example.com>"
    assert message["X-Vigie-Kind"] == "oncall_gaps"
    assert plain(message).splitlines() == [
        "Les astreintes du cycle du 07/12/2026 08:00 CET au 14/12/2026 08:00 CET ne sont pas "
        "complètes : elles doivent l'être avant le 06/12/2026 08:00 CET.",
        "",
        "- astreinte_technique : personne d'astreinte du 08/12/2026 20:00 CET "
        "au 09/12/2026 08:00 CET",
        "- astreinte_n2 : la rotation « Nuit » est vide",
        "- dba : planning illisible (HTTP 503: Service Unavailable)",
        "- nosuch : planning illisible (HTTP 404: Schedule not found : vérifiez le nom (ou "
        "l'identifiant) du planning dans les [[customers]] de la politique)",
        "- reseau : complet",
        "",
        "Vérifié le 05/12/2026 08:00 CET. Ce point est renvoyé chaque jour jusqu'à ce que les "
        "astreintes soient complètes.",
        "--",
        "Référence : oncall-client",
    ]
    html = message.get_body(("html",))
    assert html is not None
    assert "<li>astreinte_n2 : la rotation « Nuit » est vide</li>" in str(html.get_content())


def test_past_the_deadline_the_mail_says_it_is_late() -> None:
    text = plain(render(checked_at=CYCLE.due + timedelta(minutes=1)))
    assert text.startswith(
        "Les astreintes du cycle du 07/12/2026 08:00 CET au 14/12/2026 08:00 CET devaient être "
        "complètes le 06/12/2026 08:00 CET et ne le sont pas."
    )


def test_the_complete_mail_in_english() -> None:
    message = render(language="en", verdict="complete", reports=[REPORTS[-1]], thread_key=None)
    assert message["Subject"] == (
        "[oncall-client] On-call complete for the cycle of 2026-12-07 08:00 CET"
    )
    assert message["In-Reply-To"] is None
    assert plain(message).splitlines()[:3] == [
        "Every on-call rotation of the cycle from 2026-12-07 08:00 CET to 2026-12-14 08:00 CET "
        "is filled.",
        "",
        "- reseau: complete",
    ]
    assert "Reference: oncall-client" in plain(message)


def test_a_worker_without_a_schedule_api_is_named_in_the_mails_language() -> None:
    """The activity's reason is an English sentence for logs: the mail says it in French."""
    from activities.oncall import NO_API

    unread = ScheduleReport(schedule="astreinte_technique", error=NO_API, advice="no_api")
    lines = plain(render(reports=[unread])).splitlines()
    assert (
        "- astreinte_technique : planning illisible : aucune API de planning n'est configurée "
        "sur le worker qui a vérifié (VIGIE_OPSGENIE_API_KEY, ou VIGIE_JSM_CLOUD_ID, "
        "VIGIE_JSM_USER et VIGIE_JSM_API_TOKEN)"
    ) in lines, lines
    assert "no schedule API" not in " ".join(lines)
