"""Wording of incident mails, French and English. Templates lay them out."""

from __future__ import annotations

from typing import TypedDict

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

WORDING: dict[str, dict[str, Wording]] = {
    "fr": {
        "opened": {"subject": "Ticket ouvert", "headline": "Votre incident est enregistré."},
        "acknowledged": {
            "subject": "Prise en compte",
            "headline": "L'équipe a pris en compte l'incident.",
        },
        "worklog": {"subject": "Mise à jour", "headline": "Le ticket a été mis à jour."},
        "pending": {
            "subject": "En attente",
            "headline": "Le ticket est en attente ; le délai de résolution est suspendu.",
        },
        "resumed": {"subject": "Reprise", "headline": "Le traitement de l'incident reprend."},
        "recategorized": {
            "subject": "Recatégorisé",
            "headline": "L'incident a été recatégorisé ; les délais sont recalculés.",
        },
        "qualified": {"subject": "Qualification P1", "headline": "L'incident P1 est qualifié."},
        "resolved": {"subject": "Résolu", "headline": "L'incident est résolu."},
        "closed": {"subject": "Clôturé", "headline": "L'incident est clôturé."},
        "cancelled": {"subject": "Annulé", "headline": "Le suivi de l'incident est annulé."},
        "reopened": {"subject": "Réouvert", "headline": "L'incident est réouvert."},
        "ack_warning": {
            "subject": "Alerte délai de prise en compte",
            "headline": "L'incident n'est pas encore pris en compte et l'échéance approche.",
        },
        "ack_breach": {
            "subject": "Délai de prise en compte dépassé",
            "headline": "Le délai de prise en compte est dépassé.",
        },
        "resolution_warning": {
            "subject": "Alerte délai de résolution",
            "headline": "L'échéance de résolution approche.",
        },
        "resolution_breach": {
            "subject": "Délai de résolution dépassé",
            "headline": "Le délai de résolution est dépassé.",
        },
        "crisis_failed": {
            "subject": "Crise non démarrée",
            "headline": "La crise de cet incident majeur n'a pas démarré. Qualifiez-le de "
            "nouveau en majeur (vigie qualify-p1 ID --verdict major), ou ouvrez la crise à la "
            "main (vigie crisis open).",
        },
        "problem_proposal": {
            "subject": "Proposition d'ouverture de problème",
            "headline": "L'équipe propose d'ouvrir un problème pour cet incident.",
        },
        "urgent_change": {
            "subject": "Demande de changement urgent",
            "headline": "Un changement urgent est demandé pour cet incident.",
        },
        "on_call": {
            "subject": "Astreinte technique appelée",
            "headline": "Incident P1 hors heures ouvrées : vous êtes appelé en astreinte.",
        },
        "notification_failed": {
            "subject": "Mail non distribué",
            "headline": "Un mail de cet incident n'a pas pu être distribué ; ses destinataires "
            "ne sont pas informés.",
        },
        "alert_failed": {
            "subject": "Alerte non mise à jour",
            "headline": "Un changement de l'alerte Opsgenie n'a pas pu être appliqué ; "
            "l'alerte ne reflète plus l'incident.",
        },
        "p1_status": {
            "subject": "Point de situation",
            "headline": "Point régulier de l'incident manager sur cet incident P1.",
        },
        "p1_status_reminder": {
            "subject": "Point de situation sans nouvelle",
            "headline": "Rien n'a été consigné depuis le dernier point : consignez le travail "
            "en cours (vigie add-worklog, ou l'opération add_worklog) avant le prochain.",
        },
    },
    "en": {
        "opened": {"subject": "Ticket opened", "headline": "Your incident is registered."},
        "acknowledged": {
            "subject": "Acknowledged",
            "headline": "The team has acknowledged the incident.",
        },
        "worklog": {"subject": "Update", "headline": "The ticket was updated."},
        "pending": {
            "subject": "Pending",
            "headline": "The ticket is pending; the resolution clock is paused.",
        },
        "resumed": {"subject": "Work resumed", "headline": "Work on the incident resumes."},
        "recategorized": {
            "subject": "Recategorized",
            "headline": "The incident was recategorized; deadlines are recomputed.",
        },
        "qualified": {"subject": "P1 qualification", "headline": "The P1 incident is qualified."},
        "resolved": {"subject": "Resolved", "headline": "The incident is resolved."},
        "closed": {"subject": "Closed", "headline": "The incident is closed."},
        "cancelled": {"subject": "Cancelled", "headline": "Following this incident is cancelled."},
        "reopened": {"subject": "Reopened", "headline": "The incident is reopened."},
        "ack_warning": {
            "subject": "Acknowledgement deadline warning",
            "headline": "The incident is not acknowledged yet and the deadline is near.",
        },
        "ack_breach": {
            "subject": "Acknowledgement deadline breached",
            "headline": "The acknowledgement deadline has passed.",
        },
        "resolution_warning": {
            "subject": "Resolution deadline warning",
            "headline": "The resolution deadline is near.",
        },
        "resolution_breach": {
            "subject": "Resolution deadline breached",
            "headline": "The resolution deadline has passed.",
        },
        "crisis_failed": {
            "subject": "Crisis not started",
            "headline": "The crisis of this major incident did not start. Qualify it major "
            "again (vigie qualify-p1 ID --verdict major), or open the crisis by hand (vigie "
            "crisis open).",
        },
        "problem_proposal": {
            "subject": "Problem proposal",
            "headline": "The team proposes to open a problem for this incident.",
        },
        "urgent_change": {
            "subject": "Urgent change request",
            "headline": "An urgent change is requested for this incident.",
        },
        "on_call": {
            "subject": "Technical on-call paged",
            "headline": "P1 incident outside business hours: you are paged as on-call.",
        },
        "notification_failed": {
            "subject": "Mail not delivered",
            "headline": "A mail of this incident could not be delivered; its recipients are "
            "not informed.",
        },
        "alert_failed": {
            "subject": "Alert not updated",
            "headline": "A change to the Opsgenie alert could not be applied; the alert no "
            "longer reflects the incident.",
        },
        "p1_status": {
            "subject": "Status update",
            "headline": "Regular status from the incident manager on this P1 incident.",
        },
        "p1_status_reminder": {
            "subject": "Status with no news",
            "headline": "Nothing was logged since the last status: log the work in progress "
            "(vigie add-worklog, or the add_worklog operation) before the next.",
        },
    },
}

CRISIS_SUBJECTS: dict[str, dict[str, str]] = {
    "fr": {
        "on_call": "Astreinte technique déclenchée",
        "p1_open": "Incident P1 ouvert",
        "crisis_event": "Crise en cours",
        "escalation": "Escalade managériale",
        "cell_request": "Demande de déclenchement de la cellule de crise",
        "cell_confirm": "Cellule de crise déclenchée à votre demande",
        "cell_opening": "Ouverture de la cellule de crise",
        "action_plan": "Plan d'action",
        "drp_reminder": "Décision PRA attendue",
        "drp": "PRA déclenché",
        "drp_not_activated": "PRA non déclenché",
        "status": "Point de situation",
        "update_reminder": "Point de situation attendu",
        "member_added": "Vous rejoignez la cellule de crise",
        "notification_failed": "Notification de crise non distribuée",
        "security_alert": "Crise : la sécurité peut être en jeu",
        "cancelled": "Crise annulée",
        "incident_ended": "Incident terminé sans résolution",
        "validation_declined": "Situation de crise non validée",
        "urgent_change": "Demande de changement urgent",
        "rex": "Rapport d'incident (REX)",
        "closing_reminder": "Clôture de crise attendue",
        "closing": "Clôture de la crise",
        "rex_draft": "Brouillon de REX",
        "rex_reminder": "REX attendu",
    },
    "en": {
        "on_call": "Technical on-call paged",
        "p1_open": "P1 incident open",
        "crisis_event": "Crisis under way",
        "escalation": "Managerial escalation",
        "cell_request": "Request to convene the crisis cell",
        "cell_confirm": "Crisis cell convened at your request",
        "cell_opening": "Crisis cell opening",
        "action_plan": "Action plan",
        "drp_reminder": "DRP decision due",
        "drp": "DRP triggered",
        "drp_not_activated": "DRP not triggered",
        "status": "Status update",
        "update_reminder": "Status update due",
        "member_added": "You join the crisis cell",
        "notification_failed": "Crisis notification not delivered",
        "security_alert": "Crisis: security may be involved",
        "cancelled": "Crisis cancelled",
        "incident_ended": "Incident ended unresolved",
        "validation_declined": "Crisis situation declined",
        "urgent_change": "Urgent change request",
        "rex": "Incident report (REX)",
        "closing_reminder": "Crisis closing due",
        "closing": "Crisis closed",
        "rex_draft": "REX draft",
        "rex_reminder": "REX due",
    },
}

CONFERENCE_LABEL = {"fr": "Conférence", "en": "Conference"}
