"""Deadline lateness under load: N gold P1 incidents whose acknowledgement deadline falls while
one worker is still draining the opening backlog, on a local dev server.

    python bench/deadline_lateness.py [--incidents 2000] [--rate 80] [--lead 30]

Each incident is opened with a T0 set so that its acknowledgement deadline (15 min for gold)
falls ``--lead`` seconds after it is opened. The worker runs in its own process (``vigie
worker``), with a mail sink in this one. When every breach is recorded, the script reads each
incident's ``status`` and prints the lateness of the recorded breach against its deadline
(min, p50, p99, max), the opening throughput, and how many breaches were recorded. A script,
not a test: figures depend on the machine and on what else runs on it.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

from temporalio.client import Client, WorkflowQueryFailedError
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.service import RPCError
from temporalio.testing import WorkflowEnvironment

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from starters.dev.smtp_sink import MailSink  # noqa: E402
from workflows.incident import IncidentWorkflow  # noqa: E402
from workflows.models import IncidentInput, IncidentView  # noqa: E402
from workflows.search import SEARCH_ATTRIBUTES  # noqa: E402

ACK_GOLD = timedelta(minutes=15)


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def breach_mails(sink: MailSink) -> int:
    return sum("Délai de prise en compte dépassé" in str(m["Subject"]) for m in sink.messages)


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, int(len(ordered) * share) - 1))]


async def open_all(
    client: Client, queue: str, run: str, count: int, rate: float, lead: float
) -> list[str]:
    ids: list[str] = []
    began = time.perf_counter()

    async def one(n: int) -> None:
        # Open-loop: each start is sent at its scheduled time, whatever the others do.
        await asyncio.sleep(max(0.0, began + n / rate - time.perf_counter()))
        t0 = datetime.now(UTC) - ACK_GOLD + timedelta(seconds=lead)
        handle = await client.start_workflow(
            IncidentWorkflow.run,
            IncidentInput(
                title=f"Bench {n}", service_level="gold", priority="P1", t0=t0,
                category="bench", description="bench", application="bench",
                requesters=["bench@example.org"], opened_by="bench",
            ),
            id=f"incident-bench-{run}-{n}",
            task_queue=queue,
        )  # fmt: skip
        ids.append(handle.id)

    await asyncio.gather(*(one(n) for n in range(count)))
    elapsed = time.perf_counter() - began
    print(f"opened {count} incidents in {elapsed:.1f} s ({count / elapsed:.1f}/s)")
    return ids


async def lateness(client: Client, ids: list[str], deadline: float) -> list[float]:
    late: dict[str, float] = {}
    gate = asyncio.Semaphore(50)

    async def one(workflow_id: str) -> None:
        async with gate:
            try:
                view: IncidentView = await client.get_workflow_handle(workflow_id).query(
                    IncidentWorkflow.status
                )
            except (WorkflowQueryFailedError, RPCError):
                return  # still opening, or the server is busy: asked again in the next round
        breach = next((e for e in view.timeline if e.kind == "ack_breach"), None)
        if breach is not None:
            due = datetime.fromisoformat(breach.fields["due_at"])
            late[workflow_id] = (breach.at - due).total_seconds()

    while len(late) < len(ids) and time.perf_counter() < deadline:
        await asyncio.gather(*(one(i) for i in ids if i not in late))
        if len(late) < len(ids):
            await asyncio.sleep(5)
    return list(late.values())


async def main(count: int, rate: float, lead: float) -> None:
    env = await WorkflowEnvironment.start_local(
        dev_server_existing_path=str(Path(sys.executable).parent / "temporal"),
        data_converter=pydantic_data_converter,
        search_attributes=SEARCH_ATTRIBUTES,
    )
    run = uuid.uuid4().hex[:8]
    queue = f"bench-{run}"
    with MailSink(port=free_port()) as sink:
        worker_env = {
            **os.environ,
            "TEMPORAL_ADDRESS": env.client.service_client.config.target_host,
            "VIGIE_TASK_QUEUE": queue,
            "VIGIE_SMTP_PORT": str(sink.port),
            "VIGIE_LOG_LEVEL": "WARNING",
        }
        worker = subprocess.Popen(  # noqa: ASYNC220 - started once, before measuring
            [str(Path(sys.executable).parent / "vigie"), "worker"], env=worker_env
        )
        try:
            await asyncio.sleep(3)
            started = time.perf_counter()
            ids = await open_all(env.client, queue, run, count, rate, lead)
            # Queries load the worker too: read the statuses only once every breach is mailed.
            while breach_mails(sink) < count and time.perf_counter() < started + 900:  # noqa: ASYNC110
                await asyncio.sleep(2)
            drained = time.perf_counter() - started
            print(f"every breach mailed {drained:.1f} s after the first opening")
            values = await lateness(env.client, ids, started + 1200)
        finally:
            worker.terminate()
            worker.wait(timeout=30)
    await env.shutdown()
    print(f"breaches recorded: {len(values)}/{count}")
    if values:
        print(
            "lateness (s): "
            f"min {min(values):.3f}  p50 {statistics.median(values):.3f}  "
            f"p99 {percentile(values, 0.99):.3f}  max {max(values):.3f}"
        )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--incidents", type=int, default=2000)
    parser.add_argument("--rate", type=float, default=80.0, help="openings per second")
    parser.add_argument("--lead", type=float, default=30.0, help="seconds from opening to deadline")
    args = parser.parse_args()
    asyncio.run(main(args.incidents, args.rate, args.lead))
