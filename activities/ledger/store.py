"""The incident ledger: a SQL database (SQLite or PostgreSQL) that outlives workflow retention.

Writes are upserts keyed by the incident (or crisis) id and guarded by the facts' revision,
so a retried activity, a continue-as-new or a rebuild never counts an incident twice and
older facts never overwrite newer ones. The schema is versioned with alembic
(``migrations/``); ``Ledger.migrate`` brings a database to the latest version.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from pydantic import BaseModel
from sqlalchemy import Engine, Row, and_, create_engine, delete, event, func, or_, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import make_url

from activities.ledger.schema import crises, crisis_milestones, incidents
from workflows.ledger_facts import CrisisFacts, IncidentFacts

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
ACTIVE = ("open", "in_progress", "pending")


class LedgerError(Exception):
    """The ledger cannot be used as configured; the message says what to do."""


def engine_for(url: str) -> Engine:
    """An engine for ``VIGIE_DATABASE_URL``: ``sqlite:///path`` (its folder is created) or
    ``postgresql://user:password@host/db`` (driven by psycopg 3)."""
    try:
        parsed = make_url(url)
    except Exception as exc:  # sqlalchemy raises ArgumentError with the reason
        raise LedgerError(f"VIGIE_DATABASE_URL is not a database URL: {exc}") from exc
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).expanduser().parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(parsed, connect_args={"timeout": 30})
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    if parsed.get_backend_name() != "postgresql":
        raise LedgerError(
            f"VIGIE_DATABASE_URL: {parsed.get_backend_name()} is not supported; "
            "use sqlite:///path/ledger.db or postgresql://user:password@host/db"
        )
    return create_engine(parsed, pool_pre_ping=True)


def _sqlite_pragmas(connection: Any, _record: Any) -> None:
    cursor = connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")  # readers do not wait for the writer
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def _fields(model: BaseModel) -> dict[str, Any]:
    """A model's fields as Python values (its serializers turn instants into text)."""
    return {name: getattr(model, name) for name in type(model).model_fields}


def _upsert(engine: Engine, table: Any, columns: Sequence[str], key: str) -> Any:
    """INSERT … ON CONFLICT DO UPDATE, only where the stored facts are not newer; executed
    with one row or many. RETURNING names the rows written (psycopg gives no rowcount)."""
    dialect = postgresql if engine.dialect.name == "postgresql" else sqlite
    stmt = dialect.insert(table)
    current, new = table.c, stmt.excluded
    newer = or_(
        current.revision < new.revision,
        and_(current.revision == new.revision, current.as_of <= new.as_of),
    )
    return stmt.on_conflict_do_update(
        index_elements=[key], set_={name: new[name] for name in columns if name != key}, where=newer
    ).returning(table.c[key])


class Ledger:
    def __init__(self, url: str) -> None:
        self.url = url
        self.engine = engine_for(url)
        self._upserts: dict[tuple[str, tuple[str, ...]], Any] = {}

    def _upsert(self, table: Any, columns: Sequence[str], key: str) -> Any:
        """The upsert for these columns, built once: building it costs more CPU than
        running it on SQLite."""
        cache_key = (table.name, tuple(columns))
        found = self._upserts.get(cache_key)
        if found is None:
            found = self._upserts[cache_key] = _upsert(self.engine, table, columns, key)
        return found

    def close(self) -> None:
        self.engine.dispose()

    # ---------------------------------------------------------------- schema

    def _alembic(self) -> Config:
        config = Config()
        config.set_main_option("script_location", str(MIGRATIONS))
        return config

    def migrate(self) -> None:
        """Brings the schema to the latest version (a no-op when it is there)."""
        config = self._alembic()
        with self.engine.begin() as connection:
            config.attributes["connection"] = connection
            command.upgrade(config, "head")

    def schema_version(self) -> str | None:
        with self.engine.connect() as connection:
            return MigrationContext.configure(connection).get_current_revision()

    def latest_version(self) -> str | None:
        return ScriptDirectory.from_config(self._alembic()).get_current_head()

    # ---------------------------------------------------------------- writes

    def record_incident(self, facts: IncidentFacts, now: datetime | None = None) -> bool:
        """Upserts an incident's facts; False when the ledger already held newer ones."""
        row = _fields(facts)
        row["recorded_at"] = now or datetime.now(UTC)
        with self.engine.begin() as connection:
            upsert = self._upsert(incidents, list(row), "incident_id")
            return connection.execute(upsert, row).first() is not None

    def record_incidents(self, many: Sequence[IncidentFacts]) -> int:
        """Upserts many incidents in one transaction (rebuilds, imports); returns how many
        were written (the others were older than the ledger's)."""
        if not many:
            return 0
        now = datetime.now(UTC)
        rows = [_fields(facts) | {"recorded_at": now} for facts in many]
        upsert = self._upsert(incidents, list(rows[0]), "incident_id")
        with self.engine.begin() as connection:
            return len(connection.execute(upsert, rows).all())

    def record_crisis(self, facts: CrisisFacts, now: datetime | None = None) -> bool:
        """Upserts a crisis and its milestones; the incident's customer wins when known."""
        row = _fields(facts)
        del row["milestones"], row["drill"]  # drills are kept out by the callers
        row["recorded_at"] = now or datetime.now(UTC)
        with self.engine.begin() as connection:
            if facts.incident_id is not None:
                known = connection.execute(
                    select(incidents.c.customer).where(incidents.c.incident_id == facts.incident_id)
                ).scalar()
                row["customer"] = known or row["customer"]
            upsert = self._upsert(crises, list(row), "crisis_id")
            if connection.execute(upsert, row).first() is None:
                return False
            connection.execute(
                delete(crisis_milestones).where(crisis_milestones.c.crisis_id == facts.crisis_id)
            )
            if facts.milestones:
                connection.execute(
                    crisis_milestones.insert(),
                    [{"crisis_id": facts.crisis_id, **_fields(m)} for m in facts.milestones],
                )
            return True

    # ---------------------------------------------------------------- reads

    def incidents_opened(
        self,
        since: datetime,
        until: datetime,
        customer: str | None,
        columns: Sequence[str],
        missed_only: bool = False,
    ) -> Sequence[Row[Any]]:
        """The incidents whose T0 falls in [since, until), oldest first; with ``missed_only``,
        those that missed a deadline."""
        query = (
            select(*(incidents.c[name] for name in columns))
            .where(incidents.c.opened_at >= since, incidents.c.opened_at < until)
            .order_by(incidents.c.opened_at)
        )
        if customer is not None:
            query = query.where(incidents.c.customer == customer)
        if missed_only:
            query = query.where(
                or_(incidents.c.ack_kept.is_(False), incidents.c.resolution_kept.is_(False))
            )
        with self.engine.connect() as connection:
            return connection.execute(query).all()

    def crises_started(
        self, since: datetime, until: datetime, customer: str | None
    ) -> list[tuple[Row[Any], list[Row[Any]]]]:
        """The crises whose T0 falls in [since, until), each with its milestones."""
        query = (
            select(crises).where(crises.c.t0 >= since, crises.c.t0 < until).order_by(crises.c.t0)
        )
        if customer is not None:
            query = query.where(crises.c.customer == customer)
        with self.engine.connect() as connection:
            found = connection.execute(query).all()
            ids = [row.crisis_id for row in found]
            steps: dict[str, list[Row[Any]]] = {i: [] for i in ids}
            if ids:
                milestones = connection.execute(
                    select(crisis_milestones)
                    .where(crisis_milestones.c.crisis_id.in_(ids))
                    .order_by(crisis_milestones.c.due_at)
                ).all()
                for m in milestones:
                    steps[m.crisis_id].append(m)
        return [(row, steps[row.crisis_id]) for row in found]

    def customers(self, since: datetime, until: datetime) -> list[str]:
        """Customers with an incident or a crisis starting in [since, until)."""
        with self.engine.connect() as connection:
            names = set(
                connection.execute(
                    select(incidents.c.customer)
                    .where(incidents.c.opened_at >= since, incidents.c.opened_at < until)
                    .distinct()
                ).scalars()
            )
            names |= set(
                connection.execute(
                    select(crises.c.customer)
                    .where(crises.c.t0 >= since, crises.c.t0 < until)
                    .distinct()
                ).scalars()
            )
        return sorted(names)

    def open_incidents(self) -> list[tuple[str, str, str, str, bool, int]]:
        """Open incidents counted by status, priority, level, customer and breached."""
        breached = or_(incidents.c.ack_breached, incidents.c.resolution_breached)
        keys = (
            incidents.c.status,
            incidents.c.priority,
            incidents.c.service_level,
            incidents.c.customer,
        )
        query = (
            select(*keys, breached.label("breached"), func.count())
            .where(incidents.c.status.in_(ACTIVE))
            .group_by(*keys, breached)
        )
        with self.engine.connect() as connection:
            return [
                (r[0], r[1], r[2], r[3], bool(r[4]), int(r[5]))
                for r in connection.execute(query).all()
            ]

    def crisis_counts(self, now: datetime) -> list[tuple[str, str, int]]:
        """Crises by customer and state: active, or closed with the REX overdue."""
        overdue = and_(
            crises.c.status == "closed",
            crises.c.rex_submitted_at.is_(None),
            crises.c.rex_due_at < now,
        )
        with self.engine.connect() as connection:
            active = connection.execute(
                select(crises.c.customer, func.count())
                .where(crises.c.status == "active")
                .group_by(crises.c.customer)
            ).all()
            late = connection.execute(
                select(crises.c.customer, func.count()).where(overdue).group_by(crises.c.customer)
            ).all()
        return [(c, "active", int(n)) for c, n in active] + [
            (c, "rex_overdue", int(n)) for c, n in late
        ]
