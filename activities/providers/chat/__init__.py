"""Chat channels behind one small protocol: one module per vendor's incoming webhook.

Every vendor is posted the same way (a JSON body to the webhook URL, which is the secret)
and fails the same ways, so ``post_json`` maps the answers once: 2xx delivered; 429, 5xx,
timeouts and network errors ``ChatUnavailable`` (retried); other 4xx ``ChatRejected`` (the
webhook was removed, revoked or refuses the message: retrying will not help). The URL
never appears in an error: it carries the channel's token.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

import httpx
from pydantic import SecretStr

from workflows.chat import ChatMessage
from workflows.limits import clip, one_line


class ChatRejected(Exception):
    """The vendor refused the message for good (4xx)."""

    def __init__(self, status: int, detail: str) -> None:
        super().__init__(f"HTTP {status}: {detail}" if detail else f"HTTP {status}")
        self.status = status


class ChatUnavailable(Exception):
    """Throttled, a server error, a timeout or unreachable: try again later."""

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class ChatProvider(Protocol):
    vendor: str

    async def post(self, message: ChatMessage, link: str) -> int:
        """Posts the message with a link to the incident; the HTTP status on success."""
        ...


def _retry_after(response: httpx.Response) -> float | None:
    try:
        return float(response.headers.get("Retry-After", ""))
    except ValueError:
        return None


def _detail(response: httpx.Response) -> str:
    """What the vendor said, short and on one line (Slack answers text, others JSON)."""
    try:
        body = response.json()
    except ValueError:
        return clip(one_line(response.text), 200)
    if isinstance(body, dict):
        error = body.get("error")
        if isinstance(error, dict):  # Google Chat, Teams Workflows
            body = error
        for key in ("message", "Message", "code", "status"):
            if body.get(key):
                return clip(one_line(str(body[key])), 200)
    return clip(one_line(str(body)), 200)


async def post_json(
    http: httpx.AsyncClient,
    url: SecretStr,
    payload: dict[str, Any],
    params: dict[str, str] | None = None,
) -> int:
    target = httpx.URL(url.get_secret_value())
    if params:  # added to the webhook's own query (Google Chat's key and token)
        target = target.copy_merge_params(params)
    try:
        response = await http.post(target, json=payload)
    except httpx.TimeoutException as exc:
        raise ChatUnavailable("timed out") from exc
    except httpx.TransportError as exc:
        raise ChatUnavailable(f"unreachable ({type(exc).__name__})") from exc
    if response.status_code == 429:
        raise ChatUnavailable("throttled (HTTP 429)", retry_after=_retry_after(response))
    if response.status_code >= 500:
        raise ChatUnavailable(f"HTTP {response.status_code}: {_detail(response)}")
    if response.status_code >= 400:
        raise ChatRejected(response.status_code, _detail(response))
    return response.status_code


def advice(status: int) -> str:
    """What a person can do about a refusal."""
    if status in (401, 403):
        return (
            "the webhook may not post (revoked, or the channel forbids it): create a new "
            "webhook and put its URL in VIGIE_CHAT_WEBHOOKS"
        )
    if status in (404, 410):
        return (
            "the webhook no longer exists (removed, or its channel archived): create a new "
            "one and put its URL in VIGIE_CHAT_WEBHOOKS"
        )
    return "the message was refused as it is; check the channel's vendor in the policy"


Payload = Callable[[ChatMessage, str], dict[str, Any]]


class WebhookChannel:
    """A channel reached by posting a vendor's payload to its incoming webhook URL."""

    def __init__(
        self,
        vendor: str,
        payload: Payload,
        url: SecretStr,
        http: httpx.AsyncClient,
        params: dict[str, str] | None = None,
    ) -> None:
        self.vendor = vendor
        self._payload, self._url, self._http, self._params = payload, url, http, params

    async def post(self, message: ChatMessage, link: str) -> int:
        return await post_json(self._http, self._url, self._payload(message, link), self._params)


def channel_for(vendor: str, url: SecretStr, http: httpx.AsyncClient) -> WebhookChannel:
    """The channel of a vendor named in the policy."""
    from activities.providers.chat import google_chat, mattermost, slack, teams

    if vendor == "google_chat":
        return WebhookChannel(vendor, google_chat.payload, url, http, google_chat.REPLY)
    vendors: dict[str, Payload] = {
        "teams": teams.payload,
        "slack": slack.payload,
        "mattermost": mattermost.payload,
    }
    return WebhookChannel(vendor, vendors[vendor], url, http)
