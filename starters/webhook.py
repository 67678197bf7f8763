"""The webhook receiver: Opsgenie's (or JSM's) outgoing webhook starts and steers incidents.

POST /webhooks/opsgenie answers 202 once the incident is started or signalled;
it never waits for the incident's own work. Bad input gets a JSON error: 400
for malformed or unbounded JSON, 401 for a wrong secret, 408 for a body that
is too slow to arrive, 413 for a body too large, 415 for a media type other
than JSON, 422 for a payload that is not an alert event. Never a 500 for bad
input.
"""

from __future__ import annotations

import hmac
import logging
import time
from typing import Any

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
)
from pydantic import ValidationError
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from temporalio.service import RPCError

from activities.providers.opsgenie.mapping import OpsgenieMapping
from activities.providers.opsgenie.webhook_events import Plan, WebhookEvent, plan
from starters.gateway import UNAVAILABLE, IncidentGateway
from starters.webhook_body import BodyRefused, check_media_type, parse_json, read_body

# What a 503 asks the sender to wait before delivering again.
RETRY_AFTER_SECONDS = 30

log = logging.getLogger(__name__)

PATH = "/webhooks/opsgenie"
KNOWN_ACTIONS = {
    "Create", "Acknowledge", "TakeOwnership", "AssignOwnership", "AddNote", "Close",
    "UpdatePriority", "Escalate", "AddTags", "RemoveTags", "AddRecipient", "AddTeam",
    "UnAcknowledge", "Delete", "CustomAction",
}  # fmt: skip


def action_label(action: Any, mapping: OpsgenieMapping) -> str:
    """The action as a metric label: a known action, or "(other)" so that senders
    cannot grow the number of series without bound."""
    if isinstance(action, str) and (action in KNOWN_ACTIONS or action in mapping.custom_actions):
        return action
    return "(other)"


def _error(status: int, message: str, **extra: Any) -> JSONResponse:
    return JSONResponse({"error": message, **extra}, status_code=status)


def openapi(secret_header: str) -> dict[str, Any]:
    schema = WebhookEvent.model_json_schema(ref_template="#/components/schemas/{model}")
    definitions = schema.pop("$defs", {})
    error = {
        "type": "object",
        "properties": {"error": {"type": "string"}, "problems": {"type": "array"}},
    }
    answer = {
        "type": "object",
        "properties": {
            "result": {"enum": ["started", "duplicate", "delivered", "ignored"]},
            "incident": {"type": "string"},
            "reason": {"type": "string"},
        },
    }

    def respond(description: str, body: dict[str, Any]) -> dict[str, Any]:
        return {"description": description, "content": {"application/json": {"schema": body}}}

    return {
        "openapi": "3.1.0",
        "info": {"title": "Vigie webhook receiver", "version": "1"},
        "paths": {
            PATH: {
                "post": {
                    "summary": "Opsgenie / JSM Operations outgoing webhook",
                    "parameters": [
                        {
                            "name": secret_header,
                            "in": "header",
                            "required": True,
                            "schema": {"type": "string"},
                        },
                    ],
                    "requestBody": {
                        "required": True,
                        "content": {"application/json": {"schema": schema}},
                    },
                    "responses": {
                        "202": respond("Started, signalled, or knowingly ignored", answer),
                        "400": respond(
                            "Malformed JSON, nested too deep, or a number out of range", error
                        ),
                        "401": respond("Missing or wrong secret", error),
                        "404": respond(
                            "No incident for this alert, and too little to open one", error
                        ),
                        "408": respond("Body too slow to arrive", error),
                        "413": respond("Body too large", error),
                        "415": respond("Content-Type is not JSON", error),
                        "422": respond("Not an alert event", error),
                        "503": respond("Temporal unreachable: deliver again later", error),
                    },
                }
            },
            "/healthz": {"get": {"responses": {"200": {"description": "Alive"}}}},
        },
        "components": {"schemas": definitions},
    }


def create_app(
    gateway: IncidentGateway,
    mapping: OpsgenieMapping,
    *,
    secret: str | None,
    secret_header: str = "X-Webhook-Secret",
    max_body_bytes: int = 256 * 1024,
    read_timeout_seconds: float = 10.0,
) -> Starlette:
    """``secret`` None means no authentication (dev mode only; the CLI enforces that).
    ``read_timeout_seconds`` bounds the time a sender may take to send its body."""
    expected = secret.encode() if secret else None

    registry = CollectorRegistry()
    requests = Counter(
        "vigie_webhook_requests",
        "Webhook deliveries, by alert action and HTTP status",
        ["action", "status"],
        registry=registry,
    )
    latency = Histogram(
        "vigie_webhook_request_seconds",
        "Time to answer a webhook delivery",
        registry=registry,
        buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
    )

    async def receive(request: Request) -> JSONResponse:
        started = time.perf_counter()
        action = ["(unparsed)"]
        response = await _receive(request, action)
        latency.observe(time.perf_counter() - started)
        requests.labels(action=action[0], status=str(response.status_code)).inc()
        return response

    async def _receive(request: Request, action: list[str]) -> JSONResponse:
        if expected is not None:
            given = request.headers.get(secret_header, "").encode()
            if not hmac.compare_digest(given, expected):
                return _error(401, f"missing or wrong {secret_header} header")
        try:
            check_media_type(request)
            raw = parse_json(await read_body(request, max_body_bytes, read_timeout_seconds))
        except BodyRefused as exc:
            return _error(exc.status, exc.message)
        if isinstance(raw, dict):
            action[0] = action_label(raw.get("action"), mapping)
        try:
            event = WebhookEvent.model_validate(raw)
        except ValidationError as exc:
            problems = [
                {"field": ".".join(str(p) for p in e["loc"]) or "(body)", "problem": e["msg"]}
                for e in exc.errors(include_url=False, include_input=False)
            ]
            return _error(422, "not an Opsgenie alert event", problems=problems)
        try:
            return await _apply(plan(event, mapping), event)
        except ValidationError as exc:  # alert content an incident cannot take
            problems = [
                {"field": ".".join(str(p) for p in e["loc"]), "problem": e["msg"]}
                for e in exc.errors(include_url=False, include_input=False)
            ]
            return _error(422, "alert content not usable for an incident", problems=problems)
        except (RuntimeError, RPCError) as exc:  # Temporal cannot take the call now
            if isinstance(exc, RPCError) and exc.status not in UNAVAILABLE:
                raise
            log.error(
                "webhook %s for %s: Temporal unavailable: %s",
                event.action,
                event.alert.alertId,
                exc,
            )
            response = _error(503, "Temporal is unavailable; deliver again later")
            response.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
            return response

    async def _apply(todo: Plan, event: WebhookEvent) -> JSONResponse:
        incident = todo.incident_id
        if todo.kind == "ignore":
            log.info(
                "webhook %s for %s ignored: %s", event.action, incident, todo.reason,
                extra={"incident": incident},
            )  # fmt: skip
            return _answer("ignored", incident, todo.reason)
        if todo.kind == "refuse":
            log.warning("webhook %s for %s refused: %s", event.action, incident, todo.reason,
                        extra={"incident": incident})  # fmt: skip
            field, problem = todo.reason.split(": ", 1)
            return _error(422, "alert content not usable for an incident",
                          problems=[{"field": field, "problem": problem}])  # fmt: skip
        if todo.kind == "start":
            assert todo.start is not None
            outcome = await gateway.start(incident, todo.start)
            log.info("webhook Create for %s: %s", incident, outcome, extra={"incident": incident})
            if outcome == "duplicate" and todo.input is not None:
                # Opened by an earlier event of the alert, or a repeated Create: the incident
                # takes what it lacks (nothing, for a repeat).
                told = await gateway.signal(incident, "alert_created", todo.input, None)
                if told == "delivered":
                    return _answer(outcome, incident, "the incident exists already: the "
                                   "Create was sent to it and fills in anything it was "
                                   "opened without (a closed incident takes nothing)")  # fmt: skip
                if told == "closed":
                    return _answer("ignored", incident, "the incident for this alert is "
                                   "over: the Create opens nothing (an alert whose alias names "
                                   "a closed incident needs an alias of its own)")  # fmt: skip
            return _answer(outcome, incident)
        assert todo.operation is not None
        assert todo.operation is not None and todo.input is not None
        outcome = await gateway.signal(incident, todo.operation, todo.input, todo.start)
        log.info(
            "webhook %s → %s on %s: %s", event.action, todo.operation, incident, outcome,
            extra={"incident": incident},
        )  # fmt: skip
        if outcome == "missing":
            if todo.operation == "record_event":
                return _answer("ignored", incident, f"no incident for this alert ({event.action})")
            return _error(
                404,
                f"no incident for alert {event.alert.alertId}, and the event carries no "
                "alert message to open one",
                incident=incident,
            )
        if outcome == "closed":
            return _answer("ignored", incident, "the incident is already closed")
        return _answer(outcome, incident)

    def _answer(result: str, incident: str, reason: str = "") -> JSONResponse:
        body = {"result": result, "incident": incident}
        if reason:
            body["reason"] = reason
        return JSONResponse(body, status_code=202)

    async def healthz(request: Request) -> JSONResponse:
        return JSONResponse({"status": "ok"})

    document = openapi(secret_header)

    async def spec(request: Request) -> JSONResponse:
        return JSONResponse(document)

    async def metrics(request: Request) -> Response:
        return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)

    app = Starlette(
        routes=[
            Route(PATH, receive, methods=["POST"]),
            # With a trailing slash too: a redirect would name the plain-HTTP address behind a
            # TLS proxy, and a sender that follows it would send its secret in clear.
            Route(f"{PATH}/", receive, methods=["POST"]),
            Route("/healthz", healthz, methods=["GET"]),
            Route("/openapi.json", spec, methods=["GET"]),
            Route("/metrics", metrics, methods=["GET"]),
        ]
    )
    # No redirect for any other path either (``/webhooks/opsgenie//``): 404.
    app.router.redirect_slashes = False
    return app
