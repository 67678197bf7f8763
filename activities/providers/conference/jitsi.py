"""Jitsi Meet: no API; a room exists as soon as someone opens its URL, so the name is secret."""

from __future__ import annotations

import re
import secrets

from activities.models import ConferenceInput, ConferenceResult


class JitsiProvider:
    name = "jitsi"

    def __init__(self, base_url: str = "https://meet.jit.si") -> None:
        self.base_url = base_url.rstrip("/")

    async def create(self, input: ConferenceInput) -> ConferenceResult:
        slug = re.sub(r"[^A-Za-z0-9]+", "-", input.crisis_id).strip("-")[:40]
        room = f"{slug}-{secrets.token_urlsafe(18)}"  # 144 random bits: unguessable
        return ConferenceResult(provider=self.name, url=f"{self.base_url}/{room}", meeting_id=room)
