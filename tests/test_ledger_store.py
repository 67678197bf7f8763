"""The ledger's SQL store on SQLite and PostgreSQL: migrations, idempotent guarded upserts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import func, select
from temporalio.testing import ActivityEnvironment

from activities.ledger.activity import LedgerActivities
from activities.ledger.schema import crisis_milestones, incidents, metadata
from activities.ledger.store import Ledger
from tests.test_ledger_facts import crisis_view, paris, state
from workflows.ledger_facts import (
    IncidentFacts,
    RecordCrisisFactsInput,
    RecordIncidentFactsInput,
    crisis_facts,
    incident_facts,
)


def facts(incident_id: str = "incident-a", **fields: Any) -> IncidentFacts:
    s = state(incident_id=incident_id, opened_at=paris(24, 10), **fields)
    return incident_facts(s, "acme", paris(24, 11))


def count(ledger: Ledger) -> int:
    with ledger.engine.connect() as connection:
        return int(connection.execute(select(func.count()).select_from(incidents)).scalar_one())


def test_migrations_build_the_schema_the_code_declares(ledger: Ledger) -> None:
    assert ledger.schema_version() == ledger.latest_version() == "0001"
    with ledger.engine.connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection), metadata)
    assert differences == []
    ledger.migrate()  # a second time is a no-op
    assert ledger.schema_version() == "0001"


def test_the_same_facts_twice_count_once(ledger: Ledger) -> None:
    first = facts()
    assert ledger.record_incident(first)
    assert ledger.record_incident(first)  # a retried activity: same row, same values
    assert count(ledger) == 1


def test_older_facts_never_replace_newer_ones(ledger: Ledger) -> None:
    newer = facts(acknowledged_at=paris(24, 10, 5), status="in_progress").model_copy(
        update={"revision": 3}
    )
    older = facts().model_copy(update={"revision": 2, "as_of": paris(24, 12)})
    assert ledger.record_incident(newer)
    assert not ledger.record_incident(older)  # a late retry of an earlier milestone
    columns = ["status", "revision", "acknowledged_at"]
    rows = ledger.incidents_opened(paris(24, 0), paris(25, 0), None, columns)
    assert [(r.status, r.revision) for r in rows] == [("in_progress", 3)]
    assert rows[0].acknowledged_at == paris(24, 10, 5).astimezone(UTC)
    # Same revision, later: a rebuild or a time-decided deadline refreshes the row.
    later = newer.model_copy(update={"as_of": paris(24, 13), "ack_kept": True})
    assert ledger.record_incident(later)


def test_instants_come_back_in_utc_whatever_the_offset_written(ledger: Ledger) -> None:
    ledger.record_incident(facts())
    [row] = ledger.incidents_opened(paris(24, 0), paris(25, 0), None, ["opened_at"])
    assert row.opened_at == paris(24, 10) and row.opened_at.utcoffset() == timedelta(0)


def test_period_and_customer_filters(ledger: Ledger) -> None:
    ledger.record_incident(facts("incident-in"))
    late = facts("incident-out").model_copy(update={"opened_at": paris(25, 0),
                                                    "customer": "globex"})  # fmt: skip
    ledger.record_incident(late)
    found = ledger.incidents_opened(paris(24, 0), paris(25, 0), None, ["incident_id"])
    assert [r.incident_id for r in found] == ["incident-in"]
    assert ledger.customers(paris(24, 0), paris(26, 0)) == ["acme", "globex"]
    both = ledger.incidents_opened(paris(24, 0), paris(26, 0), "globex", ["incident_id"])
    assert [r.incident_id for r in both] == ["incident-out"]


def test_crisis_takes_its_incidents_customer_and_replaces_its_milestones(ledger: Ledger) -> None:
    ledger.record_incident(facts("incident-case"))
    first = crisis_facts(crisis_view(), "default", paris(30, 9))
    assert ledger.record_crisis(first)
    trimmed = first.model_copy(update={"revision": 5, "milestones": first.milestones[:2]})
    assert ledger.record_crisis(trimmed)
    assert not ledger.record_crisis(first)  # older: neither the crisis nor its steps change
    [(row, steps)] = ledger.crises_started(paris(24, 0), paris(25, 0), None)
    assert row.customer == "acme" and row.chronogram_compliance == 0.5
    assert [m.step for m in steps] == ["escalation", "cell_opening"]
    with ledger.engine.connect() as connection:
        assert connection.execute(select(func.count()).select_from(crisis_milestones)).scalar() == 2


def test_open_incident_counts_for_the_gauges(ledger: Ledger) -> None:
    ledger.record_incident(facts("incident-1"))
    ledger.record_incident(facts("incident-2", ack_breached=True))
    ledger.record_incident(facts("incident-3", status="resolved", resolved_at=paris(24, 10, 30)))
    assert sorted(ledger.open_incidents()) == [
        ("open", "P1", "gold", "acme", False, 1),
        ("open", "P1", "gold", "acme", True, 1),
    ]
    ledger.record_crisis(crisis_facts(crisis_view(status="active"), "acme", paris(24, 12)))
    assert ledger.crisis_counts(datetime(2026, 12, 2, tzinfo=UTC)) == [("acme", "active", 1)]


async def test_record_activity_writes_then_reports_stale_facts(ledger: Ledger) -> None:
    activities = LedgerActivities(ledger)
    env = ActivityEnvironment()
    newer = facts().model_copy(update={"revision": 2})
    done = await env.run(activities.record_incident_facts, RecordIncidentFactsInput(facts=newer))
    assert done.written
    stale = RecordIncidentFactsInput(facts=facts().model_copy(update={"revision": 1}))
    assert not (await env.run(activities.record_incident_facts, stale)).written
    assert count(ledger) == 1


async def test_a_drill_is_kept_out_of_the_ledger(ledger: Ledger) -> None:
    activities = LedgerActivities(ledger)
    drill = crisis_facts(crisis_view(status="active", drill=True), "acme", paris(24, 12))
    assert drill.drill
    done = await ActivityEnvironment().run(
        activities.record_crisis_facts, RecordCrisisFactsInput(facts=drill)
    )
    assert not done.written
    assert ledger.crisis_counts(datetime(2026, 12, 2, tzinfo=UTC)) == []
    real = crisis_facts(crisis_view(status="active"), "acme", paris(24, 12))
    assert not real.drill and ledger.record_crisis(real)
    assert ledger.crisis_counts(datetime(2026, 12, 2, tzinfo=UTC)) == [("acme", "active", 1)]


def test_many_at_once_keep_the_same_guard(ledger: Ledger) -> None:
    assert ledger.record_incidents([]) == 0
    batch = [facts(f"incident-{n}").model_copy(update={"revision": 2}) for n in range(3)]
    assert ledger.record_incidents(batch) == 3
    stale = [b.model_copy(update={"revision": 1}) for b in batch[:2]]
    fresh = [facts("incident-9")]
    assert ledger.record_incidents([*stale, *fresh]) == 1
    assert count(ledger) == 4
