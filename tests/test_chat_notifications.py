"""Which channels hear of an event and what they read (pure), and delivering them from a
workflow: a refusing or silent channel is reported, never fatal, and never holds up mail."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import SecretStr
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from activities.chat import ChatActivities
from activities.providers.chat import channel_for
from tests.probes import ChatProbe, probe_mail
from workers.policy_file import load_policy
from workers.settings import DEFAULT_CONFIG_DIR
from workflows.chat import MAX_TEXT, ChatNotification, chat_notifications
from workflows.crisis_models import Conference, CrisisView, StatusUpdate
from workflows.models import IncidentView, TimelineEntry
from workflows.oncall_policy import Customer
from workflows.policy import Policy

OPENED = datetime(2026, 12, 7, 2, tzinfo=UTC)  # Monday 03:00 Paris


def policy_with(config_dir: Path, *customers: dict[str, Any]) -> Policy:
    policy = load_policy(config_dir)
    return policy.model_copy(update={"customers": [Customer.model_validate(c) for c in customers]})


def incident(**changes: Any) -> IncidentView:
    values: dict[str, Any] = {
        "incident_id": "incident-42",
        "status": "open",
        "priority": "P1",
        "service_level": "gold",
        "title": "Checkout down",
        "category": "application",
        "description": "HTTP 500",
        "application": "checkout",
        "requesters": ["customer@example.org"],
        "source": "web",
        "opened_at": OPENED,
        "ack_due_at": OPENED + timedelta(minutes=15),
        "acknowledged_at": None,
        "resolution_due_at": OPENED + timedelta(hours=2),
        "resolved_at": None,
        "closed_at": None,
        "sla_paused": False,
        "waiting_on": None,
        "ack_breached": False,
        "resolution_breached": False,
        "major": False,
        "p1_verdict": None,
        "missing_fields": [],
        "policy_version": 1,
        "mails_pending": 0,
        "timeline": [],
    }
    values.update(changes)
    return IncidentView(**values)


def crisis(**changes: Any) -> CrisisView:
    values: dict[str, Any] = {
        "crisis_id": "crisis-incident-42",
        "title": "Checkout down",
        "criterion": "major_incident",
        "incident_id": "incident-42",
        "status": "active",
        "t0": OPENED,
        "matrix_version": 1,
        "business_hours_at_start": False,
        "mail_system_affected": False,
        "security_involved": False,
        "channel": "smtp",
        "level": 1,
        "level_kind": "outside_business_hours",
        "milestones": [],
        "members": [],
        "conference": None,
        "drp": None,
        "last_update": None,
        "restored_at": None,
        "closed_at": None,
        "rex_due_at": None,
        "rex": None,
        "mails_pending": 0,
        "timeline": [],
    }
    values.update(changes)
    return CrisisView(**values)


CUSTOMERS = (
    {"name": "shop", "applications": ["checkout"], "channels": [
        {"name": "shop-teams", "vendor": "teams"},
        {"name": "shop-cell-only", "vendor": "slack", "events": ["crisis_cell"]},
    ]},
    {"name": "billing", "applications": ["invoices"], "channels": [
        {"name": "billing-slack", "vendor": "slack"},
    ]},
    {"name": "noc", "channels": [
        {"name": "noc-gchat", "vendor": "google_chat", "language": "en"},
    ]},
)  # fmt: skip


def test_a_p1_reaches_its_customers_channels_that_listen_to_it(config_dir: Path) -> None:
    found = chat_notifications("p1_opened", incident(), policy_with(config_dir, *CUSTOMERS))
    assert [(n.channel, n.vendor, n.language) for n in found] == [
        ("shop-teams", "teams", "fr"),
        ("noc-gchat", "google_chat", "en"),
    ]
    fr, en = found
    assert fr.key == "incident-42-chat-p1_opened-0-shop-teams"
    assert fr.message.title == "Incident P1 ouvert : Checkout down"
    assert fr.message.workflow_id == "incident-42"
    assert fr.message.link_label == "Ouvrir dans Temporal"
    facts = dict(fr.message.facts)
    assert facts["Ouvert le"] == "07/12/2026 03:00 CET"
    assert facts["Prise en compte avant"] == "07/12/2026 03:15 CET"
    assert facts["Résolution avant"] == "07/12/2026 05:00 CET"
    assert facts["Statut"] == "Ouvert" and facts["Niveau de service"] == "Gold"
    assert en.message.title == "P1 incident opened: Checkout down"
    assert dict(en.message.facts)["Opened at"] == "2026-12-07 03:00 CET"
    assert en.message.link_label == "Open in Temporal"


def test_a_p1_qualified_once_acknowledged_says_when_it_was(config_dir: Path) -> None:
    acked = incident(status="in_progress", acknowledged_at=OPENED + timedelta(minutes=7))
    fr, en = chat_notifications("p1_opened", acked, policy_with(config_dir, *CUSTOMERS))
    facts = dict(fr.message.facts)
    assert facts["Pris en compte le"] == "07/12/2026 03:07 CET"
    assert "Prise en compte avant" not in facts
    assert dict(en.message.facts)["Acknowledged"] == "2026-12-07 03:07 CET"
    assert "Acknowledge by" not in dict(en.message.facts)


def test_no_channel_no_notification(config_dir: Path) -> None:
    assert chat_notifications("breach", incident(), load_policy(config_dir)) == []
    only_billing = policy_with(config_dir, CUSTOMERS[1])
    assert chat_notifications("p1_opened", incident(), only_billing) == []


def test_a_breach_says_which_deadline(config_dir: Path) -> None:
    policy = policy_with(config_dir, CUSTOMERS[0])
    (ack,) = chat_notifications("breach", incident(ack_breached=True), policy)
    assert ack.message.title == "Délai de prise en compte dépassé : Checkout down"
    assert dict(ack.message.facts)["Prise en compte avant"] == "07/12/2026 03:15 CET"
    late = incident(ack_breached=True, resolution_breached=True, status="in_progress")
    (resolution,) = chat_notifications("breach", late, policy)
    assert resolution.message.title == "Délai de résolution dépassé : Checkout down"
    assert dict(resolution.message.facts)["Statut"] == "En cours"


def test_an_incident_status_update_carries_the_last_work_logged(config_dir: Path) -> None:
    logged = TimelineEntry(
        at=OPENED + timedelta(minutes=40), kind="worklog", by="alice", text="pods restarted"
    )
    view = incident(timeline=[logged], status="in_progress")
    (update,) = chat_notifications("status_update", view, policy_with(config_dir, CUSTOMERS[0]))
    assert update.message.title == "Point de situation : Checkout down"
    assert update.message.text == "pods restarted"
    assert dict(update.message.facts)["Dernier travail consigné"] == "07/12/2026 03:40 CET"
    assert update.key == "incident-42-chat-status_update-1-shop-teams"


def test_a_crisis_goes_by_its_incidents_application(config_dir: Path) -> None:
    policy = policy_with(config_dir, *CUSTOMERS)
    view = crisis(conference=Conference(provider="jitsi", url="https://meet.jit.si/vigie-x"))
    found = chat_notifications("crisis_cell", view, policy, application="checkout")
    assert [n.channel for n in found] == ["shop-teams", "shop-cell-only", "noc-gchat"]
    cell = found[0].message
    assert cell.title == "Cellule de crise ouverte : Checkout down"
    assert cell.workflow_id == "crisis-incident-42"
    facts = dict(cell.facts)
    assert facts["Critère"] == "incident majeur" and facts["Début (T0)"] == "07/12/2026 03:00 CET"
    assert facts["Conférence"] == "https://meet.jit.si/vigie-x"
    # Without the application only the customers owning every incident hear of it.
    assert [n.channel for n in chat_notifications("crisis_cell", view, policy)] == ["noc-gchat"]


def test_a_crisis_status_update_tells_progress_done_remaining_and_forecast(
    config_dir: Path,
) -> None:
    update = StatusUpdate(
        at=OPENED + timedelta(hours=2), by="im", progress="failover started",
        done="DNS switched", remaining="database", forecast="by 11:30",
    )  # fmt: skip
    policy = policy_with(config_dir, CUSTOMERS[2])
    (n,) = chat_notifications("status_update", crisis(last_update=update), policy)
    assert n.message.title == "Crisis status update: Checkout down"
    assert n.message.text.splitlines() == [
        "Progress: failover started",
        "Done: DNS switched",
        "Remaining: database",
        "Resolution forecast: by 11:30",
    ]


def test_a_crisis_status_with_nothing_posted_says_so(config_dir: Path) -> None:
    """As the status mail: an old update is recalled as such, never passed off as news."""
    update = StatusUpdate(at=OPENED, by="im", progress="failover started", done="", remaining="")
    policy = policy_with(config_dir, CUSTOMERS[2])
    stale = crisis(last_update=update, last_status_fresh=False)
    (n,) = chat_notifications("status_update", stale, policy)
    assert n.message.text.splitlines() == [
        "Nothing was posted since the last status; the last one posted:",
        "Progress: failover started",
    ]
    (n,) = chat_notifications("status_update", crisis(last_status_fresh=False), policy)
    assert n.message.text == "No status posted yet."


def test_what_people_typed_is_bounded_for_every_vendor(config_dir: Path) -> None:
    view = incident(title="Checkout\ndown", application="checkout")
    logged = TimelineEntry(at=OPENED, kind="worklog", by="a", text="x" * 5000)
    (n,) = chat_notifications(
        "status_update", view.model_copy(update={"timeline": [logged]}),
        policy_with(config_dir, CUSTOMERS[0]),
    )  # fmt: skip
    assert "\n" not in n.message.title
    assert len(n.message.text) == MAX_TEXT and n.message.text.endswith("…")


# ----------------------------------------------------------------------------- delivery


def note(channel: str) -> ChatNotification:
    policy = policy_with(DEFAULT_CONFIG_DIR, {"name": "c", "channels": [
        {"name": channel, "vendor": "slack"},
    ]})  # fmt: skip
    (found,) = chat_notifications("p1_opened", incident(), policy)
    return found


async def test_a_failing_channel_is_reported_and_never_holds_up_the_mail(
    skipping_env: WorkflowEnvironment,
) -> None:
    posts: dict[str, int] = {"down": 0, "gone": 0, "dead": 0}

    def handler(request: httpx.Request) -> httpx.Response:
        name = request.url.path.rsplit("/", 1)[-1]
        posts[name] += 1
        if name == "gone":
            return httpx.Response(404, text="no_service")
        if name == "down" and posts[name] < 4:
            return httpx.Response(503, text="Service Unavailable")
        if name == "dead":
            return httpx.Response(500, text="oops")
        return httpx.Response(200, text="ok")

    http = httpx.AsyncClient(transport=httpx.MockTransport(handler))
    channels = {
        name: channel_for("slack", SecretStr(f"https://hooks.slack.com/services/{name}"), http)
        for name in posts
    }
    chat = ChatActivities(channels, "http://localhost:8233", "default")
    queue = f"chat-{uuid.uuid4().hex[:8]}"
    async with Worker(
        skipping_env.client,
        task_queue=queue,
        workflows=[ChatProbe],
        activities=[chat.send_chat_message, probe_mail],
    ):
        result = await skipping_env.client.execute_workflow(
            ChatProbe.run,
            [note("down"), note("gone"), note("dead")],
            id=f"chat-probe-{uuid.uuid4().hex[:8]}",
            task_queue=queue,
        )
    outcomes = {o.channel: o for o in result.outcomes}
    assert outcomes["down"].status == "sent" and posts["down"] == 4
    assert outcomes["gone"].status == "failed" and posts["gone"] == 1
    assert "HTTP 404: no_service" in (outcomes["gone"].detail or "")
    assert outcomes["dead"].status == "failed"
    # The mail went out before the retried channels were done with.
    assert result.mailed_at < result.done_at["down"] <= result.done_at["dead"]
    assert result.done_at["dead"] - result.mailed_at <= timedelta(minutes=31)


@pytest.mark.parametrize("vendor", ["teams", "slack", "mattermost", "google_chat"])
def test_every_vendor_of_the_policy_has_a_channel(vendor: str) -> None:
    made = channel_for(vendor, SecretStr("https://example.com/hook"), httpx.AsyncClient())
    assert made.vendor == vendor


def test_an_incident_without_application_says_so_in_french(config_dir: Path) -> None:
    policy = policy_with(config_dir, {"name": "all", "channels": [
        {"name": "all-teams", "vendor": "teams"}]})  # fmt: skip
    [found] = chat_notifications("p1_opened", incident(application=None), policy)
    assert dict(found.message.facts)["Application"] == "aucune"


def test_a_drill_says_so_in_its_chat_messages(config_dir: Path) -> None:
    policy = policy_with(config_dir, {"name": "all", "channels": [
        {"name": "all-teams", "vendor": "teams", "events": ["crisis_cell"]}]})  # fmt: skip
    [real] = chat_notifications("crisis_cell", crisis(), policy)
    [drill] = chat_notifications("crisis_cell", crisis(drill=True), policy)
    assert drill.message.title == f"EXERCICE — {real.message.title}"
    assert not real.message.title.startswith("EXERCICE")


def test_a_status_with_nothing_new_says_so_instead_of_repeating_old_work(
    config_dir: Path,
) -> None:
    logged = TimelineEntry(
        at=OPENED + timedelta(minutes=40), kind="worklog", by="alice", text="pods restarted"
    )
    told = TimelineEntry(
        at=OPENED + timedelta(hours=2), kind="p1_status", by="vigie", text="…",
        sentence="p1_status.nothing", fields={},
    )  # fmt: skip
    view = incident(timeline=[logged, told], status="in_progress")
    (update,) = chat_notifications("status_update", view, policy_with(config_dir, CUSTOMERS[0]))
    assert update.message.text.startswith("Point régulier : rien de nouveau n'a été consigné")
    assert "pods restarted" not in update.message.text
    assert dict(update.message.facts)["Dernier travail consigné"] == "07/12/2026 03:40 CET"
