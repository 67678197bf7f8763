"""Operator operations: valid ones move the incident, invalid ones are refused both ways."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
from temporalio.api.sdk.v1 import WorkflowMetadata
from temporalio.client import WorkflowFailureError, WorkflowUpdateFailedError
from temporalio.exceptions import CancelledError
from temporalio.testing import WorkflowEnvironment

from starters.dev.smtp_sink import MailSink
from tests.helpers import (
    PARIS,
    advance,
    eventually,
    open_incident,
    search_attributes,
    status,
    status_when,
)
from workers.settings import Settings
from workers.worker import build_worker
from workflows.incident import IncidentWorkflow
from workflows.models import (
    AcknowledgeInput,
    CloseInput,
    ProblemProposal,
    QualifyP1Input,
    RecategorizeInput,
    ReopenInput,
    ResolveInput,
    ResumeInput,
    SetPendingInput,
    WorklogInput,
)
from workflows.search import INCIDENT_STATUS, NEXT_DUE


async def test_invalid_operations_are_refused_as_updates_and_recorded_as_signals(
    skipping_env: WorkflowEnvironment, settings: Settings
) -> None:
    client = skipping_env.client
    async with build_worker(client, settings):
        handle = await open_incident(client, settings.task_queue)
        await status(handle)

        with pytest.raises(WorkflowUpdateFailedError) as refused:
            await handle.execute_update(IncidentWorkflow.resume, ResumeInput(by="alice"))
        assert "cannot resume: the incident is open" in str(refused.value.cause)
        with pytest.raises(WorkflowUpdateFailedError) as refused:
            await handle.execute_update(IncidentWorkflow.close, CloseInput(by="alice"))
        assert "cannot close" in str(refused.value.cause)
        # Malformed input sent as an Update: rejected, nothing recorded.
        with pytest.raises(WorkflowUpdateFailedError) as refused:
            await handle.execute_update("set_pending", {"by": "alice", "waiting_on": "martians"})
        message = str(refused.value.cause)
        assert "set_pending: waiting_on: Input should be 'customer' or 'third_party'" in message
        assert "reason: Field required" in message
        # A missing field is named in the refusal's own message, not "Failed decoding".
        with pytest.raises(WorkflowUpdateFailedError) as refused:
            await handle.execute_update("add_worklog", {"by": "alice"})
        assert refused.value.cause.message == "add_worklog: text: Field required"
        # A refusal is a person's mistake: no stack trace of the worker under it in the UI.
        failure = refused.value.cause.failure
        assert failure is not None and failure.stack_trace == ""

        # The same mistakes as Signals: recorded as refused, the workflow carries on.
        await handle.signal("resume", {"by": "bob"})
        await handle.signal("set_pending", {"by": "bob", "waiting_on": "martians", "reason": "x"})
        await handle.signal("add_worklog", "just a string")
        await handle.signal("acknowledge", {})
        view = await status_when(
            handle, lambda v: len([e for e in v.timeline if e.kind == "refused"]) == 4
        )
        texts = [e.text for e in view.timeline if e.kind == "refused"]
        assert (
            texts[0] == "Signal resume refusé : l'incident est ouvert (possible quand : en attente)"
        )
        refusal = next(e for e in view.timeline if e.kind == "refused")
        assert refusal.fields["reason"].startswith("cannot resume: the incident is open")
        # A malformed input is told in the incident's language too, field by field.
        assert texts[1] == (
            "Signal set_pending refusé : entrée invalide (waiting_on : valeur non prévue)"
        )
        assert (
            texts[2]
            == "Signal add_worklog refusé : entrée invalide (input : un objet JSON attendu)"
        )
        assert texts[3] == "Signal acknowledge refusé : entrée invalide (by : manquant)"

        # Sent with no input, or two (`temporal workflow signal` without --input, or with
        # it twice): refused by name, never a workflow task failing on every attempt.
        await handle.signal("acknowledge")
        await handle.signal("acknowledge", args=[{"by": "dan"}, {"by": "eve"}])
        view = await status_when(
            handle, lambda v: len([e for e in v.timeline if e.kind == "refused"]) == 6
        )
        texts = [e.text for e in view.timeline if e.kind == "refused"][4:]
        assert texts == [
            "Signal acknowledge refusé : une seule entrée attendue (un objet JSON), 0 reçue(s)",
            "Signal acknowledge refusé : une seule entrée attendue (un objet JSON), 2 reçue(s)",
        ]
        assert [e.by for e in view.timeline if e.kind == "refused"][4:] == ["unknown", "dan"]
        for args in ([], [{"by": "dan"}, {"by": "eve"}]):
            with pytest.raises(WorkflowUpdateFailedError) as refused:
                await handle.execute_update("acknowledge", args=args)
            assert refused.value.cause.message == (
                f"acknowledge takes one input (a JSON object), {len(args)} given"
            )

        view = await status(handle)
        assert view.status == "open"
        # Update refusals leave no trace in the timeline.
        assert not any("cannot close" in e.text for e in view.timeline)

        # And a valid Signal still works afterwards.
        await handle.signal("acknowledge", {"by": "carol", "note": "on it"})
        view = await status_when(handle, lambda v: v.status == "in_progress")
        assert view.status == "in_progress"
        assert view.timeline[-1].by == "carol"


async def test_recategorize_resolve_reopen_close(
    skipping_env: WorkflowEnvironment, settings: Settings, sink: MailSink
) -> None:
    client = skipping_env.client
    async with build_worker(client, settings):
        handle = await open_incident(client, settings.task_queue, requesters=["cust@example.org"])
        opened = await status(handle)
        assert opened.resolution_due_at == opened.opened_at + timedelta(hours=2)

        # P1 not confirmed → recategorized, deadlines recomputed from T0.
        view = await handle.execute_update(
            IncidentWorkflow.qualify_p1,
            QualifyP1Input(by="im", verdict="unconfirmed", new_priority="P3"),
        )
        assert view.priority == "P3" and view.p1_verdict == "unconfirmed"
        assert view.opened_at == opened.opened_at
        assert view.resolution_due_at != opened.resolution_due_at

        with pytest.raises(WorkflowUpdateFailedError) as refused:
            await handle.execute_update(
                IncidentWorkflow.qualify_p1, QualifyP1Input(by="im", verdict="major")
            )
        assert "cannot qualify as P1: the incident is P3" in str(refused.value.cause)
        with pytest.raises(WorkflowUpdateFailedError) as refused:
            await handle.execute_update(
                IncidentWorkflow.recategorize,
                RecategorizeInput(by="im", priority="P3", reason="same"),
            )
        assert "already P3 gold" in str(refused.value.cause)

        view = await handle.execute_update(
            IncidentWorkflow.recategorize,
            RecategorizeInput(by="im", impact="high", urgency="high", reason="whole site down"),
        )
        assert view.priority == "P1"
        assert view.resolution_due_at == opened.resolution_due_at

        await handle.execute_update(IncidentWorkflow.acknowledge, AcknowledgeInput(by="alice"))
        await handle.execute_update(
            IncidentWorkflow.add_worklog, WorklogInput(by="alice", text="restarted the pods")
        )
        view = await handle.execute_update(
            IncidentWorkflow.resolve,
            ResolveInput(
                by="alice",
                resolution="Rolled back release 4.2",
                runbook_change="Check the release notes before restarting",
                problem=ProblemProposal(reason="unknown_cause", text="memory leak not understood"),
            ),
        )
        assert view.status == "resolved" and view.resolved_at is not None
        assert view.timeline == []  # an Update answers without the story; status has it
        kinds = [e.kind for e in (await status(handle)).timeline]
        assert {"runbook_change", "problem_proposal"} <= set(kinds)

        view = await handle.execute_update(
            IncidentWorkflow.reopen, ReopenInput(by="cust", reason="errors are back")
        )
        assert view.status == "in_progress" and view.resolved_at is None
        await handle.execute_update(
            IncidentWorkflow.resolve, ResolveInput(by="alice", resolution="Fixed the leak")
        )
        await handle.execute_update(IncidentWorkflow.close, CloseInput(by="alice"))
        result = await handle.result()
        assert result.status == "closed"

        mails = await eventually(lambda: len(sink.about(handle.id)) >= 10 and sink.about(handle.id))
        problem = [m for m in mails if "Proposition d'ouverture de problème" in m["Subject"]]
        assert problem and problem[0]["To"] == "im@example.com"
        requester_mails = [m for m in mails if m["To"] == "cust@example.org"]
        ids = [m["Message-ID"] for m in requester_mails]
        assert len(set(ids)) == len(ids)
        root = mails[0]["Message-ID"]
        assert mails[0]["In-Reply-To"] is None
        assert all(m["In-Reply-To"] == root and m["References"] == root for m in mails[1:])
        assert all(handle.id in m["Subject"] for m in mails)


async def test_resolved_incident_closes_itself_after_the_quiet_period(
    skipping_env: WorkflowEnvironment, settings: Settings
) -> None:
    client = skipping_env.client
    async with build_worker(client, settings):
        handle = await open_incident(client, settings.task_queue, language="en")
        await status(handle)
        await handle.execute_update(
            IncidentWorkflow.resolve, ResolveInput(by="alice", resolution="flapping probe")
        )
        await advance(skipping_env, timedelta(days=3, minutes=1))
        result = await handle.result()
        assert result.status == "closed"
        closing = result.timeline[-1]
        assert closing.kind == "closed" and closing.by == "vigie"
        assert result.closed_at is not None and result.resolved_at is not None
        assert result.closed_at - result.resolved_at >= timedelta(days=3)
        assert result.closed_at.astimezone(PARIS)  # an aware time


async def test_cancel_from_temporal_ends_the_incident_truthfully(
    skipping_env: WorkflowEnvironment, settings: Settings, sink: MailSink
) -> None:
    """ "Request Cancellation" in the Web UI (or ``temporal workflow cancel``): the incident ends
    as cancelled, its search attribute says so, requesters and incident manager are told."""
    client = skipping_env.client
    async with build_worker(client, settings):
        handle = await open_incident(client, settings.task_queue, priority="P2")
        await handle.execute_update(IncidentWorkflow.acknowledge, AcknowledgeInput(by="alice"))
        await handle.cancel()
        with pytest.raises(WorkflowFailureError) as ended:
            await handle.result()
        assert isinstance(ended.value.cause, CancelledError)
        view = await status(handle)
        assert view.status == "cancelled" and view.closed_at is not None
        assert any(e.kind == "cancelled" for e in view.timeline)
        published = await search_attributes(handle)
        assert published[INCIDENT_STATUS.name] == "cancelled"
        assert NEXT_DUE.name not in published  # nothing falls due any more
        told = [m for m in sink.about(handle.id) if str(m["Subject"]).endswith("— Annulé")]
        assert len(told) == 1
        assert {"customer@example.org", "im@example.com"} <= {
            a.strip() for a in str(told[0]["To"]).split(",")
        }


async def details_of(handle: Any) -> str:
    meta = await handle.query("__temporal_workflow_metadata", result_type=WorkflowMetadata)
    return str(meta.current_details)


async def test_current_details_answer_what_now(
    skipping_env: WorkflowEnvironment, settings: Settings
) -> None:
    """The Web UI's current details: next deadline and time left in the business time zone,
    acknowledged or not, the pending reason, and the last refused Signal."""
    client = skipping_env.client
    async with build_worker(client, settings):
        handle = await open_incident(client, settings.task_queue, priority="P2")
        await status(handle)
        text = await details_of(handle)
        assert text.startswith("**ouvert** · P2 · Gold · Checkout API down")
        assert re.search(r"prise en compte avant : \d\d/\d\d/\d{4} \d\d:\d\d CE\S?T \(reste", text)
        await handle.execute_update(IncidentWorkflow.acknowledge, AcknowledgeInput(by="alice"))
        text = await details_of(handle)
        assert "prise en compte avant" not in text and "- pris en compte :" in text
        await handle.execute_update(
            IncidentWorkflow.set_pending,
            SetPendingInput(by="alice", waiting_on="customer", reason="logs demandés"),
        )
        assert "- en attente du client · logs demandés" in await details_of(handle)
        await handle.signal("close", {"by": "bob"})  # refused: not resolved
        await status_when(handle, lambda v: v.timeline[-1].kind == "refused")
        text = await details_of(handle)
        # The reason in the incident's language, like the rest of the details.
        assert "- dernier refus : " in text
        assert "dernier événement" not in text  # the refusal is the last event: told once
        assert not re.search(r"\w: ", text), text  # French typography: "refus : ", not "refus: "
        assert "Signal close refusé : l'incident est en attente (possible quand : résolu)" in text


async def test_an_alert_not_kept_in_step_says_why_in_the_incidents_language(
    skipping_env: WorkflowEnvironment, settings: Settings
) -> None:
    """Without an Opsgenie key (these tests' workers have none), the timeline says the alert
    is not kept in step, and why, in French."""
    async with build_worker(skipping_env.client, settings):
        handle = await open_incident(skipping_env.client, settings.task_queue, priority="P2")
        view = await status_when(handle, lambda v: any(e.kind == "alert_off" for e in v.timeline))
    [off] = [e for e in view.timeline if e.kind == "alert_off"]
    assert off.text == (
        "Alerte non tenue à jour : aucune clé d'API Opsgenie n'est configurée "
        "(VIGIE_OPSGENIE_API_KEY)"
    )


async def test_a_signal_breaking_a_rule_of_its_input_is_told_which(
    skipping_env: WorkflowEnvironment, settings: Settings
) -> None:
    """A rule across fields (verdict unconfirmed without its new priority) is said in the
    incident's language, not as a refused value."""
    async with build_worker(skipping_env.client, settings):
        handle = await open_incident(skipping_env.client, settings.task_queue, priority="P1")
        await handle.signal("qualify_p1", {"by": "im", "verdict": "unconfirmed"})
        view = await status_when(handle, lambda v: any(e.kind == "refused" for e in v.timeline))
    [refused] = [e.text for e in view.timeline if e.kind == "refused"]
    assert refused == (
        "Signal qualify_p1 refusé : entrée invalide (input : le verdict unconfirmed demande "
        "new_priority (P2 ou P3))"
    )


async def test_a_typed_said_or_event_time_out_of_range_is_refused_never_fails_a_task(
    skipping_env: WorkflowEnvironment, settings: Settings
) -> None:
    """`said` is the webhook receiver's; typed by hand with odd fields, it is refused. A
    recorded event whose time no time zone can show is told with the time as written. The
    test fails on any failed workflow task."""
    async with build_worker(skipping_env.client, settings):
        handle = await open_incident(skipping_env.client, settings.task_queue)
        await status(handle)
        odd = {"field": "note", "sentence": "opsgenie.done", "fields": {"x_at": "0001-01-01"}}
        await handle.signal("acknowledge", {"by": "m", "note": "x", "said": odd})
        nul = {"field": "note", "sentence": "opsgenie.done", "fields": {"owner": "a\x00b"}}
        await handle.signal("acknowledge", {"by": "m", "said": nul})
        edge = {"due_at": "0001-01-01T00:00:00+01:00"}
        await handle.signal(
            "record_event", {"by": "m", "text": "x", "sentence": "resumed", "fields": edge}
        )
        await handle.signal("add_worklog", {"by": "m", "text": "after"})
        view = await status_when(handle, lambda v: any(e.text == "after" for e in v.timeline))
    refused = [e.text for e in view.timeline if e.kind == "refused"]
    assert len(refused) == 2 and all("acknowledge" in r for r in refused), refused
    assert view.status == "open"
    recorded = next(e for e in view.timeline if e.fields.get("due_at") == edge["due_at"])
    assert edge["due_at"] in recorded.text
