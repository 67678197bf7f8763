"""The ledger's tables (SQLAlchemy Core). Their history is in ``migrations/versions``: a change
here goes with a new migration, and ``tests/test_ledger_store.py`` checks that they agree."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    Boolean,
    Column,
    DateTime,
    Dialect,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
)
from sqlalchemy.types import TypeDecorator


class UtcDateTime(TypeDecorator[datetime]):
    """An instant, stored in UTC (SQLite keeps no offset) and read back with UTC as offset."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"an instant without a time zone offset: {value!r}")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        assert isinstance(value, datetime)
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


metadata = MetaData()

incidents = Table(
    "incidents",
    metadata,
    Column("incident_id", String(220), primary_key=True),
    Column("revision", Integer, nullable=False),
    Column("as_of", UtcDateTime, nullable=False),
    Column("recorded_at", UtcDateTime, nullable=False),
    Column("customer", String(80), nullable=False),
    Column("title", String(500), nullable=False),
    Column("application", String(200)),
    Column("source", String(200), nullable=False),
    Column("priority", String(2), nullable=False),
    Column("service_level", String(10), nullable=False),
    Column("clock", String(10), nullable=False),
    Column("status", String(16), nullable=False),
    Column("major", Boolean, nullable=False),
    Column("crisis_id", String(230)),
    Column("policy_version", Integer, nullable=False),
    Column("opened_at", UtcDateTime, nullable=False),
    Column("ticket_opened_at", UtcDateTime),
    Column("acknowledged_at", UtcDateTime),
    Column("resolved_at", UtcDateTime),
    Column("closed_at", UtcDateTime),
    Column("ack_due_at", UtcDateTime, nullable=False),
    Column("resolution_due_at", UtcDateTime),
    Column("ack_kept", Boolean),
    Column("resolution_kept", Boolean),
    Column("ack_breached", Boolean, nullable=False),
    Column("resolution_breached", Boolean, nullable=False),
    Column("reopened", Integer, nullable=False),
    Column("pending_minutes", Float, nullable=False),
    Column("resolution_clock_minutes", Float, nullable=False),
    Column("resolution_allowance_minutes", Float, nullable=False),
    Column("mtta_minutes", Float),
    Column("mttr_minutes", Float),
    Column("mtta_business_minutes", Float),
    Column("mttr_business_minutes", Float),
    Index("ix_incidents_opened_at", "opened_at"),
    Index("ix_incidents_customer_opened_at", "customer", "opened_at"),
    Index("ix_incidents_status", "status"),
)

crises = Table(
    "crises",
    metadata,
    Column("crisis_id", String(230), primary_key=True),
    Column("revision", Integer, nullable=False),
    Column("as_of", UtcDateTime, nullable=False),
    Column("recorded_at", UtcDateTime, nullable=False),
    Column("incident_id", String(220)),
    Column("customer", String(80), nullable=False),
    Column("title", String(500), nullable=False),
    Column("criterion", String(40), nullable=False),
    Column("status", String(16), nullable=False),
    Column("t0", UtcDateTime, nullable=False),
    Column("closed_at", UtcDateTime),
    Column("level", Integer, nullable=False),
    Column("chronogram_compliance", Float),
    Column("rex_due_at", UtcDateTime),
    Column("rex_submitted_at", UtcDateTime),
    Column("rex_on_time", Boolean),
    Index("ix_crises_t0", "t0"),
    Index("ix_crises_customer_t0", "customer", "t0"),
)

crisis_milestones = Table(
    "crisis_milestones",
    metadata,
    Column(
        "crisis_id",
        String(230),
        ForeignKey("crises.crisis_id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("step", String(40), primary_key=True),
    Column("due_at", UtcDateTime, nullable=False),
    Column("done_at", UtcDateTime),
    Column("status", String(16), nullable=False),
)
