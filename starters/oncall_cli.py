"""``vigie oncall check``."""

from __future__ import annotations

import asyncio
import json
import sys
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated, Any
from zoneinfo import ZoneInfo

import typer
from rich.table import Table

from starters.cli_support import AsJson, err, fail, out, settings
from workers.policy_file import load_policy
from workers.settings import Settings
from workflows.oncall_gaps import Cycle, ScheduleReport, next_cycle, schedule_report
from workflows.oncall_policy import Customer, WatchedSchedule
from workflows.policy import ConfigError, Policy

if TYPE_CHECKING:
    from activities.providers.opsgenie.schedules import ScheduleApi

oncall_app = typer.Typer(
    rich_markup_mode="markdown", help="On-call readiness (procedure §4.2).", no_args_is_help=True
)


async def _read(api: ScheduleApi, schedule: WatchedSchedule, cycle: Cycle) -> ScheduleReport:
    from activities.providers.opsgenie.client import OpsgenieError, OpsgenieUnavailable

    try:
        timeline = await api.timeline(schedule, cycle.start, cycle.end)
    except (OpsgenieError, OpsgenieUnavailable) as exc:
        return ScheduleReport(schedule=schedule.name, error=str(exc))
    return schedule_report(timeline, cycle)


async def check_customers(
    api: ScheduleApi, customers: list[Customer], cycle: Cycle
) -> list[tuple[str, list[ScheduleReport]]]:
    """Every watched schedule of these customers, read at once."""
    try:
        found = []
        for customer in customers:
            reports = await asyncio.gather(*(_read(api, s, cycle) for s in customer.schedules))
            found.append((customer.name, list(reports)))
        return found
    finally:
        await api.api.aclose()


def _rows(
    results: list[tuple[str, list[ScheduleReport]]], cycle: Cycle
) -> list[tuple[str, datetime, datetime, str]]:
    """(schedule, from, to, note): each gap, and each empty rotation over the whole cycle. A
    gap over the whole cycle that empty rotations explain is one row, with them as its note."""
    rows = []
    for _customer, reports in results:
        for report in reports:
            empty = [f"rotation {name!r} empty" for name in report.empty_rotations]
            whole = False
            for g in report.gaps:
                explained = (g.start, g.end) == (cycle.start, cycle.end)
                whole = whole or explained
                rows.append(
                    (report.schedule, g.start, g.end, "; ".join(empty) if explained else "")
                )
            if not whole:
                rows += [(report.schedule, cycle.start, cycle.end, note) for note in empty]
    return rows


def _as_json(
    results: list[tuple[str, list[ScheduleReport]]], cycle: Cycle, zone: ZoneInfo
) -> dict[str, Any]:
    def at(value: datetime) -> str:
        return value.astimezone(zone).isoformat()

    return {
        "cycle": {"start": at(cycle.start), "end": at(cycle.end), "due": at(cycle.due)},
        "covered": all(r.covered for _, reports in results for r in reports),
        "customers": [
            {
                "customer": name,
                "schedules": [
                    {
                        "schedule": r.schedule,
                        "covered": r.covered,
                        "gaps": [{"from": at(g.start), "to": at(g.end)} for g in r.gaps],
                        "empty_rotations": r.empty_rotations,
                        "error": r.error,
                    }
                    for r in reports
                ],
            }
            for name, reports in results
        ],
    }


def policy_of(cfg: Settings) -> Policy:
    try:
        return load_policy(cfg.config_dir)
    except ConfigError as exc:
        fail(str(exc), 2)


@oncall_app.command("check")
def check(
    customer: Annotated[
        str | None, typer.Option("--customer", help="Only this customer of the policy")
    ] = None,
    as_json: AsJson = False,
) -> None:
    """Print every gap of the next on-call cycle (schedule, from, to, in the business time
    zone, to the minute). Exit status 0 when every minute of it is covered, 1 otherwise (a
    gap, an empty rotation or a schedule that could not be read)."""
    # Imported here: the other commands start without the Opsgenie client and the worker.
    from activities.oncall import NO_API
    from workers.oncall_wiring import schedule_api
    from workers.worker import opsgenie_api

    cfg = settings()
    policy = policy_of(cfg)
    customers = [c for c in policy.customers if c.schedules]
    if customer is not None:
        customers = [c for c in customers if c.name == customer]
        if not customers:
            fail(f"no customer {customer!r} with on-call schedules in the policy", 2)
    if not customers:
        fail("no customer in the policy has on-call schedules to watch ([[customers]])", 2)
    try:
        api = schedule_api(cfg, opsgenie_api(cfg))
    except ConfigError as exc:
        fail(str(exc), 2)
    if api is None:
        fail(NO_API, 2)
    zone = ZoneInfo(policy.business_hours.timezone)
    cycle = next_cycle(datetime.now(UTC), policy.readiness, policy.business_hours.timezone)
    results = asyncio.run(check_customers(api, customers, cycle))
    covered = all(r.covered for _, reports in results for r in reports)
    if as_json:
        print(json.dumps(_as_json(results, cycle, zone), ensure_ascii=False, indent=2))
        raise typer.Exit(0 if covered else 1)

    def minute(value: datetime) -> str:
        return value.astimezone(zone).strftime("%Y-%m-%d %H:%M %Z")

    rows = _rows(results, cycle)
    if sys.stdout.isatty() and rows:
        table = Table("schedule", "from", "to", "", box=None, pad_edge=False)
        for schedule, start, end, note in rows:
            table.add_row(schedule, minute(start), minute(end), note)
        out.print(table)
    else:
        for schedule, start, end, note in rows:
            print("\t".join(filter(None, (schedule, minute(start), minute(end), note))))
    for _, reports in results:
        for r in reports:
            if r.error is not None:
                err.print(f"error: schedule {r.schedule!r} could not be read: {r.error}")
    verdict = "covered" if covered else "NOT covered"
    err.print(
        f"cycle {minute(cycle.start)} → {minute(cycle.end)} (complete by {minute(cycle.due)}): "
        f"{verdict}",
        highlight=False,
    )
    raise typer.Exit(0 if covered else 1)


def register(app: Any) -> None:
    app.add_typer(oncall_app, name="oncall")
