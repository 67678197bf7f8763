"""Opsgenie alert REST API, and Jira Service Management Operations through the same code.

JSM Operations serves Opsgenie's alert API (same paths, bodies and GenieKey
auth) under https://api.atlassian.com/jsm/ops/integration, so one client
serves both; only the base URL differs.

Every write answers 202 with a ``requestId``; the outcome is read from
``GET /v2/alerts/requests/{requestId}``, which answers 404
``RequestNotProcessed`` until Opsgenie has processed the request.
"""

from __future__ import annotations

import asyncio
import base64
from typing import Any, Literal

import httpx
from pydantic import BaseModel, Field, SecretStr

from activities.providers.opsgenie.marks import OWN_SOURCE

OPSGENIE_US = "https://api.opsgenie.com"
OPSGENIE_EU = "https://api.eu.opsgenie.com"
JSM_OPERATIONS = "https://api.atlassian.com/jsm/ops/integration"

Provider = Literal["opsgenie", "jsm"]
IdentifierType = Literal["id", "alias", "tiny"]


class OpsgenieError(Exception):
    """A refusal from the API: bad key, bad request, unknown alert. Retrying will not help."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(f"HTTP {status}: {message}")
        self.status = status


class OpsgenieUnavailable(Exception):
    """Throttled (429), a server error (5xx) or unreachable: try again later."""

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class RequestPending(Exception):
    """The write was accepted but Opsgenie has not processed it yet."""


class RequestOutcome(BaseModel):
    request_id: str
    success: bool
    status: str
    alert_id: str | None = None
    alias: str | None = None


class OpsgenieConfig(BaseModel):
    provider: Provider = "opsgenie"
    base_url: str = OPSGENIE_US
    api_key: SecretStr
    basic_user: str | None = Field(
        default=None,
        description="Basic auth user (JSM Operations REST API: the account's e-mail, with an "
        "API token as api_key); None: GenieKey auth",
    )
    timeout_seconds: float = 10.0
    status_polls: int = 8
    status_poll_interval_seconds: float = 0.5


def default_base_url(provider: Provider) -> str:
    return JSM_OPERATIONS if provider == "jsm" else OPSGENIE_US


def _authorization(config: OpsgenieConfig) -> str:
    secret = config.api_key.get_secret_value()
    if config.basic_user is None:
        return f"GenieKey {secret}"
    pair = f"{config.basic_user}:{secret}".encode()
    return f"Basic {base64.b64encode(pair).decode()}"


def _message(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.text[:300] or response.reason_phrase
    if not isinstance(body, dict):
        return str(body)[:300]
    message = str(body.get("message") or response.reason_phrase)
    errors = body.get("errors")
    if isinstance(errors, dict) and errors:
        message += " (" + "; ".join(f"{k}: {v}" for k, v in errors.items()) + ")"
    elif isinstance(errors, list) and errors:  # JSM Operations: [{"title": ...}]
        titles = [str(e.get("title") or e) if isinstance(e, dict) else str(e) for e in errors]
        message += " (" + "; ".join(titles)[:300] + ")"
    return message


def _retry_after(response: httpx.Response) -> float | None:
    for header in ("Retry-After", "X-RateLimit-Period-In-Sec"):
        value = response.headers.get(header)
        if value:
            try:
                return float(value)
            except ValueError:
                continue
    return None


class OpsgenieApi:
    """The alert API calls Vigie needs, on one shared ``httpx.AsyncClient``."""

    def __init__(self, config: OpsgenieConfig, transport: httpx.AsyncBaseTransport | None = None):
        self.config = config
        self._http = httpx.AsyncClient(
            base_url=config.base_url.rstrip("/"),
            headers={"Authorization": _authorization(config), "User-Agent": "vigie"},
            timeout=config.timeout_seconds,
            transport=transport,
        )

    async def aclose(self) -> None:
        await self._http.aclose()

    async def _call(
        self, method: str, path: str, *, json: Any = None, params: dict[str, str] | None = None
    ) -> httpx.Response:
        try:
            response = await self._http.request(method, path, json=json, params=params)
        except httpx.TimeoutException as exc:
            raise OpsgenieUnavailable(f"{method} {path} timed out") from exc
        except httpx.TransportError as exc:
            raise OpsgenieUnavailable(f"{method} {path} unreachable: {exc}") from exc
        if response.status_code == 429:
            raise OpsgenieUnavailable(
                f"throttled by {self.config.provider}: {_message(response)}",
                retry_after=_retry_after(response),
            )
        if response.status_code >= 500:
            raise OpsgenieUnavailable(f"HTTP {response.status_code}: {_message(response)}")
        return response

    async def _write(
        self, method: str, path: str, body: Any = None, params: dict[str, str] | None = None
    ) -> str:
        response = await self._call(method, path, json=body, params=params)
        if response.status_code >= 400:
            raise OpsgenieError(response.status_code, _message(response))
        request_id = response.json().get("requestId")
        if not request_id:
            raise OpsgenieUnavailable(f"{method} {path}: no requestId in the answer")
        return str(request_id)

    async def request_status(self, request_id: str) -> RequestOutcome:
        """The outcome of a write; raises RequestPending while it is not processed."""
        response = await self._call("GET", f"/v2/alerts/requests/{request_id}")
        if response.status_code == 404:
            if response.headers.get("X-Opsgenie-Errortype") == "RequestNotProcessed":
                raise RequestPending(request_id)
            raise OpsgenieError(404, _message(response))
        if response.status_code >= 400:
            raise OpsgenieError(response.status_code, _message(response))
        data = response.json().get("data") or {}
        return RequestOutcome(
            request_id=request_id,
            success=bool(data.get("isSuccess", data.get("success", False))),
            status=str(data.get("status", "")),
            alert_id=data.get("alertId"),
            alias=data.get("alias"),
        )

    async def wait_for(self, request_id: str) -> RequestOutcome:
        """Polls the request status a few times; RequestPending if still not processed."""
        delay = self.config.status_poll_interval_seconds
        for attempt in range(self.config.status_polls):
            try:
                return await self.request_status(request_id)
            except RequestPending:
                if attempt == self.config.status_polls - 1:
                    raise
                await asyncio.sleep(delay)
                delay = min(delay * 2, 5.0)
        raise RequestPending(request_id)

    # --- writes: each returns the requestId to confirm with wait_for ----------

    @staticmethod
    def _alert(identifier: str) -> str:
        return f"/v2/alerts/{httpx.URL(path=identifier).raw_path.decode()}"

    @staticmethod
    def _kind(identifier_type: IdentifierType) -> dict[str, str]:
        return {"identifierType": identifier_type}

    async def create_alert(self, body: dict[str, Any]) -> str:
        return await self._write("POST", "/v2/alerts", body)

    async def add_note(self, identifier: str, kind: IdentifierType, note: str, user: str) -> str:
        body = {"note": note, "user": user, "source": OWN_SOURCE}
        return await self._write("POST", self._alert(identifier) + "/notes", body, self._kind(kind))

    async def acknowledge(
        self, identifier: str, kind: IdentifierType, user: str, note: str | None = None
    ) -> str:
        body = {"user": user, "source": OWN_SOURCE, **({"note": note} if note else {})}
        return await self._write(
            "POST", self._alert(identifier) + "/acknowledge", body, self._kind(kind)
        )

    async def close(
        self, identifier: str, kind: IdentifierType, user: str, note: str | None = None
    ) -> str:
        body = {"user": user, "source": OWN_SOURCE, **({"note": note} if note else {})}
        return await self._write("POST", self._alert(identifier) + "/close", body, self._kind(kind))

    async def update_priority(self, identifier: str, kind: IdentifierType, priority: str) -> str:
        return await self._write(
            "PUT", self._alert(identifier) + "/priority", {"priority": priority}, self._kind(kind)
        )

    async def add_tags(
        self, identifier: str, kind: IdentifierType, tags: list[str], user: str
    ) -> str:
        body = {"tags": tags, "user": user, "source": OWN_SOURCE}
        return await self._write("POST", self._alert(identifier) + "/tags", body, self._kind(kind))

    async def remove_tags(
        self, identifier: str, kind: IdentifierType, tags: list[str], user: str
    ) -> str:
        params = {**self._kind(kind), "tags": ",".join(tags), "user": user, "source": OWN_SOURCE}
        return await self._write("DELETE", self._alert(identifier) + "/tags", None, params)

    async def add_responder(
        self, identifier: str, kind: IdentifierType, responder: dict[str, str], user: str
    ) -> str:
        body = {"responder": responder, "user": user, "source": OWN_SOURCE}
        return await self._write(
            "POST", self._alert(identifier) + "/responders", body, self._kind(kind)
        )

    async def escalate(
        self, identifier: str, kind: IdentifierType, escalation: str, user: str
    ) -> str:
        body = {"escalation": {"name": escalation}, "user": user, "source": OWN_SOURCE}
        return await self._write(
            "POST", self._alert(identifier) + "/escalate", body, self._kind(kind)
        )

    # --- reads -----------------------------------------------------------------

    async def read(self, path: str, params: dict[str, str] | None = None) -> Any:
        """The JSON answer of a GET; OpsgenieError on 4xx, OpsgenieUnavailable otherwise."""
        response = await self._call("GET", path, params=params)
        if response.status_code >= 400:
            raise OpsgenieError(response.status_code, _message(response))
        try:
            return response.json()
        except ValueError as exc:
            raise OpsgenieUnavailable(f"GET {path}: the answer is not JSON") from exc

    async def who_is_on_call(self, schedule: str) -> list[str]:
        response = await self._call(
            "GET",
            f"/v2/schedules/{httpx.URL(path=schedule).raw_path.decode()}/on-calls",
            params={"scheduleIdentifierType": "name", "flat": "true"},
        )
        if response.status_code >= 400:
            raise OpsgenieError(response.status_code, _message(response))
        try:
            body = response.json()
        except ValueError as exc:
            raise OpsgenieUnavailable(f"on-call of {schedule!r}: the answer is not JSON") from exc
        data = body.get("data") if isinstance(body, dict) else None
        found = data.get("onCallRecipients") if isinstance(data, dict) else None
        return [str(r) for r in found if r] if isinstance(found, list) else []
