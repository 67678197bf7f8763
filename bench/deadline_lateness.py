"""Deadline lateness under load: N gold P1 incidents whose acknowledgement deadline falls while
the worker(s) may still be draining the opening backlog, on a local dev server.

    python bench/deadline_lateness.py [--incidents 2000] [--rate 80] [--lead 30] [--workers 1]
                                      [--calm 0] [--storm-priority P1] [--no-keys]
                                      [--recategorized]

Each incident is opened (open loop, ``--rate`` per second) with a T0 set so that its
acknowledgement deadline (15 min for gold, 24x7) falls ``--lead`` seconds after its opening.
The workers run as ``vigie worker`` processes; the mail sink runs in this process. Once every
breach is mailed, the script reads each incident's ``status`` and prints the lateness of the
recorded breach against its deadline (min, p50, p99, max), against the goal (p99 <= 1 s,
max <= 2 s), with the opening and draining figures and the CPU spent.

``--storm-priority P3`` makes the storm's incidents P3, opened with T0 now so that none of
their deadlines falls during the run (a gold P3's acknowledgement deadline is 15 business
minutes away, hours outside business hours): only the calm customer's P1 incidents are
measured. ``--no-keys`` starts every incident at key 3 given outright and without fairness
key: an incident then keeps key 3 whatever its class (a key left unset would be moved to 2 by
a P1 itself); the activities keep the keys they set.

``--recategorized`` (with ``--calm``) opens the calm customer's incidents as P3 and sends each,
as soon as it is started, an Update that recategorizes it to P1 (applied with its first
task): the incident then moves itself to key 2 (an activity), where ``--no-keys`` leaves it
at key 3. Their deadline is the P1's, ``--lead`` seconds after the opening.

``--calm N`` makes it a storm at one customer: the ``--incidents`` are customer "storm"'s,
and N more incidents of customer "calm" are opened among them, evenly spread, with the same
lead; the lateness is then printed for each customer. Incidents are started as the webhook
and the CLI start them, with their customer as fairness key (workflows.urgency): with
``BENCH_DEV_SERVER_ARGS="--dynamic-config-value matching.enableFairness=true"`` the server
takes turns between the two customers, without it it serves its backlog in order.
"""

from __future__ import annotations

import argparse
import asyncio
import time
import uuid
from datetime import UTC, datetime, timedelta

from harness import (
    Cpu,
    bench_incident,
    dev_server,
    free_port,
    machine_note,
    open_loop,
    percentile,
    run_bench,
    spread,
    wait_for,
    workers,
)
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client, WorkflowQueryFailedError
from temporalio.common import Priority
from temporalio.service import RPCError

from starters.dev.smtp_sink import MailSink
from workflows import urgency
from workflows.incident import IncidentWorkflow
from workflows.models import IncidentView, RecategorizeInput

ACK_GOLD = timedelta(minutes=15)
BREACH_SUBJECT = "Délai de prise en compte dépassé"
# ``--no-keys``: the default key, given outright so that no incident changes it.
NO_KEYS = Priority(priority_key=3)


async def lateness(client: Client, ids: list[str]) -> dict[str, tuple[float, float]]:
    """For each incident, seconds from its acknowledgement deadline to its recorded breach,
    and from its deadline to its opening (positive: opened after its deadline)."""
    late: dict[str, tuple[float, float]] = {}
    gate = asyncio.Semaphore(20)

    async def one(workflow_id: str) -> None:
        async with gate:
            try:
                view: IncidentView = await client.get_workflow_handle(workflow_id).query(
                    IncidentWorkflow.status
                )
            except (WorkflowQueryFailedError, RPCError):
                return  # asked again in the next round
        breach = next((e for e in view.timeline if e.kind == "ack_breach"), None)
        opened = next((e for e in view.timeline if e.kind == "opened"), None)
        if breach is not None and opened is not None:
            due = datetime.fromisoformat(breach.fields["due_at"])
            late[workflow_id] = (
                (breach.at - due).total_seconds(),
                (opened.at - due).total_seconds(),
            )

    # A query waits behind the backlog like any task: ask again until the backlog is gone.
    until = time.monotonic() + 300
    while time.monotonic() < until:
        await asyncio.gather(*(one(i) for i in ids if i not in late))
        if len(late) == len(ids):
            break
        await asyncio.sleep(2)
    return late


async def where(client: Client, ids: list[str], due: dict[str, float]) -> None:
    """Where the lateness of these incidents went: from the deadline to the timer firing (the
    server's timer queue), then to the workflow task that recorded the breach being started (it
    waited in the task queue, or for the worker)."""
    fired, started, early = [], [], 0
    for workflow_id in ids:
        events = (await client.get_workflow_handle(workflow_id).fetch_history()).events
        fire = next(
            (e for e in events
             if e.event_type == EventType.EVENT_TYPE_TIMER_FIRED
             and e.event_time.ToDatetime(UTC).timestamp() >= due[workflow_id] - 0.5),
            None,
        )  # fmt: skip
        if fire is None:  # the early wake's task started after the deadline and recorded it
            early += 1
            continue
        task = next(
            (e for e in events
             if e.event_id > fire.event_id
             and e.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_STARTED),
            None,
        )  # fmt: skip
        at = fire.event_time.ToDatetime(UTC).timestamp()
        fired.append(at - due[workflow_id])
        if task is not None:
            started.append(task.event_time.ToDatetime(UTC).timestamp() - at)
    if fired:
        print(f"  deadline -> timer fired: {spread(fired, 's', 1.0)}")
    if started:
        print(f"  timer fired -> its workflow task started: {spread(started, 's', 1.0)}")
    if early:
        print(
            f"  {early} of {len(ids)} read: no timer fired at the deadline (the task of the wake "
            "30 s before it started after it, and recorded the breach)"
        )


def report(found: dict[str, tuple[float, float]], due: dict[str, float],
           mailed: dict[str, float], count: int) -> None:  # fmt: skip
    """Prints the lateness of these incidents' breaches (and of their openings)."""
    values = [breach for breach, _ in found.values()]
    print(f"breaches recorded: {len(values)}/{count}")
    after = [opened for _, opened in found.values() if opened > 0]
    if after:
        print(
            f"opened after their deadline (the opening waited in the backlog): {len(after)}, "
            f"by {spread(after, 's', 1.0)}"
        )
    in_time = [breach for breach, opened in found.values() if opened <= 0]
    if in_time:
        print(
            f"lateness of the {len(in_time)} opened before their deadline: "
            f"{spread(in_time, 's', 1.0)}"
        )
    mail_late = [mailed[i] - due[i] for i in mailed if i in due and i in found]
    if mail_late:
        print(
            f"breach mail received by the sink, after the deadline: {spread(mail_late, 's', 1.0)}"
        )
    if values:
        p99, worst = percentile(values, 0.99), max(values)
        print(f"lateness: {spread(values, 's', 1.0)}")
        verdict = "met" if p99 <= 1.0 and worst <= 2.0 else "NOT met"
        print(f"goal p99 <= 1 s and max <= 2 s: {verdict} (p99 {p99:.2f} s, max {worst:.2f} s)")


async def main(
    count: int,
    rate: float,
    lead: float,
    nworkers: int,
    calm: int,
    storm: str,
    keys: bool,
    recategorized: bool = False,
) -> None:
    storm = storm if calm else "P1"
    print(f"{count} gold {storm} incidents at {rate:.0f}/s, {nworkers} worker(s); {machine_note()}")
    total = count + calm
    # Which openings are the calm customer's: evenly spread among the storm's.
    calm_at = {round((k + 0.5) * total / calm) for k in range(calm)} if calm else set()
    customer_of = {n: ("calm" if n in calm_at else "storm") if calm else None for n in range(total)}
    priority_of = {n: "P1" if customer_of[n] != "storm" else storm for n in range(total)}
    measured = [n for n in range(total) if priority_of[n] == "P1"]
    recategorize = {n for n in measured if customer_of[n] == "calm"} if recategorized else set()
    print(f"the P1 incidents' acknowledgement deadline falls {lead:.0f} s after their opening")
    if calm:
        print(
            f"a storm of {storm} incidents at customer 'storm', and {calm} P1 incidents of "
            f"customer 'calm' among it; start keys {'on' if keys else 'off'}"
        )
    if storm != "P1":
        print(f"the {storm} incidents open with T0 now: none of their deadlines falls in the run")
    if recategorize:
        print("the calm customer's incidents open as P3 and are recategorized to P1 at once")
    run = uuid.uuid4().hex[:8]
    queue = f"bench-{run}"
    due: dict[str, float] = {}  # workflow id -> deadline (epoch seconds)
    mailed: dict[str, float] = {}  # workflow id -> when its breach mail reached the sink

    def on_mail(message: object, _to: list[str]) -> None:
        if BREACH_SUBJECT in str(message["Subject"]):  # type: ignore[index]
            mailed.setdefault(str(message["X-Vigie-Incident"]), time.time())  # type: ignore[index]

    async with dev_server() as env:
        with MailSink(port=free_port(), on_mail=on_mail) as sink:
            async with workers(env.client, queue, sink.port, nworkers) as group:
                cpu = Cpu(group)
                ids = [f"incident-bench-{run}-{n}" for n in range(total)]
                updates: list[asyncio.Task[IncidentView]] = []

                async def start(n: int) -> None:
                    t0 = datetime.now().astimezone()
                    if priority_of[n] == "P1":  # 24x7: its deadline falls ``lead`` s from now
                        t0 += timedelta(seconds=lead) - ACK_GOLD
                        due[ids[n]] = (t0 + ACK_GOLD).timestamp()
                    opened_as = "P3" if n in recategorize else priority_of[n]
                    incident = bench_incident(
                        n, level="gold", priority=opened_as, t0=t0, customer=customer_of[n]
                    )
                    handle = await env.client.start_workflow(
                        IncidentWorkflow.run,
                        incident,
                        id=ids[n],
                        task_queue=queue,
                        priority=urgency.of_incident(incident.customer, incident.arrives_as_p1())
                        if keys
                        else NO_KEYS,
                    )
                    if n in recategorize:  # not awaited: it waits for the incident's first task
                        updates.append(
                            asyncio.create_task(
                                handle.execute_update(
                                    IncidentWorkflow.recategorize,
                                    RecategorizeInput(by="bench", priority="P1", reason="bench"),
                                )
                            )
                        )

                began = time.perf_counter()
                latencies, errors = await open_loop(rate, total, start)
                opened = time.perf_counter() - began
                per_second = len(latencies) / opened
                print(
                    f"opened {len(latencies)} in {opened:.1f} s ({per_second:.1f}/s), "
                    f"{len(errors)} errors; start latency {spread(latencies)}"
                )
                refused = [r for r in await asyncio.gather(*updates, return_exceptions=True)
                           if isinstance(r, BaseException)]  # fmt: skip
                if updates:
                    print(f"recategorized {len(updates) - len(refused)} of {len(updates)}")
                wanted = [ids[n] for n in measured]
                await wait_for(
                    lambda: all(i in mailed for i in wanted), 900, what="every breach mail"
                )
                drained = time.perf_counter() - began
                worker_cpu, server_cpu, _own = cpu.spent()
                print(
                    f"every breach mailed {drained:.1f} s after the first opening; CPU: workers "
                    f"{worker_cpu:.0f} s, dev server {server_cpu:.0f} s; worker RSS "
                    + ", ".join(f"{r:.0f} MiB" for r in group.rss_mib())
                )
                found = await lateness(env.client, [ids[n] for n in measured])
                if not calm:
                    report(found, due, mailed, count)
                    await where(env.client, ids[:: max(1, total // 100)], due)
                    return
                for customer in ("storm", "calm"):
                    mine = [ids[n] for n in measured if customer_of[n] == customer]
                    if not mine:
                        continue
                    print(f"--- customer {customer!r}")
                    report({i: found[i] for i in mine if i in found}, due, mailed, len(mine))
                    await where(env.client, mine[:: max(1, len(mine) // 100)], due)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--incidents", type=int, default=2000)
    parser.add_argument("--rate", type=float, default=80.0, help="openings per second")
    parser.add_argument("--lead", type=float, default=30.0, help="seconds from opening to deadline")
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--calm", type=int, default=0, help="incidents of another customer")
    parser.add_argument("--storm-priority", choices=["P1", "P2", "P3"], default="P1")
    parser.add_argument("--no-keys", action="store_true", help="start without priority keys")
    parser.add_argument(
        "--recategorized", action="store_true", help="calm incidents opened P3, made P1 at once"
    )
    args = parser.parse_args()
    run_bench(
        main(args.incidents, args.rate, args.lead, args.workers, args.calm,
             args.storm_priority, not args.no_keys, args.recategorized)
    )  # fmt: skip
