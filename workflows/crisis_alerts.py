"""The Opsgenie alerts that carried a crisis's notifications (mail system down) are closed
once the crisis is over, closed or cancelled, so that Opsgenie stops escalating P1 alerts for
a crisis that has ended. A notification carried by an alert after that (the closing mail, a
REX reminder) has its alert closed once it is sent: it paged once, as a mail arrives once."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from temporalio import workflow
from temporalio.exceptions import ActivityError, RetryState

with workflow.unsafe.imports_passed_through():
    from activities.models import AlertActionInput, AlertActionResult
    from workflows import versions
    from workflows.continuing import reraise_if_run_ends
    from workflows.crisis_models import CrisisState
    from workflows.delivery import failure_fields
    from workflows.models import AlertCommand, AlertRef
    from workflows.operations import SYSTEM

PATCH_CLOSE_ALERTS = "crisis-alerts-closed"
OVER = ("closed", "cancelled", "rex_submitted")
# How long Vigie keeps trying the closes it queued while Opsgenie is unreachable (all of them
# together); then those left are told as not closed.
CLOSE_WITHIN = timedelta(hours=1)


def open_alerts(s: CrisisState) -> list[str]:
    """Keys (the alerts' aliases) of notifications carried by an alert that Vigie has not
    tried to close yet (``alert_closed`` None), nor queued for closing."""
    return [
        n.key
        for n in s.notifications
        if n.channel == "opsgenie" and n.status == "sent" and n.alert_closed is None
        and n.key not in s.alerts_to_close
    ]  # fmt: skip


Record = Callable[..., None]


class AlertCloser:
    """Queues the alerts to close in the state (it travels with continue-as-new) and closes
    them one by one in a task of its own, which ends when the queue is empty. Each alert is
    tried once: closed, or told as not closed with the reason."""

    def __init__(self, record: Record, line: Callable[..., str], stopping: Callable[[], bool]):
        self._record = record
        self._line = line
        self._stopping = stopping
        self._running = False

    def queue(self, s: CrisisState) -> bool:
        """True when a task should start to close what was queued (none is running). Asks
        the patch only when there is an alert to close, so that crises without one record
        no marker."""
        if s.status not in OVER:
            return False
        keys = open_alerts(s)
        if keys and versions.patched(PATCH_CLOSE_ALERTS):
            s.alerts_to_close += keys
        if not s.alerts_to_close or self._running:
            return False
        self._running = True  # before the task's first step: one drain at a time
        return True

    async def drain(self, s: CrisisState, within: timedelta) -> None:
        """Closes the queued alerts; Opsgenie unreachable, it keeps trying ``within`` for all
        of them together, then tells those left as not closed."""
        deadline = workflow.now() + within
        closed = 0
        try:
            while s.alerts_to_close and not self._stopping():
                key = s.alerts_to_close[0]
                left = deadline - workflow.now()
                if left > timedelta(0):
                    error = await self._close(s, key, left)
                else:
                    error = {"error": self._line("line.alert_unreachable")}
                if error is None:
                    closed += 1
                else:
                    self._record("alert_close_failed", SYSTEM, alias=key, **error)
                for n in s.notifications:
                    if n.key == key:
                        n.alert_closed = error is None
                s.alerts_to_close.pop(0)
        finally:
            self._running = False
            if closed:
                self._record("alerts_closed", SYSTEM, count=str(closed))

    async def _close(self, s: CrisisState, key: str, within: timedelta) -> dict[str, str] | None:
        """None once closed; else why not, as timeline fields (Opsgenie refused it, or stayed
        unreachable)."""
        delivery = s.policy.alert_delivery
        try:
            result = await workflow.execute_activity(
                "opsgenie_alert_action",
                AlertActionInput(
                    incident_id=s.crisis_id,
                    alert=AlertRef(identifier=key, identifier_type="alias"),
                    command=AlertCommand(
                        action="close", user="vigie", note=self._line("line.alert_closed")
                    ),
                ),
                result_type=AlertActionResult,
                start_to_close_timeout=timedelta(minutes=1),
                schedule_to_close_timeout=within,
                retry_policy=delivery.retry_policy(["OpsgenieRejected"]),
                summary="close crisis alert",
            )
        except ActivityError as exc:
            reraise_if_run_ends(exc)
            failure = failure_fields(exc)
            if exc.retry_state == RetryState.TIMEOUT or failure["error_kind"] == "Timeout":
                said = failure["error"]  # the last attempt's error, after "did not answer"
                return {"error": self._line("line.alert_unreachable.error", error=said)}
            return failure
        return {"error": result.skipped} if result.skipped else None
