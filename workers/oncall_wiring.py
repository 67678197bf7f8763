"""Builds the on-call and chat activities from the settings and the policy.

The schedule API follows ``VIGIE_OPSGENIE_PROVIDER``: with Opsgenie it is the alert API's
client (same base URL and key); with JSM Operations it is the REST API of the site
(``VIGIE_JSM_CLOUD_ID``, ``VIGIE_JSM_USER``, ``VIGIE_JSM_API_TOKEN``), read through the same
client code. Chat channels named in the policy must each have a webhook URL in
``VIGIE_CHAT_WEBHOOKS``: the worker refuses to start otherwise.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from functools import partial
from typing import Any
from urllib.parse import urlsplit

import httpx

from activities.chat import ChatActivities
from activities.mail import MailActivities
from activities.mail_render import MailRenderer
from activities.oncall import OnCallActivities
from activities.oncall_mail import ReadinessMailActivities
from activities.providers.chat import ChatProvider, channel_for
from activities.providers.opsgenie.client import OpsgenieApi, OpsgenieConfig
from activities.providers.opsgenie.schedules import JSM_OPERATIONS_REST, ScheduleApi
from workers.matrix_file import load_matrix
from workers.policy_file import POLICY_FILE
from workers.settings import Settings
from workflows.matrix import EscalationMatrix
from workflows.policy import ConfigError, Policy


def schedules_configured(settings: Settings) -> bool:
    """Whether a schedule API can be asked with these settings."""
    if settings.opsgenie_provider == "jsm":
        return settings.jsm_user is not None and settings.jsm_api_token is not None
    key = settings.opsgenie_api_key
    return key is not None and bool(key.get_secret_value())


def schedule_api(
    settings: Settings, alert_api: OpsgenieApi | None, transport: Any = None
) -> ScheduleApi | None:
    """The schedule API, or None when none is configured (then nothing is asked)."""
    if settings.opsgenie_provider != "jsm":
        return ScheduleApi(alert_api, "opsgenie") if alert_api is not None else None
    if (settings.jsm_user is None) != (settings.jsm_api_token is None):
        raise ConfigError("VIGIE_JSM_USER and VIGIE_JSM_API_TOKEN go together")
    if settings.jsm_user is None or settings.jsm_api_token is None:
        return None
    if not (settings.jsm_api_url or settings.jsm_cloud_id):
        raise ConfigError("VIGIE_JSM_USER is set: set VIGIE_JSM_CLOUD_ID (or VIGIE_JSM_API_URL)")
    base = settings.jsm_api_url or JSM_OPERATIONS_REST.format(cloud_id=settings.jsm_cloud_id)
    config = OpsgenieConfig(
        provider="jsm",
        base_url=base,
        api_key=settings.jsm_api_token,
        basic_user=settings.jsm_user,
        timeout_seconds=settings.opsgenie_timeout_seconds,
    )
    return ScheduleApi(OpsgenieApi(config, transport=transport), "jsm")


class HideWebhookUrls(logging.Filter):
    """httpx logs every request's URL at INFO; a webhook's URL is its secret. The channel's
    name is logged instead."""

    def __init__(self) -> None:
        super().__init__()
        self.names: dict[tuple[str, str], str] = {}

    def add(self, name: str, url: str) -> None:
        parsed = httpx.URL(url)
        self.names[(parsed.host, parsed.path)] = name

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if isinstance(args, tuple) and len(args) > 1 and isinstance(args[1], httpx.URL):
            name = self.names.get((args[1].host, args[1].path))
            if name is not None:
                record.args = (args[0], f"<chat webhook {name}>", *args[2:])
        return True


HIDE_WEBHOOK_URLS = HideWebhookUrls()
logging.getLogger("httpx").addFilter(HIDE_WEBHOOK_URLS)


def chat_channels(
    policy: Policy, settings: Settings, http: httpx.AsyncClient
) -> dict[str, ChatProvider]:
    """Every channel of the policy with its webhook; ConfigError names what is missing."""
    found: dict[str, ChatProvider] = {}
    for customer in policy.customers:
        for channel in customer.channels:
            url = settings.chat_webhooks.get(channel.name)
            if url is None:
                raise ConfigError(
                    f"{POLICY_FILE}: chat channel {channel.name!r} (customer {customer.name!r}) "
                    "has no webhook URL: add it to VIGIE_CHAT_WEBHOOKS, a JSON object from "
                    "channel name to URL"
                )
            parsed = urlsplit(url.get_secret_value())
            local = parsed.hostname in ("localhost", "127.0.0.1", "::1")
            if parsed.scheme != "https" and not (parsed.scheme == "http" and local):
                raise ConfigError(
                    f"VIGIE_CHAT_WEBHOOKS: the URL of {channel.name!r} must be https:// "
                    "(http:// only to this machine)"
                )
            HIDE_WEBHOOK_URLS.add(channel.name, url.get_secret_value())
            found[channel.name] = channel_for(channel.vendor, url, http)
    return found


def oncall_activities(
    settings: Settings,
    policy: Policy,
    alert_api: OpsgenieApi | None,
    mail: MailActivities,
    chat_http: httpx.AsyncClient | None = None,
    *,
    matrix: Callable[[], EscalationMatrix] | None = None,
) -> list[Callable[..., Any]]:
    """The activities of on-call readiness, on-call paging and chat channels. ``matrix``
    reads the escalation matrix (by default the file, as it is)."""
    oncall = OnCallActivities(
        schedule_api(settings, alert_api), matrix or partial(load_matrix, settings.matrix_path)
    )
    readiness_mail = ReadinessMailActivities(
        mail, MailRenderer(settings.mail_from, settings.message_id_domain)
    )
    http = chat_http or httpx.AsyncClient(timeout=settings.chat_timeout_seconds)
    chat = ChatActivities(
        chat_channels(policy, settings, http), settings.temporal_ui_url, settings.temporal_namespace
    )
    return [
        oncall.schedule_timeline,
        oncall.on_call_recipients,
        readiness_mail.send_readiness_mail,
        chat.send_chat_message,
    ]
