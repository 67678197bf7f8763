"""Writes incident and crisis facts to the ledger, for service reviews."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import TypeVar

from sqlalchemy.exc import DataError, IntegrityError
from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.ledger.store import Ledger
from workflows.ledger_facts import (
    RecordCrisisFactsInput,
    RecordFactsResult,
    RecordIncidentFactsInput,
)
from workflows.metrics import count

F = TypeVar("F")


class LedgerActivities:
    """The ledger's writes. A database that cannot be reached is retried; facts it refuses
    (a value it cannot store) fail at once with the reason, for a person to look at."""

    def __init__(self, ledger: Ledger) -> None:
        self._ledger = ledger

    @activity.defn(name="record_incident_facts")
    async def record_incident_facts(self, input: RecordIncidentFactsInput) -> RecordFactsResult:
        facts = input.facts
        ledger = self._ledger
        written = await self._write("incident", facts.incident_id, ledger.record_incident, facts)
        return RecordFactsResult(written=written)

    @activity.defn(name="record_crisis_facts")
    async def record_crisis_facts(self, input: RecordCrisisFactsInput) -> RecordFactsResult:
        facts = input.facts
        if facts.drill:  # an exercise is not a crisis of the service reviews
            count(activity.metric_meter(), "vigie_ledger_writes", kind="crisis", outcome="drill")
            return RecordFactsResult(written=False)
        written = await self._write("crisis", facts.crisis_id, self._ledger.record_crisis, facts)
        return RecordFactsResult(written=written)

    async def _write(self, kind: str, key: str, write: Callable[[F], bool], facts: F) -> bool:
        try:
            written = bool(await asyncio.to_thread(write, facts))
        except (DataError, IntegrityError) as exc:
            count(activity.metric_meter(), "vigie_ledger_writes", kind=kind, outcome="refused")
            raise ApplicationError(
                f"the ledger refused the facts of {key}: {exc.orig}",
                type="LedgerRefused",
                non_retryable=True,
            ) from exc
        outcome = "written" if written else "stale"
        count(activity.metric_meter(), "vigie_ledger_writes", kind=kind, outcome=outcome)
        return written
