"""Opsgenie end to end, over HTTP: stand-in ⇄ webhook receiver ⇄ worker on a Temporal server."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest_asyncio
from pydantic import SecretStr
from temporalio.client import Client, WorkflowQueryFailedError
from temporalio.service import RPCError
from temporalio.testing import WorkflowEnvironment

from starters import incidents
from starters.dev.opsgenie_standin import OpsgenieStandIn
from starters.dev.smtp_sink import MailSink
from starters.gateway import TemporalGateway
from starters.serving import serving
from starters.webhook import create_app
from tests.conftest import free_port
from tests.helpers import eventually
from workers.opsgenie_file import load_mapping
from workers.settings import DEFAULT_CONFIG_DIR, Settings
from workers.worker import build_worker
from workflows.incident import IncidentWorkflow
from workflows.models import AcknowledgeInput, IncidentView, WorklogInput

WEBHOOKS = Path(__file__).parent / "fixtures" / "opsgenie" / "webhook"
SECRET = "e2e-secret"
KEY = "e2e-key"


@dataclass
class Stack:
    client: Client
    standin: OpsgenieStandIn
    receiver: str
    opsgenie: str
    task_queue: str

    async def deliver(self, body: dict[str, Any]) -> httpx.Response:
        async with httpx.AsyncClient() as http:
            return await http.post(self.receiver, json=body, headers={"X-Webhook-Secret": SECRET})

    async def opsgenie_call(self, method: str, path: str, body: Any = None) -> httpx.Response:
        async with httpx.AsyncClient(base_url=self.opsgenie) as http:
            return await http.request(
                method, path, json=body, headers={"Authorization": f"GenieKey {KEY}"}
            )

    async def status(self, incident: str) -> IncidentView | None:
        try:
            found = await incidents.incident_status(self.client, incident, 10)
        except (RPCError, WorkflowQueryFailedError):
            return None  # not started yet, or its first task has not run
        return found if isinstance(found, IncidentView) else None  # no answer in time

    async def status_when(self, incident: str, predicate: Any) -> IncidentView:
        for _ in range(150):
            view = await self.status(incident)
            if view is not None and predicate(view):
                return view
            await asyncio.sleep(0.1)
        raise AssertionError(f"{incident} never matched: {await self.status(incident)}")


@pytest_asyncio.fixture
async def stack(dev_env: WorkflowEnvironment, settings: Settings) -> AsyncIterator[Stack]:
    receiver_port, opsgenie_port = free_port(), free_port()
    receiver = f"http://127.0.0.1:{receiver_port}/webhooks/opsgenie"
    standin = OpsgenieStandIn(
        api_key=KEY, webhook_url=receiver, webhook_headers={"X-Webhook-Secret": SECRET}
    )
    cfg = settings.model_copy(
        update={
            "opsgenie_api_key": SecretStr(KEY),
            "opsgenie_api_url": f"http://127.0.0.1:{opsgenie_port}",
        }
    )
    app = create_app(
        TemporalGateway(dev_env.client, cfg.task_queue),
        load_mapping(DEFAULT_CONFIG_DIR),
        secret=SECRET,
    )
    async with (
        serving(standin.app(), "127.0.0.1", opsgenie_port),
        serving(app, "127.0.0.1", receiver_port),
        build_worker(dev_env.client, cfg),
    ):
        yield Stack(
            dev_env.client, standin, receiver, f"http://127.0.0.1:{opsgenie_port}", cfg.task_queue
        )
    await standin.aclose()


async def runs_listed(stack: Stack, workflow_id: str) -> list[Any]:
    """The runs visibility lists under ``workflow_id``, once it lists one."""

    async def listed() -> list[Any]:
        return [w async for w in stack.client.list_workflows(f"WorkflowId = '{workflow_id}'")]

    for _ in range(150):
        if found := await listed():
            return found
        await asyncio.sleep(0.1)
    raise AssertionError(f"{workflow_id} never listed")


def fixture(name: str, alert_id: str) -> dict[str, Any]:
    body = json.loads((WEBHOOKS / f"{name}.json").read_text())
    body["alert"]["alertId"] = alert_id
    if body["alert"].get("alias") not in (None, "-"):
        body["alert"]["alias"] = f"alias-{alert_id}"
    return body


async def test_every_fixture_through_http_to_a_real_worker(stack: Stack) -> None:
    run = uuid.uuid4().hex[:8]
    for name in ("create", "create_from_monitoring"):
        r = await stack.deliver(fixture(name, f"{name}-{run}"))
        assert r.status_code == 202 and r.json()["result"] == "started", r.text
        view = await stack.status_when(f"incident-{name}-{run}", lambda v: True)
        assert view.source == "opsgenie" and view.priority == "P3"
    monitoring = await stack.status_when(f"incident-create_from_monitoring-{run}", lambda v: True)
    assert monitoring.title.startswith("[Site24x7]")
    assert "requesters" in monitoring.missing_fields

    alert = f"sample-{run}"
    incident = f"incident-{alert}"
    expected = {
        "acknowledge": "delivered",  # no incident yet: signal-with-start opens it
        "addnote": "delivered",
        "addrecipient": "delivered",
        "addteam": "delivered",
        "addtags": "delivered",
        "removetags": "delivered",
        "assignownership": "delivered",
        "customaction": "delivered",
        "unacknowledge": "delivered",
        "close": "delivered",
        "delete": "delivered",
    }
    for name, result in expected.items():
        r = await stack.deliver(fixture(name, alert))
        assert r.status_code == 202 and r.json()["result"] == result, (name, r.text)
        if name == "acknowledge":
            await stack.status_when(incident, lambda v: v.status == "in_progress")

    def settled(v: IncidentView) -> bool:
        kinds = [e.kind for e in v.timeline]
        return "resolved" in kinds and kinds.count("opsgenie") >= 8

    view = await stack.status_when(incident, settled)
    kinds = [e.kind for e in view.timeline]
    assert kinds[:3] == ["opened", "note", "acknowledged"]
    assert view.timeline[1].sentence == "t0_too_old"  # the samples' createdAt is from 2015
    assert view.status == "resolved"
    assert next(e for e in view.timeline if e.kind == "worklog").text == "note to test alert"
    texts = " ".join(e.text for e in view.timeline if e.kind == "opsgenie")
    for fragment in ("team2_escalation", "Équipe team2", "tag1, tag2, tag3", "tag3", "TestAction",
                     "Prise en compte annulée", "supprimée", ": sans effet ici, "):  # fmt: skip
        assert fragment in texts, fragment
    # An Opsgenie event that changes nothing here is named in French, not by its operation.
    assert "acknowledge" not in texts and "add_worklog" not in texts, texts
    # Nothing that came from Opsgenie was pushed back to it.
    assert not any(
        path.endswith(("/acknowledge", "/close", "/notes")) for _, path in stack.standin.calls
    )


async def test_ten_deliveries_of_one_create_start_one_incident(stack: Stack) -> None:
    body = fixture("create", f"storm-{uuid.uuid4().hex[:8]}")
    answers = await asyncio.gather(*(stack.deliver(body) for _ in range(10)))
    results = sorted(a.json()["result"] for a in answers)
    assert results == ["duplicate"] * 9 + ["started"]
    incident = answers[0].json()["incident"]
    found = await runs_listed(stack, incident)  # visibility catches up
    assert len(found) == 1


async def test_a_late_create_keeps_a_level_named_before_and_the_default_it_does_not_name(
    stack: Stack,
) -> None:
    """The earlier event named silver: the Create's gold does not override it. An incident
    that took the default keeps it when the Create names no level either."""
    named, unnamed = (f"late-level-{uuid.uuid4().hex[:8]}" for _ in range(2))
    ack = fixture("acknowledge", named)
    ack["alert"]["tags"] = ["sl:silver"]
    for body in (ack, fixture("acknowledge", unnamed)):
        r = await stack.deliver(body)
        assert r.json()["result"] == "delivered", r.text
    for alert, tags in ((named, ["sl:gold"]), (unnamed, [])):
        create = fixture("create", alert)
        create["alert"] |= {"alias": None, "tags": tags,
                            "details": {"requesters": "client@example.org"}}  # fmt: skip
        assert (await stack.deliver(create)).json()["result"] == "duplicate"
    for alert, level in ((named, "silver"), (unnamed, "bronze")):
        view = await stack.status_when(
            f"incident-{alert}", lambda v: "client@example.org" in v.requesters
        )
        assert view.service_level == level, (alert, view.timeline)
        assert not any(e.kind == "recategorized" for e in view.timeline)


async def test_a_create_that_comes_after_another_event_fills_in_the_incident(
    stack: Stack, sink: MailSink
) -> None:
    """Webhooks may arrive out of order: an Acknowledge opens the incident with what it
    carries (no priority, no service level, no details), then the Create completes it: a
    gold P1 stays a gold P1, and its requesters are told of it as such."""
    alert = f"late-create-{uuid.uuid4().hex[:8]}"
    r = await stack.deliver(fixture("acknowledge", alert))
    assert r.json()["result"] == "delivered", r.text
    incident = r.json()["incident"]
    opened = await stack.status_when(incident, lambda v: v.status == "in_progress")
    assert opened.priority == "P3" and "priority" in opened.missing_fields
    assert opened.service_level == "bronze"  # the mapping's default: the alert named none
    create = fixture("create", alert)
    create["alert"] |= {
        "alias": None, "priority": "P1", "description": "primary and replica down",
        "tags": ["sl:gold"],
        "details": {"category": "database", "application": "billing-db",
                    "requesters": "client@example.org"},
    }  # fmt: skip
    r = await stack.deliver(create)
    assert r.json()["result"] == "duplicate" and "fills in" in r.json()["reason"], r.text
    view = await stack.status_when(incident, lambda v: v.priority == "P1")
    assert (view.category, view.application, view.description) == (
        "database", "billing-db", "primary and replica down",
    )  # fmt: skip
    assert view.missing_fields == [] and view.status == "in_progress"
    assert view.service_level == "gold"
    assert view.ack_due_at == view.opened_at + timedelta(minutes=15)  # P1 gold
    # The Create's user raised the alert; the one who acknowledged it is no requester.
    assert view.requesters == ["client@example.org", "kenaz@puppet.com"]
    completed = next(e for e in view.timeline if e.kind == "alert_created")
    assert completed.text.endswith(
        "complété de catégorie, description, application ou machine, détails, "
        "priorité (impact et urgence), niveau de service, demandeurs."
    ), completed.text
    recategorized = next(e for e in view.timeline if e.kind == "recategorized")
    assert "P3 Bronze → P1 Gold" in recategorized.text, recategorized.text
    # The requesters hear of the incident first, as it stands: a gold P1.
    first = await eventually(
        lambda: [m for m in sink.about(incident) if "client@example.org" in str(m["To"])]
    )
    assert str(first[0]["Subject"]).endswith("— Ticket ouvert"), first[0]["Subject"]
    text = str(first[0].get_body(("plain",)).get_content())  # type: ignore[union-attr]
    assert "Incident enregistré en P1, niveau de service Gold." in text, text
    # The same Create again changes nothing more.
    r = await stack.deliver(create)
    assert r.json()["result"] == "duplicate"
    again = await stack.status_when(incident, lambda v: True)
    assert [e.kind for e in again.timeline].count("alert_created") == 1
    # Resolved, the incident takes a late Create without a word (nothing refused).
    await stack.deliver(fixture("close", alert))
    await stack.status_when(incident, lambda v: v.status == "resolved")
    await stack.deliver(create)
    await stack.deliver(fixture("addnote", alert) | {"alert": {**fixture("addnote", alert)[
        "alert"], "note": "after the late Create"}})  # fmt: skip
    last = await stack.status_when(
        incident, lambda v: any(e.text == "after the late Create" for e in v.timeline)
    )
    assert not any(e.kind == "refused" for e in last.timeline), last.timeline


async def test_an_event_delivered_twice_is_applied_once(stack: Stack) -> None:
    """A sender delivers again what it thinks was lost (a timeout, a 503): the same event
    (same action, same ``updatedAt``, same content) is applied once; another note is a new
    event, even with the same ``updatedAt``."""
    alert = f"twice-{uuid.uuid4().hex[:8]}"
    r = await stack.deliver(fixture("create", alert))
    incident = r.json()["incident"]
    note = fixture("addnote", alert)
    note["alert"] |= {"note": "same note delivered twice", "updatedAt": 1796053000000000000}
    for _ in range(2):
        assert (await stack.deliver(note)).json()["result"] == "delivered"
    # Another note that Opsgenie sent with the same updatedAt (a note does not always move
    # it): a different event, applied.
    other = fixture("addnote", alert)
    other["alert"] |= {"note": "another note, same time", "updatedAt": 1796053000000000000}
    assert (await stack.deliver(other)).json()["result"] == "delivered"
    later = fixture("addnote", alert)
    later["alert"] |= {"note": "a later note", "updatedAt": 1796053000000000001}
    assert (await stack.deliver(later)).json()["result"] == "delivered"
    view = await stack.status_when(
        incident, lambda v: any(e.text == "a later note" for e in v.timeline)
    )
    notes = [e.text for e in view.timeline if e.kind == "worklog"]
    assert notes == ["same note delivered twice", "another note, same time", "a later note"], notes


async def test_a_service_level_tag_added_in_opsgenie_sets_the_level(stack: Stack) -> None:
    """An alert that named no service level (the default taken, and asked for): someone adds
    ``sl:gold`` in Opsgenie; the incident takes it, and no longer asks for it. A later level
    tag is noted: a known level is changed in Vigie."""
    raised = await stack.opsgenie_call(
        "POST", "/v2/alerts",
        {"message": "Queue backlog on billing", "priority": "P3", "source": "web",
         "user": "ann@example.org"},
    )  # fmt: skip
    assert raised.status_code == 202
    alert = next(a for a in stack.standin.alerts.values() if "billing" in a["message"])
    incident = f"incident-{alert['id']}"
    view = await stack.status_when(incident, lambda v: "service_level" in v.missing_fields)
    assert view.service_level != "gold"
    tagged = await stack.opsgenie_call(
        "POST", f"/v2/alerts/{alert['id']}/tags",
        {"tags": ["sl:gold"], "user": "carol", "source": "web"},
    )  # fmt: skip
    assert tagged.status_code == 202
    view = await stack.status_when(incident, lambda v: v.service_level == "gold")
    assert "service_level" not in view.missing_fields
    moved = [e for e in view.timeline if e.kind == "recategorized"]
    assert moved and moved[-1].by == "carol", view.timeline[-1]
    assert "niveau de service Gold donné par un tag dans Opsgenie" in moved[-1].text
    # Once known, the level is changed in Vigie: a later tag is noted, not applied.
    await stack.opsgenie_call(
        "POST", f"/v2/alerts/{alert['id']}/tags",
        {"tags": ["sl:silver"], "user": "carol", "source": "web"},
    )  # fmt: skip
    view = await stack.status_when(
        incident, lambda v: "niveau de service est connu" in v.timeline[-1].text
    )
    assert view.service_level == "gold"


async def test_acknowledge_in_opsgenie_is_not_sent_back(stack: Stack) -> None:
    raised = await stack.opsgenie_call(
        "POST", "/v2/alerts",
        {"message": "Disk full on db-3", "priority": "P2", "tags": ["sl:silver"],
         "source": "web", "user": "ann@example.org"},
    )  # fmt: skip
    assert raised.status_code == 202
    alert = next(iter(stack.standin.alerts.values()))
    incident = f"incident-{alert['id']}"
    view = await stack.status_when(incident, lambda v: True)
    assert (view.priority, view.service_level, view.requesters) == (
        "P2",
        "silver",
        ["ann@example.org"],
    )

    acked = await stack.opsgenie_call(
        "POST", f"/v2/alerts/{alert['id']}/acknowledge", {"user": "bob", "source": "web"}
    )
    assert acked.status_code == 202
    view = await stack.status_when(incident, lambda v: v.status == "in_progress")
    assert view.timeline[-1].by == "bob"
    # A worklog typed in Vigie goes to the alert as a note, after anything the
    # acknowledgement queued for it: once the note is there, nothing more can come.
    await stack.client.get_workflow_handle(incident).execute_update(
        IncidentWorkflow.add_worklog, WorklogInput(by="bob", text="disk cleaned")
    )
    await eventually(lambda: any(p.endswith("/notes") for _, p in stack.standin.calls))
    acks = [c for c in stack.standin.calls if c[1].endswith("/acknowledge")]
    assert len(acks) == 1  # the user's own, none from Vigie
    assert "vigie:in_progress" in alert["tags"]  # Vigie's own view is still kept on the alert


async def test_cli_incident_gets_an_alert_and_its_acknowledgement(stack: Stack) -> None:
    from workflows.models import IncidentInput

    incident = await incidents.open_incident(
        stack.client,
        stack.task_queue,
        IncidentInput(title="Mail relay down", service_level="gold", priority="P1", source="cli"),
    )
    alert = await eventually(lambda: stack.standin.find(incident, "alias"))
    assert alert["priority"] == "P1" and "sl:gold" in alert["tags"]
    await stack.client.get_workflow_handle(incident).execute_update(
        IncidentWorkflow.acknowledge, AcknowledgeInput(by="alice")
    )
    await eventually(lambda: alert["acknowledged"] and alert["owner"] == "alice")
    await eventually(lambda: "vigie:in_progress" in alert["tags"])
    # The alert's own webhooks (Create, Acknowledge...) map back to the same incident only.
    await stack.standin.settled()
    actions = {action for action, _, _ in stack.standin.answers}
    assert {"Create", "Acknowledge"} <= actions, stack.standin.answers
    assert all(result != "started" for _, _, result in stack.standin.answers)
    assert len(await runs_listed(stack, incident)) == 1
    view = await stack.status_when(incident, lambda v: v.status == "in_progress")
    assert not any(e.kind in ("refused", "alert_failed") for e in view.timeline), view.timeline


async def test_a_level_the_alert_does_not_name_is_asked_for(stack: Stack) -> None:
    """A tag `sl:platinum` (no such level) opens the incident at the default level, as an
    alert without one does: the incident manager is told to ask for it instead of reading
    bronze deadlines as the customer's. A level named later is no longer asked for."""
    alert = f"typo-level-{uuid.uuid4().hex[:8]}"
    create = fixture("create", alert)
    create["alert"] |= {"alias": None, "tags": ["sl:platinum"]}
    r = await stack.deliver(create)
    assert r.json()["result"] == "started", r.text
    incident = r.json()["incident"]
    view = await stack.status_when(incident, lambda v: bool(v.timeline))
    assert view.service_level == "bronze" and "service_level" in view.missing_fields, view
    opened = view.timeline[0].text
    assert "Informations manquantes à demander : " in opened and "niveau de service" in opened
    # The default turns out right: naming it confirms it (a change of class it is not).
    await stack.client.get_workflow_handle(incident).execute_update(
        "recategorize", {"by": "im", "service_level": "bronze", "reason": "bronze contract"}
    )
    view = await stack.status_when(incident, lambda v: "service_level" not in v.missing_fields)
    assert view.service_level == "bronze" and view.timeline[-1].sentence == "level_confirmed"
    assert view.timeline[-1].text == "Niveau de service confirmé : Bronze."
    assert not any(e.kind == "recategorized" for e in view.timeline)


async def test_requesters_that_are_no_addresses_are_told(stack: Stack) -> None:
    """`"requesters": "not-an-email, rh@example.org"`: the address is kept, and what is no
    address is told at opening instead of vanishing (the customer would never hear)."""
    alert = f"bad-requesters-{uuid.uuid4().hex[:8]}"
    create = fixture("create", alert)
    create["alert"] |= {"alias": None,
                        "details": {"requesters": "not-an-email, rh@example.org; @x"}}  # fmt: skip
    r = await stack.deliver(create)
    assert r.json()["result"] == "started", r.text
    view = await stack.status_when(r.json()["incident"], lambda v: len(v.timeline) > 1)
    assert "rh@example.org" in view.requesters and "not-an-email" not in view.requesters
    said = [e.text for e in view.timeline if e.sentence == "requesters_unusable"]
    assert said == [
        "Demandeurs ignorés, ce ne sont pas des adresses e-mail : not-an-email, @x. Demandez "
        "les bonnes adresses."
    ], view.timeline


async def test_a_late_echo_of_vigies_own_priority_change_never_takes_the_incident_back(
    stack: Stack,
) -> None:
    """Vigie sets P3 then P1 on the alert; Opsgenie's UpdatePriority webhooks of those
    changes are Vigie's own echo (the API takes no source for a priority): left out, on time
    or late (P3's, delivered after P1 was set, took the incident back to P3). A change made
    in Opsgenie by a person still applies."""
    from workflows.models import IncidentInput, RecategorizeInput

    incident = await incidents.open_incident(
        stack.client,
        stack.task_queue,
        IncidentInput(title="Payroll slow", service_level="gold", priority="P2", source="cli"),
    )
    alert = await eventually(lambda: stack.standin.find(incident, "alias"))
    handle = stack.client.get_workflow_handle(incident)
    receiver, stack.standin.webhook_url = stack.standin.webhook_url, None  # P3's echo held
    for priority in ("P3", "P1"):
        await handle.execute_update(
            IncidentWorkflow.recategorize,
            RecategorizeInput(by="im", priority=priority, reason="reassessed"),
        )
        await eventually(lambda p=priority: alert["priority"] == p)  # type: ignore[misc]
        stack.standin.webhook_url = receiver  # P1's echo on time
    await stack.standin.settled()
    echoes = [b for b in stack.standin.webhooks if b["action"] == "UpdatePriority"]
    assert [b["alert"]["priority"] for b in echoes] == ["P3", "P1"], echoes
    assert (await stack.deliver(echoes[0])).status_code == 202  # P3's echo, late
    # A later event shows the late echo was handled: a note typed in Opsgenie.
    noted = await stack.opsgenie_call(
        "POST", f"/v2/alerts/{alert['id']}/notes", {"note": "checked", "user": "ann"}
    )
    assert noted.status_code == 202
    view = await stack.status_when(incident, lambda v: any(e.text == "checked" for e in v.timeline))
    assert view.priority == "P1"
    # Neither echo recorded ("sans effet ici" for the on-time one), nor applied (the late).
    assert not any(e.kind == "opsgenie" for e in view.timeline), view.timeline
    assert [e.fields.get("after") for e in view.timeline if e.kind == "recategorized"] == [
        "P3 gold", "P1 gold"
    ]  # fmt: skip
    # A person setting in Opsgenie a priority Vigie set before is heard: each echo is
    # taken for Vigie's own once.
    lowered = await stack.opsgenie_call(
        "PUT", f"/v2/alerts/{alert['id']}/priority", {"priority": "P3", "user": "ann"}
    )
    assert lowered.status_code == 202
    view = await stack.status_when(incident, lambda v: v.priority == "P3")
    assert view.timeline[-1].kind == "recategorized" and view.timeline[-1].by == "ann"


async def test_a_create_that_comes_after_the_close_fills_in_the_resolved_incident(
    stack: Stack, sink: MailSink
) -> None:
    """The Close reaches Vigie first (it opens the incident resolved), then the Create: the
    incident takes the fields it lacks and the requesters, who are told of the resolution;
    nothing is dropped without a word."""
    alert = f"close-first-{uuid.uuid4().hex[:8]}"
    close = fixture("close", alert)
    close["alert"] |= {"message": "Payment API 500s", "note": "fixed by restart"}
    r = await stack.deliver(close)
    assert r.json()["result"] == "delivered", r.text
    incident = r.json()["incident"]
    await stack.status_when(incident, lambda v: v.status == "resolved")
    create = fixture("create", alert)
    create["alert"] |= {
        "alias": None, "message": "Payment API 500s", "description": "Since 05:50, 500s on /pay",
        "details": {"category": "app", "application": "payment",
                    "requesters": "req1@example.org, req2@example.org"},
        "priority": "P1", "tags": ["sl:gold"],
    }  # fmt: skip
    r = await stack.deliver(create)
    assert r.json()["result"] == "duplicate" and "fills in" in r.json()["reason"], r.text
    view = await stack.status_when(incident, lambda v: "req1@example.org" in v.requesters)
    assert (view.category, view.application, view.description) == (
        "app", "payment", "Since 05:50, 500s on /pay",
    )  # fmt: skip
    assert view.status == "resolved" and "requesters" not in view.missing_fields
    # The class the Close could not say: the service reviews count a gold P1.
    assert (view.priority, view.service_level) == ("P1", "gold")
    assert not {"priority", "service_level"} & set(view.missing_fields), view.missing_fields
    entry = next(e for e in view.timeline if e.kind == "alert_created")
    assert "demandeurs" in entry.text and "priorité" in entry.text, entry.text
    moved = next(e for e in view.timeline if e.kind == "recategorized")
    assert moved.text.startswith("P3 Bronze → P1 Gold"), moved.text
    told = await eventually(
        lambda: [m for m in sink.about(incident) if "req2@example.org" in str(m["To"])]
    )
    assert str(told[0]["Subject"]).endswith("— Résolu"), told[0]["Subject"]
    text = str(told[0].get_body(("plain",)).get_content())  # type: ignore[union-attr]
    assert "fixed by restart" in text and "L'alerte a été créée" not in text, text


async def test_a_create_naming_a_closed_incident_says_it_opens_nothing(stack: Stack) -> None:
    """A new alert whose alias is the id of an incident that is over: the answer says why
    nothing opens, instead of a bare "duplicate"."""
    from workflows.models import CloseInput, IncidentInput, ResolveInput

    incident = await incidents.open_incident(
        stack.client,
        stack.task_queue,
        IncidentInput(title="Old one", service_level="silver", source="cli"),
    )
    handle = stack.client.get_workflow_handle(incident)
    await handle.execute_update(IncidentWorkflow.resolve, ResolveInput(by="im", resolution="ok"))
    await handle.execute_update(IncidentWorkflow.close, CloseInput(by="im"))
    await handle.result()
    create = fixture("create", f"new-{uuid.uuid4().hex[:8]}")
    create["alert"] |= {"alias": incident, "message": "Paiement KO de nouveau"}
    r = await stack.deliver(create)
    assert r.status_code == 202
    assert r.json()["result"] == "ignored", r.text
    assert "needs an alias of its own" in r.json()["reason"], r.text


async def test_what_happened_in_opsgenie_is_told_in_the_incidents_language(
    stack: Stack, sink: MailSink
) -> None:
    """The receiver's mapping writes French; an English incident acknowledged and closed in
    Opsgenie tells it in English, in its timeline and in its mails (one language a mail)."""
    from workflows.models import IncidentInput

    incident = await incidents.open_incident(
        stack.client,
        stack.task_queue,
        IncidentInput(title="VPN down", service_level="silver", priority="P2", source="cli",
                      language="en", requesters=["en2@example.org"]),
    )  # fmt: skip
    alert = await eventually(lambda: stack.standin.find(incident, "alias"))
    ack = fixture("acknowledge", alert["id"])
    ack["alert"] |= {"alias": incident, "username": "bob@example.org", "note": "on it"}
    ack["alert"].pop("owner", None)
    assert (await stack.deliver(ack)).status_code == 202
    view = await stack.status_when(incident, lambda v: v.status == "in_progress")
    entry = next(e for e in view.timeline if e.kind == "acknowledged")
    assert "dans Opsgenie" not in entry.text and "in Opsgenie" in entry.text, entry.text
    assert entry.text.endswith("— on it"), entry.text
    close = fixture("close", alert["id"])
    close["alert"] |= {"alias": incident, "note": ""}
    assert (await stack.deliver(close)).status_code == 202
    view = await stack.status_when(incident, lambda v: v.status == "resolved")
    resolved = next(e for e in view.timeline if e.kind == "resolved")
    assert resolved.text == "Alert closed in Opsgenie.", resolved.text
    mails = await eventually(
        lambda: [m for m in sink.about(incident) if "Resolved" in str(m["Subject"])]
    )
    text = str(mails[0].get_body(("plain",)).get_content())  # type: ignore[union-attr]
    assert "Opsgenie" in text and "Alerte" not in text and "dans" not in text, text


async def test_a_service_level_changed_in_vigie_moves_the_alerts_tag_not_its_priority(
    stack: Stack,
) -> None:
    """Only what changed is set on the alert: its sl: tag follows the level, and the
    priority a person set in Opsgenie (P5, which the incident counts as a P3) stays."""
    from workflows.models import IncidentInput, RecategorizeInput

    incident = await incidents.open_incident(
        stack.client,
        stack.task_queue,
        IncidentInput(title="Intranet slow", service_level="gold", priority="P3", source="cli"),
    )
    alert = await eventually(lambda: stack.standin.find(incident, "alias"))
    await stack.standin.settled()
    lowered = await stack.opsgenie_call(
        "PUT", f"/v2/alerts/{alert['id']}/priority", {"priority": "P5", "user": "ann"}
    )
    assert lowered.status_code == 202
    await stack.standin.settled()
    await stack.client.get_workflow_handle(incident).execute_update(
        IncidentWorkflow.recategorize,
        RecategorizeInput(by="im", service_level="silver", reason="contract says silver"),
    )
    await eventually(lambda: "sl:silver" in alert["tags"] and "sl:gold" not in alert["tags"])
    await stack.status_when(incident, lambda v: v.alert_changes_pending == 0)
    assert alert["priority"] == "P5"
    puts = [path for method, path in stack.standin.calls
            if method == "PUT" and path.endswith("/priority")]  # fmt: skip
    assert len(puts) == 1, puts  # the person's; none from Vigie


async def test_a_breach_marks_the_alert_and_a_cancellation_closes_it(stack: Stack) -> None:
    """README: breaches add a note and the tag ``vigie:sla-breached``; a cancelled
    incident's alert is closed."""
    from datetime import UTC, datetime

    from workflows.models import IncidentInput

    incident = await incidents.open_incident(
        stack.client,
        stack.task_queue,
        IncidentInput(
            title="Payroll batch down", service_level="gold", priority="P1", source="cli",
            t0=datetime.now(UTC) - timedelta(hours=2),  # its acknowledgement deadline is past
        ),
    )  # fmt: skip
    alert = await eventually(lambda: stack.standin.find(incident, "alias"))
    await eventually(lambda: "vigie:sla-breached" in alert["tags"])
    notes = [n["note"] for n in alert["notes"]]
    assert any(n.startswith("[vigie] ") and "dépassé" in n for n in notes), notes
    await stack.client.get_workflow_handle(incident).cancel()
    await eventually(lambda: alert["status"] == "closed" and "vigie:cancelled" in alert["tags"])
    view = await stack.status_when(incident, lambda v: v.status == "cancelled")
    assert not any(e.kind == "alert_failed" for e in view.timeline), view.timeline
