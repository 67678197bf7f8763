"""Conference-call providers behind one small protocol."""

from __future__ import annotations

from typing import Protocol

from activities.models import ConferenceInput, ConferenceResult


class ConferenceError(Exception):
    """The provider could not open the call (bad credentials, API error, unreachable)."""


class ConferenceProvider(Protocol):
    name: str

    async def create(self, input: ConferenceInput) -> ConferenceResult: ...
