"""The Opsgenie API throttling (429), failing (5xx), refusing the key (401) and hanging, over
real HTTP: the incident never waits for it, an alert change that keeps failing is shown with
its last error, a refused one is recorded and skipped, and every change reaches the alert
once — a write Opsgenie accepted is never sent again, even when its outcome could not be read
for a whole round of attempts."""

from __future__ import annotations

import asyncio
import re
from collections import Counter
from collections.abc import Awaitable, Callable
from typing import Any

from pydantic import SecretStr
from starlette.types import Receive, Scope, Send
from temporalio.client import WorkflowHandle
from temporalio.testing import WorkflowEnvironment

from starters.dev.opsgenie_standin import OpsgenieStandIn
from starters.dev.smtp_sink import MailSink
from starters.serving import serving
from tests.conftest import free_port
from tests.faults.helpers import until
from tests.faults.ledger import check_mails
from tests.faults.tally import TALLY
from tests.helpers import open_incident, status
from workers.settings import Settings
from workers.worker import build_worker
from workflows.incident import IncidentWorkflow
from workflows.models import AcknowledgeInput, IncidentView, ResolveInput, WorklogInput

KEY = "faults-key"
HANG = 0


class Faulty:
    """An ASGI app in front of another: the next calls matching a method and a path pattern
    get the faults queued for them (an HTTP status, or HANG: no answer until the test ends)."""

    def __init__(self, app: Callable[[Scope, Receive, Send], Awaitable[None]]) -> None:
        self.app = app
        self.queued: list[tuple[str, re.Pattern[str], int]] = []
        self.calls: Counter[tuple[str, str]] = Counter()
        self.released = asyncio.Event()

    def next(self, method: str, path: str, *faults: int) -> None:
        self.queued += [(method, re.compile(path), fault) for fault in faults]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        method, path = scope["method"], scope["path"]
        self.calls[(method, re.sub(r"/alerts/[^/]+/", "/alerts/{id}/", path))] += 1
        for i, (m, pattern, fault) in enumerate(self.queued):
            if m == method and pattern.search(path):
                del self.queued[i]
                TALLY.fault(f"Opsgenie answering {fault or 'nothing (hang)'}")
                return await self._fail(fault, send)
        await self.app(scope, receive, send)

    async def _fail(self, fault: int, send: Send) -> None:
        if fault == HANG:
            await self.released.wait()
            return
        headers = [(b"content-type", b"application/json")]
        if fault == 429:
            headers.append((b"retry-after", b"1"))
        await send({"type": "http.response.start", "status": fault, "headers": headers})
        body = b'{"message": "injected fault", "took": 0.001, "requestId": "fault"}'
        await send({"type": "http.response.body", "body": body})


async def through(handle: WorkflowHandle[Any, Any], action: str) -> IncidentView | None:
    """The incident once an alert change that was retried went through."""
    view = await status(handle)
    applied = [e for e in view.timeline if e.kind == "alert_through"]
    return view if any(e.fields.get("action") == action for e in applied) else None


async def quiet(handle: WorkflowHandle[Any, Any]) -> IncidentView | None:
    view = await status(handle)
    idle = not view.retrying and view.alert_changes_pending == 0 and view.mails_pending == 0
    return view if idle else None


async def test_throttled_failing_refusing_and_hanging_api(
    dev_env: WorkflowEnvironment, settings: Settings, sink: MailSink
) -> None:
    standin = OpsgenieStandIn(api_key=KEY, pending_polls=0)
    api = Faulty(standin.app())
    port = free_port()
    cfg = settings.model_copy(
        update={
            "opsgenie_api_key": SecretStr(KEY),
            "opsgenie_api_url": f"http://127.0.0.1:{port}",
            "opsgenie_timeout_seconds": 1.0,  # a hanging call gives up after a second
        }
    )
    client = dev_env.client
    async with serving(api, "127.0.0.1", port), build_worker(client, cfg):
        # The alert's creation: throttled, failing, hanging for a whole round, then through.
        api.next("POST", r"^/v2/alerts$", 429, 500, HANG, 502)
        handle = await open_incident(client, cfg.task_queue, priority="P3")
        view = await until(lambda: _retrying(handle, "create"))
        [trouble] = view.retrying
        assert trouble.outbox == "alert" and trouble.attempts == 3
        assert "unavailable" in trouble.error  # the last attempt timed out (hang)
        # Meanwhile the incident goes on: Updates are answered at once.
        view = await handle.execute_update(IncidentWorkflow.acknowledge, AcknowledgeInput(by="al"))
        assert view.status == "in_progress"
        await until(lambda: through(handle, "create"), within=60)
        await until(lambda: quiet(handle), within=60)  # the acknowledgement's changes too

        # A write accepted whose outcome cannot be read for a whole round: only read again.
        api.next("GET", r"^/v2/alerts/requests/", 500, 503, 500)
        await handle.execute_update(
            IncidentWorkflow.add_worklog, WorklogInput(by="al", text="first note")
        )
        await until(lambda: through(handle, "note"), within=60)
        await until(lambda: quiet(handle), within=60)

        # The key refused once: that change is recorded as failed, the next ones go on.
        api.next("POST", r"/notes$", 401)
        await handle.execute_update(
            IncidentWorkflow.add_worklog, WorklogInput(by="al", text="refused note")
        )
        await handle.execute_update(
            IncidentWorkflow.add_worklog, WorklogInput(by="al", text="third note")
        )
        await handle.execute_update(
            IncidentWorkflow.resolve, ResolveInput(by="al", resolution="ok")
        )
        view = await until(lambda: quiet(handle), within=60)
        failed = [e for e in view.timeline if e.kind == "alert_failed"]
        assert len(failed) == 1 and "401" in failed[0].text
        await check_mails(client, sink, [handle.id])
        # The incident manager was told by mail that the alert no longer follows.
        told = [m for m in sink.about(handle.id) if "Alerte non mise à jour" in str(m["Subject"])]
        assert len(told) == 1 and "401" in told[0].get_body(("plain",)).get_content()  # type: ignore[union-attr]
        api.released.set()

    [alert] = [a for a in standin.alerts.values() if a["alias"] == handle.id]  # created once
    assert alert["acknowledged"] and alert["status"] == "closed"
    notes = [n["note"] for n in alert["notes"]]
    for text in ("first note", "third note"):
        assert len([n for n in notes if text in n]) == 1, notes  # never twice
    assert not [n for n in notes if "refused note" in n]
    # Each write reached the API's handler once; only reads were repeated.
    assert api.calls[("POST", "/v2/alerts/{id}/acknowledge")] == 1
    await standin.aclose()


async def _retrying(handle: WorkflowHandle[Any, Any], action: str) -> IncidentView | None:
    view = await status(handle)
    return view if any(t.item == action for t in view.retrying) else None
