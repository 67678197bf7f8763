"""Side effects sent in rounds of attempts, so that a workflow sees a send that keeps failing.

Temporal retries an activity on its own and tells the workflow nothing until it succeeds: a
mail behind an unreachable server, or an alert change behind a throttling API, would show
only as a pending count. Here each send gets ``ROUND_ATTEMPTS`` attempts with the policy's
backoff. When they all fail for a reason that may pass (server unreachable, throttled, 5xx,
timeout), the workflow records the trouble: what is being sent, the last error, the attempts
so far and since when (in its timeline once, in ``status`` and the current details until it
is over). It then waits the next backoff on a durable timer and sends again, with the same
idempotency key (same Message-ID; for an alert, the request already accepted). A failure for
good (non-retryable) ends the send as before: recorded, and the outbox moves on.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Literal, TypeVar

from pydantic import BaseModel, Field
from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import (
    ActivityError,
    ApplicationError,
    RetryState,
    TimeoutError,
    WorkflowAlreadyStartedError,
)

from workflows.policy import MailDelivery

ROUND_ATTEMPTS = 3
"""Attempts in one round: a brief blip is absorbed before anything is recorded."""
MAX_ERROR = 1000
"""Characters of the last error kept."""

Outbox = Literal["mail", "alert"]
T = TypeVar("T")


class DeliveryTrouble(BaseModel):
    """A send that keeps failing for a reason that may pass, and is being retried."""

    outbox: Outbox
    item: str = Field(description="The mail's kind or the alert change's action")
    error: str = Field(description="The last attempt's error")
    error_kind: str = Field(default="", description="Its kind (MailServerUnavailable...)")
    attempts: int = Field(description="Attempts made so far")
    since: datetime = Field(description="When the send began")
    last_at: datetime = Field(description="When the last round of attempts failed")
    carried: list[str] = Field(
        default=[], description="What the last failure left for the next round (a request id)"
    )


def error_text(exc: ActivityError) -> str:
    """What an activity failure says: the activity's own message, or the timeout."""
    cause = exc.cause
    text = cause.message if isinstance(cause, ApplicationError) else str(cause or exc)
    return text[:MAX_ERROR]


def error_kind(exc: ActivityError) -> str:
    """What kind of failure it was, for a reader in any language: the activity's error type
    (``MailServerUnavailable``, ``OpsgenieRejected``...), or ``Timeout``."""
    cause = exc.cause
    if isinstance(cause, ApplicationError) and cause.type:  # the last attempt's, if it timed out
        return cause.type
    if isinstance(cause, TimeoutError) or exc.retry_state == RetryState.TIMEOUT:
        return "Timeout"
    return "Error"


def workflow_failure_fields(exc: BaseException) -> dict[str, str]:
    """A failed call to another workflow (start a crisis, signal an incident) as timeline
    fields, as ``failure_fields``: the kind said in the reader's language, the text kept."""
    text = str(exc)[:MAX_ERROR]
    if isinstance(exc, WorkflowAlreadyStartedError):
        kind = "WorkflowExists"
    elif "not found" in text.lower():  # ExternalWorkflowExecutionNotFound: it has ended
        kind = "WorkflowEnded"
    elif isinstance(exc, ApplicationError) and exc.type:
        kind = exc.type
    else:
        kind = "Error"
    return {"error": text, "error_kind": kind}


def failure_fields(exc: ActivityError) -> dict[str, str]:
    """A failed activity as timeline fields: its text (technical, as it was said) and its
    kind, which the timeline tells in the reader's language."""
    return {"error": error_text(exc), "error_kind": error_kind(exc)}


def _interval(delivery: MailDelivery, attempt: int) -> timedelta:
    """Temporal's backoff before attempt ``attempt + 1`` (exponent bounded: no overflow)."""
    grown = delivery.retry_initial_interval_seconds * 2.0 ** min(attempt - 1, 64)
    return timedelta(seconds=min(grown, delivery.retry_maximum_interval_seconds))


def round_policy(delivery: MailDelivery, non_retryable: list[str], made: int) -> RetryPolicy:
    """The retry policy of the round that follows ``made`` attempts."""
    return RetryPolicy(
        initial_interval=_interval(delivery, made + 1),
        maximum_interval=timedelta(seconds=delivery.retry_maximum_interval_seconds),
        backoff_coefficient=2.0,
        maximum_attempts=ROUND_ATTEMPTS,
        non_retryable_error_types=non_retryable,
    )


Record = Callable[..., None]


async def send_in_rounds(
    send: Callable[[RetryPolicy, tuple[str, ...]], Awaitable[T]],
    delivery: MailDelivery,
    non_retryable: list[str],
    *,
    outbox: Outbox,
    item: str,
    retrying: dict[str, DeliveryTrouble],
    record: Record,
    publish: Callable[[], None],
) -> T:
    """Runs ``send`` (given the round's retry policy and what the last failure carried) until
    it succeeds or fails for good. ``retrying[outbox]`` holds the trouble while there is one;
    ``record(kind, by, sentence, **fields)`` tells the timeline when it begins and ends."""
    previous = retrying.get(outbox)  # carried from the run before a continue-as-new
    since = previous.since if previous is not None else workflow.now()
    made = previous.attempts if previous is not None else 0
    carried = tuple(previous.carried) if previous is not None else ()
    while True:
        try:
            result = await send(round_policy(delivery, non_retryable, made), carried)
        except ActivityError as exc:
            if exc.retry_state != RetryState.MAXIMUM_ATTEMPTS_REACHED:
                _over(retrying, outbox, publish)
                raise  # failed for good (non-retryable): the caller records it
            made += ROUND_ATTEMPTS
            cause = exc.cause
            if isinstance(cause, ApplicationError) and cause.details:
                carried = tuple(str(d) for d in cause.details)
            if outbox not in retrying:
                _tell(record, f"{outbox}_retrying", outbox, item,
                      attempts=str(made), **failure_fields(exc))  # fmt: skip
            retrying[outbox] = DeliveryTrouble(
                outbox=outbox, item=item, error=error_text(exc), error_kind=error_kind(exc),
                attempts=made, since=since, last_at=workflow.now(), carried=list(carried),
            )  # fmt: skip
            publish()
            await workflow.sleep(_interval(delivery, made), summary=f"{outbox} {item}: retry")
            continue
        if outbox in retrying:
            _tell(record, f"{outbox}_through", outbox, item, since_at=since.isoformat())
            _over(retrying, outbox, publish)
        return result


def _over(
    retrying: dict[str, DeliveryTrouble], outbox: Outbox, publish: Callable[[], None]
) -> None:
    if retrying.pop(outbox, None) is not None:
        publish()


def _tell(record: Record, kind: str, outbox: Outbox, item: str, **fields: str) -> None:
    name = "mail" if outbox == "mail" else "action"
    record(kind, "vigie", kind, **{name: item}, **fields)
