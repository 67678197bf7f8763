"""Incidents, crises and their chronogram milestones.

Revision ID: 0001
Revises:
Create Date: 2026-12-01
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def _instant(name: str, nullable: bool = True) -> sa.Column[Any]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "incidents",
        sa.Column("incident_id", sa.String(220), primary_key=True),
        sa.Column("revision", sa.Integer, nullable=False),
        _instant("as_of", nullable=False),
        _instant("recorded_at", nullable=False),
        sa.Column("customer", sa.String(80), nullable=False),
        sa.Column("title", sa.String(500), nullable=False),
        sa.Column("application", sa.String(200)),
        sa.Column("source", sa.String(200), nullable=False),
        sa.Column("priority", sa.String(2), nullable=False),
        sa.Column("service_level", sa.String(10), nullable=False),
        sa.Column("clock", sa.String(10), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("major", sa.Boolean, nullable=False),
        sa.Column("crisis_id", sa.String(230)),
        sa.Column("policy_version", sa.Integer, nullable=False),
        _instant("opened_at", nullable=False),
        _instant("ticket_opened_at"),
        _instant("acknowledged_at"),
        _instant("resolved_at"),
        _instant("closed_at"),
        _instant("ack_due_at", nullable=False),
        _instant("resolution_due_at"),
        sa.Column("ack_kept", sa.Boolean),
        sa.Column("resolution_kept", sa.Boolean),
        sa.Column("ack_breached", sa.Boolean, nullable=False),
        sa.Column("resolution_breached", sa.Boolean, nullable=False),
        sa.Column("reopened", sa.Integer, nullable=False),
        sa.Column("pending_minutes", sa.Float, nullable=False),
        sa.Column("resolution_clock_minutes", sa.Float, nullable=False),
        sa.Column("resolution_allowance_minutes", sa.Float, nullable=False),
        sa.Column("mtta_minutes", sa.Float),
        sa.Column("mttr_minutes", sa.Float),
        sa.Column("mtta_business_minutes", sa.Float),
        sa.Column("mttr_business_minutes", sa.Float),
    )
    op.create_index("ix_incidents_opened_at", "incidents", ["opened_at"])
    op.create_index("ix_incidents_customer_opened_at", "incidents", ["customer", "opened_at"])
    op.create_index("ix_incidents_status", "incidents", ["status"])
    op.create_table(
        "crises",
        sa.Column("crisis_id", sa.String(230), primary_key=True),
        sa.Column("revision", sa.Integer, nullable=False),
        _instant("as_of", nullable=False),
        _instant("recorded_at", nullable=False),
        sa.Column("incident_id", sa.String(220)),
        sa.Column("customer", sa.String(80), nullable=False),
        sa.Column("title", sa.String(500), nullable=False),
        sa.Column("criterion", sa.String(40), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        _instant("t0", nullable=False),
        _instant("closed_at"),
        sa.Column("level", sa.Integer, nullable=False),
        sa.Column("chronogram_compliance", sa.Float),
        _instant("rex_due_at"),
        _instant("rex_submitted_at"),
        sa.Column("rex_on_time", sa.Boolean),
    )
    op.create_index("ix_crises_t0", "crises", ["t0"])
    op.create_index("ix_crises_customer_t0", "crises", ["customer", "t0"])
    op.create_table(
        "crisis_milestones",
        sa.Column(
            "crisis_id",
            sa.String(230),
            sa.ForeignKey("crises.crisis_id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("step", sa.String(40), primary_key=True),
        _instant("due_at", nullable=False),
        _instant("done_at"),
        sa.Column("status", sa.String(16), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("crisis_milestones")
    op.drop_index("ix_crises_customer_t0", "crises")
    op.drop_index("ix_crises_t0", "crises")
    op.drop_table("crises")
    op.drop_index("ix_incidents_status", "incidents")
    op.drop_index("ix_incidents_customer_opened_at", "incidents")
    op.drop_index("ix_incidents_opened_at", "incidents")
    op.drop_table("incidents")
