"""Generated alert events, poisoned in every field, through the webhook receiver to a real
worker: never a 5xx, a refusal is 400/408/413/415/422, and every incident an event opened
answers, has a title on one line, and mails its requesters once with clean headers."""

from __future__ import annotations

import asyncio
import itertools
import json
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as examples_of
from hypothesis import strategies as st
from temporalio.client import WorkflowHandle
from temporalio.testing import WorkflowEnvironment

from starters.dev.smtp_sink import MailSink
from starters.gateway import TemporalGateway
from starters.webhook import create_app
from tests.faults.helpers import run_examples, until
from tests.faults.ledger import check_mails
from tests.faults.poison import CHARACTERS, json_values, tricky_text
from tests.faults.tally import FULL, TALLY, examples
from tests.faults.test_poison_mails import harmless, mails_of
from tests.helpers import on_a_business_morning, status
from workers.opsgenie_file import load_mapping
from workers.settings import DEFAULT_CONFIG_DIR, Settings
from workers.worker import build_worker
from workflows.limits import is_clean_line

SECRET = "faults-secret"
WEBHOOKS = Path(__file__).parent.parent / "fixtures" / "opsgenie" / "webhook"
EVENTS = {p.stem: json.loads(p.read_text()) for p in sorted(WEBHOOKS.glob("*.json"))}
CREATE = EVENTS["create"]
# Later events name one of the first alerts, so that they reach incidents already open.
KNOWN = [f"fz-{n}" for n in range(4)]
REFUSALS = {400, 408, 413, 415, 422}
FIELDS = ["message", "alertId", "alias", "username", "description", "entity", "priority",
          "source", "createdAt", "tags", "details", "tinyId"]  # fmt: skip
DETAILS = ["requesters", "application", "category", "service_level", "x"]

addresses = st.lists(
    st.sampled_from(["ann@example.org", "bob@example.com"]) | tricky_text, max_size=3
).map(", ".join)
details = st.dictionaries(st.sampled_from(DETAILS), tricky_text | addresses | json_values)
alerts = st.fixed_dictionaries(
    {},
    optional={
        name: (details if name == "details" else tricky_text | json_values) for name in FIELDS
    },
)
later = st.tuples(st.sampled_from(sorted(EVENTS)), alerts, st.sampled_from(KNOWN)).map(
    lambda t: {**EVENTS[t[0]], "alert": {**EVENTS[t[0]]["alert"], **t[1], "alertId": t[2]}}
)
bodies = st.one_of(
    alerts.map(lambda alert: {**CREATE, "alert": {**CREATE["alert"], **alert}}),
    later,
    alerts.map(lambda alert: {**CREATE, "alert": alert}),
    st.dictionaries(st.text(CHARACTERS, max_size=10), json_values, max_size=4),
    json_values,
)


# The examples are drawn in a thread while the event loop (the worker, the webhook app) runs on:
# code there that uses the random module changes its state during a draw, which Hypothesis takes
# for a strategy using it. No strategy here does (tests/faults/poison.py).
@pytest.mark.filterwarnings(
    "ignore:Do not use the `random` module inside strategies"
    ":hypothesis.errors.HypothesisDeprecationWarning"
)
async def test_generated_events_open_clean_incidents_or_are_refused(
    skipping_env: WorkflowEnvironment, settings: Settings, sink: MailSink
) -> None:
    client = skipping_env.client
    loop = asyncio.get_running_loop()
    numbers = itertools.count()
    opened: dict[str, WorkflowHandle[Any, Any]] = {}
    seen: set[int] = set()
    app = create_app(
        TemporalGateway(client, settings.task_queue),
        load_mapping(DEFAULT_CONFIG_DIR),
        secret=SECRET,
    )
    await on_a_business_morning(skipping_env)
    async with (
        build_worker(client, settings),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://v") as http,
    ):

        async def deliver(body: Any, fresh_id: bool) -> None:
            if fresh_id and isinstance(body, dict) and isinstance(body.get("alert"), dict):
                body["alert"]["alertId"] = f"fz-new-{next(numbers)}"
            content = json.dumps(body).encode("utf-8", "surrogatepass")
            r = await http.post(
                "/webhooks/opsgenie",
                content=content,
                headers={"X-Webhook-Secret": SECRET, "Content-Type": "application/json"},
            )
            TALLY.bad_input("webhook")
            assert r.status_code < 500, (r.status_code, r.text)
            seen.add(r.status_code)
            if r.status_code == 404:  # an event for an alert with no incident, and no
                # message to open one with (README: answered 404 with the reason)
                assert "carries no alert message" in r.json()["error"], r.text
                return
            if r.status_code != 202:
                assert r.status_code in REFUSALS, (r.status_code, r.text)
                return
            answer = r.json()
            if answer["result"] == "started":
                opened[answer["incident"]] = client.get_workflow_handle(answer["incident"])

        for alert_id in KNOWN:  # the alerts the later events name
            await deliver({**CREATE, "alert": {**CREATE["alert"], "alertId": alert_id}}, False)

        @examples_of(
            max_examples=examples(40, 500),
            deadline=None,
            derandomize=not FULL,
            suppress_health_check=list(HealthCheck),
        )
        @given(body=bodies, fresh_id=st.booleans())
        def one(body: Any, fresh_id: bool) -> None:
            run_examples(loop, deliver)(body, fresh_id)

        await asyncio.to_thread(one)
        assert 202 in seen and seen & REFUSALS, seen
        for incident_id, handle in opened.items():
            view = await until(lambda h=handle: _settled(h))
            assert is_clean_line(view.title) and view.title.strip(), view.title
            assert view.source == "opsgenie"
            for mail in mails_of(sink, incident_id):
                harmless(mail)
        await check_mails(client, sink, list(opened))


async def _settled(handle: WorkflowHandle[Any, Any]) -> Any:
    view = await status(handle)
    return view if view.mails_pending == 0 and not view.retrying else None
