"""The Web UI's Current Details (pure code): what the page shows besides the start time."""

from __future__ import annotations

from datetime import timedelta

from tests.test_carry import AT, state
from tests.test_rex import T0
from tests.test_rex import state as crisis_state
from workflows.crisis_models import Milestone
from workflows.details import crisis_details, incident_details
from workflows.sla import compute_deadlines


def test_a_back_dated_incident_shows_its_t0_beside_the_ticket() -> None:
    """The UI's start is the ticket's: a deadline already passed needs T0 to be read."""
    s = state([], [])
    s.opened_at, s.ticket_opened_at = AT - timedelta(hours=2), AT
    deadlines = compute_deadlines(s.policy, s.priority, s.service_level, s.opened_at, [])
    shown = incident_details(s, deadlines, AT)
    assert "- T0 (début de la panne) : 01/12/2026 08:00 CET · ticket ouvert le 01/12/2026 " \
        "10:00 CET" in shown, shown  # fmt: skip
    s.opened_at = AT  # not back-dated: the start says it
    assert "T0" not in incident_details(s, deadlines, AT)


def test_an_event_crisis_names_its_t0_30_step_without_a_p1() -> None:
    s = crisis_state("fr")
    s.incident_id, s.criterion = None, "natural_disaster"
    s.milestones = [Milestone(step="escalation", action="", due_at=T0 + timedelta(minutes=30))]
    shown = crisis_details(s, T0, None)
    assert "P1" not in shown and "DNUM informée de la crise" in shown, shown
