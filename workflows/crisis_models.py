"""Inputs, state and view of the crisis workflow."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, Field, StringConstraints, ValidationInfo, model_validator

from workflows.delivery import DeliveryTrouble
from workflows.limits import CUSTOMER_PATTERN, Email, check_t0
from workflows.matrix import EscalationMatrix
from workflows.models import (
    Instant,
    Name,
    Note,
    OperatorInput,
    Text,
    TimelineEntry,
    Title,
    UrgentChange,
    Who,
)
from workflows.policy import CrisisStepName, Language, SharedPolicy

Criterion = Literal[
    "major_incident",
    "critical_application_blocked",
    "virus_attack",
    "destruction",
    "infrastructure_unavailable",
    "natural_disaster",
    "social_movement",
    "aggression",
    "other",
]
MilestoneStatus = Literal["pending", "met", "late", "missed", "not_applicable"]
# Milestones before the crisis exists, reported from its incident (§4.6 T0+5, T0+15).
IncidentStep = Literal["ticket_opened", "acknowledgement"]
Party = Literal["provider_manager", "provider_admin", "client"]
Channel = Literal["smtp", "relay", "opsgenie", "auto"]
CrisisStatusName = Literal["active", "closed", "rex_submitted", "cancelled"]


class CrisisInput(BaseModel):
    title: Title
    criterion: Criterion = "major_incident"
    t0: datetime | None = Field(default=None, description="Start of the outage or event")
    incident_id: Name | None = Field(default=None, description="The incident that triggered it")
    context: Note = Field(default="", description="Text searched for mail-system/security hints")
    description: Note | None = Field(
        default=None,
        description="What is known of the outage or event, told when the cell opens and in "
        "escalations (the context when not given)",
    )
    mail_system_affected: bool | None = Field(
        default=None, description="None: guessed from the context and the policy's keywords"
    )
    security_involved: bool | None = None
    resolution_warning_at: datetime | None = Field(
        default=None, description="The incident's resolution warning: next level when reached"
    )
    resolution_due_at: datetime | None = Field(
        default=None, description="The incident's resolution deadline: next level when breached"
    )
    ticket_opened_at: datetime | None = Field(
        default=None, description="When the incident's ticket was opened (T0+5 target)"
    )
    acknowledged_at: datetime | None = Field(
        default=None, description="When the incident was acknowledged (T0+15 target)"
    )
    triggered_by: Literal["provider", "client"] = "provider"
    opened_by: Who = "vigie"
    language: Language | None = None
    time_scale: float = Field(
        default=1.0, ge=1.0, le=3600.0, description="Drills only: how many times faster"
    )
    application: Name | None = Field(
        default=None, description="The incident's application: routes chat messages"
    )
    customer: Annotated[str, StringConstraints(pattern=CUSTOMER_PATTERN)] | None = Field(
        default=None,
        description="Whose crisis it is, for service reviews (a crisis of an incident the "
        "ledger holds takes the incident's); None: the policy's default_customer",
    )
    state: CrisisState | None = Field(
        default=None, description="Carried over by continue-as-new; never set by a starter"
    )

    @model_validator(mode="after")
    def _t0_in_range(self, info: ValidationInfo) -> CrisisInput:
        if self.t0 is not None and self.t0.tzinfo is None:
            raise ValueError("t0 needs a time zone offset, e.g. 2026-03-02T09:30:00+01:00")
        check_t0(self.t0, info)
        return self


class PostUpdateInput(OperatorInput):
    progress: Text
    done: Note = ""
    remaining: Note = ""
    forecast: Note = Field(default="", description="When the service is expected back")


class DecideDrpInput(OperatorInput):
    activate: bool
    reason: Text


class EscalateInput(OperatorInput):
    reason: Text


class AddMemberInput(OperatorInput):
    name: Who
    email: Email
    kind: Literal["expert", "security", "partner", "other"] = "expert"


class ServiceRestoredInput(OperatorInput):
    note: Note | None = None


class CloseCrisisInput(OperatorInput):
    summary: Text
    without_client_confirmation: Note | None = Field(
        default=None,
        description="Why the crisis closes without the client's confirmation of return to "
        "nominal (confirm_nominal); required when there is none",
    )


class ValidateCrisisInput(OperatorInput):
    """§4.7: the accountable parties validate (or decline) the crisis situation."""

    party: Party = Field(description="provider_manager, provider_admin or client")
    decision: Literal["validated", "declined"]
    note: Note | None = None


class ConfirmNominalInput(OperatorInput):
    """§4.7: the client confirms the acceptable solution or the return to nominal."""

    note: Note | None = None


class SubmitRexInput(OperatorInput):
    link: Title | None = None
    text: Note | None = None

    @model_validator(mode="after")
    def _something(self) -> SubmitRexInput:
        if not (self.link or (self.text and self.text.strip())):
            raise ValueError("give the report as link or text")
        return self


class Milestone(BaseModel):
    step: CrisisStepName | IncidentStep
    action: str
    due_at: Instant
    done_at: Instant | None = None
    by: str | None = None
    status: MilestoneStatus = "pending"
    # When the crisis acts on the step, if later than its target: a crisis opened after its
    # cell's target runs the steps after the cell's from the moment its cell opened (the
    # target, counted from T0, stays what the step is measured against).
    acts_at: Instant | None = None


class Member(BaseModel):
    name: str
    email: str
    role: str
    permanent: bool
    participating: bool


class DrpDecision(BaseModel):
    activate: bool
    reason: str
    by: str
    at: Instant


class StatusUpdate(BaseModel):
    at: Instant
    by: str
    progress: str
    done: str
    remaining: str
    forecast: str = ""


class Conference(BaseModel):
    provider: str
    url: str
    meeting_id: str | None = None
    passcode: str | None = None


class CrisisMail(BaseModel):
    key: str
    thread_key: str | None
    kind: str
    to: list[str]
    channel: Channel
    language: Language
    subject: str
    lines: list[str]
    markdown: str | None = None
    at: Instant | None = Field(
        default=None, description="When it was queued: its Date (none in mails queued before)"
    )
    drill: bool = Field(default=False, description="Part of an exercise: its subject says so first")


class Notification(BaseModel):
    """One crisis notification as it went out, or failed to."""

    key: str
    kind: str
    to: list[str]
    at: Instant
    status: Literal["sent", "failed"]
    channel: str | None = Field(default=None, description="What carried it: smtp, relay, opsgenie")
    detail: str | None = Field(default=None, description="Why a fallback or a failure")
    alert_closed: bool | None = Field(
        default=None,
        description="Carried by an Opsgenie alert: true once Vigie closed it, false when it "
        "could not (the timeline says why), null before it tried",
    )


class Validation(BaseModel):
    party: Party
    decision: Literal["validated", "declined"]
    by: str
    role: str | None = None
    at: Instant
    note: str | None = None


class Acted(BaseModel):
    """Who did a §4.7 activity, with the role the escalation matrix gives them."""

    by: str
    role: str | None = None
    at: Instant
    note: str | None = None


class CrisisState(BaseModel):
    crisis_id: str
    policy: SharedPolicy
    matrix: EscalationMatrix
    title: str
    criterion: Criterion
    incident_id: str | None
    t0: datetime
    triggered_by: Literal["provider", "client"]
    mail_system_affected: bool
    security_involved: bool
    business_hours_at_start: bool
    language: Language
    time_scale: float
    status: CrisisStatusName = "active"
    # Automatic escalations still to come: (when, why), from the incident's deadlines.
    auto_escalations: list[tuple[datetime, str]] = []
    # The reasons already escalated for (each once, until the incident is reopened).
    auto_escalated: list[str] = []
    level: int = 0
    level_kind: Literal["business_hours", "outside_business_hours"] | None = None
    milestones: list[Milestone] = []
    members: list[Member] = []
    conference: Conference | None = None
    drp: DrpDecision | None = None
    updates: list[StatusUpdate] = []
    last_status_at: datetime | None = None
    last_status_fresh: bool = Field(
        default=True, description="The last status mail had news posted since the one before"
    )
    restored_at: datetime | None = None
    restored_by: str | None = None
    restored: Acted | None = None
    nominal_confirmed: Acted | None = None
    closed: Acted | None = None
    validations: list[Validation] = []
    urgent_changes: list[UrgentChange] = []
    closed_at: datetime | None = None
    summary: str | None = None
    rex_due_at: datetime | None = None
    rex_reminded_at: datetime | None = None
    rex: str | None = None
    timeline: list[TimelineEntry] = []
    outbox: list[CrisisMail] = []
    notifications: list[Notification] = []
    mail_seq: int = 0
    alerts_to_close: list[str] = Field(
        default=[], description="Aliases of notification alerts waiting to be closed"
    )
    thread_key: str | None = None
    timeline_trimmed: int = Field(
        default=0, description="Older entries left in earlier runs' histories"
    )
    application: str | None = None
    description: str = ""
    incident_ended_at: datetime | None = Field(
        default=None, description="When its incident ended unresolved (cancelled)"
    )
    applied_updates: list[str] = Field(
        default=[], description="Ids of the latest Updates applied: each is applied once"
    )
    # Sends being retried, by outbox: see workflows.delivery.
    retrying: dict[str, DeliveryTrouble] = {}


class CrisisView(BaseModel):
    crisis_id: str
    title: str
    drill: bool = Field(default=False, description="An exercise on a compressed clock")
    criterion: Criterion
    incident_id: str | None
    triggered_by: Literal["provider", "client"] = Field(
        default="provider", description="Who asked for the crisis: the client's DNUM is then told"
    )
    application: str | None = Field(default=None, description="Routes chat messages")
    customer: str | None = Field(
        default=None, description="Whose crisis it is, when given; else the policy's default"
    )
    status: str
    t0: Instant
    matrix_version: int
    business_hours_at_start: bool
    mail_system_affected: bool
    security_involved: bool
    channel: Channel
    level: int
    level_kind: str | None
    milestones: list[Milestone]
    members: list[Member]
    conference: Conference | None
    drp: DrpDecision | None
    last_update: StatusUpdate | None
    last_status_fresh: bool = Field(
        default=True, description="The last status mail had news posted since the one before"
    )
    restored_at: Instant | None
    closed_at: Instant | None
    rex_due_at: Instant | None
    rex: str | None
    mails_pending: int
    timeline: list[TimelineEntry]
    notifications: list[Notification] = []
    restored: Acted | None = None
    nominal_confirmed: Acted | None = None
    closed: Acted | None = None
    validations: list[Validation] = []
    urgent_changes: list[UrgentChange] = []
    retrying: list[DeliveryTrouble] = Field(
        default=[], description="Mails that keep failing and are being retried, with the last error"
    )
    timeline_omitted: int = Field(
        default=0, description="Entries left out of this answer to keep it small (all in history)"
    )
    notifications_omitted: int = Field(
        default=0, description="Older notifications left out of this answer (all in history)"
    )


CrisisInput.model_rebuild()
