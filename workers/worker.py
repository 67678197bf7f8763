"""Builds the activities and the Worker; runs it until SIGTERM or SIGINT."""

from __future__ import annotations

import asyncio
import logging
import signal
from functools import partial
from typing import Any

from temporalio.client import Client
from temporalio.worker import Worker

from activities.alerting import AlertActivities
from activities.mail import MailActivities
from activities.mail_render import MailRenderer
from activities.policy import PolicyActivities
from activities.providers.opsgenie import OpsgenieApi, OpsgenieConfig, default_base_url
from activities.providers.smtp import MailTransport, SmtpConfig, SmtpTransport
from workers.policy_file import POLICY_FILE, load_policy
from workers.settings import Settings
from workflows.incident import IncidentWorkflow

log = logging.getLogger(__name__)

WORKFLOWS = [IncidentWorkflow]


def smtp_transport(settings: Settings) -> SmtpTransport:
    return SmtpTransport(
        SmtpConfig(
            host=settings.smtp_host,
            port=settings.smtp_port,
            security=settings.smtp_security,
            username=settings.smtp_username,
            password=settings.smtp_password,
            timeout_seconds=settings.smtp_timeout_seconds,
        )
    )


def opsgenie_api(settings: Settings, transport: Any = None) -> OpsgenieApi | None:
    """The alert API client, or None without an API key (then alerts are not updated)."""
    if settings.opsgenie_api_key is None or not settings.opsgenie_api_key.get_secret_value():
        return None
    config = OpsgenieConfig(
        provider=settings.opsgenie_provider,
        base_url=settings.opsgenie_api_url or default_base_url(settings.opsgenie_provider),
        api_key=settings.opsgenie_api_key,
        timeout_seconds=settings.opsgenie_timeout_seconds,
    )
    return OpsgenieApi(config, transport=transport)


def build_worker(
    client: Client,
    settings: Settings,
    *,
    task_queue: str | None = None,
    transport: MailTransport | None = None,
    alert_api: OpsgenieApi | None = None,
) -> Worker:
    """A worker for every Vigie workflow. Raises ConfigError if the policy file is broken."""
    policy = load_policy(settings.config_dir)
    policies = PolicyActivities(
        partial(load_policy, settings.config_dir),
        source=str(settings.config_dir / POLICY_FILE),
        last_valid=policy,
    )
    mail = MailActivities(
        transport or smtp_transport(settings),
        MailRenderer(settings.mail_from, settings.message_id_domain),
    )
    alerts = AlertActivities(alert_api if alert_api is not None else opsgenie_api(settings))
    return Worker(
        client,
        task_queue=task_queue or settings.task_queue,
        workflows=WORKFLOWS,
        activities=[
            policies.load_policy,
            mail.send_incident_mail,
            alerts.alert_action,
            alerts.who_is_on_call,
        ],
    )


async def run_worker(client: Client, settings: Settings, stop: asyncio.Event | None = None) -> None:
    """Runs until ``stop`` is set, or until SIGTERM/SIGINT when no event is given."""
    worker = build_worker(client, settings)
    if stop is None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
    async with worker:
        log.info(
            "worker polling task queue %r on %s (namespace %s)",
            settings.task_queue,
            settings.temporal_address,
            settings.temporal_namespace,
        )
        await stop.wait()
        log.info("stopping: finishing the tasks in hand")
