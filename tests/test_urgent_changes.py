"""Urgent-change rules, without a server."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from workflows.models import CompleteUrgentChangeInput, UrgentChange
from workflows.operations import Refused
from workflows.texts import render
from workflows.urgent_changes import complete, open_change

AT = datetime(2026, 12, 1, 9, tzinfo=UTC)


def changes() -> list[UrgentChange]:
    return [UrgentChange(id="UC-1", what="open site B", why="site A down", by="im", at=AT)]


def test_completing_records_who_and_what() -> None:
    tracked = changes()
    done = complete(tracked, CompleteUrgentChangeInput(by="cm", change_id="UC-1", outcome="ok"), AT)
    assert (done.done_at, done.done_by, done.outcome) == (AT, "cm", "ok")
    assert tracked[0] is done


def test_unknown_and_finished_changes_are_refused_by_name() -> None:
    tracked = changes()
    with pytest.raises(Refused, match=r"no urgent change UC-9 \(known: UC-1\)"):
        open_change(tracked, "UC-9")
    complete(tracked, CompleteUrgentChangeInput(by="cm", change_id="UC-1", outcome="ok"), AT)
    with pytest.raises(Refused, match="UC-1 is already done"):
        open_change(tracked, "UC-1")


def test_a_refused_change_is_told_in_the_readers_language() -> None:
    """A refused Signal's timeline entry says why in the workflow's language."""
    for tracked, change_id, french in (
        ([], "UC-99", "aucun changement urgent UC-99 (connus : —)"),
        (changes(), "UC-9", "aucun changement urgent UC-9 (connus : UC-1)"),
    ):
        with pytest.raises(Refused) as caught:
            open_change(tracked, change_id)
        told = caught.value.told()
        assert render(told.pop("why"), told, "fr", "UTC") == french
    done = changes()
    complete(done, CompleteUrgentChangeInput(by="cm", change_id="UC-1", outcome="ok"), AT)
    with pytest.raises(Refused) as caught:
        open_change(done, "UC-1")
    told = caught.value.told()
    assert render(told.pop("why"), told, "fr", "UTC") == (
        "le changement urgent UC-1 est déjà réalisé"
    )
