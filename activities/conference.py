"""Opens the crisis call with the configured provider, falling back when it fails."""

from __future__ import annotations

from temporalio import activity

from activities.models import ConferenceInput, ConferenceResult
from activities.providers.conference import ConferenceError, ConferenceProvider


class ConferenceActivities:
    def __init__(self, primary: ConferenceProvider, fallback: ConferenceProvider) -> None:
        self._primary, self._fallback = primary, fallback

    @activity.defn(name="open_conference")
    async def open_conference(self, input: ConferenceInput) -> ConferenceResult:
        try:
            return await self._primary.create(input)
        except (ConferenceError, KeyError, ValueError) as exc:
            if self._primary is self._fallback:
                raise
            reason = f"{self._primary.name}: {exc}"
            activity.logger.warning(
                "conference for %s falls back to %s: %s",
                input.crisis_id,
                self._fallback.name,
                reason,
            )
            result = await self._fallback.create(input)
            return result.model_copy(update={"fallback_reason": reason})
