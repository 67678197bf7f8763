"""The lessons-learned (REX) draft, written from what the crisis workflow recorded."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from workflows.crisis_models import CrisisState

RACI = (
    ("Steer managerial escalation (provider scope)", "A, R", "", "C"),
    ("Validate the crisis situation", "A, R", "R", "R"),
    ("Steer the crisis cell (provider scope)", "A, R", "I", "I"),
    ("Steer the crisis cell (client scope)", "C", "I", "A, R"),
    ("Operational communication", "A, R", "I", "I"),
    ("Communication to end users / hierarchy", "I, C", "I", "A, R"),
    ("Mobilise provider technical teams", "A, R", "R", "I"),
    ("Mobilise client teams", "I", "I", "A, R"),
    ("Validate acceptable solution or return to nominal", "R", "I", "A, R"),
    ("Close escalation or crisis (provider scope)", "A, R", "I", "I"),
    ("Close escalation or crisis (client scope)", "I", "I", "A, R"),
)


def _when(value: datetime | None, zone: ZoneInfo) -> str:
    return value.astimezone(zone).strftime("%Y-%m-%d %H:%M") if value else "—"


def rex_draft(state: CrisisState) -> str:
    zone = ZoneInfo(state.policy.business_hours.timezone)
    lines = [
        f"# REX — {state.title}",
        "",
        f"- Crisis: `{state.crisis_id}`"
        + (f" (incident `{state.incident_id}`)" if state.incident_id else ""),
        f"- Activation criterion: {state.criterion}; triggered by the {state.triggered_by}",
        f"- T0: {_when(state.t0, zone)}; closed: {_when(state.closed_at, zone)}",
        f"- Escalation matrix version {state.matrix.version}; highest level reached: "
        f"{state.level} ({state.level_kind or 'none'})",
        f"- Report due: {_when(state.rex_due_at, zone)}",
        "",
        "## Summary",
        "",
        state.summary or "(to write)",
        "",
        "## Chronogram compliance",
        "",
        "| step | target | done | status |",
        "|---|---|---|---|",
    ]
    for m in state.milestones:
        lines.append(
            f"| {m.action} | {_when(m.due_at, zone)} | {_when(m.done_at, zone)} | {m.status} |"
        )
    lines += ["", "## Decisions", ""]
    if state.drp is None:
        lines.append("- DRP (PRA): no decision recorded")
    else:
        verdict = "activated" if state.drp.activate else "not activated"
        lines.append(
            f"- DRP (PRA) {verdict} by {state.drp.by} at {_when(state.drp.at, zone)}: "
            f"{state.drp.reason}"
        )
    if state.restored_at:
        lines.append(f"- Service restored at {_when(state.restored_at, zone)}")
    lines += ["", "## Status updates", ""]
    for u in state.updates:
        lines.append(f"- {_when(u.at, zone)} ({u.by}): {u.progress}")
        if u.done:
            lines.append(f"  - done: {u.done}")
        if u.remaining:
            lines.append(f"  - remaining: {u.remaining}")
    if not state.updates:
        lines.append("- none posted")
    lines += [
        "",
        "## Crisis cell",
        "",
        "| member | role | permanent | took part |",
        "|---|---|---|---|",
    ]
    for member in state.members:
        lines.append(
            f"| {member.name} <{member.email}> | {member.role} | "
            f"{'yes' if member.permanent else 'no'} | {'yes' if member.participating else 'no'} |"
        )
    lines += [
        "",
        "## RACI (procedure §4.7)",
        "",
        "| activity | provider manager | provider admin | client |",
        "|---|---|---|---|",
        *(f"| {a} | {m} | {ad} | {c} |" for a, m, ad, c in RACI),
        "",
        "## Timeline",
        "",
        *(f"- {_when(e.at, zone)} [{e.kind}] {e.by}: {e.text}" for e in state.timeline),
        "",
        "## To complete by the incident manager",
        "",
        "- Technical facts sheet (FFT)",
        "- Strengths, weaknesses, action plan for the production committee",
        "- Follow-up actions through change management",
        "",
    ]
    return "\n".join(lines)
