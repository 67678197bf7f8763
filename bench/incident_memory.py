"""Where a cached incident's memory goes: the worker's RSS per cached incident, the share of
it that is Python objects (tracemalloc), and the files that allocated them.

    python bench/incident_memory.py [--incidents 400] [--top 12]

Runs a worker inside this process (no sandbox, the default), with a workflow cache larger
than the run, and a mail transport that counts and drops mails (a mail sink would keep them
in this process's memory). Opens complete P3 bronze incidents (no deadline falls during the
run) and waits until each one's opening mail left. Two batches of ``--incidents``:

1. RSS before and after the first batch gives the memory of a cached incident, all of it:
   Python objects, the SDK core's state (Rust, outside Python's allocator), the allocator's
   slack, and what else grew in this process meanwhile (the client, the ledger's SQLite
   cache at VIGIE_DATABASE_URL).
2. The second batch runs under tracemalloc, which only sees Python objects (and inflates RSS,
   so RSS is not read then): the Python share per incident, by file.

The figures depend on the patch markers a new incident records: run it with
``VIGIE_PATCH_BASELINE`` set to each baseline and unset (workers.settings).
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import os
import sysconfig
import time
import tracemalloc
import uuid
from email.message import EmailMessage
from pathlib import Path

from harness import bench_incident, dev_server, machine_note, run_bench

from workers.settings import Settings
from workers.worker import build_worker
from workflows.incident import IncidentWorkflow

# Allocations that are tracemalloc's or this script's, not a cached incident's.
NOT_THE_WORKER = [
    tracemalloc.Filter(False, tracemalloc.__file__),
    tracemalloc.Filter(False, __file__),
]


class DroppingTransport:
    """Counts mails and keeps none."""

    def __init__(self) -> None:
        self.sent = 0

    async def send(self, message: EmailMessage) -> dict[str, str]:
        self.sent += 1
        return {}

    async def close(self) -> None:
        return None


def short(filename: str) -> str:
    """A file's name without the folders every reader knows."""
    if "site-packages/" in filename:
        return filename.split("site-packages/", 1)[1]
    stdlib = sysconfig.get_paths()["stdlib"]
    if filename.startswith(stdlib):
        return "(stdlib) " + filename.removeprefix(stdlib + "/")
    return filename.removeprefix(f"{Path.cwd()}/")


def rss_mib() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


async def main(count: int, top: int) -> None:
    settings = Settings()
    print(
        f"{count} incidents per batch; VIGIE_PATCH_BASELINE={settings.patch_baseline}; "
        f"{machine_note()}"
    )
    queue = f"bench-{uuid.uuid4().hex[:8]}"
    settings = settings.model_copy(
        update={"task_queue": queue, "max_cached_workflows": 3 * count + 100}
    )
    transport = DroppingTransport()
    async with dev_server() as env:
        client = env.client
        worker = build_worker(client, settings, task_queue=queue, transport=transport)
        gate = asyncio.Semaphore(50)
        started = 0

        async def batch(size: int) -> None:
            nonlocal started
            first, started = started, started + size

            async def one(n: int) -> None:
                async with gate:
                    await client.start_workflow(
                        IncidentWorkflow.run,
                        bench_incident(n),
                        id=f"incident-{queue}-{n}",
                        task_queue=queue,
                    )

            await asyncio.gather(*(one(n) for n in range(first, started)))
            deadline = time.monotonic() + 600
            while transport.sent < started:
                if time.monotonic() > deadline:
                    raise SystemExit(f"{transport.sent} of {started} opening mails in 600 s")
                await asyncio.sleep(0.2)
            await asyncio.sleep(2)  # the ledger writes and the last completions
            gc.collect()

        async with worker:
            await batch(20)  # warms up: imports, connections, first allocations
            before = rss_mib()
            await batch(count)
            after = rss_mib()
            per_incident = (after - before) * 1024 / count
            last = client.get_workflow_handle(f"incident-{queue}-{started - 1}")
            events = len((await last.fetch_history()).events)
            print(
                f"RSS {before:.0f} -> {after:.0f} MiB: {per_incident:.0f} KiB per cached "
                f"incident ({events} events in its history)"
            )

            tracemalloc.start()
            first = tracemalloc.take_snapshot().filter_traces(NOT_THE_WORKER)
            await batch(count)
            second = tracemalloc.take_snapshot().filter_traces(NOT_THE_WORKER)
            tracemalloc.stop()
            by_file = second.compare_to(first, "filename")
            python = sum(stat.size_diff for stat in by_file) / 1024 / count
            print(
                f"Python objects: {python:.0f} KiB per incident ({100 * python / per_incident:.0f} "
                f"% of it); the rest is outside the Python heap"
            )
            for stat in by_file[:top]:
                print(
                    f"  {stat.size_diff / 1024 / count:6.1f} KiB "
                    f"{stat.count_diff / count:6.0f} objects  {short(stat.traceback[0].filename)}"
                )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--incidents", type=int, default=400)
    parser.add_argument("--top", type=int, default=12)
    args = parser.parse_args()
    os.environ.setdefault("VIGIE_LOG_LEVEL", "WARNING")
    run_bench(main(args.incidents, args.top))
