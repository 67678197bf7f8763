"""ServiceReviewWorkflow: the monthly service review, mailed to each customer's managers.

A Temporal Schedule (``vigie schedules apply``, and the worker at start) starts it every
morning of the first seven days of each month; it goes on only on the month's first
business day (public holidays and closures of the policy's calendar count), builds the
previous month's report for each customer with incidents or crises in it, and mails it to
the customer's incident manager and delivery manager (escalation matrix). Started by hand
with a ``month``, it reviews that month whatever the day.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Annotated, Any

from pydantic import BaseModel, Field, StringConstraints, ValidationError
from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    from workflows import versions
    from workflows.calendar import BusinessClock
    from workflows.not_json import NotJson
    from workflows.operations import describe
    from workflows.policy import Language
    from workflows.reads import read_policy

Month = Annotated[str, StringConstraints(pattern=r"^20\d\d-(0[1-9]|1[0-2])$")]
SCHEDULE_ID = "vigie-service-review"
WORKFLOW_ID = "service-review"
DEFAULT_TASK_QUEUE = "incidents"


def schedule_id(task_queue: str) -> str:
    """The Schedule of the workers of ``task_queue``: ``vigie-service-review`` for the
    default queue, suffixed with the queue's name for any other."""
    return SCHEDULE_ID if task_queue == DEFAULT_TASK_QUEUE else f"{SCHEDULE_ID}-{task_queue}"


# A review's mails: retried for a while, never for a refused address or a broken matrix.
MAIL_RETRY = RetryPolicy(
    maximum_interval=timedelta(minutes=10),
    maximum_attempts=20,
    non_retryable_error_types=["RecipientsRefused", "ConfigError"],
)
# A review that did not go out to a customer is mailed to the managers.
PATCH_FAILURES_TOLD = "review-failures-told"
# A key the input does not know ("monht") is refused, not taken as no month at all.
PATCH_UNKNOWN_KEYS = "review-unknown-keys-refused"
EXAMPLE = '(expected e.g. {"month": "2026-11"})'


class ServiceReviewInput(BaseModel):
    month: Month | None = Field(
        default=None,
        description="YYYY-MM to review now; None (the schedule): the previous month, on the "
        "first business day of the month only",
    )
    language: Language | None = Field(default=None, description="None: the policy's language")


class ReviewCustomersInput(BaseModel):
    month: Month
    timezone: str


class ReviewCustomersResult(BaseModel):
    customers: list[str]


class SendServiceReviewInput(BaseModel):
    month: Month
    customer: str
    language: Language
    timezone: str
    review: str | None = Field(
        default=None,
        description="This review's run: in the Message-ID, so that a review run again is a "
        "new mail and a retried send the same one",
    )


class SendServiceReviewResult(BaseModel):
    to: list[str]
    incidents: int
    message_id: str


class ReviewFailuresInput(BaseModel):
    month: Month
    language: Language
    failed: dict[str, str] = Field(description="Customer → why its review did not go out")
    review: str = Field(description="This review's run: in the Message-ID")


class ReviewFailuresResult(BaseModel):
    to: list[str]


class ServiceReviewResult(BaseModel):
    month: Month | None = Field(default=None, description="None: the input was refused")
    refused: str | None = Field(
        default=None, description="Why the input was refused (nothing reviewed, nothing sent)"
    )
    skipped: str | None = None
    sent: dict[str, list[str]] = Field(default={}, description="Customer → recipients")
    failed: dict[str, str] = Field(default={}, description="Customer → why")
    failures_told: list[str] = Field(
        default=[], description="Who was mailed the customers whose review did not go out"
    )


def first_business_day(clock: BusinessClock, year: int, month: int) -> date | None:
    """The month's first open day of the business calendar (None if it has none)."""
    day = date(year, month, 1)
    while day.month == month:
        if clock.is_open_day(day):
            return day
        day += timedelta(days=1)
    return None


def previous_month(today: date) -> str:
    last = today.replace(day=1) - timedelta(days=1)
    return f"{last:%Y-%m}"


def month_bounds(month: str) -> tuple[date, date]:
    """First and last day of a YYYY-MM month."""
    year, number = (int(x) for x in month.split("-"))
    first = date(year, number, 1)
    following = date(year + number // 12, number % 12 + 1, 1)
    return first, following - timedelta(days=1)


@workflow.defn(name="ServiceReviewWorkflow")
class ServiceReviewWorkflow:
    @workflow.run
    async def run(self, *inputs: Any) -> ServiceReviewResult:
        """``inputs``: as sent, checked here, so that a typo in a review started by hand ends
        the run with the reason instead of failing its task over and over (none: {})."""
        if len(inputs) > 1:
            return ServiceReviewResult(refused=f"one input expected, {len(inputs)} given {EXAMPLE}")
        raw = inputs[0] if inputs else None
        if isinstance(raw, NotJson):
            return ServiceReviewResult(refused=f"{raw.said()} {EXAMPLE}")
        try:
            input = ServiceReviewInput.model_validate({} if raw is None else raw)
        except ValidationError as exc:
            return ServiceReviewResult(refused=f"{describe(exc)[:500]} {EXAMPLE}")
        unknown = sorted(set(raw) - set(ServiceReviewInput.model_fields)) if raw else []
        if unknown and versions.patched(PATCH_UNKNOWN_KEYS):
            names = ", ".join(str(k)[:40] for k in unknown[:5])
            return ServiceReviewResult(refused=f"{names}: unknown field {EXAMPLE}")
        loaded = await read_policy(workflow.info().workflow_id)
        policy = loaded.policy
        zone = policy.business_hours.timezone
        clock = BusinessClock(policy.business_hours)
        today = workflow.now().astimezone(clock.zone).date()
        month = input.month or previous_month(today)
        if input.month is None:
            first = first_business_day(clock, today.year, today.month)
            if today != first:
                return ServiceReviewResult(
                    month=month, skipped=f"{today} is not the first business day ({first})"
                )
        found = await workflow.execute_activity(
            "service_review_customers",
            ReviewCustomersInput(month=month, timezone=zone),
            result_type=ReviewCustomersResult,
            start_to_close_timeout=timedelta(minutes=2),
        )
        result = ServiceReviewResult(month=month)
        language = input.language or policy.notifications.language
        for customer in found.customers:
            try:
                sent = await workflow.execute_activity(
                    "send_service_review",
                    SendServiceReviewInput(
                        month=month,
                        customer=customer,
                        language=language,
                        timezone=zone,
                        review=workflow.info().run_id,
                    ),
                    result_type=SendServiceReviewResult,
                    start_to_close_timeout=timedelta(minutes=5),
                    retry_policy=MAIL_RETRY,
                    summary=f"service review {customer}",
                )
                result.sent[customer] = sent.to
            except ActivityError as exc:  # one customer's failure does not stop the others
                cause = exc.cause
                why = cause.message if isinstance(cause, ApplicationError) else str(exc)
                result.failed[customer] = why
        if result.failed and versions.patched(PATCH_FAILURES_TOLD):
            await self._tell_failures(result, language)
        return result

    async def _tell_failures(self, result: ServiceReviewResult, language: Language) -> None:
        """A review that did not go out is told to the incident and delivery managers: run
        from a Schedule, nobody reads the result."""
        assert result.month is not None
        try:
            told = await workflow.execute_activity(
                "send_service_review_failures",
                ReviewFailuresInput(
                    month=result.month,
                    language=language,
                    failed=result.failed,
                    review=workflow.info().run_id,
                ),
                result_type=ReviewFailuresResult,
                start_to_close_timeout=timedelta(minutes=2),
                retry_policy=MAIL_RETRY,
                summary="service reviews not sent",
            )
            result.failures_told = told.to
        except ActivityError as exc:  # the worker logs it; the result keeps the failures
            workflow.logger.error("service review failures not mailed: %s", exc.cause or exc)
