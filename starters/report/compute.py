"""Service-review figures from the ledger: MTTA, MTTR, deadline compliance, breaches, crises.

Incidents count in a period by their T0; the period is whole days in the business time zone,
``until`` included. Means, medians and 90th percentiles (linear interpolation between
ranks) are in minutes; the ``..._business_minutes`` figures take only the incidents whose
class counts on the business clock. Compliance is the share of the incidents whose
deadline is decided (kept or missed) that kept it; cancelled incidents are left out.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import date, datetime, time, timedelta
from operator import itemgetter
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from pydantic import BaseModel, Field

from workflows.policy import PRIORITIES, SERVICE_LEVELS

if TYPE_CHECKING:
    from activities.ledger.store import Ledger

INCIDENT_COLUMNS = (
    "incident_id", "customer", "title", "application", "source", "priority", "service_level",
    "clock", "status", "major", "crisis_id", "opened_at", "acknowledged_at", "resolved_at",
    "closed_at", "ack_due_at", "resolution_due_at", "ack_kept", "resolution_kept", "reopened",
    "pending_minutes", "resolution_clock_minutes", "resolution_allowance_minutes",
    "mtta_minutes", "mttr_minutes", "mtta_business_minutes", "mttr_business_minutes",
    # added later, at the end, so that a sheet reading the columns by position still reads
    "ticket_opened_at", "ack_breached", "resolution_breached", "policy_version",
)  # fmt: skip
# What the figures need: one instant only (reading instants is what costs on 100,000 rows).
FIGURE_COLUMNS = (
    "status", "priority", "service_level", "opened_at", "ack_kept", "resolution_kept",
    "reopened", "pending_minutes", "mtta_minutes", "mttr_minutes", "mtta_business_minutes",
    "mttr_business_minutes",
)  # fmt: skip
BREACH_COLUMNS = (
    "incident_id", "customer", "title", "priority", "service_level", "status", "ack_kept",
    "resolution_kept", "ack_due_at", "resolution_due_at", "acknowledged_at", "resolved_at",
)  # fmt: skip
FIGURES = ("mtta_minutes", "mttr_minutes", "mtta_business_minutes", "mttr_business_minutes")


class Period(BaseModel):
    since: date
    until: date = Field(description="Included")
    timezone: str

    @property
    def bounds(self) -> tuple[datetime, datetime]:
        zone = ZoneInfo(self.timezone)
        start = datetime.combine(self.since, time(0), tzinfo=zone)
        end = datetime.combine(self.until + timedelta(days=1), time(0), tzinfo=zone)
        return start, end


class Figures(BaseModel):
    """The figures of a set of incidents (the whole period, or one class)."""

    incidents: int
    mtta_minutes: float | None = Field(description="Mean of acknowledged − T0")
    mtta_median_minutes: float | None
    mtta_p90_minutes: float | None
    mttr_minutes: float | None = Field(description="Mean of resolved − T0")
    mttr_median_minutes: float | None
    mttr_p90_minutes: float | None
    mtta_business_minutes: float | None
    mtta_business_median_minutes: float | None
    mtta_business_p90_minutes: float | None
    mttr_business_minutes: float | None
    mttr_business_median_minutes: float | None
    mttr_business_p90_minutes: float | None
    ack_compliance: float | None = Field(description="Share of decided acknowledgements kept")
    resolution_compliance: float | None = Field(description="Share of decided resolutions kept")
    ack_decided: int
    resolution_decided: int
    reopened: int = Field(description="Incidents reopened at least once")
    pending_minutes: float = Field(description="Wall-clock minutes spent pending, in all")


class ClassFigures(Figures):
    priority: str
    service_level: str


class Breach(BaseModel):
    incident_id: str
    customer: str
    title: str
    priority: str
    service_level: str
    deadline: str = Field(description="acknowledgement or resolution")
    due_at: datetime
    done_at: datetime | None = Field(description="When it was acknowledged or resolved")
    late_minutes: float | None = Field(description="How late; None while not done")


class Week(BaseModel):
    week: date = Field(description="The Monday the week starts (business time zone)")
    incidents: int
    mtta_minutes: float | None
    mttr_minutes: float | None
    ack_breaches: int = Field(description="Acknowledgement deadlines missed that week")
    resolution_breaches: int = Field(description="Resolution deadlines missed that week")


class CrisisMilestone(BaseModel):
    step: str
    due_at: datetime
    done_at: datetime | None
    status: str


class CrisisLine(BaseModel):
    crisis_id: str
    incident_id: str | None
    customer: str
    title: str
    criterion: str
    status: str
    t0: datetime
    closed_at: datetime | None
    level: int
    chronogram_compliance: float | None
    milestones: list[CrisisMilestone]
    rex_due_at: datetime | None
    rex_submitted_at: datetime | None
    rex_on_time: bool | None


class Report(Figures):
    since: date
    until: date
    timezone: str
    customer: str | None
    generated_at: datetime
    cancelled: int
    by_class: list[ClassFigures]
    breaches: list[Breach]
    weekly: list[Week]
    crises: list[CrisisLine]
    chronogram_compliance: float | None = Field(
        description="Share of the period's decided crisis milestones met on time"
    )
    rex_on_time: float | None = Field(description="Share of the decided REX submitted on time")


def quantile(values: Sequence[float], q: float) -> float | None:
    """The ``q`` quantile with linear interpolation between ranks (values sorted)."""
    if not values:
        return None
    position = q * (len(values) - 1)
    low = math.floor(position)
    high = min(low + 1, len(values) - 1)
    return values[low] + (values[high] - values[low]) * (position - low)


def _r(value: float | None, digits: int = 2) -> float | None:
    return None if value is None else round(value, digits)


def _share(flags: Iterable[bool | None]) -> tuple[float | None, int]:
    decided = [bool(f) for f in flags if f is not None]
    return (_r(sum(decided) / len(decided), 4) if decided else None), len(decided)


_AT = {name: itemgetter(i) for i, name in enumerate(FIGURE_COLUMNS)}
_AT_PRIORITY, _AT_LEVEL = FIGURE_COLUMNS.index("priority"), FIGURE_COLUMNS.index("service_level")


def figures(rows: Sequence[Any]) -> dict[str, Any]:
    """The figures of ``rows`` (FIGURE_COLUMNS rows of the ledger, cancelled ones left out)."""
    found: dict[str, Any] = {"incidents": len(rows)}
    for name in FIGURES:
        values = sorted(v for v in map(_AT[name], rows) if v is not None)
        stem = name.removesuffix("_minutes")
        found[name] = _r(sum(values) / len(values)) if values else None
        found[f"{stem}_median_minutes"] = _r(quantile(values, 0.5))
        found[f"{stem}_p90_minutes"] = _r(quantile(values, 0.9))
    found["ack_compliance"], found["ack_decided"] = _share(map(_AT["ack_kept"], rows))
    found["resolution_compliance"], found["resolution_decided"] = _share(
        map(_AT["resolution_kept"], rows)
    )
    found["reopened"] = sum(1 for n in map(_AT["reopened"], rows) if n)
    found["pending_minutes"] = _r(sum(map(_AT["pending_minutes"], rows))) or 0.0
    return found


def _breaches(rows: Sequence[Any]) -> list[Breach]:
    found: list[Breach] = []
    for r in rows:
        for deadline, kept, due, done in (
            ("acknowledgement", r.ack_kept, r.ack_due_at, r.acknowledged_at or r.resolved_at),
            ("resolution", r.resolution_kept, r.resolution_due_at, r.resolved_at),
        ):
            if kept is not False or due is None:
                continue
            late = _r((done - due).total_seconds() / 60) if done is not None else None
            found.append(
                Breach(
                    incident_id=r.incident_id,
                    customer=r.customer,
                    title=r.title,
                    priority=r.priority,
                    service_level=r.service_level,
                    deadline=deadline,
                    due_at=due,
                    done_at=done,
                    late_minutes=late,
                )
            )
    return sorted(found, key=lambda b: (b.due_at, b.incident_id, b.deadline))


def _monday(at: datetime, zone: ZoneInfo) -> date:
    day = at.astimezone(zone).date()
    return day - timedelta(days=day.weekday())


def _weekly(rows: Sequence[Any], breaches: list[Breach], period: Period) -> list[Week]:
    zone = ZoneInfo(period.timezone)
    by_week: dict[date, list[Any]] = defaultdict(list)
    opened = _AT["opened_at"]
    for r in rows:
        by_week[_monday(opened(r), zone)].append(r)
    missed: dict[tuple[date, str], int] = defaultdict(int)
    for b in breaches:
        missed[(_monday(b.due_at, zone), b.deadline)] += 1
    first = period.since - timedelta(days=period.since.weekday())
    weeks: list[Week] = []
    monday = first
    while monday <= period.until:
        members = by_week.get(monday, [])
        acks = [v for v in map(_AT["mtta_minutes"], members) if v is not None]
        fixes = [v for v in map(_AT["mttr_minutes"], members) if v is not None]
        weeks.append(
            Week(
                week=monday,
                incidents=len(members),
                mtta_minutes=_r(sum(acks) / len(acks)) if acks else None,
                mttr_minutes=_r(sum(fixes) / len(fixes)) if fixes else None,
                ack_breaches=missed[(monday, "acknowledgement")],
                resolution_breaches=missed[(monday, "resolution")],
            )
        )
        monday += timedelta(days=7)
    return weeks


def _crises(ledger: Ledger, start: datetime, end: datetime, customer: str | None) -> list[Any]:
    lines: list[CrisisLine] = []
    for row, milestones in ledger.crises_started(start, end, customer):
        lines.append(
            CrisisLine(
                **{
                    name: getattr(row, name)
                    for name in CrisisLine.model_fields
                    if name != "milestones"
                },
                milestones=[
                    CrisisMilestone(
                        step=m.step, due_at=m.due_at, done_at=m.done_at, status=m.status
                    )
                    for m in milestones
                ],
            )
        )
    return lines


def build_report(ledger: Ledger, period: Period, customer: str | None, now: datetime) -> Report:
    """The service review of ``period`` (one customer's, or everyone's)."""
    start, end = period.bounds
    everything = ledger.incidents_opened(start, end, customer, FIGURE_COLUMNS)
    status, level_of = _AT["status"], itemgetter(_AT_PRIORITY, _AT_LEVEL)
    rows = [r for r in everything if status(r) != "cancelled"]
    missed = ledger.incidents_opened(start, end, customer, BREACH_COLUMNS, missed_only=True)
    classes: dict[tuple[str, str], list[Any]] = defaultdict(list)
    for r in rows:
        classes[level_of(r)].append(r)
    by_class = [
        ClassFigures(priority=p, service_level=level, **figures(classes[(p, level)]))
        for p in PRIORITIES
        for level in SERVICE_LEVELS
        if classes.get((p, level))
    ]
    breaches = _breaches([r for r in missed if r.status != "cancelled"])
    crises = _crises(ledger, start, end, customer)
    steps = [
        m.status for c in crises for m in c.milestones if m.status in ("met", "late", "missed")
    ]
    return Report(
        since=period.since,
        until=period.until,
        timezone=period.timezone,
        customer=customer,
        generated_at=now,
        cancelled=len(everything) - len(rows),
        by_class=by_class,
        breaches=breaches,
        weekly=_weekly(rows, breaches, period),
        crises=crises,
        chronogram_compliance=_r(steps.count("met") / len(steps), 4) if steps else None,
        rex_on_time=_share(c.rex_on_time for c in crises)[0],
        **figures(rows),
    )
