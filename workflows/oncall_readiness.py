"""OnCallReadinessWorkflow: watches one on-call cycle until it starts (§4.2).

Started by the ``oncall-readiness`` Temporal Schedule when a cycle starts (and once when
the schedule is created), it watches the next cycle. Each check reads every watched
schedule's timeline, finds the gaps and empty rotations, and mails each customer's
``notify`` list: the gaps at every check while there are some, and once that the cycle is
complete. It checks at once, then every day, and a last time when the cycle starts.

Between checks the run sleeps on a durable timer, then continues as new carrying what it
told each customer, so that a "complete" notice is sent once per cycle and mails of one
cycle thread together, whatever happens to workers in between.
"""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta

from pydantic import BaseModel, Field
from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    from activities.models import SendMailResult
    from activities.oncall_models import ReadinessMailInput, TimelineInput, TimelineResult
    from workflows import versions
    from workflows.matrix import EscalationMatrix
    from workflows.oncall_gaps import (
        ADVICE,
        Advice,
        Cycle,
        ScheduleReport,
        Verdict,
        next_check,
        next_cycle,
        to_tell,
        verdict,
    )
    from workflows.oncall_policy import Customer, WatchedSchedule
    from workflows.policy import Policy
    from workflows.reads import read_matrix, read_policy
    from workflows.texts import when

WORKFLOW_ID = "oncall-readiness"
# Each watch of a cycle mails under its own Message-IDs: a second watch (fired by hand) never
# hides its verdict behind the first one's.
PATCH_PER_WATCH = "readiness-mail-per-watch"
# A schedule API that stays down is reported at the check, and read again the next day.
READ_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=10),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(minutes=2),
    maximum_attempts=5,
    non_retryable_error_types=["OpsgenieRejected"],
)
# A mail still undelivered after this long gives way to the next check's.
MAIL_WITHIN = timedelta(hours=12)


class ReadinessInput(BaseModel):
    cycle: Cycle | None = Field(default=None, description="None: the next cycle from now")
    told: dict[str, Verdict] = Field(default={}, description="What each customer was told")
    mails: dict[str, int] = Field(default={}, description="Mails sent to each customer")


class CustomerStatus(BaseModel):
    customer: str
    verdict: Verdict
    told: Verdict | None = None
    notify: list[str] = []
    reports: list[ScheduleReport] = []
    mail_error: str | None = None


class ReadinessView(BaseModel):
    cycle: Cycle
    checked_at: datetime
    next_check_at: datetime | None
    customers: list[CustomerStatus] = []
    warnings: list[str] = []


def _reason(exc: ActivityError) -> str:
    """What went wrong, as the activity said it (a timeout says so)."""
    cause = exc.cause
    if isinstance(cause, ApplicationError):
        return cause.message
    return str(cause or exc)


def _advice(exc: ActivityError) -> Advice | None:
    """What to check, when the schedule API refused the read and said what to look at."""
    cause = exc.cause
    if isinstance(cause, ApplicationError) and cause.details:
        return next((a for a in ADVICE if a == cause.details[0]), None)
    return None


def recipients(customer: Customer, matrix: EscalationMatrix | None) -> list[str]:
    """Addresses of the customer's ``notify`` list; roles come from the matrix."""
    found: list[str] = []
    for entry in customer.notify:
        if "@" in entry:
            found.append(entry)
        elif matrix is not None:
            found += [str(c.email) for c in matrix.contacts_for([entry])]
    return list(dict.fromkeys(found))


@workflow.defn(name="OnCallReadinessWorkflow")
class OnCallReadinessWorkflow:
    def __init__(self) -> None:
        self._view: ReadinessView | None = None

    @workflow.query(name="status", description="The cycle watched and what the last check found")
    def status(self) -> ReadinessView | None:
        return self._view

    @workflow.run
    async def run(self, input: ReadinessInput) -> ReadinessView:
        loaded = await read_policy(workflow.info().workflow_id)
        policy = loaded.policy
        zone = policy.business_hours.timezone
        now = workflow.now()
        cycle = input.cycle or next_cycle(now, policy.readiness, zone)
        warnings = [loaded.warning] if loaded.warning else []
        watched = [c for c in policy.customers if c.schedules]
        matrix = await self._matrix(watched, warnings)
        told, mails = dict(input.told), dict(input.mails)
        statuses = await asyncio.gather(
            *(self._check(c, cycle, policy, matrix, told, mails) for c in watched)
        )
        following = next_check(now, cycle)
        self._view = ReadinessView(
            cycle=cycle,
            checked_at=now,
            next_check_at=following,
            customers=list(statuses),
            warnings=warnings,
        )
        workflow.set_current_details(self._details(policy))
        if following is None:
            return self._view
        await workflow.sleep(following - workflow.now(), summary="next on-call check")
        workflow.continue_as_new(ReadinessInput(cycle=cycle, told=told, mails=mails))

    async def _matrix(
        self, watched: list[Customer], warnings: list[str]
    ) -> EscalationMatrix | None:
        if not any("@" not in entry for c in watched for entry in c.notify):
            return None
        try:
            matrix = await read_matrix(workflow.info().workflow_id, RetryPolicy(maximum_attempts=3))
        except ActivityError as exc:
            warnings.append(f"escalation matrix: {_reason(exc)}")
            return None
        if matrix.warning:
            warnings.append(
                f"escalation matrix: {matrix.warning} (the last valid one, version "
                f"{matrix.version}, is used)"
            )
        return matrix

    async def _read(self, schedule: WatchedSchedule, cycle: Cycle) -> ScheduleReport:
        try:
            result = await workflow.execute_activity(
                "opsgenie_schedule_timeline",
                TimelineInput(schedule=schedule, start=cycle.start, end=cycle.end),
                result_type=TimelineResult,
                start_to_close_timeout=timedelta(seconds=60),
                retry_policy=READ_RETRY,
                summary=f"timeline {schedule.name}"[:200],
            )
        except ActivityError as exc:
            return ScheduleReport(schedule=schedule.name, error=_reason(exc), advice=_advice(exc))
        if result.report is None:
            # A worker without a schedule API (another worker started the watch): said so.
            advice: Advice | None = "no_api" if result.skipped else None
            error = result.skipped or "not read"
            return ScheduleReport(schedule=schedule.name, error=error, advice=advice)
        return result.report

    async def _check(
        self,
        customer: Customer,
        cycle: Cycle,
        policy: Policy,
        matrix: EscalationMatrix | None,
        told: dict[str, Verdict],
        mails: dict[str, int],
    ) -> CustomerStatus:
        reports = list(await asyncio.gather(*(self._read(s, cycle) for s in customer.schedules)))
        found = verdict(reports)
        to = recipients(customer, matrix) or list(policy.notifications.incident_manager)
        status = CustomerStatus(
            customer=customer.name,
            verdict=found,
            told=told.get(customer.name),
            notify=to,
            reports=reports,
        )
        tell = to_tell(found, told.get(customer.name))
        if tell is None:
            return status
        sequence = mails.get(customer.name, 0) + 1
        stem = f"oncall-{customer.name}-{cycle.start:%Y%m%dT%H%MZ}"
        if versions.patched(PATCH_PER_WATCH):
            stem += f"-w{_watch()}"
        mail = ReadinessMailInput(
            key=f"{stem}-{sequence}",
            thread_key=f"{stem}-1" if sequence > 1 else None,
            to=to,
            language=customer.language or policy.notifications.language,
            timezone=policy.business_hours.timezone,
            verdict=tell,
            customer=customer.name,
            cycle=cycle,
            reports=reports,
            checked_at=workflow.now(),
        )
        mails[customer.name] = sequence
        try:
            await workflow.execute_activity(
                "send_readiness_mail",
                mail,
                result_type=SendMailResult,
                start_to_close_timeout=timedelta(seconds=60),
                schedule_to_close_timeout=MAIL_WITHIN,
                retry_policy=policy.mail_delivery.retry_policy(["RecipientsRefused"]),
                summary=f"on-call {tell} mail to {customer.name}"[:200],
            )
        except ActivityError as exc:
            status.mail_error = _reason(exc)
            return status
        told[customer.name] = tell
        status.told = tell
        return status

    def _details(self, policy: Policy) -> str:
        """One line per customer for the Web UI, in the policy's language and time zone."""
        assert self._view is not None
        language, zone = policy.notifications.language, policy.business_hours.timezone
        view = self._view
        head = {"fr": "Cycle d'astreinte du {start}", "en": "On-call cycle of {start}"}[language]
        lines = [head.format(start=when(view.cycle.start, language, zone))]
        said = {"fr": {"gaps": "incomplet", "complete": "complet"}, "en": {}}[language]
        for c in view.customers:
            lines.append(f"{c.customer}: {said.get(c.verdict, c.verdict)}")
        if view.next_check_at is not None:
            nxt = {"fr": "Prochaine vérification : {at}", "en": "Next check: {at}"}[language]
            lines.append(nxt.format(at=when(view.next_check_at, language, zone)))
        return "\n".join(lines)


def _watch() -> str:
    """This watch among the watches of a cycle (a Schedule's run, or one started by hand):
    the suffix the Schedule gives its workflow id, letters and digits only."""
    suffix = workflow.info().workflow_id.removeprefix(WORKFLOW_ID)
    return "".join(c for c in suffix if c.isalnum()) or "0"
