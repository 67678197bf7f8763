"""A worker killed (SIGKILL) in the middle of a burst of incidents and operations, twice, and
replaced: every incident reaches its end, every operation is applied once, and every mail
arrives (a mail the server took just before a kill may arrive twice, with the same
Message-ID, never under another one)."""

from __future__ import annotations

import asyncio
from collections import Counter
from typing import Any

import pytest
from temporalio.client import WorkflowHandle
from temporalio.testing import WorkflowEnvironment

from starters.dev.smtp_sink import MailSink
from tests.faults.ledger import check_mails
from tests.faults.processes import Worker, vigie_env
from tests.faults.tally import TALLY
from tests.helpers import open_incident
from workers.settings import Settings
from workflows.incident import IncidentWorkflow
from workflows.models import AcknowledgeInput, CloseInput, ResolveInput, WorklogInput

INCIDENTS = 16
WORKLOGS = 3


async def lifecycle(handle: WorkflowHandle[Any, Any]) -> None:
    await handle.execute_update(IncidentWorkflow.acknowledge, AcknowledgeInput(by="al"))
    for n in range(WORKLOGS):
        await handle.execute_update(
            IncidentWorkflow.add_worklog, WorklogInput(by="al", text=f"step {n}")
        )
    await handle.execute_update(IncidentWorkflow.resolve, ResolveInput(by="al", resolution="ok"))
    await handle.execute_update(IncidentWorkflow.close, CloseInput(by="al"))


@pytest.mark.faults_slow
async def test_worker_killed_twice_mid_burst(
    dev_env: WorkflowEnvironment, settings: Settings, sink: MailSink
) -> None:
    client = dev_env.client
    env = vigie_env(client.service_client.config.target_host, settings)
    async with Worker(env) as first:
        handles = await asyncio.gather(
            *(open_incident(client, settings.task_queue, priority="P3") for _ in range(INCIDENTS))
        )
        burst = asyncio.gather(*(lifecycle(h) for h in handles))
        await asyncio.sleep(1.0)  # the burst is under way
        await first.kill()
    TALLY.fault("worker SIGKILL mid-burst")
    async with Worker(env) as second:
        await asyncio.sleep(1.5)
        await second.kill()
    TALLY.fault("worker SIGKILL mid-burst")
    async with Worker(env) as third:
        await asyncio.wait_for(burst, 300)
        results = await asyncio.wait_for(asyncio.gather(*(h.result() for h in handles)), 300)
        assert all(r.status == "closed" for r in results)
        for view in results:
            kinds = Counter(e.kind for e in view.timeline)
            assert kinds["acknowledged"] == kinds["resolved"] == kinds["closed"] == 1, kinds
            assert kinds["worklog"] == WORKLOGS, kinds
        check = await check_mails(client, sink, [h.id for h in handles], may_arrive_twice=True)
        for handle in handles:
            assert check.kinds(handle.id) == Counter(
                {"opened": 1, "acknowledged": 1, "worklog": WORKLOGS, "resolved": 1, "closed": 1}
            )
        assert await third.stop() == 0
