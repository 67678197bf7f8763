"""On-call schedules: their timelines and who is on call, from Opsgenie or JSM Operations.

Both serve the same timeline (a final layer of rotations, each a list of on-call periods)
through the same client, with two differences the ``dialect`` carries:

- Opsgenie: ``GET /v2/schedules/{identifier}/timeline`` on the alert API's base URL with the
  GenieKey; the answer is wrapped in ``data``; a period names its ``recipient`` (for a user,
  the username, which is the e-mail address). Schedules are found by name or id.
- JSM Operations: schedules are not part of the integration API that serves alerts. They
  are read from the REST API, ``https://api.atlassian.com/jsm/ops/api/{cloudId}``, with
  basic auth (an account's e-mail and API token): ``GET /v1/schedules/{scheduleId}/timeline``,
  unwrapped, each period naming its ``responder`` by account id. Schedules are found by id.

A period whose recipient is missing, of type ``none`` or deleted has nobody on call.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from typing import Any, Literal
from urllib.parse import quote

from activities.providers.opsgenie.client import OpsgenieApi, OpsgenieError
from workflows.oncall_gaps import Period, Rotation, Timeline
from workflows.oncall_policy import WatchedSchedule

ScheduleDialect = Literal["opsgenie", "jsm"]
JSM_OPERATIONS_REST = "https://api.atlassian.com/jsm/ops/api/{cloud_id}"
# The timeline is asked from a day before the window, so periods that started earlier are
# seen whole, and the answer is bounded so that a runaway schedule cannot flood a workflow.
MARGIN = timedelta(days=1)
MAX_PERIODS = 5000


class UnexpectedAnswer(OpsgenieError):
    """A 2xx answer that is not a timeline: retrying the same call will not help."""

    def __init__(self, message: str) -> None:
        super().__init__(200, message)


def _stamp(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _instant(value: Any, where: str) -> datetime:
    if not isinstance(value, str):
        raise UnexpectedAnswer(f"{where}: no date")
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as exc:
        raise UnexpectedAnswer(f"{where}: {value!r} is not a date") from exc
    if parsed.tzinfo is None:
        raise UnexpectedAnswer(f"{where}: {value!r} has no time zone")
    return parsed


def _who(period: dict[str, Any]) -> str | None:
    recipient = period.get("recipient") or period.get("responder")
    if not isinstance(recipient, dict) or recipient.get("deleted"):
        return None
    if str(recipient.get("type", "")).lower() == "none":
        return None
    who = recipient.get("name") or recipient.get("username") or recipient.get("id")
    return str(who) if who else None


def parse_timeline(schedule: str, body: Any) -> Timeline:
    """A timeline answer of either dialect, as the rotations and periods Vigie checks."""
    data = body.get("data", body) if isinstance(body, dict) else None
    if not isinstance(data, dict):
        raise UnexpectedAnswer(f"timeline of {schedule!r}: not a JSON object")
    final = data.get("finalTimeline") or {}
    raw_rotations = final.get("rotations") if isinstance(final, dict) else None
    if not isinstance(raw_rotations, list):
        raise UnexpectedAnswer(f"timeline of {schedule!r}: no finalTimeline.rotations")
    rotations: list[Rotation] = []
    count = 0
    for index, raw in enumerate(raw_rotations, start=1):
        if not isinstance(raw, dict) or raw.get("deleted"):
            continue
        name = str(raw.get("name") or raw.get("id") or f"#{index}")
        periods = []
        for p in raw.get("periods") or []:
            if not isinstance(p, dict):
                raise UnexpectedAnswer(f"timeline of {schedule!r}: a period is not an object")
            where = f"timeline of {schedule!r}, rotation {name!r}"
            periods.append(
                Period(
                    start=_instant(p.get("startDate"), where),
                    end=_instant(p.get("endDate"), where),
                    who=_who(p),
                )
            )
        count += len(periods)
        if count > MAX_PERIODS:
            raise UnexpectedAnswer(f"timeline of {schedule!r}: more than {MAX_PERIODS} periods")
        rotations.append(Rotation(name=name, periods=periods))
    return Timeline(schedule=schedule, rotations=rotations)


class ScheduleApi:
    """Reads schedules through an ``OpsgenieApi`` client (its auth, timeouts and errors)."""

    def __init__(self, api: OpsgenieApi, dialect: ScheduleDialect = "opsgenie") -> None:
        self.api = api
        self.dialect = dialect

    def _path(self, schedule: WatchedSchedule, leaf: str) -> tuple[str, dict[str, str]]:
        if self.dialect == "jsm":
            if not schedule.id:
                raise OpsgenieError(
                    400,
                    f"JSM Operations finds schedules by id: set the id of schedule "
                    f"{schedule.name!r} in the policy's [[customers]] schedules",
                )
            return f"/v1/schedules/{_segment(schedule.id)}/{leaf}", {}
        kind = "id" if schedule.id else "name"
        return f"/v2/schedules/{_segment(schedule.id or schedule.name)}/{leaf}", {
            "identifierType" if leaf == "timeline" else "scheduleIdentifierType": kind
        }

    async def timeline(self, schedule: WatchedSchedule, start: datetime, end: datetime) -> Timeline:
        """The final timeline covering [start, end), with the periods around it."""
        path, params = self._path(schedule, "timeline")
        since = start - MARGIN
        days = math.ceil((end - since) / timedelta(days=1)) + 1
        params |= {"date": _stamp(since), "interval": str(days), "intervalUnit": "days"}
        return parse_timeline(schedule.name, await self.api.read(path, params))

    async def on_call(self, schedule: WatchedSchedule) -> list[str]:
        """Who is on call now: usernames (e-mail addresses) in Opsgenie, account ids in JSM."""
        path, params = self._path(schedule, "on-calls")
        body = await self.api.read(path, params | {"flat": "true"})
        data = body.get("data", body) if isinstance(body, dict) else {}
        found = (data or {}).get("onCallRecipients") or (data or {}).get("onCallUsers") or []
        return [str(r) for r in found if r]


def _segment(value: str) -> str:
    return quote(value, safe="")
