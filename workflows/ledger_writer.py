"""Keeps the incident ledger in step with a workflow (deterministic workflow code).

A workflow calls ``changed()`` after each change (its milestones: opened, acknowledged,
pending, resumed, recategorized, resolved, reopened, closed, breaches, crisis steps, REX)
and runs ``run()`` as a task beside its main loop. Writes are coalesced: the facts are
built when the write starts, so a burst of changes makes one write of the latest facts.
The ledger's upsert is idempotent and guarded by the facts' revision, so a retried
activity, a replay or the next run after continue-as-new never counts twice. A ledger
that cannot be reached is retried without end; facts it refuses are given up (the
workflow is told through ``on_refused``) and the next change writes again (with a
``revision``, the next change other than what the refusal itself recorded).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from pydantic import BaseModel
from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError

from workflows import urgency
from workflows.waiting import wait_until

RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=2),
    maximum_interval=timedelta(minutes=5),
    backoff_coefficient=2.0,
    maximum_attempts=0,
    non_retryable_error_types=["LedgerRefused"],
)


class LedgerWriter:
    def __init__(
        self,
        activity: str,
        input: Callable[[], BaseModel],
        on_refused: Callable[[str], None] | None = None,
        revision: Callable[[], int] | None = None,
        skip_refused: bool = False,
    ) -> None:
        self._activity = activity
        self._input = input
        self._on_refused = on_refused
        self._revision = revision
        self._marked: int | None = None
        self._skip_refused = skip_refused
        self._refused: object = None  # the facts last refused (see _comparable)
        self._dirty = False
        self._writing = False
        self._stopped = False

    def changed(self) -> None:
        """Asks for a write. With ``revision`` (the facts' revision, which grows with every
        event recorded), only when it moved since the last ask: a pass of the workflow that
        recorded nothing, such as a timer that wakes early and re-arms, writes nothing."""
        if self._revision is not None:
            revision = self._revision()
            if revision == self._marked:
                return
            self._marked = revision
        self._dirty = True

    def stop(self) -> None:
        """No new write starts (the run continues as new: the next run writes again)."""
        self._stopped = True

    def idle(self) -> bool:
        """Nothing left to write: wait for it before the workflow completes."""
        return not self._dirty and not self._writing

    async def run(self) -> None:
        while True:
            await wait_until(lambda: self._dirty and not self._stopped)
            self._dirty = False
            sent = self._input()
            if self._skip_refused and _comparable(sent) == self._refused:
                continue  # refused as they are: sent again only once they change
            self._writing = True
            try:
                await workflow.execute_activity(
                    self._activity,
                    sent,
                    start_to_close_timeout=timedelta(seconds=30),
                    retry_policy=RETRY,
                    summary="ledger",
                    priority=urgency.BACKGROUND,
                )
            except ActivityError as exc:
                cause = exc.cause
                why = cause.message if isinstance(cause, ApplicationError) else str(exc)
                if self._skip_refused:
                    self._refused = _comparable(sent)
                if self._on_refused is not None:
                    self._on_refused(why)
                if self._revision is not None:
                    # What the refusal recorded is no reason to send the same facts again:
                    # they would be refused again, and recorded again, without end.
                    self._marked = self._revision()
            finally:
                self._writing = False


def _comparable(input: BaseModel) -> object:
    """A write's input without when its facts were built (``as_of``) and how many events the
    workflow had recorded then (``revision``, which the refusal itself moves)."""
    data = input.model_dump(mode="json")
    facts = data.get("facts")
    if isinstance(facts, dict):
        facts.pop("as_of", None)
        facts.pop("revision", None)
    return data
