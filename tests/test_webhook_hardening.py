"""What a sender can put in a webhook never gets a 5xx, never reaches an incident's title or
id as a control character, and never holds the receiver: media type, depth, numbers, read
timeout, connection limit and keep-alive. Real Opsgenie bodies from tests/fixtures."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from starters.serving import ServerLimits, serving, webhook_limits
from starters.webhook import create_app
from tests.conftest import free_port
from tests.test_webhook_receiver import MAPPING, SECRET, RecordingGateway, fixture, post
from workers.settings import Settings

HEADERS = {"X-Webhook-Secret": SECRET, "Content-Type": "application/json"}


def client(gateway: RecordingGateway, **options: Any) -> httpx.AsyncClient:
    app = create_app(gateway, MAPPING, secret=SECRET, **options)
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://vigie")


def create(**alert: Any) -> dict[str, Any]:
    body = fixture("create")
    body["alert"].update(alert)
    return body


async def test_only_json_is_accepted() -> None:
    gateway = RecordingGateway()
    body = json.dumps(fixture("create")).encode()
    async with client(gateway) as c:
        for media in ("text/plain", "application/x-www-form-urlencoded", "multipart/form-data"):
            headers = {**HEADERS, "Content-Type": media}
            r = await c.post("/webhooks/opsgenie", content=body, headers=headers)
            assert r.status_code == 415, media
            assert r.json()["error"] == f"Content-Type must be application/json, not {media!r}"
        assert gateway.started == []
        for media in ("application/json; charset=utf-8", "application/vnd.opsgenie+json"):
            headers = {**HEADERS, "Content-Type": media}
            r = await c.post("/webhooks/opsgenie", content=body, headers=headers)
            assert r.status_code == 202, media
        # A sender that names no media type at all is taken at its word: JSON.
        r = await post(c, create(alertId="no-content-type"))
        assert r.status_code == 202


async def test_nesting_and_numbers_are_bounded() -> None:
    gateway = RecordingGateway()
    async with client(gateway) as c:
        deep = b"[" * 100_000 + b"]" * 100_000  # beyond the interpreter's recursion limit
        r = await post(c, deep)
        assert (r.status_code, r.json()["error"]) == (400, "JSON nested deeper than 32 levels")
        nested: Any = "x"
        for _ in range(40):
            nested = {"a": nested}
        r = await post(c, create(extra=nested))
        assert (r.status_code, r.json()["error"]) == (400, "JSON nested deeper than 32 levels")
        r = await post(c, create(extra=[[[[{"ok": [1, 2, {"deep": "enough"}]}]]]]))
        assert r.status_code == 202

        for number in (b"1" + b"0" * 30, b"1e400", b"-1e400", b"NaN", b"Infinity"):
            body = b'{"action": "Create", "alert": {"alertId": "n", "message": "m", "x": %s}}'
            r = await post(c, body % number)
            assert r.status_code == 400, number
            assert r.json()["error"].startswith("malformed JSON"), number

        # createdAt: milliseconds between 2000 and 2100, or the field is named in a 422.
        for created in (1e30, 10**18, 946684799999, -5, "1e30", 1.5):
            r = await post(c, create(createdAt=created))
            assert r.status_code == 422, created
            [problem] = r.json()["problems"]
            assert problem["field"] == "alert.createdAt", created
        r = await post(c, create(alertId="float-ms", createdAt=1593475564295.0))
        assert r.status_code == 202
    [*_, (incident, opened)] = gateway.started
    assert incident == "incident-float-ms"
    assert opened.t0 is not None and opened.t0.year == 2020


async def test_control_characters_never_reach_a_title_or_an_id() -> None:
    gateway = RecordingGateway()
    async with client(gateway) as c:
        # The message is cleaned: the alert still opens its incident, on one line.
        r = await post(
            c,
            create(
                alertId="ctl-1",
                message="Disk full\r\nBcc: victim@evil.test\x00\x1b[31m on db-3\u2028",
                username="ann@example.org\r\nX-Injected: 1",
                description="first line\r\nsecond\x00 line",
                entity="db-3\n",
                details={"application\n": "billing\x07", "category": "storage\r\nX: 1"},
                tags=["sl:gold", "a\nb"],
            ),
        )
        assert r.status_code == 202, r.text
        [(incident, opened)] = gateway.started
        assert incident == "incident-ctl-1"
        assert opened.title == "Disk full Bcc: victim@evil.test [31m on db-3"
        assert opened.opened_by == "ann@example.org X-Injected: 1"
        assert opened.description == "first line\nsecond line"
        assert opened.category == "storage X: 1"
        assert opened.application == "billing"  # the detail, its key cleaned, before the entity
        assert opened.service_level == "gold"

        # Ids are never altered: a control character in an alert id is refused.
        r = await post(c, create(alertId="ctl-2\r\nX: 1"))
        assert r.status_code == 422
        assert r.json()["problems"][0]["field"] == "alert.alertId"
        r = await post(c, create(alertId="ctl 3"))
        assert r.status_code == 422
        r = await post(c, create(alertId="a" * 201))
        assert (r.status_code, r.json()["problems"][0]["field"]) == (422, "alert.alertId")
        r = await post(c, create(alertId="a" * 200))
        assert r.status_code == 202
        # An alias that is not one clean line is not taken as an incident id.
        r = await post(c, create(alertId="ctl-4", alias="incident-x\r\nBcc: y"))
        assert (r.status_code, r.json()["incident"]) == (202, "incident-ctl-4")
        ack = fixture("acknowledge")
        ack["alert"].update(alias="incident-7\n", username="bob\r\nBcc: x")
        r = await post(c, ack)
        assert r.status_code == 202
    incident, operation, payload, _ = gateway.signals[-1]
    assert incident == f"incident-{ack['alert']['alertId']}"
    assert (operation, payload["by"]) == ("acknowledge", "bob Bcc: x")
    assert len(gateway.started) == 3


async def test_invisible_and_backward_text_is_no_title() -> None:
    """Zero-width characters alone are no title (refused like an empty message); direction
    overrides, which show "gnp.exe" as "exe.png", are dropped from every text."""
    gateway = RecordingGateway()
    async with client(gateway) as c:
        r = await post(c, create(alertId="inv-1", message="\u200b\u200b\u202e"))
        assert r.status_code == 422, r.text
        assert r.json()["problems"][0]["field"] == "alert.message"
        r = await post(
            c,
            create(alertId="inv-2", message="Invoice \u202egnp.exe", description="see \u202eabc",
                   details={"category": "mail\u2066x\u2069"}),
        )  # fmt: skip
        assert r.status_code == 202, r.text
    [(_, opened)] = gateway.started
    assert opened.title == "Invoice gnp.exe"
    assert opened.description == "see abc" and opened.category == "mailx"


async def test_the_tickets_fields_are_read_whatever_the_number_of_details() -> None:
    """An alert with 120 details before its ticket fields: the requesters, category and
    application are read all the same, the incident keeps as many details as it may, and
    one of them counts those left out."""
    from workflows.limits import MAX_DETAILS

    details = {f"k{n:03}": "v" for n in range(120)}
    details |= {"requesters": "keep-me@example.org", "category": "réseau", "application": "vpn"}
    gateway = RecordingGateway()
    async with client(gateway) as c:
        r = await post(c, create(alertId="det-120", details=details, username="ann@example.org"))
        assert r.status_code == 202, r.text
    [(_, opened)] = gateway.started
    assert opened.requesters == ["keep-me@example.org", "ann@example.org"]
    assert (opened.category, opened.application) == ("réseau", "vpn")
    assert len(opened.details) == MAX_DETAILS
    kept = len(opened.details) - 2  # the tiny id, and the count
    assert opened.details["vigie_details_left_out"] == str(123 - kept)
    assert opened.details["requesters"] == "keep-me@example.org"
    # As many as it may keep: all kept, and no count (a sender's own is not taken).
    exact = {f"k{n:03}": "v" for n in range(MAX_DETAILS - 1)} | {"vigie_details_left_out": "7"}
    async with client(gateway) as c:
        r = await post(c, create(alertId="det-99", details=exact))
        assert r.status_code == 202, r.text
    (_, _), (_, full) = gateway.started
    assert len(full.details) == MAX_DETAILS and "vigie_details_left_out" not in full.details


async def test_requesters_are_read_as_people_write_them() -> None:
    """ "Name <address>" gives the address; an address repeated in another case is mailed
    once; past the limit, who raised the alert is still told."""
    from workflows.limits import MAX_REQUESTERS

    gateway = RecordingGateway()
    listed = (
        "Jean Dupont <jean@example.org>; marie@example.org, MARIE@example.org Paie@x.org\n"
        '"Martin, Luc" <luc@example.org> Zoé <zoe@example.org>'
    )
    many = ", ".join(f"r{n}@example.org" for n in range(MAX_REQUESTERS + 1))
    async with client(gateway) as c:
        r = await post(c, create(alertId="req-1", details={"requesters": listed},
                                 username="paie@X.org"))  # fmt: skip
        assert r.status_code == 202, r.text
        r = await post(c, create(alertId="req-2", details={"requesters": many},
                                 username="ann@example.org"))  # fmt: skip
        assert r.status_code == 202, r.text
        # A sentence's full stop is not the address's; what no mail can carry is told apart.
        sentence = (
            "Please copy bob@client.example.org. ['x@y.org'] a..b@example.org carl@[example.org"
        )
        r = await post(c, create(alertId="req-3", details={"requesters": sentence},
                                 username="ann@example.org"))  # fmt: skip
        assert r.status_code == 202, r.text
    (_, first), (_, second), (_, third) = gateway.started
    assert third.requesters == ["bob@client.example.org", "ann@example.org"]
    assert "a..b@example.org" in third.unusable_requesters, third.unusable_requesters
    assert "carl@[example.org" in third.unusable_requesters, third.unusable_requesters
    assert first.requesters == ["jean@example.org", "marie@example.org", "Paie@x.org",
                                "luc@example.org", "zoe@example.org"]  # fmt: skip
    assert first.unusable_requesters == []
    assert len(second.requesters) == MAX_REQUESTERS
    assert second.requesters[-1] == "ann@example.org"


async def test_texts_are_cut_to_the_input_limits() -> None:
    gateway = RecordingGateway()
    gateway.known.add("incident-052652ac-5d1c-464a-812a-7dd18bbfba8c")
    async with client(gateway) as c:
        r = await post(c, create(alertId="long", message="m" * 2000, description="d" * 20_000))
        assert r.status_code == 202
        note = fixture("addnote")
        note["alert"]["note"] = "\x00n\x1b" + "n" * 30_000
        note["alert"]["username"] = "u" * 500
        r = await post(c, note)
        assert r.status_code == 202, r.text
    [(_, opened)] = gateway.started
    assert len(opened.title) == 500 and opened.title.endswith("…")
    assert opened.description is not None and len(opened.description) == 10_000
    [(_, operation, payload, _)] = gateway.signals
    assert operation == "add_worklog"
    assert len(payload["text"]) == 10_000 and len(payload["by"]) == 200
    assert payload["text"].startswith("nn") and payload["text"].endswith("n…")


async def test_a_body_too_slow_to_arrive_gets_408() -> None:
    never = asyncio.Event()

    async def stalled() -> AsyncIterator[bytes]:
        yield b'{"action": "Create", '
        await never.wait()

    async with client(RecordingGateway(), read_timeout_seconds=0.2) as c:
        r = await c.post("/webhooks/opsgenie", content=stalled(), headers=HEADERS)
    assert (r.status_code, r.json()["error"]) == (408, "body not received within 0.2 s")


async def test_metric_labels_stay_bounded() -> None:
    async with client(RecordingGateway()) as c:
        for i in range(5):
            body = fixture("create")
            body["action"] = f"Made-up {i}"
            await post(c, body)
        metrics = (await c.get("/metrics")).text
    assert 'action="(other)",status="202"} 5.0' in metrics
    assert "Made-up" not in metrics


def test_server_limits_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VIGIE_WEBHOOK_KEEP_ALIVE_SECONDS", "3")
    monkeypatch.setenv("VIGIE_WEBHOOK_MAX_CONNECTIONS", "7")
    monkeypatch.setenv("VIGIE_WEBHOOK_READ_TIMEOUT_SECONDS", "2.5")
    configured = Settings()
    assert webhook_limits(configured) == ServerLimits(keep_alive_seconds=3, max_connections=7)
    assert configured.webhook_read_timeout_seconds == 2.5
    for name in ("KEEP_ALIVE_SECONDS", "MAX_CONNECTIONS", "READ_TIMEOUT_SECONDS"):
        monkeypatch.delenv(f"VIGIE_WEBHOOK_{name}")
    assert webhook_limits(Settings()) == ServerLimits(keep_alive_seconds=5, max_connections=256)
    assert Settings().webhook_read_timeout_seconds == 10


async def test_the_server_turns_away_connections_beyond_its_limit() -> None:
    app = create_app(RecordingGateway(), MAPPING, secret=SECRET, read_timeout_seconds=30)
    reached, release = asyncio.Event(), asyncio.Event()

    async def watched(scope: Any, receive: Any, send: Any) -> None:
        reached.set()
        await app(scope, receive, send)

    async def held() -> AsyncIterator[bytes]:
        yield json.dumps(fixture("create"))[:-1].encode()
        await release.wait()
        yield b"}"

    port = free_port()
    # uvicorn counts the connection asking: with 2, one request is served at a time.
    async with (
        serving(watched, "127.0.0.1", port, limits=ServerLimits(max_connections=2)),
        httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as first,
        httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as second,
    ):
        holding = asyncio.create_task(
            first.post("/webhooks/opsgenie", content=held(), headers=HEADERS)
        )
        await asyncio.wait_for(reached.wait(), timeout=10)
        turned_away = await second.get("/healthz")
        release.set()
        assert (await holding).status_code == 202
    assert (turned_away.status_code, turned_away.text) == (503, "Service Unavailable")


async def test_the_server_closes_idle_kept_alive_connections() -> None:
    app = create_app(RecordingGateway(), MAPPING, secret=SECRET)
    port = free_port()
    async with serving(app, "127.0.0.1", port, limits=ServerLimits(keep_alive_seconds=1)):
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(b"GET /healthz HTTP/1.1\r\nHost: vigie\r\n\r\n")
        await writer.drain()
        assert (await reader.readuntil(b"\r\n\r\n")).startswith(b"HTTP/1.1 200")
        # The connection stays open for another request, until the server closes it.
        assert await asyncio.wait_for(reader.read(), timeout=10) == b'{"status":"ok"}'
        writer.close()


JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats()
    | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner),
    max_leaves=30,
)
TEXT = st.text(alphabet=st.characters(codec="utf-8"), max_size=40) | st.text(max_size=40)
ALERTS = st.fixed_dictionaries(
    {"alertId": st.text(max_size=12) | st.just("a-1")},
    optional={
        "message": TEXT | JSON,
        "alias": TEXT,
        "username": TEXT,
        "note": TEXT,
        "createdAt": JSON | st.integers(),
        "priority": JSON,
        "tags": JSON,
        "details": JSON | st.dictionaries(TEXT, TEXT),
        "description": TEXT,
        "tinyId": TEXT | JSON,
        "owner": TEXT | JSON,
    },
)
BODIES = st.one_of(
    JSON.map(json.dumps),
    st.fixed_dictionaries(
        {
            "action": st.sampled_from(["Create", "Acknowledge", "AddNote", "Close", "X"]) | TEXT,
            "alert": ALERTS,
        },
        optional={"source": JSON},
    ).map(json.dumps),
    st.integers(min_value=1, max_value=200).map(lambda n: "[" * n + "]" * n),
    st.integers(min_value=1, max_value=200).map(lambda n: '{"a":' * n + "1" + "}" * n),
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(body=BODIES, media=st.sampled_from([None, "application/json", "text/plain"]))
async def test_random_bodies_never_get_a_5xx(body: str, media: str | None) -> None:
    gateway = RecordingGateway()
    headers = {"X-Webhook-Secret": SECRET} | ({"Content-Type": media} if media else {})
    async with client(gateway) as c:
        r = await c.post("/webhooks/opsgenie", content=body.encode(), headers=headers)
    assert r.status_code in (202, 400, 404, 413, 415, 422), (r.status_code, r.text, body)
    assert r.headers["content-type"] == "application/json"
    for _, started in gateway.started:
        assert "\n" not in started.title and "\r" not in started.title
    for incident, *_ in gateway.signals:
        assert "\n" not in incident and "\r" not in incident
