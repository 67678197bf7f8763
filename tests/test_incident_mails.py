"""What the requesters read: each mail says what its event is, in one language, every time in
the business time zone to the minute (time-skipping server, real SMTP sink)."""

from __future__ import annotations

import re
from datetime import timedelta
from email.message import EmailMessage

from temporalio.testing import WorkflowEnvironment

from starters.dev.smtp_sink import MailSink
from tests.helpers import PARIS, eventually, open_incident, status
from workers.settings import Settings
from workers.worker import build_worker
from workflows.incident import IncidentWorkflow
from workflows.models import (
    AcknowledgeInput,
    CloseInput,
    CompleteUrgentChangeInput,
    QualifyP1Input,
    ResolveInput,
    ResumeInput,
    SetPendingInput,
    UrgentChangeInput,
    WorklogInput,
)

ISO_TIME = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}")
ENGLISH = ("Incident opened from", "Waiting on", "Resolution due", "Work resumed", "acknowledged")


def body(message: EmailMessage) -> str:
    part = message.get_body(("plain",))
    assert part is not None
    return str(part.get_content())


def subject_ends(sink: MailSink, incident_id: str, ending: str) -> list[EmailMessage]:
    return [m for m in sink.about(incident_id) if str(m["Subject"]).endswith(ending)]


async def test_resolved_mail_tells_the_resolution_not_the_runbook_note(
    skipping_env: WorkflowEnvironment, settings: Settings, sink: MailSink
) -> None:
    client = skipping_env.client
    async with build_worker(client, settings):
        handle = await open_incident(client, settings.task_queue)
        await status(handle)
        acked = await handle.execute_update(
            IncidentWorkflow.acknowledge, AcknowledgeInput(by="alice")
        )
        resolved_view = await handle.execute_update(
            IncidentWorkflow.resolve,
            ResolveInput(
                by="alice",
                resolution="Release 4.2 rolled back; payments flow again.",
                runbook_change="Internal: restart the checkout pods before any rollback.",
            ),
        )
        resolved = (await eventually(lambda: subject_ends(sink, handle.id, "— Résolu")))[0]
        text = body(resolved)
        assert "Release 4.2 rolled back; payments flow again." in text
        assert "restart the checkout pods" not in text
        # Resolved, the incident still shows the deadline it was resolved against.
        due = acked.resolution_due_at
        assert due is not None and resolved_view.resolution_due_at == due
        assert (await status(handle)).resolution_due_at == due
        local = due.astimezone(PARIS)
        assert f"Résolution avant : {local:%d/%m/%Y %H:%M %Z}" in text.splitlines(), text


async def test_french_mails_hold_no_english_and_no_raw_time(
    skipping_env: WorkflowEnvironment, settings: Settings, sink: MailSink
) -> None:
    client = skipping_env.client
    async with build_worker(client, settings):
        handle = await open_incident(client, settings.task_queue, priority="P2")
        await status(handle)
        await handle.execute_update(IncidentWorkflow.acknowledge, AcknowledgeInput(by="alice"))
        await handle.execute_update(
            IncidentWorkflow.set_pending,
            SetPendingInput(by="alice", waiting_on="customer", reason="logs demandés"),
        )
        await skipping_env.sleep(timedelta(minutes=5))
        await handle.execute_update(IncidentWorkflow.resume, ResumeInput(by="alice"))
        await handle.execute_update(
            IncidentWorkflow.add_worklog, WorklogInput(by="alice", text="cache vidé")
        )
        mails = await eventually(lambda: len(sink.about(handle.id)) >= 5 and sink.about(handle.id))
        for message in mails:
            text = body(message)
            for phrase in ENGLISH:
                assert phrase not in text, (message["Subject"], phrase, text)
            assert not ISO_TIME.search(text), text
        pending = subject_ends(sink, handle.id, "— En attente")[0]
        assert "En attente du client : logs demandés" in body(pending)
        resumed = subject_ends(sink, handle.id, "— Reprise")[0]
        assert re.search(
            r"Résolution attendue avant le \d{2}/\d{2}/\d{4} \d{2}:\d{2} CES?T", body(resumed)
        )


async def test_worklogs_stay_out_of_the_requesters_mails_when_the_policy_says_so(
    skipping_env: WorkflowEnvironment, settings: Settings, sink: MailSink
) -> None:
    policy = settings.config_dir / "policy.toml"
    text = policy.read_text(encoding="utf-8")
    assert "mail_requesters_on_worklog = true" in text
    policy.write_text(text.replace("on_worklog = true", "on_worklog = false"), encoding="utf-8")
    client = skipping_env.client
    async with build_worker(client, settings):
        handle = await open_incident(client, settings.task_queue, priority="P3")
        await handle.execute_update(IncidentWorkflow.acknowledge, AcknowledgeInput(by="alice"))
        await handle.execute_update(
            IncidentWorkflow.add_worklog, WorklogInput(by="alice", text="cache vidé")
        )
        await handle.execute_update(
            IncidentWorkflow.resolve, ResolveInput(by="alice", resolution="cache vidé")
        )
        # The resolution is mailed after the worklog would have been.
        await eventually(lambda: subject_ends(sink, handle.id, "— Résolu"))
        subjects = [str(m["Subject"]).rsplit("— ", 1)[-1] for m in sink.about(handle.id)]
        assert "Mise à jour" not in subjects and "Ticket ouvert" in subjects, subjects
        view = await status(handle)
        assert [e.text for e in view.timeline if e.kind == "worklog"] == ["cache vidé"]


async def test_english_incident_reads_english(
    skipping_env: WorkflowEnvironment, settings: Settings, sink: MailSink
) -> None:
    client = skipping_env.client
    async with build_worker(client, settings):
        handle = await open_incident(client, settings.task_queue, language="en")
        view = await status(handle)
        assert view.timeline[0].text.startswith("Incident opened from the Temporal API: P1 Gold")
        opened = (await eventually(lambda: subject_ends(sink, handle.id, "— Ticket opened")))[0]
        assert "Incident registered as P1, service level Gold." in body(opened)
        assert "Ticket ouvert" not in body(opened)


async def test_confirmed_p1_mails_the_client_every_hour_and_reminds_the_manager(
    skipping_env: WorkflowEnvironment, settings: Settings, sink: MailSink
) -> None:
    client = skipping_env.client
    async with build_worker(client, settings):
        handle = await open_incident(client, settings.task_queue)
        await status(handle)
        await handle.execute_update(IncidentWorkflow.acknowledge, AcknowledgeInput(by="alice"))
        await handle.execute_update(
            IncidentWorkflow.qualify_p1, QualifyP1Input(by="im", verdict="confirmed")
        )
        await handle.execute_update(
            IncidentWorkflow.add_worklog, WorklogInput(by="alice", text="base de données relancée")
        )
        await skipping_env.sleep(timedelta(minutes=61))
        first = (await eventually(lambda: subject_ends(sink, handle.id, "— Point de situation")))[0]
        assert "customer@example.org" in str(first["To"]) and "im@example.com" in str(first["To"])
        assert "base de données relancée" in body(first)

        # Nothing logged in the next hour: the client hears it, the manager is reminded.
        await skipping_env.sleep(timedelta(hours=1))
        reminder = (
            await eventually(
                lambda: subject_ends(sink, handle.id, "— Point de situation sans nouvelle")
            )
        )[0]
        assert str(reminder["To"]) == "im@example.com"
        second = subject_ends(sink, handle.id, "— Point de situation")
        assert len(second) == 2 and "rien de nouveau" in body(second[1])

        # Resolved: no more status mails (the close mail comes after the last one).
        await handle.execute_update(
            IncidentWorkflow.resolve, ResolveInput(by="alice", resolution="index reconstruit")
        )
        await skipping_env.sleep(timedelta(hours=2))
        await handle.execute_update(IncidentWorkflow.close, CloseInput(by="alice"))
        await eventually(lambda: subject_ends(sink, handle.id, "— Clôturé"))
        assert len(subject_ends(sink, handle.id, "— Point de situation")) == 2


async def test_urgent_change_goes_to_the_change_manager_and_is_tracked(
    skipping_env: WorkflowEnvironment, settings: Settings, sink: MailSink
) -> None:
    client = skipping_env.client
    async with build_worker(client, settings):
        handle = await open_incident(client, settings.task_queue, priority="P2")
        await status(handle)
        await handle.execute_update(
            IncidentWorkflow.request_urgent_change,
            UrgentChangeInput(by="alice", what="roll back release 4.2", why="checkout errors"),
        )
        change = (
            await eventually(
                lambda: subject_ends(sink, handle.id, "— Demande de changement urgent")
            )
        )[0]
        assert str(change["To"]) == "change-manager@example.com"
        assert "roll back release 4.2" in body(change)
        view = await handle.execute_update(
            IncidentWorkflow.complete_urgent_change,
            CompleteUrgentChangeInput(by="bob", change_id="INC-UC-1", outcome="rolled back"),
        )
        assert view.status == "open"
        assert [(c.id, c.done_by, c.outcome) for c in view.urgent_changes] == [
            ("INC-UC-1", "bob", "rolled back")
        ]
        assert view.ticket_opened_at is not None
