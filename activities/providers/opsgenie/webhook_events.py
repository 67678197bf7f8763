"""Opsgenie's (and JSM Operations') outgoing webhook: lenient models and what each action does.

Opsgenie sends a subset of the alert's fields, varying by action and by the
age of the integration: priority as "P3" or 3, timestamps as numbers or
strings, tags as lists or comma-joined strings, and a different shape for
Escalate. The models accept all of these; ``plan`` turns an event into one
thing to do to an incident.

What an alert says is cleaned rather than refused, so that no alert is lost
for its wording: in one-line fields (message, user names, tags, detail keys)
control characters and line breaks become spaces; in texts (note,
description, detail values) control characters other than tab and newline
are dropped; and each is cut to the incident's input limits. Ids are never
altered: an alert id outside the safe alphabet is refused (422), and an
alias is taken as the incident id only when it is one clean line.
"""

from __future__ import annotations

import hashlib
import json
import re
from datetime import UTC, datetime, timedelta
from email.utils import getaddresses
from functools import partial
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_core.core_schema import ValidatorFunctionWrapHandler

from activities.providers.opsgenie.mapping import OpsgenieMapping
from activities.providers.opsgenie.marks import (
    SERVICE_LEVELS,
    is_own_note,
    is_own_tag,
)
from workflows.limits import (
    CUSTOMER_PATTERN,
    DIRECTION_CONTROLS,
    MAX_DETAILS,
    MAX_ID,
    MAX_NAME,
    MAX_REQUESTERS,
    MAX_TEXT,
    MAX_TITLE,
    MAX_UNUSABLE,
    SAFE_ID,
    T0_EARLIEST,
    T0_LATEST,
    clean_text,
    clip,
    mailable,
    once_each,
    one_line,
    shows_something,
)
from workflows.models import (
    AcknowledgeInput,
    AlertCreatedInput,
    AlertRef,
    IncidentInput,
    RecategorizeInput,
    RecordEventInput,
    ResolveInput,
    ResumeInput,
    Said,
    SetPendingInput,
    WorklogInput,
    opsgenie_delivery,
)
from workflows.texts import render

EARLIEST_MS = int(T0_EARLIEST.timestamp() * 1000)
LATEST_MS = int(T0_LATEST.timestamp() * 1000)
MAX_INT64 = 2**63 - 1
"""Timestamps beyond 64 bits are refused (the body reader refuses such integers already)."""
MAX_TAGS = 50
"""Tags kept per list (Opsgenie allows 20)."""
# How long each cleaned one-line field may be; texts may be MAX_TEXT long.
LINE_LIMITS = {"message": MAX_TITLE} | dict.fromkeys(
    ("tinyId", "entity", "username", "source", "team", "owner", "recipient"), MAX_NAME
)


UPDATE_AHEAD = timedelta(days=1)
"""How far ahead of the receiver's clock an event's ``updatedAt`` may be."""


def _latest_update_ns() -> int:
    return int((datetime.now(UTC) + UPDATE_AHEAD).timestamp()) * 1_000_000_000


def _tags(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        value = value.split(",")
    if isinstance(value, list):
        tags = (clip(one_line(str(t)), MAX_NAME) for t in value)
        return [t for t in tags if t][:MAX_TAGS]
    raise ValueError("tags must be a list or a comma-separated string")


# Details read from an alert: the ticket's fields are taken from all of them, then the
# incident keeps MAX_DETAILS (the ones it leaves out are counted in a detail of their own).
MAX_READ_DETAILS = 1000
LEFT_OUT_DETAIL = "vigie_details_left_out"


def _plain(value: str) -> str:
    """Without direction overrides, which show text backwards (``gnp.exe`` as ``exe.png``):
    a sender cannot be asked again, so they are dropped rather than refused."""
    return DIRECTION_CONTROLS.sub("", value)


def _whole_number(value: Any) -> int | None:
    """A whole number as a sender writes one (``42``, ``42.0``, ``" 42"``); None otherwise."""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    text = str(value).strip()
    return int(text) if text.lstrip("-").isdigit() else None


def _text(value: Any) -> str:
    if isinstance(value, dict | list):
        raise ValueError("must be text")
    return str(value)


class WebhookAlert(BaseModel):
    model_config = ConfigDict(extra="allow")

    alertId: str = Field(min_length=1, max_length=MAX_ID, pattern=rf"^{SAFE_ID}$")
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
    teams: list[str] = Field(default=[], description="JSM Operations: the alert's teams")
    note: str | None = None
    owner: str | None = None
    recipient: str | None = None

    # The updatedAt as sent when it is far ahead, not taken as a time: it still tells a
    # delivery of the same event again (delivery_key). (0 tells nothing: no key, as none.)
    _sent_update: int | None = PrivateAttr(default=None)

    _tag_lists = field_validator("tags", "addedTags", "removedTags", "teams", mode="before")(_tags)

    @model_validator(mode="wrap")
    @classmethod
    def _keep_sent_update(cls, data: Any, handler: ValidatorFunctionWrapHandler) -> Any:
        alert = handler(data)
        if isinstance(alert, WebhookAlert) and not alert.updatedAt and isinstance(data, dict):
            raw = data.get("updatedAt")  # validated above: a whole number, or none
            sent = None if raw is None or raw == "" else _whole_number(raw)
            alert._sent_update = sent or None
        return alert

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
    def _epoch(cls, value: Any, info: ValidationInfo) -> int | None:
        if value is None or value == "":
            return None
        if isinstance(value, bool):
            raise ValueError("a timestamp must be a number")
        number = _whole_number(value)
        if number is None:
            raise ValueError(f"a timestamp must be a whole number, not {str(value).strip()[:30]!r}")
        if info.field_name == "createdAt" and number and not EARLIEST_MS <= number < LATEST_MS:
            raise ValueError(
                f"must be milliseconds since 1970 from {EARLIEST_MS} ({T0_EARLIEST:%Y-%m-%d}) "
                f"to {LATEST_MS} ({T0_LATEST:%Y-%m-%d})"
            )
        if abs(number) > MAX_INT64:
            raise ValueError("a timestamp beyond 64 bits")
        if info.field_name == "updatedAt" and number > _latest_update_ns():
            # A sender's clock far ahead: such a time would make every later change of the
            # alert look older than it. The event is taken without it.
            return None
        return number

    @field_validator("details", mode="before")
    @classmethod
    def _details(cls, value: Any) -> dict[str, str]:
        if value is None:
            return {}
        if not isinstance(value, dict):
            raise ValueError("details must be an object")
        cleaned = (
            (one_line(str(k)), clip(_plain(clean_text(v if isinstance(v, str) else str(v))),
                                    MAX_TEXT))
            for k, v in value.items()
        )  # fmt: skip
        # All are read (the ticket's fields among them); the incident keeps MAX_DETAILS.
        return dict(list(cleaned)[:MAX_READ_DETAILS])

    @field_validator(*LINE_LIMITS, mode="before")
    @classmethod
    def _line(cls, value: Any, info: ValidationInfo) -> str | None:
        if value is None:
            return None
        assert info.field_name is not None
        return clip(one_line(_plain(_text(value))), LINE_LIMITS[info.field_name])

    @field_validator("description", "note", mode="before")
    @classmethod
    def _free_text(cls, value: Any) -> str | None:
        return None if value is None else clip(clean_text(_plain(_text(value))), MAX_TEXT)

    @field_validator("alias", mode="before")
    @classmethod
    def _alias(cls, value: Any) -> str | None:
        return None if value is None else _text(value)


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

    @field_validator("action", "escalationName", mode="before")
    @classmethod
    def _line(cls, value: Any) -> Any:
        return clip(one_line(value), MAX_NAME) if isinstance(value, str) else value


class Plan(BaseModel):
    """What one webhook event does. ``start`` may be None: then it never opens an incident."""

    kind: Literal["start", "signal", "ignore", "refuse"]
    incident_id: str
    operation: str | None = None
    input: SignalInput | None = Field(default=None, description="The operation's typed input")
    start: IncidentInput | None = None
    reason: str = ""


# What a webhook may signal: each operation with its input model, checked when the plan is
# made (a pydantic ValidationError: the receiver answers 422), so a renamed field is a type
# error here rather than a refusal in the workflow.
SignalInput = (
    AcknowledgeInput
    | WorklogInput
    | SetPendingInput
    | ResumeInput
    | RecategorizeInput
    | ResolveInput
    | RecordEventInput
    | AlertCreatedInput
)


ACK_ACTIONS = {"Acknowledge", "TakeOwnership", "AssignOwnership"}


_INCIDENT_ID = re.compile(rf"incident-{SAFE_ID}")


def _incident_alias(alert: WebhookAlert) -> bool:
    """Whether the alias is an incident id (``incident-`` and the ids' safe alphabet, at most
    MAX_ID characters): Vigie created the alert. Another alias is the sender's own."""
    alias = alert.alias
    return bool(alias and len(alias) <= MAX_ID and _INCIDENT_ID.fullmatch(alias))


# The ids Vigie gives a crisis: one that follows an incident, a drill's, and one opened by
# hand (its date and 6 hex digits); then the notice's number.
_CRISIS_NOTICE = re.compile(
    rf"crisis-(?:incident-{SAFE_ID}|drill-{SAFE_ID}|[0-9]{{8}}-[0-9a-f]{{6}})\.[0-9]+"
)


def is_crisis_notice(alert: WebhookAlert) -> bool:
    """Whether the alert is one Vigie raised to carry a crisis notification while the mail
    system is down (alias ``<crisis id>.<n>``, tagged ``vigie`` and ``crisis``). Another
    alias that starts with ``crisis-`` (``crisis-hotline.2``) is a sender's own."""
    alias = alert.alias or ""
    tags = {t.lower() for t in alert.tags}
    notice = len(alias) <= MAX_ID and bool(_CRISIS_NOTICE.fullmatch(alias))
    return notice or {"vigie", "crisis"} <= tags


def incident_id_for(alert: WebhookAlert) -> str:
    """Alerts Vigie created carry the incident id as alias; others get one from their id."""
    if _incident_alias(alert) and alert.alias:
        return alert.alias
    return f"incident-{alert.alertId}"


def _levels(tags: list[str], mapping: OpsgenieMapping) -> set[str]:
    """The service levels tags name (``sl:gold``)."""
    prefix = mapping.service_level_tag_prefix
    named = (t[len(prefix) :].lower() for t in tags if t.lower().startswith(prefix))
    return {level for level in named if level in SERVICE_LEVELS}


def _tagged_level(tags: list[str], mapping: OpsgenieMapping) -> str | None:
    """The service level tags name; None when none does, or when they name two different
    levels (which names none)."""
    levels = _levels(tags, mapping)
    return next(iter(levels)) if len(levels) == 1 else None


def _named_service_level(alert: WebhookAlert, mapping: OpsgenieMapping) -> str | None:
    """The level the alert names: a tag, else a detail, else its team's; None: none."""
    if (level := _tagged_level(alert.tags, mapping)) is not None:
        return level
    detail = alert.details.get(mapping.service_level_detail, "").strip().lower()
    if detail in SERVICE_LEVELS:
        return detail
    for team in ([alert.team] if alert.team else []) + alert.teams:  # Opsgenie's, JSM's
        if team in mapping.teams:
            return mapping.teams[team]
    return None


CUSTOMER_TAG = "customer:"


def customer_from_tags(tags: list[str]) -> str | None:
    """The customer named by a ``customer:<name>`` tag (the first valid one), or None."""
    for tag in tags:
        if tag.lower().startswith(CUSTOMER_TAG):
            name = tag[len(CUSTOMER_TAG) :].strip()
            if re.fullmatch(CUSTOMER_PATTERN, name):
                return name
    return None


def _listed(alert: WebhookAlert, mapping: OpsgenieMapping) -> list[str]:
    """The entries of the ``requesters`` detail, as the sender separated them (commas,
    semicolons, spaces, lines): addresses, or ``Name <address>`` and ``"Name, First"
    <address>`` as mail clients write them (the address is taken)."""
    found: list[str] = []
    for chunk in re.split(r"[;\n]+", alert.details.get(mapping.requester_detail, "")):
        if "<" in chunk or '"' in chunk:
            found += [address or name for name, address in getaddresses([chunk])]
        else:
            found += re.split(r"[,\s]+", chunk)
    # An address that ends a sentence ("Please copy bob@example.org.") loses its full stop.
    entries = (entry.strip() for entry in found)
    return [e.rstrip(".") if "@" in e else e for e in entries if e]


def _requesters(alert: WebhookAlert, mapping: OpsgenieMapping, created: bool) -> list[str]:
    """The ``requesters`` detail's addresses, and the alert's creator: the user of a Create
    (the user of any other event is who acted on the alert, not who raised it)."""
    found = _listed(alert, mapping)
    creator = alert.username.strip() if alert.username and created else ""
    if creator:
        found.append(creator)
    kept = once_each([a for a in found if mailable(a)])
    if len(kept) > MAX_REQUESTERS and mailable(creator):  # who raised it is told, whatever
        listed = [a for a in kept if a.lower() != creator.lower()]  # the count
        kept = [*listed[: MAX_REQUESTERS - 1], creator]
    return kept[:MAX_REQUESTERS]


def _unusable_requesters(alert: WebhookAlert, mapping: OpsgenieMapping) -> list[str]:
    """What the ``requesters`` detail holds that is no address (``rh@`` say), as one line
    each: the incident tells it, so that someone asks for the right address."""
    wrong = [clip(one_line(a), 80) for a in _listed(alert, mapping) if not mailable(a)]
    return list(dict.fromkeys(w for w in wrong if w))[:MAX_UNUSABLE]


def _name(value: str | None) -> str | None:
    """A detail used as a one-line field (category, application), or None when empty."""
    return (clip(one_line(value), MAX_NAME) or None) if value else None


def _kept_details(alert: WebhookAlert, mapping: OpsgenieMapping) -> dict[str, str]:
    """The details an incident keeps: the ticket's fields first, then the others in order,
    MAX_DETAILS in all with the tiny id; when some are left out (too many, or a name over
    200 characters), a detail of its own counts them."""
    ticket = (mapping.requester_detail, mapping.category_detail, mapping.application_detail,
              mapping.service_level_detail)  # fmt: skip
    given = {k: v for k, v in alert.details.items() if k != LEFT_OUT_DETAIL}
    usable = {k: v for k, v in given.items() if len(k) <= 200}
    ordered = {k: usable[k] for k in ticket if k in usable} | usable
    room = MAX_DETAILS - (1 if alert.tinyId is not None else 0)
    if len(ordered) <= room and len(usable) == len(given):
        return ordered
    kept = dict(list(ordered.items())[: room - 1])
    kept[LEFT_OUT_DETAIL] = str(len(given) - len(kept))
    return kept


def start_input(
    alert: WebhookAlert, mapping: OpsgenieMapping, created: bool = True
) -> IncidentInput | None:
    """The incident an alert opens, or None when it lacks even a title. ``created``: the
    event is the alert's Create (any other event opens it only when it came first)."""
    if not alert.message or not shows_something(alert.message):
        return None  # nothing a person could read (zero-width characters are no title)
    t0 = (
        datetime.fromtimestamp(alert.createdAt / 1000, tz=UTC)
        if alert.createdAt and alert.createdAt > 0
        else None
    )
    details = _kept_details(alert, mapping)
    if alert.tinyId is not None:
        details.setdefault("opsgenie_tiny_id", str(alert.tinyId))
    named = _named_service_level(alert, mapping)
    return IncidentInput(
        title=alert.message.strip()[:500],
        service_level=named or mapping.default_service_level,
        service_level_defaulted=named is None,
        opsgenie_priority=alert.priority,
        category=_name(alert.details.get(mapping.category_detail)),
        description=alert.description or None,
        application=_name(alert.details.get(mapping.application_detail)) or alert.entity or None,
        requesters=_requesters(alert, mapping, created),
        unusable_requesters=_unusable_requesters(alert, mapping),
        details=details,
        t0=t0,
        source="opsgenie",
        opened_by=alert.username or "opsgenie",
        customer=customer_from_tags(alert.tags),
        alert=None
        if _incident_alias(alert)
        else AlertRef(identifier=alert.alertId, identifier_type="id"),
    )


def _record(event: WebhookEvent, language: str) -> RecordEventInput:
    """A timeline entry for what happened in Opsgenie: a sentence and its fields (the text is
    the same told in ``language``, for readers of older versions)."""
    by = event.alert.username or event.alert.owner or "opsgenie"
    sentence, fields = _record_sentence(event)
    text = render(sentence, fields, language, "UTC")
    return RecordEventInput(
        by=by, via="opsgenie", kind="opsgenie", text=text, sentence=sentence, fields=fields,
        delivery=delivery_key(event),
    )  # fmt: skip


def delivery_key(event: WebhookEvent) -> str | None:
    """The event's own key: its action, its ``updatedAt`` and a digest of what it says. A
    delivery of the same event again carries the same, and is applied once; two events that
    share an ``updatedAt`` but say different things (two notes) are both applied."""
    alert = event.alert
    if not alert.updatedAt and alert._sent_update is None:
        return None
    said = [alert.note, alert.priority, alert.owner, alert.recipient, alert.team,
            alert.username, event.escalationName, alert.addedTags, alert.removedTags]  # fmt: skip
    digest = hashlib.sha256(json.dumps(said, ensure_ascii=False).encode()).hexdigest()[:16]
    if not alert.updatedAt:
        # A time far ahead, not taken, still keys the event, but not as a time: the key
        # holds no number that could order it against other changes. (Never rebuild an
        # event from its model_dump(): the time as sent is not in it.)
        return f"opsgenie:{event.action}:unordered-{alert._sent_update}:{digest}"
    return opsgenie_delivery(event.action, alert.updatedAt, digest)


def _record_sentence(event: WebhookEvent) -> tuple[str, dict[str, str]]:
    alert, action = event.alert, event.action
    who = {"who": alert.username or "?"}
    if action == "Escalate" or event.escalationName:
        if not event.escalationName:
            return "opsgenie.escalated.unnamed", {}
        return "opsgenie.escalated", {"escalation": event.escalationName}
    if action == "AddTags":
        return "opsgenie.tags_added", {**who, "tags": ", ".join(alert.addedTags)}
    if action == "RemoveTags":
        return "opsgenie.tags_removed", {**who, "tags": ", ".join(alert.removedTags)}
    if action == "AddRecipient":
        return "opsgenie.recipient_added", {**who, "recipient": alert.recipient or ""}
    if action == "AddTeam":
        return "opsgenie.team_added", {**who, "team": alert.team or ""}
    if action == "UnAcknowledge":
        return "opsgenie.unacknowledged", who
    if action == "Delete":
        return "opsgenie.deleted", who
    return "opsgenie.action", {**who, "action": action}


def _say(language: str, sentence: str, **fields: str) -> str:
    return render(sentence, fields, language, "UTC")


def plan(event: WebhookEvent, mapping: OpsgenieMapping) -> Plan:
    alert, action = event.alert, event.action
    incident = incident_id_for(alert)
    by = alert.owner if action == "AssignOwnership" and alert.owner else alert.username
    base: dict[str, Any] = {"by": by or "opsgenie", "via": "opsgenie"}
    if (delivery := delivery_key(event)) is not None:
        base["delivery"] = delivery

    if event.source and event.source.name == mapping.own_source:
        return Plan(kind="ignore", incident_id=incident, reason="made by Vigie itself")
    if is_crisis_notice(alert):
        # Acknowledged or closed by the person it paged: it opens no incident of its own.
        reason = "a crisis notification Vigie sent (the crisis is followed in Vigie)"
        return Plan(kind="ignore", incident_id=incident, reason=reason)
    if action == "AddNote" and is_own_note(alert.note):
        return Plan(kind="ignore", incident_id=incident, reason="note written by Vigie")
    added = alert.addedTags if action == "AddTags" else []
    level = _tagged_level(added, mapping) if all(_levels([t], mapping) for t in added) else None
    if level:
        # Someone named the service level in Opsgenie (a level tag alone): the incident takes
        # it while its own is the default, asked for. (Vigie's own tags come back with its
        # source, left out above; a batch with other tags, or with two levels, which says
        # none, is recorded below.)
        said = Said(field="reason", sentence="opsgenie.level", fields={"service_level": level})
        return Plan(
            kind="signal", incident_id=incident, operation="recategorize",
            input=RecategorizeInput(
                **base, service_level=level, said=said,
                reason=_say(mapping.language, "opsgenie.level", service_level=level),
            ),
            start=None,
        )  # fmt: skip
    if action in ("AddTags", "RemoveTags"):
        changed = alert.addedTags if action == "AddTags" else alert.removedTags
        # Two levels at once are no tags of Vigie's (it keeps one): a person's, recorded.
        levels = _levels(changed, mapping)
        if changed and all(is_own_tag(t) for t in changed) and len(levels) < 2:
            return Plan(kind="ignore", incident_id=incident, reason="tags kept by Vigie")

    opening = start_input(alert, mapping, created=action == "Create")
    if action == "Create":
        if opening is None:
            # Nothing to name the incident by: refused, so that the sender's log shows it.
            return Plan(kind="refuse", incident_id=incident,
                        reason="alert.message: empty; an incident needs a title")  # fmt: skip
        # If another event of the alert came first and opened the incident, the Create
        # fills in what it was opened without.
        created = AlertCreatedInput(
            by=opening.opened_by, via="opsgenie", opsgenie_priority=opening.opsgenie_priority,
            service_level=None if opening.service_level_defaulted else opening.service_level,
            category=opening.category, description=opening.description,
            application=opening.application, requesters=opening.requesters,
            details=opening.details,
        )  # fmt: skip
        return Plan(
            kind="start", incident_id=incident, start=opening, operation="alert_created",
            input=created,
        )  # fmt: skip
    say = partial(_say, mapping.language)
    if action in ACK_ACTIONS:
        owner = {"owner": alert.owner} if alert.owner else {}
        done = "opsgenie.owner" if alert.owner else "opsgenie.done"
        note = say(done, opsgenie_ack=action, **owner)
        ack_note = (alert.note or "").strip() or None  # what the engineer wrote with it
        if ack_note:
            note = clip(f"{note} — {ack_note}", MAX_TEXT)
        # The incident words it in its own language (the mapping's may not be its).
        said = Said(field="note", sentence=done, fields={"opsgenie_ack": action, **owner},
                    typed=ack_note)  # fmt: skip
        return Plan(
            kind="signal", incident_id=incident, operation="acknowledge",
            input=AcknowledgeInput(**base, note=note, said=said), start=opening,
        )  # fmt: skip
    if action == "AddNote":
        if not (alert.note or "").strip():
            return Plan(kind="ignore", incident_id=incident, reason="empty note")
        return Plan(
            kind="signal", incident_id=incident, operation="add_worklog",
            input=WorklogInput(**base, text=alert.note), start=opening,
        )  # fmt: skip
    if action == "Close":
        closing = (alert.note or "").strip()
        closed = None if closing else Said(field="resolution", sentence="opsgenie.closed")
        return Plan(
            kind="signal", incident_id=incident, operation="resolve",
            input=ResolveInput(**base, resolution=closing or say("opsgenie.closed"), said=closed),
            start=opening,
        )  # fmt: skip
    if action == "UpdatePriority" and alert.priority:
        return Plan(
            kind="signal", incident_id=incident, operation="recategorize",
            input=RecategorizeInput(**base, opsgenie_priority=alert.priority,
                                    reason=say("opsgenie.priority", priority=alert.priority),
                                    said=Said(field="reason", sentence="opsgenie.priority",
                                              fields={"priority": alert.priority})),
            start=opening,
        )  # fmt: skip
    custom = mapping.custom_actions.get(action)
    if custom is not None:
        written = (alert.note or "").strip()
        note = written or say("opsgenie.done", opsgenie_ack=action)
        field = {"set_pending": "reason", "add_worklog": "text", "resolve": "resolution"}.get(
            custom.operation, "note"
        )
        if not written:  # Vigie's words: the incident tells them in its language
            base["said"] = Said(field=field, sentence="opsgenie.done",
                                fields={"opsgenie_ack": action})  # fmt: skip
        typed: SignalInput
        if custom.operation == "set_pending":
            typed = SetPendingInput(**base, waiting_on=custom.waiting_on, reason=note)
        elif custom.operation == "add_worklog":
            typed = WorklogInput(**base, text=note)
        elif custom.operation == "resolve":
            typed = ResolveInput(**base, resolution=note)
        elif custom.operation == "acknowledge":
            typed = AcknowledgeInput(**base, note=note)
        else:
            typed = ResumeInput(**base, note=note)
        return Plan(
            kind="signal", incident_id=incident, operation=custom.operation,
            input=typed, start=opening,
        )  # fmt: skip
    # Everything else is only recorded, and never opens an incident.
    return Plan(
        kind="signal", incident_id=incident, operation="record_event",
        input=_record(event, mapping.language), start=None,
    )  # fmt: skip
