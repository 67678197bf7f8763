"""Inputs and results of the on-call activities. Free of vendor imports: workflows import them."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

from workflows.oncall_gaps import Cycle, ScheduleReport, Verdict
from workflows.oncall_policy import WatchedSchedule
from workflows.policy import Language


class TimelineInput(BaseModel):
    schedule: WatchedSchedule
    start: datetime
    end: datetime


class TimelineResult(BaseModel):
    """The schedule's gaps over the window, not the timeline itself: a week of short
    handovers is hundreds of kilobytes that the workflow's history need not hold."""

    report: ScheduleReport | None = None
    periods: int = Field(default=0, description="How many on-call periods the timeline had")
    skipped: str | None = Field(default=None, description="Why the schedule was not asked")


class OnCallRecipientsInput(BaseModel):
    """Who to page: asked of the schedule, the escalation matrix's on-call otherwise."""

    workflow_id: str = Field(description="The incident or crisis asking (for the logs)")
    schedule: str = Field(default="", description="Schedule name; empty: the matrix at once")
    schedule_id: str = Field(default="", description="Schedule id (required by JSM)")


class OnCallRecipients(BaseModel):
    recipients: list[str] = Field(description="Addresses to page; never empty")
    source: Literal["schedule", "matrix"]
    schedule: str = ""
    on_call: list[str] = Field(
        default=[], description="Who the schedule named, addresses or not (JSM: account ids)"
    )
    reason: str | None = Field(default=None, description="Why the matrix was used")


class ReadinessMailInput(BaseModel):
    key: str = Field(description="Message-ID key: the same on every retry")
    thread_key: str | None = None
    to: list[str]
    language: Language
    timezone: str
    verdict: Verdict
    customer: str
    cycle: Cycle
    reports: list[ScheduleReport]
    checked_at: datetime
