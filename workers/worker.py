"""Builds the activities and the Worker; runs it until SIGTERM or SIGINT."""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import Callable
from datetime import date, timedelta
from functools import partial
from typing import Any

import httpx
from pydantic import SecretStr
from temporalio.client import Client
from temporalio.worker import (
    PatchActivationInput,
    UnsandboxedWorkflowRunner,
    Worker,
    WorkflowRunner,
)
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner, SandboxRestrictions

from activities.alerting import AlertActivities
from activities.conference import ConferenceActivities
from activities.mail import MailActivities
from activities.mail_render import MailRenderer
from activities.policy import PolicyActivities
from activities.providers.conference import ConferenceProvider
from activities.providers.conference.jitsi import JitsiProvider
from activities.providers.conference.meet import MeetConfig, MeetProvider
from activities.providers.conference.teams import TeamsConfig, TeamsProvider
from activities.providers.conference.zoom import ZoomConfig, ZoomProvider
from activities.providers.opsgenie.client import OpsgenieApi, OpsgenieConfig, default_base_url
from activities.providers.smtp import MailTransport, SmtpConfig, SmtpTransport
from activities.task_priority import TaskPriorityActivities
from workers.converter import DATA_CONVERTER
from workers.file_cache import FileCache
from workers.ledger import ledger_activities, ledger_upkeep
from workers.matrix_file import LastValidMatrix, load_matrix
from workers.oncall_wiring import oncall_activities
from workers.policy_file import POLICY_FILE, load_policy
from workers.readiness_schedule import ensure_readiness_schedule
from workers.search_check import check_search_attributes
from workers.settings import Settings
from workflows.crisis import CrisisWorkflow
from workflows.incident import IncidentWorkflow
from workflows.oncall_readiness import OnCallReadinessWorkflow
from workflows.policy import ConfigError
from workflows.service_review import ServiceReviewWorkflow
from workflows.versions import BASELINES, WITHDRAWN

log = logging.getLogger(__name__)

WORKFLOWS = [IncidentWorkflow, CrisisWorkflow, OnCallReadinessWorkflow, ServiceReviewWorkflow]


def smtp_transport(settings: Settings) -> SmtpTransport:
    return SmtpTransport(
        SmtpConfig(
            host=settings.smtp_host,
            port=settings.smtp_port,
            security=settings.smtp_security,
            ca_file=str(settings.smtp_ca_file) if settings.smtp_ca_file else None,
            username=settings.smtp_username,
            password=settings.smtp_password,
            timeout_seconds=settings.smtp_timeout_seconds,
            connections=settings.smtp_connections,
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


def conference_providers(
    settings: Settings, http: httpx.AsyncClient
) -> tuple[ConferenceProvider, ConferenceProvider]:
    """The configured provider, and Jitsi as the fallback that needs no account."""
    fallback = JitsiProvider(settings.jitsi_url)
    name = settings.conference_provider
    primary: ConferenceProvider = fallback
    if name == "zoom":
        primary = ZoomProvider(
            ZoomConfig(
                account_id=settings.zoom_account_id or "",
                client_id=settings.zoom_client_id or "",
                client_secret=settings.zoom_client_secret or SecretStr(""),
            ),
            http,
        )
    elif name == "teams":
        primary = TeamsProvider(
            TeamsConfig(
                tenant_id=settings.teams_tenant_id or "",
                client_id=settings.teams_client_id or "",
                client_secret=settings.teams_client_secret or SecretStr(""),
                organizer=settings.teams_organizer or "",
            ),
            http,
        )
    elif name == "meet":
        primary = MeetProvider(
            MeetConfig(
                client_id=settings.meet_client_id or "",
                client_secret=settings.meet_client_secret or SecretStr(""),
                refresh_token=settings.meet_refresh_token or SecretStr(""),
            ),
            http,
        )
    return primary, fallback


def workflow_runner(settings: Settings) -> WorkflowRunner:
    """What workflows run in. 'off' (the default) runs them without the SDK's sandbox, and
    'shared' in a sandbox that passes Vigie's workflow modules through: either way they are
    imported once, not again for each workflow, which was most of a new incident's worker CPU
    and of a cached workflow's memory, and the sandbox's runtime checks no longer apply to
    them. Determinism is then kept by the code rule (ruff TID251 bans wall clock, randomness
    and I/O in workflows/) and the replay tests. 'strict' brings the runtime checks back; the
    test suite runs with it."""
    if settings.workflow_sandbox == "off":
        return UnsandboxedWorkflowRunner()
    restrictions = SandboxRestrictions.default
    if settings.workflow_sandbox == "shared":
        restrictions = restrictions.with_passthrough_modules("workflows")
    return SandboxedWorkflowRunner(restrictions=restrictions)


def check_alternate_channel(
    channel: str, *, relay: MailTransport | None, alerts: OpsgenieApi | None
) -> None:
    """Refuses a crisis channel that could never carry a notification."""
    if channel == "relay" and relay is None:
        raise ConfigError(
            f"{POLICY_FILE}: crisis.alternate_channel is 'relay' but VIGIE_ALT_SMTP_HOST is not "
            "set; set it, or choose 'opsgenie' or 'auto'"
        )
    if channel == "opsgenie" and alerts is None:
        raise ConfigError(
            f"{POLICY_FILE}: crisis.alternate_channel is 'opsgenie' but VIGIE_OPSGENIE_API_KEY "
            "is not set; set it, or choose 'relay' or 'auto'"
        )


def build_worker(
    client: Client,
    settings: Settings,
    *,
    task_queue: str | None = None,
    transport: MailTransport | None = None,
    alert_api: OpsgenieApi | None = None,
    conference_http: httpx.AsyncClient | None = None,
) -> Worker:
    """A worker for every Vigie workflow. Raises ConfigError if the policy file is broken."""
    policy = load_policy(settings.config_dir)
    # Refuse a broken matrix at start; later, a broken file gives the last valid one.
    matrix = LastValidMatrix(
        FileCache(settings.matrix_path, partial(load_matrix, settings.matrix_path)),
        load_matrix(settings.matrix_path),
    )
    # Read again only when the file changes (and the policy's holidays when the year turns).
    policy_path = settings.config_dir / POLICY_FILE
    read_policy = partial(load_policy, settings.config_dir)
    policies = PolicyActivities(
        FileCache(policy_path, read_policy, lambda: date.today().year),
        source=str(policy_path),
        last_valid=policy,
        load_matrix=matrix,
    )
    api = alert_api if alert_api is not None else opsgenie_api(settings)
    relay = (
        SmtpTransport(SmtpConfig(host=settings.alt_smtp_host, port=settings.alt_smtp_port))
        if settings.alt_smtp_host
        else None
    )
    check_alternate_channel(policy.crisis.alternate_channel, relay=relay, alerts=api)
    transport = transport or smtp_transport(settings)
    mail = MailActivities(
        transport,
        MailRenderer(settings.mail_from, settings.message_id_domain),
        relay=relay,
        alerts=api,
    )
    alerts = AlertActivities(api)
    http = conference_http or httpx.AsyncClient(timeout=20)
    conference = ConferenceActivities(*conference_providers(settings, http))
    # The worker's own converter: refusals travel without a stack trace.
    config = client.config()
    config["data_converter"] = DATA_CONVERTER
    worker_client = Client(**config)
    priorities = TaskPriorityActivities(worker_client)
    worker = Worker(
        worker_client,
        task_queue=task_queue or settings.task_queue,
        workflows=WORKFLOWS,
        workflow_runner=workflow_runner(settings),
        max_concurrent_activities=settings.max_concurrent_activities,
        max_concurrent_workflow_tasks=settings.max_concurrent_workflow_tasks,
        max_cached_workflows=settings.max_cached_workflows,
        sticky_queue_schedule_to_start_timeout=timedelta(
            seconds=settings.sticky_queue_timeout_seconds
        ),
        patch_activation_callback=baseline_gate(settings.patch_baseline),
        activities=[
            policies.load_policy,
            mail.send_incident_mail,
            alerts.alert_action,
            alerts.who_is_on_call,
            policies.load_escalation_matrix,
            mail.send_crisis_mail,
            conference.open_conference,
            priorities.set_task_priority,
            *oncall_activities(settings, policy, api, mail, matrix=matrix),
            *ledger_activities(settings, transport, settings.message_id_domain, matrix),
        ],
    )
    apply_activation_in_one_batch(worker)
    return worker


def apply_activation_in_one_batch(worker: Worker) -> bool:
    """New workflow tasks apply all the jobs of an activation before any workflow code runs
    (the SDK's workflow logic flag 2, recorded in history, so older tasks replay as written).

    In the SDK's default order, Updates run before the activity results of the same
    activation. A worker that replays an incident from its history (evicted from the cache,
    or after a restart) can get an activity result and an Update in one activation, where a
    later replay gets them in two: the commands came out in another order, and every later
    replay of that incident failed (temporalio/sdk-python#1591). The SDK's source plans this
    order as its default for a later release; until then it is set through its private
    switch, and a release without that switch only logs a warning."""
    try:
        from temporalio.worker._workflow_instance import _WorkflowLogicFlag
    except ImportError:
        flag = None
    else:
        flag = getattr(_WorkflowLogicFlag, "PROCESS_WORKFLOW_ACTIVATION_JOBS_AS_SINGLE_BATCH", None)
    switch = getattr(worker, "_set_default_workflow_logic_flag", None)
    if flag is None or switch is None:
        log.warning(
            "this temporalio release has no switch for applying an activation's jobs as one "
            "batch: its default order applies"
        )
        return False
    switch(flag, enabled=True)
    return True


def baseline_gate(write_baseline: str | None) -> Callable[[PatchActivationInput], bool]:
    """Whether a workflow running live for the first time records a patch: every patch does
    but the withdrawn ones; of the baselines, only the one ``VIGIE_PATCH_BASELINE`` names
    (workflows.versions). Without one, new workflows record each patch on its own, as a worker
    of an older release expects."""

    def activate(input: PatchActivationInput) -> bool:
        if input.patch_id in WITHDRAWN:
            return False
        if input.patch_id in BASELINES:
            return input.patch_id == write_baseline
        return True

    return activate


async def run_worker(client: Client, settings: Settings, stop: asyncio.Event | None = None) -> None:
    """Runs until ``stop`` is set, or until SIGTERM/SIGINT when no event is given."""
    await check_search_attributes(client)
    worker = build_worker(client, settings)
    await ensure_readiness_schedule(client, settings)
    if stop is None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
    async with worker, ledger_upkeep(client, settings):
        log.info(
            "worker polling task queue %r on %s (namespace %s)",
            settings.task_queue,
            settings.temporal_address,
            settings.temporal_namespace,
        )
        await stop.wait()
        log.info("stopping: finishing the tasks in hand")
