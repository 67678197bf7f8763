"""Keeps the Opsgenie (or JSM Operations) alert in step with the incident."""

from __future__ import annotations

from datetime import timedelta

from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.models import AlertActionInput, AlertActionResult, OnCallInput, OnCallResult
from activities.providers.opsgenie.client import (
    OpsgenieApi,
    OpsgenieError,
    OpsgenieUnavailable,
    RequestPending,
)
from workflows.limits import mailable
from workflows.metrics import count
from workflows.models import AlertCommand, AlertRef
from workflows.texts import NO_ADDRESS_ON_CALL, NO_ALERT_KEY

NO_KEY = NO_ALERT_KEY


def accepted(request_id: str | None) -> list[str]:
    """Failure details: the write already accepted, for the workflow's next round."""
    return [request_id] if request_id else []


class AlertActivities:
    """``api`` is None without an API key: then nothing is sent, and the result says so."""

    def __init__(self, api: OpsgenieApi | None) -> None:
        self._api = api

    async def _send(self, api: OpsgenieApi, ref: AlertRef, cmd: AlertCommand) -> str:
        ident, kind = ref.identifier, ref.identifier_type
        match cmd.action:
            case "create":
                return await api.create_alert(cmd.alert)
            case "note":
                return await api.add_note(ident, kind, cmd.note or "", cmd.user)
            case "acknowledge":
                return await api.acknowledge(ident, kind, cmd.user, cmd.note)
            case "close":
                return await api.close(ident, kind, cmd.user, cmd.note)
            case "priority":
                return await api.update_priority(ident, kind, cmd.priority or "P3")
            case "add_tags":
                return await api.add_tags(ident, kind, cmd.tags, cmd.user)
            case "remove_tags":
                return await api.remove_tags(ident, kind, cmd.tags, cmd.user)
            case "add_responder":
                return await api.add_responder(ident, kind, cmd.responder, cmd.user)
            case "escalate":
                return await api.escalate(ident, kind, cmd.escalation or "", cmd.user)

    @activity.defn(name="opsgenie_alert_action")
    async def alert_action(self, input: AlertActionInput) -> AlertActionResult:
        outcome = "error"
        try:
            result = await self._alert_action(input)
            outcome = "skipped" if result.skipped else "ok"
            return result
        except ApplicationError as exc:
            outcome = (exc.type or "error").removeprefix("Opsgenie").lower()
            raise
        finally:
            count(
                activity.metric_meter(),
                "vigie_opsgenie_calls",
                action=input.command.action,
                outcome=outcome,
            )

    async def _alert_action(self, input: AlertActionInput) -> AlertActionResult:
        if self._api is None:
            return AlertActionResult(skipped=NO_KEY)
        provider = self._api.config.provider
        # A retry after the write was accepted only waits for its outcome: never sent twice.
        # The request id comes from the attempt before (heartbeat) or the round before (input).
        details = activity.info().heartbeat_details
        request_id = str(details[0]) if details else input.request_id
        try:
            if request_id is None:
                request_id = await self._send(self._api, input.alert, input.command)
                activity.heartbeat(request_id)
            outcome = await self._api.wait_for(request_id)
        except OpsgenieError as exc:
            raise ApplicationError(
                f"{exc} ({provider})",  # the action is named by the timeline's sentence
                type="OpsgenieRejected",
                non_retryable=True,
            ) from exc
        except OpsgenieUnavailable as exc:
            delay = timedelta(seconds=exc.retry_after) if exc.retry_after else None
            raise ApplicationError(
                f"{provider} unavailable: {exc}",
                *accepted(request_id),
                type="OpsgenieUnavailable",
                next_retry_delay=delay,
            ) from exc
        except RequestPending as exc:
            raise ApplicationError(
                f"{provider} has not processed request {request_id} yet",
                *accepted(request_id),
                type="OpsgenieRequestPending",
            ) from exc
        if not outcome.success:
            raise ApplicationError(
                f"{outcome.status} ({provider})",
                type="OpsgenieRejected",
                non_retryable=True,
            )
        activity.logger.info("%s %s done for %s", provider, input.command.action, input.incident_id)
        return AlertActionResult(status=outcome.status, alert_id=outcome.alert_id)

    @activity.defn(name="opsgenie_who_is_on_call")
    async def who_is_on_call(self, input: OnCallInput) -> OnCallResult:
        if self._api is None:
            return OnCallResult(skipped=NO_KEY)
        try:
            on_call = await self._api.who_is_on_call(input.schedule)
        except OpsgenieError as exc:
            raise failure(exc, f"on-call of {input.schedule!r}: {exc}") from exc
        except OpsgenieUnavailable as exc:
            raise failure(exc, str(exc)) from exc
        # An address no mail can be sent to would make the page fail for everyone it goes to.
        found = [who for who in on_call if mailable(who)]
        if on_call and not found:
            return OnCallResult(skipped=NO_ADDRESS_ON_CALL)
        return OnCallResult(recipients=found)


def failure(
    exc: OpsgenieError | OpsgenieUnavailable, message: str, *details: str
) -> ApplicationError:
    """A refusal is final; an outage is retried, after the delay the server asked for.
    ``details``: for the workflow, with a refusal (what to check, say)."""
    if isinstance(exc, OpsgenieError):
        return ApplicationError(message, *details, type="OpsgenieRejected", non_retryable=True)
    delay = timedelta(seconds=exc.retry_after) if exc.retry_after else None
    return ApplicationError(message, type="OpsgenieUnavailable", next_retry_delay=delay)
