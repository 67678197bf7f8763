"""Service-review reports over a large ledger: N incidents over a year, then the year's report
and the monthly service review timed.

    python bench/ledger_report.py [--incidents 100000] [--database-url URL] [--keep]

The ledger is filled with facts built by the same pure code the workflows use
(``workflows.ledger_facts``): random classes, five customers, T0 spread over 2026, one in
ten incidents pending for a while, one in thirty reopened, one in forty cancelled, some
acknowledged or resolved late. Then it times, each three times (best kept):
the year's report (figures only, as ``--format json``), the year's report in HTML with
its charts, the monthly review of one month for every customer (the Schedule's work: one
report per customer, each rendered to HTML). The target is a year's report in under 5 s.
A script, not a test: figures depend on the machine and on what else runs on it.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from activities.ledger.store import Ledger  # noqa: E402
from starters.report.compute import Period, build_report  # noqa: E402
from starters.report.render import to_html, to_json  # noqa: E402
from workers.policy_file import load_policy, with_public_holidays  # noqa: E402
from workers.settings import DEFAULT_CONFIG_DIR  # noqa: E402
from workflows.ledger_facts import IncidentFacts, incident_facts  # noqa: E402
from workflows.models import IncidentState  # noqa: E402
from workflows.policy import PRIORITIES, SERVICE_LEVELS  # noqa: E402
from workflows.sla import Stop  # noqa: E402

CUSTOMERS = ("acme", "globex", "initech", "umbrella", "hooli")
YEAR_START = datetime(2026, 1, 1, tzinfo=UTC)
TARGET_SECONDS = 5.0


def one_incident(number: int, rnd: random.Random, policy: Any) -> IncidentFacts:
    t0 = YEAR_START + timedelta(seconds=rnd.randrange(365 * 24 * 3600))
    priority = rnd.choices(PRIORITIES, weights=(1, 4, 10))[0]
    level = rnd.choice(SERVICE_LEVELS)
    ack = t0 + timedelta(minutes=rnd.lognormvariate(2.5, 0.8))
    stops: list[Stop] = []
    cursor = ack + timedelta(minutes=rnd.lognormvariate(4, 1))
    if rnd.random() < 0.1:  # pending on the customer for a while
        end = cursor + timedelta(minutes=rnd.lognormvariate(5, 1))
        stops.append(Stop(start=cursor, end=end, reason="pending on customer"))
        cursor = end + timedelta(minutes=rnd.lognormvariate(3, 1))
    if rnd.random() < 1 / 30:  # resolved, then reopened
        reopened = cursor + timedelta(hours=rnd.uniform(1, 48))
        stops.append(Stop(start=cursor, end=reopened, reason="resolved"))
        cursor = reopened + timedelta(minutes=rnd.lognormvariate(4, 1))
    cancelled = rnd.random() < 1 / 40
    fields: dict[str, Any] = {"status": "cancelled", "closed_at": ack} if cancelled else {
        "status": "closed", "acknowledged_at": ack, "resolved_at": cursor,
        "closed_at": cursor + timedelta(days=3),
        "stops": [*stops, Stop(start=cursor, end=None, reason="resolved")],
    }  # fmt: skip
    state = IncidentState(
        incident_id=f"incident-bench-{number:06d}", policy=policy, title=f"Incident {number}",
        priority=priority, service_level=level, category=None, description=None,
        application=rnd.choice(("checkout", "billing", "search", None)), requesters=[],
        details={}, source=rnd.choice(("opsgenie", "api")), language="fr", missing_fields=[],
        opened_at=t0, **fields,
    )  # fmt: skip
    as_of = (state.closed_at or t0) + timedelta(minutes=1)
    return incident_facts(state, rnd.choice(CUSTOMERS), as_of)


def best_of(runs: int, action: Callable[[], Any]) -> tuple[float, Any]:
    best, result = float("inf"), None
    for _ in range(runs):
        started = time.perf_counter()
        result = action()
        best = min(best, time.perf_counter() - started)
    return best, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--incidents", type=int, default=100_000)
    parser.add_argument("--database-url", help="default: an SQLite file in a temporary folder")
    parser.add_argument("--keep", action="store_true", help="keep the SQLite file")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="vigie-bench-"))
    url = args.database_url or f"sqlite:///{folder / 'ledger.db'}"
    ledger = Ledger(url)
    ledger.migrate()
    policy = with_public_holidays(load_policy(DEFAULT_CONFIG_DIR), 2026)
    rnd = random.Random(20261201)

    started = time.perf_counter()
    facts = [one_incident(n, rnd, policy) for n in range(args.incidents)]
    built = time.perf_counter() - started
    started = time.perf_counter()
    for first in range(0, len(facts), 5000):
        ledger.record_incidents(facts[first : first + 5000])
    filled = time.perf_counter() - started
    print(f"ledger      {url.split('@')[-1]}  ({args.incidents} incidents over 2026)")
    print(f"facts       {built:7.2f} s  ({1e6 * built / args.incidents:.0f} µs per incident)")
    print(f"fill        {filled:7.2f} s  ({args.incidents / filled:,.0f} upserts/s)")
    print(f"cores       {os.cpu_count()}  load average {os.getloadavg()[0]:.2f} before timing")

    year = Period(since=date(2026, 1, 1), until=date(2026, 12, 31), timezone="Europe/Paris")
    now = datetime.now(UTC)
    seconds, _ = best_of(3, lambda: to_json(build_report(ledger, year, None, now)))
    print(f"year json   {seconds:7.2f} s  ({seconds / TARGET_SECONDS:.0%} of the 5 s target)")
    figures = build_report(ledger, year, None, now)
    html_seconds, html = best_of(3, lambda: to_html(build_report(ledger, year, None, now), "fr"))
    print(f"year html   {html_seconds:7.2f} s  ({html_seconds / TARGET_SECONDS:.0%} of the 5 s "
          f"target; {len(html) / 1024:.0f} KiB, {len(figures.breaches)} breaches, "
          f"{figures.incidents} incidents)")  # fmt: skip
    month = Period(since=date(2026, 11, 1), until=date(2026, 11, 30), timezone="Europe/Paris")

    def review() -> int:
        start, end = month.bounds
        total = 0
        for customer in ledger.customers(start, end):
            total += len(to_html(build_report(ledger, month, customer, now), "fr"))
        return total

    review_seconds, size = best_of(3, review)
    print(f"month review {review_seconds:6.2f} s  (November, {len(CUSTOMERS)} customers, "
          f"one HTML report each, {size / 1024:.0f} KiB in all)")  # fmt: skip
    print(f"load average {os.getloadavg()[0]:.2f} after timing")
    ledger.close()
    if not args.keep and args.database_url is None:
        for path in folder.iterdir():
            path.unlink()
        folder.rmdir()
    elif args.database_url is None:
        print(f"kept {folder / 'ledger.db'}")


if __name__ == "__main__":
    main()
