"""Webhook intake, open loop: Opsgenie Create webhooks at a fixed rate against ``vigie webhook``
while ``vigie worker`` opens and mails the incidents, on a local dev server.

    python bench/webhook_intake.py [--rate 20] [--seconds 60] [--workers 1] [--bare-rate 5]

Each delivery is sent at its scheduled time whatever the others do, and its latency runs from
that scheduled time to the answer (no coordinated omission). The reference is a bare
``start_workflow`` (a workflow type no worker polls, so it costs the server a start only),
measured on the same server in the same run: first alone for 15 s at ``--rate`` (quiet), then
at ``--bare-rate`` interleaved with the webhooks (same load). The receiver and the worker(s)
run in their own processes, as in production. Goal: webhook p99 <= 100 ms and <= 5x the bare
p99 measured alongside.
"""

from __future__ import annotations

import argparse
import asyncio
import copy
import json
import time
import uuid

import httpx
from harness import (
    BIN,
    ROOT,
    Cpu,
    dev_server,
    free_port,
    machine_note,
    mails_at_least,
    open_loop,
    percentile,
    run_bench,
    spawn,
    spread,
    vigie_env,
    wait_for,
    workers,
)
from temporalio.client import Client

from starters.dev.smtp_sink import MailSink

CREATE = json.loads((ROOT / "tests/fixtures/opsgenie/webhook/create.json").read_text())
SECRET = "bench"


def bare_starts(client: Client, run: str, label: str):  # type: ignore[no-untyped-def]
    async def start(n: int) -> None:
        await client.start_workflow("BenchNoop", id=f"noop-{run}-{label}-{n}", task_queue="none")

    return start


async def main(rate: float, seconds: float, nworkers: int, bare_rate: float) -> None:
    count = int(rate * seconds)
    print(
        f"{count} Create webhooks at {rate:.0f}/s for {seconds:.0f} s, {nworkers} worker(s); "
        f"{machine_note()}"
    )
    run = uuid.uuid4().hex[:8]
    queue = f"bench-{run}"
    async with dev_server() as env:
        client = env.client
        with MailSink(port=free_port()) as sink:
            port = free_port()
            receiver = spawn(
                [str(BIN / "vigie"), "webhook", "--port", str(port)],
                vigie_env(client, queue, sink.port, VIGIE_WEBHOOK_SECRET=SECRET),
                "webhook",
            )
            try:
                async with (
                    workers(client, queue, sink.port, nworkers) as group,
                    httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=30) as http,
                ):
                    await wait_for(lambda: _healthy(port), 30, what="the webhook receiver")
                    # Warm-up, then the quiet reference: bare starts alone.
                    await open_loop(rate, 20, bare_starts(client, run, "warm"))
                    quiet, _ = await open_loop(rate, int(rate * 15), bare_starts(client, run, "q"))
                    outcomes: list[str] = []

                    async def deliver(n: int) -> None:
                        body = copy.deepcopy(CREATE)
                        body["alert"]["alertId"] = f"intake-{run}-{n}"
                        body["alert"]["alias"] = body["alert"]["alertId"]
                        r = await http.post(
                            "/webhooks/opsgenie", json=body, headers={"X-Webhook-Secret": SECRET}
                        )
                        outcomes.append(r.json().get("result", str(r.status_code)))

                    cpu = Cpu(group)
                    began = time.perf_counter()
                    alongside = bare_starts(client, run, "b")
                    (hooks, hook_errors), (bare, _) = await asyncio.gather(
                        open_loop(rate, count, deliver),
                        open_loop(bare_rate, int(bare_rate * seconds), alongside),
                    )
                    sent = time.perf_counter() - began
                    started = outcomes.count("started")
                    await wait_for(mails_at_least(sink, started), 900, what="the opening mails")
                    drained = time.perf_counter() - began
                    worker_cpu, server_cpu, _own = cpu.spent()
                    receiver_cpu = receiver.cpu_seconds()
            finally:
                receiver.stop()
    print(f"bare start_workflow, quiet (alone)   {spread(quiet)}")
    print(f"bare start_workflow, alongside       {spread(bare)}")
    print(f"webhook Create (receiver + start)    {spread(hooks)}")
    print(
        f"incidents started {started} of {count}, {len(hook_errors)} delivery errors; "
        f"sent in {sent:.1f} s; every opening mailed {drained:.1f} s after the first delivery"
    )
    print(
        f"CPU: workers {worker_cpu:.0f} s, dev server {server_cpu:.0f} s, receiver "
        f"{receiver_cpu:.0f} s (since it started)"
    )
    p99, ref, quiet_p99 = percentile(hooks, 0.99), percentile(bare, 0.99), percentile(quiet, 0.99)
    print(
        f"p99 ratios: webhook / bare alongside {p99 / ref:.1f}x, webhook / bare quiet "
        f"{p99 / quiet_p99:.1f}x"
    )
    verdict = "met" if p99 <= 0.1 and p99 <= 5 * ref else "NOT met"
    print(f"goal p99 <= 100 ms and <= 5x bare (alongside): {verdict} (p99 {p99 * 1000:.0f} ms)")


def _healthy(port: int) -> bool:
    try:
        return httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=float, default=20.0, help="webhooks per second")
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--bare-rate", type=float, default=5.0, help="bare starts per second")
    args = parser.parse_args()
    run_bench(main(args.rate, args.seconds, args.workers, args.bare_rate))
