"""The Temporal server stopped for a minute and started again on its database, while an
incident's acknowledgement warning and breach and a crisis's first three milestones fall due:
the worker process rides it out, and once the server is back every deadline fires once (the
warning, due with its breach, is told by the breach alone), every milestone is settled once,
and every mail arrives once."""

from __future__ import annotations

import asyncio
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from temporalio.client import Client, WorkflowHandle
from temporalio.contrib.pydantic import pydantic_data_converter

from starters.dev.smtp_sink import MailSink
from tests.faults.helpers import crisis_view, open_crisis, until
from tests.faults.ledger import check_mails
from tests.faults.processes import DevServer, Worker, vigie_env
from tests.faults.tally import TALLY
from tests.helpers import open_incident, status
from tests.workflow_health import failed_tasks
from workers.settings import Settings
from workflows.crisis import CrisisWorkflow
from workflows.crisis_models import CloseCrisisInput
from workflows.incident import IncidentWorkflow
from workflows.models import AcknowledgeInput

# The crisis runs 60 times faster: its T0+30 min, +45 min and +1 h steps fall at 30, 45, 60 s.
SCALE = 60.0
OUTAGE = (10.0, 75.0)  # seconds after the start: stopped, started again


@pytest.mark.faults_slow
async def test_server_restart_with_deadlines_inside_the_outage(
    tmp_path: Path, settings: Settings, sink: MailSink, config_dir: Path
) -> None:
    policy = config_dir / "policy.toml"
    policy.write_text(  # a gold acknowledgement in one minute: warning at 45 s, breach at 1 min
        policy.read_text(encoding="utf-8").replace('gold = "15m"', 'gold = "1m"', 1),
        encoding="utf-8",
    )
    loop = asyncio.get_running_loop()
    async with DevServer(tmp_path / "temporal.db") as server:
        client = await Client.connect(server.address, data_converter=pydantic_data_converter)
        async with Worker(vigie_env(server.address, settings)) as worker:
            began = loop.time()
            incident = await open_incident(client, settings.task_queue, priority="P1")
            crisis = await open_crisis(client, settings.task_queue, time_scale=SCALE)
            await until(lambda: _mailed(sink, incident.id))

            await asyncio.sleep(OUTAGE[0] - (loop.time() - began))
            await server.stop()
            TALLY.fault("Temporal server restart")
            await asyncio.sleep(OUTAGE[1] - (loop.time() - began))  # the outage itself
            await server.start()

            view = await until(lambda: _breached(incident), within=120)
            kinds = Counter(e.kind for e in view.timeline)
            assert kinds["ack_breach"] == 1 and kinds["ack_warning"] == 0, kinds
            assert view.ack_due_at < next(e.at for e in view.timeline if e.kind == "ack_breach")
            await incident.execute_update(IncidentWorkflow.acknowledge, AcknowledgeInput(by="al"))

            settled = await until(lambda: _first_steps_settled(crisis), within=120)
            for m in settled.milestones[:3]:
                assert m.done_at is not None and m.status in ("met", "late"), m
            await crisis.execute_update(
                CrisisWorkflow.close_crisis,
                CloseCrisisInput(by="dm", summary="back", without_client_confirmation="away"),
            )
            await until(lambda: _quiet(incident, crisis), within=120)
            check = await check_mails(client, sink, [incident.id, crisis.id])
            assert check.kinds(incident.id)["ack_breach"] == 1
            assert check.kinds(incident.id)["ack_warning"] == 0
            mailed = check.kinds(crisis.id)
            assert mailed["cell_request"] == mailed["cell_opening"] == 1, mailed
            final = await crisis_view(crisis)
            assert final is not None
            levels = [e for e in final.timeline if e.kind == "escalation" and "level" in e.fields
                      and e.sentence != "escalation.last"]  # fmt: skip
            # One mail per level reached: the T0+30 step, and the automatic escalation at
            # T0+1 h 30 when no DRP decision was taken, if the test got that far.
            assert mailed["escalation"] == len(levels) >= 1, (mailed, levels)
            assert await failed_tasks(client, [(incident.id, None), (crisis.id, None)]) == []
            for handle in (incident, crisis):
                await handle.terminate("test over")
            assert await worker.stop() == 0


async def _mailed(sink: MailSink, incident_id: str) -> bool:
    return bool(sink.about(incident_id))


async def _breached(handle: WorkflowHandle[Any, Any]) -> Any:
    view = await status(handle)
    return view if view.ack_breached else None


async def _first_steps_settled(handle: WorkflowHandle[Any, Any]) -> Any:
    view = await crisis_view(handle)
    steps = {m.step: m for m in view.milestones} if view else {}
    wanted = ("escalation", "cell_request", "cell_opening")
    if view is None or any(steps[s].status == "pending" for s in wanted):
        return None
    return view.model_copy(update={"milestones": [steps[s] for s in wanted]})


async def _quiet(incident: WorkflowHandle[Any, Any], crisis: WorkflowHandle[Any, Any]) -> bool:
    a, b = await status(incident), await crisis_view(crisis)
    return bool(
        b is not None and not (a.mails_pending or a.retrying or b.mails_pending or b.retrying)
    )
