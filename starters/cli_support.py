"""What every vigie command shares: settings, the Temporal client, errors, operator input."""

from __future__ import annotations

import asyncio
import functools
import getpass
import re
import secrets
import sys
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, NoReturn, TypeVar
from zoneinfo import ZoneInfo

import typer
from pydantic import BaseModel, ValidationError
from pydantic_settings import SettingsError
from rich.console import Console
from rich.text import Text
from temporalio.client import Client, WorkflowExecutionDescription, WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError
from temporalio.runtime import Runtime
from temporalio.service import RPCError, RPCStatusCode

from starters.queries import stuck
from workers.connection import connect
from workers.policy_file import ConfigError, load_policy
from workers.settings import Settings
from workflows.delivery import DeliveryTrouble
from workflows.limits import DIRECTION_CONTROLS, is_clean_line
from workflows.operations import describe

# In a pipe, lines are never folded: ids, paths and messages stay whole for scripts.
# What the CLI prints is data (titles, worklogs, reasons, arguments): never read as markup or
# emoji codes. Styles are given as Text spans.
out = Console(soft_wrap=not sys.stdout.isatty(), markup=False, emoji=False)
err = Console(stderr=True, soft_wrap=not sys.stderr.isatty(), markup=False, emoji=False)
T = TypeVar("T")


class VisibleControls:
    """A text stream that writes direction controls as ``\\uXXXX`` escapes (visible, and the
    same string again in JSON); anything else as given."""

    def __init__(self, stream: Any) -> None:
        self._stream = stream

    def write(self, text: str) -> int:
        self._stream.write(DIRECTION_CONTROLS.sub(lambda m: f"\\u{ord(m.group()):04x}", text))
        return len(text)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)


def show_direction_controls() -> None:
    """Every command's output and errors show direction controls as escapes."""
    for name in ("stdout", "stderr"):
        stream = getattr(sys, name)
        if not isinstance(stream, VisibleControls):
            setattr(sys, name, VisibleControls(stream))


def operator_name() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "operator"


# The longest workflow id Temporal takes (its default ``limit.maxIDLength``).
MAX_WORKFLOW_ID = 1000


def workflow_id(value: str) -> str:
    """An id as typed, refused (exit status 2) when it can be no workflow's: blank, longer
    than Temporal takes, or holding a line break or a control character (said escaped)."""
    if not value.strip() or len(value) > MAX_WORKFLOW_ID:
        raise typer.BadParameter(f"an id is 1 to {MAX_WORKFLOW_ID} characters")
    if not is_clean_line(value) or DIRECTION_CONTROLS.search(value):
        raise typer.BadParameter(
            f"an id is one line without control characters, not {value[:80]!r}"
        )
    return value


IncidentId = Annotated[
    str,
    typer.Argument(
        help="Incident (workflow) id, e.g. incident-20261129-a1b2c3", callback=workflow_id
    ),
]
By = Annotated[
    str | None,
    typer.Option("--by", envvar="VIGIE_OPERATOR", help="Who acts (default: the login name)"),
]
AsJson = Annotated[bool, typer.Option("--json", help="Print it as JSON")]
Wait = Annotated[
    float,
    typer.Option(
        "--wait",
        min=1,
        max=600,
        help="Seconds to wait for a worker's answer; then the state last published to "
        "Temporal is shown instead, not the whole view (exit status 3)",
    ),
]


def retrying(trouble: DeliveryTrouble, when: Callable[[datetime], str]) -> str:
    """A send that keeps failing, for people: what, attempts since when, the last error."""
    t = trouble
    return (
        f"{t.outbox} {t.item}: {t.attempts} attempts since {when(t.since)}, last error: {t.error}"
    )


def print_view(
    view: BaseModel,
    as_json: bool,
    console: Console | None,
    lines: Callable[[Any], None],
    terminal: Callable[[Any, Console], None],
) -> None:
    """A workflow's view: JSON for scripts; in a pipe, ``lines``; in a terminal (or on the
    console given), ``terminal``."""
    if as_json:
        out.print_json(view.model_dump_json())
    elif console is None and not sys.stdout.isatty():
        lines(view)
    else:
        terminal(view, console or out)


def fail(message: str, code: int = 1) -> NoReturn:
    err.print(Text.assemble(("error:", "bold red"), " ", message), highlight=False)
    raise typer.Exit(code)


def parse_instant(text: str, option: str) -> datetime:
    """Any ISO 8601 date-time with an offset (or Z), to the microsecond."""
    try:
        value = datetime.fromisoformat(text.strip())
    except ValueError:
        fail(f"{option}: not an ISO 8601 date-time: {text!r} (e.g. 2026-11-29T15:45+01:00)", 2)
    if value.tzinfo is None:
        fail(f"{option}: give an offset or Z, e.g. {text}+01:00 or {text}Z", 2)
    return value


def refuse_unusable_t0(t0: datetime | None, starts: str) -> None:
    """A T0 in the future, or so old that every deadline would fall due at once: refused
    with exit status 2, before anything starts. ``starts`` says what begins at T0."""
    from workflows.incident import MAX_T0_AGE

    if t0 is None:
        return
    now = datetime.now(UTC)
    if t0 > now + timedelta(minutes=1):  # a clock a little ahead is no mistake
        fail(f"--t0: in the future; {starts} (now by default)", 2)
    if now - t0 > MAX_T0_AGE:
        fail(f"--t0: more than {MAX_T0_AGE.days} days ago: every step would fall due at once", 2)


def settings() -> Settings:
    try:
        return Settings()
    except ValidationError as exc:
        fail("invalid settings in the environment: " + settings_problems(exc), 2)
    except SettingsError as exc:  # a value that is no JSON where JSON is expected
        field = re.search(r'field "(\w+)"', str(exc))
        name = f"VIGIE_{field.group(1).upper()}" if field else "a setting"
        fail(f"invalid settings in the environment: {name}: not valid JSON", 2)


def settings_problems(error: ValidationError) -> str:
    """Each variable at fault and what is wrong, on one line: ``VIGIE_SMTP_PORT: Input
    should be a valid integer (got 'abc')``."""

    def variable(e: Any) -> str:
        loc = [str(p) for p in e["loc"]]
        field = Settings.model_fields.get(loc[0])
        alias = field.validation_alias if field is not None else None
        choices = getattr(alias, "choices", None)
        name = str(choices[0]) if choices else f"VIGIE_{loc[0].upper()}"
        return ".".join([name, *loc[1:]])

    def told(e: Any) -> str:
        message = str(e["msg"]).removeprefix("Value error, ")
        given = e.get("input")
        if e["type"] != "value_error" and isinstance(given, str | int | float):
            message += f" (got {str(given)[:60]!r})"  # the checks' own errors quote it
        return f"{variable(e)}: {message}" if e["loc"] else message

    return "; ".join(told(e) for e in error.errors())


def build(model: type[T], **fields: Any) -> T:
    """Validates operator input before anything is sent."""
    if "by" in fields and not fields["by"]:
        fields["by"] = operator_name()
    try:
        return model(**{k: v for k, v in fields.items() if v is not None})
    except ValidationError as exc:
        fail(describe(exc), 2)


async def client_for(cfg: Settings, runtime: Runtime | None = None) -> Client:
    try:
        return await connect(cfg, runtime)
    except RuntimeError as exc:
        fail(f"cannot reach Temporal at {cfg.temporal_address}: {exc}")
    except ValueError as exc:  # no address (TEMPORAL_ADDRESS empty), a broken profile...
        fail(f"cannot connect to Temporal ({cfg.temporal_address!r}): {exc}", 2)


def run_with_client(action: Callable[[Client, Settings], Awaitable[T]]) -> T:
    cfg = settings()

    async def main() -> T:
        client = await client_for(cfg)
        try:
            return await action(client, cfg)
        except WorkflowUpdateFailedError as exc:
            cause = exc.cause
            reason = cause.message if isinstance(cause, ApplicationError) else str(cause)
            fail(f"refused: {reason}")
        except RPCError as exc:
            if exc.status == RPCStatusCode.NOT_FOUND:
                if "already completed" in exc.message:  # closed, cancelled or ended
                    fail("that incident or crisis has ended (closed, cancelled, refused "
                         "at the start or terminated): nothing changes it any more; its "
                         "status says how it ended")  # fmt: skip
                fail(f"no running incident or crisis with that id ({exc.message})")
            if exc.status == RPCStatusCode.INVALID_ARGUMENT:
                fail(f"refused by Temporal: {exc.message}")
            fail(f"Temporal error: {exc.message}")
        except ConfigError as exc:  # a broken configuration file: said, like bad arguments
            fail(str(exc), 2)

    return asyncio.run(main())


async def refuse_if_stuck(
    client: Client, workflow_id: str, described: WorkflowExecutionDescription | None = None
) -> None:
    """Says at once that a workflow is stuck (its workflow task keeps failing), rather than
    letting its query wait and time out; exit status 1."""
    found = await stuck(client, workflow_id, described)
    if found is not None:
        fail(
            f"{workflow_id} is stuck: its workflow task failed {found.failures} times in a "
            f"row since {when(found.since)}: {found.reason}. In the Temporal Web UI, its "
            "Event History shows WorkflowTaskFailed (README, Reliability)."
        )


def when(value: datetime | None) -> str:
    """A time for people: the policy's business time zone, to the minute."""
    if value is None:
        return "—"
    return value.astimezone(business_zone()).strftime("%Y-%m-%d %H:%M %Z")


def dated_id(kind: str, now: datetime) -> str:
    """A new workflow id: ``kind``, the date where the business is (as people say it, the
    policy's time zone) and 6 random hex digits, e.g. ``incident-20261201-a1b2c3``."""
    return f"{kind}-{now.astimezone(business_zone()):%Y%m%d}-{secrets.token_hex(3)}"


@functools.cache
def business_zone() -> ZoneInfo:
    try:
        return ZoneInfo(load_policy(settings().config_dir).business_hours.timezone)
    except ConfigError:
        return ZoneInfo("Europe/Paris")  # the shipped default; the command reports the rest
