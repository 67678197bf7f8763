"""Opsgenie's outgoing webhook: lenient payload models and what each action does.

Opsgenie sends a subset of the alert's fields, varying by action and by the
age of the integration: priority as "P3" or 3, timestamps as numbers or
strings, tags as lists or comma-joined strings, and a different shape for
Escalate. The models accept all of these; ``plan`` turns an event into one
thing to do to an incident.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from starters.opsgenie_config import OpsgenieMapping
from workflows.models import AlertRef, IncidentInput

EMAIL = re.compile(r"^[^@\s,;]+@[^@\s,;]+\.[^@\s,;]+$")
SERVICE_LEVELS = ("gold", "silver", "bronze")


def _tags(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [t.strip() for t in value.split(",") if t.strip()]
    if isinstance(value, list):
        return [str(t) for t in value if str(t).strip()]
    raise ValueError("tags must be a list or a comma-separated string")


class WebhookAlert(BaseModel):
    model_config = ConfigDict(extra="allow")

    alertId: str = Field(min_length=1, max_length=200)
    message: str | None = None
    alias: str | None = None
    tinyId: str | int | None = None
    entity: str | None = None
    description: str | None = None
    priority: str | None = None
    tags: list[str] = []
    addedTags: list[str] = []
    removedTags: list[str] = []
    details: dict[str, str] = {}
    createdAt: int | None = None
    updatedAt: int | None = None
    username: str | None = None
    source: str | None = None
    team: str | None = None
    note: str | None = None
    owner: str | None = None
    recipient: str | None = None

    _tag_lists = field_validator("tags", "addedTags", "removedTags", mode="before")(_tags)

    @field_validator("priority", mode="before")
    @classmethod
    def _priority(cls, value: Any) -> str | None:
        if value is None or value == "":
            return None
        text = str(value).strip().upper()
        if text.isdigit():
            text = f"P{text}"
        if text not in ("P1", "P2", "P3", "P4", "P5"):
            raise ValueError(f"unknown priority {value!r} (expected P1..P5 or 1..5)")
        return text

    @field_validator("createdAt", "updatedAt", mode="before")
    @classmethod
    def _epoch(cls, value: Any) -> int | None:
        if value is None or value == "":
            return None
        if isinstance(value, bool):
            raise ValueError("a timestamp must be a number")
        return int(str(value).strip())

    @field_validator("details", mode="before")
    @classmethod
    def _details(cls, value: Any) -> dict[str, str]:
        if value is None:
            return {}
        if not isinstance(value, dict):
            raise ValueError("details must be an object")
        return {str(k): v if isinstance(v, str) else str(v) for k, v in value.items()}

    @field_validator(
        "message", "alias", "entity", "description", "username", "source", "team", "note",
        "owner", "recipient", mode="before",
    )  # fmt: skip
    @classmethod
    def _text(cls, value: Any) -> str | None:
        if value is None:
            return None
        if isinstance(value, dict | list):
            raise ValueError("must be text")
        return str(value)


class WebhookSource(BaseModel):
    model_config = ConfigDict(extra="allow")

    name: str | None = None
    type: str | None = None


class WebhookEvent(BaseModel):
    model_config = ConfigDict(extra="allow")

    action: str = Field(min_length=1, max_length=100)
    alert: WebhookAlert
    source: WebhookSource | None = None
    integrationId: str | None = None
    integrationName: str | None = None
    escalationId: str | None = None
    escalationName: str | None = None


class Plan(BaseModel):
    """What one webhook event does. ``start`` may be None: then it never opens an incident."""

    kind: Literal["start", "signal", "ignore"]
    incident_id: str
    operation: str | None = None
    payload: dict[str, Any] = {}
    start: IncidentInput | None = None
    reason: str = ""


ACK_ACTIONS = {"Acknowledge", "TakeOwnership", "AssignOwnership"}
VIGIE_TAG = re.compile(r"^(vigie(:.*)?|sl:(gold|silver|bronze))$")


def incident_id_for(alert: WebhookAlert) -> str:
    """Alerts Vigie created carry the incident id as alias; others get one from their id."""
    if alert.alias and alert.alias.startswith("incident-"):
        return alert.alias
    return f"incident-{alert.alertId}"


def _service_level(alert: WebhookAlert, mapping: OpsgenieMapping) -> str:
    prefix = mapping.service_level_tag_prefix
    for tag in alert.tags:
        if tag.lower().startswith(prefix) and tag[len(prefix) :].lower() in SERVICE_LEVELS:
            return tag[len(prefix) :].lower()
    detail = alert.details.get(mapping.service_level_detail, "").strip().lower()
    if detail in SERVICE_LEVELS:
        return detail
    if alert.team and alert.team in mapping.teams:
        return mapping.teams[alert.team]
    return mapping.default_service_level


def _requesters(alert: WebhookAlert, mapping: OpsgenieMapping) -> list[str]:
    found = [
        a.strip() for a in re.split(r"[,;\s]+", alert.details.get(mapping.requester_detail, ""))
    ]
    if alert.username:
        found.append(alert.username.strip())
    return list(dict.fromkeys(a for a in found if EMAIL.match(a)))


def start_input(alert: WebhookAlert, mapping: OpsgenieMapping) -> IncidentInput | None:
    """The incident an alert opens, or None when it lacks even a title."""
    if not alert.message or not alert.message.strip():
        return None
    t0 = (
        datetime.fromtimestamp(alert.createdAt / 1000, tz=UTC)
        if alert.createdAt and alert.createdAt > 0
        else None
    )
    details = {k: v for k, v in alert.details.items() if len(k) <= 200}
    if alert.tinyId is not None:
        details.setdefault("opsgenie_tiny_id", str(alert.tinyId))
    return IncidentInput(
        title=alert.message.strip()[:500],
        service_level=_service_level(alert, mapping),
        opsgenie_priority=alert.priority,
        category=alert.details.get(mapping.category_detail) or None,
        description=alert.description or None,
        application=alert.details.get(mapping.application_detail) or alert.entity or None,
        requesters=_requesters(alert, mapping),
        details=details,
        t0=t0,
        source="opsgenie",
        opened_by=alert.username or "opsgenie",
        alert=None
        if alert.alias and alert.alias.startswith("incident-")
        else AlertRef(identifier=alert.alertId, identifier_type="id"),
    )


def _record(event: WebhookEvent, text: str) -> dict[str, Any]:
    by = event.alert.username or event.alert.owner or "opsgenie"
    return {"by": by, "via": "opsgenie", "kind": "opsgenie", "text": text}


def _record_text(event: WebhookEvent) -> str:
    alert, action = event.alert, event.action
    who = alert.username or "someone"
    if action == "Escalate" or event.escalationName:
        return f"Opsgenie escalated the alert to {event.escalationName or 'the next level'}."
    if action == "AddTags":
        return f"Tags added in Opsgenie by {who}: {', '.join(alert.addedTags)}."
    if action == "RemoveTags":
        return f"Tags removed in Opsgenie by {who}: {', '.join(alert.removedTags)}."
    if action == "AddRecipient":
        return f"Recipient {alert.recipient} added in Opsgenie by {who}."
    if action == "AddTeam":
        return f"Team {alert.team} added in Opsgenie by {who}."
    if action == "UnAcknowledge":
        return f"Alert unacknowledged in Opsgenie by {who}."
    if action == "Delete":
        return f"Alert deleted in Opsgenie by {who}."
    return f"Opsgenie action {action} by {who}."


def plan(event: WebhookEvent, mapping: OpsgenieMapping) -> Plan:
    alert, action = event.alert, event.action
    incident = incident_id_for(alert)
    by = alert.owner if action == "AssignOwnership" and alert.owner else alert.username
    base: dict[str, Any] = {"by": by or "opsgenie", "via": "opsgenie"}

    if event.source and event.source.name == mapping.own_source:
        return Plan(kind="ignore", incident_id=incident, reason="made by Vigie itself")
    if action == "AddNote" and (alert.note or "").startswith("[vigie]"):
        return Plan(kind="ignore", incident_id=incident, reason="note written by Vigie")
    if action in ("AddTags", "RemoveTags"):
        changed = alert.addedTags if action == "AddTags" else alert.removedTags
        if changed and all(VIGIE_TAG.match(t) for t in changed):
            return Plan(kind="ignore", incident_id=incident, reason="tags kept by Vigie")

    opening = start_input(alert, mapping)
    if action == "Create":
        if opening is None:
            return Plan(kind="ignore", incident_id=incident, reason="alert has no message")
        return Plan(kind="start", incident_id=incident, start=opening)
    if action in ACK_ACTIONS:
        note = f"{action} in Opsgenie" + (f" (owner {alert.owner})" if alert.owner else "")
        return Plan(
            kind="signal", incident_id=incident, operation="acknowledge",
            payload={**base, "note": note}, start=opening,
        )  # fmt: skip
    if action == "AddNote":
        if not (alert.note or "").strip():
            return Plan(kind="ignore", incident_id=incident, reason="empty note")
        return Plan(
            kind="signal", incident_id=incident, operation="add_worklog",
            payload={**base, "text": alert.note}, start=opening,
        )  # fmt: skip
    if action == "Close":
        resolution = (alert.note or "").strip() or "Alert closed in Opsgenie."
        return Plan(
            kind="signal", incident_id=incident, operation="resolve",
            payload={**base, "resolution": resolution}, start=opening,
        )  # fmt: skip
    if action == "UpdatePriority" and alert.priority:
        return Plan(
            kind="signal", incident_id=incident, operation="recategorize",
            payload={**base, "opsgenie_priority": alert.priority,
                     "reason": f"priority set to {alert.priority} in Opsgenie"},
            start=opening,
        )  # fmt: skip
    custom = mapping.custom_actions.get(action)
    if custom is not None:
        note = (alert.note or "").strip() or f"{action} in Opsgenie"
        payload: dict[str, Any] = dict(base)
        if custom.operation == "set_pending":
            payload |= {"waiting_on": custom.waiting_on, "reason": note}
        elif custom.operation == "add_worklog":
            payload["text"] = note
        elif custom.operation == "resolve":
            payload["resolution"] = note
        else:
            payload["note"] = note
        return Plan(
            kind="signal", incident_id=incident, operation=custom.operation,
            payload=payload, start=opening,
        )  # fmt: skip
    # Everything else is only recorded, and never opens an incident.
    return Plan(
        kind="signal", incident_id=incident, operation="record_event",
        payload=_record(event, _record_text(event)), start=None,
    )  # fmt: skip
