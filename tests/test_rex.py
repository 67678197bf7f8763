"""The REX draft reads as a document in its language: French typography, decisions named in
the language, no internal names."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

from workers.matrix_file import load_matrix
from workers.policy_file import load_policy
from workflows.crisis_models import (
    CrisisState,
    DrpDecision,
    Milestone,
    StatusUpdate,
    Validation,
)
from workflows.models import TimelineEntry
from workflows.rex import rex_draft

ROOT = Path(__file__).resolve().parent.parent
T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


def state(language: str) -> CrisisState:
    return CrisisState(
        crisis_id="crisis-incident-42",
        policy=load_policy(ROOT / "config"),
        matrix=load_matrix(ROOT / "config" / "escalation_matrix.toml"),
        title="Checkout down",
        criterion="major_incident",
        incident_id="incident-42",
        t0=T0,
        triggered_by="provider",
        mail_system_affected=False,
        security_involved=False,
        business_hours_at_start=True,
        language=language,  # type: ignore[arg-type]
        time_scale=1.0,
        drp=DrpDecision(activate=False, reason="fix in sight", by="im", at=T0),
        validations=[
            Validation(party="client", decision="validated", by="dnum", at=T0),
            Validation(party="provider_admin", decision="declined", by="admin", at=T0),
        ],
        updates=[StatusUpdate(at=T0, by="im", progress="rollback", done="", remaining="")],
        timeline=[TimelineEntry(at=T0, kind="escalation", by="vigie", text="Niveau 1")],
    )


def test_the_french_draft_follows_french_typography_and_names_decisions() -> None:
    text = rex_draft(state("fr"))
    lines = text.splitlines()
    assert "- Client : validée — dnum, 01/12/2026 10:00 CET" in lines, text
    assert any(line.startswith("- Admin infogérant : non validée — admin") for line in lines)
    assert "- Critère d'activation : incident majeur ; déclenchée par l'infogérant" in lines
    assert "- 01/12/2026 10:00 CET — vigie : Niveau 1" in lines
    assert not re.search(r"\S[:;] ", text), text  # "Décision PRA : …", never "PRA: …"
    assert "[escalation]" not in text and "validated" not in text
    assert "## Actions de suivi (gestion des changements)\n\n- aucune" in text


def test_roles_and_an_event_crisis_are_named_for_people() -> None:
    s = state("fr")
    s.validations[0].role = "client.management_1"
    s.criterion, s.incident_id = "virus_attack", None
    s.milestones = [Milestone(step="escalation", action="", due_at=T0, status="met")]
    text = rex_draft(s)
    assert "(direction du client, niveau 1)" in text and "client.management_1" not in text
    assert "| T0 (début de l'événement) |" in text and "coupure" not in text
    assert "DNUM informée de la crise" in text and "P1" not in text


def test_the_english_draft_keeps_english_typography() -> None:
    text = rex_draft(state("en"))
    assert "- Client: validated — dnum, 2026-12-01 10:00 CET" in text.splitlines(), text
    assert " : " not in text.replace("| : |", "")


def test_the_steps_the_incident_reported_name_its_ticket() -> None:
    s = state("fr")
    s.milestones = [
        Milestone(step="ticket_opened", action="", due_at=T0, status="met", done_at=T0,
                  by="incident"),
    ]  # fmt: skip
    assert "| Ouverture du ticket | 01/12/2026 10:00 CET | incident-42 |" in rex_draft(s)
