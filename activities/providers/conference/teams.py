"""Microsoft Teams: Graph onlineMeetings/createOrGet, keyed by externalId so retries reuse it."""

from __future__ import annotations

from datetime import timedelta

import httpx
from pydantic import BaseModel, SecretStr

from activities.models import ConferenceInput, ConferenceResult
from activities.providers.conference import ConferenceError


class TeamsConfig(BaseModel):
    tenant_id: str
    client_id: str
    client_secret: SecretStr
    organizer: str  # user id or UPN the meeting is created for
    login_url: str = "https://login.microsoftonline.com"
    graph_url: str = "https://graph.microsoft.com/v1.0"


class TeamsProvider:
    name = "teams"

    def __init__(self, config: TeamsConfig, http: httpx.AsyncClient) -> None:
        self.config, self.http = config, http

    async def create(self, input: ConferenceInput) -> ConferenceResult:
        c = self.config
        try:
            token = await self.http.post(
                f"{c.login_url}/{c.tenant_id}/oauth2/v2.0/token",
                data={
                    "grant_type": "client_credentials",
                    "client_id": c.client_id,
                    "client_secret": c.client_secret.get_secret_value(),
                    "scope": "https://graph.microsoft.com/.default",
                },
            )
            if token.status_code != 200:
                raise ConferenceError(f"Entra ID answered {token.status_code}: {token.text[:200]}")
            end = input.start + timedelta(minutes=input.minutes)
            meeting = await self.http.post(
                f"{c.graph_url}/users/{c.organizer}/onlineMeetings/createOrGet",
                headers={"Authorization": f"Bearer {token.json()['access_token']}"},
                json={
                    "externalId": input.crisis_id,
                    "subject": f"Crise — {input.title}"[:200],
                    "startDateTime": input.start.isoformat(),
                    "endDateTime": end.isoformat(),
                },
            )
        except httpx.HTTPError as exc:
            raise ConferenceError(f"Microsoft Graph unreachable: {exc}") from exc
        if meeting.status_code not in (200, 201):
            raise ConferenceError(f"Graph answered {meeting.status_code}: {meeting.text[:200]}")
        body = meeting.json()
        return ConferenceResult(
            provider=self.name, url=body["joinWebUrl"], meeting_id=body.get("id")
        )
