"""Inputs, state and view of the crisis workflow."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field, model_validator

from workflows.matrix import EmailStr, EscalationMatrix
from workflows.models import Instant, OperatorInput, Text, TimelineEntry, Who
from workflows.policy import CrisisStepName, Language, Policy

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
Channel = Literal["smtp", "relay", "opsgenie", "auto"]


class CrisisInput(BaseModel):
    title: Text
    criterion: Criterion = "major_incident"
    t0: datetime | None = Field(default=None, description="Start of the outage or event")
    incident_id: str | None = Field(default=None, description="The incident that triggered it")
    context: str = Field(default="", description="Text searched for mail-system/security hints")
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
    triggered_by: Literal["provider", "client"] = "provider"
    opened_by: Who = "vigie"
    language: Language | None = None
    time_scale: float = Field(
        default=1.0, ge=1.0, le=3600.0, description="Drills only: how many times faster"
    )


class PostUpdateInput(OperatorInput):
    progress: Text
    done: str = ""
    remaining: str = ""


class DecideDrpInput(OperatorInput):
    activate: bool
    reason: Text


class EscalateInput(OperatorInput):
    reason: Text


class AddMemberInput(OperatorInput):
    name: Text
    email: EmailStr
    kind: Literal["expert", "security", "other"] = "expert"


class ServiceRestoredInput(OperatorInput):
    note: str | None = None


class CloseCrisisInput(OperatorInput):
    summary: Text


class SubmitRexInput(OperatorInput):
    link: str | None = None
    text: str | None = None

    @model_validator(mode="after")
    def _something(self) -> SubmitRexInput:
        if not (self.link or (self.text and self.text.strip())):
            raise ValueError("give the report as link or text")
        return self


class Milestone(BaseModel):
    step: CrisisStepName
    action: str
    due_at: Instant
    done_at: Instant | None = None
    by: str | None = None
    status: MilestoneStatus = "pending"


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


class Notification(BaseModel):
    """One crisis notification as it went out, or failed to."""

    key: str
    kind: str
    to: list[str]
    at: Instant
    status: Literal["sent", "failed"]
    channel: str | None = Field(default=None, description="What carried it: smtp, relay, opsgenie")
    detail: str | None = Field(default=None, description="Why a fallback or a failure")


class CrisisState(BaseModel):
    crisis_id: str
    policy: Policy
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
    status: Literal["active", "closed", "rex_submitted"] = "active"
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
    restored_at: datetime | None = None
    restored_by: str | None = None
    closed_at: datetime | None = None
    summary: str | None = None
    rex_due_at: datetime | None = None
    rex_reminded_at: datetime | None = None
    rex: str | None = None
    timeline: list[TimelineEntry] = []
    outbox: list[CrisisMail] = []
    notifications: list[Notification] = []
    mail_seq: int = 0
    thread_key: str | None = None


class CrisisView(BaseModel):
    crisis_id: str
    title: str
    criterion: Criterion
    incident_id: str | None
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
    restored_at: Instant | None
    closed_at: Instant | None
    rex_due_at: Instant | None
    rex: str | None
    mails_pending: int
    timeline: list[TimelineEntry]
    notifications: list[Notification] = []
