"""Every sentence the workflows say to people, in French and English.

Timeline entries are data: a kind, the fields of the event, and the key of the sentence that
tells it. ``render`` turns them into text for one reader: in that reader's language, every
time in the business time zone, to the minute. Pure code: workflows and activities call it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime
from zoneinfo import ZoneInfo

from workflows.mail_names import mail_name

FR, EN = "fr", "en"
# Said by the alert activities when no API key is set: a known reason (KNOWN_REASONS).
NO_ALERT_KEY = "no Opsgenie API key configured (VIGIE_OPSGENIE_API_KEY): the alert is not updated"

# Said when the on-call schedule names people but no address a mail can be sent to (JSM's
# account ids, an address the mail library cannot read): a known reason (KNOWN_REASONS).
NO_ADDRESS_ON_CALL = "no e-mail address a mail can be sent to among those on call"

# Field values that are names of things, said in the reader's language.
VALUES: dict[str, dict[str, dict[str, str]]] = {
    # the crisis cell's roles (workflows.crisis._compose_cell); a member added by hand keeps
    # the role typed for it
    "role": {
        FR: {
            "technical referent": "référent technique",
            "pilot: incident manager": "pilote : incident manager",
            "pilot: delivery manager": "pilote : delivery manager",
            "client management level 1": "direction du client, niveau 1",
            "client management level 2": "direction du client, niveau 2",
            "client management level 3": "direction du client, niveau 3",
            "account director": "directeur de compte",
            "agency director": "directeur d'agence",
            "expert": "expert",
            "client expert": "expert du client",
            "security": "sécurité",
            "client CISO": "RSSI du client",
            "partner": "partenaire",
            "other": "autre",
            # the escalation matrix's roles (EscalationMatrix.role_of), as the RACI records them
            "provider.technical_referents": "référent technique de l'infogérant",
            "provider.incident_manager": "incident manager de l'infogérant",
            "provider.delivery_manager": "delivery manager de l'infogérant",
            "provider.account_director": "directeur de compte de l'infogérant",
            "provider.agency_director": "directeur d'agence de l'infogérant",
            "provider.experts": "expert de l'infogérant",
            "provider.security": "sécurité de l'infogérant",
            "provider.on_call": "astreinte technique de l'infogérant",
            "provider.change_manager": "responsable des changements de l'infogérant",
            "client.management_1": "direction du client, niveau 1",
            "client.management_2": "direction du client, niveau 2",
            "client.management_3": "direction du client, niveau 3",
            "client.dnum": "DNUM du client",
            "client.on_call_manager": "responsable d'astreinte du client",
            "client.ciso": "RSSI du client",
            "client.experts": "expert du client",
        },
        EN: {
            "provider.technical_referents": "provider technical referent",
            "provider.incident_manager": "provider incident manager",
            "provider.delivery_manager": "provider delivery manager",
            "provider.account_director": "provider account director",
            "provider.agency_director": "provider agency director",
            "provider.experts": "provider expert",
            "provider.security": "provider security",
            "provider.on_call": "provider technical on-call",
            "provider.change_manager": "provider change manager",
            "client.management_1": "client management level 1",
            "client.management_2": "client management level 2",
            "client.management_3": "client management level 3",
            "client.dnum": "client DNUM",
            "client.on_call_manager": "client on-call manager",
            "client.ciso": "client CISO",
            "client.experts": "client expert",
        },
    },
    # what an alert change does (``action`` in the alert_* sentences: AlertCommand.action)
    "alert_action": {
        FR: {
            "create": "envoi initial",
            "note": "ajout de la note",
            "acknowledge": "accusé de prise en compte",
            "close": "passage à l'état fermé",
            "priority": "changement de priorité",
            "add_tags": "ajout d'étiquettes",
            "remove_tags": "retrait d'étiquettes",
            "add_responder": "ajout d'un intervenant",
            "escalate": "déclenchement de l'escalade",
        },
        EN: {
            "create": "creation",
            "note": "note",
            "acknowledge": "acknowledgement",
            "close": "close",
            "priority": "priority change",
            "add_tags": "tag addition",
            "remove_tags": "tag removal",
            "add_responder": "responder addition",
            "escalate": "escalation",
        },
    },
    # where an incident was opened from (IncidentInput.source; others are shown as given)
    "source": {
        FR: {"opsgenie": "Opsgenie", "cli": "la ligne de commande Vigie", "api": "l'API Temporal"},
        EN: {"opsgenie": "Opsgenie", "cli": "the Vigie command line", "api": "the Temporal API"},
    },
    "service_level": {
        FR: {"gold": "Gold", "silver": "Silver", "bronze": "Bronze"},
        EN: {"gold": "Gold", "silver": "Silver", "bronze": "Bronze"},
    },
    # what an Opsgenie user did to the alert that acknowledges the incident
    "opsgenie_ack": {
        FR: {
            "Acknowledge": "alerte acquittée",
            "TakeOwnership": "alerte prise en charge",
            "AssignOwnership": "alerte attribuée",
        },
        EN: {
            "Acknowledge": "alert acknowledged",
            "TakeOwnership": "alert ownership taken",
            "AssignOwnership": "alert assigned",
        },
    },
    # what an Opsgenie event asked of the incident (the operation it was sent as)
    "opsgenie_operation": {
        FR: {
            "acknowledge": "prise en compte",
            "add_worklog": "note",
            "resolve": "fermeture de l'alerte",
            "set_pending": "mise en attente",
            "resume": "reprise",
            "recategorize": "changement de priorité",
            "reopen": "réouverture",
            "close": "clôture",
            "alert_created": "création de l'alerte",
        },
        EN: {
            "acknowledge": "acknowledgement",
            "add_worklog": "note",
            "resolve": "alert closed",
            "set_pending": "pending",
            "resume": "resume",
            "recategorize": "priority change",
            "reopen": "reopening",
            "close": "close",
            "alert_created": "alert creation",
        },
    },
    # what kind of failure an activity met (its error type: workflows.delivery.error_kind),
    # said before the failure's own technical text
    "error_kind": {
        FR: {
            "MailServerUnavailable": "serveur de mail injoignable",
            "MailServerBusy": "serveur de mail momentanément saturé",
            "MailRejected": "mail refusé par le serveur de mail",
            "RecipientsRefused": "destinataires refusés",
            "ChannelsDown": "aucun canal disponible",
            "OpsgenieUnavailable": "plateforme d'alertes injoignable",
            "OpsgenieRejected": "refusé par la plateforme d'alertes",
            "OpsgenieRequestPending": "demande pas encore traitée par la plateforme d'alertes",
            "ChatUnavailable": "canal de discussion injoignable",
            "ChatRejected": "message refusé par le canal de discussion",
            "ChatNotConfigured": "canal de discussion non configuré",
            "ConferenceError": "service de conférence en échec",
            "ConfigError": "configuration invalide",
            "Timeout": "délai dépassé",
            "WorkflowExists": "un workflow de cet identifiant existe déjà",
            "WorkflowEnded": "son exécution est déjà terminée, son historique clos",
            "Error": "erreur",
        },
        EN: {
            "MailServerUnavailable": "mail server unreachable",
            "MailServerBusy": "mail server busy",
            "MailRejected": "mail rejected by the mail server",
            "RecipientsRefused": "recipients refused",
            "ChannelsDown": "no channel available",
            "OpsgenieUnavailable": "alerting platform unreachable",
            "OpsgenieRejected": "refused by the alerting platform",
            "OpsgenieRequestPending": "request not processed yet by the alerting platform",
            "ChatUnavailable": "chat channel unreachable",
            "ChatRejected": "message refused by the chat channel",
            "ChatNotConfigured": "chat channel not configured",
            "ConferenceError": "conference service failed",
            "ConfigError": "invalid configuration",
            "Timeout": "timed out",
            "WorkflowExists": "a workflow with this id exists already",
            "WorkflowEnded": "ended already, its history is closed",
            "Error": "error",
        },
    },
    # what is wrong with a field of a refused input (pydantic's error types)
    "input_error": {
        FR: {
            "missing": "manquant",
            "string_too_short": "vide ou trop court",
            "string_too_long": "trop long",
            "too_long": "trop long",
            "too_short": "trop court",
            "bool_parsing": "oui ou non attendu",
            "bool_type": "oui ou non attendu",
            "literal_error": "valeur non prévue",
            "enum": "valeur non prévue",
            "dict_type": "un objet JSON attendu",
            "model_type": "un objet JSON attendu",
            "model_attributes_type": "un objet JSON attendu",
            "string_type": "texte attendu",
            "int_parsing": "nombre entier attendu",
            "int_type": "nombre entier attendu",
            "datetime_parsing": "date-heure ISO 8601 attendue",
            "datetime_type": "date-heure ISO 8601 attendue",
            "timezone_aware": "décalage horaire attendu (+01:00, Z)",
            "extra_forbidden": "champ inconnu",
            "list_type": "liste attendue",
            "url_parsing": "adresse web invalide",
            "value_error": "valeur refusée",
            "rule.impact_urgency": "impact et urgence vont ensemble : les deux ou aucun",
            "rule.priority_or_impact": "la priorité, ou l'impact et l'urgence, pas les deux",
            "rule.recategorize": "une nouvelle priorité, l'impact et l'urgence, ou un niveau "
            "de service attendu",
            "rule.unconfirmed": "le verdict unconfirmed demande new_priority (P2 ou P3)",
            "rule.rex": "le REX attendu, en lien (link) ou en texte (text)",
            "control_character": "sur une ligne, sans caractère de contrôle",
            "invisible_character": "caractère invisible",
            "email": "adresse e-mail invalide",
            "too_many": "trop d'éléments",
        },
        EN: {
            "missing": "missing",
            "string_too_short": "empty or too short",
            "string_too_long": "too long",
            "too_long": "too long",
            "too_short": "too short",
            "bool_parsing": "yes or no expected",
            "bool_type": "yes or no expected",
            "literal_error": "unexpected value",
            "enum": "unexpected value",
            "dict_type": "a JSON object expected",
            "model_type": "a JSON object expected",
            "model_attributes_type": "a JSON object expected",
            "string_type": "text expected",
            "int_parsing": "whole number expected",
            "int_type": "whole number expected",
            "datetime_parsing": "ISO 8601 date-time expected",
            "datetime_type": "ISO 8601 date-time expected",
            "timezone_aware": "offset expected (+01:00, Z)",
            "extra_forbidden": "unknown field",
            "list_type": "list expected",
            "url_parsing": "invalid web address",
            "value_error": "value refused",
            "rule.impact_urgency": "impact and urgency go together: both or neither",
            "rule.priority_or_impact": "priority, or impact and urgency, not both",
            "rule.recategorize": "a new priority, impact and urgency, or a service level expected",
            "rule.unconfirmed": "verdict unconfirmed needs new_priority (P2 or P3)",
            "rule.rex": "the report expected, as link or text",
            "control_character": "one line, without control characters",
            "invisible_character": "invisible character",
            "email": "invalid e-mail address",
            "too_many": "too many items",
        },
    },
    # the fields an incident can be opened without, comma-separated in ``missing``
    "missing": {
        FR: {
            "category": "catégorie",
            "description": "description",
            "application": "application ou machine",
            "priority": "priorité (impact et urgence)",
            "requesters": "demandeurs",
            "details": "détails",
            "service_level": "niveau de service",
        },
        EN: {
            "category": "category",
            "description": "description",
            "application": "application or machine",
            "priority": "priority (impact and urgency)",
            "requesters": "requesters",
            "details": "details",
            "service_level": "service level",
        },
    },
    "status": {
        FR: {
            "open": "ouvert",
            "in_progress": "en cours",
            "pending": "en attente",
            "resolved": "résolu",
            "closed": "clôturé",
            "cancelled": "annulé",
        },
        EN: {
            "open": "open",
            "in_progress": "in progress",
            "pending": "pending",
            "resolved": "resolved",
            "closed": "closed",
            "cancelled": "cancelled",
        },
    },
    "crisis_status": {
        FR: {
            "active": "active",
            "closed": "clôturée",
            "rex_submitted": "close, REX remis",
            "cancelled": "annulée",
        },
        EN: {
            "active": "active",
            "closed": "closed",
            "rex_submitted": "over, REX submitted",
            "cancelled": "cancelled",
        },
    },
    "waiting_on": {
        FR: {"customer": "du client", "third_party": "d'un tiers"},
        EN: {"customer": "the customer", "third_party": "a third party"},
    },
    "problem_reason": {
        FR: {"unknown_cause": "cause inconnue", "recurring": "incident récurrent"},
        EN: {"unknown_cause": "unknown cause", "recurring": "recurring incident"},
    },
    "hours": {
        FR: {"business_hours": "heures ouvrées", "outside_business_hours": "heures non ouvrées"},
        EN: {
            "business_hours": "business hours",
            "outside_business_hours": "outside business hours",
        },
    },
    "criterion": {
        FR: {
            "major_incident": "incident majeur",
            "critical_application_blocked": "blocage applicatif critique",
            "virus_attack": "attaque virale",
            "destruction": "destruction",
            "infrastructure_unavailable": "indisponibilité de l'infrastructure",
            "natural_disaster": "catastrophe naturelle",
            "social_movement": "mouvement social",
            "aggression": "agression, malveillance ou terrorisme",
            "other": "autre événement",
        },
        EN: {
            "major_incident": "major incident",
            "critical_application_blocked": "critical application blocked",
            "virus_attack": "virus attack",
            "destruction": "destruction",
            "infrastructure_unavailable": "infrastructure unavailable",
            "natural_disaster": "natural disaster",
            "social_movement": "social movement",
            "aggression": "aggression, malice or terrorism",
            "other": "other event",
        },
    },
    "channel": {
        FR: {
            "relay": "le relais de messagerie de secours",
            "opsgenie": "des alertes Opsgenie aux membres",
            "auto": "le relais de secours ou Opsgenie selon la configuration",
            "smtp": "le serveur de messagerie habituel",
        },
        EN: {
            "relay": "the alternate mail relay",
            "opsgenie": "Opsgenie alerts to the members",
            "auto": "the alternate relay or Opsgenie where configured",
            "smtp": "the usual mail server",
        },
    },
    "step": {
        FR: {
            "escalation": "Escalade à l'incident manager ; DNUM informée de l'incident P1",
            "escalation_event": "Escalade à l'incident manager ; DNUM informée de la crise",
            "cell_request": "Demande à la DNUM de déclencher la cellule de crise",
            "cell_confirm": "DNUM informée de l'ouverture de la cellule demandée par le client",
            "cell_opening": "Ouverture de la cellule de crise",
            "action_plan": "Communication du plan d'action ; décision PRA au plus tard",
            "restoration": "Si le PRA est déclenché : service rétabli pour les utilisateurs",
            "closing": "Communication de clôture, fin de la gestion de crise",
            "ticket_opened": "T0+5 : ouverture du ticket",
            "acknowledgement": "T0+15 : prise en compte du ticket",
        },
        EN: {
            "escalation": "Escalation to the incident manager; DNUM told a P1 is open",
            "escalation_event": "Escalation to the incident manager; DNUM told of the crisis",
            "cell_request": "DNUM asked to trigger the crisis cell",
            "cell_confirm": "DNUM told the cell the client asked for opens",
            "cell_opening": "Crisis cell opens",
            "action_plan": "Action plan communicated; latest DRP decision",
            "restoration": "If the DRP was triggered: service restored for users",
            "closing": "Closing communication, end of crisis management",
            "ticket_opened": "T0+5: ticket opened",
            "acknowledgement": "T0+15: ticket acknowledged",
        },
    },
    "party": {
        FR: {
            "provider_manager": "manager infogérant",
            "provider_admin": "admin infogérant",
            "client": "client",
        },
        EN: {
            "provider_manager": "provider manager",
            "provider_admin": "provider admin",
            "client": "client",
        },
    },
    "drp": {
        FR: {"activated": "déclenché", "not_activated": "non déclenché"},
        EN: {"activated": "activated", "not_activated": "not activated"},
    },
    "milestone_status": {
        FR: {
            "met": "tenu",
            "late": "en retard",
            "missed": "manqué",
            "not_applicable": "sans objet",
            "pending": "à venir",
        },
        EN: {
            "met": "met",
            "late": "late",
            "missed": "missed",
            "not_applicable": "not applicable",
            "pending": "pending",
        },
    },
    "incident_event": {
        FR: {
            "resolved": "L'incident est résolu : service rétabli.",
            "reopened": "L'incident est réouvert : le service est de nouveau interrompu.",
            "recategorized": "L'incident est recatégorisé ; ses délais sont recalculés.",
            "pending": "L'incident est en attente : son délai de résolution est suspendu.",
            "resumed": "L'incident reprend : son délai de résolution court de nouveau.",
            "breached": "Le délai de résolution de l'incident est dépassé.",
            "closed": "L'incident est clôturé.",
            "acknowledged": "L'incident est pris en compte.",
            "urgent_change": "Changement urgent sur l'incident :",
        },
        EN: {
            "resolved": "The incident is resolved: service restored.",
            "reopened": "The incident is reopened: the service is down again.",
            "recategorized": "The incident is recategorized; its deadlines are recomputed.",
            "pending": "The incident is pending: its resolution clock is paused.",
            "resumed": "The incident resumes: its resolution clock runs again.",
            "breached": "The incident's resolution deadline is breached.",
            "closed": "The incident is closed.",
            "acknowledged": "The incident is acknowledged.",
            "urgent_change": "Urgent change on the incident:",
        },
    },
    "escalation_reason": {
        FR: {
            "at_risk": "le délai de résolution de l'incident est menacé",
            "breached": "le délai de résolution de l'incident est dépassé",
            "drp_undecided": "PRA non décidé à l'heure limite",
            "not_restored": "service non rétabli à l'échéance du PRA",
            "chronogram": "T0+30 min : escalade à l'incident manager",
            "unvalidated": "situation de crise non validée à l'ouverture de la cellule",
        },
        EN: {
            "at_risk": "the incident's resolution deadline is at risk",
            "breached": "the incident's resolution deadline is breached",
            "drp_undecided": "DRP undecided at the latest decision time",
            "not_restored": "service not restored at the DRP restoration target",
            "chronogram": "T0+30 min: escalation to the incident manager",
            "unvalidated": "crisis situation not validated when the cell opens",
        },
    },
}

# Sentence keys → text per language. Fields in braces; times are fields ending in ``_at``.
SENTENCES: dict[str, dict[str, str]] = {
    # ---- incident timeline
    "opened": {
        FR: "Incident ouvert depuis {source} : {priority} {service_level}.",
        EN: "Incident opened from {source}: {priority} {service_level}.",
    },
    "opened.mail": {  # to the requesters: no internal source, nothing "to ask for"
        FR: "Incident enregistré en {priority}, niveau de service {service_level}.",
        EN: "Incident registered as {priority}, service level {service_level}.",
    },
    "level_confirmed": {
        FR: "Niveau de service confirmé : {service_level}.",
        EN: "Service level confirmed: {service_level}.",
    },
    "requesters_unusable": {
        FR: "Demandeurs ignorés, ce ne sont pas des adresses e-mail : {addresses}. Demandez "
        "les bonnes adresses.",
        EN: "Requesters ignored, they are no e-mail addresses: {addresses}. Ask for the right "
        "addresses.",
    },
    "opened.missing": {
        FR: "Incident ouvert depuis {source} : {priority} {service_level}. "
        "Informations manquantes à demander : {missing}.",
        EN: "Incident opened from {source}: {priority} {service_level}. "
        "Missing information to ask for: {missing}.",
    },
    "continued": {
        FR: "Historique compacté : l'incident continue dans une nouvelle exécution.",
        EN: "History compacted: the incident continues as new.",
    },
    "continued.trimmed": {
        FR: "Historique compacté : l'incident continue dans une nouvelle exécution ; "
        "{trimmed} événements anciens restent dans l'historique des exécutions précédentes.",
        EN: "History compacted: the incident continues as new; {trimmed} older events stay "
        "in the earlier runs' histories.",
    },
    "crisis_continued": {
        FR: "Historique compacté : la crise continue dans une nouvelle exécution.",
        EN: "History compacted: the crisis continues as new.",
    },
    "crisis_continued.trimmed": {
        FR: "Historique compacté : la crise continue dans une nouvelle exécution ; "
        "{trimmed} événements anciens restent dans l'historique des exécutions précédentes.",
        EN: "History compacted: the crisis continues as new; {trimmed} older events stay "
        "in the earlier runs' histories.",
    },
    "ledger_refused": {
        FR: "Registre des incidents : écriture refusée ({error}).",
        EN: "Incident ledger: write refused ({error}).",
    },
    "chat_failed": {
        FR: "Message {event} non remis au canal {channel} : {error}",
        EN: "{event} message not delivered to channel {channel}: {error}",
    },
    "policy_warning": {FR: "Politique : {text}", EN: "Policy: {text}"},
    "policy_fallback": {
        FR: "Le fichier de politique est invalide : la dernière politique valide (version "
        "{version}) s'applique. {error}",
        EN: "The policy file is invalid: the last valid policy (version {version}) applies. "
        "{error}",
    },
    "matrix_fallback": {
        FR: "Le fichier de la matrice d'escalade est invalide : la dernière matrice valide "
        "(version {version}) est utilisée. {error}",
        EN: "The escalation matrix file is invalid: the last valid matrix (version {version}) "
        "is used. {error}",
    },
    "t0_future": {
        FR: "Le T0 {t0_at} est dans le futur ; l'heure d'ouverture est retenue.",
        EN: "T0 {t0_at} is in the future; the opening time is used.",
    },
    "t0_too_old": {
        FR: "Le T0 {t0_at} date de plus de {days} jours ; l'heure d'ouverture est retenue.",
        EN: "T0 {t0_at} is more than {days} days old; the opening time is used.",
    },
    "ack_warning": {
        FR: "Pas encore pris en compte ; échéance {due_at}.",
        EN: "Not acknowledged yet; due {due_at}.",
    },
    "ack_breach": {
        FR: "Délai de prise en compte du {due_at} dépassé.",
        EN: "Acknowledgement deadline {due_at} breached.",
    },
    "resolution_warning": {
        FR: "Résolution attendue avant le {due_at}.",
        EN: "Resolution due {due_at}.",
    },
    "resolution_breach": {
        FR: "Délai de résolution du {due_at} dépassé.",
        EN: "Resolution deadline {due_at} breached.",
    },
    "acknowledged": {FR: "Incident pris en compte.", EN: "Incident acknowledged."},
    "acknowledged.note": {
        FR: "Incident pris en compte : {note}",
        EN: "Incident acknowledged: {note}",
    },
    "worklog": {FR: "{text}", EN: "{text}"},
    "pending": {
        FR: "En attente {waiting_on} : {reason}",
        EN: "Waiting on {waiting_on}: {reason}",
    },
    "resumed": {
        FR: "Traitement repris. Résolution attendue avant le {due_at}.",
        EN: "Work resumed. Resolution due {due_at}.",
    },
    "resumed.note": {
        FR: "Traitement repris : {note} Résolution attendue avant le {due_at}.",
        EN: "Work resumed: {note} Resolution due {due_at}.",
    },
    "breach_voided.ack": {
        FR: "Le dépassement du délai de prise en charge ne compte plus : avec la nouvelle "
        "classe, ce délai est le {due_at}.",
        EN: "The acknowledgement deadline's breach no longer counts: with the new class, that "
        "deadline is {due_at}.",
    },
    "breach_voided.resolution": {
        FR: "Le dépassement du délai de résolution ne compte plus : avec la nouvelle classe, "
        "ce délai est le {due_at}.",
        EN: "The resolution deadline's breach no longer counts: with the new class, that "
        "deadline is {due_at}.",
    },
    "recategorized": {
        FR: "{before} → {after} : {reason}",
        EN: "{before} → {after}: {reason}",
    },
    "qualified.unconfirmed": {
        FR: "P1 non avéré ; recatégorisé en {priority}. {note}",
        EN: "P1 not confirmed; recategorized {priority}. {note}",
    },
    "qualified.confirmed": {
        FR: "P1 avéré : communication régulière de l'incident manager vers le client. {note}",
        EN: "P1 confirmed: regular mails from the incident manager to the client. {note}",
    },
    "qualified.major": {
        FR: "Incident majeur avéré : processus de crise déclenché. {note}",
        EN: "Major incident confirmed: crisis process triggered. {note}",
    },
    "resolved": {FR: "{resolution}", EN: "{resolution}"},
    "on_call.opsgenie": {
        FR: "P1 hors heures ouvrées : astreinte technique appelée ; de garde selon Opsgenie : "
        "{to}.",
        EN: "P1 outside business hours: technical on-call paged; on call according to "
        "Opsgenie: {to}.",
    },
    "on_call.ended": {
        FR: "P1 hors heures ouvrées : astreinte technique non appelée, l'incident est déjà "
        "{status}.",
        EN: "P1 outside business hours: technical on-call not paged, the incident is already "
        "{status}.",
    },
    "on_call.matrix": {
        FR: "P1 hors heures ouvrées : astreinte technique appelée à l'adresse de la matrice "
        "({to}) ; Opsgenie n'a pas dit qui est de garde ({reason}).",
        EN: "P1 outside business hours: technical on-call paged at the matrix address ({to}); "
        "Opsgenie did not say who is on call ({reason}).",
    },
    "crisis_on_call.opsgenie": {
        FR: "Crise hors heures ouvrées : astreinte technique appelée ; de garde selon le "
        "planning : {to}.",
        EN: "Crisis outside business hours: technical on-call paged; on call according to "
        "the schedule: {to}.",
    },
    "crisis_on_call.matrix": {
        FR: "Crise hors heures ouvrées : astreinte technique appelée à l'adresse de la matrice "
        "({to}) ; le planning n'a pas dit qui est de garde ({reason}).",
        EN: "Crisis outside business hours: technical on-call paged at the matrix address "
        "({to}); the schedule did not say who is on call ({reason}).",
    },
    "why.no_schedule": {
        FR: "aucun planning d'astreinte configuré",
        EN: "no on-call schedule configured",
    },
    "why.nobody_on_call": {FR: "personne de garde", EN: "nobody on call"},
    "why.no_address_on_call": {
        FR: "aucune adresse e-mail à laquelle un mail puisse partir parmi les personnes de garde",
        EN: "no e-mail address a mail can be sent to among those on call",
    },
    "why.no_alert_key": {
        FR: "aucune clé d'API Opsgenie n'est configurée (VIGIE_OPSGENIE_API_KEY)",
        EN: "no Opsgenie API key is configured (VIGIE_OPSGENIE_API_KEY)",
    },
    "p1_status": {
        FR: "Point régulier : travaux depuis le dernier point : {text}",
        EN: "Regular status: work since the last status: {text}",
    },
    "p1_status.nothing": {
        FR: "Point régulier : rien de nouveau n'a été consigné depuis le dernier point ; "
        "le traitement se poursuit.",
        EN: "Regular status: nothing new was logged since the last status; work goes on.",
    },
    "runbook_change": {
        FR: "Évolution des consignes : {text}",
        EN: "Runbook change: {text}",
    },
    "problem_proposal": {
        FR: "Proposition d'ouverture de problème ({problem_reason}) : {text}",
        EN: "Problem proposal ({problem_reason}): {text}",
    },
    "closed": {FR: "Incident clôturé.", EN: "Incident closed."},
    "cancelled.mail": {
        FR: "Il n'est plus suivi. Pour un nouveau problème, ouvrez un nouvel incident.",
        EN: "It is no longer followed. For a new problem, open a new incident.",
    },
    "cancelled": {
        FR: "Incident annulé depuis Temporal (Web UI ou CLI : « Request Cancellation ») ; il "
        "n'est plus suivi. Pour le rouvrir, ouvrez un nouvel incident.",
        EN: 'Incident cancelled from Temporal (Web UI or CLI: "Request Cancellation"); it is '
        "no longer followed. To follow it again, open a new incident.",
    },
    "closed.note": {FR: "Incident clôturé : {note}", EN: "Incident closed: {note}"},
    "auto_closed": {
        FR: "Clôturé automatiquement après {quiet} sans réouverture.",
        EN: "Closed after {quiet} without reopening.",
    },
    "reopened": {
        FR: "{reason} Résolution attendue avant le {due_at}.",
        EN: "{reason} Resolution due {due_at}.",
    },
    "event": {FR: "{text}", EN: "{text}"},
    "crisis": {
        FR: "Processus de crise démarré : {crisis_id}.",
        EN: "Crisis process started: {crisis_id}.",
    },
    "crisis_failed": {
        FR: "Crise {crisis_id} non démarrée : {error}",
        EN: "Crisis {crisis_id} not started: {error}",
    },
    "crisis_unreachable": {
        FR: "Crise {crisis_id} non informée : {error}",
        EN: "Crisis {crisis_id} not told: {error}",
    },
    "opsgenie_no_change": {
        FR: "Opsgenie, {operation} : sans effet ici, {reason}.",
        EN: "Opsgenie, {operation}: no effect here, {reason}.",
    },
    "why.status": {
        FR: "l'incident est {status} (possible quand : {allowed})",
        EN: "the incident is {status} (allowed when: {allowed})",
    },
    "why.crisis": {FR: "la crise est {crisis_status}", EN: "the crisis is {crisis_status}"},
    "alert_created": {
        FR: "L'alerte a été créée après un autre de ses événements, qui a ouvert l'incident : "
        "complété de {missing}.",
        EN: "The alert's creation came after another of its events, which opened the "
        "incident: completed with {missing}.",
    },
    "alert_created.ended": {
        FR: "La création de l'alerte est arrivée après la fin de l'incident ({status}) : rien "
        "n'en est repris.",
        EN: "The alert's creation arrived after the incident ended ({status}): nothing of it "
        "is taken.",
    },
    "alert_created.priority": {
        FR: "priorité de l'alerte à sa création",
        EN: "the alert's priority at its creation",
    },
    "alert_created.level": {
        FR: "niveau de service de l'alerte à sa création",
        EN: "the alert's service level at its creation",
    },
    "alert_created.class": {
        FR: "priorité et niveau de service de l'alerte à sa création",
        EN: "the alert's priority and service level at its creation",
    },
    "why.stale_priority": {
        FR: "changement plus ancien qu'un autre déjà appliqué, arrivé après lui",
        EN: "a change older than one already applied, delivered after it",
    },
    "why.news_time": {
        FR: "l'événement est daté du {event_at}, hors de la crise (de son T0 à maintenant)",
        EN: "the event is dated {event_at}, outside the crisis (from its T0 to now)",
    },
    "why.unconfirmed_close": {
        FR: "le client n'a pas confirmé le retour au nominal : confirm_nominal d'abord (vigie "
        "crisis confirm-nominal), ou clôturer avec without_client_confirmation et la raison "
        "(--without-confirmation RAISON)",
        EN: "the client has not confirmed the return to nominal: confirm_nominal first (vigie "
        "crisis confirm-nominal), or close with without_client_confirmation giving the reason "
        "(--without-confirmation REASON)",
    },
    "why.last_level": {
        FR: "la crise est déjà au dernier niveau d'escalade ({level})",
        EN: "the crisis is already at the last escalation level ({level})",
    },
    "why.reserved_kind": {
        FR: "« {event_kind} » est un événement que l'incident consigne lui-même ; choisissez "
        "un autre kind (event, par exemple)",
        EN: '"{event_kind}" is an event the incident records itself; choose another kind '
        "(event, say)",
    },
    "why.level_known": {
        FR: "le niveau de service est connu ({service_level}) : il se change dans Vigie "
        "(recatégorisation)",
        EN: "the service level is known ({service_level}): it is changed in Vigie (recategorize)",
    },
    "why.same_class": {
        FR: "l'incident est déjà {priority} {service_level}",
        EN: "the incident is already {priority} {service_level}",
    },
    "why.not_p1": {FR: "l'incident est {priority}", EN: "the incident is {priority}"},
    "why.restored": {
        FR: "le service est déjà noté rétabli",
        EN: "the service is already recorded as restored",
    },
    "why.no_incident": {
        FR: "cette crise ne suit aucun incident",
        EN: "this crisis follows no incident",
    },
    "why.unknown_change": {
        FR: "aucun changement urgent {change_id} (connus : {known})",
        EN: "no urgent change {change_id} (known: {known})",
    },
    "why.change_done": {
        FR: "le changement urgent {change_id} est déjà réalisé",
        EN: "urgent change {change_id} is already done",
    },
    "why.confirmed": {FR: "déjà confirmé par {who}", EN: "already confirmed by {who}"},
    "why.invalid": {FR: "entrée invalide ({problems})", EN: "invalid input ({problems})"},
    "why.unknown_operation": {
        FR: "opération inconnue ; les opérations sont : {known}",
        EN: "unknown operation; the operations are: {known}",
    },
    "why.unknown_operation.near": {
        FR: "opération inconnue ; voulez-vous dire {near} ?",
        EN: "unknown operation; did you mean {near}?",
    },
    "why.member": {
        FR: "{email} fait déjà partie de la cellule ({name})",
        EN: "{email} is already in the cell ({name})",
    },
    "why.arity": {
        FR: "une seule entrée attendue (un objet JSON), {given} reçue(s)",
        EN: "one input expected (a JSON object), {given} given",
    },
    "why.not_json": {
        FR: "l'entrée n'est pas un JSON lisible ({error})",
        EN: "the input is not JSON that can be read ({error})",
    },
    "why.major": {
        FR: "l'incident est déjà qualifié majeur (crise {crisis_id} ; si elle a été annulée, "
        "vigie crisis open en ouvre une autre)",
        EN: "the incident is already qualified major (crisis {crisis_id}; if it was "
        "cancelled, vigie crisis open opens another)",
    },
    "refused": {
        FR: "Signal {operation} refusé : {reason}",
        EN: "Signal {operation} refused: {reason}",
    },
    "mail_failed": {
        FR: "Mail {mail} à {to} non distribué : {error}",
        EN: "Mail {mail} to {to} not delivered: {error}",
    },
    "alert_failed": {
        FR: "Alerte : {action} non appliqué : {error}",
        EN: "Alert {action} not applied: {error}",
    },
    "mail_retrying": {
        FR: "Mail {mail} pas encore parti après {attempts} essais, nouvel essai à venir : {error}",
        EN: "Mail {mail} not sent yet after {attempts} attempts, trying again: {error}",
    },
    "mail_through": {
        FR: "Mail {mail} parti (en échec depuis {since_at}).",
        EN: "Mail {mail} sent (failing since {since_at}).",
    },
    "alert_retrying": {
        FR: "Alerte : {action} pas encore appliqué après {attempts} essais, nouvel essai à "
        "venir : {error}",
        EN: "Alert {action} not applied yet after {attempts} attempts, trying again: {error}",
    },
    "alert_through": {
        FR: "Alerte : {action} appliqué (en échec depuis {since_at}).",
        EN: "Alert {action} applied (failing since {since_at}).",
    },
    "alert_priority_restored": {
        FR: "L'alerte Opsgenie est passée à {alert_priority} par un changement de Vigie arrivé "
        "après un changement plus récent fait dans Opsgenie : elle est remise à {priority}, la "
        "priorité de l'incident.",
        EN: "The Opsgenie alert went to {alert_priority} through a change from Vigie that "
        "arrived after a later one made in Opsgenie: it is set back to {priority}, the "
        "incident's priority.",
    },
    "alert_off": {
        FR: "Alerte non tenue à jour : {reason}",
        EN: "Alert not kept in step: {reason}",
    },
    # ---- what happened in Opsgenie (written by the webhook receiver)
    "opsgenie.escalated": {
        FR: "Opsgenie a escaladé l'alerte vers {escalation}.",
        EN: "Opsgenie escalated the alert to {escalation}.",
    },
    "opsgenie.escalated.unnamed": {
        FR: "Opsgenie a escaladé l'alerte.",
        EN: "Opsgenie escalated the alert.",
    },
    "opsgenie.tags_added": {
        FR: "Tags ajoutés dans Opsgenie par {who} : {tags}.",
        EN: "Tags added in Opsgenie by {who}: {tags}.",
    },
    "opsgenie.tags_removed": {
        FR: "Tags retirés dans Opsgenie par {who} : {tags}.",
        EN: "Tags removed in Opsgenie by {who}: {tags}.",
    },
    "opsgenie.recipient_added": {
        FR: "Destinataire {recipient} ajouté dans Opsgenie par {who}.",
        EN: "Recipient {recipient} added in Opsgenie by {who}.",
    },
    "opsgenie.team_added": {
        FR: "Équipe {team} ajoutée dans Opsgenie par {who}.",
        EN: "Team {team} added in Opsgenie by {who}.",
    },
    "opsgenie.unacknowledged": {
        FR: "Prise en compte annulée dans Opsgenie par {who}.",
        EN: "Alert unacknowledged in Opsgenie by {who}.",
    },
    "opsgenie.deleted": {
        FR: "Alerte supprimée dans Opsgenie par {who}.",
        EN: "Alert deleted in Opsgenie by {who}.",
    },
    "opsgenie.action": {
        FR: "Action Opsgenie {action} par {who}.",
        EN: "Opsgenie action {action} by {who}.",
    },
    "opsgenie.done": {FR: "{opsgenie_ack} dans Opsgenie", EN: "{opsgenie_ack} in Opsgenie"},
    "opsgenie.owner": {
        FR: "{opsgenie_ack} dans Opsgenie (propriétaire {owner})",
        EN: "{opsgenie_ack} in Opsgenie (owner {owner})",
    },
    "opsgenie.closed": {FR: "Alerte fermée dans Opsgenie.", EN: "Alert closed in Opsgenie."},
    "opsgenie.priority": {
        FR: "priorité passée à {priority} dans Opsgenie",
        EN: "priority set to {priority} in Opsgenie",
    },
    "opsgenie.level": {
        FR: "niveau de service {service_level} donné par un tag dans Opsgenie",
        EN: "service level {service_level} given by a tag in Opsgenie",
    },
    # ---- crisis timeline
    "crisis_opened": {
        FR: "Crise ouverte ({criterion}, {hours}) ; matrice d'escalade version {matrix_version}.",
        EN: "Crisis opened ({criterion}, {hours}); escalation matrix version {matrix_version}.",
    },
    "drill": {
        FR: "Exercice : le temps s'écoule {scale} fois plus vite.",
        EN: "Drill: time runs {scale} times faster.",
    },
    "channel": {
        FR: "La messagerie est touchée : les notifications de crise passent par {channel} ; un "
        "canal en échec passe la main au suivant, jusqu'au serveur de messagerie habituel.",
        EN: "The mail system is affected: crisis notifications go through {channel}; a channel "
        "that fails hands over to the next, down to the usual mail server.",
    },
    "security": {
        FR: "La sécurité peut être en jeu : l'équipe sécurité est associée.",
        EN: "Security may be involved: the security team is in.",
    },
    "on_call": {
        FR: "Hors heures ouvrées : astreinte technique déclenchée ({to}).",
        EN: "Outside business hours: technical on-call paged ({to}).",
    },
    "milestone": {FR: "{step} : {milestone_status}.", EN: "{step}: {milestone_status}."},
    "milestone.still_open": {
        FR: "{step} : manqué ; la crise est toujours ouverte.",
        EN: "{step}: missed; the crisis is still open.",
    },
    "milestone.no_drp": {
        FR: "{step} : sans objet (pas de PRA).",
        EN: "{step}: not applicable (no DRP).",
    },
    "rex_reminder": {FR: "REX attendu avant le {due_at}.", EN: "REX due by {due_at}."},
    "rex_reminder.overdue": {
        FR: "REX en retard depuis le {due_at}.",
        EN: "REX overdue since {due_at}.",
    },
    "drp_not_needed": {
        FR: "Pas de décision PRA nécessaire : le service est rétabli.",
        EN: "No DRP decision needed: the service is restored.",
    },
    "drp_undecided": {
        FR: "Pas de décision PRA à l'heure limite.",
        EN: "No DRP decision at the latest decision time.",
    },
    "status_mail": {FR: "{text}", EN: "{text}"},
    "escalation": {
        FR: "Niveau {level} ({hours}) : {escalation_reason}{reason} → {to}",
        EN: "Level {level} ({hours}): {escalation_reason}{reason} → {to}",
    },
    "escalation.last": {
        FR: "Déjà au dernier niveau ({level}) : {escalation_reason}{reason}",
        EN: "Already at the last level ({level}): {escalation_reason}{reason}",
    },
    "escalation.caught_up": {
        FR: "Niveau {level} ({hours}) en une seule escalade à l'ouverture tardive de la "
        "crise ; motifs : {escalation_reasons} → {to}",
        EN: "Level {level} ({hours}) in a single escalation as the crisis opened late; "
        "reasons: {escalation_reasons} → {to}",
    },
    "escalation.merged": {
        FR: "Niveau {level} ({hours}) en une seule escalade ; motifs : {escalation_reasons} → {to}",
        EN: "Level {level} ({hours}) in a single escalation; reasons: {escalation_reasons} → {to}",
    },
    "escalation.last.caught_up": {
        FR: "Déjà au dernier niveau ({level}) : {escalation_reasons}",
        EN: "Already at the last level ({level}): {escalation_reasons}",
    },
    "caught_up": {
        FR: "Crise ouverte après l'heure prévue pour la cellule ({cell_due_at}) : la cellule "
        "s'ouvre maintenant et la suite du chronogramme part de maintenant.",
        EN: "Crisis opened after the time set for its cell ({cell_due_at}): the cell opens "
        "now and the rest of the chronogram counts from now.",
    },
    "caught_up.drp": {
        FR: "Crise ouverte après l'heure prévue pour la cellule ({cell_due_at}) : la cellule "
        "s'ouvre maintenant et la suite du chronogramme part de maintenant (décision PRA "
        "attendue avant le {drp_due_at}).",
        EN: "Crisis opened after the time set for its cell ({cell_due_at}): the cell opens "
        "now and the rest of the chronogram counts from now (DRP decision due by "
        "{drp_due_at}).",
    },
    "update": {FR: "{progress}", EN: "{progress}"},
    "drp.activated": {FR: "PRA déclenché ({reason}).", EN: "DRP activated ({reason})."},
    "drp.not_activated": {FR: "PRA non déclenché ({reason}).", EN: "DRP not activated ({reason})."},
    "member": {
        FR: "{name} <{email}> rejoint la cellule ({role}).",
        EN: "{name} <{email}> joins the cell ({role}).",
    },
    "restored": {FR: "Service rétabli pour les utilisateurs.", EN: "Service restored for users."},
    "restored.note": {
        FR: "Service rétabli pour les utilisateurs : {note}",
        EN: "Service restored for users: {note}",
    },
    "incident_changed": {FR: "{incident_event} {text}", EN: "{incident_event} {text}"},
    "crisis_closed": {
        FR: "{summary} REX attendu avant le {due_at}.",
        EN: "{summary} REX due by {due_at}.",
    },
    "crisis_cancelled.closed": {
        FR: "Suivi de la crise annulé depuis Temporal après sa clôture : le REX n'est plus "
        "attendu.",
        EN: "Crisis follow-up cancelled from Temporal after its close: the REX is no longer "
        "awaited.",
    },
    "crisis_cancelled.opening": {
        FR: "Crise annulée depuis Temporal pendant son ouverture, avant tout envoi : personne "
        "n'en a été prévenu.",
        EN: "Crisis cancelled from Temporal while it opened, before anything was sent: nobody "
        "was told of it.",
    },
    "crisis_cancelled": {
        FR: "Crise annulée depuis Temporal (Web UI ou CLI : « Request Cancellation ») ; elle "
        "n'est plus suivie.",
        EN: 'Crisis cancelled from Temporal (Web UI or CLI: "Request Cancellation"); it is no '
        "longer followed.",
    },
    "crisis_closed_for_incident": {
        FR: "Crise {crisis_id} clôturée : {summary}",
        EN: "Crisis {crisis_id} closed: {summary}",
    },
    "incident_unreachable": {
        FR: "Incident non informé : {error}",
        EN: "Incident not told: {error}",
    },
    "rex": {FR: "REX remis : {rex}", EN: "REX submitted: {rex}"},
    "rex.late": {FR: "REX remis en retard : {rex}", EN: "REX submitted late: {rex}"},
    "conference": {
        FR: "Conférence ouverte sur {provider} : {url}",
        EN: "Conference opened on {provider}: {url}",
    },
    "conference.fallback": {
        FR: "Conférence ouverte sur {provider} : {url} (le fournisseur configuré a échoué : "
        "{reason})",
        EN: "Conference opened on {provider}: {url} (the configured provider failed: {reason})",
    },
    "conference_failed": {FR: "Pas de conférence : {error}", EN: "No conference: {error}"},
    "channel_fallback": {
        FR: "Mail {mail} parti par {channel} : {reason}",
        EN: "Mail {mail} went out through {channel}: {reason}",
    },
    "alerts_closed": {
        FR: "Alertes Opsgenie de la crise fermées : {count}.",
        EN: "Crisis Opsgenie alerts closed: {count}.",
    },
    "alert_close_failed": {
        FR: "Alerte Opsgenie {alias} non fermée : {error}",
        EN: "Opsgenie alert {alias} not closed: {error}",
    },
    "crisis_mail_failed": {
        FR: "Mail {mail} non distribué : {error}",
        EN: "Mail {mail} not delivered: {error}",
    },
    "unvalidated.open": {
        FR: "Ouverture de la cellule sans validation de la situation de crise (§4.7) : la "
        "politique l'ouvre quand même.",
        EN: "The cell opens without validation of the crisis situation (§4.7): the policy opens "
        "it anyway.",
    },
    "unvalidated.escalate": {
        FR: "Ouverture de la cellule sans validation de la situation de crise (§4.7) : la "
        "politique l'ouvre et escalade d'un niveau.",
        EN: "The cell opens without validation of the crisis situation (§4.7): the policy opens "
        "it and escalates one level.",
    },
    "validation.validated": {
        FR: "Situation de crise validée ({party}) {note}",
        EN: "Crisis situation validated ({party}) {note}",
    },
    "validation.declined": {
        FR: "Situation de crise NON validée ({party}) {note}",
        EN: "Crisis situation declined ({party}) {note}",
    },
    "line.decided_by": {FR: "Décision de {by}.", EN: "Decided by {by}."},
    "line.decided_by.role": {FR: "Décision de {by} ({role}).", EN: "Decided by {by} ({role})."},
    "validation.validated.note": {
        FR: "Situation de crise validée ({party}) : {note}",
        EN: "Crisis situation validated ({party}): {note}",
    },
    "validation.declined.note": {
        FR: "Situation de crise NON validée ({party}) : {note}",
        EN: "Crisis situation declined ({party}): {note}",
    },
    "nominal_confirmed": {
        FR: "Retour au nominal confirmé côté client. {note}",
        EN: "Return to nominal confirmed on the client side. {note}",
    },
    "closed_unconfirmed": {
        FR: "Crise clôturée sans confirmation du client du retour au nominal : {reason}",
        EN: "Crisis closed without the client's confirmation of return to nominal: {reason}",
    },
    "urgent_change": {
        FR: "Changement urgent {change_id} demandé : {what} (motif : {why})",
        EN: "Urgent change {change_id} requested: {what} (why: {why})",
    },
    "urgent_change_done": {
        FR: "Changement urgent {change_id} réalisé : {outcome}",
        EN: "Urgent change {change_id} done: {outcome}",
    },
    # ---- crisis mail lines
    "line.security": {
        FR: "La sécurité peut être en jeu dans cette crise : {title}",
        EN: "Security may be involved in this crisis: {title}",
    },
    "line.caught_up": {
        FR: "La crise a été ouverte après l'heure prévue pour la cellule ({cell_due_at}) : "
        "les étapes échues sont faites maintenant et la suite du chronogramme part de "
        "maintenant.",
        EN: "The crisis was opened after the time set for its cell ({cell_due_at}): the steps "
        "already due are done now and the rest of the chronogram counts from now.",
    },
    "line.client_triggered.now": {
        FR: "La crise a été déclenchée à la demande du client : la cellule de crise ouvre "
        "maintenant.",
        EN: "The crisis was triggered at the client's request: the crisis cell opens now.",
    },
    "line.client_triggered": {
        FR: "La crise a été déclenchée à la demande du client : la cellule de crise ouvre à "
        "T0+1 h ({opens_at}).",
        EN: "The crisis was triggered at the client's request: the crisis cell opens at "
        "T0+1 h ({opens_at}).",
    },
    "line.validate": {
        FR: "Merci de confirmer, ou non, la situation de crise auprès du pilote de crise "
        "(l'incident manager), qui enregistrera votre réponse.",
        EN: "Please confirm, or decline, the crisis situation to the crisis pilot (the "
        "incident manager), who will record your answer.",
    },
    "line.rex_submitted": {
        FR: "Rapport d'incident (REX) remis par {by}. {link}",
        EN: "Incident report (REX) submitted by {by}. {link}",
    },
    "line.on_call": {
        FR: "Crise ouverte hors heures ouvrées : {title}",
        EN: "Crisis opened outside business hours: {title}",
    },
    "line.p1_open": {
        FR: "Un incident P1 est ouvert : {title}",
        EN: "A P1 incident is open: {title}",
    },
    "line.crisis_event": {
        FR: "Une crise est en cours ({criterion}) : {title}",
        EN: "A crisis is under way ({criterion}): {title}",
    },
    "line.members": {FR: "Membres de la cellule :", EN: "Members of the cell:"},
    "line.member": {FR: "- {name} ({role})", EN: "- {name} ({role})"},
    "line.no_progress": {FR: "Aucun avancement publié.", EN: "No progress posted yet."},
    "line.progress": {FR: "Avancement : {text}", EN: "Progress: {text}"},
    "line.done": {FR: "Actions réalisées : {text}", EN: "Done: {text}"},
    "line.remaining": {FR: "Reste à faire : {text}", EN: "Remaining: {text}"},
    "line.forecast": {FR: "Prévision de résolution : {text}", EN: "Resolution forecast: {text}"},
    "line.t0": {FR: "Début de l'incident (T0) : {t0_at}", EN: "Outage began (T0): {t0_at}"},
    "line.t0_event": {FR: "Début de l'événement (T0) : {t0_at}", EN: "Event began (T0): {t0_at}"},
    "line.description": {FR: "Description : {text}", EN: "Description: {text}"},
    "line.drp_due_at": {
        FR: "PRA non décidé : décision attendue avant le {due_at}.",
        EN: "DRP undecided: decision due by {due_at}.",
    },
    "line.drp_due_now": {
        FR: "PRA non décidé : décision attendue maintenant.",
        EN: "DRP undecided: decision due now.",
    },
    "line.next_status": {
        FR: "Prochain point de situation par mail : {next_at}.",
        EN: "Next status mail: {next_at}.",
    },
    "line.incident_ended": {
        FR: "L'incident {incident_id} s'est terminé sans résolution (annulé). Ses délais ne "
        "donnent plus lieu à escalade ; la crise reste ouverte jusqu'à sa clôture : vigie "
        "crisis close {crisis_id} --summary SYNTHÈSE, avec --without-confirmation RAISON tant "
        "que le client n'a pas confirmé le retour au nominal.",
        EN: "Incident {incident_id} ended unresolved (cancelled). Its deadlines no longer "
        "escalate; the crisis stays open until it is closed: vigie crisis close {crisis_id} "
        "--summary SUMMARY, with --without-confirmation REASON while the client has not "
        "confirmed the return to nominal.",
    },
    "line.incident_cancelled": {
        FR: "L'incident {incident_id} a été annulé le {ended_at} ; la crise continue jusqu'à sa "
        "clôture.",
        EN: "Incident {incident_id} was cancelled on {ended_at}; the crisis goes on until it "
        "is closed.",
    },
    "line.posted": {
        FR: "Point publié le {posted_at} par {by}.",
        EN: "Update posted {posted_at} by {by}.",
    },
    "line.escalated_by": {FR: "Escalade demandée par {by}.", EN: "Escalation asked by {by}."},
    "line.nothing_new": {
        FR: "Rien n'a été publié depuis le dernier point.",
        EN: "Nothing was posted since the last status.",
    },
    "line.nothing_posted": {
        FR: "Rien n'a été publié depuis le dernier point ; rappel du dernier point publié :",
        EN: "Nothing was posted since the last status; the last one posted:",
    },
    "line.post_update": {
        FR: "Aucun point publié sur la dernière période : publiez l'avancement avant le "
        "prochain point (vigie crisis post-update).",
        EN: "No update was posted in the last period: post the progress before the next "
        "status (vigie crisis post-update).",
    },
    "line.drill": {
        FR: "EXERCICE : ce message fait partie d'un exercice de crise, pas d'une crise réelle.",
        EN: "DRILL: this message is part of a crisis drill, not a real crisis.",
    },
    "drill.subject": {FR: "EXERCICE — {title}", EN: "DRILL — {title}"},
    "line.drp": {FR: "{drp}", EN: "{drp}"},
    "line.restored_after": {
        FR: "Service rétabli le {restored_at}, {hours} h {minutes} min après T0.",
        EN: "Service restored on {restored_at}, {hours} h {minutes} min after T0.",
    },
    "line.not_restored": {
        FR: "Service non déclaré rétabli dans Vigie.",
        EN: "Service not recorded as restored in Vigie.",
    },
    "line.drp_undecided": {FR: "PRA non décidé.", EN: "DRP undecided."},
    "line.drp_due": {
        FR: "La décision PRA est attendue maintenant (vigie crisis decide-drp).",
        EN: "The DRP (PRA) decision is due now (vigie crisis decide-drp).",
    },
    "line.drp_activated": {FR: "PRA déclenché : {reason}", EN: "DRP activated: {reason}"},
    "line.drp_not_activated": {
        FR: "PRA non déclenché : {reason}",
        EN: "DRP not activated: {reason}",
    },
    "line.level": {
        FR: "Niveau d'escalade {level} ({hours})",
        EN: "Escalation level {level} ({hours})",
    },
    "line.reason": {FR: "{escalation_reason}{reason}", EN: "{escalation_reason}{reason}"},
    "line.step": {FR: "{step}", EN: "{step}"},
    "line.text": {FR: "{text}", EN: "{text}"},
    "line.joined": {
        FR: "Vous rejoignez la cellule de crise : {title}",
        EN: "You join the crisis cell: {title}",
    },
    "line.alert_closed": {
        FR: "Crise terminée : alerte fermée par Vigie.",
        EN: "The crisis is over: alert closed by Vigie.",
    },
    "line.alert_unreachable": {
        FR: "Opsgenie n'a pas répondu à temps ; fermez-la dans Opsgenie.",
        EN: "Opsgenie did not answer in time; close it in Opsgenie.",
    },
    "line.alert_unreachable.error": {
        FR: "Opsgenie n'a pas répondu à temps ({error}) ; fermez-la dans Opsgenie.",
        EN: "Opsgenie did not answer in time ({error}); close it in Opsgenie.",
    },
    "line.rex_due": {FR: "REX attendu avant le {due_at}.", EN: "REX due by {due_at}."},
    "line.rex_draft": {
        FR: "Le brouillon ci-dessous vient de ce que la crise a enregistré.",
        EN: "The draft below comes from the crisis record.",
    },
    "line.not_delivered": {
        FR: "Notification {mail} à {to} non distribuée : {error}",
        EN: "Notification {mail} to {to} not delivered: {error}",
    },
}

TIME_FORMAT = {FR: "%d/%m/%Y %H:%M %Z", EN: "%Y-%m-%d %H:%M %Z"}
PAUSED = {FR: "suspendu (en attente)", EN: "paused (pending)"}


def when(value: datetime | None, language: str, timezone: str) -> str:
    """A time for people: business time zone, to the minute."""
    if value is None:
        return PAUSED[language]
    return value.astimezone(ZoneInfo(timezone)).strftime(TIME_FORMAT[language])


# Rules of an input as its validators say them in English, and their names in VALUES
# ["input_error"]: a refused Signal tells them in the reader's language.
KNOWN_RULES = {
    "impact and urgency go together: give both or neither": "rule.impact_urgency",
    "give either priority or impact and urgency, not both": "rule.priority_or_impact",
    "give a new priority, impact and urgency, or service_level": "rule.recategorize",
    "verdict 'unconfirmed' needs new_priority (P2 or P3)": "rule.unconfirmed",
    "give the report as link or text": "rule.rex",
}
# Reasons given in English by activities, told in the reader's language.
KNOWN_REASONS = {
    "no on-call schedule configured": "why.no_schedule",
    "nobody on call": "why.nobody_on_call",
    NO_ADDRESS_ON_CALL: "why.no_address_on_call",
    NO_ALERT_KEY: "why.no_alert_key",
}


def told_reason(reason: str) -> dict[str, str]:
    """The fields that let a timeline entry tell a known ``reason`` in any language."""
    return {"why": KNOWN_REASONS[reason]} if reason in KNOWN_REASONS else {}


def _problem(raw: str, language: str) -> str:
    """``field=type`` as people read it: the field, and what is wrong in the language (an
    error type with no translation is said as a refused value)."""
    field, _, kind = raw.rpartition("=")
    if kind == "more" and field.isdigit():  # fields at fault beyond those named
        return f"et {field} autres" if language == FR else f"and {field} more"
    kind, _, limit = kind.partition("/")  # a length limit broken: said with the error
    wrong = (
        VALUES["input_error"][language].get(kind) or VALUES["input_error"][language]["value_error"]
    )
    if limit.isdigit():
        wrong += f", {limit} au plus" if language == FR else f", at most {limit}"
    return f"{field}{' :' if language == FR else ':'} {wrong}"


def value(kind: str, name: str, language: str) -> str:
    """A field value said in ``language`` (the value itself when it has no translation)."""
    return VALUES.get(kind, {}).get(language, {}).get(name, name)


def failure(raw: str, kind: str, language: str) -> str:
    """A failure as a reader takes it: what kind it was in the language, then the technical
    text as the software said it (a server's or a library's words, quoted)."""
    said = VALUES["error_kind"][language].get(kind)
    if said is None:  # a type with no translation (a library's exception): only its text
        return raw
    if not raw or raw.lower().startswith(said.lower()):  # English text that says it already
        return raw or said
    return f"{said} (détail technique : {raw})" if language == FR else f"{said} ({raw})"


_UNITS = {
    FR: {"m": ("minute", "minutes"), "h": ("heure", "heures"), "d": ("jour", "jours")},
    EN: {"m": ("minute", "minutes"), "h": ("hour", "hours"), "d": ("day", "days")},
}


def _allowance(raw: str, language: str) -> str:
    """``3d`` as ``3 jours`` (or ``3 days``); anything else as it is."""
    found = re.fullmatch(r"(\d+)([mhd])", raw.strip())
    if found is None:
        return raw
    amount, unit = int(found.group(1)), found.group(2)
    one, many = _UNITS.get(language, _UNITS[EN])[unit]
    return f"{amount} {one if amount == 1 else many}"


def _time_field(raw: str, language: str, timezone: str) -> str:
    """A time field for people; a value that is not a zoned ISO date-time is shown as is."""
    if not raw:
        return when(None, language, timezone)
    try:
        at = datetime.fromisoformat(raw)
        return when(at, language, timezone) if at.tzinfo is not None else raw
    except (ValueError, OverflowError):  # not a time, or one no time zone can show
        return raw


# Free text a person typed, which a sentence can follow in the same line.
SENTENCE_FIELDS = ("note", "reason", "summary", "text")


def ended(text: str) -> str:
    """``text`` as a sentence of its own: a full stop added unless it ends with one."""
    text = text.rstrip()
    return text if text.endswith((".", "!", "?", "…", ":", ";")) else f"{text}."


def render(key: str, fields: Mapping[str, str], language: str, timezone: str) -> str:
    """The sentence ``key`` told with ``fields``: times (``*_at``) in the time zone, to the
    minute; names (``waiting_on``, ``criterion``...) in the language. Unknown keys fall back
    to the ``text`` field, so an entry is always readable."""
    template = SENTENCES.get(key, {}).get(language)
    if template is None:
        return fields.get("text", key)
    shown: dict[str, str] = {}
    for name, raw in fields.items():
        if name.endswith("_at"):
            shown[name] = _time_field(raw, language, timezone)
        elif name == "missing":  # field names, comma-separated
            names = (x.strip() for x in raw.split(","))
            shown[name] = ", ".join(value("missing", x, language) for x in names if x)
        elif name == "error" and fields.get("error_kind"):  # the kind, then the technical text
            shown[name] = failure(raw, fields["error_kind"], language)
        elif name == "quiet":  # a policy allowance, "3d": said in words
            shown[name] = _allowance(raw, language)
        elif name == "mail":  # a mail's kind: named by its subject
            named = mail_name(raw, language, crisis=fields.get("mails") == "crisis")
            shown[name] = (
                raw if named is None else (f"« {named} »" if language == FR else f'"{named}"')
            )
        elif name == "action" and key.startswith("alert_"):
            shown[name] = value("alert_action", raw, language)
        elif name == "operation" and key == "opsgenie_no_change":
            shown[name] = value("opsgenie_operation", raw, language)
        elif name in VALUES:
            shown[name] = value(name, raw, language)
        elif name == "problems":  # field=type;…: each field and what is wrong with it
            gap = " ; " if language == FR else "; "
            shown[name] = gap.join(_problem(x, language) for x in raw.split(";") if x)
        elif name in ("before", "after") and key == "recategorized":  # "P1 gold"
            priority, _, level = raw.partition(" ")
            shown[name] = f"{priority} {value('service_level', level, language)}".strip()
        elif name == "escalation_reasons":  # codes, comma-separated
            gap = " ; " if language == FR else "; "
            shown[name] = gap.join(
                value("escalation_reason", x, language) for x in raw.split(",") if x
            )
        elif name == "allowed":  # statuses, comma-separated
            shown[name] = ", ".join(value("status", x, language) for x in raw.split(",") if x)
        else:
            shown[name] = raw
    for name in SENTENCE_FIELDS:  # "{note} Résolution…": the note ends its own sentence
        if shown.get(name) and re.search(re.escape(f"{{{name}}}") + " [A-ZÀ-Þ]", template):
            shown[name] = ended(shown[name])
    why = fields.get("why")
    if why and why != key and why in SENTENCES:  # the reason, told in the language too
        shown["reason"] = render(why, {k: v for k, v in fields.items() if k != "why"},
                                 language, timezone)  # fmt: skip
    return template.format_map(_Blank(shown)).strip()


class _Blank(dict[str, str]):
    def __missing__(self, key: str) -> str:
        return ""
