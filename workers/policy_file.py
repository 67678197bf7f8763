"""Reads the policy file and refuses a broken one with a message a person can act on."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import holidays

from workers.config_files import load_toml
from workflows.policy import BusinessHours, ConfigError, Policy

__all__ = ["ConfigError", "load_policy"]

POLICY_FILE = "policy.toml"


# Years of public holidays resolved around the load year: incidents opened now
# can reference dates this far ahead.
HOLIDAY_YEARS_BEFORE = 1
HOLIDAY_YEARS_AFTER = 5


def _check_calendar(path: Path, hours: BusinessHours) -> None:
    try:
        ZoneInfo(hours.timezone)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ConfigError(
            f"{path}: business_hours.timezone: unknown time zone {hours.timezone!r}"
        ) from exc
    try:
        holidays.country_holidays(hours.holidays_country)
    except NotImplementedError as exc:
        raise ConfigError(f"{path}: business_hours.holidays_country: {exc}") from exc
    try:
        holidays.country_holidays(hours.holidays_country, subdiv=hours.holidays_subdivision)
    except NotImplementedError as exc:
        raise ConfigError(f"{path}: business_hours.holidays_subdivision: {exc}") from exc


def load_policy(config_dir: Path) -> Policy:
    path = config_dir / POLICY_FILE
    policy = load_toml(path, Policy, " (set VIGIE_CONFIG_DIR)")
    _check_calendar(path, policy.business_hours)
    if policy.readiness.lead >= timedelta(days=7):  # checked here: stored policies decode
        raise ConfigError(
            f"{path}: readiness.complete_before: {policy.readiness.complete_before!r} is a "
            "week or more, a whole on-call cycle: the rotations would be due before the cycle "
            "before theirs began"
        )
    return with_public_holidays(policy, date.today().year)


def with_public_holidays(policy: Policy, year: int) -> Policy:
    """The policy with the public holidays of the years around ``year`` as dates."""
    hours = policy.business_hours
    calendar = holidays.country_holidays(
        hours.holidays_country,
        subdiv=hours.holidays_subdivision,
        years=range(year - HOLIDAY_YEARS_BEFORE, year + HOLIDAY_YEARS_AFTER + 1),
        language="en_US",
    )
    resolved = {day: str(name) for day, name in sorted(calendar.items())}
    return policy.model_copy(
        update={"business_hours": hours.model_copy(update={"public_holidays": resolved})}
    )
