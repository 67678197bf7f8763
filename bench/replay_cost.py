"""CPU of replaying an incident's history in the worker's own workflow runner, with the
deadline memo and without it.

A replay is what a worker pays to read the status of an incident it no longer holds in its
cache, and what it pays for every task of an incident it held. The script replays the
incident histories stored with the tests (``tests/histories``), in rounds alternating the
code as it is with the same code computing the deadlines afresh at every ask, and prints the
process CPU per replay of each and their ratio, with the deadline asks and computations per
replay.

    .venv/bin/python bench/replay_cost.py [--rounds 6]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from temporalio.client import WorkflowHistory  # noqa: E402
from temporalio.contrib.pydantic import pydantic_data_converter  # noqa: E402
from temporalio.worker import Replayer  # noqa: E402

from workers.settings import Settings  # noqa: E402
from workers.worker import WORKFLOWS, workflow_runner  # noqa: E402
from workflows import sla  # noqa: E402

HISTORIES = ROOT / "tests" / "histories"


def incident_histories() -> list[WorkflowHistory]:
    found = []
    for path in sorted(HISTORIES.glob("incident*.json")):
        text = path.read_text(encoding="utf-8")
        started = json.loads(text)["events"][0]["workflowExecutionStartedEventAttributes"]
        found.append(WorkflowHistory.from_json(started.get("workflowId", path.stem), text))
    return found


class Counts:
    """Deadline asks (calls of the memo) and computations (calls of ``compute_deadlines``)."""

    def __init__(self) -> None:
        self.asks = 0
        self.computations = 0
        self.compute: Callable[..., sla.Deadlines] = sla.compute_deadlines
        self.memo_call = sla.DeadlineMemo.__call__

    def install(self, memo: bool) -> None:
        counts = self

        def compute(*args: Any) -> sla.Deadlines:
            counts.computations += 1
            return counts.compute(*args)

        def ask(self: sla.DeadlineMemo, *args: Any) -> sla.Deadlines:
            counts.asks += 1
            return counts.memo_call(self, *args) if memo else compute(*args)

        sla.compute_deadlines = compute  # type: ignore[assignment]
        sla.DeadlineMemo.__call__ = ask  # type: ignore[method-assign]


async def replay_all(replayer: Replayer, histories: list[WorkflowHistory]) -> None:
    async def each() -> AsyncIterator[WorkflowHistory]:
        for history in histories:
            yield history

    async with replayer.workflow_replay_iterator(each()) as results:
        async for result in results:
            if result.replay_failure is not None:
                raise SystemExit(f"{result.history.workflow_id}: {result.replay_failure}")


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=6, help="rounds of each variant")
    args = parser.parse_args()
    settings = Settings()
    if settings.workflow_sandbox != "off":
        raise SystemExit("run with the default VIGIE_WORKFLOW_SANDBOX=off: the counts patch it")
    histories = incident_histories()
    events = sum(len(h.events) for h in histories)
    replayer = Replayer(
        workflows=WORKFLOWS,
        data_converter=pydantic_data_converter,
        workflow_runner=workflow_runner(settings),
    )
    counts = Counts()
    cpu: dict[bool, list[float]] = {True: [], False: []}
    seen: dict[bool, tuple[int, int]] = {}
    await replay_all(replayer, histories)  # warm: imports, caches
    for _ in range(args.rounds):
        for memo in (True, False):
            counts.install(memo)
            counts.asks = counts.computations = 0
            start = time.process_time()
            await replay_all(replayer, histories)
            cpu[memo].append(time.process_time() - start)
            seen[memo] = (counts.asks, counts.computations)
    n = len(histories)
    print(f"{n} incident histories, {events} events, {args.rounds} rounds of each variant")
    for memo, label in ((True, "memo (as shipped)"), (False, "computed at every ask")):
        best = min(cpu[memo]) / n * 1000
        median = sorted(cpu[memo])[len(cpu[memo]) // 2] / n * 1000
        asks, computations = seen[memo]
        print(
            f"{label:24} CPU per replay: best {best:.2f} ms, median {median:.2f} ms; "
            f"deadline asks {asks / n:.1f}, computations {computations / n:.1f} per replay"
        )
    ratio = sorted(cpu[True])[len(cpu[True]) // 2] / sorted(cpu[False])[len(cpu[False]) // 2]
    print(f"median CPU ratio memo / computed: {ratio:.2f}")
    print(json.dumps({"histories": n, "events": events}))


if __name__ == "__main__":
    asyncio.run(main())
