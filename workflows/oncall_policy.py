"""Customers, their on-call schedules and chat channels, and the on-call readiness cycle.

Part of the policy (``[readiness]`` and ``[[customers]]`` in ``config/policy.toml``), so
that every incident carries the chat routes it opened under and the readiness check reads
the schedules to watch. Pure pydantic models: workflows import them.

A customer owns the incidents of its ``applications`` (every incident when the list is
empty). It names the Opsgenie / JSM Operations schedules whose rotations must be filled
before each cycle (§4.2), who is told about gaps, and the chat channels that receive its
incidents' events. Webhook URLs are secrets: they never appear here, only the channel's
name; the worker finds the URL in ``VIGIE_CHAT_WEBHOOKS``.
"""

from __future__ import annotations

import re
from datetime import time, timedelta
from typing import Annotated, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationInfo,
)

from workflows.limits import EMAIL_PATTERN, MAX_NAME, sendable, sendable_asked, single_line
from workflows.matrix import EscalationMatrix

Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
WEEKDAY_NUMBERS: dict[str, int] = {
    d: i for i, d in enumerate(("mon", "tue", "wed", "thu", "fri", "sat", "sun"))
}
ChatVendor = Literal["teams", "slack", "mattermost", "google_chat"]
ChatEventKind = Literal["crisis_cell", "p1_opened", "breach", "status_update"]
CHAT_EVENTS: tuple[ChatEventKind, ...] = ("crisis_cell", "p1_opened", "breach", "status_update")
MAX_CUSTOMERS = 50
MAX_SCHEDULES = 20
MAX_CHANNELS = 20

Slug = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9_-]{0,49}$")]
"""A customer or channel name: lower-case letters, digits, '-' and '_' (it names ids)."""
OneLine = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1), AfterValidator(single_line(100))
]

_DURATION = re.compile(r"^\s*(\d+)\s*(m|h|d)\s*$")
_CLOCK = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")
_EMAIL = re.compile(EMAIL_PATTERN)


def _duration(value: str) -> str:
    match = _DURATION.match(value)
    if not match or int(match.group(1)) == 0:
        raise ValueError(f"invalid duration {value!r}: write it like 30m, 12h or 1d")
    return value.strip()


def _clock(value: str) -> str:
    if not _CLOCK.match(value.strip()):
        raise ValueError(f"invalid time {value!r}: write it as HH:MM, like 08:00")
    return value.strip()


def _recipient(value: str, info: ValidationInfo) -> str:
    value = value.strip()
    if value in EscalationMatrix.known_roles():
        return value
    if _EMAIL.match(value):
        if sendable_asked(info) and not sendable(value):
            raise ValueError(f"{value!r} is not an address a mail can be sent to")
        return value
    raise ValueError(
        f"{value!r} is neither an e-mail address nor a matrix role (provider.<role>, client.<role>)"
    )


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class WatchedSchedule(_Strict):
    """An on-call schedule: by name in Opsgenie; JSM Operations needs its ``id``."""

    name: OneLine
    id: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9-]{0,64}$")] = Field(
        default="", description="The schedule's id; required with JSM Operations"
    )


class ChatChannel(_Strict):
    """One chat channel: its vendor, the events it receives and the language it reads."""

    name: Slug = Field(description="Key of its webhook URL in VIGIE_CHAT_WEBHOOKS")
    vendor: ChatVendor
    events: list[ChatEventKind] = Field(default=list(CHAT_EVENTS), min_length=1)
    language: Literal["fr", "en"] | None = Field(
        default=None, description="Default: the language of [notifications]"
    )


class Customer(_Strict):
    name: Slug
    applications: list[Annotated[str, AfterValidator(single_line(MAX_NAME))]] = Field(
        default=[], description="Incidents of these applications are this customer's; empty: all"
    )
    schedules: list[WatchedSchedule] = Field(default=[], max_length=MAX_SCHEDULES)
    notify: list[Annotated[str, AfterValidator(_recipient)]] = Field(
        default=["provider.delivery_manager", "provider.incident_manager"],
        min_length=1,
        description="Who is told about on-call gaps: matrix roles or addresses",
    )
    language: Literal["fr", "en"] | None = Field(
        default=None, description="Language of the readiness mails; default: [notifications]"
    )
    channels: list[ChatChannel] = Field(default=[], max_length=MAX_CHANNELS)

    def owns(self, application: str | None) -> bool:
        """Whether an incident of ``application`` is this customer's."""
        return not self.applications or application in self.applications


def _unique(customers: list[Customer]) -> list[Customer]:
    names = [c.name for c in customers]
    doubles = sorted({n for n in names if names.count(n) > 1})
    if doubles:
        raise ValueError(f"customer names must be unique: {', '.join(doubles)}")
    channels = [ch.name for c in customers for ch in c.channels]
    doubles = sorted({n for n in channels if channels.count(n) > 1})
    if doubles:
        raise ValueError(f"channel names must be unique across customers: {', '.join(doubles)}")
    return customers


Customers = Annotated[list[Customer], Field(max_length=MAX_CUSTOMERS), AfterValidator(_unique)]


class Readiness(_Strict):
    """§4.2: on-call rotations are filled for each cycle, at least ``complete_before`` ahead."""

    cycle_day: Weekday = Field(default="mon", description="Day each on-call cycle starts")
    cycle_time: Annotated[str, AfterValidator(_clock)] = Field(
        default="08:00", description="Time each cycle starts, in the business time zone"
    )
    complete_before: Annotated[str, AfterValidator(_duration)] = Field(
        default="1d", description="How long before the cycle its rotations must be complete"
    )

    @property
    def start_time(self) -> time:
        hours, minutes = self.cycle_time.split(":")
        return time(int(hours), int(minutes))

    @property
    def lead(self) -> timedelta:
        match = _DURATION.match(self.complete_before)
        assert match is not None
        amount, unit = int(match.group(1)), match.group(2)
        return {"m": timedelta(minutes=amount), "h": timedelta(hours=amount)}.get(
            unit, timedelta(days=amount)
        )
