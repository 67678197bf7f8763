"""Wording of incident mails, French and English. Templates lay them out."""

from __future__ import annotations

from typing import TypedDict

from workflows.mail_names import INCIDENT_SUBJECTS
from workflows.texts import VALUES


class Wording(TypedDict):
    subject: str
    headline: str


class Labels(TypedDict):
    status: str
    priority: str
    service_level: str
    opened_at: str
    ack_due_at: str
    acknowledged_at: str
    resolution_due_at: str
    application: str
    category: str
    description: str
    by: str
    missing: str
    footer: str
    paused: str
    none: str
    resolved_at: str
    breached: str
    system: str


STATUS_NAMES = {
    "fr": {
        "open": "Ouvert",
        "in_progress": "En cours",
        "pending": "En attente",
        "resolved": "Résolu",
        "closed": "Clôturé",
        "cancelled": "Annulé",
    },
    "en": {
        "open": "Open",
        "in_progress": "In progress",
        "pending": "Pending",
        "resolved": "Resolved",
        "closed": "Closed",
        "cancelled": "Cancelled",
    },
}

FIELD_NAMES = VALUES["missing"]  # the names of fields an incident was opened without

LABELS: dict[str, Labels] = {
    "fr": {
        "status": "Statut",
        "priority": "Priorité",
        "service_level": "Niveau de service",
        "opened_at": "Ouvert le",
        "ack_due_at": "Prise en compte avant",
        "acknowledged_at": "Pris en compte le",
        "resolution_due_at": "Résolution avant",
        "application": "Application",
        "category": "Catégorie",
        "description": "Description",
        "by": "Par",
        "missing": "Informations manquantes, merci de nous les transmettre",
        "footer": "Référence à rappeler dans toute réponse",
        "paused": "suspendu (en attente)",
        "none": "—",
        "resolved_at": "Résolu le",
        "breached": "dépassé",
        "system": "Vigie",
    },
    "en": {
        "status": "Status",
        "priority": "Priority",
        "service_level": "Service level",
        "opened_at": "Opened",
        "ack_due_at": "Acknowledgement due",
        "acknowledged_at": "Acknowledged",
        "resolution_due_at": "Resolution due",
        "application": "Application",
        "category": "Category",
        "description": "Description",
        "by": "By",
        "missing": "Missing information, please send it to us",
        "footer": "Reference to quote in any reply",
        "paused": "paused (pending)",
        "none": "—",
        "resolved_at": "Resolved",
        "breached": "breached",
        "system": "Vigie",
    },
}

# The mails that ask the requesters for what the incident lacks: those of an incident still
# being worked on, sent to them (not the team's warnings, nor the last word on an incident).
ASK_MISSING = frozenset({
    "opened", "acknowledged", "worklog", "pending", "resumed", "recategorized", "qualified",
    "reopened", "p1_status",
})  # fmt: skip
# Who acted, when it was Vigie itself or Temporal (a cancellation): told as Vigie.
SYSTEM_AUTHORS = frozenset({"vigie", "temporal"})
# Senders named by their product when no person is known (an alert raised by monitoring).
PRODUCT_AUTHORS = {"opsgenie": "Opsgenie"}

HEADLINES: dict[str, dict[str, str]] = {
    "fr": {
        "opened": "Votre incident est enregistré.",
        "acknowledged": "L'équipe a pris en compte l'incident.",
        "worklog": "Le ticket a été mis à jour.",
        "pending": "Le ticket est en attente ; le délai de résolution est suspendu.",
        "resumed": "Le traitement de l'incident reprend.",
        "recategorized": "L'incident a été recatégorisé ; les délais sont recalculés.",
        "qualified": "L'incident P1 est qualifié.",
        "resolved": "L'incident est résolu.",
        "closed": "L'incident est clôturé.",
        "cancelled": "Le suivi de l'incident est annulé.",
        "reopened": "L'incident est réouvert.",
        "ack_warning": "L'incident n'est pas encore pris en compte et l'échéance approche.",
        "ack_breach": "Le délai de prise en compte est dépassé.",
        "resolution_warning": "L'échéance de résolution approche.",
        "resolution_breach": "Le délai de résolution est dépassé.",
        "crisis_failed": (
            "La crise de cet incident majeur n'a pas démarré. Qualifiez-le de nouveau en majeur "
            "(vigie qualify-p1 ID --verdict major), ou ouvrez la crise à la main (vigie crisis "
            "open)."
        ),
        "problem_proposal": "L'équipe propose d'ouvrir un problème pour cet incident.",
        "urgent_change": "Un changement urgent est demandé pour cet incident.",
        "on_call": "Incident P1 hors heures ouvrées : vous êtes appelé en astreinte.",
        "notification_failed": (
            "Un mail de cet incident n'a pas pu être distribué ; ses destinataires ne sont pas "
            "informés."
        ),
        "alert_failed": (
            "Un changement de l'alerte Opsgenie n'a pas pu être appliqué ; l'alerte ne reflète "
            "plus l'incident."
        ),
        "p1_status": "Point régulier de l'incident manager sur cet incident P1.",
        "p1_status_reminder": (
            "Rien n'a été consigné depuis le dernier point : consignez le travail en cours (vigie "
            "add-worklog, ou l'opération add_worklog) avant le prochain."
        ),
    },
    "en": {
        "opened": "Your incident is registered.",
        "acknowledged": "The team has acknowledged the incident.",
        "worklog": "The ticket was updated.",
        "pending": "The ticket is pending; the resolution clock is paused.",
        "resumed": "Work on the incident resumes.",
        "recategorized": "The incident was recategorized; deadlines are recomputed.",
        "qualified": "The P1 incident is qualified.",
        "resolved": "The incident is resolved.",
        "closed": "The incident is closed.",
        "cancelled": "Following this incident is cancelled.",
        "reopened": "The incident is reopened.",
        "ack_warning": "The incident is not acknowledged yet and the deadline is near.",
        "ack_breach": "The acknowledgement deadline has passed.",
        "resolution_warning": "The resolution deadline is near.",
        "resolution_breach": "The resolution deadline has passed.",
        "crisis_failed": (
            "The crisis of this major incident did not start. Qualify it major again (vigie "
            "qualify-p1 ID --verdict major), or open the crisis by hand (vigie crisis open)."
        ),
        "problem_proposal": "The team proposes to open a problem for this incident.",
        "urgent_change": "An urgent change is requested for this incident.",
        "on_call": "P1 incident outside business hours: you are paged as on-call.",
        "notification_failed": (
            "A mail of this incident could not be delivered; its recipients are not informed."
        ),
        "alert_failed": (
            "A change to the Opsgenie alert could not be applied; the alert no longer reflects the "
            "incident."
        ),
        "p1_status": "Regular status from the incident manager on this P1 incident.",
        "p1_status_reminder": (
            "Nothing was logged since the last status: log the work in progress (vigie "
            "add-worklog, or the add_worklog operation) before the next."
        ),
    },
}

WORDING: dict[str, dict[str, Wording]] = {
    language: {
        kind: Wording(subject=INCIDENT_SUBJECTS[language][kind], headline=headline)
        for kind, headline in kinds.items()
    }
    for language, kinds in HEADLINES.items()
}

CONFERENCE_LABEL = {"fr": "Conférence", "en": "Conference"}
