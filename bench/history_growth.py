"""How large an incident's answers and history grow: a month of hourly worklogs.

    python bench/history_growth.py [--hours 720] [--answer-after 60]

On the time-skipping test server (a month passes in seconds), with one in-process worker and
a mail sink: opens a P3 bronze incident, acknowledges it, then adds one worklog an hour for
``--hours`` hours through the ``add_worklog`` Update. Prints the size of the Update's answer
after ``--answer-after`` worklogs next to the size of the ``status`` query (the whole story),
then, following the continue-as-new chain, the runs, the events and the bytes of history.
Runs from any checkout of the project (it only uses the workflow's public names). A script,
not a test: figures depend on the code and the policy, not on the machine.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import socket
import sys
import tempfile
import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

from temporalio.api.enums.v1 import EventType, IndexedValueType
from temporalio.api.operatorservice.v1 import AddSearchAttributesRequest
from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from starters.dev.smtp_sink import MailSink  # noqa: E402
from workers.settings import DEFAULT_CONFIG_DIR, Settings  # noqa: E402
from workers.worker import build_worker  # noqa: E402
from workflows.incident import IncidentWorkflow  # noqa: E402
from workflows.models import IncidentInput  # noqa: E402
from workflows.search import SEARCH_ATTRIBUTES  # noqa: E402


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def chain(client: Client, workflow_id: str, first_run: str) -> list[tuple[int, int]]:
    """(events, bytes) of each run, from the first through every continue-as-new."""
    runs: list[tuple[int, int]] = []
    run_id: str | None = first_run
    while run_id:
        history = await client.get_workflow_handle(workflow_id, run_id=run_id).fetch_history()
        size = sum(event.ByteSize() for event in history.events)
        runs.append((len(history.events), size))
        last = history.events[-1]
        continued = EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW
        attributes = last.workflow_execution_continued_as_new_event_attributes
        run_id = attributes.new_execution_run_id if last.event_type == continued else None
    return runs


async def main(hours: int, answer_after: int) -> None:
    env = await WorkflowEnvironment.start_time_skipping(
        test_server_existing_path=str(Path(sys.executable).parent / "temporal-test-server"),
        data_converter=pydantic_data_converter,
    )
    await env.client.operator_service.add_search_attributes(
        AddSearchAttributesRequest(
            namespace=env.client.namespace,
            search_attributes={
                key.name: IndexedValueType.ValueType(key.indexed_value_type)
                for key in SEARCH_ATTRIBUTES
            },
        )
    )
    with tempfile.TemporaryDirectory() as tmp, MailSink(port=free_port()) as sink:
        config = Path(tmp)
        for other in DEFAULT_CONFIG_DIR.glob("*.toml"):
            (config / other.name).write_text(other.read_text(encoding="utf-8"), encoding="utf-8")
        settings = Settings(config_dir=config, smtp_port=sink.port, task_queue="growth")
        async with build_worker(env.client, settings):
            incident = f"incident-growth-{uuid.uuid4().hex[:8]}"
            handle = await env.client.start_workflow(
                IncidentWorkflow.run,
                IncidentInput(
                    title="Nightly export slow",
                    service_level="bronze",
                    priority="P3",
                    requesters=["customer@example.org"],
                    opened_by="bench",
                ),
                id=incident,
                task_queue=settings.task_queue,
            )
            first_run = handle.first_execution_run_id or handle.result_run_id or ""
            await handle.execute_update("acknowledge", {"by": "bench"}, result_type=dict)
            answer_bytes = 0
            for n in range(hours):
                answer: dict[str, Any] = await handle.execute_update(
                    "add_worklog", {"by": "bench", "text": f"hour {n}: still running"},
                    result_type=dict,
                )  # fmt: skip
                if n + 1 == answer_after:
                    answer_bytes = len(json.dumps(answer, default=str))
                    story = await handle.query("status", result_type=dict)
                    status_bytes = len(json.dumps(story, default=str))
                await env.sleep(timedelta(hours=1))
            runs = await chain(env.client, incident, first_run)
    await env.shutdown()
    print(f"Update answer after {answer_after} worklogs: {answer_bytes:,} bytes "
          f"(status query, the whole story: {status_bytes:,} bytes)")  # fmt: skip
    events = sum(e for e, _ in runs)
    size = sum(b for _, b in runs)
    largest_events, largest_bytes = max(e for e, _ in runs), max(b for _, b in runs)
    print(
        f"{hours} hourly worklogs: {len(runs)} run(s), {events:,} history events in all, "
        f"{size / 1e6:.1f} MB of history in all, largest run {largest_events:,} events / "
        f"{largest_bytes / 1e6:.1f} MB"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hours", type=int, default=720)
    parser.add_argument("--answer-after", type=int, default=60)
    args = parser.parse_args()
    asyncio.run(main(args.hours, args.answer_after))
