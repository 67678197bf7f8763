"""The order `vigie list` and `vigie crisis list` show, as README states it: running workflows
first, the newest started first, then ended ones, the last ended first (dev server)."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

from temporalio.client import WorkflowExecution
from temporalio.testing import WorkflowEnvironment

from starters.listing import list_rows


async def _row(execution: WorkflowExecution) -> dict[str, Any]:
    return {"id": execution.id, "ended": execution.close_time is not None}


async def test_running_first_newest_first_then_the_last_ended(
    dev_env: WorkflowEnvironment,
) -> None:
    client = dev_env.client
    kind = f"ListOrder{uuid.uuid4().hex[:8]}"  # no worker polls it: they wait until ended
    handles = [
        await client.start_workflow(kind, id=f"{kind}-{n}", task_queue=f"{kind}-none")
        for n in range(4)
    ]
    await handles[2].terminate()
    await handles[0].terminate()
    query = f"WorkflowType = '{kind}'"
    for _ in range(100):  # visibility follows the writes
        rows = await list_rows(client, query, 10, _row)
        if len(rows) == 4 and sum(r["ended"] for r in rows) == 2:
            break
        await asyncio.sleep(0.1)
    assert [r["id"] for r in rows] == [f"{kind}-{n}" for n in (3, 1, 0, 2)], rows
