"""Chat notifications: which channels hear of an event, what they read, and delivering them.

``chat_notifications`` is pure: given the kind of event and the incident's (or crisis's)
view, it returns one notification per channel that wants it, in that channel's language,
every time in the business time zone, to the minute. The routes come from the policy the
workflow carries (``[[customers.channels]]``), so an incident keeps the routes it opened
under. Webhook URLs never reach a workflow: the worker holds them.

``send_chat`` delivers one notification from workflow code through the
``send_chat_message`` activity and never raises: a channel that refuses (4xx) or stays
down past its retries comes back as ``failed`` with the reason, for the timeline. Start it
as a task next to the mail, never in front of it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import timedelta
from typing import Literal

from pydantic import BaseModel, Field
from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError

from workflows.chat_texts import LABELS, STATUS, TITLES
from workflows.crisis_models import CrisisView
from workflows.delivery import error_kind, error_text
from workflows.limits import clip, one_line
from workflows.models import IncidentView
from workflows.oncall_policy import ChatEventKind, ChatVendor
from workflows.policy import Language, Policy
from workflows.texts import render, value, when

Severity = Literal["attention", "warning", "good", "default"]
MAX_FACT = 300
MAX_TEXT = 1500
CHAT_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=5),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(minutes=2),
    maximum_attempts=10,
    non_retryable_error_types=["ChatRejected", "ChatNotConfigured"],
)
# A message older than this is no longer news: it is given up and recorded as failed.
CHAT_WITHIN = timedelta(minutes=30)


class ChatMessage(BaseModel):
    """What a chat message says, vendor-neutral; the link is added by the worker."""

    title: str
    facts: list[tuple[str, str]] = []
    text: str = ""
    severity: Severity = "default"
    link_label: str
    workflow_id: str = Field(description="Linked in the Temporal UI; threads a vendor's replies")


class ChatNotification(BaseModel):
    key: str = Field(description="Names this notification in the timeline")
    channel: str
    vendor: ChatVendor
    kind: ChatEventKind
    language: Language
    message: ChatMessage


class ChatInput(BaseModel):
    notification: ChatNotification


class ChatResult(BaseModel):
    channel: str
    status: int


class ChatOutcome(BaseModel):
    key: str
    channel: str
    status: Literal["sent", "failed"]
    detail: str | None = None
    kind: str | None = None


def _message(
    title: str,
    subject: str,
    facts: list[tuple[str, str]],
    text: str,
    severity: Severity,
    language: Language,
    workflow_id: str,
) -> ChatMessage:
    """The message, every text one line (but ``text``) and cut to what every vendor takes."""
    return ChatMessage(
        title=clip(one_line(title.format(title=subject)), 200),
        facts=[(one_line(k), clip(one_line(v), MAX_FACT)) for k, v in facts],
        text=clip(text, MAX_TEXT),
        severity=severity,
        link_label=LABELS[language]["open_in_temporal"],
        workflow_id=workflow_id,
    )


def _incident_message(
    kind: ChatEventKind, view: IncidentView, language: Language, zone: str
) -> ChatMessage:
    labels, titles = LABELS[language], TITLES[language]

    def at(key: str) -> tuple[str, str]:
        return labels[key], when(getattr(view, key), language, zone)

    facts = [
        (labels["incident"], view.incident_id),
        (labels["priority"], view.priority),
        (labels["service_level"], view.service_level.capitalize()),
        (labels["status"], STATUS[language].get(view.status, view.status)),
        (labels["application"], view.application or labels["none_f"]),
    ]
    text, title = "", titles["p1_opened"]
    severity: Severity = "attention"
    if kind == "p1_opened":
        # qualified P1 once acknowledged: when it was, not a deadline that no longer matters
        ack = at("acknowledged_at") if view.acknowledged_at else at("ack_due_at")
        facts += [at("opened_at"), ack, at("resolution_due_at")]
    elif kind == "breach":
        late = "resolution" if view.resolution_breached else "ack"
        title = titles[f"breach.{late}"]
        facts.append(at("resolution_due_at" if late == "resolution" else "ack_due_at"))
    elif kind == "status_update":
        title, severity = titles["status_update"], "default"
        worklog = [e for e in view.timeline if e.kind == "worklog"]
        text = worklog[-1].text if worklog else ""
        last = when(worklog[-1].at, language, zone) if worklog else labels["none"]
        status = next((e for e in reversed(view.timeline) if e.kind == "p1_status"), None)
        if status is not None and status.sentence:  # what this status says, new work or none
            text = render(status.sentence, status.fields, language, zone)
        facts += [(labels["worklog"], last), at("resolution_due_at")]
    else:  # crisis_cell, told from the incident
        title = titles["crisis_cell"]
        if view.crisis_id:
            facts.append((labels["crisis"], view.crisis_id))
    return _message(title, view.title, facts, text, severity, language, view.incident_id)


def _crisis_message(
    kind: ChatEventKind, view: CrisisView, language: Language, zone: str
) -> ChatMessage:
    labels, titles = LABELS[language], TITLES[language]
    facts = [
        (labels["crisis"], view.crisis_id),
        (labels["criterion"], value("criterion", view.criterion, language)),
        (labels["status"], STATUS[language].get(view.status, view.status)),
        (labels["t0"], when(view.t0, language, zone)),
        (labels["level"], str(view.level)),
    ]
    text, title = "", titles["crisis_cell"]
    severity: Severity = "attention"
    if kind == "status_update":
        title, severity = titles["status_update.crisis"], "warning"
        update = view.last_update
        if update is not None:
            colon = " :" if language == "fr" else ":"
            text = "\n".join(
                f"{labels[name]}{colon} {getattr(update, name)}"
                for name in ("progress", "done", "remaining", "forecast")
                if getattr(update, name)
            )
        if not view.last_status_fresh:  # as the mail says it: no old news passed off as new
            nothing = render("line.nothing_posted", {}, language, zone)
            text = f"{nothing}\n{text}" if update is not None else labels["nothing_yet"]
    elif kind in ("p1_opened", "breach"):
        title = titles["p1_opened" if kind == "p1_opened" else "breach.resolution"]
    if view.conference is not None:
        facts.append((labels["conference"], view.conference.url))
    return _message(title, view.title, facts, text, severity, language, view.crisis_id)


def chat_notifications(
    kind: ChatEventKind,
    view: IncidentView | CrisisView,
    policy: Policy,
    *,
    application: str | None = None,
    key: str | None = None,
) -> list[ChatNotification]:
    """The notifications to send for ``kind``: one per channel of the customers owning the
    incident (by its application; a crisis gives its incident's ``application``) that
    listens to ``kind``. ``key`` names them (default: the workflow id, the kind and the
    number of timeline entries, which differs between two events of one kind)."""
    is_crisis = isinstance(view, CrisisView)
    if not is_crisis:
        assert isinstance(view, IncidentView)
        application = view.application
    workflow_id = view.crisis_id if isinstance(view, CrisisView) else view.incident_id
    stem = key or f"{workflow_id}-chat-{kind}-{len(view.timeline)}"
    zone = policy.business_hours.timezone
    found: list[ChatNotification] = []
    for customer in policy.customers:
        if not customer.owns(application):
            continue
        for channel in customer.channels:
            if kind not in channel.events:
                continue
            language = channel.language or policy.notifications.language
            if isinstance(view, CrisisView):
                message = _crisis_message(kind, view, language, zone)
                if view.drill:  # an exercise says so, as its mails do
                    title = render("drill.subject", {"title": message.title}, language, zone)
                    message = message.model_copy(update={"title": title})
            else:
                message = _incident_message(kind, view, language, zone)
            found.append(
                ChatNotification(
                    key=f"{stem}-{channel.name}",
                    channel=channel.name,
                    vendor=channel.vendor,
                    kind=kind,
                    language=language,
                    message=message,
                )
            )
    return found


async def send_chat(notification: ChatNotification) -> ChatOutcome:
    """Delivers one notification (workflow code); never raises for a channel's failure."""
    outcome = ChatOutcome(key=notification.key, channel=notification.channel, status="sent")
    try:
        await workflow.execute_activity(
            "send_chat_message",
            ChatInput(notification=notification),
            result_type=ChatResult,
            start_to_close_timeout=timedelta(seconds=30),
            schedule_to_close_timeout=CHAT_WITHIN,
            retry_policy=CHAT_RETRY,
            summary=f"chat {notification.kind} to {notification.channel}"[:200],
        )
    except ActivityError as exc:
        outcome.status, outcome.detail, outcome.kind = "failed", error_text(exc), error_kind(exc)
    return outcome


def start_chat(
    kind: ChatEventKind,
    view: IncidentView | CrisisView,
    policy: Policy,
    tasks: list[asyncio.Task[None]],
    failed: Callable[[ChatNotification, str, str], None],
    *,
    application: str | None = None,
) -> None:
    """Starts one task per channel that hears of ``kind``, next to the mails (never in front
    of them); ``failed`` records a channel that did not take its message."""

    async def deliver(notification: ChatNotification) -> None:
        outcome = await send_chat(notification)
        if outcome.status == "failed":
            failed(notification, outcome.detail or "", outcome.kind or "Error")

    for notification in chat_notifications(kind, view, policy, application=application):
        tasks.append(asyncio.create_task(deliver(notification)))
