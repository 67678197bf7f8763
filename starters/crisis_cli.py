"""``vigie crisis ...``, ``vigie matrix check`` and ``vigie drill``."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated, Any

import typer
from pydantic import BaseModel
from temporalio.client import Client, WorkflowHandle, WorkflowUpdateRPCTimeoutOrCancelledError
from temporalio.service import RPCError, RPCStatusCode

from starters import listing
from starters.cli_support import (
    AsJson,
    By,
    Wait,
    build,
    business_zone,
    dated_id,
    err,
    fail,
    out,
    parse_instant,
    refuse_unusable_t0,
    run_with_client,
    when,
    workflow_id,
)
from starters.crisis_show import compliance_table, show
from starters.published import operate_on_kind, said_or_published, show_answer
from starters.updates import send_update
from workers.matrix_file import load_matrix
from workers.policy_file import load_policy
from workers.settings import Settings
from workflows import urgency
from workflows.crisis import CrisisWorkflow
from workflows.crisis_models import (
    AddMemberInput,
    CloseCrisisInput,
    ConfirmNominalInput,
    CrisisInput,
    CrisisStatusName,
    CrisisView,
    DecideDrpInput,
    EscalateInput,
    PostUpdateInput,
    ServiceRestoredInput,
    SubmitRexInput,
    ValidateCrisisInput,
)
from workflows.details import crisis_summary
from workflows.models import CompleteUrgentChangeInput, UrgentChangeInput
from workflows.policy import ConfigError

crisis_app = typer.Typer(
    rich_markup_mode="markdown", help="Crisis management (procedure §4).", no_args_is_help=True
)
matrix_app = typer.Typer(
    rich_markup_mode="markdown", help="The escalation matrix.", no_args_is_help=True
)

CrisisId = Annotated[
    str,
    typer.Argument(help="Crisis (workflow) id, e.g. crisis-incident-...", callback=workflow_id),
]
CRITERIA = (
    "major_incident critical_application_blocked virus_attack destruction "
    "infrastructure_unavailable natural_disaster social_movement aggression other"
)


def operate(crisis_id: str, operation: str, input: BaseModel, as_json: bool) -> CrisisView:
    async def action(client: Client, _cfg: Settings) -> CrisisView:
        handle = client.get_workflow_handle(crisis_id)
        return await operate_on_kind(
            client, crisis_id, "CrisisWorkflow",
            lambda: send_update(handle, operation, input, CrisisView), operation,
        )  # fmt: skip

    view = run_with_client(action)
    show(view, as_json)
    return view


def _with_criteria(command: Callable[..., None]) -> Callable[..., None]:
    """The criteria in the command's help text, which wraps whole names (an option's help
    column cut the longest ones in an 80-column pipe)."""
    criteria = ", ".join(CRITERIA.split())
    command.__doc__ = (command.__doc__ or "").replace("{criteria}", criteria)
    return command


@crisis_app.command("open")
@_with_criteria
def open_crisis(
    title: Annotated[str, typer.Option(help="What happens")],
    criterion: Annotated[str, typer.Option(help="Activation criterion, one of those above")],
    t0: Annotated[str | None, typer.Option(help="Start of the event, ISO 8601 with offset")] = None,
    context: Annotated[str, typer.Option(help="Details (mail system, security hints)")] = "",
    security: Annotated[
        bool | None, typer.Option("--security/--no-security", help="Security may be involved")
    ] = None,
    mail_system: Annotated[
        bool | None,
        typer.Option("--mail-system/--no-mail-system", help="The mail system is affected"),
    ] = None,
    triggered_by: Annotated[str, typer.Option(help="provider or client")] = "provider",
    customer: Annotated[
        str | None, typer.Option(help="Whose crisis it is (default: the policy's)")
    ] = None,
    application: Annotated[
        str | None, typer.Option(help="The application hit: its customer's chat channels")
    ] = None,
    by: By = None,
) -> None:
    """Open a crisis that is not an incident (§4.4); prints its id on the last line.

    Activation criteria (--criterion): {criteria}."""
    input = build(
        CrisisInput,
        title=title,
        criterion=criterion,
        t0=parse_instant(t0, "--t0") if t0 is not None else None,
        context=context,
        security_involved=security,
        mail_system_affected=mail_system,
        triggered_by=triggered_by,
        customer=customer,
        application=application,
        opened_by=by,
    )
    refuse_unusable_t0(input.t0, "a crisis starts when its event began")
    now = datetime.now(UTC)
    crisis_id = dated_id("crisis", now)

    async def action(client: Client, cfg: Settings) -> str:
        await client.start_workflow(
            CrisisWorkflow.run, input, id=crisis_id, task_queue=cfg.task_queue,
            static_summary=crisis_summary(input.title, input.language or "fr"),
            priority=urgency.URGENT,
        )  # fmt: skip
        return crisis_id

    print(run_with_client(action))


@crisis_app.command("list")
def list_crises(
    status: Annotated[CrisisStatusName | None, typer.Option(help="Only this status")] = None,
    limit: Annotated[int, typer.Option(min=1, max=10000, help="At most this many")] = 50,
    as_json: AsJson = False,
) -> None:
    """List crises, newest first: status, escalation level, next milestone due.

    In a terminal: a table. In a pipe: tab-separated lines (id, status, level, next due,
    started, title), ids always whole. --json for scripts."""
    query = listing.crisis_query(status)

    async def action(client: Client, _cfg: Settings) -> tuple[list[dict[str, Any]], int | None]:
        rows = await listing.list_rows(client, query, limit, listing.crisis_row)
        return rows, await listing.matched(client, query, len(rows), limit)

    rows, total = run_with_client(action)
    listing.print_rows(
        rows, listing.CRISIS_COLUMNS, as_json=as_json, when=when, what="crisis", query=query,
        total=total,
    )  # fmt: skip


@crisis_app.command("status")
def crisis_status(crisis_id: CrisisId, as_json: AsJson = False, wait: Wait = 10) -> None:
    """Show a crisis: milestones, cell, level, DRP decision.

    When no worker answers within --wait seconds: the state it last published to Temporal,
    exit status 3."""

    async def action(client: Client, _cfg: Settings) -> CrisisView | dict[str, Any]:
        return await said_or_published(
            client, crisis_id, CrisisWorkflow.status, wait, listing.crisis_row
        )

    found = run_with_client(action)
    show_answer(found, show, listing.CRISIS_COLUMNS, as_json=as_json, when=when)


@crisis_app.command("post-update")
def post_update(
    crisis_id: CrisisId,
    progress: Annotated[str, typer.Option(help="Progress")],
    done: Annotated[str, typer.Option(help="Actions done")] = "",
    remaining: Annotated[str, typer.Option(help="Remaining work")] = "",
    forecast: Annotated[str, typer.Option(help="When the service is expected back")] = "",
    by: By = None,
    as_json: AsJson = False,
) -> None:
    """Post the content of the next status mail."""
    fields = {"progress": progress, "done": done, "remaining": remaining, "forecast": forecast}
    input = build(PostUpdateInput, by=by, **fields)
    operate(crisis_id, "post_update", input, as_json)


@crisis_app.command("decide-drp")
def decide_drp(
    crisis_id: CrisisId,
    activate: Annotated[
        bool, typer.Option("--activate/--no-activate", help="Trigger the DRP or not")
    ],
    reason: Annotated[str, typer.Option(help="Why")],
    by: By = None,
    as_json: AsJson = False,
) -> None:
    """Record the DRP (PRA) decision."""
    operate(
        crisis_id,
        "decide_drp",
        build(DecideDrpInput, by=by, activate=activate, reason=reason),
        as_json,
    )


@crisis_app.command("escalate")
def escalate(
    crisis_id: CrisisId,
    reason: Annotated[str, typer.Option(help="Why")],
    by: By = None,
    as_json: AsJson = False,
) -> None:
    """Escalate to the next managerial level."""
    operate(crisis_id, "escalate", build(EscalateInput, by=by, reason=reason), as_json)


@crisis_app.command("add-member")
def add_member(
    crisis_id: CrisisId,
    name: Annotated[str, typer.Option(help="Name")],
    email: Annotated[str, typer.Option(help="E-mail")],
    kind: Annotated[str, typer.Option(help="expert, security, partner or other")] = "expert",
    by: By = None,
    as_json: AsJson = False,
) -> None:
    """Add a member to the crisis cell."""
    input = build(AddMemberInput, by=by, name=name, email=email, kind=kind)
    operate(crisis_id, "add_member", input, as_json)


@crisis_app.command("service-restored")
def service_restored(
    crisis_id: CrisisId,
    note: Annotated[str | None, typer.Option(help="Optional note")] = None,
    by: By = None,
    as_json: AsJson = False,
) -> None:
    """Record that the service is restored for users."""
    operate(crisis_id, "service_restored", build(ServiceRestoredInput, by=by, note=note), as_json)


@crisis_app.command("close")
def close(
    crisis_id: CrisisId,
    summary: Annotated[str, typer.Option(help="Closing summary")],
    without_confirmation: Annotated[
        str | None,
        typer.Option(
            "--without-confirmation",
            help="Why the crisis closes without the client's confirm-nominal",
        ),
    ] = None,
    by: By = None,
    as_json: AsJson = False,
) -> None:
    """Close the crisis: closing mail and REX draft."""
    input = build(
        CloseCrisisInput,
        by=by,
        summary=summary,
        without_client_confirmation=without_confirmation,
    )
    operate(crisis_id, "close_crisis", input, as_json)


@crisis_app.command("confirm-nominal")
def confirm_nominal(
    crisis_id: CrisisId,
    note: Annotated[str | None, typer.Option(help="Optional note")] = None,
    by: By = None,
    as_json: AsJson = False,
) -> None:
    """The client confirms the acceptable solution or the return to nominal (§4.7)."""
    operate(crisis_id, "confirm_nominal", build(ConfirmNominalInput, by=by, note=note), as_json)


@crisis_app.command("validate")
def validate(
    crisis_id: CrisisId,
    party: Annotated[str, typer.Option(help="provider_manager, provider_admin or client")],
    decline: Annotated[bool, typer.Option("--decline", help="Decline instead")] = False,
    note: Annotated[str | None, typer.Option(help="Optional note")] = None,
    by: By = None,
    as_json: AsJson = False,
) -> None:
    """Validate (or decline) the crisis situation (§4.7)."""
    decision = "declined" if decline else "validated"
    input = build(ValidateCrisisInput, by=by, party=party, decision=decision, note=note)
    operate(crisis_id, "validate_crisis", input, as_json)


@crisis_app.command("urgent-change")
def urgent_change(
    crisis_id: CrisisId,
    what: Annotated[str, typer.Option(help="The change")],
    why: Annotated[str, typer.Option(help="Why it is urgent")],
    by: By = None,
    as_json: AsJson = False,
) -> None:
    """Request an urgent change: mailed to the change manager, tracked until done."""
    input = build(UrgentChangeInput, by=by, what=what, why=why)
    view = operate(crisis_id, "request_urgent_change", input, as_json)
    if view.urgent_changes:  # its id, which urgent-change-done takes (on stderr, last)
        change = view.urgent_changes[-1].id
        err.print(
            f"urgent change {change} requested; once done: vigie crisis urgent-change-done "
            f"{crisis_id} --change-id {change} --outcome ...",
            soft_wrap=True,
        )


@crisis_app.command("urgent-change-done")
def urgent_change_done(
    crisis_id: CrisisId,
    change_id: Annotated[str, typer.Option(help="The change's id, e.g. UC-1")],
    outcome: Annotated[str, typer.Option(help="What was done")],
    by: By = None,
    as_json: AsJson = False,
) -> None:
    """Record that an urgent change is done."""
    input = build(CompleteUrgentChangeInput, by=by, change_id=change_id, outcome=outcome)
    operate(crisis_id, "complete_urgent_change", input, as_json)


@crisis_app.command("submit-rex")
def submit_rex(
    crisis_id: CrisisId,
    link: Annotated[str | None, typer.Option(help="Link to the report")] = None,
    text: Annotated[str | None, typer.Option(help="The report itself")] = None,
    by: By = None,
    as_json: AsJson = False,
) -> None:
    """Submit the lessons-learned report."""
    operate(crisis_id, "submit_rex", build(SubmitRexInput, by=by, link=link, text=text), as_json)


@matrix_app.command("check")
def check(path: Annotated[Path, typer.Argument(help="Escalation matrix file (TOML)")]) -> None:
    """Validate an escalation matrix file before publishing it."""
    try:
        matrix = load_matrix(path)
    except ConfigError as exc:
        fail(str(exc), 2)
    levels = matrix.levels
    out.print(
        f"{path}: valid, version {matrix.version}; {len(levels.business_hours)} business-hours "
        f"levels, {len(levels.outside_business_hours)} outside business hours"
    )


# What the drill's team answers, in the language of the mails (the policy's).
DRILL_TEXTS = {
    "fr": {
        "title": "application principale indisponible",
        "diagnosis": "diagnostic en cours",
        "drp": "bascule sur le site B",
        "failover": "bascule en cours",
        "restored": "utilisateurs de retour sur le site B",
        "stable": "stable sur le site B",
        "confirmed": "les utilisateurs confirment",
        "over": "fin de l'exercice",
        "rex": "REX de l'exercice",
        "by": "exercice",
    },
    "en": {
        "title": "main application down",
        "diagnosis": "diagnosis under way",
        "drp": "fail over to site B",
        "failover": "failover running",
        "restored": "users back on site B",
        "stable": "stable on site B",
        "confirmed": "users confirm",
        "over": "drill over",
        "rex": "drill REX",
        "by": "drill",
    },
}


async def cancel_if_started(
    handle: WorkflowHandle[Any, Any], start: asyncio.Future[Any], within: float = 5.0
) -> str:
    """Cancels a workflow whose start was sent and may not be answered yet: what became of it.
    Not found while the start is still on its way, it is asked again (for ``within`` s)."""
    loop = asyncio.get_running_loop()
    give_up = loop.time() + within
    while True:
        if start.done() and (start.cancelled() or start.exception() is not None):
            return "it did not start"
        try:
            await handle.cancel()
            return "cancelled"
        except RPCError as exc:
            if exc.status != RPCStatusCode.NOT_FOUND or loop.time() > give_up:
                return f"not cancelled ({exc}): cancel it from the Web UI"
        await asyncio.sleep(0.2)


async def run_drill(client: Client, cfg: Settings, speed: float, title: str | None) -> CrisisView:
    """A full crisis exercise: the team's answers are played at plausible moments, in the
    policy's language; every mail says it is a drill."""
    said = DRILL_TEXTS[load_policy(cfg.config_dir).notifications.language]
    title = title or said["title"]
    # To the second, and 4 random hex digits: two drills started in one second are two.
    stamp = f"{datetime.now(business_zone()):%Y%m%d-%H%M%S}-{secrets.token_hex(2)}"
    crisis_id = f"{listing.DRILL_PREFIX}{stamp}"
    handle = client.get_workflow_handle_for(CrisisWorkflow.run, crisis_id)
    start = asyncio.ensure_future(
        client.start_workflow(
            CrisisWorkflow.run,
            CrisisInput(title=title, criterion="other", opened_by=said["by"], time_scale=speed),
            id=crisis_id,
            task_queue=cfg.task_queue,
            static_summary=f"Drill: {title}",
        )
    )
    try:
        await asyncio.shield(start)
    except asyncio.CancelledError:
        # Interrupted while Temporal answered: the exercise may have started all the same.
        became = await cancel_if_started(handle, start)
        start.cancel()  # its answer is awaited no more
        err.print(f"drill {crisis_id} interrupted while starting: {became}")
        raise
    err.print(f"drill {crisis_id} started, {speed:g}× faster")

    loop = asyncio.get_running_loop()
    started = loop.time()

    async def at(minutes: float) -> None:
        """Waits until T0 + ``minutes`` drill time, from the start: no drift builds up."""
        due = started + timedelta(minutes=minutes).total_seconds() / speed
        await asyncio.sleep(max(0.0, due - loop.time()))

    script: list[tuple[float, str, BaseModel]] = [
        (50, "post_update", PostUpdateInput(by=said["by"], progress=said["diagnosis"])),
        (80, "decide_drp", DecideDrpInput(by=said["by"], activate=True, reason=said["drp"])),
        (150, "post_update", PostUpdateInput(by=said["by"], progress=said["failover"], done="DNS")),
        (200, "service_restored", ServiceRestoredInput(by=said["by"], note=said["restored"])),
        (260, "post_update", PostUpdateInput(by=said["by"], progress=said["stable"])),
        (300, "confirm_nominal", ConfirmNominalInput(by=said["by"], note=said["confirmed"])),
        (320, "close_crisis", CloseCrisisInput(by=said["by"], summary=said["over"])),
    ]
    try:
        for minute, operation, input in script:
            await at(minute)
            await handle.execute_update(operation, input, result_type=CrisisView)
            err.print(f"T0+{minute:g} min: {operation}")
        await at(script[-1][0] + 2)
        await handle.execute_update(
            "submit_rex", SubmitRexInput(by=said["by"], text=said["rex"]), result_type=CrisisView
        )
    except (asyncio.CancelledError, WorkflowUpdateRPCTimeoutOrCancelledError) as exc:
        # Interrupted (Ctrl-C), also while an Update was under way (which the SDK says as
        # its own error): the exercise would go on mailing its cell every drill hour with
        # nobody playing the team's answers. It is cancelled.
        interrupted = isinstance(exc, asyncio.CancelledError) or isinstance(
            exc.__cause__, asyncio.CancelledError
        )
        if not interrupted:
            raise
        await handle.cancel()
        err.print(f"drill {crisis_id} interrupted: cancelled")
        raise asyncio.CancelledError from exc
    result: CrisisView = await handle.result()
    return result


def drill(
    speed: Annotated[
        float,
        typer.Option(min=1.0, max=3600.0, help="How many times faster than real time (1 to 3600)"),
    ] = 60.0,
    title: Annotated[
        str | None, typer.Option(help="Scenario (default: the main application down)")
    ] = None,
) -> None:
    """Rehearse the crisis procedure on the running stack, time compressed; prints compliance."""

    async def action(client: Client, cfg: Settings) -> CrisisView:
        return await run_drill(client, cfg, speed, title)

    view = run_with_client(action)
    out.print(compliance_table(view, scale=speed))
    met = sum(m.status == "met" for m in view.milestones)
    applicable = sum(m.status != "not_applicable" for m in view.milestones)
    out.print(f"{met} of {applicable} applicable milestones met on time")


def register(app: Any) -> None:
    app.add_typer(crisis_app, name="crisis")
    app.add_typer(matrix_app, name="matrix")
    app.command("drill")(drill)
