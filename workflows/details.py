"""The Web UI's current details of an incident or a crisis: what now? (pure code).

Shown on the workflow page (User Metadata), in the workflow's language, every time in the
business time zone to the minute: state, next deadline and time left at the last change,
acknowledgement, breaches, pending reason, crisis and next milestone, sends that keep failing
with their last error, the last refusal.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from workflows.crisis_models import CrisisState
from workflows.crisis_rules import acts_at, shown_step
from workflows.delivery import DeliveryTrouble
from workflows.limits import DIRECTION_CONTROLS
from workflows.models import IncidentState, TimelineEntry
from workflows.sla import Deadlines
from workflows.texts import FR, failure, value, when

WORDS = {
    "fr": {
        "open": "ouvert", "in_progress": "en cours", "pending": "en attente",
        "resolved": "résolu", "closed": "clôturé", "cancelled": "annulé",
        "active": "active", "rex_submitted": "REX remis",
        "next": "prochaine échéance", "ack_due": "prise en compte avant",
        "resolution_due": "résolution avant", "acknowledged": "pris en compte",
        "not_acknowledged": "pas encore pris en compte", "breaches": "délais dépassés",
        "ack": "prise en compte", "resolution": "résolution", "waiting": "en attente",
        "crisis": "crise", "level": "niveau d'escalade", "milestone": "prochaine étape",
        "refused": "dernier refus", "last": "dernier événement", "left": "reste",
        "late": "dépassé de", "as_of": "au", "none": "aucune", "drp": "PRA",
        "rex_due": "REX attendu avant le", "status_due": "prochain point de situation",
        "retrying": "en échec, nouvel essai à venir", "attempts": "essais depuis",
        "error": "dernière erreur", "mail": "mail", "alert": "alerte",
        "colon": " :",  # French typography: a space before
        "t0": "T0 (début de la panne)", "ticket": "ticket ouvert le",
    },
    "en": {
        "open": "open", "in_progress": "in progress", "pending": "pending",
        "resolved": "resolved", "closed": "closed", "cancelled": "cancelled",
        "active": "active", "rex_submitted": "REX submitted",
        "next": "next deadline", "ack_due": "acknowledgement due",
        "resolution_due": "resolution due", "acknowledged": "acknowledged",
        "not_acknowledged": "not acknowledged yet", "breaches": "breached",
        "ack": "acknowledgement", "resolution": "resolution", "waiting": "waiting",
        "crisis": "crisis", "level": "escalation level", "milestone": "next milestone",
        "refused": "last refusal", "last": "last event", "left": "left",
        "late": "late by", "as_of": "at", "none": "none", "drp": "DRP",
        "rex_due": "REX due", "status_due": "next status mail",
        "retrying": "failing, trying again", "attempts": "attempts since",
        "error": "last error", "mail": "mail", "alert": "alert",
        "colon": ":",
        "t0": "T0 (the fault began)", "ticket": "ticket opened",
    },
}  # fmt: skip


def span(delta: timedelta, language: str) -> str:
    """A duration for people, to the minute: "2 h 05 min", "3 j 4 h" / "3 d 4 h"."""
    minutes = int(abs(delta).total_seconds() // 60)
    days, rest = divmod(minutes, 24 * 60)
    hours, mins = divmod(rest, 60)
    if days:
        return f"{days} {'j' if language == FR else 'd'} {hours} h"
    return f"{hours} h {mins:02d} min" if hours else f"{mins} min"


def _due(label: str, due: datetime, now: datetime, language: str, zone: str) -> str:
    w = WORDS[language]
    c = w["colon"]
    left = due - now
    gap = (
        f"{w['left']} {span(left, language)}"
        if left >= timedelta(0)
        else (f"{w['late']} {span(left, language)}")
    )
    return (
        f"{label}{c} {when(due, language, zone)} ({gap} {w['as_of']} {when(now, language, zone)})"
    )


def _last_refusal(timeline: list[TimelineEntry]) -> TimelineEntry | None:
    return next((e for e in reversed(timeline) if e.kind == "refused"), None)


def _retrying(
    lines: list[str], retrying: dict[str, DeliveryTrouble], language: str, zone: str
) -> None:
    """One line per send that keeps failing: what, attempts since when, the last error."""
    w = WORDS[language]
    c = w["colon"]
    for t in retrying.values():
        item = value("alert_action", t.item, language) if t.outbox == "alert" else t.item
        lines.append(
            f"- {w['retrying']}{c} {w[t.outbox]} {item} · {t.attempts} {w['attempts']} "
            f"{when(t.since, language, zone)} · {w['error']}{c} "
            f"{failure(t.error, t.error_kind, language) if t.error_kind else t.error}"
        )


def _tail(lines: list[str], timeline: list[TimelineEntry], language: str, zone: str) -> str:
    w = WORDS[language]
    c = w["colon"]
    refused = _last_refusal(timeline)
    if refused is not None:
        lines.append(f"- {w['refused']}{c} {when(refused.at, language, zone)} · {refused.text}")
    if timeline and timeline[-1] is not refused:  # a refusal last is told once, above
        last = timeline[-1]
        lines.append(f"- {w['last']}{c} {when(last.at, language, zone)} · {last.by} · {last.text}")
    # Without direction overrides: the Web UI would show "gnp.exe" as "exe.png".
    return "\n".join(DIRECTION_CONTROLS.sub("", line)[:400] for line in lines)


def incident_details(s: IncidentState, d: Deadlines, now: datetime) -> str:
    lang, zone = s.language, s.policy.business_hours.timezone
    w = WORDS[lang]
    c = w["colon"]
    level = value("service_level", s.service_level, lang)
    lines = [f"**{w[s.status]}** · {s.priority} · {level} · {s.title}"[:300], ""]
    active = s.status in ("open", "in_progress", "pending")
    if s.ticket_opened_at is not None and s.opened_at < s.ticket_opened_at - timedelta(minutes=1):
        # Back-dated: the deadlines count from T0, before the start the UI shows.
        lines.append(
            f"- {w['t0']}{c} {when(s.opened_at, lang, zone)} · {w['ticket']} "
            f"{when(s.ticket_opened_at, lang, zone)}"
        )
    if s.status == "open":
        lines.append(f"- {_due(w['ack_due'], d.ack_due_at, now, lang, zone)}")
    elif s.acknowledged_at is not None:
        lines.append(f"- {w['acknowledged']}{c} {when(s.acknowledged_at, lang, zone)}")
    if active and d.resolution_due_at is not None:
        lines.append(f"- {_due(w['resolution_due'], d.resolution_due_at, now, lang, zone)}")
    if s.status == "pending" and s.waiting_on is not None:
        reason = next((e.fields.get("reason", "") for e in reversed(s.timeline)
                       if e.kind == "pending"), "")  # fmt: skip
        lines.append(f"- {w['waiting']} {value('waiting_on', s.waiting_on, lang)} · {reason}")
    breaches = [w[k] for k, hit in (("ack", s.ack_breached), ("resolution",
                s.resolution_breached)) if hit]  # fmt: skip
    if breaches:
        lines.append(f"- {w['breaches']}{c} {', '.join(breaches)}")
    if s.crisis_id is not None:
        lines.append(f"- {w['crisis']}{c} {s.crisis_id}")
    _retrying(lines, s.retrying, lang, zone)
    return _tail(lines, s.timeline, lang, zone)


def crisis_details(s: CrisisState, now: datetime, next_status_at: datetime | None) -> str:
    lang, zone = s.language, s.policy.business_hours.timezone
    w = WORDS[lang]
    c = w["colon"]
    lines = [
        f"**{w[s.status]}** · {value('criterion', s.criterion, lang)} · {s.title}"[:300],
        "",
        f"- {w['level']}{c} {s.level}",
    ]
    pending = sorted((m for m in s.milestones if m.status == "pending"), key=acts_at)
    if pending and s.status == "active":
        m = pending[0]  # when the crisis acts on it: later than its target after a late opening
        label = f"{w['milestone']} · {value('step', shown_step(m.step, s), lang)}"
        lines.append(f"- {_due(label, acts_at(m), now, lang, zone)}")
    if next_status_at is not None and s.status == "active":
        lines.append(f"- {w['status_due']}{c} {when(next_status_at, lang, zone)}")
    drp = "—" if s.drp is None else value("drp", "activated" if s.drp.activate
                                           else "not_activated", lang)  # fmt: skip
    lines.append(f"- {w['drp']}{c} {drp}")
    if s.status == "closed" and s.rex_due_at is not None:
        lines.append(f"- {_due(w['rex_due'], s.rex_due_at, now, lang, zone)}")
    _retrying(lines, s.retrying, lang, zone)
    return _tail(lines, s.timeline, lang, zone)


def crisis_summary(title: str, language: str) -> str:
    """The crisis's summary in the Web UI's workflow list and page."""
    return (f"Crise : {title}" if language == "fr" else f"Crisis: {title}")[:200]


def source_details(source: str, language: str | None) -> str:
    """An incident's static details in the Web UI: where it came from (what does not
    change; the class and deadlines are in the current details)."""
    return f"Source : {source}" if (language or "fr") == "fr" else f"Source: {source}"
