"""Inputs, state and views of the incident workflow.

One pydantic model per handler. Fields may be added later; none may be
removed or renamed while incidents are running. Input fields are bounded by
the types below (limits in ``workflows.limits``); models that hold stored
state are not, so that old histories keep decoding.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    PlainSerializer,
    StringConstraints,
    ValidationInfo,
    model_validator,
)

from workflows.delivery import DeliveryTrouble
from workflows.limits import (
    CUSTOMER_PATTERN,
    DIRECTION_CONTROLS,
    MAX_DETAILS,
    MAX_EVENT_TEXT,
    MAX_NAME,
    MAX_REQUESTERS,
    MAX_TEXT,
    MAX_TITLE,
    MAX_UNUSABLE,
    SAFE_ID,
    Email,
    at_most,
    check_t0,
    free_text,
    is_clean_line,
    single_line,
    visible,
)
from workflows.policy import Grade, Language, Priority, ServiceLevel, SharedPolicy
from workflows.sla import Stop
from workflows.texts import SENTENCES

Via = Literal["vigie", "opsgenie"]
OpsgeniePriority = Literal["P1", "P2", "P3", "P4", "P5"]
IncidentStatusName = Literal["open", "in_progress", "pending", "resolved", "closed", "cancelled"]
WaitingOn = Literal["customer", "third_party"]
P1Verdict = Literal["unconfirmed", "confirmed", "major"]
ProblemReason = Literal["unknown_cause", "recurring"]


def in_utc(d: datetime) -> datetime:
    """The same instant in UTC (a naive time, which validation never lets in, as it is)."""
    return d.astimezone(UTC) if d.tzinfo is not None else d


# Times leave Vigie as ISO 8601 in UTC ("+00:00"), whatever offset they were given with.
Instant = Annotated[datetime, PlainSerializer(lambda d: in_utc(d).isoformat(), return_type=str)]

# What people and senders type. Single-line fields end up in mail headers.
Title = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1),
    AfterValidator(single_line(MAX_TITLE)),
    AfterValidator(visible),
]
"""A title: one line, 1 to MAX_TITLE (500) characters."""
Who = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=MAX_NAME),
    AfterValidator(single_line(MAX_NAME)),
]
"""Who acts (a name or an address): one line, 1 to MAX_NAME (200) characters."""
Name = Annotated[str, AfterValidator(single_line(MAX_NAME))]
"""A category, an application, a source, a detail's key: one line, at most MAX_NAME (200)."""
Text = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1),
    AfterValidator(free_text(MAX_TEXT)),
]
"""A required free text (worklog, reason, resolution): 1 to MAX_TEXT (10,000) characters."""
Note = Annotated[str, AfterValidator(free_text(MAX_TEXT))]
"""An optional free text (note, description, detail value): at most MAX_TEXT (10,000)."""
EventText = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1),
    AfterValidator(free_text(MAX_EVENT_TEXT)),
]
"""What a recorded event says: 1 to MAX_EVENT_TEXT (12,000) characters."""
Kind = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{0,40}$")]
"""A timeline entry kind: lower-case letters, digits and _, at most 41 characters."""


Requesters = Annotated[list[Email], AfterValidator(at_most(MAX_REQUESTERS, "requesters"))]
Details = Annotated[dict[Name, Note], AfterValidator(at_most(MAX_DETAILS, "details"))]
INCIDENT_ID_PATTERN = rf"^incident-{SAFE_ID}$"
"""An incident (workflow) id chosen by a person: incident- and a key of letters, digits,
'.', '_', ':' or '-' (at most MAX_ID characters in all)."""


def opsgenie_delivery(action: str, updated: int, content: str = "") -> str:
    """The key of an Opsgenie event (``delivery``): its action, its ``updatedAt`` and a
    digest of what it says (``content``), which a delivery of the same event again carries
    too. The digest tells apart two events of one action that share an ``updatedAt`` (two
    notes: Opsgenie does not always move it)."""
    key = f"opsgenie:{action}:{updated}"
    return f"{key}:{content}" if content else key


def opsgenie_updated_at(key: str | None, action: str) -> int | None:
    """The ``updatedAt`` an Opsgenie event's key (opsgenie_delivery) holds, when the event
    is an ``action``; None otherwise."""
    prefix = f"opsgenie:{action}:"
    if key is None or not key.startswith(prefix):
        return None
    number = key[len(prefix) :].partition(":")[0]
    return int(number) if number.lstrip("-").isdigit() and len(number) < 30 else None


def sentence_fields(
    sentence: str | None, fields: dict[str, str], *, most: int, longest: int
) -> None:
    """Raises unless ``sentence`` (when given) is a known wording and ``fields`` are at most
    ``most``, of at most ``longest`` characters, named as a sentence can use them."""
    if sentence is not None and sentence not in SENTENCES:
        raise ValueError(f"sentence: unknown wording {sentence[:80]!r}")
    if len(fields) > most or any(len(v) > longest for v in fields.values()):
        raise ValueError(f"fields: at most {most} fields of at most {longest} characters")
    for name in fields:
        if not re.fullmatch(r"[a-z][a-z0-9_]{0,40}", name) or name in RESERVED_FIELDS:
            raise ValueError(f"fields: {name[:50]!r} is not a field name a sentence can use")


class Said(BaseModel):
    """Vigie's own wording of a text a sender's event carries (what happened in Opsgenie),
    told by the workflow in its own language: the receiver's mapping language may not be
    the incident's. ``typed`` is what the person wrote with it, kept as written."""

    model_config = ConfigDict(extra="forbid")

    field: Literal["note", "resolution", "reason", "text"]
    sentence: str = Field(max_length=80)
    fields: dict[str, str] = {}
    typed: Note | None = None

    @model_validator(mode="after")
    def _known(self) -> Said:
        sentence_fields(self.sentence, self.fields, most=10, longest=500)
        for name, value in self.fields.items():
            if not is_clean_line(value) or DIRECTION_CONTROLS.search(value):
                raise ValueError(f"fields.{name}: one line without control characters")
            if name.endswith("_at"):
                raise ValueError(f"fields.{name}: no time is said this way")
        return self


class OperatorInput(BaseModel):
    """Every operator operation says who does it."""

    model_config = ConfigDict(extra="forbid")

    by: Who = Field(description="Who performs the operation (name or e-mail)")
    via: Via = Field(
        default="vigie",
        description="Where the change was made; changes made in Opsgenie are not sent back to it",
    )
    delivery: Name | None = Field(
        default=None,
        description="The sender's key for this event (a webhook's): delivered again, it is "
        "applied once",
    )
    said: Said | None = Field(
        default=None,
        description="Set by the webhook receiver: its own text of the event, which the "
        "incident words in its language",
    )


class AcknowledgeInput(OperatorInput):
    note: Note | None = None


class WorklogInput(OperatorInput):
    text: Text


class SetPendingInput(OperatorInput):
    waiting_on: WaitingOn
    reason: Text


class ResumeInput(OperatorInput):
    note: Note | None = None


class RecategorizeInput(OperatorInput):
    priority: Priority | None = None
    opsgenie_priority: OpsgeniePriority | None = Field(
        default=None, description="An Opsgenie priority, mapped through the policy"
    )
    service_level: ServiceLevel | None = None
    impact: Grade | None = None
    urgency: Grade | None = None
    reason: Text

    @model_validator(mode="after")
    def _something_changes(self) -> RecategorizeInput:
        if (self.impact is None) != (self.urgency is None):
            raise ValueError("impact and urgency go together: give both or neither")
        if sum(x is not None for x in (self.priority, self.opsgenie_priority, self.impact)) > 1:
            raise ValueError("give either priority or impact and urgency, not both")
        if not (self.priority or self.opsgenie_priority or self.impact or self.service_level):
            raise ValueError("give a new priority, impact and urgency, or service_level")
        return self


class AlertCreatedInput(OperatorInput):
    """An alert's Create that came after another event of the same alert had opened its
    incident (webhooks may arrive out of order): what the incident was opened without."""

    opsgenie_priority: OpsgeniePriority | None = None
    service_level: ServiceLevel | None = Field(
        default=None, description="The level the alert names (tag, detail, team); None: none"
    )
    category: Name | None = None
    description: Note | None = None
    application: Name | None = None
    requesters: Requesters = []
    details: Details = {}


class QualifyP1Input(OperatorInput):
    verdict: P1Verdict
    new_priority: Literal["P2", "P3"] | None = Field(
        default=None, description="Required when the verdict is 'unconfirmed'"
    )
    note: Note | None = None
    mail_system_affected: bool | None = Field(
        default=None,
        description="Major only: the mail system itself is affected (None: guessed from keywords)",
    )
    security_involved: bool | None = Field(
        default=None, description="Major only: security may be involved (None: guessed)"
    )

    @model_validator(mode="after")
    def _priority_when_unconfirmed(self) -> QualifyP1Input:
        if self.verdict == "unconfirmed" and self.new_priority is None:
            raise ValueError("verdict 'unconfirmed' needs new_priority (P2 or P3)")
        if self.verdict != "unconfirmed" and self.new_priority is not None:
            raise ValueError(
                f"new_priority only goes with verdict 'unconfirmed', not {self.verdict!r}"
            )
        return self


class ProblemProposal(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: ProblemReason
    text: Text


class ResolveInput(OperatorInput):
    resolution: Text
    runbook_change: Note | None = Field(
        default=None, description="Change to the team's instructions, if any"
    )
    problem: ProblemProposal | None = Field(
        default=None, description="Proposal to open a problem (unknown cause or recurring)"
    )


class CloseInput(OperatorInput):
    note: Note | None = None


class ReopenInput(OperatorInput):
    reason: Text


# Names the recording code takes for itself: a sentence field may not use them.
RESERVED_FIELDS = frozenset({"kind", "by", "sentence", "self", "fields"})


class RecordEventInput(OperatorInput):
    """Something that happened elsewhere (an Opsgenie escalation, tags...), for the timeline."""

    kind: Kind = "event"
    text: EventText
    sentence: str | None = Field(
        default=None,
        description="A known wording (workflows.texts) that tells the event in each reader's "
        "language; ``text`` is then the same in one language",
    )
    fields: dict[str, str] = Field(default={}, description="The event's fields, for ``sentence``")

    @model_validator(mode="after")
    def _known_sentence(self) -> RecordEventInput:
        sentence_fields(self.sentence, self.fields, most=20, longest=2000)
        for name, value in self.fields.items():
            if name.endswith("_at") and value:
                try:
                    at = datetime.fromisoformat(value)
                except ValueError:
                    raise ValueError(f"fields.{name}: not an ISO 8601 date-time") from None
                if at.tzinfo is None:
                    raise ValueError(f"fields.{name}: needs a time zone offset")
        return self


class AlertRef(BaseModel):
    """The Opsgenie (or JSM) alert that mirrors the incident."""

    identifier: str
    identifier_type: Literal["id", "alias"]


class AlertCommand(BaseModel):
    """A change to push to the incident's alert, waiting in the alert outbox."""

    action: Literal[
        "create",
        "note",
        "acknowledge",
        "close",
        "priority",
        "add_tags",
        "remove_tags",
        "add_responder",
        "escalate",
    ]
    user: str
    note: str | None = None
    priority: str | None = None
    tags: list[str] = []
    alert: dict[str, Any] = {}
    responder: dict[str, str] = Field(
        default={}, description='For add_responder, e.g. {"type": "team", "name": "ops"}'
    )
    escalation: str | None = Field(default=None, description="For escalate: escalation name")


class TimelineEntry(BaseModel):
    """One event. ``kind`` and ``fields`` are the data; ``text`` tells it in the workflow's
    language, and ``sentence`` names the wording so that a reader can have it in theirs."""

    at: Instant
    kind: str
    by: str
    text: str
    fields: dict[str, str] = {}
    sentence: str = ""


class UrgentChange(BaseModel):
    """An urgent change requested during an incident or a crisis, tracked until done."""

    id: str
    what: str
    why: str
    by: str
    at: Instant
    done_at: Instant | None = None
    done_by: str | None = None
    outcome: str | None = None


IncidentEvent = Literal[
    "resolved",
    "reopened",
    "recategorized",
    "pending",
    "resumed",
    "breached",
    "closed",
    "acknowledged",
    "urgent_change",
]


class IncidentNews(BaseModel):
    """What an incident tells its crisis as it happens (signal ``incident_changed``)."""

    model_config = ConfigDict(extra="forbid")

    by: Who
    event: IncidentEvent
    at: Instant
    resolution_warning_at: Instant | None = Field(
        default=None, description="The incident's resolution warning now (None while paused)"
    )
    resolution_due_at: Instant | None = Field(
        default=None, description="The incident's resolution deadline now (None while paused)"
    )
    text: str = Field(default="", max_length=2000)
    change: UrgentChange | None = Field(
        default=None, description="For urgent_change: the change as the incident tracks it"
    )


class IncidentMoment(BaseModel):
    """What an incident mail shows of the incident's state, as it was at the mail's event.
    Small and bounded: it travels with every mail still to send, across continue-as-new."""

    status: IncidentStatusName
    priority: Priority
    service_level: ServiceLevel
    category: str | None
    application: str | None
    ack_due_at: Instant
    resolution_due_at: Instant | None
    sla_paused: bool
    missing_fields: list[str]
    acknowledged_at: Instant | None = None  # None in a moment queued by older code


class OutgoingMail(BaseModel):
    """A mail waiting in the incident's outbox until the mail server takes it."""

    key: str
    thread_key: str | None
    kind: str
    to: list[str]
    language: Language
    event: TimelineEntry
    extra: dict[str, str] = {}
    # The incident when the mail was queued: what the mail shows of its state, whenever the
    # mail server takes it. None: queued by older code, shown as it is now.
    moment: IncidentMoment | None = None


class IncidentView(BaseModel):
    """What the ``status`` query returns."""

    incident_id: str
    status: IncidentStatusName
    priority: Priority
    service_level: ServiceLevel
    title: str
    category: str | None
    description: str | None
    application: str | None
    requesters: list[str]
    source: str
    opened_at: Instant
    ack_due_at: Instant
    acknowledged_at: Instant | None
    resolution_due_at: Instant | None
    resolved_at: Instant | None
    closed_at: Instant | None
    sla_paused: bool
    waiting_on: WaitingOn | None
    ack_breached: bool
    resolution_breached: bool
    major: bool
    p1_verdict: P1Verdict | None
    missing_fields: list[str]
    policy_version: int
    mails_pending: int
    alert: AlertRef | None = None
    alert_changes_pending: int = 0
    crisis_id: str | None = None
    timeline: list[TimelineEntry]
    ticket_opened_at: Instant | None = None
    urgent_changes: list[UrgentChange] = []
    timeline_trimmed: int = Field(
        default=0, description="Older entries left out (in earlier runs' histories)"
    )
    retrying: list[DeliveryTrouble] = Field(
        default=[], description="Sends that keep failing and are being retried, with the last error"
    )
    timeline_omitted: int = Field(
        default=0,
        description="Entries of this run left out of this answer to keep it small (the opening "
        "and the latest are shown; all are in the history)",
    )


class UrgentChangeInput(OperatorInput):
    """§3.1: request an urgent change (mailed to the change manager, tracked until done)."""

    what: Text
    why: Text


class CompleteUrgentChangeInput(OperatorInput):
    change_id: str = Field(pattern=r"^[A-Za-z0-9._:-]{1,80}$")
    outcome: Text


class PriorityEcho(BaseModel):
    """A priority Vigie sets on the alert: when it was asked, and when Opsgenie took it
    (None: not yet)."""

    priority: str
    queued_at: Instant | None = None
    at: Instant | None = None


class IncidentState(BaseModel):
    """Everything the workflow knows; carried whole across continue-as-new."""

    incident_id: str
    policy: SharedPolicy
    title: str
    priority: Priority
    service_level: ServiceLevel
    category: str | None
    description: str | None
    application: str | None
    requesters: list[str]
    details: dict[str, str]
    source: str
    language: Language
    missing_fields: list[str]
    status: IncidentStatusName = "open"
    opened_at: datetime
    acknowledged_at: datetime | None = None
    resolved_at: datetime | None = None
    closed_at: datetime | None = None
    stops: list[Stop] = []
    waiting_on: WaitingOn | None = None
    ack_warned: bool = False
    ack_breached: bool = False
    resolution_warned: bool = False
    resolution_breached: bool = False
    major: bool = False
    p1_verdict: P1Verdict | None = None
    timeline: list[TimelineEntry] = []
    outbox: list[OutgoingMail] = []
    mail_seq: int = 0
    thread_key: str | None = None
    alert: AlertRef | None = None
    alert_outbox: list[AlertCommand] = []
    alert_mirror_off: str | None = None
    # Sends failing for good that the incident manager was told of ("mail:<recipients>",
    # "alert"), until one of them goes through.
    failures_told: list[str] = []
    crisis_id: str | None = None
    crisis_started: bool = False
    crisis_outbox: list[IncidentNews] = []
    # Confirmed P1: when the last status went to the client (None: none due).
    p1_status_at: datetime | None = None
    on_call_paged: bool = False
    ticket_opened_at: datetime | None = None
    # Opened with the default service level, none named since (the alert's Create may).
    service_level_defaulted: bool = False
    urgent_changes: list[UrgentChange] = []
    # Entries left out of the timeline at continue-as-new (they stay in earlier runs' histories).
    timeline_trimmed: int = 0
    applied_updates: list[str] = Field(
        default=[], description="Ids of the latest Updates applied: each is applied once"
    )
    deliveries: list[str] = Field(
        default=[], description="Keys of the latest webhook events applied: each applied once"
    )
    opsgenie_priority_seen: int | None = Field(
        default=None,
        description="updatedAt of the latest priority change from Opsgenie applied: an "
        "older one delivered after it is stale",
    )
    priority_echoes: list[PriorityEcho] = Field(
        default=[],
        description="Priorities Vigie set on the alert, whose UpdatePriority webhooks are its "
        "own echo (the API takes no source for this change)",
    )
    # Sends being retried, by outbox ("mail", "alert"): see workflows.delivery.
    retrying: dict[str, DeliveryTrouble] = {}


class IncidentInput(BaseModel):
    """Starts an incident. ``state`` is set only when an incident continues as new."""

    title: Title
    service_level: ServiceLevel
    priority: Priority | None = None
    impact: Grade | None = None
    urgency: Grade | None = None
    category: Name | None = None
    description: Note | None = None
    application: Name | None = None
    requesters: Requesters = []
    details: Details = {}
    t0: datetime | None = Field(default=None, description="When the fault began, if known")
    language: Language | None = None
    opsgenie_priority: OpsgeniePriority | None = Field(
        default=None, description="Priority as Opsgenie gave it, mapped through the policy"
    )
    alert: AlertRef | None = Field(
        default=None, description="The existing alert this incident came from, if any"
    )
    source: Name = "api"
    opened_by: Who = "vigie"
    service_level_defaulted: bool = Field(
        default=False,
        description="The sender named no service level: the default was taken, and the "
        "alert's Create, if it comes later, may name it",
    )
    unusable_requesters: Annotated[
        list[Name], AfterValidator(at_most(MAX_UNUSABLE, "unusable"))
    ] = Field(
        default=[],
        description="What the sender gave as requesters that is no address (told at opening)",
    )
    state: IncidentState | None = None
    customer: Annotated[str, StringConstraints(pattern=CUSTOMER_PATTERN)] | None = Field(
        default=None,
        description="Whose incident it is, for service reviews; None: the policy's "
        "default_customer",
    )

    def arrives_as_p1(self) -> bool:
        """Whether the sender said it is of the most urgent kind: priority P1, else an
        Opsgenie P1 alert, else impact and urgency both high (the workflow's own order:
        workflows.incident ``_open``), as sent: the policy's mappings, which the shipped
        policy makes agree with this, are not read here."""
        if self.priority is not None:
            return self.priority == "P1"
        if self.opsgenie_priority is not None:
            return self.opsgenie_priority == "P1"
        return self.impact == "high" and self.urgency == "high"

    @model_validator(mode="after")
    def _grades_together(self, info: ValidationInfo) -> IncidentInput:
        if (self.impact is None) != (self.urgency is None):
            raise ValueError("impact and urgency go together: give both or neither")
        if self.t0 is not None and self.t0.tzinfo is None:
            raise ValueError("t0 needs a time zone offset, e.g. 2026-03-02T09:30:00+01:00")
        check_t0(self.t0, info)
        return self
