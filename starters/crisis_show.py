"""A crisis as `vigie crisis status` and the crisis operations print it: what is due (the
chronogram), who is in the cell, what was sent (the notifications) and the timeline. In a
terminal, tables that fold rather than cut; in a pipe, one tab-separated line per field and
per row (ISO 8601 times); JSON for scripts."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from rich.console import Console
from rich.style import Style
from rich.table import Table
from rich.text import Text

from starters.cli_support import print_view, retrying, when
from starters.incident_show import flat, print_timeline
from starters.listing import cell
from workflows.crisis_models import CrisisView, Validation
from workflows.crisis_rules import shown_step
from workflows.texts import EN, VALUES

# Notifications a terminal lists (the latest); a pipe and --json list all the answer holds.
NOTIFICATIONS_SHOWN = 10


def _offset(view: CrisisView, value: datetime | None, scale: float) -> str:
    if value is None:
        return "—"
    minutes = (value - view.t0).total_seconds() * scale / 60
    return f"T0+{minutes:.0f} min"


def compliance_table(view: CrisisView, scale: float | None = None) -> Table:
    """Targets and completion times; in drills, as simulated minutes after T0."""
    table = Table(title="chronogram", title_justify="left")
    table.add_column("step", overflow="fold")
    for header in ("target", "done", "status"):
        table.add_column(header, overflow="fold")

    def shown(at: datetime | None) -> str:
        return when(at) if scale is None else _offset(view, at, scale)

    for m in view.milestones:
        # In the CLI's language, every step; T0+30 tells DNUM of a P1 or of an event.
        step = VALUES["step"][EN].get(shown_step(m.step, view), m.action)
        target = shown(m.due_at)
        if m.acts_at is not None:  # a late opening moved it: when the crisis acts on it
            target += f" → {shown(m.acts_at)}"
        table.add_row(step, target, shown(m.done_at), m.status)
    return table


def drp_line(view: CrisisView) -> str:
    """The disaster-recovery decision as a person reads it, its time in business time."""
    d = view.drp
    if d is None:
        return "undecided"
    decided = "activated" if d.activate else "not activated"
    return f"{decided} by {d.by} at {when(d.at)}" + (f": {d.reason}" if d.reason else "")


def show(view: CrisisView, as_json: bool = False, console: Console | None = None) -> None:
    print_view(view, as_json, console, print_lines, print_terminal)


def fields(view: CrisisView) -> list[tuple[str, Any]]:
    """Every field once, as data."""
    v = view
    acted = {name: getattr(v, name) for name in ("restored", "nominal_confirmed", "closed")}
    return [
        ("crisis", v.crisis_id),
        ("title", v.title),
        ("status", v.status),
        ("drill", v.drill),
        ("criterion", v.criterion),
        ("incident", v.incident_id),
        ("t0", v.t0),
        ("level", v.level),
        ("level kind", v.level_kind),
        ("matrix version", v.matrix_version),
        ("channel", v.channel),
        ("conference", v.conference.url if v.conference else None),
        ("drp", ("activated" if v.drp.activate else "not activated") if v.drp else None),
        ("drp by", v.drp.by if v.drp else None),
        ("drp at", v.drp.at if v.drp else None),
        ("drp reason", v.drp.reason if v.drp else None),
        *((name.replace("_", " "), a.by if a else None) for name, a in acted.items()),
        ("restored at", v.restored_at),
        ("closed at", v.closed_at),
        ("rex due", v.rex_due_at),
        ("rex", v.rex),
        ("mails waiting", v.mails_pending),
        ("retrying", "; ".join(retrying(t, flat) for t in v.retrying)),
    ]


def shown_role(role: str) -> str:
    """A role as the CLI says it (in English): the matrix's role codes named
    (``provider.on_call`` is the provider's technical on-call); others as they are."""
    return VALUES["role"][EN].get(role, role)


def validation_line(v: Validation, when: Callable[[datetime | None], str]) -> str:
    """One party's decision on the crisis situation: who, with their role, when, why."""
    role = f" ({shown_role(v.role)})" if v.role else ""
    note = f": {v.note}" if v.note else ""
    return f"{v.party} {v.decision} by {v.by}{role}, {when(v.at)}{note}"


def print_lines(view: CrisisView) -> None:
    """A pipe: ``label<TAB>value`` for every field, then one line per milestone, member,
    notification and timeline entry, each led by its kind; never folded."""

    def line(*values: Any) -> None:
        print("\t".join(flat(value) for value in values))

    for label, value in fields(view):
        line(label, value)
    for m in view.milestones:
        line("milestone", m.step, m.due_at, m.done_at, m.status, m.by, m.acts_at)
    for member in view.members:
        line("member", member.name, member.email, member.role, member.permanent,
             member.participating)  # fmt: skip
    for v in view.validations:
        line("validation", v.party, v.decision, v.by, v.role, v.at, v.note)
    for u in view.urgent_changes:
        line("urgent_change", u.id, u.what, u.by, u.at, u.done_at, u.done_by, u.outcome)
    for n in view.notifications:
        line("notification", n.at, n.kind, ", ".join(n.to), n.status, n.channel, n.detail)
    for entry in view.timeline:
        line("timeline", entry.at, entry.kind, entry.by, entry.text)


def print_terminal(view: CrisisView, console: Console) -> None:
    console.print(
        Text.assemble(
            (view.crisis_id, "bold"),
            f" · {view.title} · {view.status} · level {view.level} "
            f"({view.level_kind or 'none'}) · matrix v{view.matrix_version} · channel "
            f"{view.channel}",
        )
    )
    incident = view.incident_id or "none (a crisis opened on its own)"
    console.print(Text(f"T0: {when(view.t0)} · incident: {incident}"), overflow="fold")
    if view.conference:  # never broken by the console: a broken link joins another room
        url = view.conference.url
        console.print(Text.assemble("conference: ", (url, Style(link=url))), soft_wrap=True)
    console.print(Text(f"DRP: {drp_line(view)}"))
    for v in view.validations:
        console.print(Text(f"validation: {validation_line(v, when)}"), overflow="fold")
    for trouble in view.retrying:
        console.print(Text(f"retrying: {retrying(trouble, when)}"))
    for u in view.urgent_changes:
        state = f"done {when(u.done_at)}: {u.outcome}" if u.done_at else "open"
        console.print(
            Text(f"urgent change {u.id} ({state}): {u.what} · {u.by} {when(u.at)}"),
            overflow="fold",
        )
    console.print(compliance_table(view))
    members = Table(title="cell", title_justify="left")
    members.add_column("member", overflow="fold")
    for header in ("role", "permanent", "taking part"):
        members.add_column(header, overflow="fold")
    for m in view.members:
        members.add_row(
            Text(f"{m.name} <{m.email}>"),
            Text(shown_role(m.role)),
            cell(m.permanent, when),  # yes / no, as the lists say it
            cell(m.participating, when),
        )
    console.print(members)
    print_sent(view, console)
    if view.timeline:
        print_timeline(view.timeline, console)


def print_sent(view: CrisisView, console: Console) -> None:
    """What was sent: how many notifications went out or failed, the latest ones."""
    sent = [n for n in view.notifications if n.status == "sent"]
    failed = len(view.notifications) - len(sent)
    console.print(Text(
        f"notifications: {len(sent)} sent, {failed} failed, {view.mails_pending} waiting"
        + (f" ({view.notifications_omitted} older not shown)" if view.notifications_omitted
           else "")
    ))  # fmt: skip
    latest = view.notifications[-NOTIFICATIONS_SHOWN:]
    if not latest:
        return
    table = Table(title=f"latest {len(latest)} notifications", title_justify="left")
    for header in ("at", "kind", "to", "status"):
        table.add_column(header, overflow="fold")
    for n in latest:
        status = n.status + (f" ({n.channel})" if n.channel and n.channel != "smtp" else "")
        table.add_row(when(n.at), n.kind, Text(", ".join(n.to)), status)
    console.print(table)
