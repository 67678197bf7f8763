"""A worker stopped and replaced in the middle of a crisis loses no milestone (dev server)."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta

from temporalio.testing import WorkflowEnvironment

from starters.dev.smtp_sink import MailSink
from tests.helpers import eventually
from tests.test_crisis_chronogram import crisis_status
from workers.settings import Settings
from workers.worker import build_worker
from workflows.crisis import CrisisWorkflow
from workflows.crisis_models import CloseCrisisInput, CrisisInput, CrisisView

# 600 times faster: T0+30 min is 3 s, T0+1 h 30 is 9 s, T0+5 h 30 is 33 s.
SCALE = 600.0


async def test_worker_restart_mid_crisis(
    dev_env: WorkflowEnvironment, settings: Settings, sink: MailSink
) -> None:
    client = dev_env.client
    crisis_id = f"crisis-restart-{uuid.uuid4().hex[:8]}"
    async with build_worker(client, settings):
        handle = await client.start_workflow(
            CrisisWorkflow.run,
            CrisisInput(title="Datacenter power loss", opened_by="im", time_scale=SCALE),
            id=crisis_id,
            task_queue=settings.task_queue,
        )
        t0 = (await crisis_status(handle)).t0  # opened
    # No worker while the escalation (3 s), cell request (4.5 s) and opening (6 s) fall due,
    # nor for the 1 s of grace after the last one; back 1.5 s before the action plan (9 s).
    back_at = t0 + timedelta(seconds=7.5)
    await asyncio.sleep(max(0.0, (back_at - datetime.now(UTC)).total_seconds()))
    async with build_worker(client, settings):
        view: CrisisView | None = None
        for _ in range(300):
            view = await handle.query(CrisisWorkflow.status)
            closing = next(m for m in view.milestones if m.step == "closing")
            if closing.status != "pending":
                break
            await asyncio.sleep(0.2)
        assert view is not None
        by_step = {m.step: m for m in view.milestones}
        for step in ("escalation", "cell_request", "cell_opening"):
            m = by_step[step]
            assert m.status == "late" and m.done_at is not None, m  # done once the worker was back
        assert by_step["action_plan"].status == "missed"  # no DRP decision by then
        assert by_step["restoration"].status == "not_applicable"  # no DRP decided
        assert by_step["closing"].status == "missed"
        kinds = {m["X-Vigie-Kind"] for m in sink.messages if m["X-Vigie-Crisis"] == crisis_id}
        assert {"escalation", "p1_open", "cell_request", "cell_opening", "action_plan"} <= kinds
        # No DRP decision at T0+1 h 30: the pilot is reminded and the crisis escalates.
        assert "drp_reminder" in kinds
        assert view.level == 2 and any(e.kind == "drp_undecided" for e in view.timeline)
        # Every step ran exactly once.
        openings = [
            m
            for m in sink.messages
            if m["X-Vigie-Crisis"] == crisis_id and m["X-Vigie-Kind"] == "cell_opening"
        ]
        assert len(openings) == 1
        view = await handle.execute_update(
            CrisisWorkflow.close_crisis,
            CloseCrisisInput(
                by="dm", summary="power back", without_client_confirmation="client unreachable"
            ),
        )
        closing = next(m for m in view.milestones if m.step == "closing")
        assert closing.status == "late" and closing.done_at is not None
        told = await eventually(
            lambda: [m for m in sink.messages
                     if m["X-Vigie-Crisis"] == crisis_id and m["X-Vigie-Kind"] == "closing"]
        )  # fmt: skip
        assert "sans confirmation du client du retour au nominal : client unreachable" in (
            told[0].get_body(("plain",)).get_content()
        )
        assert closing.done_at - closing.due_at > timedelta(0)
        await handle.terminate("test over")
