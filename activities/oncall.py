"""On-call schedules: the timelines the readiness check reads, and who to page now."""

from __future__ import annotations

from collections.abc import Callable

from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.alerting import failure
from activities.oncall_models import (
    OnCallRecipients,
    OnCallRecipientsInput,
    TimelineInput,
    TimelineResult,
)
from activities.providers.opsgenie.client import OpsgenieError, OpsgenieUnavailable
from activities.providers.opsgenie.schedules import ScheduleApi
from workflows.limits import MAX_EMAIL, clip, mailable, one_line
from workflows.matrix import EscalationMatrix
from workflows.oncall_gaps import Cycle, schedule_report
from workflows.oncall_policy import WatchedSchedule
from workflows.policy import ConfigError
from workflows.texts import NO_ADDRESS_ON_CALL

MAX_ON_CALL = 20
"""People kept of those a schedule names at once."""
NO_API = (
    "no schedule API configured: set VIGIE_OPSGENIE_API_KEY (Opsgenie), or VIGIE_JSM_CLOUD_ID, "
    "VIGIE_JSM_USER and VIGIE_JSM_API_TOKEN (JSM Operations)"
)


def named(on_call: list[str]) -> list[str]:
    """Who a schedule names, as the timeline can keep them: one line each, bounded."""
    return [clip(one_line(who), MAX_EMAIL) for who in on_call[:MAX_ON_CALL]]


class OnCallActivities:
    """``schedules`` is None when no schedule API is configured; then nothing is asked."""

    def __init__(
        self, schedules: ScheduleApi | None, load_matrix: Callable[[], EscalationMatrix]
    ) -> None:
        self._schedules = schedules
        self._load_matrix = load_matrix

    @activity.defn(name="opsgenie_schedule_timeline")
    async def schedule_timeline(self, input: TimelineInput) -> TimelineResult:
        """Reads the schedule's final timeline and finds its gaps over the window. A refusal
        (unknown schedule, bad credentials) is not retried; an outage, a throttle or a
        timeout is."""
        if self._schedules is None:
            return TimelineResult(skipped=NO_API)
        try:
            timeline = await self._schedules.timeline(input.schedule, input.start, input.end)
        except OpsgenieError as exc:
            raise failure(exc, str(exc), _advice(exc.status)) from exc
        except OpsgenieUnavailable as exc:
            raise failure(exc, str(exc)) from exc
        cycle = Cycle(start=input.start, end=input.end, due=input.start)
        return TimelineResult(
            report=schedule_report(timeline, cycle),
            periods=sum(len(r.periods) for r in timeline.rotations),
        )

    @activity.defn(name="on_call_recipients")
    async def on_call_recipients(self, input: OnCallRecipientsInput) -> OnCallRecipients:
        """Who to page now: the addresses the schedule names as on call, else the
        escalation matrix's ``provider.on_call``. Asked once: a page does not wait for an
        API to come back, it goes to the matrix's on-call address with the reason."""
        on_call: list[str] = []
        found: list[str] = []
        reason = "no on-call schedule configured"
        if input.schedule and self._schedules is None:
            reason = NO_API
        elif input.schedule and self._schedules is not None:
            schedule = WatchedSchedule(name=input.schedule, id=input.schedule_id)
            try:
                names = await self._schedules.on_call(schedule)
                reason = "nobody on call" if not names else NO_ADDRESS_ON_CALL
                on_call = named(names)
                found = [who for who in names if mailable(who)][:MAX_ON_CALL]
            except (OpsgenieError, OpsgenieUnavailable) as exc:
                reason = f"schedule {input.schedule!r}: {exc}"
        if found:
            return OnCallRecipients(
                recipients=found, source="schedule", schedule=input.schedule, on_call=on_call
            )
        try:
            matrix = self._load_matrix()
        except ConfigError as exc:
            raise ApplicationError(
                f"{reason}; and the escalation matrix cannot be read: {exc}", type="ConfigError"
            ) from exc
        activity.logger.warning("%s: paging the matrix's on-call: %s", input.workflow_id, reason)
        return OnCallRecipients(
            recipients=[str(c.email) for c in matrix.provider.on_call],
            source="matrix",
            schedule=input.schedule,
            on_call=on_call,
            reason=reason,
        )


def _advice(status: int) -> str:
    """What to check, as a code the readiness mail tells in its language."""
    if status in (401, 403):
        return "credentials"
    if status == 404:
        return "name"
    return "schedule"
