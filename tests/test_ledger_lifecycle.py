"""An incident and its crisis write their facts to the ledger as they live: the row follows
the incident to its end, once per incident, through the real worker (time-skipping server,
SQLite ledger)."""

from __future__ import annotations

import json
from datetime import timedelta

from temporalio.testing import WorkflowEnvironment

from activities.ledger.store import Ledger
from starters.dev.smtp_sink import MailSink
from tests.helpers import (
    assert_eventually,
    on_a_business_morning,
    open_incident,
    scheduled_activities,
    sleep_until,
    status_when,
)
from tests.test_crisis_chronogram import start_crisis
from workers.settings import Settings
from workers.worker import build_worker
from workflows.crisis_models import CrisisInput, CrisisView
from workflows.incident import IncidentWorkflow
from workflows.models import AcknowledgeInput, CloseInput, ResolveInput

COLUMNS = ("incident_id", "customer", "status", "acknowledged_at", "resolved_at", "ack_kept")


async def test_an_incident_writes_its_facts_at_each_milestone(
    skipping_env: WorkflowEnvironment, settings: Settings, sink: MailSink
) -> None:
    assert settings.database_url is not None
    ledger = Ledger(settings.database_url.get_secret_value())
    ledger.migrate()
    await on_a_business_morning(skipping_env)
    start = await skipping_env.get_current_time()
    async with build_worker(skipping_env.client, settings):
        handle = await open_incident(
            skipping_env.client, settings.task_queue, priority="P2", customer="acme"
        )

        async def row(status: str) -> tuple[object, ...]:
            rows = ledger.incidents_opened(
                start - timedelta(days=1), start + timedelta(days=1), None, COLUMNS
            )
            mine = [r for r in rows if r[0] == handle.id]
            assert len(mine) == 1 and mine[0][2] == status, mine
            return tuple(mine[0])

        await assert_eventually(lambda: row("open"), handle=handle)
        await handle.execute_update(IncidentWorkflow.acknowledge, AcknowledgeInput(by="alice"))
        acknowledged = await assert_eventually(lambda: row("in_progress"), handle=handle)
        assert acknowledged[1] == "acme" and acknowledged[3] is not None and acknowledged[5]
        await handle.execute_update(
            IncidentWorkflow.resolve, ResolveInput(by="alice", resolution="pool raised")
        )
        await handle.execute_update(IncidentWorkflow.close, CloseInput(by="alice"))
        await handle.result()  # the workflow ends only once its last facts are written
        closed = await row("closed")
        assert closed[4] is not None

        crisis = await start_crisis(
            skipping_env.client, settings.task_queue, "crisis-ledger-1",
            CrisisInput(title="Datacenter A flooded", criterion="natural_disaster"),
        )  # fmt: skip
        await status_when(handle, lambda v: v.status == "closed")

        t0 = (await crisis.query("status", result_type=CrisisView)).t0

        async def crisis_row() -> object:
            found = [
                (row, steps)
                for row, steps in ledger.crises_started(
                    t0 - timedelta(minutes=1), t0 + timedelta(minutes=1), None
                )
                if row.crisis_id == crisis.id
            ]
            assert len(found) == 1, "the crisis is not in the ledger yet"
            row, steps = found[0]
            assert row.status == "active" and len(steps) >= 6
            return row

        await assert_eventually(crisis_row, handle=crisis)


async def test_a_pass_that_records_nothing_writes_nothing(
    skipping_env: WorkflowEnvironment, settings: Settings, sink: MailSink
) -> None:
    """The incident wakes 30 s before its acknowledgement warning and its breach, re-arms on
    the time left and records nothing then: each write carries facts of a new revision."""
    await on_a_business_morning(skipping_env)
    async with build_worker(skipping_env.client, settings):
        handle = await open_incident(
            skipping_env.client, settings.task_queue, priority="P3", service_level="bronze"
        )
        opened = await status_when(handle, lambda v: v.ack_due_at is not None)
        assert opened.ack_due_at is not None
        await sleep_until(skipping_env, opened.ack_due_at + timedelta(minutes=1))
        await status_when(handle, lambda v: v.ack_breached)
    revisions = [
        json.loads(attrs.input.payloads[0].data)["facts"]["revision"]
        for attrs in await scheduled_activities(handle)
        if attrs.activity_type.name == "record_incident_facts"
    ]
    assert len(revisions) >= 3, revisions  # opened, the warning, the breach
    assert revisions == sorted(set(revisions)), revisions
