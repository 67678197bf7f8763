"""What every benchmark shares: a local dev server, worker processes measured from outside
(CPU time and RSS read from /proc), a mail sink, open-loop sending and percentiles.

Benchmarks are scripts run by hand, never tests: their figures depend on the machine and on
what else runs on it.
"""

from __future__ import annotations

import asyncio
import os
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from temporalio.api.enums.v1 import TaskQueueType
from temporalio.api.taskqueue.v1 import TaskQueue
from temporalio.api.workflowservice.v1 import DescribeTaskQueueRequest
from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from starters.dev.smtp_sink import MailSink  # noqa: E402
from workflows.models import IncidentInput  # noqa: E402
from workflows.search import SEARCH_ATTRIBUTES  # noqa: E402

BIN = Path(sys.executable).parent
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def percentile(values: list[float], share: float) -> float:
    """Nearest-rank percentile (``share`` in 0..1)."""
    ordered = sorted(values)
    rank = max(1, int(len(ordered) * share + 0.999999))
    return ordered[min(len(ordered), rank) - 1]


def spread(values: list[float], unit: str = "ms", scale: float = 1000.0) -> str:
    """min / p50 / p99 / max of ``values`` in ``unit``."""
    if not values:
        return "no values"
    return (
        f"min {min(values) * scale:.1f}  p50 {statistics.median(values) * scale:.1f}  "
        f"p99 {percentile(values, 0.99) * scale:.1f}  max {max(values) * scale:.1f} {unit}"
    )


def machine_note() -> str:
    load = os.getloadavg()
    return f"{os.cpu_count()} cores, load average before the run {load[0]:.2f} {load[1]:.2f}"


@asynccontextmanager
async def dev_server() -> AsyncIterator[WorkflowEnvironment]:
    """A Temporal dev server (in memory) with Vigie's search attributes."""
    env = await WorkflowEnvironment.start_local(
        dev_server_existing_path=str(BIN / "temporal"),
        data_converter=pydantic_data_converter,
        search_attributes=SEARCH_ATTRIBUTES,
        dev_server_log_level="error",
        # Extra dev server flags, e.g. "--dynamic-config-value KEY=VALUE".
        dev_server_extra_args=os.environ.get("BENCH_DEV_SERVER_ARGS", "").split(),
    )
    try:
        yield env
    finally:
        await env.shutdown()


@dataclass
class Proc:
    """A process measured from /proc; ``popen`` when the benchmark started it."""

    pid: int
    name: str
    popen: subprocess.Popen[bytes] | None = None

    def cpu_seconds(self) -> float:
        """User + system CPU time of the process (all its threads) so far."""
        fields = Path(f"/proc/{self.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS

    def rss_mib(self) -> float:
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
        return float("nan")

    def stop(self) -> None:
        if self.popen is not None and self.popen.poll() is None:
            self.popen.terminate()
            try:
                self.popen.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait()


@dataclass
class Workers:
    """``vigie worker`` processes polling one task queue."""

    procs: list[Proc] = field(default_factory=list)

    def cpu_seconds(self) -> float:
        return sum(p.cpu_seconds() for p in self.procs)

    def rss_mib(self) -> list[float]:
        return [p.rss_mib() for p in self.procs]


def children(name: str) -> list[int]:
    """Pids of this process's children whose command is ``name``."""
    found = []
    for task in Path("/proc/self/task").iterdir():
        for pid in (task / "children").read_text().split():
            if Path(f"/proc/{pid}/comm").read_text().strip() == name:
                found.append(int(pid))
    return found


class Cpu:
    """CPU seconds spent by the dev server, the workers and this process since ``start``."""

    def __init__(self, group: Workers) -> None:
        self.group = group
        self.server = [Proc(pid, "temporal") for pid in children("temporal")]
        self.start()

    def _now(self) -> tuple[float, float, float]:
        times = os.times()
        server = sum(p.cpu_seconds() for p in self.server)
        return self.group.cpu_seconds(), server, times.user + times.system

    def start(self) -> None:
        self._start = self._now()

    def spent(self) -> tuple[float, float, float]:
        """(workers, server, this process) CPU seconds since ``start``."""
        now = self._now()
        return now[0] - self._start[0], now[1] - self._start[1], now[2] - self._start[2]


def vigie_env(client: Client, queue: str, smtp_port: int, **extra: str) -> dict[str, str]:
    return {
        **os.environ,
        "TEMPORAL_ADDRESS": client.service_client.config.target_host,
        "VIGIE_TASK_QUEUE": queue,
        "VIGIE_SMTP_PORT": str(smtp_port),
        "VIGIE_LOG_LEVEL": "WARNING",
        **extra,
    }


async def pollers(client: Client, queue: str) -> int:
    """How many distinct workers poll ``queue`` for workflow tasks."""
    answer = await client.workflow_service.describe_task_queue(
        DescribeTaskQueueRequest(
            namespace=client.namespace,
            task_queue=TaskQueue(name=queue),
            task_queue_type=TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW,
        )
    )
    return len({p.identity for p in answer.pollers})


@asynccontextmanager
async def workers(
    client: Client, queue: str, smtp_port: int, count: int = 1, **extra: str
) -> AsyncIterator[Workers]:
    """``count`` worker processes, returned once every one of them polls the queue."""
    env = vigie_env(client, queue, smtp_port, **extra)
    group = Workers()
    profilers: list[Proc] = []
    try:
        for n in range(count):
            group.procs.append(spawn([str(BIN / "vigie"), "worker"], env, f"worker-{n}"))
        deadline = time.monotonic() + 60
        while await pollers(client, queue) < count:
            if any(p.popen and p.popen.poll() is not None for p in group.procs):
                raise SystemExit("a worker process exited at start")
            if time.monotonic() > deadline:
                raise SystemExit("the workers did not start polling within 60 s")
            await asyncio.sleep(0.2)
        # BENCH_PROFILE=/tmp/prof: py-spy samples each worker into /tmp/prof-worker-N.txt.
        if os.environ.get("BENCH_PROFILE"):
            for p in group.procs:
                out = f"{os.environ['BENCH_PROFILE']}-{p.name}.txt"
                args = [
                    "record",
                    "--pid",
                    str(p.pid),
                    "--format",
                    "raw",
                    "--nonblocking",
                    "--gil",
                    "-o",
                ]
                profilers.append(spawn([str(BIN / "py-spy"), *args, out], {**os.environ}, "py-spy"))
        yield group
    finally:
        for proc in group.procs:
            proc.stop()
        for profiler in profilers:
            assert profiler.popen is not None
            profiler.popen.wait(timeout=60)


def spawn(args: list[str], env: dict[str, str], name: str) -> Proc:
    popen = subprocess.Popen(args, env=env)
    return Proc(popen.pid, name, popen)


async def open_loop(
    rate: float, count: int, call: Callable[[int], Awaitable[object]]
) -> tuple[list[float], list[BaseException]]:
    """Sends ``count`` calls at a fixed ``rate``, each at its scheduled time whatever the others
    do (no coordinated omission). Latency runs from the scheduled time to the answer."""
    latencies: list[float] = []
    errors: list[BaseException] = []
    began = time.perf_counter() + 0.05

    async def one(n: int) -> None:
        scheduled = began + n / rate
        await asyncio.sleep(max(0.0, scheduled - time.perf_counter()))
        try:
            await call(n)
        except Exception as exc:
            errors.append(exc)
            return
        latencies.append(time.perf_counter() - scheduled)

    await asyncio.gather(*(one(n) for n in range(count)))
    return latencies, errors


def bench_incident(
    n: int, *, level: str = "bronze", priority: str = "P3", **more: object
) -> IncidentInput:
    """A complete incident (nothing missing), so the opening mails the requester."""
    return IncidentInput.model_validate(
        {
            "title": f"Bench {n}",
            "service_level": level,
            "priority": priority,
            "category": "bench",
            "description": "bench",
            "application": "bench",
            "requesters": ["bench@example.org"],
            "opened_by": "bench",
            **more,
        }
    )


def t0_for_deadline(allowance: timedelta, lead: float) -> datetime:
    """A T0 whose deadline of ``allowance`` (24x7) falls ``lead`` seconds from now."""
    return datetime.now(UTC) - allowance + timedelta(seconds=lead)


def mails_at_least(sink: MailSink, count: int) -> Callable[[], bool]:
    """A condition for ``wait_for``: the sink holds ``count`` mails or more."""
    return lambda: len(sink.messages) >= count


async def wait_for(
    done: Callable[[], bool], limit: float, every: float = 0.2, what: str = "the condition"
) -> float:
    """Waits until ``done()``; the seconds it took. Raises SystemExit after ``limit`` seconds."""
    began = time.perf_counter()
    while not done():
        if time.perf_counter() - began > limit:
            raise SystemExit(f"timed out after {limit:.0f} s waiting for {what}")
        await asyncio.sleep(every)
    return time.perf_counter() - began


def run_bench(main: Coroutine[object, object, None]) -> None:
    """``asyncio.run(main)``, then leaves without the interpreter's final clean-up: threads of
    the Temporal runtime can outlive it and abort the process at exit (PyGILState_Release)."""
    asyncio.run(main)
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)
