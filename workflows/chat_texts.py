"""What chat messages say, in French and English. ``workflows.chat`` lays them out."""

from __future__ import annotations

from activities.mail_texts import STATUS_NAMES

TITLES: dict[str, dict[str, str]] = {
    "fr": {
        "p1_opened": "Incident P1 ouvert : {title}",
        "breach.ack": "Délai de prise en compte dépassé : {title}",
        "breach.resolution": "Délai de résolution dépassé : {title}",
        "status_update": "Point de situation : {title}",
        "status_update.crisis": "Point de situation de crise : {title}",
        "crisis_cell": "Cellule de crise ouverte : {title}",
    },
    "en": {
        "p1_opened": "P1 incident opened: {title}",
        "breach.ack": "Acknowledgement deadline passed: {title}",
        "breach.resolution": "Resolution deadline passed: {title}",
        "status_update": "Status update: {title}",
        "status_update.crisis": "Crisis status update: {title}",
        "crisis_cell": "Crisis cell opened: {title}",
    },
}

LABELS: dict[str, dict[str, str]] = {
    "fr": {
        "incident": "Incident",
        "crisis": "Crise",
        "priority": "Priorité",
        "service_level": "Niveau de service",
        "status": "Statut",
        "application": "Application",
        "opened_at": "Ouvert le",
        "t0": "Début (T0)",
        "ack_due_at": "Prise en compte avant",
        "acknowledged_at": "Pris en compte le",
        "resolution_due_at": "Résolution avant",
        "criterion": "Critère",
        "level": "Niveau d'escalade",
        "conference": "Conférence",
        "progress": "Avancement",
        "done": "Fait",
        "remaining": "Reste à faire",
        "forecast": "Prévision de résolution",
        "worklog": "Dernier travail consigné",
        "none": "aucun",
        "none_f": "aucune",  # an application
        "open_in_temporal": "Ouvrir dans Temporal",
        "nothing_yet": "Aucun point de situation publié pour l'instant.",
    },
    "en": {
        "incident": "Incident",
        "crisis": "Crisis",
        "priority": "Priority",
        "service_level": "Service level",
        "status": "Status",
        "application": "Application",
        "opened_at": "Opened at",
        "t0": "Start (T0)",
        "ack_due_at": "Acknowledge by",
        "acknowledged_at": "Acknowledged",
        "resolution_due_at": "Resolve by",
        "criterion": "Criterion",
        "level": "Escalation level",
        "conference": "Conference",
        "progress": "Progress",
        "done": "Done",
        "remaining": "Remaining",
        "forecast": "Resolution forecast",
        "worklog": "Last work logged",
        "none": "none",
        "none_f": "none",
        "open_in_temporal": "Open in Temporal",
        "nothing_yet": "No status posted yet.",
    },
}

# Incident states as mails name them, and the states of a crisis.
STATUS: dict[str, dict[str, str]] = {
    "fr": {**STATUS_NAMES["fr"], "active": "En cours", "rex_submitted": "Clôturée, REX remis"},
    "en": {**STATUS_NAMES["en"], "active": "Active", "rex_submitted": "Closed, REX submitted"},
}
