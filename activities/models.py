"""Inputs and results of activities. Free of vendor imports: workflows import them."""

from __future__ import annotations

from pydantic import BaseModel

from workflows.models import IncidentView, OutgoingMail
from workflows.policy import Policy


class LoadPolicyInput(BaseModel):
    incident_id: str


class LoadPolicyResult(BaseModel):
    policy: Policy
    source: str
    warning: str | None = None


class SendMailInput(BaseModel):
    mail: OutgoingMail
    incident: IncidentView
    display_timezone: str


class SendMailResult(BaseModel):
    message_id: str
    refused: dict[str, str] = {}
