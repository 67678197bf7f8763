"""Conference providers against their HTTP APIs (httpx.MockTransport), and the fallback."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from urllib.parse import parse_qs

import httpx
import pytest
from pydantic import SecretStr
from temporalio.testing import ActivityEnvironment

from activities.conference import ConferenceActivities
from activities.models import ConferenceInput
from activities.providers.conference import ConferenceError
from activities.providers.conference.jitsi import JitsiProvider
from activities.providers.conference.meet import MeetConfig, MeetProvider
from activities.providers.conference.teams import TeamsConfig, TeamsProvider
from activities.providers.conference.zoom import ZoomConfig, ZoomProvider
from workers.settings import Settings

MEETING = ConferenceInput(
    crisis_id="crisis-incident-42",
    title="Checkout down",
    start=datetime(2026, 12, 1, 9, tzinfo=UTC),
)


def http(handler: object) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.MockTransport(handler))  # type: ignore[arg-type]


async def test_jitsi_rooms_are_unguessable() -> None:
    first = await JitsiProvider().create(MEETING)
    second = await JitsiProvider().create(MEETING)
    assert first.url.startswith("https://meet.jit.si/crisis-incident-42-")
    secret = first.url.removeprefix("https://meet.jit.si/crisis-incident-42-")
    assert first.url != second.url and len(secret) == 24  # 18 random bytes, URL-safe


async def test_zoom_server_to_server_oauth_then_meeting() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.host == "zoom.us":
            assert request.method == "POST" and request.url.path == "/oauth/token"
            assert request.url.params["grant_type"] == "account_credentials"
            assert request.url.params["account_id"] == "acc"
            assert request.headers["Authorization"].startswith("Basic ")
            return httpx.Response(200, json={"access_token": "tok", "expires_in": 3600})
        assert str(request.url) == "https://api.zoom.us/v2/users/me/meetings"
        assert request.headers["Authorization"] == "Bearer tok"
        body = json.loads(request.content)
        assert body["type"] == 2 and "Checkout down" in body["topic"]
        assert body["start_time"] == "2026-12-01T09:00:00Z"
        return httpx.Response(
            201, json={"id": 85746065, "join_url": "https://zoom.us/j/85746065", "password": "x1"}
        )

    config = ZoomConfig(account_id="acc", client_id="id", client_secret=SecretStr("s"))
    result = await ZoomProvider(config, http(handler)).create(MEETING)
    assert (result.url, result.meeting_id, result.passcode) == (
        "https://zoom.us/j/85746065",
        "85746065",
        "x1",
    )


async def test_teams_create_or_get_with_external_id() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.host == "login.microsoftonline.com":
            assert request.url.path == "/tenant/oauth2/v2.0/token"
            form = parse_qs(request.content.decode())
            assert form["grant_type"] == ["client_credentials"]
            assert form["scope"] == ["https://graph.microsoft.com/.default"]
            return httpx.Response(200, json={"access_token": "graph"})
        assert request.url.path == "/v1.0/users/im@example.com/onlineMeetings/createOrGet"
        body = json.loads(request.content)
        assert body["externalId"] == "crisis-incident-42"  # retries get the same meeting
        return httpx.Response(
            200, json={"id": "MSo1", "joinWebUrl": "https://teams.microsoft.com/l/meetup-join/1"}
        )

    config = TeamsConfig(
        tenant_id="tenant", client_id="c", client_secret=SecretStr("s"), organizer="im@example.com"
    )
    result = await TeamsProvider(config, http(handler)).create(MEETING)
    assert (
        result.url == "https://teams.microsoft.com/l/meetup-join/1" and result.meeting_id == "MSo1"
    )


async def test_google_meet_spaces_create() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.host == "oauth2.googleapis.com":
            assert parse_qs(request.content.decode())["grant_type"] == ["refresh_token"]
            return httpx.Response(200, json={"access_token": "g"})
        assert str(request.url) == "https://meet.googleapis.com/v2/spaces"
        assert request.headers["Authorization"] == "Bearer g"
        return httpx.Response(
            200,
            json={
                "name": "spaces/abc",
                "meetingUri": "https://meet.google.com/abc-mnop-xyz",
                "meetingCode": "abc-mnop-xyz",
            },
        )

    config = MeetConfig(client_id="c", client_secret=SecretStr("s"), refresh_token=SecretStr("r"))
    result = await MeetProvider(config, http(handler)).create(MEETING)
    assert result.url == "https://meet.google.com/abc-mnop-xyz"


@pytest.mark.parametrize("status", [401, 500])
async def test_provider_error_falls_back_to_jitsi(status: int) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(status, json={"reason": "Invalid client_id or client_secret"})

    zoom = ZoomProvider(
        ZoomConfig(account_id="a", client_id="c", client_secret=SecretStr("s")), http(handler)
    )
    with pytest.raises(ConferenceError, match=str(status)):
        await zoom.create(MEETING)
    activities = ConferenceActivities(zoom, JitsiProvider())
    result = await ActivityEnvironment().run(activities.open_conference, MEETING)
    assert result.provider == "jitsi" and result.fallback_reason is not None
    assert f"zoom: Zoom OAuth answered {status}" in result.fallback_reason


def test_missing_credentials_are_refused_at_start() -> None:
    with pytest.raises(ValueError, match="VIGIE_TEAMS_TENANT_ID"):
        Settings(conference_provider="teams", teams_client_id="c")


async def test_crisis_notification_through_opsgenie() -> None:
    from activities.mail import MailActivities
    from activities.mail_render import MailRenderer
    from activities.models import CrisisMailInput
    from activities.providers.opsgenie.client import OpsgenieApi, OpsgenieConfig
    from activities.providers.smtp import SmtpConfig, SmtpTransport
    from starters.dev.opsgenie_standin import OpsgenieStandIn
    from workflows.crisis_models import CrisisMail

    standin = OpsgenieStandIn()
    api = OpsgenieApi(
        OpsgenieConfig(base_url="http://standin", api_key=SecretStr("k")),
        transport=httpx.ASGITransport(app=standin.app()),
    )
    unused_smtp = SmtpTransport(SmtpConfig(host="127.0.0.1", port=9))
    activities = MailActivities(
        unused_smtp, MailRenderer("v@example.com", "example.com"), alerts=api
    )
    mail = CrisisMail(
        key="crisis-1.0", thread_key=None, kind="cell_opening", to=["im@example.com"],
        channel="opsgenie", language="fr", subject="Exchange down", lines=["Cell opens"],
    )  # fmt: skip
    result = await ActivityEnvironment().run(
        activities.send_crisis_mail, CrisisMailInput(crisis_id="crisis-1", mail=mail)
    )
    assert result.message_id.startswith("opsgenie:")
    alert = standin.find("crisis-1.0", "alias")
    assert alert is not None and "Ouverture de la cellule de crise" in alert["message"]
    assert "Cell opens" in alert["description"]


async def test_zoom_gets_utc_whatever_the_time_zone_of_t0() -> None:
    """A T0 in Paris time (10:00 CET) is booked at 09:00 UTC, not at 10:00 UTC."""
    from zoneinfo import ZoneInfo

    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.host == "zoom.us":
            return httpx.Response(200, json={"access_token": "tok", "expires_in": 3600})
        seen.append(json.loads(request.content)["start_time"])
        return httpx.Response(201, json={"id": 1, "join_url": "https://zoom.us/j/1"})

    config = ZoomConfig(account_id="acc", client_id="id", client_secret=SecretStr("s"))
    paris = MEETING.model_copy(
        update={"start": datetime(2026, 12, 1, 10, tzinfo=ZoneInfo("Europe/Paris"))}
    )
    await ZoomProvider(config, http(handler)).create(paris)
    assert seen == ["2026-12-01T09:00:00Z"]
