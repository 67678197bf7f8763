"""Worker throughput: how many incidents per second the worker opens and mails.

    python bench/worker_throughput.py [--incidents 2000] [--rate 100] [--workers 1]
                                      [--priority P3] [--backlog]

Starts ``--incidents`` complete incidents at ``--rate`` per second (open loop) against
``--workers`` ``vigie worker`` processes on a local dev server, with a mail sink in this
process. An incident counts as done when its opening mail reaches the sink. Prints the
incidents done per second (first start to last opening mail, and over the middle 80 %), the
worker CPU seconds per incident, and the worker's RSS. ``--backlog`` starts every incident
with no worker running, then starts the worker(s): the drain rate is the worker's capacity
alone. P3 bronze incidents have no deadline during the run; ``--priority P1`` at night adds
the on-call paging (a matrix read and a second mail).
"""

from __future__ import annotations

import argparse
import threading
import time
import uuid
from contextlib import AsyncExitStack

from harness import (
    Cpu,
    bench_incident,
    dev_server,
    free_port,
    machine_note,
    open_loop,
    run_bench,
    spread,
    wait_for,
    workers,
)

from starters.dev.smtp_sink import MailSink
from workflows.incident import IncidentWorkflow


async def main(count: int, rate: float, nworkers: int, priority: str, backlog: bool) -> None:
    print(f"{count} incidents ({priority}) at {rate:.0f}/s, {nworkers} worker(s); {machine_note()}")
    run = uuid.uuid4().hex[:8]
    queue = f"bench-{run}"
    opened_at: dict[str, float] = {}
    lock = threading.Lock()

    def on_mail(message: object, _to: list[str]) -> None:
        key = str(message["Message-ID"]).strip("<>").split("@", 1)[0]  # type: ignore[index]
        incident, _, seq = key.rpartition(".")
        if seq == "0":
            with lock:
                opened_at.setdefault(incident, time.perf_counter())

    async with dev_server() as env, AsyncExitStack() as stack:
        sink = stack.enter_context(MailSink(port=free_port(), on_mail=on_mail))
        client = env.client
        group = None
        if not backlog:
            group = await stack.enter_async_context(workers(client, queue, sink.port, nworkers))

        async def start(n: int) -> None:
            await client.start_workflow(
                IncidentWorkflow.run,
                bench_incident(n, priority=priority),
                id=f"incident-bench-{run}-{n}",
                task_queue=queue,
            )

        cpu = Cpu(group) if group else None
        began = time.perf_counter()
        latencies, errors = await open_loop(rate, count, start)
        sent = time.perf_counter() - began
        print(
            f"starts: {len(latencies)} in {sent:.1f} s ({len(latencies) / sent:.1f}/s), "
            f"{len(errors)} errors; latency {spread(latencies)}"
        )
        if backlog:
            began = time.perf_counter()
            group = await stack.enter_async_context(workers(client, queue, sink.port, nworkers))
            cpu = Cpu(group)
        assert group is not None and cpu is not None
        await wait_for(lambda: len(opened_at) >= len(latencies), 900, what="the opening mails")
        worker_cpu, server_cpu, own_cpu = cpu.spent()
        times = sorted(opened_at.values())
        total = times[-1] - began
        lo, hi = times[len(times) // 10], times[len(times) * 9 // 10]
        middle = (len(times) * 8 // 10) / (hi - lo) if hi > lo else float("nan")
        print(
            f"incidents opened and mailed: {len(times)} in {total:.1f} s "
            f"({len(times) / total:.1f}/s overall, {middle:.1f}/s over the middle 80 %)"
        )
        print(
            f"CPU per incident: worker {worker_cpu / len(times) * 1000:.1f} ms, dev server "
            f"{server_cpu / len(times) * 1000:.1f} ms, this process (starts, mail sink) "
            f"{own_cpu / len(times) * 1000:.1f} ms"
        )
        print("worker RSS: " + ", ".join(f"{r:.0f} MiB" for r in group.rss_mib()))
        print(f"mails in the sink: {len(sink.messages)}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--incidents", type=int, default=2000)
    parser.add_argument("--rate", type=float, default=100.0, help="starts per second")
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--priority", default="P3", choices=["P1", "P2", "P3"])
    parser.add_argument("--backlog", action="store_true", help="start the worker(s) afterwards")
    args = parser.parse_args()
    run_bench(main(args.incidents, args.rate, args.workers, args.priority, args.backlog))
