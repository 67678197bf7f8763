"""The ``oncall-readiness`` Temporal Schedule: one watch per on-call cycle (§4.2).

It fires when each cycle starts (the policy's ``[readiness]`` day and time, in the business
time zone) and starts ``OnCallReadinessWorkflow``, which watches the next cycle until it
starts. Applying it is idempotent: created (and fired once at once, so that the coming cycle
is watched) when missing, updated to the policy when present (a pause made in the UI is
kept), deleted when no customer of the policy has a schedule to watch. A worker (or a shell)
without a schedule API does not create it, and leaves one that exists as it is: a setting
missing on one machine never turns off the watch the other workers keep.

Each task queue has its own: ``oncall-readiness`` for the default queue, suffixed with the
queue's name for any other, so that workers of another queue never take it over.
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
    ScheduleDescription,
    ScheduleHandle,
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
from workflows.service_review import DEFAULT_TASK_QUEUE

log = logging.getLogger(__name__)

SCHEDULE_ID = "oncall-readiness"
Applied = Literal["created", "updated", "deleted", "off", "kept"]


def schedule_id(task_queue: str) -> str:
    """The Schedule of the workers of ``task_queue``."""
    return SCHEDULE_ID if task_queue == DEFAULT_TASK_QUEUE else f"{SCHEDULE_ID}-{task_queue}"


def watch_id(task_queue: str) -> str:
    """The id its watches start under (the Schedule adds the time it fired)."""
    return WORKFLOW_ID if task_queue == DEFAULT_TASK_QUEUE else f"{WORKFLOW_ID}-{task_queue}"


def readiness_schedule(policy: Policy, task_queue: str) -> Schedule:
    readiness = policy.readiness
    start = readiness.start_time
    # Temporal counts days of the week from Sunday (0); the policy from Monday.
    day = (WEEKDAY_NUMBERS[readiness.cycle_day] + 1) % 7
    return Schedule(
        action=ScheduleActionStartWorkflow(
            OnCallReadinessWorkflow.run,
            ReadinessInput(),
            id=watch_id(task_queue),
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


NO_API = "no schedule API is configured (VIGIE_OPSGENIE_API_KEY, or the VIGIE_JSM_* settings)"


def off_reason(policy: Policy) -> str | None:
    if not any(c.schedules for c in policy.customers):
        return "no customer in the policy has on-call schedules to watch"
    return None


async def apply_readiness_schedule(
    client: Client, settings: Settings, policy: Policy | None = None
) -> tuple[Applied, str]:
    """Makes the Temporal Schedule match the policy; says what it did and why."""
    policy = policy or load_policy(settings.config_dir)
    sid = schedule_id(settings.task_queue)
    handle = client.get_schedule_handle(sid)
    reason = off_reason(policy)
    if reason is not None:
        try:
            await handle.delete()
        except RPCError as exc:
            if exc.status != RPCStatusCode.NOT_FOUND:
                raise
            return "off", reason
        return "deleted", reason
    if not schedules_configured(settings):
        if await _described(handle) is None:
            return "off", NO_API
        return "kept", (
            f"{NO_API} here: the Schedule is left as it is; to stop the watch, remove the "
            "customers' schedules from the policy, or delete the Schedule"
        )
    schedule = readiness_schedule(policy, settings.task_queue)
    await _drop_the_former_one(client, settings.task_queue)
    try:
        await client.create_schedule(sid, schedule, trigger_immediately=True)
        return "created", f"fires {_when(policy)}; the coming cycle is watched now"
    except ScheduleAlreadyRunningError:
        pass

    def update(current: ScheduleUpdateInput) -> ScheduleUpdate:
        schedule.state = current.description.schedule.state
        return ScheduleUpdate(schedule=schedule)

    await handle.update(update)
    return "updated", f"fires {_when(policy)}"


async def _drop_the_former_one(client: Client, task_queue: str) -> None:
    """Releases before one Schedule per task queue kept ``oncall-readiness`` for any queue:
    the workers of another queue delete it when it starts their watches, so that a cycle is
    not watched (and mailed) twice."""
    if schedule_id(task_queue) == SCHEDULE_ID:
        return
    former = client.get_schedule_handle(SCHEDULE_ID)
    if (described := await _described(former)) is None:
        return
    action = described.schedule.action
    if isinstance(action, ScheduleActionStartWorkflow) and action.task_queue == task_queue:
        await former.delete()
        log.info("on-call readiness schedule %s of this task queue replaced", SCHEDULE_ID)


async def _described(handle: ScheduleHandle) -> ScheduleDescription | None:
    """The Schedule as the server has it, or None when there is none."""
    try:
        return await handle.describe()
    except RPCError as exc:
        if exc.status != RPCStatusCode.NOT_FOUND:
            raise
        return None


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
    level = logging.WARNING if applied == "kept" else logging.INFO
    log.log(level, "on-call readiness schedule %s: %s", applied, detail)
