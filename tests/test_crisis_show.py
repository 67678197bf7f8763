"""`vigie crisis status` as people and scripts read it: what is due, the cell, what was sent
and the timeline; in a pipe one tab-separated line per field and per row; in a terminal,
tables that fold rather than cut."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
from rich.console import Console

from starters.crisis_show import fields, print_lines, print_terminal
from tests.test_chat_notifications import OPENED, crisis
from workflows.crisis_models import CrisisView, Member, Milestone, Notification, Validation
from workflows.models import TimelineEntry

MANAGER = "incident-manager-on-duty@client-with-a-long-name.example.org"


def busy() -> CrisisView:
    return crisis(
        milestones=[
            Milestone(step="escalation", action="Escalade", due_at=OPENED + timedelta(minutes=30),
                      done_at=OPENED + timedelta(minutes=30), status="met", by="vigie"),
            Milestone(step="cell_opening", action="Ouverture de la cellule",
                      due_at=OPENED + timedelta(hours=1)),
        ],
        members=[Member(name="Ann Martin", email=MANAGER, role="pilot: incident manager",
                        permanent=True, participating=True)],
        notifications=[
            Notification(key=f"crisis-incident-42.{n}", kind="escalation", to=[MANAGER],
                         at=OPENED + timedelta(minutes=n), status="sent", channel="smtp")
            for n in range(12)
        ] + [Notification(key="crisis-incident-42.12", kind="status", to=[MANAGER],
                          at=OPENED + timedelta(minutes=40), status="failed",
                          detail="550 no such user\tthere")],
        timeline=[TimelineEntry(at=OPENED, kind="opened", by="im",
                                text="Crise ouverte (incident majeur, hors heures ouvrées).")],
        validations=[Validation(party="client", decision="declined", by=MANAGER,
                                role="client.management_1", at=OPENED, note="not yet")],
        mails_pending=1,
    )  # fmt: skip


def terminal(view: CrisisView, width: int) -> list[str]:
    file = io.StringIO()
    print_terminal(view, Console(file=file, width=width, color_system=None, markup=False))
    return file.getvalue().splitlines()


def test_a_pipe_gets_fields_then_a_line_per_milestone_member_notification_and_entry(
    capsys: pytest.CaptureFixture[str],
) -> None:
    print_lines(busy())
    lines = [line.split("\t") for line in capsys.readouterr().out.splitlines()]
    labels = [label for label, _ in fields(busy())]
    assert [parts[0] for parts in lines[: len(labels)]] == labels
    said = {parts[0]: parts[1] for parts in lines[: len(labels)]}
    assert said["status"] == "active" and said["t0"] == OPENED.isoformat()
    assert said["drp"] == "" and said["mails waiting"] == "1"
    rows = lines[len(labels) :]
    kinds = [parts[0] for parts in rows]
    assert kinds == (["milestone"] * 2 + ["member"] + ["validation"] + ["notification"] * 13
                     + ["timeline"])  # fmt: skip
    assert rows[3][1:] == ["client", "declined", MANAGER, "client.management_1",
                           OPENED.isoformat(), "not yet"]  # fmt: skip
    assert rows[1][1:] == ["cell_opening", (OPENED + timedelta(hours=1)).isoformat(), "",
                           "pending", "", ""]  # fmt: skip
    assert rows[2][1:] == ["Ann Martin", MANAGER, "pilot: incident manager", "yes", "yes"]
    failed = rows[-2]
    assert failed[4:6] == ["failed", ""] and failed[6] == "550 no such user there"


@pytest.mark.parametrize("width", [80, 120])
def test_a_terminal_shows_what_is_due_who_is_in_the_cell_and_what_was_sent(width: int) -> None:
    lines = terminal(busy(), width)
    assert all(len(line) <= width for line in lines), [x for x in lines if len(x) > width]
    text = "".join(line.replace("│", "").replace(" ", "") for line in lines)
    assert MANAGER in text and "…" not in "".join(lines)  # folded, never cut
    assert any("notifications: 12 sent, 1 failed, 1 waiting" in line for line in lines)
    assert any(line.startswith("latest 10 notifications") for line in lines)
    words = " ".join(" ".join(lines).replace("│", " ").split())
    assert "Crise ouverte (incident majeur, hors heures ouvrées)." in words
    assert "T0: " in words and "incident: incident-42" in words
    assert "validation: client declined by " in words and "not yet" in words


def test_the_conference_link_is_never_broken_in_a_narrow_terminal() -> None:
    """Wrapped by the console at 80 columns, the Jitsi link joined another, empty room: it
    is printed whole on its line (the terminal folds it without breaking it), as a link."""
    from workflows.crisis_models import Conference

    url = "https://meet.jit.si/crisis-incident-a1e69df2-ae49-4672-bd8d--W2ZFQYTxYVMu-eQ_VkNatH1_"
    view = crisis(conference=Conference(provider="jitsi", url=url))
    lines = terminal(view, 80)
    assert f"conference: {url}" in lines, lines
    file = io.StringIO()
    print_terminal(view, Console(file=file, width=80, force_terminal=True, color_system="standard"))
    assert "\x1b]8;id=" in file.getvalue() and url in file.getvalue()  # a terminal link


def test_urgent_changes_are_shown_open_or_done() -> None:
    from workflows.models import UrgentChange

    changes = [
        UrgentChange(id="UC-1", what="open the backup site", why="flood", by="im", at=OPENED),
        UrgentChange(id="UC-2", what="raise the quotas", why="load", by="im", at=OPENED,
                     done_at=OPENED + timedelta(minutes=5), done_by="ops", outcome="done"),
    ]  # fmt: skip
    lines = terminal(crisis(urgent_changes=changes), 120)
    assert any(line.startswith("urgent change UC-1 (open): open the backup site") for line in lines)
    assert any(line.startswith("urgent change UC-2 (done ") for line in lines), lines


def test_a_link_in_the_timeline_is_never_cut_at_a_hyphen() -> None:
    """The timeline's entry of the conference (a worklog's link too) folded at 80 columns
    cut the link after ``crisis-``: clicked, it joined another, public room."""
    url = "https://meet.jit.si/crisis-incident-20261202-4b9c34-qkZkVki1VQLxs9is6vbVlRV7"
    entry = TimelineEntry(at=OPENED, kind="conference", by="vigie",
                          text=f"Conférence ouverte sur jitsi : {url}")  # fmt: skip
    lines = terminal(crisis(timeline=[entry]), 80)
    assert any(url in line for line in lines), lines


def test_a_step_a_late_opening_moved_shows_its_target_and_when_it_is_acted_on(
    capsys: pytest.CaptureFixture[str],
) -> None:
    plan = Milestone(
        step="action_plan",
        action="Plan d'action",
        due_at=OPENED + timedelta(minutes=90),
        acts_at=OPENED + timedelta(hours=3),
    )
    view = crisis(milestones=[plan])  # fmt: skip
    lines = terminal(view, 80)
    assert all(len(line) <= 80 for line in lines)
    wide = " ".join(terminal(view, 160))
    assert "2026-12-07 04:30 CET → 2026-12-07 06:00 CET" in wide, wide
    print_lines(view)
    (row,) = [x.split("\t") for x in capsys.readouterr().out.splitlines() if x.startswith("mile")]
    assert row[2] == plan.due_at.isoformat() and row[6] == (OPENED + timedelta(hours=3)).isoformat()


def test_member_roles_from_the_matrix_are_named_not_coded() -> None:
    on_call = Member(name="Night owl", email="owl@example.com", role="provider.on_call",
                     permanent=False, participating=True)  # fmt: skip
    words = " ".join(" ".join(terminal(crisis(members=[on_call]), 120)).replace("│", " ").split())
    assert "provider technical on-call" in words and "provider.on_call" not in words, words
