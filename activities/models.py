"""Inputs and results of activities. Free of vendor imports: workflows import them."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from workflows.crisis_models import Conference, CrisisMail
from workflows.limits import MAX_ID
from workflows.models import AlertCommand, AlertRef, IncidentView, OutgoingMail
from workflows.policy import Policy


class LoadPolicyInput(BaseModel):
    incident_id: str


class LoadPolicyResult(BaseModel):
    policy: Policy
    source: str
    warning: str | None = None
    error: str | None = Field(default=None, description="What is wrong with the policy file")


class SendMailInput(BaseModel):
    mail: OutgoingMail
    incident: IncidentView
    display_timezone: str


class SendMailResult(BaseModel):
    message_id: str
    refused: dict[str, str] = {}
    channel: str | None = Field(default=None, description="What carried a crisis notification")
    fallback_reason: str | None = Field(
        default=None, description="Why the channels tried before it did not carry it"
    )
    sent_at: datetime | None = Field(
        default=None, description="When it went out (a crisis notification), by the worker's clock"
    )


class AlertActionInput(BaseModel):
    incident_id: str
    alert: AlertRef
    command: AlertCommand
    request_id: str | None = Field(
        default=None,
        description="A write already accepted by an earlier round: only its outcome is awaited",
    )


class AlertActionResult(BaseModel):
    skipped: str | None = Field(default=None, description="Why nothing was sent, if so")
    status: str | None = None
    alert_id: str | None = None


class OnCallInput(BaseModel):
    schedule: str


class OnCallResult(BaseModel):
    recipients: list[str] = []
    skipped: str | None = None


class LoadMatrixInput(BaseModel):
    crisis_id: str


class ConferenceInput(BaseModel):
    crisis_id: str
    title: str
    start: datetime
    minutes: int = 360


class ConferenceResult(BaseModel):
    provider: str
    url: str
    meeting_id: str | None = None
    passcode: str | None = None
    fallback_reason: str | None = Field(
        default=None, description="Why the configured provider was not used, if it was not"
    )


class CrisisMailInput(BaseModel):
    crisis_id: str
    mail: CrisisMail
    conference: Conference | None = None


class SetTaskPriorityInput(BaseModel):
    """A new task queue priority key for one run of a workflow; its fairness stays."""

    workflow_id: str = Field(max_length=MAX_ID)
    run_id: str | None = Field(default=None, max_length=MAX_ID, description="None: the current")
    priority_key: int | None = Field(default=None, ge=1, le=5, description="None: the default")
    expected_key: int | None = Field(
        default=None,
        ge=1,
        le=5,
        description="The key the run has as far as the workflow knows; another one on the "
        "server was set by someone else, and is left as it is",
    )
