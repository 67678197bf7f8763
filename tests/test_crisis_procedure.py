"""The crisis obligations of §4.3–§4.8 beyond the chronogram: validating the crisis situation,
who is told (security, partners), urgent changes, and the lessons-learned report's restricted
distribution (time-skipping server, real SMTP sink)."""

from __future__ import annotations

import re
from datetime import timedelta
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from temporalio.client import WorkflowFailureError, WorkflowUpdateFailedError
from temporalio.exceptions import CancelledError
from temporalio.testing import WorkflowEnvironment

from starters.dev.smtp_sink import MailSink
from tests.helpers import advance, assert_eventually, eventually, on_a_business_morning
from tests.test_crisis_chronogram import crisis_status, eventually_last, mails, start_crisis, to
from workers.settings import Settings
from workers.worker import build_worker
from workflows.crisis import CrisisWorkflow
from workflows.crisis_models import (
    AddMemberInput,
    CloseCrisisInput,
    ConfirmNominalInput,
    CrisisInput,
    DecideDrpInput,
    ServiceRestoredInput,
    SubmitRexInput,
    ValidateCrisisInput,
)
from workflows.models import CompleteUrgentChangeInput, UrgentChangeInput

PILOTS = {"incident-manager@example.com", "delivery-manager@example.com"}


def body(message: EmailMessage) -> str:
    part = message.get_body(("plain",))
    assert part is not None
    return str(part.get_content())


async def test_the_cell_request_asks_for_validation_and_the_policy_decides_without_it(
    skipping_env: WorkflowEnvironment, settings: Settings, sink: MailSink
) -> None:
    await on_a_business_morning(skipping_env)
    client = skipping_env.client
    async with build_worker(client, settings):
        crisis = await start_crisis(
            client,
            settings.task_queue,
            "crisis-validation-open",
            CrisisInput(title="ERP blocked", criterion="critical_application_blocked"),
        )
        await advance(skipping_env, timedelta(minutes=46))
        request = (await eventually(lambda: mails(sink, crisis.id, "cell_request")))[0]
        assert "Merci de confirmer, ou non, la situation de crise" in body(request)

        view = await crisis.execute_update(
            CrisisWorkflow.validate_crisis,
            ValidateCrisisInput(by="n1@client.example.org", party="client", decision="declined"),
        )
        assert view.validations[0].role == "client.management_1"
        declined = (await eventually(lambda: mails(sink, crisis.id, "validation_declined")))[0]
        assert to(declined) == PILOTS
        said = body(declined)  # who declined, so that the pilot can call them
        assert "Décision de n1@client.example.org (direction du client, niveau 1)." in said, said

        await advance(skipping_env, timedelta(minutes=15))
        await eventually(lambda: mails(sink, crisis.id, "cell_opening"))
        view = await crisis_status(crisis)
        entry = next(e for e in view.timeline if e.kind == "unvalidated")
        assert entry.sentence == "unvalidated.open"
        assert view.level == 1  # the T0+30 escalation only: "open" does not escalate


async def test_a_crisis_the_client_asked_for_does_not_ask_the_dnum_to_trigger_it(
    skipping_env: WorkflowEnvironment, settings: Settings, sink: MailSink
) -> None:
    await on_a_business_morning(skipping_env)
    client = skipping_env.client
    async with build_worker(client, settings):
        asked = CrisisInput(
            title="ERP blocked", criterion="critical_application_blocked", triggered_by="client"
        )
        crisis = await start_crisis(client, settings.task_queue, "crisis-client-triggered", asked)
        await advance(skipping_env, timedelta(minutes=46))
        request = (await eventually(lambda: mails(sink, crisis.id, "cell_confirm")))[0]
        assert "] Cellule de crise déclenchée à votre demande — ERP blocked" in request["Subject"]
        text = body(request)
        assert re.search(
            r"déclenchée à la demande du client : la cellule de crise ouvre à T0\+1 h "
            r"\(\d\d/\d\d/\d{4} \d\d:\d\d CES?T\)",
            text,
        ), text
        assert "Merci de confirmer, ou non, la situation de crise" in text
        assert "Demande à la DNUM" not in text and not mails(sink, crisis.id, "cell_request")
        view = await crisis_status(crisis)
        assert next(m for m in view.milestones if m.step == "cell_request").status == "met"


async def test_a_policy_can_escalate_an_unvalidated_crisis(
    skipping_env: WorkflowEnvironment, settings: Settings, sink: MailSink, config_dir: Path
) -> None:
    path = config_dir / "policy.toml"
    text = path.read_text(encoding="utf-8")
    anchor = 'alternate_channel = "auto"'
    assert anchor in text
    path.write_text(
        text.replace(anchor, anchor + '\nunvalidated_at_cell_opening = "escalate"'),
        encoding="utf-8",
    )
    await on_a_business_morning(skipping_env)
    client = skipping_env.client
    async with build_worker(client, settings):
        crisis = await start_crisis(
            client,
            settings.task_queue,
            "crisis-validation-escalate",
            CrisisInput(title="ERP blocked"),
        )
        await advance(skipping_env, timedelta(minutes=61))
        await eventually(lambda: mails(sink, crisis.id, "cell_opening"))
        view = await crisis_status(crisis)
        assert view.level == 2
        assert any(e.fields.get("escalation_reason") == "unvalidated" for e in view.timeline)


async def test_security_teams_and_partners_are_told(
    skipping_env: WorkflowEnvironment, settings: Settings, sink: MailSink
) -> None:
    await on_a_business_morning(skipping_env)
    client = skipping_env.client
    async with build_worker(client, settings):
        crisis = await start_crisis(
            client,
            settings.task_queue,
            "crisis-security",
            CrisisInput(title="Ransomware on file servers", criterion="virus_attack"),
        )
        alert = (await eventually(lambda: mails(sink, crisis.id, "security_alert")))[0]
        assert to(alert) == {"security@example.com", "rssi@client.example.org"}
        await crisis.execute_update(
            CrisisWorkflow.add_member,
            AddMemberInput(
                by="im", name="Hébergeur", email="noc@partner.example.net", kind="partner"
            ),
        )
        joined = (await eventually(lambda: mails(sink, crisis.id, "member_added")))[0]
        assert to(joined) == {"noc@partner.example.net"}
        # Added again, or the incident manager under another case of the address: refused,
        # said why; nobody is mailed twice, nobody listed twice.
        for name, email in (("NOC", "noc@partner.example.net"),
                            ("IM", "Incident-Manager@example.com")):  # fmt: skip
            with pytest.raises(WorkflowUpdateFailedError) as refused:
                await crisis.execute_update(
                    CrisisWorkflow.add_member,
                    AddMemberInput(by="im", name=name, email=email, kind="other"),
                )
            assert "is already in the cell" in str(refused.value.cause), refused.value.cause
        again = {"by": "im", "name": "N", "email": "NOC@partner.example.net", "kind": "partner"}
        await crisis.signal("add_member", again)
        said = (
            "Signal add_member refusé : noc@partner.example.net fait déjà partie de la cellule "
            "(Hébergeur)"
        )
        await eventually_last(crisis, "refused", said)
        view = await crisis_status(crisis)
        emails = [m.email.casefold() for m in view.members]
        assert len(emails) == len(set(emails)), emails
        assert len(mails(sink, crisis.id, "member_added")) == 1
        # A virus attack is a crisis event, not a P1 incident: the DNUM is told so.
        await advance(skipping_env, timedelta(hours=2, minutes=1))
        event = (await eventually(lambda: mails(sink, crisis.id, "crisis_event")))[0]
        assert "attaque virale" in body(event) and "P1" not in body(event)
        assert mails(sink, crisis.id, "p1_open") == []
        status = (await eventually(lambda: mails(sink, crisis.id, "status")))[0]
        assert {"noc@partner.example.net", "security@example.com"} <= to(status)


async def test_urgent_changes_are_tracked_and_the_rex_goes_to_the_restricted_list(
    skipping_env: WorkflowEnvironment, settings: Settings, sink: MailSink
) -> None:
    await on_a_business_morning(skipping_env)
    client = skipping_env.client
    async with build_worker(client, settings):
        crisis = await start_crisis(
            client, settings.task_queue, "crisis-rex", CrisisInput(title="Payments down")
        )
        view = await crisis.execute_update(
            CrisisWorkflow.request_urgent_change,
            UrgentChangeInput(by="im", what="raise the DB pool to 200", why="saturation"),
        )
        assert view.urgent_changes[0].id == "UC-1"
        change = (await eventually(lambda: mails(sink, crisis.id, "urgent_change")))[0]
        assert to(change) == {"change-manager@example.com"}
        assert "raise the DB pool to 200" in body(change)
        await crisis.execute_update(
            CrisisWorkflow.complete_urgent_change,
            CompleteUrgentChangeInput(by="cm", change_id="UC-1", outcome="pool at 200"),
        )
        await crisis.execute_update(
            CrisisWorkflow.service_restored, ServiceRestoredInput(by="referents@example.com")
        )
        # Closed before the client confirmed, as a Signal: refused, said in French.
        await crisis.signal("close_crisis", {"by": "dm", "summary": "pool fixed"})
        refused = await eventually_last(crisis, "refused")
        assert "le client n'a pas confirmé le retour au nominal" in refused.text
        assert "--without-confirmation RAISON" in refused.text
        await crisis.execute_update(
            CrisisWorkflow.confirm_nominal, ConfirmNominalInput(by="dnum@client.example.org")
        )
        view = await crisis.execute_update(
            CrisisWorkflow.close_crisis,
            CloseCrisisInput(by="delivery-manager@example.com", summary="pool fixed"),
        )
        assert view.restored is not None and view.restored.role == "provider.technical_referents"
        draft = body((await eventually(lambda: mails(sink, crisis.id, "rex_draft")))[0])
        assert "UC-1 — raise the DB pool to 200 (saturation)" in draft and "pool at 200" in draft

        await crisis.execute_update(
            CrisisWorkflow.submit_rex,
            SubmitRexInput(by="im", text="# REX\n\nRoot cause: pool too small."),
        )
        rex = (await eventually(lambda: mails(sink, crisis.id, "rex")))[0]
        assert to(rex) == {
            "incident-manager@example.com", "delivery-manager@example.com",
            "account-director@example.com", "n1@client.example.org", "dnum@client.example.org",
        }  # fmt: skip
        assert "Root cause: pool too small." in body(rex)
        result = await crisis.result()
        assert result.status == "rex_submitted"


async def test_cancel_from_temporal_tells_the_cell(
    skipping_env: WorkflowEnvironment, settings: Settings, sink: MailSink
) -> None:
    await on_a_business_morning(skipping_env)
    client = skipping_env.client
    async with build_worker(client, settings):
        crisis = await start_crisis(
            client, settings.task_queue, "crisis-cancelled", CrisisInput(title="Payments down")
        )
        await crisis.cancel()
        with pytest.raises(WorkflowFailureError) as ended:
            await crisis.result()
        assert isinstance(ended.value.cause, CancelledError)
        view = await crisis_status(crisis)
        assert view.status == "cancelled"
        assert all(m.status != "pending" for m in view.milestones)
        told = (await eventually(lambda: mails(sink, crisis.id, "cancelled")))[0]
        assert PILOTS <= to(told)


async def test_news_of_the_incident_dated_outside_the_crisis_is_refused(
    skipping_env: WorkflowEnvironment, settings: Settings, sink: MailSink
) -> None:
    """`incident_changed` is sent by the incident; typed by hand with another date, it could
    record a restoration before T0: refused and recorded, the restoration left unset."""
    await on_a_business_morning(skipping_env)
    client = skipping_env.client
    async with build_worker(client, settings):
        crisis = await start_crisis(
            client, settings.task_queue, "crisis-news-dated",
            CrisisInput(title="Payments down", incident_id="incident-news-dated"),
        )  # fmt: skip
        await crisis.signal(
            "incident_changed", {"by": "im", "event": "resolved", "at": "2020-01-01T00:00:00Z"}
        )
        view = await eventually_status(crisis, lambda v: v.timeline[-1].kind == "refused")
        assert "hors de la crise" in view.timeline[-1].text and view.restored_at is None
        now = await skipping_env.get_current_time()
        await crisis.signal(
            "incident_changed", {"by": "im", "event": "resolved", "at": now.isoformat()}
        )
        view = await eventually_status(crisis, lambda v: v.restored_at is not None)
        assert view.restored_at == now


async def eventually_status(crisis: Any, predicate: Any) -> Any:
    async def check() -> Any:
        view = await crisis_status(crisis)
        assert predicate(view), view.timeline[-3:]
        return view

    return await assert_eventually(check)


async def test_a_decision_not_to_trigger_the_drp_is_mailed_to_the_cell(
    skipping_env: WorkflowEnvironment, settings: Settings, sink: MailSink
) -> None:
    await on_a_business_morning(skipping_env)
    client = skipping_env.client
    async with build_worker(client, settings):
        crisis = await start_crisis(
            client, settings.task_queue, "crisis-drp-declined", CrisisInput(title="ERP blocked")
        )
        await crisis.execute_update(
            CrisisWorkflow.decide_drp,
            DecideDrpInput(by="im", activate=False, reason="the main site holds"),
        )
        told = (await eventually(lambda: mails(sink, crisis.id, "drp_not_activated")))[0]
        assert "PRA non déclenché" in str(told["Subject"])
        assert "PRA non déclenché : the main site holds" in body(told)
        assert PILOTS <= to(told)


async def test_a_decline_after_a_validation_withdraws_it(
    skipping_env: WorkflowEnvironment, settings: Settings, sink: MailSink
) -> None:
    await on_a_business_morning(skipping_env)
    client = skipping_env.client
    async with build_worker(client, settings):
        crisis = await start_crisis(
            client, settings.task_queue, "crisis-validation-withdrawn",
            CrisisInput(title="ERP blocked", criterion="critical_application_blocked"),
        )  # fmt: skip
        for decision in ("validated", "declined"):
            await crisis.execute_update(
                CrisisWorkflow.validate_crisis,
                ValidateCrisisInput(by="n1@client.example.org", party="client",
                                    decision=decision, note="finalement non"),
            )  # fmt: skip
        await advance(skipping_env, timedelta(minutes=61))
        await eventually(lambda: mails(sink, crisis.id, "cell_opening"))
        view = await crisis_status(crisis)
        assert any(e.kind == "unvalidated" for e in view.timeline), view.timeline
