"""Zoom: Server-to-Server OAuth, then POST /v2/users/me/meetings."""

from __future__ import annotations

from datetime import UTC

import httpx
from pydantic import BaseModel, SecretStr

from activities.models import ConferenceInput, ConferenceResult
from activities.providers.conference import ConferenceError


class ZoomConfig(BaseModel):
    account_id: str
    client_id: str
    client_secret: SecretStr
    user: str = "me"
    oauth_url: str = "https://zoom.us/oauth/token"
    api_url: str = "https://api.zoom.us/v2"


class ZoomProvider:
    name = "zoom"

    def __init__(self, config: ZoomConfig, http: httpx.AsyncClient) -> None:
        self.config, self.http = config, http

    async def create(self, input: ConferenceInput) -> ConferenceResult:
        c = self.config
        try:
            token = await self.http.post(
                c.oauth_url,
                params={"grant_type": "account_credentials", "account_id": c.account_id},
                auth=(c.client_id, c.client_secret.get_secret_value()),
            )
            if token.status_code != 200:
                raise ConferenceError(
                    f"Zoom OAuth answered {token.status_code}: {token.text[:200]}"
                )
            meeting = await self.http.post(
                f"{c.api_url}/users/{c.user}/meetings",
                headers={"Authorization": f"Bearer {token.json()['access_token']}"},
                json={
                    "topic": f"Crise — {input.title}"[:200],
                    "type": 2,
                    # Zoom reads a trailing Z as UTC: convert before labelling it so.
                    "start_time": input.start.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
                    "duration": input.minutes,
                    "agenda": input.crisis_id,
                    "settings": {"join_before_host": True, "waiting_room": False},
                },
            )
        except httpx.HTTPError as exc:
            raise ConferenceError(f"Zoom unreachable: {exc}") from exc
        if meeting.status_code != 201:
            raise ConferenceError(f"Zoom answered {meeting.status_code}: {meeting.text[:200]}")
        body = meeting.json()
        return ConferenceResult(
            provider=self.name,
            url=body["join_url"],
            meeting_id=str(body["id"]),
            passcode=body.get("password"),
        )
