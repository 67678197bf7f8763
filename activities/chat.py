"""Posts chat notifications to the channels' webhooks, with a link to the Temporal UI."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import quote

from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.providers.chat import ChatProvider, ChatRejected, ChatUnavailable, advice
from workflows.chat import ChatInput, ChatResult
from workflows.metrics import count


def ui_link(ui_url: str, namespace: str, workflow_id: str) -> str:
    """The workflow's page in the Temporal Web UI (it opens the latest run)."""
    return f"{ui_url.rstrip('/')}/namespaces/{quote(namespace, safe='')}/workflows/" + quote(
        workflow_id, safe=""
    )


class ChatActivities:
    """``channels`` maps each channel name of the policy to its vendor's webhook."""

    def __init__(self, channels: dict[str, ChatProvider], ui_url: str, namespace: str) -> None:
        self._channels = channels
        self._ui_url = ui_url
        self._namespace = namespace

    @activity.defn(name="send_chat_message")
    async def send_chat_message(self, input: ChatInput) -> ChatResult:
        n = input.notification
        outcome = "error"
        try:
            status = await self._post(input)
            outcome = "sent"
            return ChatResult(channel=n.channel, status=status)
        except ApplicationError as exc:
            outcome = "refused" if exc.non_retryable else "unavailable"
            raise
        finally:
            count(activity.metric_meter(), "vigie_chat_messages", vendor=n.vendor, outcome=outcome)

    async def _post(self, input: ChatInput) -> int:
        n = input.notification
        channel = self._channels.get(n.channel)
        if channel is None:
            raise ApplicationError(
                f"chat channel {n.channel!r} has no webhook URL: add it to VIGIE_CHAT_WEBHOOKS "
                "and restart the workers",
                type="ChatNotConfigured",
                non_retryable=True,
            )
        link = ui_link(self._ui_url, self._namespace, n.message.workflow_id)
        try:
            status = await channel.post(n.message, link)
        except ChatRejected as exc:
            raise ApplicationError(
                f"{channel.vendor} channel {n.channel!r} refused the message ({exc}): "
                f"{advice(exc.status)}",
                type="ChatRejected",
                non_retryable=True,
            ) from exc
        except ChatUnavailable as exc:
            delay = timedelta(seconds=exc.retry_after) if exc.retry_after else None
            raise ApplicationError(
                f"{channel.vendor} channel {n.channel!r} unavailable: {exc}",
                type="ChatUnavailable",
                next_retry_delay=delay,
            ) from exc
        activity.logger.info("chat %s posted to %s (%s)", n.kind, n.channel, channel.vendor)
        return status
