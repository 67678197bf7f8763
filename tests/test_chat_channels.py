"""Chat channels against each vendor's documented incoming-webhook contract
(httpx.MockTransport asserting method, path, headers and body), and the activity's errors."""

from __future__ import annotations

import json
import re
from datetime import timedelta
from typing import Any

import httpx
import pytest
from pydantic import SecretStr
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

from activities.chat import ChatActivities, ui_link
from activities.providers.chat import ChatProvider, channel_for
from workflows.chat import ChatInput, ChatMessage, ChatNotification

MESSAGE = ChatMessage(
    title="Incident P1 ouvert : Checkout <down> & out",
    facts=[("Incident", "incident-42"), ("Priorité", "P1"), ("Ouvert le", "07/12/2026 03:00 CET")],
    text="Redémarrage des pods | en cours",
    severity="attention",
    link_label="Ouvrir dans Temporal",
    workflow_id="incident-42",
)
LINK = "https://temporal.example.com/namespaces/vigie/workflows/incident-42"
URLS = {
    "teams": "https://prod-12.westeurope.logic.azure.com:443/workflows/abc/triggers/manual/paths/"
    "invoke?api-version=2016-06-01&sp=%2Ftriggers%2Fmanual%2Frun&sv=1.0&sig=SECRET",
    "slack": "https://hooks.slack.com/services/T000/B000/SECRET",
    "mattermost": "https://chat.example.com/hooks/SECRET",
    "google_chat": "https://chat.googleapis.com/v1/spaces/AAAA/messages?key=K&token=SECRET",
}


class Recorder:
    def __init__(self, answer: httpx.Response | None = None) -> None:
        self.requests: list[httpx.Request] = []
        self.answer = answer

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return self.answer or httpx.Response(200, text="ok")

    def only(self) -> tuple[httpx.Request, Any]:
        (request,) = self.requests
        assert request.method == "POST"
        assert request.headers["Content-Type"] == "application/json"
        return request, json.loads(request.content)


def channel(vendor: str, recorder: Recorder) -> ChatProvider:
    http = httpx.AsyncClient(transport=httpx.MockTransport(recorder))
    return channel_for(vendor, SecretStr(URLS[vendor]), http)


async def test_teams_workflows_webhook_gets_an_adaptive_card() -> None:
    recorder = Recorder(httpx.Response(202))
    assert await channel("teams", recorder).post(MESSAGE, LINK) == 202
    request, body = recorder.only()
    assert request.url.host == "prod-12.westeurope.logic.azure.com"
    assert request.url.path == "/workflows/abc/triggers/manual/paths/invoke"
    assert request.url.params["sig"] == "SECRET"
    assert body["type"] == "message"
    (attachment,) = body["attachments"]
    assert attachment["contentType"] == "application/vnd.microsoft.card.adaptive"
    assert attachment["contentUrl"] is None
    card = attachment["content"]
    assert card["type"] == "AdaptiveCard" and card["version"] == "1.4"
    assert card["$schema"] == "http://adaptivecards.io/schemas/adaptive-card.json"
    title, facts, text = card["body"]
    assert title == {
        "type": "TextBlock",
        "text": MESSAGE.title,
        "weight": "Bolder",
        "size": "Medium",
        "color": "Attention",
        "wrap": True,
    }
    assert facts["type"] == "FactSet"
    assert facts["facts"][1] == {"title": "Priorité", "value": "P1"}
    assert text == {"type": "TextBlock", "text": MESSAGE.text, "wrap": True}
    assert card["actions"] == [
        {"type": "Action.OpenUrl", "title": "Ouvrir dans Temporal", "url": LINK}
    ]


async def test_slack_incoming_webhook_gets_block_kit_with_a_fallback_text() -> None:
    recorder = Recorder()
    assert await channel("slack", recorder).post(MESSAGE, LINK) == 200
    request, body = recorder.only()
    assert str(request.url) == URLS["slack"]
    # mrkdwn control characters are escaped; the link keeps Slack's <url|label> form.
    assert body["text"] == (
        f"Incident P1 ouvert : Checkout &lt;down&gt; &amp; out <{LINK}|Ouvrir dans Temporal>"
    )
    header, fields, text, actions = body["blocks"]
    assert header == {"type": "header", "text": {"type": "plain_text", "text": MESSAGE.title}}
    assert fields["type"] == "section"
    assert fields["fields"][0] == {"type": "mrkdwn", "text": "*Incident*\nincident-42"}
    assert text == {"type": "section", "text": {"type": "mrkdwn", "text": MESSAGE.text}}
    assert actions["type"] == "actions"
    (button,) = actions["elements"]
    assert button == {
        "type": "button",
        "text": {"type": "plain_text", "text": "Ouvrir dans Temporal"},
        "url": LINK,
    }


async def test_a_long_title_is_cut_in_slacks_header_with_an_ellipsis() -> None:
    recorder = Recorder()
    await channel("slack", recorder).post(MESSAGE.model_copy(update={"title": "x" * 200}), LINK)
    _, body = recorder.only()
    header = body["blocks"][0]["text"]["text"]
    assert len(header) == 150 and header.endswith("…")  # Slack's limit for a header


async def test_slack_sections_hold_at_most_ten_fields() -> None:
    recorder = Recorder()
    many = MESSAGE.model_copy(update={"facts": [(f"k{i}", "v") for i in range(13)], "text": ""})
    await channel("slack", recorder).post(many, LINK)
    _, body = recorder.only()
    sections = [b for b in body["blocks"] if b["type"] == "section"]
    assert [len(s["fields"]) for s in sections] == [10, 3]


async def test_mattermost_incoming_webhook_gets_markdown() -> None:
    recorder = Recorder()
    await channel("mattermost", recorder).post(MESSAGE, LINK)
    request, body = recorder.only()
    assert request.url.path == "/hooks/SECRET"
    assert list(body) == ["text"]
    assert body["text"].splitlines() == [
        "#### Incident P1 ouvert : Checkout \\<down> & out",
        "",
        "| | |",
        "|:--|:--|",
        "| **Incident** | incident-42 |",
        "| **Priorité** | P1 |",
        "| **Ouvert le** | 07/12/2026 03:00 CET |",
        "",
        "Redémarrage des pods | en cours",
        "",
        f"[Ouvrir dans Temporal]({LINK})",
    ]


async def test_mattermost_keeps_web_addresses_whole() -> None:
    """An escape inside a bare address would become part of the link Mattermost makes."""
    recorder = Recorder()
    url = "https://meet.jit.si/crisis-42-Ab_c*d~e"
    message = MESSAGE.model_copy(update={"facts": [("Conférence", url)], "text": f"voir {url}"})
    await channel("mattermost", recorder).post(message, LINK)
    _, body = recorder.only()
    assert f"| **Conférence** | {url} |" in body["text"].splitlines()
    assert f"voir {url}" in body["text"].splitlines()


async def test_google_chat_webhook_threads_by_incident() -> None:
    recorder = Recorder(httpx.Response(200, json={"name": "spaces/AAAA/messages/x"}))
    await channel("google_chat", recorder).post(MESSAGE, LINK)
    request, body = recorder.only()
    assert request.url.path == "/v1/spaces/AAAA/messages"
    assert dict(request.url.params) == {
        "key": "K",
        "token": "SECRET",
        "messageReplyOption": "REPLY_MESSAGE_FALLBACK_TO_NEW_THREAD",
    }
    assert body["thread"] == {"threadKey": "incident-42"}
    assert body["text"].splitlines()[0] == "*Incident P1 ouvert : Checkout <\u200bdown> & out*"
    assert "Priorité : P1" in body["text"]
    assert body["text"].endswith(f"<{LINK}|Ouvrir dans Temporal>")
    starred = MESSAGE.model_copy(update={"title": "Paiement *urgent* en panne"})
    await channel("google_chat", recorder).post(starred, LINK)
    text = json.loads(recorder.requests[-1].content)["text"]
    assert text.splitlines()[0] == "*Paiement ∗urgent∗ en panne*", text


TYPED = MESSAGE.model_copy(
    update={
        "title": "<users/all> @channel <!channel> Checkout down",
        "facts": [
            ("Application", "[Ouvrir dans Temporal](https://evil.example)"),
            ("Catégorie", "app | **Statut** | Résolu"),
        ],
        "text": "<https://evil.example|Ouvrir dans Temporal> @here ![x](https://evil.example/p)"
        " bob@example.com",
    }
)
# What would notify everyone or make a link in each vendor's format, unescaped.
LIVE = {
    "google_chat": [r"<users/all>", r"<https://evil"],
    "mattermost": [
        r"@(channel|here|all)",
        r"(?<!\\)\]\(https://evil",
        r"(?<!\\)<https://evil",
        r"(?<!\\)\*\*Statut",
        r"(?<!\\)\| R",  # emphasis, a cell made in a cell
    ],
    "slack": [r"<!channel>", r"<https://evil"],
    "teams": [r"\]\(https://evil"],
}


@pytest.mark.parametrize("vendor", sorted(URLS))
async def test_typed_text_can_neither_notify_everyone_nor_make_a_link(vendor: str) -> None:
    """A title or a worklog is typed by people and alert senders: in a chat message it shows
    as typed, but it never mentions a whole channel nor disguises a link as Vigie's."""
    recorder = Recorder()
    await channel(vendor, recorder).post(TYPED, LINK)
    _, body = recorder.only()
    if vendor == "slack":  # a header is plain_text: Slack shows it as typed, parses nothing
        body["blocks"] = [b for b in body["blocks"] if b["type"] != "header"]
    sent = json.dumps(body, ensure_ascii=False)
    for pattern in LIVE[vendor]:
        assert not re.search(pattern, sent), (pattern, sent)
    assert LINK in sent  # Vigie's own link stays a link
    assert "Checkout down" in sent and "evil.example" in sent  # shown as typed
    assert "bob@example.com" in sent  # an address is no mention


# ----------------------------------------------------------------------------- the activity


def notification(channel_name: str = "crise", vendor: str = "slack") -> ChatInput:
    return ChatInput(
        notification=ChatNotification(
            key="incident-42-chat-p1_opened-3-crise",
            channel=channel_name,
            vendor=vendor,  # type: ignore[arg-type]
            kind="p1_opened",
            language="fr",
            message=MESSAGE,
        )
    )


def activities(recorder: Recorder, vendor: str = "slack") -> ChatActivities:
    return ChatActivities(
        {"crise": channel(vendor, recorder)}, "https://temporal.example.com/", "vigie"
    )


async def test_the_activity_links_the_incident_in_the_temporal_ui() -> None:
    recorder = Recorder()
    result = await ActivityEnvironment().run(activities(recorder).send_chat_message, notification())
    assert result.channel == "crise" and result.status == 200
    _, body = recorder.only()
    assert body["blocks"][-1]["elements"][0]["url"] == LINK
    assert ui_link("http://localhost:8233", "my ns", "incident-a/b") == (
        "http://localhost:8233/namespaces/my%20ns/workflows/incident-a%2Fb"
    )


@pytest.mark.parametrize(
    ("vendor", "answer", "expected"),
    [
        ("slack", httpx.Response(404, text="no_service"), "HTTP 404: no_service"),
        ("slack", httpx.Response(410, text="channel_is_archived"), "channel_is_archived"),
        ("slack", httpx.Response(400, text="invalid_blocks"), "HTTP 400: invalid_blocks"),
        ("teams", httpx.Response(401, json={"error": {"code": "DirectApiAuthorizationRequired",
         "message": "The request must be authenticated"}}), "must be authenticated"),
        ("google_chat", httpx.Response(400, json={"error": {"code": 400, "message":
         "Invalid JSON payload received.", "status": "INVALID_ARGUMENT"}}), "Invalid JSON"),
        ("mattermost", httpx.Response(400, json={"id": "web.incoming_webhook.invalid.app_error",
         "message": "Invalid webhook.", "status_code": 400}), "Invalid webhook."),
    ],
)  # fmt: skip
async def test_a_refusal_is_final_with_an_actionable_message(
    vendor: str, answer: httpx.Response, expected: str
) -> None:
    with pytest.raises(ApplicationError) as caught:
        await ActivityEnvironment().run(
            activities(Recorder(answer), vendor).send_chat_message, notification(vendor=vendor)
        )
    error = caught.value
    assert error.non_retryable and error.type == "ChatRejected"
    assert expected in error.message and "channel 'crise'" in error.message
    if answer.status_code in (401, 404, 410):
        assert "VIGIE_CHAT_WEBHOOKS" in error.message
    assert "SECRET" not in error.message


@pytest.mark.parametrize(
    ("answer", "delay"),
    [
        (httpx.Response(429, headers={"Retry-After": "30"}, text="rate_limited"), 30),
        (httpx.Response(503, text="Service Unavailable"), None),
        (httpx.Response(500, json={"error": {"message": "Internal error"}}), None),
    ],
)
async def test_an_outage_or_a_throttle_is_retried(
    answer: httpx.Response, delay: int | None
) -> None:
    with pytest.raises(ApplicationError) as caught:
        await ActivityEnvironment().run(
            activities(Recorder(answer)).send_chat_message, notification()
        )
    assert not caught.value.non_retryable and caught.value.type == "ChatUnavailable"
    expected = timedelta(seconds=delay) if delay else None
    assert caught.value.next_retry_delay == expected


async def test_a_network_failure_never_shows_the_url() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError(f"cannot connect to {request.url}", request=request)

    http = httpx.AsyncClient(transport=httpx.MockTransport(handler))
    acts = ChatActivities(
        {"crise": channel_for("slack", SecretStr(URLS["slack"]), http)}, "http://ui", "default"
    )
    with pytest.raises(ApplicationError) as caught:
        await ActivityEnvironment().run(acts.send_chat_message, notification())
    assert not caught.value.non_retryable
    assert "unreachable (ConnectError)" in caught.value.message
    assert "SECRET" not in caught.value.message and "hooks.slack.com" not in caught.value.message


async def test_a_channel_without_a_webhook_is_a_configuration_error() -> None:
    acts = ChatActivities({}, "http://ui", "default")
    with pytest.raises(ApplicationError) as caught:
        await ActivityEnvironment().run(acts.send_chat_message, notification("gone"))
    assert caught.value.non_retryable and caught.value.type == "ChatNotConfigured"
    assert "VIGIE_CHAT_WEBHOOKS" in caught.value.message
