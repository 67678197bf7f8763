"""`vigie status` as people and scripts read it: in a pipe one tab-separated line per field
and per timeline entry; in a terminal the timeline as a table when it fits, each entry
stacked otherwise; nothing cut, typed line breaks kept, nothing read as markup."""

from __future__ import annotations

import io
import json
import sys
from datetime import UTC, datetime, timedelta

import pytest
from rich.cells import cell_len
from rich.console import Console

from starters.incident_show import fields, print_lines, print_terminal
from workflows.models import IncidentView, TimelineEntry

AT = datetime(2026, 11, 30, 13, 29, tzinfo=UTC)
AUTHOR = "alice.martin-dupont@example.org"
NOTE = (
    "Base de données de facturation redémarrée [bold]sur le nœud 2[/bold] après la bascule; "
    "les exports de la nuit sont relancés un par un\tpour vérifier les totaux"
)


def view(**changes: object) -> IncidentView:
    base = IncidentView(
        incident_id="incident-81728d41-b57e-4857-89c6-d1e2f3a4b5c6",
        status="resolved",
        priority="P2",
        service_level="silver",
        title="Invoices export fails",
        category="batch",
        description="Since 02:00",
        application="billing",
        requesters=["a@example.org"],
        source="cli",
        opened_at=AT,
        ack_due_at=AT + timedelta(minutes=30),
        acknowledged_at=AT + timedelta(minutes=4),
        resolution_due_at=AT + timedelta(hours=8),
        resolved_at=AT + timedelta(hours=2),
        closed_at=None,
        sla_paused=False,
        waiting_on=None,
        ack_breached=False,
        resolution_breached=True,
        major=False,
        p1_verdict=None,
        missing_fields=[],
        policy_version=1,
        mails_pending=2,
        timeline=[
            TimelineEntry(at=AT, kind="opened", by="cli", text="Ticket ouvert"),
            TimelineEntry(at=AT + timedelta(minutes=4), kind="worklog", by=AUTHOR, text=NOTE),
            TimelineEntry(
                at=AT + timedelta(hours=2), kind="resolved", by=AUTHOR, text="Résolu :\nrelance"
            ),
        ],
    )
    return base.model_copy(update=changes)


def terminal(shown: IncidentView, width: int) -> list[str]:
    file = io.StringIO()
    console = Console(file=file, width=width, color_system=None, markup=False, emoji=False)
    print_terminal(shown, console)
    return file.getvalue().splitlines()


def test_a_pipe_gets_one_tab_separated_line_per_field_and_per_entry(
    capsys: pytest.CaptureFixture[str],
) -> None:
    print_lines(view())
    lines = capsys.readouterr().out.splitlines()
    labelled = [line.split("\t") for line in lines if not line.startswith("timeline\t")]
    assert all(len(parts) == 2 for parts in labelled), labelled
    said = dict(labelled)
    assert list(said) == [label for label, _ in fields(view())]  # every field, always there
    assert said["status"] == "resolved" and said["breached"] == "resolution"
    assert said["acknowledged"] == "2026-11-30T13:33:00+00:00"  # ISO 8601, with its offset
    assert said["closed"] == "" and said["paused"] == "no" and said["mails waiting"] == "2"
    entries = [line.split("\t") for line in lines if line.startswith("timeline\t")]
    assert [len(parts) for parts in entries] == [5, 5, 5]  # a typed tab is a space
    assert entries[1] == ["timeline", "2026-11-30T13:33:00+00:00", "worklog", AUTHOR,
                          NOTE.replace("\t", " ")]  # fmt: skip
    assert entries[2][4] == "Résolu : relance"  # one line per entry, whatever was typed


def test_a_paused_clock_leaves_the_resolution_due_empty_in_a_pipe(
    capsys: pytest.CaptureFixture[str],
) -> None:
    print_lines(view(status="pending", sla_paused=True, waiting_on="customer"))
    said = dict(line.split("\t", 1) for line in capsys.readouterr().out.splitlines())
    assert said["resolution due"] == "" and said["paused"] == "yes"
    assert said["waiting on"] == "customer"


@pytest.mark.parametrize("width", [60, 80, 100])
def test_a_narrow_terminal_stacks_the_entries_and_cuts_nothing(width: int) -> None:
    lines = terminal(view(), width)
    assert all(len(line) <= width for line in lines), lines
    heading = f"2026-11-30 14:33 CET · worklog · {AUTHOR}"
    if len(heading) <= width:
        assert heading in lines
    else:  # the author on a line of its own, whole
        assert lines[lines.index("2026-11-30 14:33 CET · worklog") + 1] == AUTHOR
    words = " ".join(line.strip() for line in lines)
    assert "…" not in words
    assert view().incident_id in "".join(line.strip() for line in lines)  # folded, whole
    assert " ".join(NOTE.split()) in " ".join(words.split())  # every word, markup as typed
    at = lines.index("  Résolu :")  # the typed line break kept
    assert lines[at + 1] == "  relance"
    resolution = "resolution due  2026-11-30 22:29 CET · resolved 2026-11-30 16:29 CET"
    if width >= 80:  # a deadline and what met it, on one line
        assert resolution in [line.rstrip() for line in lines]


@pytest.mark.parametrize("width", [60, 80, 100, 120])
def test_wide_characters_count_for_two_cells(width: int) -> None:
    """漢 or 🔥 takes two cells of a terminal: a link with them that fits the table's text
    column by its characters but not by its cells is not folded there (cut), the timeline is
    stacked and the link printed whole; a line of wide words is no wider than the terminal."""
    link = "https://meet.example.org/会議室-障害対応-データベース"
    words = ["障害対応中", "データベース", "再起動済み🔥"] * 8
    shown = view(timeline=[
        TimelineEntry(at=AT, kind="worklog", by="運用チーム🔥", text=f"salle : {link}"),
        TimelineEntry(at=AT, kind="worklog", by="運用チーム🔥", text=" ".join(words)),
    ])  # fmt: skip
    lines = terminal(shown, width)
    assert any(link in line for line in lines), lines
    assert all(cell_len(line) <= width for line in lines if link not in line), lines
    told = " ".join(line.strip("│ ") for line in lines).split()
    assert all(word in told for word in words), told


def test_a_no_break_space_keeps_its_two_sides_together() -> None:
    from starters.listing import wrapped

    typed = "Reprise prévue à 14\u00a0h\u00a0: bascule «\u202fDNS\u202f» terminée"
    lines = wrapped(typed, 16)
    assert any("14\u00a0h\u00a0:" in line for line in lines), lines  # never at a line's end
    assert any("«\u202fDNS\u202f»" in line for line in lines), lines
    assert " ".join(lines) == typed


def test_a_wide_terminal_gets_the_timeline_as_a_table() -> None:
    lines = terminal(view(), 160)
    assert all(len(line) <= 160 for line in lines)
    header = next(line for line in lines if "┃ at" in line)
    assert [cell.strip() for cell in header.strip("┃").split("┃")] == ["at", "kind", "by", "text"]
    row = next(line for line in lines if "│ 2026-11-30 14:33 CET" in line)
    assert f"│ {AUTHOR} │" in row and "…" not in "".join(lines)


def test_an_operation_answer_without_its_timeline_says_where_to_read_it() -> None:
    lines = terminal(view(timeline=[]), 80)
    assert lines[-1] == "timeline: vigie status incident-81728d41-b57e-4857-89c6-d1e2f3a4b5c6"


def test_direction_controls_print_as_escapes(monkeypatch: pytest.MonkeyPatch) -> None:
    """A typed U+202E would print the rest of its line backwards ("fdp.exe" as "exe.pdf"):
    every command (the app's callback) writes it as an escape, the same string in JSON."""
    from starters.cli import app
    from starters.cli_support import show_direction_controls

    assert app.registered_callback is not None
    assert app.registered_callback.callback.__name__ == "_output"  # type: ignore[union-attr]
    buffer = io.StringIO()
    monkeypatch.setattr(sys, "stdout", buffer)
    show_direction_controls()
    show_direction_controls()  # once is enough
    print("Facture \u202efdp.exe\tok")
    Console(file=None, force_terminal=False).print("titre \u2066x\u2069")
    assert buffer.getvalue() == "Facture \\u202efdp.exe\tok\ntitre \\u2066x\\u2069\n"
    assert json.loads('"' + "Facture \\u202efdp" + '"') == "Facture \u202efdp"
