"""The incident policy: deadlines, clocks, priorities and calendar, as data.

Pure pydantic models with no I/O, so workflows can carry a snapshot of the
policy they started with. Files are read by ``workers.policy_file``.
"""

from __future__ import annotations

import re
from datetime import date, time, timedelta
from typing import Annotated, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    StringConstraints,
    field_validator,
    model_validator,
)
from temporalio.common import RetryPolicy

from workflows.limits import CUSTOMER_PATTERN, Email, clip, one_line
from workflows.matrix import EscalationMatrix
from workflows.oncall_policy import Customers, Readiness

Priority = Literal["P1", "P2", "P3"]
ServiceLevel = Literal["gold", "silver", "bronze"]
Grade = Literal["high", "medium", "low"]
ClockName = Literal["24x7", "business"]
Language = Literal["fr", "en"]

PRIORITIES: tuple[Priority, ...] = ("P1", "P2", "P3")
SERVICE_LEVELS: tuple[ServiceLevel, ...] = ("gold", "silver", "bronze")
GRADES: tuple[Grade, ...] = ("high", "medium", "low")
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


class ConfigError(Exception):
    """A configuration file is missing, unreadable or invalid; the message says where."""

    def told(self) -> str:
        """On one line, at most 1,000 characters: what a timeline entry keeps of it."""
        return clip(one_line(str(self)), 1000)


_DURATION = re.compile(r"^\s*(\d+)\s*(m|min|h|d)\s*$")


class Allowance(BaseModel):
    """A time allowance as written in the policy: minutes, hours or days.

    Days are business days on the business clock (one business day is the
    length of the business-hours window) and 24-hour days on the 24x7 clock.
    """

    model_config = ConfigDict(frozen=True)

    amount: int = Field(gt=0)
    unit: Literal["m", "h", "d"]

    @classmethod
    def parse(cls, text: str) -> Allowance:
        match = _DURATION.match(text)
        if not match:
            raise ValueError(f"invalid duration {text!r}: write it like 15m, 2h or 5d")
        unit = "m" if match.group(2) == "min" else match.group(2)
        return cls.model_validate({"amount": int(match.group(1)), "unit": unit})

    def __str__(self) -> str:
        return f"{self.amount}{self.unit}"

    def on_clock(self, business_day: timedelta | None) -> timedelta:
        """The allowance in clock time; ``business_day`` is None on the 24x7 clock."""
        if self.unit == "m":
            return timedelta(minutes=self.amount)
        if self.unit == "h":
            return timedelta(hours=self.amount)
        return self.amount * (business_day if business_day is not None else timedelta(days=1))


def _allowance(value: object) -> object:
    if isinstance(value, str):
        return Allowance.parse(value)
    return value


AllowanceField = Annotated[
    Allowance, BeforeValidator(_allowance), PlainSerializer(str, return_type=str)
]


def _clock_time(value: object) -> object:
    if isinstance(value, str) and not re.match(r"^\d{2}:\d{2}$", value.strip()):
        raise ValueError(f"invalid time {value!r}: write it as HH:MM, like 08:00")
    return value


ClockTime = Annotated[
    time,
    BeforeValidator(_clock_time),
    PlainSerializer(lambda t: t.strftime("%H:%M"), return_type=str),
]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Cell(_Strict):
    """One cell of the resolution matrix: the allowance and, optionally, its own clock."""

    within: AllowanceField
    clock: ClockName | None = None


def _cell(value: object) -> object:
    if isinstance(value, str):
        return {"within": value}
    return value


CellField = Annotated[Cell, BeforeValidator(_cell)]


class ByServiceLevel(_Strict):
    gold: CellField
    silver: CellField
    bronze: CellField


class AckAllowances(_Strict):
    gold: AllowanceField
    silver: AllowanceField
    bronze: AllowanceField


class ResolutionMatrix(_Strict):
    P1: ByServiceLevel
    P2: ByServiceLevel
    P3: ByServiceLevel


class Clocks(_Strict):
    P1: ClockName
    P2: ClockName
    P3: ClockName


class UrgencyRow(_Strict):
    high: Priority
    medium: Priority
    low: Priority


class PriorityMatrix(_Strict):
    """Impact (rows) × urgency (columns) → priority."""

    high: UrgencyRow
    medium: UrgencyRow
    low: UrgencyRow


class OpsgeniePriorities(_Strict):
    P1: Priority
    P2: Priority
    P3: Priority
    P4: Priority
    P5: Priority


class BusinessHours(_Strict):
    timezone: str
    days: list[Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]] = Field(min_length=1)
    start: ClockTime
    end: ClockTime
    holidays_country: str = Field(min_length=2)
    holidays_subdivision: str | None = None
    closed_dates: list[date] = []
    # Filled when the policy is loaded, never written in the file: the public
    # holidays of the years around the load, so a workflow's copy of the policy
    # holds concrete dates and replays the same whatever the library version.
    public_holidays: dict[date, str] = {}

    @model_validator(mode="after")
    def _window(self) -> BusinessHours:
        if self.end <= self.start:
            raise ValueError(f"end ({self.end:%H:%M}) must come after start ({self.start:%H:%M})")
        return self

    @property
    def day_length(self) -> timedelta:
        return timedelta(
            hours=self.end.hour - self.start.hour, minutes=self.end.minute - self.start.minute
        )

    @property
    def weekday_numbers(self) -> frozenset[int]:
        return frozenset(WEEKDAYS.index(d) for d in self.days)


class OnCallPaging(_Strict):
    """How a P1 outside business hours pages the technical on-call (§4.2)."""

    responder_type: Literal["schedule", "escalation", "team"] = "schedule"
    responder: str = Field(
        default="", description="Opsgenie/JSM name added as responder; empty: none added"
    )
    schedule: str = Field(
        default="", description="Schedule asked who is on call; empty: the responder's schedule"
    )

    @property
    def schedule_name(self) -> str:
        if self.schedule:
            return self.schedule
        return self.responder if self.responder_type == "schedule" else ""


class Notifications(_Strict):
    language: Language
    # Addresses are checked when the file is read; a policy stored in a workflow is taken as is.
    incident_manager: list[Email] = Field(min_length=1)
    team: list[Email] = []
    mail_requesters_on_worklog: bool = True


class MailDelivery(_Strict):
    """How hard the workflow keeps trying when a server (mail, Opsgenie) is unreachable."""

    retry_initial_interval_seconds: float = Field(gt=0)
    retry_maximum_interval_seconds: float = Field(gt=0)
    # Added after the first release: a default keeps older policy snapshots readable.
    in_flight_wait_seconds: float = Field(
        default=120,
        gt=0,
        le=3600,
        description="Continue-as-new waits this long at most for the send in flight (during "
        "an outage it travels to the next run and goes out again, same Message-ID)",
    )

    def retry_policy(self, non_retryable: list[str]) -> RetryPolicy:
        """Retries without end, with exponential backoff between the two bounds."""
        return RetryPolicy(
            initial_interval=timedelta(seconds=self.retry_initial_interval_seconds),
            maximum_interval=timedelta(seconds=self.retry_maximum_interval_seconds),
            backoff_coefficient=2.0,
            maximum_attempts=0,
            non_retryable_error_types=non_retryable,
        )


CrisisStepName = Literal[
    "escalation", "cell_request", "cell_opening", "action_plan", "restoration", "closing"
]


class ChronogramStep(_Strict):
    """One line of the crisis chronogram (§4.6): what happens how long after T0, for whom.

    Recipients name roles: ``escalation_level`` (the contacts of the current
    escalation level), ``cell.permanent``, ``cell.participants`` (permanent and
    taking-part optional members), ``cell.pilot``, ``provider.<role>`` and
    ``client.<role>`` of the escalation matrix.
    """

    step: CrisisStepName
    at: AllowanceField
    action: str
    recipients: list[str] = []

    @field_validator("recipients")
    @classmethod
    def _known_recipients(cls, value: list[str]) -> list[str]:
        known = EscalationMatrix.known_roles() | {
            "escalation_level", "cell.permanent", "cell.participants", "cell.pilot",
        }  # fmt: skip
        unknown = [r for r in value if r not in known]
        if unknown:
            raise ValueError(
                f"unknown recipient(s) {', '.join(unknown)}: use escalation_level, cell.permanent, "
                "cell.participants, cell.pilot, provider.<role> or client.<role>"
            )
        return value


MAIL_SYSTEM_KEYWORDS = [
    "messagerie", "smtp", "exchange", "imap", "postfix", "mail server", "mail system",
    "mail relay", "serveur de messagerie", "serveur mail", "relais mail", "outlook",
]  # fmt: skip


class CrisisPolicy(_Strict):
    chronogram: list[ChronogramStep]
    status_every: AllowanceField
    rex_within: AllowanceField = Field(description="business days after the crisis closes")
    rex_reminder_every: AllowanceField
    mail_system_keywords: list[str] = Field(
        description="Words or phrases matched whole, case-insensitive ('mail' is not 'email')"
    )
    security_keywords: list[str]
    # Added after the first release: defaults keep older policy snapshots readable.
    unvalidated_at_cell_opening: Literal["open", "escalate"] = Field(
        default="open",
        description="No validation of the crisis situation (§4.7) by the cell's opening: "
        "'open' the cell anyway (said in the timeline) or also 'escalate' one level",
    )
    ticket_within: AllowanceField = Field(
        default=Allowance(amount=5, unit="m"), description="T0+5: the ticket is opened"
    )
    acknowledged_within: AllowanceField = Field(
        default=Allowance(amount=15, unit="m"), description="T0+15: the ticket is acknowledged"
    )
    alternate_channel: Literal["auto", "relay", "opsgenie"] = Field(
        description=(
            "How crisis notifications travel when the mail system is affected: 'relay' "
            "(VIGIE_ALT_SMTP_HOST), 'opsgenie' (an alert to the members) or 'auto' (the relay "
            "if configured, else Opsgenie if configured, else the usual mail server). Whatever "
            "the choice, a channel that fails hands over to the next one."
        )
    )


DEFAULT_CRISIS = CrisisPolicy.model_validate(
    {
        "chronogram": [
            {"step": "escalation", "at": "30m", "recipients": ["escalation_level", "client.dnum"],
             "action": "Escalation to the provider's incident manager; DNUM told a P1 is open"},
            {"step": "cell_request", "at": "45m", "recipients": ["client.dnum"],
             "action": "DNUM asked to trigger the crisis cell"},
            {"step": "cell_opening", "at": "1h", "recipients": ["cell.permanent"],
             "action": "Crisis cell opens: description, actions so far, forecast, action plan, "
                       "DRP go/no-go, hourly communication"},
            {"step": "action_plan", "at": "90m", "recipients": ["cell.participants"],
             "action": "Communication on the action plan and its follow-up; latest DRP decision"},
            {"step": "restoration", "at": "210m", "recipients": ["cell.participants"],
             "action": "If the DRP was triggered: service restored for users"},
            {"step": "closing", "at": "330m", "recipients": ["cell.participants"],
             "action": "Closing communication, end of crisis management"},
        ],
        "status_every": "1h",
        "rex_within": "5d",
        "rex_reminder_every": "1d",
        "mail_system_keywords": MAIL_SYSTEM_KEYWORDS,
        "security_keywords": ["security", "sécurité", "virus", "ransomware", "intrusion",
                              "attaque", "malveillance"],
        "alternate_channel": "auto",
    }
)  # fmt: skip


class Policy(_Strict):
    """The whole incident policy. Every field is required: a file must be complete."""

    version: int = Field(ge=1)
    warning_ratio: float = Field(gt=0, lt=1)
    auto_close_after: AllowanceField
    acknowledgement: AckAllowances
    resolution: ResolutionMatrix
    clocks: Clocks
    priority_matrix: PriorityMatrix
    opsgenie_priorities: OpsgeniePriorities
    business_hours: BusinessHours
    notifications: Notifications
    mail_delivery: MailDelivery
    # Added after the first release: a default keeps older policy snapshots readable.
    alert_delivery: MailDelivery = MailDelivery(
        retry_initial_interval_seconds=5, retry_maximum_interval_seconds=300
    )
    continue_as_new_after_events: int = Field(default=8000, ge=200)
    # Added after the first release: a default keeps older policy snapshots readable.
    on_call: OnCallPaging = OnCallPaging()
    confirmed_p1_status_every: AllowanceField = Field(
        default=Allowance(amount=1, unit="h"),
        description="A confirmed P1 mails the client its progress this often until resolved",
    )
    # Added after the first release: a default keeps older policy snapshots readable.
    crisis: CrisisPolicy = DEFAULT_CRISIS
    # Added after the first release: defaults keep older policy snapshots readable.
    readiness: Readiness = Readiness()
    customers: Customers = []
    default_customer: Annotated[str, StringConstraints(pattern=CUSTOMER_PATTERN)] = Field(
        default="default",
        description="The customer of an incident opened without one (service reviews)",
    )

    def priority_for(self, impact: Grade, urgency: Grade) -> Priority:
        row: UrgencyRow = getattr(self.priority_matrix, impact)
        result: Priority = getattr(row, urgency)
        return result

    def opsgenie_priority(self, opsgenie: str) -> Priority:
        result: Priority = getattr(self.opsgenie_priorities, opsgenie)
        return result

    def resolution_cell(self, priority: Priority, level: ServiceLevel) -> Cell:
        row: ByServiceLevel = getattr(self.resolution, priority)
        result: Cell = getattr(row, level)
        return result

    def clock_for(self, priority: Priority, level: ServiceLevel) -> ClockName:
        cell = self.resolution_cell(priority, level)
        if cell.clock is not None:
            return cell.clock
        result: ClockName = getattr(self.clocks, priority)
        return result

    def ack_allowance(self, level: ServiceLevel) -> Allowance:
        result: Allowance = getattr(self.acknowledgement, level)
        return result


# Policies already read by this worker, by content: the workflows that opened under the same
# policy share one object instead of a copy each (about 30 KiB with its holidays). Policies are
# frozen; the same content always gives an equal object, so replays are unaffected.
_SHARED: dict[str, Policy] = {}
_SHARED_AT_MOST = 32


def shared(policy: Policy) -> Policy:
    """The one object this worker keeps for ``policy``'s content."""
    key = policy.model_dump_json()
    found = _SHARED.get(key)
    if found is None:
        if len(_SHARED) >= _SHARED_AT_MOST:
            _SHARED.pop(next(iter(_SHARED)))
        _SHARED[key] = found = policy
    return found


SharedPolicy = Annotated[Policy, AfterValidator(shared)]
