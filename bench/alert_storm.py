"""Alert storm: N Opsgenie Create webhooks against the receiver, on a local dev server.

    python bench/alert_storm.py [--alerts 300] [--concurrency 20]

Prints the receiver's intake throughput and latency (p50, p99), and the same
figures for bare ``start_workflow`` calls of a no-op workflow on the same
server in the same run, with their ratio. A script, not a test: figures
depend on the machine.
"""

from __future__ import annotations

import argparse
import asyncio
import copy
import json
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path

import httpx
from temporalio import workflow
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import UnsandboxedWorkflowRunner, Worker

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from starters.dev.smtp_sink import MailSink  # noqa: E402
from starters.gateway import TemporalGateway  # noqa: E402
from starters.serving import serving  # noqa: E402
from starters.webhook import create_app  # noqa: E402
from workers.opsgenie_file import load_mapping  # noqa: E402
from workers.settings import DEFAULT_CONFIG_DIR, Settings  # noqa: E402
from workers.worker import build_worker  # noqa: E402
from workflows.search import SEARCH_ATTRIBUTES  # noqa: E402

CREATE = json.loads((ROOT / "tests/fixtures/opsgenie/webhook/create.json").read_text())
SECRET = "bench"


@workflow.defn(name="NoopWorkflow")
class NoopWorkflow:
    @workflow.run
    async def run(self) -> None:
        return None


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def measure(
    count: int, concurrency: int, call: Callable[[int], Awaitable[None]]
) -> tuple[float, list[float]]:
    latencies: list[float] = []
    gate = asyncio.Semaphore(concurrency)

    async def one(n: int) -> None:
        async with gate:
            start = time.perf_counter()
            await call(n)
            latencies.append(time.perf_counter() - start)

    began = time.perf_counter()
    await asyncio.gather(*(one(n) for n in range(count)))
    return time.perf_counter() - began, latencies


def report(name: str, elapsed: float, latencies: list[float]) -> float:
    ordered = sorted(latencies)
    p50 = statistics.median(ordered) * 1000
    p99 = ordered[max(0, int(len(ordered) * 0.99) - 1)] * 1000
    rate = len(ordered) / elapsed
    print(f"{name:<28} {rate:8.1f}/s   p50 {p50:7.1f} ms   p99 {p99:7.1f} ms")
    return rate


async def main(alerts: int, concurrency: int) -> None:
    env = await WorkflowEnvironment.start_local(
        dev_server_existing_path=str(Path(sys.executable).parent / "temporal"),
        data_converter=pydantic_data_converter,
        search_attributes=SEARCH_ATTRIBUTES,
    )
    client = env.client
    run = uuid.uuid4().hex[:8]
    loop = asyncio.get_running_loop()
    all_mailed = asyncio.Event()

    def mailed(*_: object) -> None:
        if len(sink.messages) >= alerts:
            loop.call_soon_threadsafe(all_mailed.set)

    with tempfile.TemporaryDirectory(), MailSink(port=free_port(), on_mail=mailed) as sink:
        settings = Settings(smtp_port=sink.port, task_queue=f"bench-{run}")
        port = free_port()
        app = create_app(
            TemporalGateway(client, settings.task_queue), load_mapping(DEFAULT_CONFIG_DIR),
            secret=SECRET,
        )  # fmt: skip
        noop_worker = Worker(
            client,
            task_queue=f"{settings.task_queue}-noop",
            workflows=[NoopWorkflow],
            workflow_runner=UnsandboxedWorkflowRunner(),  # a no-op defined in a script
        )
        async with (
            serving(app, "127.0.0.1", port),
            build_worker(client, settings),
            noop_worker,
            httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as http,
        ):
            outcomes: list[str] = []

            async def deliver(n: int) -> None:
                body = copy.deepcopy(CREATE)
                body["alert"]["alertId"] = f"storm-{run}-{n}"
                body["alert"]["alias"] = body["alert"]["alertId"]
                r = await http.post(
                    "/webhooks/opsgenie", json=body, headers={"X-Webhook-Secret": SECRET}
                )
                outcomes.append(r.json().get("result", str(r.status_code)))

            async def bare(n: int) -> None:
                await client.start_workflow(
                    NoopWorkflow.run, id=f"noop-{run}-{n}", task_queue=f"{settings.task_queue}-noop"
                )

            # Warm both paths up before measuring.
            await measure(10, concurrency, lambda n: bare(n + 10_000_000))
            print(f"{alerts} alerts, concurrency {concurrency}, dev server on this machine")
            began = time.perf_counter()
            storm_time, storm = await measure(alerts, concurrency, deliver)
            bare_time, base = await measure(alerts, concurrency, bare)
            storm_rate = report("webhook intake (Create)", storm_time, storm)
            bare_rate = report("bare start_workflow (no-op)", bare_time, base)
            print(f"ratio intake / bare start   {storm_rate / bare_rate:6.2f}")
            started = outcomes.count("started")
            print(f"incidents started           {started} of {alerts}")
            # Worker side: every incident mails its requester when it opens.
            await all_mailed.wait()
            processed = time.perf_counter() - began
            print(
                f"worker: {alerts} incidents opened and mailed {processed:.1f} s after the "
                f"storm began ({alerts / processed:.1f}/s, bare-start run included)"
            )
            if started != alerts:
                raise SystemExit(f"only {started} of {alerts} alerts started an incident")
    await env.shutdown()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--alerts", type=int, default=300)
    parser.add_argument("--concurrency", type=int, default=20)
    options = parser.parse_args()
    asyncio.run(main(options.alerts, options.concurrency))
