"""`vigie list` and `vigie crisis list` in a terminal: a table when it fits, every workflow
stacked otherwise; ids always whole, nothing cut, nothing read as markup."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from rich.console import Console
from typer.testing import CliRunner

from starters.cli import app
from starters.cli_support import when
from starters.listing import CRISIS_COLUMNS, INCIDENT_COLUMNS, packed, print_terminal

STARTED = datetime(2026, 11, 30, 13, 29, tzinfo=UTC)
WEBHOOK_ID = "incident-81728d41-b57e-4857-89c6-d1e2f3a4b5c6"  # incident-<Opsgenie alert id>
INCIDENTS: list[dict[str, Any]] = [
    {
        "incident": "incident-20261130-a1b2c3", "status": "in_progress", "priority": "P1",
        "level": "gold", "breached": True, "next_due": STARTED + timedelta(hours=1),
        "t0": STARTED - timedelta(hours=2), "started": STARTED,
        "title": "Checkout API down on every site for every customer [bold]",
    },
    {
        "incident": WEBHOOK_ID, "status": "pending", "priority": "P3", "level": "bronze",
        "breached": False, "next_due": None, "t0": STARTED, "started": STARTED,
        "title": "Disk full on db-3",
    },
]  # fmt: skip
CRISES: list[dict[str, Any]] = [
    {
        "crisis": "crisis-incident-20261130-a1b2c3", "status": "active", "level": 2,
        "next_due": STARTED, "t0": STARTED, "started": STARTED, "title": "Checkout API down",
    }
]  # fmt: skip


def shown(rows: list[dict[str, Any]], columns: tuple[str, ...], width: int) -> list[str]:
    file = io.StringIO()
    console = Console(file=file, width=width, force_terminal=True, color_system=None)
    print_terminal(rows, columns, when, console)
    return [line.rstrip() for line in file.getvalue().splitlines()]


@pytest.mark.parametrize("width", [80, 100])
def test_a_narrow_terminal_gets_each_incident_stacked_whole(width: int) -> None:
    lines = shown(INCIDENTS, INCIDENT_COLUMNS, width)
    assert all(len(line) <= width for line in lines), lines
    text = "\n".join(lines)
    assert lines[0] == "incident-20261130-a1b2c3" and WEBHOOK_ID in lines
    for field in (
        "status: in_progress", "priority: P1", "level: gold", "breached: yes",
        "next due: 2026-11-30 15:29 CET", "t0: 2026-11-30 12:29 CET", "t0: 2026-11-30 14:29 CET",
        "status: pending", "level: bronze", "breached: no", "next due: —",
    ):  # fmt: skip
        assert field in text, (field, text)
    assert "Checkout API down on every site for every customer [bold]" in " ".join(
        line.strip() for line in lines
    )
    assert "…" not in text
    assert "started" not in text  # a terminal shows T0, not when the current run started


def test_a_wide_terminal_gets_a_table_with_every_column() -> None:
    lines = shown(INCIDENTS, INCIDENT_COLUMNS, 200)
    header = lines[0].split()
    assert header[:4] == ["incident", "status", "priority", "level"] and header[-1] == "title"
    row = next(line for line in lines if line.startswith(WEBHOOK_ID))
    assert "pending" in row and "bronze" in row and "Disk full on db-3" in row
    assert "…" not in "\n".join(lines)


def test_the_table_needs_about_130_columns_for_incidents() -> None:
    """As the README says, for incidents with the CLI's ids."""
    assert shown(INCIDENTS[:1], INCIDENT_COLUMNS, 125)[0] == "incident-20261130-a1b2c3"
    assert shown(INCIDENTS[:1], INCIDENT_COLUMNS, 130)[0].split()[0] == "incident"


def test_crises_too() -> None:
    narrow = shown(CRISES, CRISIS_COLUMNS, 60)
    assert narrow[0] == "crisis-incident-20261130-a1b2c3"
    assert "status: active · level: 2" in narrow[1]
    wide = shown(CRISES, CRISIS_COLUMNS, 120)
    assert wide[0].split()[:3] == ["crisis", "status", "level"]


def test_fields_are_packed_without_being_split() -> None:
    assert packed(["a: 1", "b: 22", "c: 333"], 12) == ["a: 1 · b: 22", "c: 333"]
    assert packed(["a: 1", "b: 22", "c: 333"], 11) == ["a: 1", "b: 22", "c: 333"]
    assert packed(["a very long field", "b"], 5) == ["a very long field", "b"]


@pytest.mark.parametrize("command", [["list"], ["crisis", "list"]])
def test_a_limit_below_one_is_refused(command: list[str]) -> None:
    result = CliRunner().invoke(app, [*command, "--limit", "-1"])
    assert result.exit_code == 2
    assert "--limit" in result.output


def test_the_status_of_a_major_incident_names_its_crisis(
    capsys: pytest.CaptureFixture[str],
) -> None:
    from starters.cli import show
    from tests.test_mail_render import view

    major = view(status="in_progress", major=True, crisis_id="crisis-incident-42",
                 sla_paused=False, resolution_due_at=STARTED + timedelta(hours=4))  # fmt: skip
    minor = view(status="in_progress", sla_paused=False)
    for console in (None, Console(file=io.StringIO(), width=80)):  # a pipe, a terminal
        show(major, console=console)
        lines = capsys.readouterr().out.splitlines() if console is None else taken(console)
        assert any(line.split() == ["crisis", "crisis-incident-42"] for line in lines), lines
        show(minor, console=console)
        lines = capsys.readouterr().out.splitlines() if console is None else taken(console)
        # No crisis: an empty field in a pipe, no line in a terminal.
        assert [line for line in lines if line.startswith("crisis")] == (
            ["crisis\t"] if console is None else []
        ), lines


def taken(console: Console) -> list[str]:
    """What ``console`` printed since the last call."""
    assert isinstance(console.file, io.StringIO)
    lines = console.file.getvalue().splitlines()
    console.file.seek(0)
    console.file.truncate()
    return lines


def test_the_count_is_said_in_words(capsys: pytest.CaptureFixture[str]) -> None:
    from starters.listing import print_rows

    print_rows(INCIDENTS, INCIDENT_COLUMNS, as_json=False, when=when, what="incident", query="q")
    assert " ".join(capsys.readouterr().err.split()) == "2 incidents · query: q"
    print_rows(CRISES, CRISIS_COLUMNS, as_json=False, when=when, what="crisis", query="q")
    assert " ".join(capsys.readouterr().err.split()) == "1 crisis · query: q"
    print_rows(CRISES * 2, CRISIS_COLUMNS, as_json=False, when=when, what="crisis", query="q")
    assert " ".join(capsys.readouterr().err.split()) == "2 crises · query: q"


def test_a_pipe_keeps_its_columns_and_gives_t0_last(capsys: pytest.CaptureFixture[str]) -> None:
    from starters.listing import print_rows

    print_rows(INCIDENTS, INCIDENT_COLUMNS, as_json=False, when=when, what="incident", query="q")
    first = capsys.readouterr().out.splitlines()[0].split("\t")
    assert first[6:] == [
        STARTED.isoformat(),
        "Checkout API down on every site for every customer [bold]",
        (STARTED - timedelta(hours=2)).isoformat(),
    ]


def test_a_pipe_gives_every_time_in_utc(capsys: pytest.CaptureFixture[str]) -> None:
    """An incident opened with a T0 in +01:00 publishes its next due in that offset: given
    as published, `sort` on the column put the most urgent after later ones."""
    from datetime import timezone

    from starters.listing import print_rows

    paris = timezone(timedelta(hours=1))
    row = dict(INCIDENTS[0], next_due=datetime(2026, 12, 1, 3, 55, tzinfo=paris))
    print_rows([row], INCIDENT_COLUMNS, as_json=False, when=when, what="incident", query="q")
    fields = capsys.readouterr().out.split("\t")
    assert fields[5] == "2026-12-01T02:55:00+00:00", fields
