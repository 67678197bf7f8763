"""The ``oncall-readiness`` Temporal Schedule: one watch per on-call cycle (§4.2).

It fires when each cycle starts (the policy's ``[readiness]`` day and time, in the business
time zone) and starts ``OnCallReadinessWorkflow``, which watches the next cycle until it
starts. Applying it is idempotent: created (and fired once at once, so that the coming cycle
is watched) when missing, updated to the policy when present (a pause made in the UI is
kept), deleted when no customer has a schedule to watch or no schedule API is configured.
"""

from __future__ import annotations

import logging
from typing import Literal

from temporalio.client import (
    Client,
    Schedule,
    ScheduleActionStartWorkflow,
    ScheduleAlreadyRunningError,
    ScheduleCalendarSpec,
    ScheduleOverlapPolicy,
    SchedulePolicy,
    ScheduleRange,
    ScheduleSpec,
    ScheduleUpdate,
    ScheduleUpdateInput,
)
from temporalio.service import RPCError, RPCStatusCode

from workers.oncall_wiring import schedules_configured
from workers.policy_file import load_policy
from workers.settings import Settings
from workflows.oncall_policy import WEEKDAY_NUMBERS
from workflows.oncall_readiness import WORKFLOW_ID, OnCallReadinessWorkflow, ReadinessInput
from workflows.policy import Policy

log = logging.getLogger(__name__)

SCHEDULE_ID = "oncall-readiness"
Applied = Literal["created", "updated", "deleted", "off"]


def readiness_schedule(policy: Policy, task_queue: str) -> Schedule:
    readiness = policy.readiness
    start = readiness.start_time
    # Temporal counts days of the week from Sunday (0); the policy from Monday.
    day = (WEEKDAY_NUMBERS[readiness.cycle_day] + 1) % 7
    return Schedule(
        action=ScheduleActionStartWorkflow(
            OnCallReadinessWorkflow.run,
            ReadinessInput(),
            id=WORKFLOW_ID,
            task_queue=task_queue,
            static_summary="On-call readiness of the next cycle",
        ),
        spec=ScheduleSpec(
            calendars=[
                ScheduleCalendarSpec(
                    day_of_week=[ScheduleRange(day)],
                    hour=[ScheduleRange(start.hour)],
                    minute=[ScheduleRange(start.minute)],
                    comment="each on-call cycle starts",
                )
            ],
            time_zone_name=policy.business_hours.timezone,
        ),
        # A watch ends when its cycle starts, as the next one begins: never skip one, nor cut
        # its last check short. A watch fired by hand runs beside it, under its own mails.
        policy=SchedulePolicy(overlap=ScheduleOverlapPolicy.ALLOW_ALL),
    )


def off_reason(policy: Policy, settings: Settings) -> str | None:
    if not any(c.schedules for c in policy.customers):
        return "no customer in the policy has on-call schedules to watch"
    if not schedules_configured(settings):
        return "no schedule API is configured (VIGIE_OPSGENIE_API_KEY, or the VIGIE_JSM_* settings)"
    return None


async def apply_readiness_schedule(
    client: Client, settings: Settings, policy: Policy | None = None
) -> tuple[Applied, str]:
    """Makes the Temporal Schedule match the policy; says what it did and why."""
    policy = policy or load_policy(settings.config_dir)
    handle = client.get_schedule_handle(SCHEDULE_ID)
    reason = off_reason(policy, settings)
    if reason is not None:
        try:
            await handle.delete()
        except RPCError as exc:
            if exc.status != RPCStatusCode.NOT_FOUND:
                raise
            return "off", reason
        return "deleted", reason
    schedule = readiness_schedule(policy, settings.task_queue)
    try:
        await client.create_schedule(SCHEDULE_ID, schedule, trigger_immediately=True)
        return "created", f"fires {_when(policy)}; the coming cycle is watched now"
    except ScheduleAlreadyRunningError:
        pass

    def update(current: ScheduleUpdateInput) -> ScheduleUpdate:
        schedule.state = current.description.schedule.state
        return ScheduleUpdate(schedule=schedule)

    await handle.update(update)
    return "updated", f"fires {_when(policy)}"


def _when(policy: Policy) -> str:
    r = policy.readiness
    return f"every {r.cycle_day} at {r.cycle_time} ({policy.business_hours.timezone})"


async def ensure_readiness_schedule(client: Client, settings: Settings) -> None:
    """At worker start: applies the schedule; a refusal is logged, the worker runs on."""
    try:
        applied, detail = await apply_readiness_schedule(client, settings)
    except RPCError as exc:
        log.error("on-call readiness schedule not applied: %s", exc.message)
        return
    log.info("on-call readiness schedule %s: %s", applied, detail)
