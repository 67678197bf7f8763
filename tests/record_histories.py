"""Records workflow histories for the replay tests:
``python -m tests.record_histories TAG [SCENARIO...]`` (every scenario unless named).

Run it before changing workflow code, commit the JSON files it writes to
``tests/histories/`` (``<scenario>_<TAG>.json``), and the replay tests then
prove the new code still replays incidents that were started by the old one.
It never overwrites a stored history: older behaviour stays covered.
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
import uuid
from datetime import timedelta
from email.message import EmailMessage
from functools import partial
from pathlib import Path
from typing import Any

import httpx
from pydantic import SecretStr
from temporalio.api.common.v1 import Payload
from temporalio.client import (
    Client,
    WorkflowExecutionStatus,
    WorkflowFailureError,
    WorkflowHandle,
    WorkflowQueryFailedError,
)
from temporalio.common import RawValue
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.service import RPCError
from temporalio.testing import WorkflowEnvironment

from activities.providers.opsgenie.client import OpsgenieApi, OpsgenieConfig
from activities.providers.smtp import RecipientsRefused, SmtpTransport
from starters.dev.opsgenie_standin import OpsgenieStandIn
from starters.dev.smtp_sink import MailSink
from tests.conftest import BIN, TEST_POLICY_CHANGES, free_port
from tests.helpers import advance, open_incident, status, status_when
from workers.settings import DEFAULT_CONFIG_DIR, Settings
from workers.worker import build_worker, smtp_transport
from workflows.incident import IncidentWorkflow
from workflows.models import (
    AcknowledgeInput,
    CloseInput,
    IncidentView,
    ProblemProposal,
    QualifyP1Input,
    RecategorizeInput,
    ReopenInput,
    ResolveInput,
    ResumeInput,
    SetPendingInput,
    WorklogInput,
)
from workflows.oncall_readiness import OnCallReadinessWorkflow, ReadinessInput
from workflows.search import SEARCH_ATTRIBUTES

HISTORIES = Path(__file__).parent / "histories"


async def lifecycle(env: WorkflowEnvironment, queue: str) -> WorkflowHandle[object, object]:
    handle = await open_incident(env.client, queue, service_level="silver", priority="P2")
    await status(handle)
    await handle.execute_update(IncidentWorkflow.acknowledge, AcknowledgeInput(by="alice"))
    await handle.signal("add_worklog", {"by": "alice", "text": "looking at the logs"})
    await handle.signal("add-worklog", {"by": "alice", "text": "typo"})  # refused: unknown
    await handle.execute_update(
        IncidentWorkflow.set_pending,
        SetPendingInput(by="alice", waiting_on="third_party", reason="vendor ticket 1234"),
    )
    await advance(env, timedelta(hours=2))
    await handle.signal("close", {"by": "bob"})  # refused: not resolved yet
    await handle.execute_update(IncidentWorkflow.resume, ResumeInput(by="alice"))
    await handle.execute_update(
        IncidentWorkflow.add_worklog, WorklogInput(by="alice", text="vendor fixed the DNS")
    )
    await handle.execute_update(
        IncidentWorkflow.resolve,
        ResolveInput(
            by="alice",
            resolution="DNS record restored",
            problem=ProblemProposal(reason="recurring", text="third DNS outage this month"),
        ),
    )
    await handle.execute_update(IncidentWorkflow.reopen, ReopenInput(by="c", reason="back again"))
    await handle.execute_update(IncidentWorkflow.resolve, ResolveInput(by="a", resolution="TTL"))
    await handle.execute_update(IncidentWorkflow.close, CloseInput(by="alice"))
    await handle.result()
    return handle


async def breach(env: WorkflowEnvironment, queue: str) -> WorkflowHandle[object, object]:
    handle = await open_incident(env.client, queue)
    await status(handle)
    await advance(env, timedelta(minutes=16))
    await handle.execute_update(
        IncidentWorkflow.qualify_p1, QualifyP1Input(by="im", verdict="confirmed")
    )
    await handle.execute_update(IncidentWorkflow.acknowledge, AcknowledgeInput(by="alice"))
    await advance(env, timedelta(hours=3))
    await handle.execute_update(IncidentWorkflow.resolve, ResolveInput(by="a", resolution="ok"))
    await advance(env, timedelta(days=3, hours=1))
    await handle.result()
    return handle


async def priority_echo(env: WorkflowEnvironment, queue: str) -> WorkflowHandle[object, object]:
    """Vigie sets P3 on the incident's alert, Opsgenie's UpdatePriority webhook of it comes
    back (its own echo), then a person's change made in Opsgenie."""
    handle = await open_incident(env.client, queue, service_level="silver", priority="P2")
    await status(handle)
    await handle.execute_update(
        IncidentWorkflow.recategorize, RecategorizeInput(by="im", priority="P3", reason="less")
    )
    await status_when(handle, lambda v: v.alert_changes_pending == 0 and v.priority == "P3")
    echo = {"by": "standin", "via": "opsgenie", "opsgenie_priority": "P3", "reason": "P3"}
    await handle.signal("recategorize", echo)
    await handle.signal("recategorize", {**echo, "by": "ann", "opsgenie_priority": "P2"})
    await status_when(handle, lambda v: v.priority == "P2")
    await handle.terminate("recorded")
    return handle


async def _closed_then_created(
    env: WorkflowEnvironment, queue: str, opening: dict[str, Any], created: dict[str, Any]
) -> WorkflowHandle[object, object]:
    """An alert's Close reaches Vigie first (the incident opens resolved), then its Create."""
    from workflows.models import IncidentInput

    handle = await env.client.start_workflow(
        IncidentWorkflow.run,
        IncidentInput(title="Payment API 500s", opened_by="opsgenie", source="opsgenie",
                      **opening),
        id=f"incident-recorded-{uuid.uuid4().hex[:8]}",
        task_queue=queue,
        start_signal="resolve",
        start_signal_args=[ResolveInput(by="ann", resolution="fixed by restart")],
    )  # fmt: skip
    await status_when(handle, lambda v: v.status == "resolved")
    await handle.signal("alert_created", {"by": "ann", "via": "opsgenie", **created})
    await handle.signal("add_worklog", {"by": "ann", "text": "after the Create"})
    await status_when(handle, lambda v: v.mails_pending == 0 and "after the Create" in str(v))
    await handle.terminate("recorded")
    return handle


async def create_after_close(
    env: WorkflowEnvironment, queue: str
) -> WorkflowHandle[object, object]:
    """The Create fills in a field and requesters."""
    return await _closed_then_created(
        env, queue, {"priority": "P2", "service_level": "silver"},
        {"category": "app", "requesters": ["req1@example.org", "req2@example.org"]},
    )  # fmt: skip


async def create_after_close_class(
    env: WorkflowEnvironment, queue: str
) -> WorkflowHandle[object, object]:
    """The Close said no class (P3, the default level); the Create names a P1 gold and a
    requester."""
    return await _closed_then_created(
        env, queue, {"service_level": "bronze", "service_level_defaulted": True},
        {"opsgenie_priority": "P1", "service_level": "gold", "requesters": ["req1@example.org"]},
    )  # fmt: skip


async def breach_voided(env: WorkflowEnvironment, queue: str) -> WorkflowHandle[object, object]:
    """A gold P1 at night breaches its acknowledgement deadline, then is made a P3 (business
    hours): the breach no longer counts."""
    from tests.test_incident_on_call import saturday_night

    await saturday_night(env)
    handle = await open_incident(env.client, queue)
    await status(handle)
    await advance(env, timedelta(minutes=16))
    await status_when(handle, lambda v: v.ack_breached)
    await handle.execute_update(
        IncidentWorkflow.recategorize, RecategorizeInput(by="im", priority="P3", reason="one")
    )
    await status_when(handle, lambda v: v.mails_pending == 0 and v.alert_changes_pending == 0)
    await handle.terminate("recorded")
    return handle


async def requesters_cases(env: WorkflowEnvironment, queue: str) -> WorkflowHandle[object, object]:
    """An incident opened with a requester, then its alert's Create naming the same address
    in another case: what the workflow decodes from its history must not change (a dedupe in
    the input's type would take the second spelling out on replay)."""
    handle = await open_incident(env.client, queue, requesters=["paie@client.example.org"])
    await status(handle)
    await handle.signal(
        "alert_created",
        {"by": "ann", "via": "opsgenie",
         "requesters": ["paie@client.example.org", "Paie@client.example.org"]},
    )  # fmt: skip
    await handle.signal("add_worklog", {"by": "ann", "text": "after the Create"})
    await status_when(handle, lambda v: v.mails_pending == 0 and "after the Create" in str(v))
    await handle.terminate("recorded")
    return handle


async def stale_priority(env: WorkflowEnvironment, queue: str) -> WorkflowHandle[object, object]:
    """Opsgenie delivers a priority change, then an older one."""
    from workflows.models import opsgenie_delivery

    handle = await open_incident(env.client, queue, priority="P3")
    await status(handle)
    change = {"by": "ann", "via": "opsgenie", "reason": "changed in Opsgenie"}
    t = 1_764_570_000_000_000_000
    for priority, at in (("P1", t), ("P2", t - 2_000_000_000)):
        key = opsgenie_delivery("UpdatePriority", at)
        await handle.signal(
            "recategorize", {**change, "opsgenie_priority": priority, "delivery": key}
        )
    await handle.signal("add_worklog", {"by": "ann", "text": "after the changes"})
    await status_when(handle, lambda v: v.mails_pending == 0 and "after the changes" in str(v))
    await handle.terminate("recorded")
    return handle


async def priority_settles(env: WorkflowEnvironment, queue: str) -> WorkflowHandle[object, object]:
    """An incident opened with no priority (asked for): Opsgenie sets the P3 it has, then
    delivers an older P1 change, then the alert's late Create with its first P1."""
    from workflows.models import opsgenie_delivery

    handle: WorkflowHandle[object, object] = await env.client.start_workflow(
        "IncidentWorkflow",
        {"title": "Disk full on db-3", "service_level": "gold", "source": "opsgenie"},
        id=f"incident-record-{uuid.uuid4().hex[:8]}",
        task_queue=queue,
    )
    await status(handle)
    change = {"by": "ann", "via": "opsgenie", "reason": "changed in Opsgenie"}
    t = 1_764_570_000_000_000_000
    for priority, at in (("P3", t), ("P1", t - 2_000_000_000)):
        key = opsgenie_delivery("UpdatePriority", at, "d")
        await handle.signal(
            "recategorize", {**change, "opsgenie_priority": priority, "delivery": key}
        )
    await handle.signal(
        "alert_created",
        {"by": "monitoring", "via": "opsgenie", "opsgenie_priority": "P1",
         "requesters": ["ops@example.org"],
         "delivery": opsgenie_delivery("Create", t - 60_000_000_000, "d")},
    )  # fmt: skip
    await status_when(handle, lambda v: v.mails_pending == 0 and bool(v.requesters))
    await handle.terminate("recorded")
    return handle


async def priority_held_back(
    env: WorkflowEnvironment, queue: str, standin: OpsgenieStandIn
) -> WorkflowHandle[object, object]:
    """Vigie's P3 held back by a 503 while P2 is set in Opsgenie; then P3 lands and its echo
    comes back."""
    from workflows.models import opsgenie_delivery

    handle = await open_incident(env.client, queue, priority="P2")
    await status_when(handle, lambda v: v.alert_changes_pending == 0 and v.mails_pending == 0)
    standin.faults = [503] * 3
    await handle.execute_update(
        IncidentWorkflow.recategorize, RecategorizeInput(by="im", priority="P3", reason="r")
    )
    await status_when(handle, lambda v: bool(v.retrying))
    t = 1_764_570_000_000_000_000
    change = {"by": "ann", "via": "opsgenie", "reason": "P2"}
    for priority, at in (("P2", t), ("P3", t + 5_000_000_000)):
        await handle.signal(
            "recategorize",
            {**change, "opsgenie_priority": priority,
             "delivery": opsgenie_delivery("UpdatePriority", at, "d")},
        )  # fmt: skip
        if priority == "P2":
            await status_when(handle, lambda v: v.priority == "P2")
            await advance(env, timedelta(minutes=5))
            await status_when(handle, lambda v: v.alert_changes_pending == 0 and not v.retrying)
    await handle.signal("add_worklog", {"by": "ann", "text": "after the echo"})
    await status_when(
        handle,
        lambda v: (
            v.mails_pending == 0 and v.alert_changes_pending == 0 and "after the echo" in str(v)
        ),
    )
    await handle.terminate("recorded")
    return handle


async def crisis_end_after_close(
    env: WorkflowEnvironment, queue: str
) -> WorkflowHandle[object, object]:
    """An incident closed, still sending its last mails, when its crisis's end is told."""
    from workflows.models import CloseInput, ResolveInput

    handle = await open_incident(env.client, queue, priority="P2")
    await status(handle)
    await handle.execute_update(IncidentWorkflow.resolve, ResolveInput(by="im", resolution="ok"))
    await handle.execute_update(IncidentWorkflow.close, CloseInput(by="im"))
    await handle.signal(
        "record_event", {"by": "im", "kind": "crisis_closed", "text": "Crise close : ok"}
    )
    await handle.result()
    return handle


async def own_kind_recorded(env: WorkflowEnvironment, queue: str) -> WorkflowHandle[object, object]:
    """Events sent from outside under the kinds "resolved" and "worklog", then an ordinary
    one."""
    handle = await open_incident(env.client, queue, priority="P3")
    await status(handle)
    await handle.signal("record_event", {"by": "mallory", "kind": "resolved", "text": "x"})
    await handle.signal("record_event", {"by": "eve", "kind": "worklog", "text": "forged"})
    await handle.signal("record_event", {"by": "ann", "kind": "event", "text": "vendor"})
    await status_when(handle, lambda v: v.mails_pending == 0 and "vendor" in str(v))
    await handle.terminate("recorded")
    return handle


async def tagged_level(env: WorkflowEnvironment, queue: str) -> WorkflowHandle[object, object]:
    """A gold incident (its level known) gets a level tag sl:silver added in Opsgenie."""
    handle = await open_incident(env.client, queue, service_level="gold", priority="P3")
    await status(handle)
    await handle.signal(
        "recategorize",
        {"by": "carol", "via": "opsgenie", "service_level": "silver", "reason": "tag"},
    )
    await handle.signal("add_worklog", {"by": "ann", "text": "after the tag"})
    await status_when(handle, lambda v: v.mails_pending == 0 and "after the tag" in str(v))
    await handle.terminate("recorded")
    return handle


async def update_burst(env: WorkflowEnvironment, queue: str) -> WorkflowHandle[object, object]:
    """An incident with no requesters (no mail per worklog) takes 205 Updates, then the first
    one again under its id."""
    handle = await open_incident(env.client, queue, priority="P3", requesters=[])
    await status(handle)
    for n in range(205):
        await handle.execute_update(
            "add_worklog", {"by": "ann", "text": f"step {n}"}, id=f"w-{n}",
            result_type=IncidentView,
        )  # fmt: skip
    await handle.execute_update(
        "add_worklog", {"by": "ann", "text": "step 0"}, id="w-0", result_type=IncidentView
    )
    await status_when(handle, lambda v: v.mails_pending == 0)
    await handle.terminate("recorded")
    return handle


async def level_changed(env: WorkflowEnvironment, queue: str) -> WorkflowHandle[object, object]:
    """An incident's service level changed in Vigie: the alert's tag follows."""
    handle = await open_incident(env.client, queue, service_level="gold", priority="P3")
    await status(handle)
    await handle.execute_update(
        IncidentWorkflow.recategorize,
        RecategorizeInput(by="im", service_level="silver", reason="contract"),
    )
    await status_when(handle, lambda v: v.alert_changes_pending == 0 and v.mails_pending == 0)
    await handle.terminate("recorded")
    return handle


async def made_p1_then_p2(client: Client, queue: str) -> WorkflowHandle[Any, Any]:
    """A P3 made a P1 by recategorization, then not confirmed as one (a P2 from then on)."""
    handle = await open_incident(client, queue, priority="P3")
    await status(handle)
    await handle.execute_update(
        IncidentWorkflow.recategorize,
        RecategorizeInput(by="im", priority="P1", reason="every customer blocked"),
    )
    await handle.execute_update(
        IncidentWorkflow.qualify_p1,
        QualifyP1Input(by="im", verdict="unconfirmed", new_priority="P2"),
    )
    return handle


async def resolved_and_closed(handle: WorkflowHandle[Any, Any]) -> None:
    await handle.execute_update(IncidentWorkflow.resolve, ResolveInput(by="a", resolution="ok"))
    await handle.execute_update(IncidentWorkflow.close, CloseInput(by="alice"))
    await handle.result()


async def recategorized(env: WorkflowEnvironment, queue: str) -> WorkflowHandle[object, object]:
    """A P3 made a P1, then not confirmed as one: its task queue key follows (the test
    server does not know the call, so the activity says it was refused)."""
    handle = await made_p1_then_p2(env.client, queue)
    await resolved_and_closed(handle)
    return handle


async def started_crisis(
    env: WorkflowEnvironment, queue: str, input: Any
) -> WorkflowHandle[Any, Any]:
    """A crisis started on its own, once it answers its status query."""
    from workflows.crisis import CrisisWorkflow

    handle = await env.client.start_workflow(
        CrisisWorkflow.run, input, id=f"crisis-recorded-{uuid.uuid4().hex[:8]}", task_queue=queue
    )
    for _ in range(100):
        try:
            await handle.query(CrisisWorkflow.status)
            break
        except Exception:
            await asyncio.sleep(0.1)
    return handle


async def crisis_when(handle: WorkflowHandle[Any, Any], predicate: Any) -> None:
    """Waits (real time, at most 10 s) until the crisis's status matches ``predicate``."""
    from workflows.crisis import CrisisWorkflow

    for _ in range(100):
        try:
            view = await handle.query(CrisisWorkflow.status)
        except Exception:
            view = None  # a query that met the time skipping: asked again
        if view is not None and predicate(view):
            return
        await asyncio.sleep(0.1)


def _step(view: Any, step: str) -> Any:
    return next(m for m in view.milestones if m.step == step)


async def crisis(env: WorkflowEnvironment, queue: str) -> WorkflowHandle[object, object]:
    """A crisis on its own (the time-skipping server cannot run an incident signalling its
    child crisis), through every operation."""
    from workflows.crisis import CrisisWorkflow
    from workflows.crisis_models import (
        AddMemberInput,
        CloseCrisisInput,
        ConfirmNominalInput,
        CrisisInput,
        DecideDrpInput,
        PostUpdateInput,
        ServiceRestoredInput,
        SubmitRexInput,
        ValidateCrisisInput,
    )
    from workflows.models import CompleteUrgentChangeInput, UrgentChangeInput

    handle = await started_crisis(
        env, queue, CrisisInput(title="Payments down", context="security intrusion suspected")
    )
    await advance(env, timedelta(minutes=50))
    await handle.execute_update(
        CrisisWorkflow.validate_crisis,
        ValidateCrisisInput(by="n1@client.example.org", party="client", decision="validated"),
    )
    await handle.execute_update(
        CrisisWorkflow.add_member,
        AddMemberInput(by="im", name="NOC", email="noc@partner.example.net", kind="partner"),
    )
    again = {"by": "im", "name": "NOC", "email": "NOC@partner.example.net", "kind": "partner"}
    await handle.signal("add_member", again)  # refused: already in the cell
    await handle.execute_update(
        CrisisWorkflow.request_urgent_change,
        UrgentChangeInput(by="im", what="open site B", why="site A down"),
    )
    await handle.execute_update(
        CrisisWorkflow.decide_drp, DecideDrpInput(by="im", activate=True, reason="site B")
    )
    await handle.execute_update(
        CrisisWorkflow.complete_urgent_change,
        CompleteUrgentChangeInput(by="cm", change_id="UC-1", outcome="site B open"),
    )
    await handle.signal("post_update", {"by": "im", "progress": "failover running"})
    await advance(env, timedelta(hours=2))
    await handle.execute_update(CrisisWorkflow.service_restored, ServiceRestoredInput(by="im"))
    await handle.execute_update(
        CrisisWorkflow.post_update, PostUpdateInput(by="im", progress="users back")
    )
    await advance(env, timedelta(hours=1))
    await handle.execute_update(
        CrisisWorkflow.confirm_nominal, ConfirmNominalInput(by="dnum@client.example.org")
    )
    await handle.execute_update(
        CrisisWorkflow.close_crisis, CloseCrisisInput(by="dm", summary="back on site A")
    )
    await advance(env, timedelta(days=1, minutes=5))
    await handle.execute_update(
        CrisisWorkflow.submit_rex, SubmitRexInput(by="im", link="https://wiki/rex")
    )
    await handle.result()
    return handle  # type: ignore[return-value]


async def crisis_alerts_closed(
    env: WorkflowEnvironment, queue: str
) -> WorkflowHandle[object, object]:
    """A crisis of the mail system: its notifications go out as Opsgenie alerts, which are
    closed when it closes (the closing one once sent), then its REX."""
    from workflows.crisis import CrisisWorkflow
    from workflows.crisis_models import (
        CloseCrisisInput,
        ConfirmNominalInput,
        CrisisInput,
        SubmitRexInput,
    )

    handle = await started_crisis(
        env, queue, CrisisInput(title="Exchange down", mail_system_affected=True)
    )
    await advance(env, timedelta(minutes=31))
    await handle.execute_update(CrisisWorkflow.confirm_nominal, ConfirmNominalInput(by="n1"))
    await handle.execute_update(
        CrisisWorkflow.close_crisis, CloseCrisisInput(by="dm", summary="Exchange back")
    )
    for _ in range(200):
        view = await handle.query(CrisisWorkflow.status)
        carried = [n for n in view.notifications if n.channel == "opsgenie"]
        if any(n.kind == "closing" for n in carried) and all(n.alert_closed for n in carried):
            break
        await asyncio.sleep(0.1)
    else:
        raise RuntimeError("the crisis's alerts were not closed: nothing recorded")
    await handle.execute_update(
        CrisisWorkflow.submit_rex, SubmitRexInput(by="im", link="https://wiki/rex")
    )
    await handle.result()
    return handle  # type: ignore[return-value]


async def crisis_operator_edges(
    env: WorkflowEnvironment, queue: str
) -> WorkflowHandle[object, object]:
    """A crisis of an incident through the operators' edge cases: a validation withdrawn,
    the DRP not triggered, an escalation past the last level, news dated before T0."""
    from workflows.crisis import CrisisWorkflow
    from workflows.crisis_models import CrisisInput, DecideDrpInput, ValidateCrisisInput

    handle = await started_crisis(
        env, queue, CrisisInput(title="Payments down", incident_id="incident-recorded-edges")
    )
    for decision in ("validated", "declined"):
        await handle.execute_update(
            CrisisWorkflow.validate_crisis,
            ValidateCrisisInput(by="n1@client.example.org", party="client", decision=decision),
        )
    await handle.execute_update(
        CrisisWorkflow.decide_drp, DecideDrpInput(by="im", activate=False, reason="site A holds")
    )
    await handle.signal(
        "incident_changed", {"by": "im", "event": "resolved", "at": "2020-01-01T00:00:00Z"}
    )
    for _ in range(4):  # the T0+30 step done early, levels 2 and 3, then refused
        await handle.signal("escalate", {"by": "im", "reason": "client must know"})
    for _ in range(100):
        try:
            view = await handle.query(CrisisWorkflow.status)
        except Exception:
            view = None  # a query that met the time skipping: asked again
        if (
            view is not None
            and view.mails_pending == 0
            and (sum(e.kind == "refused" for e in view.timeline) >= 2)
        ):
            break
        await asyncio.sleep(0.1)
    await handle.terminate("recorded")
    return handle  # type: ignore[return-value]


async def crisis_drp_late(env: WorkflowEnvironment, queue: str) -> WorkflowHandle[object, object]:
    """A crisis whose DRP decision comes after its T0+1 h 30 step: missed, then late."""
    from workflows.crisis import CrisisWorkflow
    from workflows.crisis_models import CrisisInput, DecideDrpInput

    # Every step up to T0+1 h 30 is due at the start (the server may be too busy with the
    # other scenarios' workflows to skip time quickly).
    t0 = await env.get_current_time() - timedelta(hours=1, minutes=35)
    handle = await started_crisis(env, queue, CrisisInput(title="Storage array down", t0=t0))
    await crisis_when(handle, lambda v: _step(v, "action_plan").status == "missed")
    await handle.execute_update(
        CrisisWorkflow.decide_drp, DecideDrpInput(by="im", activate=True, reason="site B")
    )
    await crisis_when(handle, lambda v: v.mails_pending == 0)
    await handle.terminate("recorded")
    return handle  # type: ignore[return-value]


async def crisis_late_opening(
    env: WorkflowEnvironment, queue: str
) -> WorkflowHandle[object, object]:
    """A major incident qualified late: its crisis opens 2 h 10 after T0, past its cell's
    target and its incident's resolution deadlines; then the DRP is decided."""
    from workflows.crisis import CrisisWorkflow
    from workflows.crisis_models import CrisisInput, DecideDrpInput

    t0 = await env.get_current_time() - timedelta(hours=2, minutes=10)
    input = CrisisInput(
        title="Payroll down since this morning",
        t0=t0,
        resolution_warning_at=t0 + timedelta(hours=1, minutes=30),
        resolution_due_at=t0 + timedelta(hours=2),
    )
    handle = await started_crisis(env, queue, input)
    await crisis_when(
        handle, lambda v: _step(v, "cell_opening").status != "pending" and not v.mails_pending
    )
    await handle.execute_update(
        CrisisWorkflow.decide_drp, DecideDrpInput(by="im", activate=False, reason="no site B")
    )
    await crisis_when(handle, lambda v: v.mails_pending == 0)
    await handle.terminate("recorded")
    return handle  # type: ignore[return-value]


async def crisis_drp_at_close(
    env: WorkflowEnvironment, queue: str
) -> WorkflowHandle[object, object]:
    """A crisis opened late, its DRP decided and the crisis closed before the moved action
    plan's step."""
    from workflows.crisis import CrisisWorkflow
    from workflows.crisis_models import (
        CloseCrisisInput,
        CrisisInput,
        DecideDrpInput,
        ServiceRestoredInput,
    )

    t0 = await env.get_current_time() - timedelta(hours=2, minutes=10)
    handle = await started_crisis(env, queue, CrisisInput(title="Storage down", t0=t0))
    await crisis_when(
        handle, lambda v: _step(v, "cell_opening").status != "pending" and not v.mails_pending
    )
    await handle.execute_update(
        CrisisWorkflow.decide_drp, DecideDrpInput(by="im", activate=True, reason="site B")
    )
    await handle.execute_update(
        CrisisWorkflow.service_restored, ServiceRestoredInput(by="im", note="back")
    )
    await handle.execute_update(
        CrisisWorkflow.close_crisis,
        CloseCrisisInput(by="dm", summary="on site B", without_client_confirmation="test"),
    )
    await crisis_when(handle, lambda v: v.mails_pending == 0)
    await handle.terminate("recorded")
    return handle  # type: ignore[return-value]


async def crisis_merged(env: WorkflowEnvironment, queue: str) -> WorkflowHandle[object, object]:
    """A crisis on time without a DRP decision: at T0+1 h 30 the DRP undecided and the
    incident's deadline at risk in the same pass."""
    from workflows.crisis_models import CrisisInput

    t0 = await env.get_current_time()
    input = CrisisInput(
        title="Checkout down", t0=t0, resolution_warning_at=t0 + timedelta(minutes=90),
        resolution_due_at=t0 + timedelta(hours=2),
    )  # fmt: skip
    handle = await started_crisis(env, queue, input)
    for minutes in (31, 16, 16, 28):  # each step, then the action plan's
        await advance(env, timedelta(minutes=minutes))
    await crisis_when(handle, lambda v: v.level >= 3 and v.mails_pending == 0)
    await handle.terminate("recorded")
    return handle  # type: ignore[return-value]


async def readiness(env: WorkflowEnvironment, queue: str) -> WorkflowHandle[object, object]:
    """A watch of the coming on-call cycle, checked until it starts (the first run)."""
    handle = await env.client.start_workflow(
        OnCallReadinessWorkflow.run,
        ReadinessInput(),
        id=f"oncall-readiness-{uuid.uuid4().hex[:8]}",
        task_queue=queue,
    )
    await handle.result()
    # The first run: it checks, mails and sleeps, then continues as new.
    return env.client.get_workflow_handle(handle.id, run_id=handle.first_execution_run_id)


class FlakyTransport:
    """Refuses the first connections, as a mail server that is down would, then delivers."""

    def __init__(self, inner: SmtpTransport, failures: int) -> None:
        self.inner, self.failures = inner, failures

    async def send(self, message: EmailMessage) -> dict[str, str]:
        if self.failures > 0:
            self.failures -= 1
            raise ConnectionRefusedError("connection refused")
        return await self.inner.send(message)


async def delivery_trouble(
    env: WorkflowEnvironment, queue: str, settings: Settings
) -> WorkflowHandle[object, object]:
    """A mail and an alert change that keep failing for a while, then go through."""
    standin = OpsgenieStandIn()
    standin.faults += [500] * 4
    alert_api = OpsgenieApi(
        OpsgenieConfig(base_url="http://standin", api_key=SecretStr("k")),
        transport=httpx.ASGITransport(app=standin.app()),
    )
    mail = FlakyTransport(smtp_transport(settings), failures=5)
    async with build_worker(
        env.client, settings, task_queue=f"{queue}-trouble", transport=mail, alert_api=alert_api
    ):
        handle = await open_incident(
            env.client, f"{queue}-trouble", service_level="silver", priority="P2"
        )
        for _ in range(300):
            view = await status(handle)
            kinds = [e.kind for e in view.timeline]
            if "mail_through" in kinds and "alert_through" in kinds and not view.retrying:
                break
            await asyncio.sleep(0.1)
        await handle.execute_update(IncidentWorkflow.acknowledge, AcknowledgeInput(by="alice"))
        await handle.execute_update(IncidentWorkflow.resolve, ResolveInput(by="a", resolution="ok"))
        await handle.execute_update(IncidentWorkflow.close, CloseInput(by="alice"))
        await handle.result()
    return handle


class RefusingTransport:
    """Refuses for good every mail to one address, as a mail server with no such user does."""

    def __init__(self, inner: SmtpTransport, refused: str) -> None:
        self.inner, self.refused = inner, refused

    async def send(self, message: EmailMessage) -> dict[str, str]:
        if self.refused in str(message["To"]):
            raise RecipientsRefused(f"every recipient was refused: {{{self.refused!r}: '550'}}")
        return await self.inner.send(message)


async def failed_for_good(
    env: WorkflowEnvironment, queue: str, settings: Settings
) -> WorkflowHandle[object, object]:
    """A mail refused for good and an alert note refused for good: each told to the incident
    manager."""
    standin = OpsgenieStandIn()
    alert_api = OpsgenieApi(
        OpsgenieConfig(base_url="http://standin", api_key=SecretStr("k")),
        transport=httpx.ASGITransport(app=standin.app()),
    )
    mail = RefusingTransport(smtp_transport(settings), "gone@example.org")
    async with build_worker(
        env.client, settings, task_queue=f"{queue}-failed", transport=mail, alert_api=alert_api
    ):
        handle = await open_incident(
            env.client, f"{queue}-failed", service_level="silver", priority="P2",
            requesters=["gone@example.org"],
        )  # fmt: skip
        await status_when(handle, lambda v: v.mails_pending == 0 and v.alert_changes_pending == 0)
        standin.faults.append(401)
        await handle.execute_update(
            IncidentWorkflow.add_worklog, WorklogInput(by="alice", text="the key is refused")
        )
        await status_when(handle, lambda v: any(e.kind == "alert_failed" for e in v.timeline))
        await handle.execute_update(IncidentWorkflow.resolve, ResolveInput(by="a", resolution="ok"))
        await handle.execute_update(IncidentWorkflow.close, CloseInput(by="alice"))
        await handle.result()
    return handle


async def continued(
    env: WorkflowEnvironment, queue: str, settings: Settings
) -> WorkflowHandle[object, object]:
    """An incident that continues as new (its first run's history ends there)."""
    policy = settings.config_dir / "policy.toml"
    short = settings.config_dir / "short-runs"
    short.mkdir(exist_ok=True)
    for other in settings.config_dir.glob("*.toml"):
        (short / other.name).write_text(other.read_text(encoding="utf-8"), encoding="utf-8")
    (short / "policy.toml").write_text(
        policy.read_text(encoding="utf-8").replace(
            "continue_as_new_after_events = 8000", "continue_as_new_after_events = 200"
        ),
        encoding="utf-8",
    )
    cfg = settings.model_copy(update={"config_dir": short})
    async with build_worker(env.client, cfg, task_queue=f"{queue}-continued"):
        handle = await open_incident(
            env.client, f"{queue}-continued", service_level="silver", priority="P2"
        )
        await status(handle)
        await handle.execute_update(IncidentWorkflow.acknowledge, AcknowledgeInput(by="alice"))
        for n in range(60):
            await handle.execute_update(
                IncidentWorkflow.add_worklog, WorklogInput(by="alice", text=f"step {n}")
            )
        for _ in range(300):
            described = await handle.describe()
            if described.run_id != handle.first_execution_run_id:
                break
            await asyncio.sleep(0.1)
        await handle.execute_update(IncidentWorkflow.resolve, ResolveInput(by="a", resolution="ok"))
        await handle.execute_update(IncidentWorkflow.close, CloseInput(by="alice"))
    return env.client.get_workflow_handle(handle.id, run_id=handle.first_execution_run_id)


async def back_dated(env: WorkflowEnvironment, queue: str) -> WorkflowHandle[object, object]:
    """An incident opened with a T0 before its ticket, past both its deadlines (a P1 gold:
    15 min and 2 h around the clock), acknowledged, resolved and closed."""
    t0 = await env.get_current_time() - timedelta(hours=3)
    handle = await open_incident(env.client, queue, priority="P1", t0=t0)
    await status_when(handle, lambda v: v.ack_breached and v.resolution_breached)
    await handle.execute_update(IncidentWorkflow.acknowledge, AcknowledgeInput(by="alice"))
    await resolved_and_closed(handle)
    return handle


async def incident_cancelled(
    env: WorkflowEnvironment, queue: str
) -> WorkflowHandle[object, object]:
    """An acknowledged incident cancelled from Temporal while its senders wait for work: the
    cancellation reaches their waits, and they stay up to send the mail that tells it."""
    handle = await open_incident(env.client, queue, priority="P2")
    await handle.execute_update(IncidentWorkflow.acknowledge, AcknowledgeInput(by="alice"))
    await status_when(handle, lambda v: v.mails_pending == 0)
    await handle.cancel()
    await status_when(handle, lambda v: v.status == "cancelled" and v.mails_pending == 0)
    await _ended(handle)
    return handle


async def crisis_cancelled(env: WorkflowEnvironment, queue: str) -> WorkflowHandle[object, object]:
    """A crisis cancelled from Temporal once it opened, its mail sender waiting for work."""
    from workflows.crisis import CrisisWorkflow
    from workflows.crisis_models import CrisisInput

    handle = await env.client.start_workflow(
        CrisisWorkflow.run,
        CrisisInput(title="Payments down"),
        id=f"crisis-recorded-{uuid.uuid4().hex[:8]}",
        task_queue=queue,
    )
    for _ in range(100):
        try:
            view = await handle.query(CrisisWorkflow.status)
        except WorkflowQueryFailedError:
            view = None  # its first task has not run yet
        if view is not None and view.mails_pending == 0:
            break
        await asyncio.sleep(0.1)
    await handle.cancel()
    await _ended(handle)
    return handle


async def crisis_cancelled_closed(
    env: WorkflowEnvironment, queue: str
) -> WorkflowHandle[object, object]:
    """A crisis closed, then cancelled from Temporal while it awaits its REX."""
    from workflows.crisis import CrisisWorkflow
    from workflows.crisis_models import CloseCrisisInput, ConfirmNominalInput, CrisisInput

    handle = await env.client.start_workflow(
        CrisisWorkflow.run,
        CrisisInput(title="Payments down"),
        id=f"crisis-recorded-{uuid.uuid4().hex[:8]}",
        task_queue=queue,
    )
    await handle.execute_update(CrisisWorkflow.confirm_nominal, ConfirmNominalInput(by="n1"))
    await handle.execute_update(
        CrisisWorkflow.close_crisis, CloseCrisisInput(by="im", summary="payments back")
    )
    for _ in range(100):
        if (await handle.query(CrisisWorkflow.status)).mails_pending == 0:
            break
        await asyncio.sleep(0.1)
    await handle.cancel()
    await _ended(handle)
    return handle


async def _ended(handle: WorkflowHandle[Any, Any]) -> None:
    try:
        await handle.result()
    except WorkflowFailureError:
        pass  # cancelled, as asked


async def review_failed(
    env: WorkflowEnvironment, queue: str, settings: Settings
) -> WorkflowHandle[Any, Any]:
    """A monthly review whose customer globex has a broken matrix: the managers are told."""
    from activities.ledger.store import Ledger
    from tests.test_report import fill
    from workflows.service_review import ServiceReviewInput, ServiceReviewWorkflow

    (settings.config_dir / "matrices").mkdir(exist_ok=True)
    (settings.config_dir / "matrices" / "globex.toml").write_text("version = 0\n")
    fill(Ledger(settings.database_url.get_secret_value()))
    handle = await env.client.start_workflow(
        ServiceReviewWorkflow.run, ServiceReviewInput(month="2026-11"),
        id=f"service-review-{uuid.uuid4().hex[:8]}", task_queue=queue,
    )  # fmt: skip
    await handle.result()
    return handle


async def start_over_limits(env: WorkflowEnvironment, queue: str) -> WorkflowHandle[object, object]:
    """An incident started by hand with a title on two lines: refused at once since new runs
    are checked against the input limits, opened before."""
    typed = {"title": "Checkout\r\nBcc: x@evil.test", "service_level": "gold", "priority": "P3"}
    return await _started_by_hand(env, queue, typed)


async def start_misspelt(env: WorkflowEnvironment, queue: str) -> WorkflowHandle[object, object]:
    """An incident started by hand with ``prioirty``: refused at once since new runs are
    checked for misspelt fields, opened without a priority before."""
    typed = {"title": "Checkout down", "service_level": "gold", "prioirty": "P3"}
    return await _started_by_hand(env, queue, typed)


async def start_unsendable(env: WorkflowEnvironment, queue: str) -> WorkflowHandle[object, object]:
    """An incident started by hand with a requester ``bob@client.example.org.``: opened with
    it before (every mail with it failed), without it since (told at opening)."""
    typed = {"title": "Checkout down", "service_level": "gold", "priority": "P3",
             "requesters": ["ann@example.org", "bob@client.example.org."]}  # fmt: skip
    return await _started_by_hand(env, queue, typed)


async def signal_unsendable(env: WorkflowEnvironment, queue: str) -> WorkflowHandle[object, object]:
    """An alert_created Signal with ``bob@client.example.org.`` and a good address: both
    added before, the good one only since; then an ordinary event."""
    handle = await open_incident(env.client, queue, priority="P3")
    await status(handle)
    added = ["dan@example.org", "bob@client.example.org."]
    await handle.signal("alert_created", {"by": "eve", "requesters": added})
    await handle.signal("record_event", {"by": "ann", "kind": "event", "text": "after"})
    await status_when(handle, lambda v: v.mails_pending == 0 and "after" in str(v))
    await handle.terminate("recorded")
    return handle


async def signal_not_json(env: WorkflowEnvironment, queue: str) -> WorkflowHandle[object, object]:
    """An add_worklog Signal whose input is no JSON the worker can read (a lone surrogate
    escape): dropped by the SDK before, recorded as refused since; then an ordinary event."""
    handle = await open_incident(env.client, queue, priority="P3")
    await status(handle)
    unreadable = Payload(
        metadata={"encoding": b"json/plain"}, data=b'{"by": "ann", "text": "caf\\ud800"}'
    )
    await handle.signal("add_worklog", RawValue(unreadable))
    await handle.signal("record_event", {"by": "ann", "kind": "event", "text": "after"})
    await status_when(handle, lambda v: v.mails_pending == 0 and "after" in str(v))
    await handle.terminate("recorded")
    return handle


async def _started_by_hand(
    env: WorkflowEnvironment, queue: str, typed: dict[str, Any]
) -> WorkflowHandle[object, object]:
    handle: WorkflowHandle[object, object] = await env.client.start_workflow(
        "IncidentWorkflow", typed, id=f"incident-record-{uuid.uuid4().hex[:8]}", task_queue=queue
    )
    for _ in range(50):
        described = await handle.describe()
        if described.status == WorkflowExecutionStatus.FAILED:
            return handle
        try:  # opened: a run of the earlier release answers
            await handle.query(IncidentWorkflow.status, rpc_timeout=timedelta(seconds=2))
        except (WorkflowQueryFailedError, RPCError):
            await asyncio.sleep(0.1)
            continue
        await status_when(handle, lambda v: v.mails_pending == 0)
        await handle.terminate("recorded")
        return handle
    raise AssertionError("the incident neither ended nor opened")


async def main(tag: str, only: list[str]) -> None:
    from temporalio.api.enums.v1 import IndexedValueType
    from temporalio.api.operatorservice.v1 import AddSearchAttributesRequest

    env = await WorkflowEnvironment.start_time_skipping(
        test_server_existing_path=str(BIN / "temporal-test-server"),
        data_converter=pydantic_data_converter,
    )
    await env.client.operator_service.add_search_attributes(
        AddSearchAttributesRequest(
            namespace=env.client.namespace,
            search_attributes={
                key.name: IndexedValueType.ValueType(key.indexed_value_type)
                for key in SEARCH_ATTRIBUTES
            },
        )
    )
    with tempfile.TemporaryDirectory() as tmp, MailSink(port=free_port()) as sink:
        config = Path(tmp)
        text = (DEFAULT_CONFIG_DIR / "policy.toml").read_text(encoding="utf-8")
        for old, new in TEST_POLICY_CHANGES.items():
            text = text.replace(old, new)
        for other in DEFAULT_CONFIG_DIR.glob("*.toml"):
            (config / other.name).write_text(other.read_text(encoding="utf-8"), encoding="utf-8")
        (config / "policy.toml").write_text(text, encoding="utf-8")
        settings = Settings(
            config_dir=config, smtp_port=sink.port, task_queue="record",
            database_url=SecretStr(f"sqlite:///{config / 'ledger.db'}"),
        )  # fmt: skip
        standin = OpsgenieStandIn(schedules={"astreinte_technique": ["on-call@example.com"]})
        alert_api = OpsgenieApi(
            OpsgenieConfig(base_url="http://standin", api_key=SecretStr("k")),
            transport=httpx.ASGITransport(app=standin.app()),
        )
        async with build_worker(env.client, settings, alert_api=alert_api):
            for name, scenario in (
                ("incident_lifecycle", lifecycle),
                ("incident_breach", breach),
                ("crisis", crisis),
                ("oncall_readiness", readiness),
                ("incident_delivery_trouble", partial(delivery_trouble, settings=settings)),
                ("incident_continued", partial(continued, settings=settings)),
                ("incident_failed_for_good", partial(failed_for_good, settings=settings)),
                ("incident_cancelled", incident_cancelled),
                ("crisis_cancelled", crisis_cancelled),
                ("crisis_cancelled_closed", crisis_cancelled_closed),
                ("crisis_operator_edges", crisis_operator_edges),
                ("crisis_drp_late", crisis_drp_late),
                ("crisis_alerts_closed", crisis_alerts_closed),
                ("crisis_late_opening", crisis_late_opening),
                ("crisis_drp_at_close", crisis_drp_at_close),
                ("crisis_merged", crisis_merged),
                ("incident_priority_echo", priority_echo),
                ("incident_create_after_close", create_after_close),
                ("incident_breach_voided", breach_voided),
                ("incident_requesters_cases", requesters_cases),
                ("incident_stale_priority", stale_priority),
                ("incident_level_changed", level_changed),
                ("incident_recategorized", recategorized),
                ("incident_back_dated", back_dated),
                ("incident_start_over_limits", start_over_limits),
                ("incident_priority_settles", priority_settles),
                ("incident_create_after_close_class", create_after_close_class),
                ("incident_priority_held_back", partial(priority_held_back, standin=standin)),
                ("incident_crisis_end_after_close", crisis_end_after_close),
                ("incident_own_kind_recorded", own_kind_recorded),
                ("incident_tagged_level", tagged_level),
                ("incident_update_burst", update_burst),
                ("incident_start_misspelt", start_misspelt),
                ("incident_start_unsendable", start_unsendable),
                ("incident_signal_unsendable", signal_unsendable),
                ("incident_signal_not_json", signal_not_json),
                ("service_review_failed", partial(review_failed, settings=settings)),
            ):
                if only and name not in only:
                    continue
                path = HISTORIES / f"{name}_{tag}.json"
                if path.exists():
                    print(f"kept {path.name}: a stored history is never overwritten")
                    continue
                handle = await scenario(env, settings.task_queue)
                history = await handle.fetch_history()
                path.write_text(history.to_json())
                print(f"recorded {path.name}: {len(history.events)} events")
    await env.shutdown()


if __name__ == "__main__":
    if len(sys.argv) < 2 or not sys.argv[1].replace("_", "").isalnum():
        sys.exit("usage: python -m tests.record_histories TAG [SCENARIO...]   (e.g. 2026_11)")
    asyncio.run(main(sys.argv[1], sys.argv[2:]))
