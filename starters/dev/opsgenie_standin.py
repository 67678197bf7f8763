"""A local Opsgenie stand-in: the alert API subset Vigie uses, asynchronous like the real one.

Writes answer 202 with a ``requestId``; ``GET /v2/alerts/requests/{id}``
answers 404 ``RequestNotProcessed`` for the first polls, then the outcome.
Every change to an alert is sent to the configured webhook URL in the shape
of Opsgenie's outgoing webhook, so Vigie sees what it would see in
production. ``POST /_standin/faults`` makes the next calls fail (429, 500,
401...). Alerts live in memory.

On-call schedules are named lists of participants taking turns a day each (handover at
00:00 UTC), served as Opsgenie serves them: who is on call, and the timeline.
``POST /_standin/schedules/{name}/gaps`` with ``{"from": ..., "to": ...}`` leaves nobody on
call between two ISO 8601 times; ``DELETE`` on the same path fills every gap again;
``PUT /_standin/schedules/{name}`` with ``{"participants": [...]}`` creates or changes a
schedule (an empty list makes an empty rotation).
"""

from __future__ import annotations

import asyncio
import itertools
import json
import logging
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

log = logging.getLogger(__name__)

PRIORITIES = ("P1", "P2", "P3", "P4", "P5")


def _took() -> float:
    return 0.01


class OpsgenieStandIn:
    def __init__(
        self,
        *,
        api_key: str | None = None,
        webhook_url: str | None = None,
        webhook_headers: dict[str, str] | None = None,
        pending_polls: int = 1,
        schedules: dict[str, list[str]] | None = None,
        state_file: Path | None = None,
    ) -> None:
        """``state_file``: where the alerts are kept between runs (the dev stack's data
        folder), so that incidents still open find their alerts after a restart."""
        self.api_key = api_key
        self.webhook_url = webhook_url
        self.webhook_headers = webhook_headers or {}
        self.pending_polls = pending_polls
        self.schedules = schedules or {}
        self.gaps: dict[str, list[tuple[datetime, datetime]]] = {}
        self.alerts: dict[str, dict[str, Any]] = {}
        self.requests: dict[str, dict[str, Any]] = {}
        self.faults: list[int] = []
        self.calls: list[tuple[str, str]] = []
        self.webhooks: list[dict[str, Any]] = []
        # (action, HTTP status, the receiver's "result") of every webhook delivered.
        self.answers: list[tuple[str, int, str | None]] = []
        self._state_file = state_file
        if state_file is not None and state_file.exists():
            self.alerts = json.loads(state_file.read_text(encoding="utf-8"))
        last_tiny = max((int(a.get("tinyId", 0)) for a in self.alerts.values()), default=0)
        self._tiny = itertools.count(last_tiny + 1)
        self._tasks: set[asyncio.Task[None]] = set()
        self._http = httpx.AsyncClient(timeout=10)

    # --- helpers -------------------------------------------------------------

    def find(self, identifier: str, kind: str = "id") -> dict[str, Any] | None:
        for alert in self.alerts.values():
            if (kind == "id" and alert["id"] == identifier) or (
                kind == "alias" and alert["alias"] == identifier and alert["status"] == "open"
            ):
                return alert
            if kind == "tiny" and alert["tinyId"] == identifier:
                return alert
        if kind == "alias":  # a closed alert is still found by alias when no open one is
            return next((a for a in self.alerts.values() if a["alias"] == identifier), None)
        return None

    def _save(self) -> None:
        if self._state_file is None:
            return
        kept = self._state_file.with_suffix(".tmp")
        kept.write_text(json.dumps(self.alerts), encoding="utf-8")
        kept.replace(self._state_file)

    def _accepted(
        self, action: str, alert: dict[str, Any] | None, status: str, ok: bool = True
    ) -> JSONResponse:
        self._save()
        request_id = str(uuid.uuid4())
        self.requests[request_id] = {
            "polls_left": self.pending_polls,
            "data": {
                "success": ok,
                "isSuccess": ok,
                "action": action,
                "processedAt": time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime()),
                "integrationId": "vigie-standin",
                "status": status,
                **({"alertId": alert["id"], "alias": alert["alias"]} if alert else {}),
            },
        }
        return JSONResponse(
            {"result": "Request will be processed", "took": _took(), "requestId": request_id},
            status_code=202,
        )

    def _webhook(
        self,
        action: str,
        alert: dict[str, Any],
        source: str,
        event: dict[str, Any] | None = None,
        **extra: Any,
    ) -> None:
        """Opsgenie's webhook of ``action``: ``extra`` in the alert, ``event`` beside it (an
        escalation's name, as Opsgenie sends it)."""
        body = {
            **(event or {}),
            "action": action,
            "alert": {
                "alertId": alert["id"],
                "message": alert["message"],
                "tags": list(alert["tags"]),
                "tinyId": alert["tinyId"],
                "entity": alert["entity"],
                "alias": alert["alias"],
                "createdAt": alert["createdAt"],
                "updatedAt": time.time_ns(),
                "username": extra.pop("user", None) or alert["owner"] or "standin",
                **(
                    {
                        "description": alert["description"],
                        "details": alert["details"],
                        "priority": alert["priority"],
                    }
                    if action == "Create"
                    else {}
                ),
                **extra,
            },
            "source": {"name": source, "type": "API"},
            "integrationName": "Vigie stand-in",
            "integrationId": "vigie-standin",
            "integrationType": "Webhook",
        }
        self.webhooks.append(body)
        if self.webhook_url:
            task = asyncio.get_running_loop().create_task(self._deliver(body))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _deliver(self, body: dict[str, Any]) -> None:
        assert self.webhook_url is not None
        try:
            response = await self._http.post(
                self.webhook_url, json=body, headers=self.webhook_headers
            )
            log.info("webhook %s → %s", body["action"], response.status_code)
        except httpx.HTTPError as exc:
            log.warning("webhook %s not delivered: %s", body["action"], exc)
            return
        try:
            result = response.json().get("result")
        except ValueError:
            result = None
        self.answers.append((body["action"], response.status_code, result))

    async def settled(self) -> None:
        """Waits until every webhook sent so far has been answered (or failed)."""
        while self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)

    async def aclose(self) -> None:
        await self.settled()
        await self._http.aclose()

    # --- schedules -------------------------------------------------------------

    def on_call_at(self, name: str, at: datetime) -> list[str]:
        participants = self.schedules.get(name) or []
        if not participants or any(a <= at < b for a, b in self.gaps.get(name, [])):
            return []
        return [participants[at.astimezone(UTC).toordinal() % len(participants)]]

    def periods(self, name: str, start: datetime, end: datetime) -> list[dict[str, Any]]:
        """Day-long turns clipped to [start, end), with the gaps cut out."""
        participants = self.schedules.get(name) or []
        if not participants:
            return []
        found: list[dict[str, Any]] = []
        day = datetime.combine(start.astimezone(UTC).date(), datetime.min.time(), UTC)
        while day < end:
            pieces = [(max(day, start), min(day + timedelta(days=1), end))]
            for gap_start, gap_end in self.gaps.get(name, []):
                pieces = [
                    part
                    for lo, hi in pieces
                    for part in ((lo, min(hi, gap_start)), (max(lo, gap_end), hi))
                    if part[0] < part[1]
                ]
            who = participants[day.toordinal() % len(participants)]
            found += [
                {
                    "startDate": lo.isoformat().replace("+00:00", "Z"),
                    "endDate": hi.isoformat().replace("+00:00", "Z"),
                    "type": "default",
                    "recipient": {"id": f"user-{who}", "type": "user", "name": who},
                }
                for lo, hi in pieces
            ]
            day += timedelta(days=1)
        return found

    # --- ASGI ----------------------------------------------------------------

    def app(self) -> Starlette:
        async def guard(request: Request) -> JSONResponse | None:
            self.calls.append((request.method, request.url.path))
            if self.faults:
                status = self.faults.pop(0)
                if status == 429:
                    return JSONResponse(
                        {"message": "TooManyRequests", "took": 1, "requestId": "rId"},
                        status_code=429,
                        headers={
                            "X-RateLimit-State": "THROTTLED",
                            "X-RateLimit-Reason": "ACCOUNT",
                            "X-RateLimit-Period-In-Sec": "1",
                        },
                    )
                message = "Internal Server Error" if status >= 500 else "Could not authenticate"
                return JSONResponse(
                    {"message": message, "took": _took(), "requestId": str(uuid.uuid4())},
                    status_code=status,
                )
            auth = request.headers.get("Authorization", "")
            if not auth.startswith("GenieKey ") or (
                self.api_key is not None and auth != f"GenieKey {self.api_key}"
            ):
                return JSONResponse(
                    {"message": "Could not authenticate", "took": _took()}, status_code=401
                )
            return None

        async def body_of(request: Request) -> dict[str, Any] | JSONResponse:
            try:
                data = await request.json() if await request.body() else {}
            except ValueError:
                return JSONResponse({"message": "Invalid JSON body", "took": _took()}, 400)
            if not isinstance(data, dict):
                return JSONResponse({"message": "Invalid JSON body", "took": _took()}, 400)
            return data

        def unprocessable(errors: dict[str, str]) -> JSONResponse:
            return JSONResponse(
                {
                    "message": "Request body is not processable. Please check the errors.",
                    "errors": errors,
                    "took": _took(),
                    "requestId": str(uuid.uuid4()),
                },
                status_code=422,
            )

        async def create(request: Request) -> JSONResponse:
            if (refused := await guard(request)) is not None:
                return refused
            data = await body_of(request)
            if isinstance(data, JSONResponse):
                return data
            message = str(data.get("message") or "").strip()
            if not message:
                return unprocessable({"message": "Message can not be empty."})
            if len(message) > 130:
                return unprocessable({"message": "Message can not be longer than 130 chars."})
            priority = data.get("priority", "P3")
            if priority not in PRIORITIES:
                return unprocessable({"priority": f"Invalid priority [{priority}]"})
            alias = str(data.get("alias") or "")
            existing = self.find(alias, "alias") if alias else None
            if existing is not None and existing["status"] == "open":
                existing["count"] += 1
                return self._accepted("Create", existing, "Alert already exists, count increased")
            alert_id = str(uuid.uuid4())
            alert = {
                "id": alert_id,
                "tinyId": str(next(self._tiny)),
                "alias": alias or alert_id,
                "message": message,
                "description": str(data.get("description") or ""),
                "priority": priority,
                "tags": [str(t) for t in data.get("tags") or []],
                "details": {str(k): str(v) for k, v in (data.get("details") or {}).items()},
                "entity": str(data.get("entity") or ""),
                "status": "open",
                "acknowledged": False,
                "owner": "",
                "notes": [],
                "responders": [],
                "escalations": [],
                "count": 1,
                "createdAt": int(time.time() * 1000),
            }
            self.alerts[alert_id] = alert
            self._webhook("Create", alert, str(data.get("source") or ""), user=data.get("user"))
            return self._accepted("Create", alert, "Created alert")

        async def act(request: Request) -> JSONResponse:
            if (refused := await guard(request)) is not None:
                return refused
            identifier = request.path_params["identifier"]
            kind = request.query_params.get("identifierType", "id")
            action = request.path_params.get("action", "")
            method = request.method
            data: dict[str, Any] = {}
            if method in ("POST", "PUT"):
                parsed = await body_of(request)
                if isinstance(parsed, JSONResponse):
                    return parsed
                data = parsed
            else:
                data = dict(request.query_params)
            user, source = data.get("user"), str(data.get("source") or "")
            note = data.get("note")
            alert = self.find(identifier, kind)
            name = {
                ("POST", "acknowledge"): "Acknowledge",
                ("POST", "close"): "Close",
                ("POST", "notes"): "AddNote",
                ("PUT", "priority"): "UpdatePriority",
                ("POST", "tags"): "AddTags",
                ("DELETE", "tags"): "RemoveTags",
                ("POST", "responders"): "AddResponder",
                ("POST", "escalate"): "Escalate",
            }.get((method, action))
            if name is None:
                return JSONResponse({"message": "Not found", "took": _took()}, 404)
            if name == "AddNote" and not str(note or "").strip():
                return unprocessable({"note": "Note can not be empty."})
            if name == "UpdatePriority" and data.get("priority") not in PRIORITIES:
                return unprocessable({"priority": f"Invalid priority [{data.get('priority')}]"})
            if alert is None:
                return self._accepted(name, None, "Alert does not exist", ok=False)
            extra: dict[str, Any] = {"user": user}
            if note:
                extra["note"] = note
            if name == "Acknowledge":
                alert["acknowledged"], alert["owner"] = True, user or alert["owner"]
            elif name == "Close":
                alert["status"] = "closed"
            elif name == "AddNote":
                alert["notes"].append({"note": note, "user": user})
            elif name == "UpdatePriority":
                alert["priority"] = data["priority"]
                extra["priority"] = data["priority"]
            elif name == "AddTags":
                tags = [str(t) for t in data.get("tags") or []]
                alert["tags"] += [t for t in tags if t not in alert["tags"]]
                extra["addedTags"] = ",".join(tags)
            elif name == "RemoveTags":
                tags = [t for t in str(data.get("tags", "")).split(",") if t]
                alert["tags"] = [t for t in alert["tags"] if t not in tags]
                extra["removedTags"] = ",".join(tags)
            elif name == "AddResponder":
                alert["responders"].append(data.get("responder"))
            event: dict[str, Any] = {}
            if name == "Escalate":
                alert["escalations"].append(data.get("escalation"))
                escalation = data.get("escalation")
                named = escalation.get("name") if isinstance(escalation, dict) else None
                event = {"escalationName": named} if named else {}
            self._webhook(name, alert, source, event, **extra)
            return self._accepted(name, alert, f"{name} done")

        async def request_status(request: Request) -> JSONResponse:
            if (refused := await guard(request)) is not None:
                return refused
            known = self.requests.get(request.path_params["request_id"])
            if known is None or known["polls_left"] > 0:
                if known is not None:
                    known["polls_left"] -= 1
                return JSONResponse(
                    {"message": "request not processed", "took": 1, "requestId": "rId"},
                    status_code=404,
                    headers={"X-Opsgenie-Errortype": "RequestNotProcessed"},
                )
            return JSONResponse({"data": known["data"], "took": _took(), "requestId": "rId"})

        async def get_alert(request: Request) -> JSONResponse:
            if (refused := await guard(request)) is not None:
                return refused
            kind = request.query_params.get("identifierType", "id")
            alert = self.find(request.path_params["identifier"], kind)
            if alert is None:
                return JSONResponse({"message": "Alert does not exist", "took": _took()}, 404)
            return JSONResponse({"data": alert, "took": _took()})

        async def list_alerts(request: Request) -> JSONResponse:
            if (refused := await guard(request)) is not None:
                return refused
            return JSONResponse({"data": list(self.alerts.values()), "took": _took()})

        def unknown_schedule(name: str) -> JSONResponse:
            return JSONResponse(
                {"message": f"Schedule with identifier [{name}] not found", "took": _took()},
                status_code=404,
            )

        def instant(text: str | None) -> datetime:
            if not text:
                return datetime.now(UTC)
            parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
            return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)

        async def on_calls(request: Request) -> JSONResponse:
            if (refused := await guard(request)) is not None:
                return refused
            name = request.path_params["schedule"]
            if name not in self.schedules:
                return unknown_schedule(name)
            who = self.on_call_at(name, instant(request.query_params.get("date")))
            data = {"_parent": {"id": name, "name": name}, "onCallRecipients": who}
            return JSONResponse({"data": data, "took": _took()})

        async def timeline(request: Request) -> JSONResponse:
            if (refused := await guard(request)) is not None:
                return refused
            name = request.path_params["schedule"]
            if name not in self.schedules:
                return unknown_schedule(name)
            try:
                start = instant(request.query_params.get("date"))
                interval = int(request.query_params.get("interval", "1"))
            except ValueError as exc:
                return unprocessable({"date": str(exc)})
            unit = request.query_params.get("intervalUnit", "weeks")
            days = {"days": 1, "weeks": 7, "months": 30}.get(unit)
            if days is None or interval < 1:
                return unprocessable({"intervalUnit": f"Invalid interval [{interval} {unit}]"})
            end = start + timedelta(days=days * interval)
            rotation = {
                "id": f"{name}-rotation",
                "name": "Rotation",
                "order": 1.0,
                "periods": self.periods(name, start, end),
            }
            data = {
                "_parent": {"id": name, "name": name, "enabled": True},
                "startDate": start.isoformat(),
                "endDate": end.isoformat(),
                "finalTimeline": {"rotations": [rotation]},
            }
            expandable = ["base", "forwarding", "override"]
            return JSONResponse({"data": data, "expandable": expandable, "took": _took()})

        async def schedule_gaps(request: Request) -> JSONResponse:
            name = request.path_params["schedule"]
            if name not in self.schedules:
                return unknown_schedule(name)
            if request.method == "DELETE":
                self.gaps.pop(name, None)
            else:
                data = await request.json()
                gap = (instant(data["from"]), instant(data["to"]))
                self.gaps.setdefault(name, []).append(gap)
            return JSONResponse(
                {"gaps": [[a.isoformat(), b.isoformat()] for a, b in self.gaps.get(name, [])]}
            )

        async def put_schedule(request: Request) -> JSONResponse:
            data = await request.json()
            participants = [str(p) for p in data.get("participants") or []]
            self.schedules[request.path_params["schedule"]] = participants
            return JSONResponse({"participants": participants})

        async def faults(request: Request) -> JSONResponse:
            data = await request.json()
            self.faults += [int(data["status"])] * int(data.get("count", 1))
            return JSONResponse({"queued": self.faults})

        async def sent(request: Request) -> JSONResponse:
            return JSONResponse({"webhooks": self.webhooks})

        return Starlette(
            routes=[
                Route("/v2/alerts", create, methods=["POST"]),
                Route("/v2/alerts", list_alerts, methods=["GET"]),
                Route("/v2/alerts/requests/{request_id}", request_status, methods=["GET"]),
                Route("/v2/alerts/{identifier}", get_alert, methods=["GET"]),
                Route("/v2/alerts/{identifier}/{action}", act, methods=["POST", "PUT", "DELETE"]),
                Route("/v2/schedules/{schedule}/on-calls", on_calls, methods=["GET"]),
                Route("/v2/schedules/{schedule}/timeline", timeline, methods=["GET"]),
                Route(
                    "/_standin/schedules/{schedule}/gaps", schedule_gaps, methods=["POST", "DELETE"]
                ),
                Route("/_standin/schedules/{schedule}", put_schedule, methods=["PUT"]),
                Route("/_standin/faults", faults, methods=["POST"]),
                Route("/_standin/webhooks", sent, methods=["GET"]),
            ]
        )
