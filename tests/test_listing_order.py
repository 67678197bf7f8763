"""The order `vigie list` and `vigie crisis list` show, as README states it: running workflows
first, the newest started first, then ended ones, the last ended first (dev server)."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import pytest
from temporalio.client import WorkflowExecution
from temporalio.common import SearchAttributePair, TypedSearchAttributes
from temporalio.testing import WorkflowEnvironment

from starters.cli_support import when
from starters.listing import cell, incident_query, iso, list_rows, matched, print_rows
from workflows.search import INCIDENT_PRIORITY, INCIDENT_STATUS, SERVICE_LEVEL, SLA_BREACHED


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


async def test_a_list_cut_at_its_limit_says_how_many_were_left_out(
    dev_env: WorkflowEnvironment, capsys: pytest.CaptureFixture[str]
) -> None:
    """With more matches than --limit, the newest are shown and the footer says how many
    matched and how to see the others (it said "2 incidents", as if there were no more)."""
    client = dev_env.client
    kind = f"ListLimit{uuid.uuid4().hex[:8]}"
    for n in range(3):
        await client.start_workflow(kind, id=f"{kind}-{n}", task_queue=f"{kind}-none")
    query = f"WorkflowType = '{kind}'"
    for _ in range(100):  # visibility follows the writes
        if await matched(client, query, 2, 2) == 3:
            break
        await asyncio.sleep(0.1)
    rows = await list_rows(client, query, 2, _row)
    assert [r["id"] for r in rows] == [f"{kind}-2", f"{kind}-1"]
    total = await matched(client, query, len(rows), 2)
    print_rows(rows, ("id", "ended"), as_json=True, when=when, what="incident", query="q",
               total=total)  # fmt: skip
    said = " ".join(capsys.readouterr().err.split())
    assert said == "2 of 3 incidents (the others: --limit 3) · query: q", said
    assert await matched(client, query, 1, 5) == 1  # under the limit: nothing to count
    print_rows(rows, ("id", "ended"), as_json=True, when=when, what="incident", query="q",
               total=2)  # fmt: skip
    assert " ".join(capsys.readouterr().err.split()) == "2 incidents · query: q"


async def test_a_run_that_published_no_status_is_listed_with_how_it_ended(
    dev_env: WorkflowEnvironment,
) -> None:
    """A run refused at the start (or terminated before it opened) published no status:
    `vigie list` says how it ended instead of `?`, which stays for one still opening."""
    from starters.listing import crisis_row, incident_row

    client = dev_env.client
    kind = f"ListUnpublished{uuid.uuid4().hex[:8]}"
    handles = [
        await client.start_workflow(kind, id=f"{kind}-{n}", task_queue=f"{kind}-none")
        for n in range(2)
    ]
    await handles[0].terminate()
    query = f"WorkflowType = '{kind}'"
    for _ in range(100):
        rows = await list_rows(client, query, 10, incident_row)
        if len(rows) == 2 and {r["status"] for r in rows} == {"?", "terminated"}:
            break
        await asyncio.sleep(0.1)
    assert {r["incident"]: r["status"] for r in rows} == {
        f"{kind}-0": "terminated",
        f"{kind}-1": "?",
    }, rows
    # Neither breached nor kept: it had no deadline (`--not-breached` leaves it out too).
    assert [r["breached"] for r in rows] == [None, None]
    assert cell(None, when) == when(None) and iso(None) == ""
    crises = await list_rows(client, query, 10, crisis_row)
    assert {r["crisis"]: r["status"] for r in crises}[f"{kind}-0"] == "terminated"
    await handles[1].terminate()


async def test_the_filters_of_vigie_list_select_on_the_published_attributes(
    dev_env: WorkflowEnvironment,
) -> None:
    """`--status`, `--priority`, `--service-level`, `--breached` / `--not-breached`, as the
    server reads the query they build (incidents stand in: no worker polls their queue)."""
    client = dev_env.client
    run = uuid.uuid4().hex[:8]
    published = {
        "gold-breached": ("open", "P1", "gold", True),
        "gold-kept": ("open", "P1", "gold", False),
        "silver-breached": ("resolved", "P2", "silver", True),
    }
    for name, (status, priority, level, breached) in published.items():
        await client.start_workflow(
            "IncidentWorkflow", id=f"incident-{run}-{name}", task_queue=f"none-{run}",
            search_attributes=TypedSearchAttributes([
                SearchAttributePair(INCIDENT_STATUS, status),
                SearchAttributePair(INCIDENT_PRIORITY, priority),
                SearchAttributePair(SERVICE_LEVEL, level),
                SearchAttributePair(SLA_BREACHED, breached),
            ]),
        )  # fmt: skip
    ours = f" AND WorkflowId STARTS_WITH 'incident-{run}-'"

    async def listed(**filters: Any) -> set[str]:
        rows = await list_rows(client, incident_query(**filters) + ours, 10, _row)
        return {r["id"].removeprefix(f"incident-{run}-") for r in rows}

    for _ in range(100):  # visibility follows the writes
        if len(await listed()) == 3:
            break
        await asyncio.sleep(0.1)
    assert await listed(service_level="gold") == {"gold-breached", "gold-kept"}
    assert await listed(breached=True) == {"gold-breached", "silver-breached"}
    assert await listed(breached=False) == {"gold-kept"}
    assert await listed(service_level="gold", breached=True) == {"gold-breached"}
    assert await listed(status="resolved", priority="P2") == {"silver-breached"}
    assert await listed(priority="P3") == set()
