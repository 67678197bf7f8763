"""The on-call readiness mails: the gaps of the coming cycle, or that it is complete."""

from __future__ import annotations

from email.message import EmailMessage
from email.utils import format_datetime

from temporalio import activity

from activities.mail import UNSENDABLE, MailActivities, unsendable
from activities.mail_render import MailRenderer
from activities.models import SendMailResult
from activities.oncall_models import ReadinessMailInput
from workflows.limits import one_line
from workflows.oncall_gaps import ScheduleReport
from workflows.texts import when

WORDING: dict[str, dict[str, str]] = {
    "fr": {
        "subject.gaps": "Astreintes incomplètes pour le cycle du {start}",
        "subject.complete": "Astreintes complètes pour le cycle du {start}",
        "heading.gaps": "Les astreintes du cycle du {start} au {end} ne sont pas complètes : "
        "elles doivent l'être avant le {due}.",
        "heading.late": "Les astreintes du cycle du {start} au {end} devaient être complètes "
        "le {due} et ne le sont pas.",
        "heading.complete": "Toutes les astreintes du cycle du {start} au {end} sont pourvues.",
        "gap": "{schedule} : personne d'astreinte du {start} au {end}",
        "empty": "{schedule} : la rotation « {rotation} » est vide",
        "error": "{schedule} : planning illisible ({error})",
        "advice.credentials": "vérifiez la clé d'API (ou l'utilisateur et le jeton JSM) et "
        "son droit de lire les plannings",
        "advice.name": "vérifiez le nom (ou l'identifiant) du planning dans les [[customers]] "
        "de la politique",
        "advice.schedule": "vérifiez le planning dans les [[customers]] de la politique",
        "no_api": "{schedule} : planning illisible : aucune API de planning n'est configurée "
        "sur le worker qui a vérifié (VIGIE_OPSGENIE_API_KEY, ou VIGIE_JSM_CLOUD_ID, "
        "VIGIE_JSM_USER et VIGIE_JSM_API_TOKEN)",
        "covered": "{schedule} : complet",
        "footer.gaps": "Vérifié le {checked}. Ce point est renvoyé chaque jour jusqu'à ce que "
        "les astreintes soient complètes.",
        "footer.complete": "Vérifié le {checked}.",
        "reference": "Référence :",
    },
    "en": {
        "subject.gaps": "On-call incomplete for the cycle of {start}",
        "subject.complete": "On-call complete for the cycle of {start}",
        "heading.gaps": "The on-call rotations of the cycle from {start} to {end} are not "
        "complete: they must be by {due}.",
        "heading.late": "The on-call rotations of the cycle from {start} to {end} had to be "
        "complete by {due} and are not.",
        "heading.complete": "Every on-call rotation of the cycle from {start} to {end} is filled.",
        "gap": "{schedule}: nobody on call from {start} to {end}",
        "empty": "{schedule}: rotation “{rotation}” is empty",
        "error": "{schedule}: the schedule could not be read ({error})",
        "advice.credentials": "check the API key (or JSM user and token) and that it may "
        "read schedules",
        "advice.name": "check the schedule's name (or id) in the policy's [[customers]]",
        "advice.schedule": "check the schedule in the policy's [[customers]]",
        "no_api": "{schedule}: the schedule could not be read: no schedule API is configured "
        "on the worker that checked (VIGIE_OPSGENIE_API_KEY, or VIGIE_JSM_CLOUD_ID, "
        "VIGIE_JSM_USER and VIGIE_JSM_API_TOKEN)",
        "covered": "{schedule}: complete",
        "footer.gaps": "Checked on {checked}. This is sent again every day until the on-call "
        "rotations are complete.",
        "footer.complete": "Checked on {checked}.",
        "reference": "Reference:",
    },
}


def report_lines(report: ScheduleReport, language: str, timezone: str) -> list[str]:
    """What one schedule looks like, one line per gap, empty rotation or error."""
    words, name = WORDING[language], report.schedule
    if report.advice == "no_api":  # the error is the worker's own English sentence
        return [words["no_api"].format(schedule=name)]
    if report.error is not None:
        error = report.error
        if report.advice is not None:
            error += f"{' :' if language == 'fr' else ':'} {words['advice.' + report.advice]}"
        return [words["error"].format(schedule=name, error=error)]
    lines = [
        words["gap"].format(
            schedule=name,
            start=when(gap.start, language, timezone),
            end=when(gap.end, language, timezone),
        )
        for gap in report.gaps
    ]
    lines += [words["empty"].format(schedule=name, rotation=r) for r in report.empty_rotations]
    return lines or [words["covered"].format(schedule=name)]


def readiness_text(input: ReadinessMailInput) -> tuple[str, str, list[str], str]:
    """Subject, heading, lines and footer of a readiness mail, in its language."""
    language, zone, cycle = input.language, input.timezone, input.cycle
    words = WORDING[language]
    times = {
        "start": when(cycle.start, language, zone),
        "end": when(cycle.end, language, zone),
        "due": when(cycle.due, language, zone),
        "checked": when(input.checked_at, language, zone),
    }
    kind = input.verdict
    heading_key = "heading.complete"
    if kind == "gaps":
        heading_key = "heading.late" if input.checked_at >= cycle.due else "heading.gaps"
    lines = [line for r in input.reports for line in report_lines(r, language, zone)]
    return (
        words[f"subject.{kind}"].format_map(times),
        words[heading_key].format_map(times),
        lines,
        words[f"footer.{kind}"].format_map(times),
    )


class ReadinessMailActivities:
    def __init__(self, mail: MailActivities, renderer: MailRenderer) -> None:
        self._mail = mail
        self._renderer = renderer

    def render(self, input: ReadinessMailInput) -> EmailMessage:
        subject, heading, lines, footer = readiness_text(input)
        reference = f"oncall-{input.customer}"
        context = {
            "language": input.language,
            "subject": subject,
            "heading": heading,
            "lines": lines,
            "footer": footer,
            "reference_label": WORDING[input.language]["reference"],
            "reference": reference,
        }
        message = self._renderer.compose(
            one_line(f"[{reference}] {subject}"),
            input.to,
            input.key,
            input.thread_key,
            "oncall",
            context,
        )
        message["Date"] = format_datetime(input.checked_at)
        message["X-Vigie-Kind"] = f"oncall_{input.verdict}"
        return message

    @activity.defn(name="send_readiness_mail")
    async def send_readiness_mail(self, input: ReadinessMailInput) -> SendMailResult:
        what = f"on-call readiness mail {input.verdict}"
        try:
            message = self.render(input)
        except UNSENDABLE as exc:
            raise unsendable(what, exc) from exc
        return await self._mail.deliver(message, what)
