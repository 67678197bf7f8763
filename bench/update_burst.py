"""An Update burst on one incident: ``--updates`` add_worklog Updates as fast as the client
sends them (``--in-flight`` at a time), on a local dev server with one ``vigie worker``.

    python bench/update_burst.py [--updates 5000] [--in-flight 50]

Each accepted worklog mails the requesters, with a Message-ID made of the incident id and a
sequence number. The script checks, and prints, that the incident is still running, that it
continued as new, that the mail sink got every mail exactly once (Message-IDs 0..N-1, none
missing, none twice, N = 1 opening + the accepted worklogs) and nothing is left to send, and
the largest history (events and bytes) any of its runs reached.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import threading
import time
import uuid

from harness import (
    bench_incident,
    dev_server,
    free_port,
    machine_note,
    run_bench,
    spread,
    wait_for,
    workers,
)
from temporalio.client import WorkflowExecutionStatus

from starters.dev.smtp_sink import MailSink
from starters.updates import send_update
from workflows.incident import IncidentWorkflow
from workflows.models import IncidentView, WorklogInput


async def main(updates: int, in_flight: int) -> None:
    print(f"{updates} add_worklog Updates, {in_flight} in flight; {machine_note()}")
    run = uuid.uuid4().hex[:8]
    queue = f"bench-{run}"
    incident = f"incident-burst-{run}"
    seen: collections.Counter[int] = collections.Counter()
    lock = threading.Lock()

    def on_mail(message: object, _to: list[str]) -> None:
        key = str(message["Message-ID"]).strip("<>").split("@", 1)[0]  # type: ignore[index]
        owner, _, seq = key.rpartition(".")
        if owner == incident:
            with lock:
                seen[int(seq)] += 1

    async with dev_server() as env:
        client = env.client
        with MailSink(port=free_port(), on_mail=on_mail) as sink:
            async with workers(client, queue, sink.port) as group:
                handle = await client.start_workflow(
                    IncidentWorkflow.run, bench_incident(0), id=incident, task_queue=queue
                )
                first_run = handle.result_run_id
                gate = asyncio.Semaphore(in_flight)
                latencies: list[float] = []
                errors: collections.Counter[str] = collections.Counter()

                async def update(n: int) -> None:
                    """As the CLI sends it: under one Update id, sent again after a transient
                    answer (the server's limit of Updates in flight, an Update aborted around
                    continue-as-new), so that it is applied once."""
                    async with gate:
                        began = time.perf_counter()

                        async def counted(seconds: float) -> None:
                            errors["transient answer (sent again, same id)"] += 1
                            await asyncio.sleep(min(seconds, 0.2))

                        try:
                            await send_update(
                                handle, "add_worklog", WorklogInput(by="bench", text=f"step {n}"),
                                IncidentView, sleep=counted,
                            )  # fmt: skip
                        except Exception as exc:
                            errors[f"{type(exc).__name__}: {exc}"[:100]] += 1
                            return
                        latencies.append(time.perf_counter() - began)

                began = time.perf_counter()
                await asyncio.gather(*(update(n) for n in range(updates)))
                took = time.perf_counter() - began
                print(
                    f"{len(latencies)} accepted in {took:.1f} s ({len(latencies) / took:.0f}/s);"
                    f" latency {spread(latencies)}"
                )
                for error, times in errors.most_common():
                    print(f"  {times}x: {error}")
                # An Update that finally failed may still have been applied once.
                unsure = sum(t for e, t in errors.items() if "sent again" not in e)
                expected = 1 + len(latencies)
                await wait_for(lambda: sum(seen.values()) >= expected, 900, what="every mail")
                await asyncio.sleep(3)  # a doubled mail would arrive now
                view = await client.get_workflow_handle(incident).query(IncidentWorkflow.status)
                described = await client.get_workflow_handle(incident).describe()
                worklogs = collections.Counter(e.text for e in view.timeline if e.kind == "worklog")
                twice = sorted(text for text, times in worklogs.items() if times > 1)
                others = collections.Counter(
                    e.kind for e in view.timeline if e.kind not in ("worklog", "continued")
                )
                print(
                    f"timeline: {sum(worklogs.values())} worklogs ({len(worklogs)} distinct,"
                    f" applied twice: {twice[:10]}), {view.timeline_omitted} entries omitted;"
                    f" other entries {dict(others)}"
                )
                runs = []
                async for found in client.list_workflows(f"WorkflowId = '{incident}'"):
                    run_handle = client.get_workflow_handle(incident, run_id=found.run_id)
                    info = (await run_handle.describe()).raw_description.workflow_execution_info
                    runs.append((info.history_length, info.history_size_bytes))
                print(f"worker RSS {group.rss_mib()[0]:.0f} MiB")
    missing = sorted(set(range(expected)) - set(seen))
    doubled = sorted(seq for seq, times in seen.items() if times > 1)
    extra = sorted(seq for seq in seen if seq >= expected + unsure)
    beyond = set(seen) - set(range(expected))
    if beyond and max(beyond) >= expected + len(beyond):
        extra.append(-1)  # a gap: some mail between the accepted ones is missing
    alive = described.status == WorkflowExecutionStatus.RUNNING
    print(
        f"incident {described.status.name if described.status else '?'}, "
        f"{len(runs)} run(s), continued as new: {described.run_id != first_run}"
    )
    events, size = max(runs)
    print(f"largest run: {events} events, {size / 1e6:.1f} MB")
    print(
        f"mails: {sum(seen.values())} received for {expected} expected (+ up to {unsure} for "
        f"Updates that failed); missing {missing[:10]}"
        f"{'...' if len(missing) > 10 else ''}, doubled {doubled[:10]}, unexpected {extra[:10]};"
        f" mails pending {view.mails_pending}"
    )
    ok = alive and described.run_id != first_run and not missing and not doubled and not extra
    print(f"goal alive, continued as new, no lost or doubled mail: {'met' if ok else 'NOT met'}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--updates", type=int, default=5000)
    parser.add_argument("--in-flight", type=int, default=50)
    args = parser.parse_args()
    run_bench(main(args.updates, args.in_flight))
