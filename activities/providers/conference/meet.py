"""Google Meet: OAuth refresh-token grant, then spaces.create of the Meet REST API."""

from __future__ import annotations

import httpx
from pydantic import BaseModel, SecretStr

from activities.models import ConferenceInput, ConferenceResult
from activities.providers.conference import ConferenceError


class MeetConfig(BaseModel):
    client_id: str
    client_secret: SecretStr
    refresh_token: SecretStr
    token_url: str = "https://oauth2.googleapis.com/token"
    api_url: str = "https://meet.googleapis.com/v2"


class MeetProvider:
    name = "meet"

    def __init__(self, config: MeetConfig, http: httpx.AsyncClient) -> None:
        self.config, self.http = config, http

    async def create(self, input: ConferenceInput) -> ConferenceResult:
        c = self.config
        try:
            token = await self.http.post(
                c.token_url,
                data={
                    "grant_type": "refresh_token",
                    "client_id": c.client_id,
                    "client_secret": c.client_secret.get_secret_value(),
                    "refresh_token": c.refresh_token.get_secret_value(),
                },
            )
            if token.status_code != 200:
                raise ConferenceError(
                    f"Google OAuth answered {token.status_code}: {token.text[:200]}"
                )
            space = await self.http.post(
                f"{c.api_url}/spaces",
                headers={"Authorization": f"Bearer {token.json()['access_token']}"},
                json={"config": {"accessType": "TRUSTED"}},
            )
        except httpx.HTTPError as exc:
            raise ConferenceError(f"Google Meet unreachable: {exc}") from exc
        if space.status_code != 200:
            raise ConferenceError(f"Meet answered {space.status_code}: {space.text[:200]}")
        body = space.json()
        return ConferenceResult(
            provider=self.name, url=body["meetingUri"], meeting_id=body.get("meetingCode")
        )
