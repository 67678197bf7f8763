"""The ledger's part of the worker: its activities, the service-review Schedule, the gauges.

``ledger_activities`` opens the ledger (``VIGIE_DATABASE_URL``) and migrates it to the
latest schema; ``apply_schedules`` creates or updates the monthly service-review Schedule
(idempotent, a paused Schedule stays paused); ``ledger_upkeep`` runs beside the worker:
it applies the Schedule once and refreshes the Prometheus gauges from the ledger.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any

from sqlalchemy.exc import SQLAlchemyError
from temporalio.client import (
    Client,
    Schedule,
    ScheduleActionStartWorkflow,
    ScheduleAlreadyRunningError,
    ScheduleCalendarSpec,
    ScheduleOverlapPolicy,
    SchedulePolicy,
    ScheduleRange,
    ScheduleSpec,
    ScheduleUpdate,
    ScheduleUpdateInput,
)
from temporalio.common import MetricMeter
from temporalio.runtime import Runtime

from activities.ledger.activity import LedgerActivities
from activities.ledger.review import ServiceReviewActivities
from activities.ledger.store import Ledger, LedgerError
from activities.providers.smtp import MailTransport
from workers.matrix_file import load_matrix
from workers.policy_file import load_policy
from workers.settings import Settings
from workflows.matrix import EscalationMatrix
from workflows.policy import ConfigError
from workflows.service_review import (
    WORKFLOW_ID,
    ServiceReviewInput,
    ServiceReviewWorkflow,
    schedule_id,
)

log = logging.getLogger(__name__)
MATRICES_DIR = "matrices"
GAUGES = {
    "vigie_open_incidents": "Open incidents (ledger), by status, class, customer and breached",
    "vigie_crises": "Crises active, or closed with the REX overdue (ledger), by customer",
}


def open_ledger(settings: Settings) -> Ledger:
    """The ledger at VIGIE_DATABASE_URL, migrated to the latest schema."""
    try:
        ledger = Ledger(settings.database_url.get_secret_value())
    except (LedgerError, OSError) as exc:
        raise ConfigError(str(exc)) from exc
    try:
        ledger.migrate()
    except SQLAlchemyError as exc:
        raise ConfigError(
            f"VIGIE_DATABASE_URL: cannot open or migrate the ledger ({exc.__class__.__name__}: "
            f"{str(exc).splitlines()[0]})"
        ) from exc
    return ledger


def matrix_for(
    settings: Settings, main: Callable[[], EscalationMatrix] | None = None
) -> Callable[[str], EscalationMatrix]:
    """A customer's escalation matrix: ``<config dir>/matrices/<customer>.toml`` when there
    is one, else the escalation matrix, as ``main`` reads it (the worker's: the last valid
    one while the file is broken), by default the file (VIGIE_MATRIX_FILE) as it is."""
    read_main = main or partial(load_matrix, settings.matrix_path)

    def find(customer: str) -> EscalationMatrix:
        own: Path = settings.config_dir / MATRICES_DIR / f"{customer}.toml"
        return load_matrix(own) if customer and own.is_file() else read_main()

    return find


def ledger_activities(
    settings: Settings,
    transport: MailTransport,
    sender_domain: str,
    matrix: Callable[[], EscalationMatrix] | None = None,
) -> list[Callable[..., Any]]:
    ledger = open_ledger(settings)
    writes = LedgerActivities(ledger)
    review = ServiceReviewActivities(
        ledger, transport, settings.mail_from, sender_domain, matrix_for(settings, matrix)
    )
    return [
        writes.record_incident_facts,
        writes.record_crisis_facts,
        review.service_review_customers,
        review.send_service_review,
        review.send_service_review_failures,
    ]


def service_review_schedule(settings: Settings, timezone: str) -> Schedule:
    """Every morning of the month's first seven days; the workflow keeps the first business
    day only (so holidays and closures of the policy's calendar count)."""
    return Schedule(
        action=ScheduleActionStartWorkflow(
            ServiceReviewWorkflow.run,
            ServiceReviewInput(),
            id=WORKFLOW_ID,
            task_queue=settings.task_queue,
            execution_timeout=timedelta(days=1),
            static_summary="Monthly service review",
        ),
        spec=ScheduleSpec(
            calendars=[
                ScheduleCalendarSpec(
                    day_of_month=[ScheduleRange(1, 7)],
                    hour=[ScheduleRange(settings.service_review_hour)],
                    comment="first business day of the month, checked by the workflow",
                )
            ],
            time_zone_name=timezone,
        ),
        policy=SchedulePolicy(
            overlap=ScheduleOverlapPolicy.SKIP, catchup_window=timedelta(hours=12)
        ),
    )


async def apply_schedules(client: Client, settings: Settings) -> str:
    """Creates the service-review Schedule, or updates it to the current settings and policy
    (its paused state and note are kept). Returns "created" or "updated"."""
    timezone = load_policy(settings.config_dir).business_hours.timezone
    wanted = service_review_schedule(settings, timezone)
    try:
        await client.create_schedule(schedule_id(settings.task_queue), wanted)
        return "created"
    except ScheduleAlreadyRunningError:
        pass

    def update(current: ScheduleUpdateInput) -> ScheduleUpdate:
        wanted.state = current.description.schedule.state
        return ScheduleUpdate(schedule=wanted)

    await client.get_schedule_handle(schedule_id(settings.task_queue)).update(update)
    return "updated"


class LedgerGauges:
    """Gauges from the ledger, exported with the worker's metrics: open incidents by status,
    priority, service level, customer and breached; crises active or with the REX overdue.
    A combination that falls back to nothing is set to 0, not left at its last value."""

    def __init__(self, meter: MetricMeter) -> None:
        self._open = meter.create_gauge("vigie_open_incidents", GAUGES["vigie_open_incidents"])
        self._crises = meter.create_gauge("vigie_crises", GAUGES["vigie_crises"])
        self._seen: dict[tuple[str, tuple[tuple[str, str], ...]], int] = {}

    def refresh(self, ledger: Ledger, now: datetime) -> dict[str, int]:
        values: dict[tuple[str, tuple[tuple[str, str], ...]], int] = {}
        for status, priority, level, customer, breached, n in ledger.open_incidents():
            labels: tuple[tuple[str, str], ...] = (
                ("status", status),
                ("priority", priority),
                ("service_level", level),
                ("customer", customer),
                ("breached", str(breached).lower()),
            )
            values[("open", labels)] = values.get(("open", labels), 0) + n
        for customer, state, n in ledger.crisis_counts(now):
            values[("crises", (("customer", customer), ("state", state)))] = n
        for key in self._seen.keys() - values.keys():
            values[key] = 0
        for (name, labels), n in values.items():
            gauge = self._open if name == "open" else self._crises
            gauge.set(n, dict(labels))
        self._seen = {k: v for k, v in values.items() if v}
        return {f"{name}{dict(labels)}": n for (name, labels), n in values.items()}


def _meter(client: Client) -> MetricMeter:
    runtime = client.service_client.config.runtime or Runtime.default()
    return runtime.metric_meter


@contextlib.asynccontextmanager
async def ledger_upkeep(client: Client, settings: Settings) -> AsyncIterator[None]:
    """Beside a running worker: the Schedule applied once, the gauges kept fresh."""
    try:
        outcome = await apply_schedules(client, settings)
        log.info("service-review schedule %s: %s", schedule_id(settings.task_queue), outcome)
    except Exception as exc:  # the worker runs incidents even if the Schedule cannot be set
        log.error("service-review schedule not applied (run `vigie schedules apply`): %s", exc)
    ledger = Ledger(settings.database_url.get_secret_value())
    gauges = LedgerGauges(_meter(client))

    async def refresh() -> None:
        while True:
            try:
                await asyncio.to_thread(gauges.refresh, ledger, datetime.now(UTC))
            except SQLAlchemyError as exc:
                log.warning("ledger gauges not refreshed: %s", exc)
            await asyncio.sleep(settings.ledger_gauges_seconds)

    task = asyncio.create_task(refresh())
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        ledger.close()
