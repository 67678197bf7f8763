"""The ``vigie`` command: run the worker or the dev stack, open and operate incidents."""

from __future__ import annotations

import asyncio
import logging
import os
import re
import signal
import sys
import traceback
from typing import Annotated, Any

import typer
from pydantic import BaseModel
from temporalio.client import Client

from starters import incidents, listing
from starters.cli_support import (
    AsJson,
    By,
    IncidentId,
    Wait,
    build,
    client_for,
    err,
    fail,
    operator_name,
    parse_instant,
    refuse_unusable_t0,
    run_with_client,
    settings,
    show_direction_controls,
    when,
)
from starters.crisis_cli import register as register_crisis_commands
from starters.incident_show import show
from starters.oncall_cli import register as register_oncall_commands
from starters.published import said_or_published, show_answer
from starters.report.cli import register as register_report_commands
from starters.schedules_cli import register as register_schedules_commands
from workers.connection import metrics_runtime
from workers.logs import setup_logging
from workers.policy_file import ConfigError
from workers.settings import Settings
from workflows.incident import IncidentWorkflow
from workflows.limits import MAX_ID, once_each
from workflows.models import (
    INCIDENT_ID_PATTERN,
    AcknowledgeInput,
    CloseInput,
    IncidentInput,
    IncidentStatusName,
    IncidentView,
    P1Verdict,
    ProblemProposal,
    ProblemReason,
    QualifyP1Input,
    RecategorizeInput,
    ReopenInput,
    ResolveInput,
    ResumeInput,
    SetPendingInput,
    WaitingOn,
    WorklogInput,
)
from workflows.policy import Grade, Priority, ServiceLevel

log = logging.getLogger("vigie")
app = typer.Typer(
    help="Vigie: durable incident orchestration on Temporal.",
    rich_markup_mode="markdown",
    no_args_is_help=True,
    add_completion=False,
)


@app.callback()
def _output() -> None:
    show_direction_controls()


def operate(incident_id: str, operation: str, input: BaseModel, as_json: bool) -> None:
    async def action(client: Client, _cfg: Settings) -> IncidentView:
        return await incidents.run_operation(client, incident_id, operation, input)

    show(run_with_client(action), as_json)


# ------------------------------------------------------------------ processes


@app.command()
def worker() -> None:
    """Run a worker on VIGIE_TASK_QUEUE until SIGTERM or Ctrl-C."""
    from workers.worker import run_worker

    cfg = settings()
    setup_logging(cfg.log_level, cfg.log_format)

    async def main() -> None:
        runtime = metrics_runtime(cfg.metrics_bind) if cfg.metrics_bind else None
        client = await client_for(cfg, runtime)
        await run_worker(client, cfg)

    try:
        asyncio.run(main())
    except ConfigError as exc:
        fail(str(exc), 2)


@app.command()
def dev(
    data_dir: Annotated[
        str, typer.Option(help="Where the dev stack keeps its state and mails")
    ] = ".vigie",
    port: Annotated[int, typer.Option(help="Temporal frontend port")] = 7233,
    ui_port: Annotated[int, typer.Option(help="Temporal Web UI port")] = 8233,
    smtp_port: Annotated[int, typer.Option(help="Local mail sink port")] = 1025,
    webhook_port: Annotated[int, typer.Option(help="Webhook receiver port")] = 8080,
    opsgenie_port: Annotated[int, typer.Option(help="Opsgenie stand-in port")] = 8081,
) -> None:
    """Run the embedded stack: Temporal dev server, mail sink, Opsgenie stand-in, webhook
    receiver and worker (the dev-stack extra). Ctrl-C stops all."""
    try:
        from starters.dev import DevStackMissing, require_dev_stack
    except ModuleNotFoundError:
        fail(
            "the dev stack is not part of this installation (the production image leaves "
            "it out); run `vigie dev` on a development machine: pip install 'vigie[dev-stack]'"
        )
    try:
        require_dev_stack()
    except DevStackMissing as exc:
        fail(str(exc))
    from starters.dev.stack import DevStack

    cfg = settings()
    setup_logging(cfg.log_level, cfg.log_format)
    try:
        stack = DevStack(cfg, data_dir, port, ui_port, smtp_port, webhook_port, opsgenie_port)
        asyncio.run(stack.run())
    except ConfigError as exc:
        fail(str(exc), 2)
    except KeyboardInterrupt:
        pass


@app.command()
def webhook(
    host: Annotated[
        str | None, typer.Option(help="Listen address (default VIGIE_WEBHOOK_HOST)")
    ] = None,
    port: Annotated[
        int | None, typer.Option(help="Listen port (default VIGIE_WEBHOOK_PORT)")
    ] = None,
    dev_mode: Annotated[
        bool, typer.Option("--dev", help="Accept webhooks without a secret")
    ] = False,
) -> None:
    """Run the Opsgenie / JSM webhook receiver (POST /webhooks/opsgenie)."""
    from starters.gateway import TemporalGateway
    from starters.serving import serving, webhook_limits
    from starters.webhook import PATH, create_app
    from workers.opsgenie_file import load_mapping

    cfg = settings()
    setup_logging(cfg.log_level, cfg.log_format)
    secret = cfg.webhook_secret.get_secret_value() if cfg.webhook_secret else ""
    if not secret and not (dev_mode or cfg.dev_mode):
        fail(
            "VIGIE_WEBHOOK_SECRET is not set: refusing to accept unauthenticated webhooks "
            "(use --dev on a development machine)",
            2,
        )
    try:
        mapping = load_mapping(cfg.config_dir)
    except ConfigError as exc:
        fail(str(exc), 2)

    async def main() -> None:
        client = await client_for(cfg)
        receiver = create_app(
            TemporalGateway(client, cfg.task_queue),
            mapping,
            secret=secret or None,
            secret_header=cfg.webhook_secret_header,
            max_body_bytes=cfg.webhook_max_body_bytes,
            read_timeout_seconds=cfg.webhook_read_timeout_seconds,
        )
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        listen_host, listen_port = host or cfg.webhook_host, port or cfg.webhook_port
        async with serving(
            receiver, listen_host, listen_port, cfg.log_level.lower(), webhook_limits(cfg)
        ):
            log.info("webhook receiver on http://%s:%s%s", listen_host, listen_port, PATH)
            await stop.wait()

    asyncio.run(main())


# ------------------------------------------------------------------ incidents


@app.command("open")
def open_(
    title: Annotated[str, typer.Option(help="Short title of the incident")],
    service_level: Annotated[ServiceLevel, typer.Option(help="Customer service level")],
    priority: Annotated[
        Priority | None, typer.Option(help="Priority; or give --impact and --urgency")
    ] = None,
    impact: Annotated[Grade | None, typer.Option(help="Impact, with --urgency")] = None,
    urgency: Annotated[Grade | None, typer.Option(help="Urgency, with --impact")] = None,
    category: Annotated[str | None, typer.Option(help="Incident category")] = None,
    description: Annotated[str | None, typer.Option(help="What is observed, since when")] = None,
    application: Annotated[
        str | None, typer.Option(help="Application or machine concerned")
    ] = None,
    requester: Annotated[
        list[str] | None, typer.Option(help="Requester e-mail (repeatable)")
    ] = None,
    t0: Annotated[
        str | None,
        typer.Option(
            help="When the fault began: ISO 8601 with an offset or Z, "
            "e.g. 2026-11-29T15:45+01:00 or 2026-11-29T14:45:24.433Z"
        ),
    ] = None,
    language: Annotated[
        str | None, typer.Option(help="Mail language: fr or en (default: policy)")
    ] = None,
    incident_id: Annotated[
        str | None, typer.Option("--id", help="Workflow id to use (default: generated)")
    ] = None,
    customer: Annotated[
        str | None, typer.Option(help="Whose incident it is (default: the policy's)")
    ] = None,
    by: By = None,
) -> None:
    """Open an incident; prints its workflow id alone on the last line."""
    if priority is None and (impact is None or urgency is None):
        fail("give --priority, or both --impact and --urgency", 2)
    if priority is not None and (impact or urgency):
        fail("give either --priority or --impact/--urgency, not both", 2)
    if incident_id is not None and not (
        len(incident_id) <= MAX_ID and re.match(INCIDENT_ID_PATTERN, incident_id)
    ):
        fail(
            f"--id must be 'incident-' and letters, digits, '.', '_', ':' or '-' "
            f"(at most {MAX_ID} characters)",
            2,
        )
    fault_began = parse_instant(t0, "--t0") if t0 is not None else None
    refuse_unusable_t0(fault_began, "an incident starts when its fault began")
    input = build(
        IncidentInput,
        title=title,
        service_level=service_level,
        priority=priority,
        impact=impact,
        urgency=urgency,
        category=category,
        description=description,
        application=application,
        requesters=once_each(requester or []),  # each mailed once, whatever the case
        t0=fault_began,
        language=language,
        source="cli",
        opened_by=by or operator_name(),
        customer=customer,
    )

    async def action(client: Client, cfg: Settings) -> str:
        from temporalio.exceptions import WorkflowAlreadyStartedError

        try:
            return await incidents.open_incident(client, cfg.task_queue, input, incident_id)
        except WorkflowAlreadyStartedError:
            fail(f"an incident with id {incident_id} already exists")

    workflow_id = run_with_client(action)
    err.print(f"opened {input.title!r} on task queue {settings().task_queue}")
    print(workflow_id)


@app.command()
def status(incident_id: IncidentId, as_json: AsJson = False, wait: Wait = 10) -> None:
    """Show an incident: state, deadlines, breaches and timeline.

    When no worker answers within --wait seconds (every worker down, or the incident's
    task waiting in a backlog): the state it last published to Temporal, exit status 3."""

    async def action(client: Client, _cfg: Settings) -> IncidentView | dict[str, Any]:
        return await said_or_published(
            client, incident_id, IncidentWorkflow.status, wait, listing.incident_row
        )

    found = run_with_client(action)
    show_answer(found, show, listing.INCIDENT_COLUMNS, as_json=as_json, when=when)


@app.command("list")
def list_(
    status: Annotated[IncidentStatusName | None, typer.Option(help="Only this status")] = None,
    priority: Annotated[Priority | None, typer.Option(help="Only this priority")] = None,
    service_level: Annotated[
        ServiceLevel | None, typer.Option(help="Only this service level")
    ] = None,
    breached: Annotated[
        bool | None, typer.Option("--breached/--not-breached", help="Only breached / not breached")
    ] = None,
    limit: Annotated[int, typer.Option(min=1, max=10000, help="At most this many")] = 50,
    as_json: AsJson = False,
) -> None:
    """List incidents, newest first, through the search attributes.

    In a terminal: a table, times in the business time zone. In a pipe: one line per
    incident, tab-separated (id, status, priority, level, breached, next due, started,
    title; times in ISO 8601), ids always whole. --json for scripts."""
    query = listing.incident_query(status, priority, service_level, breached)

    async def action(client: Client, _cfg: Settings) -> tuple[list[dict[str, Any]], int | None]:
        rows = await listing.list_rows(client, query, limit, listing.incident_row)
        return rows, await listing.matched(client, query, len(rows), limit)

    rows, total = run_with_client(action)
    listing.print_rows(
        rows, listing.INCIDENT_COLUMNS, as_json=as_json, when=when, what="incident", query=query,
        total=total,
    )  # fmt: skip


@app.command()
def acknowledge(
    incident_id: IncidentId,
    note: Annotated[str | None, typer.Option(help="Optional note")] = None,
    by: By = None,
    as_json: AsJson = False,
) -> None:
    """Acknowledge an open incident (open → in_progress)."""
    operate(incident_id, "acknowledge", build(AcknowledgeInput, by=by, note=note), as_json)


@app.command("add-worklog")
def add_worklog(
    incident_id: IncidentId,
    text: Annotated[str, typer.Option(help="Work done")],
    by: By = None,
    as_json: AsJson = False,
) -> None:
    """Record work done on the incident."""
    operate(incident_id, "add_worklog", build(WorklogInput, by=by, text=text), as_json)


@app.command("set-pending")
def set_pending(
    incident_id: IncidentId,
    waiting_on: Annotated[WaitingOn, typer.Option(help="Who the team waits on")],
    reason: Annotated[str, typer.Option(help="What is awaited")],
    by: By = None,
    as_json: AsJson = False,
) -> None:
    """Put the incident on hold; the resolution clock pauses."""
    input = build(SetPendingInput, by=by, waiting_on=waiting_on, reason=reason)
    operate(incident_id, "set_pending", input, as_json)


@app.command()
def resume(
    incident_id: IncidentId,
    note: Annotated[str | None, typer.Option(help="Optional note")] = None,
    by: By = None,
    as_json: AsJson = False,
) -> None:
    """Leave pending; the resolution clock runs again."""
    operate(incident_id, "resume", build(ResumeInput, by=by, note=note), as_json)


@app.command()
def recategorize(
    incident_id: IncidentId,
    reason: Annotated[str, typer.Option(help="Why")],
    priority: Annotated[Priority | None, typer.Option(help="New priority")] = None,
    impact: Annotated[Grade | None, typer.Option(help="New impact, with --urgency")] = None,
    urgency: Annotated[Grade | None, typer.Option(help="New urgency, with --impact")] = None,
    service_level: Annotated[ServiceLevel | None, typer.Option(help="New service level")] = None,
    by: By = None,
    as_json: AsJson = False,
) -> None:
    """Change the class of the incident; deadlines are recomputed from T0."""
    input = build(
        RecategorizeInput,
        by=by,
        reason=reason,
        priority=priority,
        impact=impact,
        urgency=urgency,
        service_level=service_level,
    )
    operate(incident_id, "recategorize", input, as_json)


@app.command("qualify-p1")
def qualify_p1(
    incident_id: IncidentId,
    verdict: Annotated[P1Verdict, typer.Option(help="unconfirmed, confirmed or major")],
    new_priority: Annotated[
        str | None, typer.Option(help="P2 or P3, with --verdict unconfirmed")
    ] = None,
    note: Annotated[str | None, typer.Option(help="Optional note")] = None,
    by: By = None,
    as_json: AsJson = False,
) -> None:
    """Qualify a P1 incident."""
    input = build(QualifyP1Input, by=by, verdict=verdict, new_priority=new_priority, note=note)
    operate(incident_id, "qualify_p1", input, as_json)


@app.command()
def resolve(
    incident_id: IncidentId,
    resolution: Annotated[str, typer.Option(help="How it was resolved")],
    runbook_change: Annotated[
        str | None, typer.Option(help="Change to the team's instructions")
    ] = None,
    problem_reason: Annotated[
        ProblemReason | None, typer.Option(help="Propose a problem: unknown_cause or recurring")
    ] = None,
    problem: Annotated[
        str | None, typer.Option(help="The problem proposal, with --problem-reason")
    ] = None,
    by: By = None,
    as_json: AsJson = False,
) -> None:
    """Resolve the incident with its resolution documented."""
    if (problem_reason is None) != (problem is None):
        fail("--problem-reason and --problem go together", 2)
    proposal = (
        build(ProblemProposal, reason=problem_reason, text=problem)
        if problem_reason is not None
        else None
    )
    input = build(
        ResolveInput, by=by, resolution=resolution, runbook_change=runbook_change, problem=proposal
    )
    operate(incident_id, "resolve", input, as_json)


@app.command()
def close(
    incident_id: IncidentId,
    note: Annotated[str | None, typer.Option(help="Optional note")] = None,
    by: By = None,
    as_json: AsJson = False,
) -> None:
    """Close a resolved incident."""
    operate(incident_id, "close", build(CloseInput, by=by, note=note), as_json)


@app.command()
def reopen(
    incident_id: IncidentId,
    reason: Annotated[str, typer.Option(help="Why it is reopened")],
    by: By = None,
    as_json: AsJson = False,
) -> None:
    """Reopen a resolved incident."""
    operate(incident_id, "reopen", build(ReopenInput, by=by, reason=reason), as_json)


register_crisis_commands(app)
register_oncall_commands(app)
register_report_commands(app)
register_schedules_commands(app)


def main() -> None:
    """Runs one command, then leaves without interpreter finalization.

    The Temporal SDK's native threads can outlive Python's finalization and abort it
    ("PyGILState_Release", exit 134) after the command has done its work; a script that
    retries on a non-zero exit would then repeat it. Once the command is over, output and
    logs are flushed and the process exits with the command's own status.
    """
    code = 0
    try:
        app(prog_name="vigie")
    except SystemExit as exc:
        if isinstance(exc.code, int):
            code = exc.code
        elif exc.code is not None:
            print(exc.code, file=sys.stderr)
            code = 1
    except KeyboardInterrupt:
        code = 130
    except BaseException:
        traceback.print_exc()
        code = 1
    finally:
        logging.shutdown()
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)


if __name__ == "__main__":
    main()
