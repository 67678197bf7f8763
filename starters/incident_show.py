"""An incident as `vigie status` and the operations print it: in a terminal, its fields and
its timeline (a table when it fits, each entry stacked otherwise; nothing cut); in a pipe,
one tab-separated line per field and per timeline entry (ISO 8601 times); JSON for scripts."""

from __future__ import annotations

from typing import Any

from rich.cells import cell_len
from rich.console import Console
from rich.table import Table
from rich.text import Text

from starters.cli_support import print_view, retrying, when
from starters.listing import INDENT, iso, packed, words, wrapped
from workflows.models import IncidentView, TimelineEntry

TEXT_MIN_WIDTH = 30  # a timeline table leaves its text at least this; else entries stack


def breached(view: IncidentView) -> str:
    """Which deadlines were breached, or "no"."""
    hits = (("ack", view.ack_breached), ("resolution", view.resolution_breached))
    return ", ".join(name for name, hit in hits if hit) or "no"


def fields(view: IncidentView) -> list[tuple[str, Any]]:
    """Every field once, its value as data (times, yes/no, lists joined)."""
    return [
        ("incident", view.incident_id),
        ("title", view.title),
        ("status", view.status),
        ("waiting on", view.waiting_on),
        ("priority", view.priority),
        ("level", view.service_level),
        ("major", view.major),
        ("opened", view.opened_at),
        ("ack due", view.ack_due_at),
        ("acknowledged", view.acknowledged_at),
        ("resolution due", None if view.sla_paused else view.resolution_due_at),
        ("paused", view.sla_paused),
        ("resolved", view.resolved_at),
        ("closed", view.closed_at),
        ("breached", breached(view)),
        ("crisis", view.crisis_id),
        ("missing", ", ".join(view.missing_fields)),
        ("mails waiting", view.mails_pending),
        ("retrying", "; ".join(retrying(t, iso) for t in view.retrying)),
    ]


def show(view: IncidentView, as_json: bool = False, console: Console | None = None) -> None:
    print_view(view, as_json, console, print_lines, print_terminal)


def print_lines(view: IncidentView) -> None:
    """A pipe: ``label<TAB>value`` for every field, then ``timeline<TAB>at<TAB>kind<TAB>by
    <TAB>text`` for every entry shown; never folded, a value's tabs and newlines as spaces."""
    for label, value in fields(view):
        print(f"{label}\t{flat(value)}")
    for entry in view.timeline:
        values = (entry.at, entry.kind, entry.by, entry.text)
        print("\t".join(["timeline", *(flat(value) for value in values)]))
    if view.timeline_omitted:
        print(f"timeline omitted\t{view.timeline_omitted}")


def flat(value: Any) -> str:
    return " ".join(iso(value).split("\t")).replace("\r", " ").replace("\n", " ")


def print_terminal(view: IncidentView, console: Console) -> None:
    """The fields as a person reads them (times in the business time zone, to the minute),
    then the timeline."""
    table = Table(show_header=False, box=None, pad_edge=False)
    table.add_column(no_wrap=True)
    table.add_column(overflow="fold")  # a long id folds, never cut
    for label, value in _people_fields(view):
        table.add_row(Text(label, style="bold"), Text(value))
    console.print(table)
    if not view.timeline:  # an operation's answer leaves it out, to stay small
        console.print(Text(f"timeline: vigie status {view.incident_id}"))
        return
    print_timeline(view.timeline, console)
    if view.timeline_omitted:
        console.print(f"{view.timeline_omitted} entries between the opening and the latest are "
                      "not shown here; the workflow history has them all")  # fmt: skip


def _people_fields(view: IncidentView) -> list[tuple[str, str]]:
    """The fields grouped as a person reads them: a deadline with what met it."""
    v = view
    status = v.status + (f" (waiting on {v.waiting_on})" if v.waiting_on else "")
    met = f" · acknowledged {when(v.acknowledged_at)}" if v.acknowledged_at else ""
    resolution = (
        ("paused" if v.sla_paused else when(v.resolution_due_at))
        + (f" · resolved {when(v.resolved_at)}" if v.resolved_at else "")
        + (f" · closed {when(v.closed_at)}" if v.closed_at else "")
    )
    return [
        ("incident", v.incident_id),
        ("title", v.title),
        ("status", status),
        ("class", f"{v.priority} {v.service_level}" + (" · MAJOR" if v.major else "")),
        ("opened", when(v.opened_at)),
        ("ack due", when(v.ack_due_at) + met),
        ("resolution due", resolution),
        ("breached", breached(v)),
        *([("crisis", v.crisis_id)] if v.crisis_id else []),
        ("missing", ", ".join(v.missing_fields) or "—"),
        ("mails waiting", str(v.mails_pending)),
        ("retrying", "; ".join(retrying(t, when) for t in v.retrying) or "—"),
    ]


def print_timeline(entries: list[TimelineEntry], console: Console) -> None:
    """A table when time, kind and author fit whole with room for the text; otherwise each
    entry on a line of its own (time · kind · author) with its text wrapped under it."""
    rows = [(when(e.at), e.kind, e.by, e.text) for e in entries]
    whole = [max(cell_len(r[i]) for r in [("at", "kind", "by", ""), *rows]) for i in range(3)]
    # A table with a box: a rule and a padding space either side of every column. Its text
    # column folds a word longer than itself: a link would be cut (a conference room's, at
    # a hyphen), so such a timeline is stacked, where a link stays whole.
    text_width = console.width - (sum(whole) + 3 * 4 + 1)
    longest = max((cell_len(word) for r in rows for word in words(r[3])), default=0)
    if text_width >= TEXT_MIN_WIDTH and longest <= text_width:
        table = Table(title="timeline", title_justify="left")
        for header in ("at", "kind", "by"):
            table.add_column(header, no_wrap=True)
        table.add_column("text", overflow="fold")
        for row in rows:
            table.add_row(*(Text(text) for text in row))
        console.print(table)
        return
    console.print(Text("timeline", style="italic"))
    width = max(console.width - INDENT, 20)
    for at, kind, by, text in rows:
        for line in packed([at, kind, by], console.width):
            console.print(Text(line, style="bold"), overflow="fold")
        for line in wrapped(text, width):
            # A word longer than the line (a link) is printed whole: the terminal folds it
            # without a break in it.
            console.print(Text(" " * INDENT + line), soft_wrap=cell_len(line) > width)
