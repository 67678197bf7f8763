"""What each kind of workflow step costs the dev server and the worker: the cost model behind
the other benchmarks' figures.

    python bench/server_costs.py [--workflows 300] [--steps 10]

A trivial workflow (not Vigie's) is run ``--workflows`` times for each kind of step, 50 at a
time, with ``--steps`` steps each: nothing, activities one after another (each a workflow
task of its own), local activities (run inside the workflow task that asks), timers (a
workflow task each), search-attribute upserts and patch markers (all in one workflow task).
CPU is read from /proc: the dev server, and this process, which holds the client and an
in-process worker; each window ends 1 s after the last answer, so that what the server does
afterwards counts too (with its idle CPU for that second). The cost of one step is the
difference with the bare workflow, divided by the steps. First, before those runs,
``--workflows`` workflows stay open on a long timer, bare and after ``--steps`` activities:
the worker's RSS gives the memory of a cached workflow and of the history it holds.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import os
import time
import uuid
from datetime import timedelta

from harness import Proc, children, dev_server, machine_note, run_bench
from temporalio import activity, workflow
from temporalio.client import Client
from temporalio.common import SearchAttributeKey
from temporalio.worker import UnsandboxedWorkflowRunner, Worker

KEY = SearchAttributeKey.for_keyword("IncidentStatus")  # one of those the harness registers
KINDS = ("bare", "activity", "local", "timer", "upsert", "patch")


@activity.defn
async def step() -> None:
    return None


@workflow.defn(sandboxed=False)
class CostWorkflow:
    @workflow.run
    async def run(self, kind: str, steps: int, hold: bool) -> None:
        for n in range(steps if kind != "bare" else 0):
            if kind == "activity":
                await workflow.execute_activity(step, start_to_close_timeout=timedelta(seconds=30))
            elif kind == "local":
                await workflow.execute_local_activity(
                    step, start_to_close_timeout=timedelta(seconds=30)
                )
            elif kind == "timer":
                await asyncio.sleep(0.001)
            elif kind == "upsert":
                workflow.upsert_search_attributes([KEY.value_set(f"s{n}")])
            elif kind == "patch":
                workflow.patched(f"p{n}")
        if hold:
            await asyncio.sleep(3600)


async def run_many(client: Client, queue: str, count: int, kind: str, steps: int) -> float:
    gate = asyncio.Semaphore(50)

    async def one() -> None:
        async with gate:
            await client.execute_workflow(
                CostWorkflow.run, args=[kind, steps, False],
                id=f"cost-{kind}-{uuid.uuid4().hex[:10]}", task_queue=queue,
            )  # fmt: skip

    began = time.perf_counter()
    await asyncio.gather(*(one() for _ in range(count)))
    return time.perf_counter() - began


async def held(client: Client, queue: str, count: int, steps: int) -> int:
    """Starts ``count`` workflows that run ``steps`` activities and then wait on a long timer;
    returns once the last has armed its timer, with the events of its history."""
    handles = []
    for _ in range(count):
        handles.append(
            await client.start_workflow(
                CostWorkflow.run,
                args=["activity", steps, True],
                id=f"held-{uuid.uuid4().hex[:10]}",
                task_queue=queue,
            )
        )
    while True:
        events = [e async for e in handles[-1].fetch_history_events()]
        if any(e.HasField("timer_started_event_attributes") for e in events):
            return len(events)
        await asyncio.sleep(0.5)


async def main(count: int, steps: int) -> None:
    print(f"{count} workflows per kind, {steps} steps each; {machine_note()}")
    queue = f"cost-{uuid.uuid4().hex[:8]}"
    me = Proc(os.getpid(), "bench")
    async with dev_server() as env:
        server = Proc(children("temporal")[0], "temporal")
        async with Worker(
            env.client, task_queue=queue, workflows=[CostWorkflow], activities=[step],
            workflow_runner=UnsandboxedWorkflowRunner(), max_cached_workflows=4 * count,
        ):  # fmt: skip
            # Memory first, in a process that has not run thousands of workflows yet (their
            # freed memory would be reused); a few workflows warm the worker up.
            await run_many(env.client, queue, 20, "bare", 0)
            gc.collect()
            base = me.rss_mib()
            bare_events = await held(env.client, queue, count, 0)
            await asyncio.sleep(2)
            gc.collect()
            after_bare = me.rss_mib()
            long_events = await held(env.client, queue, count, steps)
            await asyncio.sleep(2)
            gc.collect()
            after_long = me.rss_mib()
            per_bare = (after_bare - base) * 1024 / count
            per_long = (after_long - after_bare) * 1024 / count
            memory = (
                f"cached workflow on a timer: {per_bare:.0f} KiB with {bare_events} events, "
                f"{per_long:.0f} KiB with {long_events} events "
                f"({(per_long - per_bare) / (long_events - bare_events):.2f} KiB per event more); "
                f"RSS {base:.0f} -> {after_long:.0f} MiB"
            )

            spent: dict[str, tuple[float, float, float]] = {}
            for kind in ("bare", *KINDS):  # the first bare run warms up and is not kept
                s0, w0 = server.cpu_seconds(), me.cpu_seconds()
                wall = await run_many(env.client, queue, count, kind, steps)
                await asyncio.sleep(1)  # what the server does after the last answer counts too
                spent[kind] = (
                    (server.cpu_seconds() - s0) / count * 1000,
                    (me.cpu_seconds() - w0) / count * 1000,
                    count / wall,
                )
            bare_server, bare_worker, _ = spent["bare"]
            print("kind       server ms/wf  worker+client ms/wf  wf/s   per step: server  worker")
            for kind in KINDS:
                server_ms, worker_ms, rate = spent[kind]
                per = "" if kind == "bare" else (
                    f"   {(server_ms - bare_server) / steps:6.2f}  "
                    f"{(worker_ms - bare_worker) / steps:6.2f} ms"
                )  # fmt: skip
                print(f"{kind:9} {server_ms:12.1f} {worker_ms:20.1f} {rate:6.0f}{per}")
            print(memory)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workflows", type=int, default=300)
    parser.add_argument("--steps", type=int, default=10)
    args = parser.parse_args()
    run_bench(main(args.workflows, args.steps))
