"""The webhook receiver's HTTP contract: auth, limits, parsing, and what each action plans."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import BaseModel

from activities.providers.opsgenie.mapping import OpsgenieMapping
from activities.providers.opsgenie.webhook_events import WebhookEvent, delivery_key, plan
from starters.gateway import Outcome
from starters.webhook import create_app
from workers.opsgenie_file import load_mapping
from workers.settings import DEFAULT_CONFIG_DIR
from workflows.models import IncidentInput, SetPendingInput, opsgenie_updated_at

WEBHOOKS = Path(__file__).parent / "fixtures" / "opsgenie" / "webhook"
SECRET = "s3cret"
MAPPING = load_mapping(DEFAULT_CONFIG_DIR)


class RecordingGateway:
    """Records what the receiver asks of incidents; answers like Temporal would."""

    def __init__(self) -> None:
        self.started: list[tuple[str, IncidentInput]] = []
        self.signals: list[tuple[str, str, dict[str, Any], IncidentInput | None]] = []
        self.known: set[str] = set()

    async def start(self, incident_id: str, input: IncidentInput) -> Outcome:
        if incident_id in self.known:
            return "duplicate"
        self.known.add(incident_id)
        self.started.append((incident_id, input))
        return "started"

    async def signal(
        self, incident_id: str, name: str, input: BaseModel, start: IncidentInput | None
    ) -> Outcome:
        payload = input.model_dump(mode="json", exclude_defaults=True)
        self.signals.append((incident_id, name, payload, start))
        if incident_id in self.known:
            return "delivered"
        if start is not None:
            self.known.add(incident_id)
            return "delivered"
        return "missing"


def fixture(name: str) -> dict[str, Any]:
    return json.loads((WEBHOOKS / f"{name}.json").read_text())


def client(gateway: RecordingGateway, **options: Any) -> httpx.AsyncClient:
    app = create_app(gateway, MAPPING, secret=SECRET, max_body_bytes=4096, **options)
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://vigie")


async def post(c: httpx.AsyncClient, body: Any, secret: str = SECRET) -> httpx.Response:
    content = body if isinstance(body, bytes) else json.dumps(body).encode()
    return await c.post("/webhooks/opsgenie", content=content, headers={"X-Webhook-Secret": secret})


async def test_authentication_and_limits(monkeypatch: pytest.MonkeyPatch) -> None:
    import hmac

    from starters import webhook

    compared: list[tuple[bytes, bytes]] = []
    constant_time = hmac.compare_digest

    def compare(given: bytes, expected: bytes) -> bool:
        compared.append((given, expected))
        return constant_time(given, expected)

    # The secret is compared in constant time, as README says: through hmac.compare_digest.
    monkeypatch.setattr(webhook.hmac, "compare_digest", compare)
    gateway = RecordingGateway()
    async with client(gateway) as c:
        r = await post(c, fixture("create"), secret="wrong")
        assert r.status_code == 401 and "X-Webhook-Secret" in r.json()["error"]
        assert compared == [(b"wrong", SECRET.encode())]
        r = await c.post("/webhooks/opsgenie", json=fixture("create"))
        assert r.status_code == 401
        r = await post(c, b"{" + b" " * 5000 + b"}")
        assert r.status_code == 413
        r = await post(c, b"{not json")
        assert r.status_code == 400 and r.json()["error"].startswith("malformed JSON")
        r = await post(c, {"action": "Create", "alert": {"message": "no id"}})
        assert r.status_code == 422
        assert r.json()["problems"][0]["field"] == "alert.alertId"
        r = await post(c, {"action": "Create", "alert": {"alertId": "a", "priority": "P9"}})
        assert r.status_code == 422 and "unknown priority" in r.text
        assert (await c.get("/healthz")).json() == {"status": "ok"}
        spec = (await c.get("/openapi.json")).json()
        assert "/webhooks/opsgenie" in spec["paths"]
    assert gateway.started == [] and gateway.signals == []


@pytest.mark.parametrize(
    "alias", ["incident-a b/c?d#e", "incident-é€", "incident-" + "x" * 1200, "incident-"]
)
async def test_an_alias_that_is_no_incident_id_is_the_senders_own(alias: str) -> None:
    """Only Vigie's ids (``incident-`` and a safe alphabet, 200 characters at most) name an
    incident; another alias, however it starts, is the sender's: the incident is named after
    the alert's id, and its alert is the sender's (Vigie raises no second one)."""
    gateway = RecordingGateway()
    create = fixture("create")
    create["alert"]["alias"] = alias
    async with client(gateway) as c:
        r = await post(c, create)
    assert r.status_code == 202, r.text
    [(incident, opening)] = gateway.started
    assert incident == f"incident-{create['alert']['alertId']}"
    assert opening.alert is not None and opening.alert.identifier == create["alert"]["alertId"]


async def test_the_address_with_a_trailing_slash_is_served_not_redirected() -> None:
    gateway = RecordingGateway()
    async with client(gateway) as c:
        r = await c.post(
            "/webhooks/opsgenie/",
            content=json.dumps(fixture("create")).encode(),
            headers={"X-Webhook-Secret": SECRET},
        )
        assert r.status_code == 202 and r.json()["result"] == "started", (r.status_code, r.text)
        # Another address is not sent elsewhere either: a redirect could name the plain-HTTP
        # address behind a TLS proxy.
        for path in ("/webhooks/opsgenie//", "/healthz/"):
            method = c.post if path.startswith("/webhooks") else c.get
            r = await method(path, headers={"X-Webhook-Secret": SECRET})
            assert r.status_code == 404 and "location" not in r.headers, (path, r.status_code)
    assert len(gateway.started) == 1 and not gateway.signals


def test_every_fixture_parses_leniently() -> None:
    for path in sorted(WEBHOOKS.glob("*.json")):
        event = WebhookEvent.model_validate_json(path.read_text())
        assert event.alert.alertId, path.name
    monitoring = WebhookEvent.model_validate(fixture("create_from_monitoring"))
    assert monitoring.alert.updatedAt == 1625246954020000000  # a string in the payload
    assert "st:sev:2" in monitoring.alert.addedTags
    numeric = fixture("create")
    numeric["alert"]["priority"] = 3
    assert WebhookEvent.model_validate(numeric).alert.priority == "P3"


def test_what_each_action_does() -> None:
    expected = {
        "create": ("start", "alert_created"),
        "create_from_monitoring": ("start", "alert_created"),
        "acknowledge": ("signal", "acknowledge"),
        "assignownership": ("signal", "acknowledge"),
        "addnote": ("signal", "add_worklog"),
        "close": ("signal", "resolve"),
        "addtags": ("signal", "record_event"),
        "removetags": ("signal", "record_event"),
        "addrecipient": ("signal", "record_event"),
        "addteam": ("signal", "record_event"),
        "unacknowledge": ("signal", "record_event"),
        "customaction": ("signal", "record_event"),
        "delete": ("signal", "record_event"),
    }
    for name, (kind, operation) in expected.items():
        todo = plan(WebhookEvent.model_validate(fixture(name)), MAPPING)
        assert (todo.kind, todo.operation) == (kind, operation), name
        assert todo.incident_id.startswith("incident-")
        if operation == "record_event":
            assert todo.start is None  # only recorded, never opens an incident


def test_take_ownership_acknowledges_and_a_priority_change_recategorizes() -> None:
    taken = {**fixture("acknowledge"), "action": "TakeOwnership"}
    todo = plan(WebhookEvent.model_validate(taken), MAPPING)
    assert (todo.kind, todo.operation) == ("signal", "acknowledge")
    assert todo.start is not None  # like any acknowledgement, it may open the incident
    changed = fixture("acknowledge")
    changed["action"] = "UpdatePriority"
    changed["alert"]["priority"] = "P5"
    todo = plan(WebhookEvent.model_validate(changed), MAPPING)
    assert (todo.kind, todo.operation) == ("signal", "recategorize")
    assert getattr(todo.input, "opsgenie_priority", None) == "P5"  # the policy maps it: P3


def test_the_service_level_comes_from_tag_then_detail_then_team_then_default() -> None:
    teams = OpsgenieMapping.model_validate(
        {**MAPPING.model_dump(), "teams": {"operations": "silver"}}
    )
    create = fixture("create")
    create["alert"]["team"] = "operations"
    create["alert"]["tags"] = ["sl:gold"]
    create["alert"]["details"] = {"service_level": "bronze"}

    def level() -> str | None:
        todo = plan(WebhookEvent.model_validate(create), teams)
        assert todo.start is not None
        return None if todo.start.service_level_defaulted else todo.start.service_level

    assert level() == "gold"
    create["alert"]["tags"] = []
    assert level() == "bronze"
    create["alert"]["details"] = {}
    assert level() == "silver"
    create["alert"]["team"] = "elsewhere"
    assert level() is None  # the mapping's default, said to be one
    # JSM Operations sends the alert's teams as a list (ids, or names in its samples).
    del create["alert"]["team"]
    create["alert"]["teams"] = ["team1", "operations"]
    assert level() == "silver"
    create["alert"]["teams"] = ["team1", "team2"]
    assert level() is None


def test_an_acknowledgement_in_opsgenie_is_told_in_french() -> None:
    """The note reaches the requesters' "pris en compte" mail: no Opsgenie action name."""
    notes = {}
    for name in ("acknowledge", "assignownership"):
        todo = plan(WebhookEvent.model_validate(fixture(name)), MAPPING)
        notes[name] = getattr(todo.input, "note", None)
    assert notes["acknowledge"] == "alerte acquittée dans Opsgenie"
    with_note = fixture("acknowledge")
    with_note["alert"]["note"] = "je regarde"
    todo = plan(WebhookEvent.model_validate(with_note), MAPPING)
    assert getattr(todo.input, "note", None) == "alerte acquittée dans Opsgenie — je regarde"
    assert str(notes["assignownership"]).startswith("alerte attribuée dans Opsgenie (propriétaire ")


def test_a_create_says_which_service_level_its_alert_named() -> None:
    """A level the alert names (tag, detail, team) travels with a late Create; the
    mapping's default does not, and the incident it opens says it took the default."""
    create = fixture("create")
    todo = plan(WebhookEvent.model_validate(create), MAPPING)
    assert todo.start is not None and todo.start.service_level_defaulted
    assert getattr(todo.input, "service_level", "?") is None
    create["alert"]["tags"] = ["sl:Gold"]
    todo = plan(WebhookEvent.model_validate(create), MAPPING)
    assert todo.start is not None and not todo.start.service_level_defaulted
    assert getattr(todo.input, "service_level", None) == "gold"
    ack = fixture("acknowledge")
    ack["alert"]["details"] = {"service_level": "silver"}
    todo = plan(WebhookEvent.model_validate(ack), MAPPING)
    assert todo.start is not None and todo.start.service_level == "silver"
    assert not todo.start.service_level_defaulted


def test_an_event_that_opens_the_incident_does_not_make_its_actor_a_requester() -> None:
    """An Acknowledge that comes before its Create opens the incident: the engineer who
    acknowledged is not who raised the alert, and gets no requester's mail."""
    ack = fixture("acknowledge")
    ack["alert"]["username"] = "oncall@provider.example"
    ack["alert"]["details"] = {"requesters": "client@example.org"}
    todo = plan(WebhookEvent.model_validate(ack), MAPPING)
    assert todo.start is not None and todo.start.requesters == ["client@example.org"]
    create = fixture("create")
    create["alert"]["username"] = "client2@example.org"
    todo = plan(WebhookEvent.model_validate(create), MAPPING)
    assert todo.start is not None and "client2@example.org" in todo.start.requesters


def test_alert_fields_become_incident_fields() -> None:
    todo = plan(WebhookEvent.model_validate(fixture("create")), MAPPING)
    assert todo.start is not None
    assert todo.incident_id == "incident-7ec331d7-f5f3-4f78-a49c-2ad886df69fe-1593475564295"
    assert todo.start.title == "asdf"
    assert todo.start.opsgenie_priority == "P3"
    assert todo.start.requesters == ["kenaz@puppet.com"]
    assert todo.start.service_level == MAPPING.default_service_level
    assert todo.start.t0 is not None and int(todo.start.t0.timestamp() * 1000) == 1593475564295
    assert todo.start.alert is not None and todo.start.alert.identifier_type == "id"

    monitoring = fixture("create_from_monitoring")
    monitoring["alert"]["tags"].append("sl:gold")
    todo = plan(WebhookEvent.model_validate(monitoring), MAPPING)
    assert todo.start is not None and todo.start.service_level == "gold"
    assert todo.start.requesters == []  # "Site24x7" is no address
    assert todo.start.details["Monitor ID"] == "79963000032090390"

    teams = OpsgenieMapping.model_validate(
        {**MAPPING.model_dump(), "teams": {"operations": "silver"}}
    )
    todo = plan(WebhookEvent.model_validate(fixture("create")), teams)
    assert todo.start is not None and todo.start.service_level == "silver"


def test_custom_action_mapped_by_configuration_and_echoes_ignored() -> None:
    pending = fixture("customaction")
    pending["action"] = "Pending"
    todo = plan(WebhookEvent.model_validate(pending), MAPPING)
    assert todo.operation == "set_pending" and isinstance(todo.input, SetPendingInput)
    assert todo.input.waiting_on == "customer"

    echo = fixture("acknowledge")
    echo["source"] = {"name": "vigie", "type": "API"}
    assert plan(WebhookEvent.model_validate(echo), MAPPING).kind == "ignore"
    note = fixture("addnote")
    note["alert"]["note"] = "[vigie] worklog: restarted"
    assert plan(WebhookEvent.model_validate(note), MAPPING).kind == "ignore"
    tags = fixture("addtags")
    tags["alert"]["addedTags"] = "vigie:in_progress"
    assert plan(WebhookEvent.model_validate(tags), MAPPING).kind == "ignore"


def test_acting_on_a_crisis_notification_alert_opens_no_incident() -> None:
    """While the mail system is down, crisis notifications are Opsgenie alerts Vigie raised:
    the person paged acknowledges or closes them; that opens no incident of its own."""
    for action in ("acknowledge", "close", "addnote", "create"):
        body = fixture(action)
        body["source"] = {"name": "mobile", "type": "mobile"}
        body["alert"] |= {"alias": "crisis-incident-20261201-1633cd.1", "message": "Crise"}
        todo = plan(WebhookEvent.model_validate(body), MAPPING)
        assert todo.kind == "ignore" and "crisis notification" in todo.reason, (action, todo)
    tagged = fixture("acknowledge")
    tagged["alert"] |= {"alias": None, "tags": ["vigie", "crisis"]}
    assert plan(WebhookEvent.model_validate(tagged), MAPPING).kind == "ignore"
    # A sender's own alert whose alias happens to start with "crisis-" is an alert like any.
    own = fixture("create")
    own["alert"] |= {"alias": "crisis-hotline-monitor", "message": "Hotline down"}
    assert plan(WebhookEvent.model_validate(own), MAPPING).kind == "start"
    own["alert"]["alias"] = "crisis-hotline.2"  # numbered too, but not a crisis id of Vigie's
    assert plan(WebhookEvent.model_validate(own), MAPPING).kind == "start"
    for alias in ("crisis-20261201-a1b2c3.4", "crisis-drill-20261201-a1b2c3.0"):
        own["alert"]["alias"] = alias
        assert plan(WebhookEvent.model_validate(own), MAPPING).kind == "ignore", alias


async def test_escalate_shape_and_unknown_alert() -> None:
    gateway = RecordingGateway()
    escalate = {
        "action": "Escalate",
        "escalationId": "e-1",
        "escalationName": "Ops escalation",
        "escalationNotify": {"name": "ops_team", "type": "team"},
        "alert": {"alertId": "a-1"},
        "source": {"name": "", "type": "system"},
    }
    async with client(gateway) as c:
        r = await post(c, escalate)
        assert r.status_code == 202 and r.json()["result"] == "ignored"  # no incident yet
        ack = fixture("acknowledge")
        del ack["alert"]["message"]
        r = await post(c, ack)
        assert r.status_code == 404 and "no incident for alert" in r.json()["error"]
    assert gateway.started == []
    assert gateway.signals[0][1] == "record_event"
    assert "Ops escalation" in gateway.signals[0][2]["text"]
    unnamed = {k: v for k, v in escalate.items() if k != "escalationName"}
    todo = plan(WebhookEvent.model_validate(unnamed), MAPPING)
    assert todo.input is not None
    assert todo.input.text == "Opsgenie a escaladé l'alerte.", todo.input  # type: ignore[attr-defined]


@pytest.mark.parametrize("message", ["", "   ", None])
async def test_a_create_without_a_message_is_refused_by_name(message: str | None) -> None:
    """Nothing to name an incident by: a 422 the sender's integration log shows, not a 202
    that reads as taken."""
    gateway = RecordingGateway()
    create = fixture("create")
    if message is None:
        del create["alert"]["message"]
    else:
        create["alert"]["message"] = message
    async with client(gateway) as c:
        r = await post(c, create)
    assert r.status_code == 422, r.text
    assert r.json()["problems"] == [
        {"field": "alert.message", "problem": "empty; an incident needs a title"}
    ]
    assert gateway.started == [] and gateway.signals == []


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=20,
)


def _encode(value: Any) -> bytes:
    return json.dumps(value).encode()


def _bad_priority(text: str) -> bool:
    # The receiver trims a priority ("1 " is P1): only what stays wrong once trimmed is bad.
    text = text.strip()
    return text != "" and text.upper().removeprefix("P") not in {"1", "2", "3", "4", "5"}


def _not_a_number(text: str) -> bool:
    return text.strip() != "" and not text.strip().lstrip("-").isdigit()


BROKEN_ALERTS = st.one_of(
    JSON.filter(lambda v: not isinstance(v, dict)),
    st.fixed_dictionaries({"message": st.text(max_size=30)}),  # no alertId
    st.fixed_dictionaries({"alertId": st.sampled_from(["", 7, None, [], {}])}),
    st.fixed_dictionaries(
        {"alertId": st.just("a-1"), "priority": st.text(max_size=4).filter(_bad_priority)}
    ),
    st.fixed_dictionaries({"alertId": st.just("a-1"), "details": st.lists(JSON, max_size=2)}),
    st.fixed_dictionaries(
        {"alertId": st.just("a-1"), "createdAt": st.text(max_size=6).filter(_not_a_number)}
    ),
)
ACTIONS = st.sampled_from(["Create", "Acknowledge", "Close"])
MALFORMED = st.one_of(
    st.binary(max_size=200).filter(lambda b: not _is_json(b)),
    JSON.filter(lambda v: not isinstance(v, dict)).map(_encode),
    st.fixed_dictionaries({"action": ACTIONS, "alert": BROKEN_ALERTS}).map(_encode),
    st.fixed_dictionaries({"alert": st.just({"alertId": "a-1", "message": "m"})}).map(_encode),
)


def _is_json(raw: bytes) -> bool:
    try:
        json.loads(raw)
    except ValueError:
        return False
    return True


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(body=MALFORMED)
async def test_malformed_bodies_never_5xx_never_start(body: bytes) -> None:
    gateway = RecordingGateway()
    async with client(gateway) as c:
        r = await post(c, body)
    assert r.status_code in (400, 413, 422), (r.status_code, r.text, body)
    assert r.json()["error"]
    assert gateway.started == [] and gateway.signals == []


@settings(max_examples=200, deadline=None)
@given(body=st.dictionaries(st.sampled_from(["action", "alert", "source", "x"]), JSON))
async def test_arbitrary_json_objects_never_5xx(body: dict[str, Any]) -> None:
    gateway = RecordingGateway()
    async with client(gateway) as c:
        r = await post(c, body)
    assert r.status_code < 500, r.text
    if r.status_code != 202:
        assert gateway.started == []


@pytest.mark.parametrize("name", sorted(p.stem for p in WEBHOOKS.glob("*.json")))
async def test_fixtures_answer_2xx(name: str) -> None:
    gateway = RecordingGateway()
    gateway.known.add("incident-052652ac-5d1c-464a-812a-7dd18bbfba8c")
    async with client(gateway) as c:
        r = await post(c, fixture(name))
    assert r.status_code == 202, r.text


async def test_temporal_down_answers_503_quickly_with_retry_after() -> None:
    """The server went away after the receiver connected: a delivery gets 503 and
    Retry-After (Opsgenie delivers again), never a 500."""
    from temporalio.contrib.pydantic import pydantic_data_converter
    from temporalio.testing import WorkflowEnvironment

    from starters.gateway import TemporalGateway
    from tests.conftest import BIN

    env = await WorkflowEnvironment.start_local(
        dev_server_existing_path=str(BIN / "temporal"), data_converter=pydantic_data_converter
    )
    gateway = TemporalGateway(env.client, "down-queue")
    await env.shutdown()
    app = create_app(gateway, MAPPING, secret=SECRET)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://vigie"
    ) as c:
        r = await post(c, fixture("create"))
    assert r.status_code == 503, r.text
    assert r.headers["Retry-After"] == "30"


def test_an_update_time_far_ahead_of_the_clock_is_not_taken() -> None:
    """A sender whose clock is ten years ahead: its event counts, but not its time, which
    would make every later priority change look older and be refused as stale."""
    body = fixture("addnote")
    body["alert"]["updatedAt"] = 2_100_000_000_000_000_000  # 2036
    event = WebhookEvent.model_validate(body)
    assert event.alert.updatedAt is None
    # Delivered again, it is still one event, and a different note at that time another.
    again = WebhookEvent.model_validate(body)
    key = delivery_key(event)
    assert key is not None and key == delivery_key(again)
    assert opsgenie_updated_at(key, "AddNote") is None  # orders nothing
    body["alert"]["note"] = "another note"
    assert delivery_key(WebhookEvent.model_validate(body)) != key
    # 0, or none: no time, so nothing tells a delivery again from the next event of the
    # same kind (a second Pending after a Resume): no key, each applied.
    for none in (0, "0", None):
        body["alert"]["updatedAt"] = none
        assert delivery_key(WebhookEvent.model_validate(body)) is None, none
    body["alert"]["updatedAt"] = 1_764_570_000_000_000_000  # 2025: taken
    assert WebhookEvent.model_validate(body).alert.updatedAt == 1_764_570_000_000_000_000
    taken = delivery_key(WebhookEvent.model_validate(body))
    assert opsgenie_updated_at(taken, "AddNote") == 1_764_570_000_000_000_000
