"""Worker memory and status reads: the worker's RSS as open incidents pile up, and how many
``status`` queries per second it answers over 2,000 incidents.

    python bench/worker_memory.py [--steps 500,1000,2000,5000] [--reads 2000] [--concurrency 20]

Opens complete P3 bronze incidents (no deadline falls during the run) up to each step, waits
until each one's opening mail reached the sink, and prints the RSS of the ``vigie worker``
process (its workflow cache holds VIGIE_MAX_CACHED_WORKFLOWS of them, 1,000 by default). Then
reads ``status`` of the first ``--reads`` incidents, ``--concurrency`` at a time, and prints
the rate and latency. Goals: RSS <= 300 MiB with 2,000 open incidents; >= 200 reads/s.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import time
import uuid

from harness import (
    Cpu,
    bench_incident,
    dev_server,
    free_port,
    machine_note,
    mails_at_least,
    run_bench,
    spread,
    wait_for,
    workers,
)

from starters.dev.smtp_sink import MailSink
from workflows.incident import IncidentWorkflow


async def main(steps: list[int], reads: int, concurrency: int) -> None:
    cache = os.environ.get("VIGIE_MAX_CACHED_WORKFLOWS", "1000 (default)")
    print(f"steps {steps}, workflow cache {cache}; {machine_note()}")
    run = uuid.uuid4().hex[:8]
    queue = f"bench-{run}"
    async with dev_server() as env:
        client = env.client
        with MailSink(port=free_port()) as sink:
            async with workers(client, queue, sink.port) as group:
                print(f"idle worker RSS {group.rss_mib()[0]:.0f} MiB")
                ids: list[str] = []
                gate = asyncio.Semaphore(50)

                async def start(n: int) -> None:
                    async with gate:
                        await client.start_workflow(
                            IncidentWorkflow.run,
                            bench_incident(n),
                            id=f"incident-bench-{run}-{n}",
                            task_queue=queue,
                        )

                for step in steps:
                    await asyncio.gather(*(start(n) for n in range(len(ids), step)))
                    ids = [f"incident-bench-{run}-{n}" for n in range(step)]
                    await wait_for(mails_at_least(sink, step), 1800, what=f"{step} mails")
                    await asyncio.sleep(2)  # the last completions
                    print(f"{step:>6} open incidents: worker RSS {group.rss_mib()[0]:.0f} MiB")

                latencies: list[float] = []
                query_gate = asyncio.Semaphore(concurrency)

                async def read(workflow_id: str) -> None:
                    async with query_gate:
                        began = time.perf_counter()
                        await client.get_workflow_handle(workflow_id).query(IncidentWorkflow.status)
                        latencies.append(time.perf_counter() - began)

                targets = ids[:reads]
                cpu = Cpu(group)
                began = time.perf_counter()
                await asyncio.gather(*(read(i) for i in targets))
                took = time.perf_counter() - began
                worker_cpu, server_cpu, own_cpu = cpu.spent()
                rate = len(targets) / took
                per = 1000 / len(targets)
                print(
                    f"status of {len(targets)} incidents, {concurrency} at a time: "
                    f"{rate:.0f}/s; latency {spread(latencies)}\n"
                    f"CPU per read: worker {worker_cpu * per:.1f} ms, dev server "
                    f"{server_cpu * per:.1f} ms, this process {own_cpu * per:.1f} ms"
                )
                print(f"after the reads: worker RSS {group.rss_mib()[0]:.0f} MiB")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", default="500,1000,2000,5000")
    parser.add_argument("--reads", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=20)
    args = parser.parse_args()
    steps = [int(s) for s in args.steps.split(",")]
    run_bench(main(steps, args.reads, args.concurrency))
