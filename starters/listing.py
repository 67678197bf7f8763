"""Lists of incidents and crises from the search attributes: a table in a terminal, one
tab-separated line per workflow in a pipe (ids always whole), JSON for scripts."""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from rich import box
from rich.cells import cell_len
from rich.console import Console
from rich.table import Table
from rich.text import Text
from temporalio.client import Client, WorkflowExecution, WorkflowExecutionStatus
from temporalio.service import RPCError

from starters.cli_support import err, out
from workflows.search import (
    CRISIS_LEVEL,
    CRISIS_STATUS,
    INCIDENT_PRIORITY,
    INCIDENT_STATUS,
    NEXT_DUE,
    SERVICE_LEVEL,
    SLA_BREACHED,
    T0_MEMO,
)

INCIDENT_COLUMNS = (
    "incident", "status", "priority", "level", "breached", "next_due", "t0", "started", "title",
)  # fmt: skip
CRISIS_COLUMNS = ("crisis", "status", "level", "next_due", "t0", "started", "title")
# A terminal shows T0, not when the current run started; a pipe keeps its columns' places
# from before T0 was there, T0 last.
LEFT_OUT_IN_TERMINAL = "started"
LAST_IN_PIPE = "t0"
PLURALS = {"incident": "incidents", "crisis": "crises"}
TITLE_MIN_WIDTH = 16  # below this a terminal gets the stacked form
INDENT = 2


def incident_query(
    status: str | None = None,
    priority: str | None = None,
    service_level: str | None = None,
    breached: bool | None = None,
) -> str:
    clauses = ["WorkflowType = 'IncidentWorkflow'"]
    for key, value in (
        (INCIDENT_STATUS.name, status),
        (INCIDENT_PRIORITY.name, priority),
        (SERVICE_LEVEL.name, service_level),
    ):
        if value is not None:
            clauses.append(f"{key} = '{value}'")
    if breached is not None:
        clauses.append(f"{SLA_BREACHED.name} = {'true' if breached else 'false'}")
    return " AND ".join(clauses)


def crisis_query(status: str | None = None) -> str:
    clauses = ["WorkflowType = 'CrisisWorkflow'"]
    if status is not None:
        clauses.append(f"{CRISIS_STATUS.name} = '{status}'")
    return " AND ".join(clauses)


async def _title(execution: WorkflowExecution) -> str:
    try:
        return str(await execution.memo_value("title", ""))
    except (KeyError, TypeError, ValueError):
        return ""  # started without a memo


async def _t0(execution: WorkflowExecution, *, start_is_t0: bool) -> datetime | None:
    """T0 as the workflow keeps it in its memo. Else, for an incident in its first run, when
    it started (an incident keeps T0 only when back-dated or continued as new); None when
    unknown (a crisis, or a run after a continue-as-new, of code that did not keep it)."""
    try:
        kept = await execution.memo_value(T0_MEMO, None)
        if kept is not None:  # kept with the offset it was given: UTC, as the other times
            return datetime.fromisoformat(str(kept)).astimezone(UTC)
    except (KeyError, TypeError, ValueError):
        pass  # not kept, or not as Vigie writes it
    first_run = execution.raw_info.first_run_id in ("", execution.run_id)
    return execution.start_time if start_is_t0 and first_run else None


def _unpublished(execution: WorkflowExecution) -> str:
    """The status of a workflow that published none: ``?`` while it runs (not yet), else how
    its run ended (``failed``: refused at the start; ``terminated``)."""
    status = execution.status
    if status is None or status == WorkflowExecutionStatus.RUNNING:
        return "?"
    return status.name.lower().replace("_", " ")


async def incident_row(execution: WorkflowExecution) -> dict[str, Any]:
    attributes = execution.typed_search_attributes
    return {
        "incident": execution.id,
        "status": str(attributes.get(INCIDENT_STATUS) or _unpublished(execution)),
        "priority": str(attributes.get(INCIDENT_PRIORITY) or "?"),
        "level": str(attributes.get(SERVICE_LEVEL) or "?"),
        # None (shown empty) for a run that published nothing: it had no deadline to keep,
        # and `--not-breached` does not list it either.
        "breached": attributes.get(SLA_BREACHED),
        "next_due": attributes.get(NEXT_DUE),
        "t0": await _t0(execution, start_is_t0=True),
        "started": execution.start_time,
        "title": await _title(execution),
    }


DRILL_PREFIX = "crisis-drill-"  # the ids `vigie drill` gives


async def crisis_row(execution: WorkflowExecution) -> dict[str, Any]:
    """A drill says so in its title: at night, an active "application principale
    indisponible" would otherwise read as a real crisis."""
    attributes = execution.typed_search_attributes
    level = attributes.get(CRISIS_LEVEL)
    drill = execution.id.startswith(DRILL_PREFIX)
    title = await _title(execution)
    return {
        "crisis": execution.id,
        "status": str(attributes.get(CRISIS_STATUS) or _unpublished(execution)),
        "level": "?" if level is None else level,
        "next_due": attributes.get(NEXT_DUE),
        "t0": await _t0(execution, start_is_t0=False),
        "started": execution.start_time,
        "title": f"drill: {title}" if drill else title,
        "drill": drill,
    }


async def list_rows(
    client: Client,
    query: str,
    limit: int,
    row: Callable[[WorkflowExecution], Any],
) -> list[dict[str, Any]]:
    """At most ``limit``, in the server's order: running ones first, the newest started first,
    then ended ones, the last ended first."""
    rows: list[dict[str, Any]] = []
    async for execution in client.list_workflows(query, limit=limit):
        rows.append(await row(execution))
    return rows


async def matched(client: Client, query: str, shown: int, limit: int) -> int | None:
    """How many workflows the query matches: counted by the server when the list stopped at
    ``limit``, so that the footer can say how many were left out (None: it could not)."""
    if shown < limit:
        return shown
    try:
        return (await client.count_workflows(query)).count
    except RPCError:  # a visibility store that cannot count: the rows are still shown
        return None


def iso(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):  # as the views say it
        return "yes" if value else "no"
    if isinstance(value, datetime):  # one offset for every row, so that they sort as text
        return (value if value.tzinfo is None else value.astimezone(UTC)).isoformat()
    return str(value)


def print_rows(
    rows: list[dict[str, Any]],
    columns: tuple[str, ...],
    *,
    as_json: bool,
    when: Callable[[datetime | None], str],
    what: str,
    query: str,
    total: int | None = None,
) -> None:
    """JSON keeps ISO 8601 with offset; a pipe gets the same, tab-separated; a terminal gets
    a table with times in the business time zone, to the minute."""
    if as_json:
        print(json.dumps(rows, ensure_ascii=False, indent=2, default=iso))
    elif not sys.stdout.isatty():
        in_pipe = [*(k for k in columns if k != LAST_IN_PIPE), LAST_IN_PIPE]
        for row in rows:
            print("\t".join(iso(row[k]).replace("\t", " ") for k in in_pipe))
    else:
        print_terminal(rows, columns, when, out)
    count = f"{len(rows)} {PLURALS[what] if len(rows) != 1 else what}"
    if total is not None and total > len(rows):  # the newest; the others are left out
        count = f"{len(rows)} of {total} {PLURALS[what]} (the others: --limit {total})"
    err.print(f"{count} · query: {query}", highlight=False)


def print_terminal(
    rows: list[dict[str, Any]],
    columns: tuple[str, ...],
    when: Callable[[datetime | None], str],
    console: Console,
) -> None:
    """A table when its short columns fit the terminal whole (the title, last, wraps);
    otherwise each workflow stacked: its whole id, its fields labelled, then its title."""
    columns = tuple(k for k in columns if k != LEFT_OUT_IN_TERMINAL)
    headers = [name.replace("_", " ") for name in columns]
    cells = [[cell(row[k], when) for k in columns] for row in rows]
    whole = [max(cell_len(t) for t in column) for column in zip(headers, *cells, strict=True)]
    # Each column is padded by one space on either side; the title takes what is left.
    if sum(whole[:-1]) + 2 * len(columns) + TITLE_MIN_WIDTH <= console.width:
        table = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False, expand=True)
        for header in headers[:-1]:
            table.add_column(header, no_wrap=True)
        table.add_column(headers[-1], overflow="fold", ratio=1)
        for texts in cells:
            table.add_row(*(Text(text) for text in texts))
        console.print(table)
        return
    width = max(console.width - INDENT, 20)
    for texts in cells:
        console.print(Text(texts[0], style="bold"), overflow="fold")
        fields = [f"{h}: {text}" for h, text in zip(headers[1:-1], texts[1:-1], strict=True)]
        for line in [
            *packed(fields, width),
            *wrapped(texts[-1], width),
        ]:
            console.print(Text(" " * INDENT + line), overflow="fold")


def packed(parts: list[str], width: int, gap: str = " · ") -> list[str]:
    """``parts`` joined by ``gap`` into lines of at most ``width`` terminal cells, never
    splitting a part (a part longer than ``width`` gets a line of its own)."""
    lines: list[str] = []
    for part in parts:
        if lines and cell_len(lines[-1]) + cell_len(gap) + cell_len(part) <= width:
            lines[-1] += gap + part
        else:
            lines.append(part)
    return lines


_BREAKS = re.compile("[\t\n\x0b\x0c\r ]+")


def words(line: str) -> list[str]:
    """The words of ``line`` split at ASCII spaces and tabs only: a no-break space keeps its
    two sides together (14\u00a0h, « citation »), as in the text typed."""
    return [word for word in _BREAKS.split(line) if word]


def wrapped(text: str, width: int) -> list[str]:
    """``text`` in lines of at most ``width`` terminal cells (a wide character, 漢 or 🔥,
    takes two), its own line breaks kept; a word is never cut, at a hyphen or otherwise: a
    link (a conference room's) stays whole on its line, longer than ``width`` if it must, so
    that clicking or copying it gives the whole link."""
    lines: list[str] = []
    for typed in text.splitlines():
        line = ""
        for word in words(typed):
            if line and cell_len(line) + 1 + cell_len(word) > width:
                lines.append(line)
                line = word
            else:
                line = f"{line} {word}" if line else word
        lines.append(line)
    return lines


def cell(value: Any, when: Callable[[datetime | None], str]) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, datetime) or value is None:
        return when(value)
    return str(value)
