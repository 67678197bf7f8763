"""What the incident ledger keeps of an incident or a crisis (service reviews): pure code.

The workflows build these facts at each milestone and hand them to the ledger activities
(``record_incident_facts``, ``record_crisis_facts``); ``vigie ledger rebuild`` builds the
same facts from the ``status`` query of the workflows still within retention. Every figure
is computed here, once, with the incident's own policy (business calendar included), so a
report only sums up what the ledger holds.

Compliance, as the workflows count deadlines: a deadline met at the very instant it falls
is kept; the acknowledgement is kept when the incident was acknowledged (or resolved
without being acknowledged) by its deadline; the resolution is kept when the resolution
clock (which stops while pending and while resolved) had not used up the allowance at
resolution. ``None`` means not decided yet.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from pydantic import BaseModel, Field

from workflows.calendar import BusinessClock, clock_named
from workflows.crisis_models import CrisisView, Criterion, MilestoneStatus
from workflows.models import IncidentState, IncidentStatusName, IncidentView, Instant
from workflows.policy import ClockName, Policy, Priority, ServiceLevel
from workflows.sla import RESOLVED_STOP, Stop, compute_deadlines, consumed, due_as_resolved

DECIDED: tuple[MilestoneStatus, ...] = ("met", "late", "missed")


class IncidentFacts(BaseModel):
    """One incident as the ledger keeps it; upserted by ``incident_id``."""

    incident_id: str
    revision: int = Field(
        ge=0, description="Events the incident has recorded so far; older facts never win"
    )
    as_of: Instant = Field(description="When these facts were true")
    customer: str
    title: str
    application: str | None
    source: str
    priority: Priority
    service_level: ServiceLevel
    clock: ClockName = Field(description="The clock the incident's deadlines count on")
    status: IncidentStatusName
    major: bool
    crisis_id: str | None
    policy_version: int
    opened_at: Instant = Field(description="T0")
    ticket_opened_at: Instant | None
    acknowledged_at: Instant | None
    resolved_at: Instant | None = Field(description="The last resolution (None once reopened)")
    closed_at: Instant | None
    ack_due_at: Instant
    resolution_due_at: Instant | None = Field(
        description="The resolution deadline at resolution (or now); None while pending short of it"
    )
    ack_kept: bool | None
    resolution_kept: bool | None
    ack_breached: bool = Field(description="The workflow recorded an acknowledgement breach")
    resolution_breached: bool = Field(description="The workflow recorded a resolution breach")
    reopened: int = Field(ge=0, description="Times the incident was reopened")
    pending_minutes: float = Field(ge=0, description="Wall-clock minutes spent pending")
    resolution_clock_minutes: float = Field(
        ge=0, description="Resolution clock used (pending and resolved time not counted)"
    )
    resolution_allowance_minutes: float = Field(gt=0)
    mtta_minutes: float | None = Field(description="acknowledged − T0, wall clock")
    mttr_minutes: float | None = Field(description="resolved − T0, wall clock")
    mtta_business_minutes: float | None = Field(
        description="acknowledged − T0 in business hours; only on the business clock"
    )
    mttr_business_minutes: float | None = Field(
        description="resolved − T0 in business hours; only on the business clock"
    )


class MilestoneFact(BaseModel):
    step: str
    due_at: Instant
    done_at: Instant | None
    status: MilestoneStatus


class CrisisFacts(BaseModel):
    """One crisis as the ledger keeps it; upserted by ``crisis_id``."""

    crisis_id: str
    revision: int = Field(ge=0, description="Events the crisis has recorded so far")
    as_of: Instant
    incident_id: str | None
    customer: str = Field(description="The incident's customer when the ledger has it")
    title: str
    criterion: Criterion
    status: str
    t0: Instant
    closed_at: Instant | None
    level: int
    milestones: list[MilestoneFact]
    chronogram_compliance: float | None = Field(
        description="Share of the decided milestones met on time; None while none is decided"
    )
    rex_due_at: Instant | None
    rex_submitted_at: Instant | None
    rex_on_time: bool | None
    drill: bool = Field(default=False, description="An exercise: kept out of the ledger")


class RecordIncidentFactsInput(BaseModel):
    facts: IncidentFacts


class RecordCrisisFactsInput(BaseModel):
    facts: CrisisFacts


class RecordFactsResult(BaseModel):
    written: bool = Field(description="False when the ledger already held newer facts")


def _minutes(delta: timedelta) -> float:
    return round(delta.total_seconds() / 60, 3)


def _first_resolution(stops: list[Stop]) -> datetime | None:
    return next(
        (s.start for s in sorted(stops, key=lambda s: s.start) if s.reason == RESOLVED_STOP), None
    )


def _ack_kept(s: IncidentState, ack_due: datetime, now: datetime) -> bool | None:
    taken = s.acknowledged_at or _first_resolution(s.stops)
    if taken is not None:
        return taken <= ack_due
    if s.status == "cancelled":
        return None
    return False if s.ack_breached or now > ack_due else None


def incident_revision(state: IncidentState) -> int:
    """The revision of an incident's facts: the events it has recorded, trimmed ones included."""
    return state.timeline_trimmed + len(state.timeline)


def incident_facts(state: IncidentState, customer: str | None, now: datetime) -> IncidentFacts:
    """The ledger's facts of an incident from its workflow state, as of ``now``.

    ``customer``: the incident input's; None takes the policy's ``default_customer``.
    """
    s, policy = state, state.policy
    clock_name = policy.clock_for(s.priority, s.service_level)
    clock = clock_named(clock_name, policy)
    d = compute_deadlines(policy, s.priority, s.service_level, s.opened_at, s.stops)
    allowance = d.resolution_allowance
    resolution_due = due_as_resolved(clock, s.opened_at, s.stops, allowance)
    used = consumed(clock, s.opened_at, s.stops, s.resolved_at or now)
    if s.resolved_at is not None:
        resolution_kept: bool | None = used <= allowance
    elif s.status == "cancelled":
        resolution_kept = None
    else:
        resolution_kept = False if s.resolution_breached or used > allowance else None
    pending = sum(
        ((x.end or now) - x.start for x in s.stops if x.reason.startswith("pending")),
        timedelta(0),
    )
    business = BusinessClock(policy.business_hours) if clock_name == "business" else None

    def since_t0(at: datetime | None) -> tuple[float | None, float | None]:
        if at is None:
            return None, None
        wall = _minutes(at - s.opened_at)
        return wall, (_minutes(business.elapsed(s.opened_at, at)) if business else None)

    mtta, mtta_business = since_t0(s.acknowledged_at)
    mttr, mttr_business = since_t0(s.resolved_at)
    return IncidentFacts(
        incident_id=s.incident_id,
        revision=incident_revision(s),
        as_of=now,
        customer=customer or policy.default_customer,
        title=s.title,
        application=s.application,
        source=s.source,
        priority=s.priority,
        service_level=s.service_level,
        clock=clock_name,
        status=s.status,
        major=s.major,
        crisis_id=s.crisis_id,
        policy_version=policy.version,
        opened_at=s.opened_at,
        ticket_opened_at=s.ticket_opened_at,
        acknowledged_at=s.acknowledged_at,
        resolved_at=s.resolved_at,
        closed_at=s.closed_at,
        ack_due_at=d.ack_due_at,
        resolution_due_at=resolution_due,
        ack_kept=_ack_kept(s, d.ack_due_at, now),
        resolution_kept=resolution_kept,
        ack_breached=s.ack_breached,
        resolution_breached=s.resolution_breached,
        reopened=sum(x.reason == RESOLVED_STOP and x.end is not None for x in s.stops),
        pending_minutes=_minutes(pending),
        resolution_clock_minutes=_minutes(used),
        resolution_allowance_minutes=_minutes(allowance),
        mtta_minutes=mtta,
        mttr_minutes=mttr,
        mtta_business_minutes=mtta_business,
        mttr_business_minutes=mttr_business,
    )


def stops_from_timeline(view: IncidentView) -> list[Stop]:
    """The clock's stops told by the timeline: pending → resumed, resolved → reopened."""
    stops: list[Stop] = []

    def end(at: datetime) -> None:
        for stop in stops:
            if stop.end is None:
                stop.end = at

    for entry in view.timeline:
        if entry.kind == "pending":
            end(entry.at)
            waiting = entry.fields.get("waiting_on", "")
            stops.append(Stop(start=entry.at, reason=f"pending on {waiting}"))
        elif entry.kind in ("resumed", "reopened", "cancelled"):
            end(entry.at)
        elif entry.kind == "resolved":
            end(entry.at)
            stops.append(Stop(start=entry.at, reason=RESOLVED_STOP))
    return stops


def incident_facts_from_view(
    view: IncidentView, policy: Policy, customer: str | None, now: datetime
) -> IncidentFacts:
    """The same facts from the ``status`` query (``vigie ledger rebuild``).

    The pending and resolved periods come from the timeline; ``policy`` should be the one
    the incident opened under (``view.policy_version``) for its calendar and allowances.
    """
    state = IncidentState(
        incident_id=view.incident_id,
        policy=policy,
        title=view.title,
        priority=view.priority,
        service_level=view.service_level,
        category=view.category,
        description=view.description,
        application=view.application,
        requesters=view.requesters,
        details={},
        source=view.source,
        language="fr",
        missing_fields=view.missing_fields,
        status=view.status,
        opened_at=view.opened_at,
        acknowledged_at=view.acknowledged_at,
        resolved_at=view.resolved_at,
        closed_at=view.closed_at,
        stops=stops_from_timeline(view),
        waiting_on=view.waiting_on,
        ack_breached=view.ack_breached,
        resolution_breached=view.resolution_breached,
        major=view.major,
        p1_verdict=view.p1_verdict,
        timeline=view.timeline,
        crisis_id=view.crisis_id,
        ticket_opened_at=view.ticket_opened_at,
        timeline_trimmed=view.timeline_trimmed,
    )
    facts = incident_facts(state, customer, now)
    return facts.model_copy(update={"policy_version": view.policy_version})


def crisis_facts(view: CrisisView, customer: str, now: datetime) -> CrisisFacts:
    """The ledger's facts of a crisis from its view (the ``status`` query), as of ``now``.

    ``customer``: its incident's when known, else the policy's ``default_customer``; the
    ledger takes the incident's customer when it holds the incident.
    """
    decided = [m for m in view.milestones if m.status in DECIDED]
    met = sum(m.status == "met" for m in decided)
    submitted = next((e.at for e in reversed(view.timeline) if e.kind == "rex"), None)
    if submitted is not None and view.rex_due_at is not None:
        on_time: bool | None = submitted <= view.rex_due_at
    elif submitted is None and view.rex_due_at is not None and now > view.rex_due_at:
        on_time = False
    else:
        on_time = None
    return CrisisFacts(
        drill=view.drill,
        crisis_id=view.crisis_id,
        revision=len(view.timeline),
        as_of=now,
        incident_id=view.incident_id,
        customer=customer,
        title=view.title,
        criterion=view.criterion,
        status=view.status,
        t0=view.t0,
        closed_at=view.closed_at,
        level=view.level,
        milestones=[
            MilestoneFact(step=m.step, due_at=m.due_at, done_at=m.done_at, status=m.status)
            for m in view.milestones
        ],
        chronogram_compliance=round(met / len(decided), 4) if decided else None,
        rex_due_at=view.rex_due_at,
        rex_submitted_at=submitted,
        rex_on_time=on_time,
    )
