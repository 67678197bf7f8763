"""What each mail is called, as its subject says it, in French and English: the mails use
these subjects (activities.mail_texts), and the timeline names a mail by them (a mail that
could not be delivered). Pure data."""

from __future__ import annotations

INCIDENT_SUBJECTS: dict[str, dict[str, str]] = {
    "fr": {
        "opened": "Ticket ouvert",
        "acknowledged": "Prise en compte",
        "worklog": "Mise à jour",
        "pending": "En attente",
        "resumed": "Reprise",
        "recategorized": "Recatégorisé",
        "qualified": "Qualification P1",
        "resolved": "Résolu",
        "closed": "Clôturé",
        "cancelled": "Annulé",
        "reopened": "Réouvert",
        "ack_warning": "Alerte délai de prise en compte",
        "ack_breach": "Délai de prise en compte dépassé",
        "resolution_warning": "Alerte délai de résolution",
        "resolution_breach": "Délai de résolution dépassé",
        "crisis_failed": "Crise non démarrée",
        "problem_proposal": "Proposition d'ouverture de problème",
        "urgent_change": "Demande de changement urgent",
        "on_call": "Astreinte technique appelée",
        "notification_failed": "Mail non distribué",
        "alert_failed": "Alerte non mise à jour",
        "p1_status": "Point de situation",
        "p1_status_reminder": "Point de situation sans nouvelle",
    },
    "en": {
        "opened": "Ticket opened",
        "acknowledged": "Acknowledged",
        "worklog": "Update",
        "pending": "Pending",
        "resumed": "Work resumed",
        "recategorized": "Recategorized",
        "qualified": "P1 qualification",
        "resolved": "Resolved",
        "closed": "Closed",
        "cancelled": "Cancelled",
        "reopened": "Reopened",
        "ack_warning": "Acknowledgement deadline warning",
        "ack_breach": "Acknowledgement deadline breached",
        "resolution_warning": "Resolution deadline warning",
        "resolution_breach": "Resolution deadline breached",
        "crisis_failed": "Crisis not started",
        "problem_proposal": "Problem proposal",
        "urgent_change": "Urgent change request",
        "on_call": "Technical on-call paged",
        "notification_failed": "Mail not delivered",
        "alert_failed": "Alert not updated",
        "p1_status": "Status update",
        "p1_status_reminder": "Status with no news",
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


def mail_name(kind: str, language: str, crisis: bool = False) -> str | None:
    """The subject that names a mail of ``kind``, if any: a crisis's mail when ``crisis``
    (some kinds are both: cancelled, on_call...), else an incident's first."""
    order = (CRISIS_SUBJECTS, INCIDENT_SUBJECTS) if crisis else (INCIDENT_SUBJECTS, CRISIS_SUBJECTS)
    for subjects in order:
        name = subjects.get(language, {}).get(kind)
        if name is not None:
            return name
    return None
