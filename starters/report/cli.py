"""``vigie report`` and ``vigie ledger migrate|rebuild``."""

from __future__ import annotations

import asyncio
import re
import sys
from datetime import UTC, date, datetime
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.text import Text

from starters.cli_support import client_for, err, fail, out, settings
from workers.policy_file import ConfigError, load_policy
from workers.settings import Settings
from workflows.limits import CUSTOMER_PATTERN

# The ledger (SQLAlchemy, alembic) is imported by the commands that use it, so that the
# other commands of ``vigie`` start without it.
if TYPE_CHECKING:
    from activities.ledger.store import Ledger

MAX_DAYS = 3 * 366
ledger_app = typer.Typer(
    rich_markup_mode="markdown",
    help="The incident ledger (VIGIE_DATABASE_URL).",
    no_args_is_help=True,
)


class Format(StrEnum):
    html = "html"
    json = "json"
    csv = "csv"


class Language(StrEnum):
    fr = "fr"
    en = "en"


def _day(text: str, flag: str) -> date:
    try:
        if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
            raise ValueError
        return date.fromisoformat(text)
    except ValueError:
        fail(f"{flag}: {text!r} is not a date written YYYY-MM-DD", 2)


def _ledger(cfg: Settings) -> Ledger:
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import SQLAlchemyError

    from activities.ledger.store import Ledger, LedgerError

    url = cfg.database_url.get_secret_value()
    try:
        parsed = make_url(url)
    except Exception:  # Ledger below says what is wrong with it
        parsed = None
    where = "VIGIE_DATABASE_URL"
    if parsed is not None and parsed.get_backend_name() == "sqlite" and parsed.database:
        path = Path(parsed.database).resolve()
        where = f"{path} (VIGIE_DATABASE_URL)"
        if not path.exists():  # read only: never made here, empty, as if nothing happened
            fail(
                f"no ledger at {where}: a relative path is read from the current directory; "
                "run from the folder the worker runs in, or set VIGIE_DATABASE_URL",
                2,
            )
    elif parsed is not None:
        where = f"{parsed.render_as_string(hide_password=True)} (VIGIE_DATABASE_URL)"
    try:
        ledger = Ledger(url)
    except LedgerError as exc:
        fail(str(exc), 2)
    try:
        found, latest = ledger.schema_version(), ledger.latest_version()
    except SQLAlchemyError as exc:
        ledger.close()
        fail(
            f"VIGIE_DATABASE_URL: cannot read the ledger ({exc.__class__.__name__}: "
            f"{str(exc).splitlines()[0]})",
            2,
        )
    if found != latest:
        ledger.close()
        fail(
            f"the ledger at {where} is at schema {found}, not {latest}: "
            "run `vigie ledger migrate` (the worker does it at start)"
        )
    return ledger


def report(
    since: Annotated[str, typer.Option(help="First day, YYYY-MM-DD (business time zone)")],
    until: Annotated[str, typer.Option(help="Last day included, YYYY-MM-DD")],
    customer: Annotated[str | None, typer.Option(help="One customer only")] = None,
    format: Annotated[Format, typer.Option(help="html, json or csv (one row per incident)")] = (
        Format.html
    ),
    output: Annotated[Path | None, typer.Option(help="Write there instead of stdout")] = None,
    language: Annotated[
        Language | None, typer.Option(help="HTML language (default: the policy's)")
    ] = None,
) -> None:
    """The service review of a period from the ledger: MTTA, MTTR, compliance, breaches, crises."""
    from starters.report.compute import INCIDENT_COLUMNS, Period, build_report
    from starters.report.render import to_csv, to_html, to_json

    first, last = _day(since, "--since"), _day(until, "--until")
    if last < first:
        fail("--until comes before --since", 2)
    if (last - first).days >= MAX_DAYS:
        fail(f"the period is longer than {MAX_DAYS} days: make several reports", 2)
    if customer is not None and not re.fullmatch(CUSTOMER_PATTERN, customer):
        fail("--customer: letters, digits, '.', '_' or '-', at most 80 characters", 2)
    cfg = settings()
    try:
        policy = load_policy(cfg.config_dir)
    except ConfigError as exc:
        fail(str(exc), 2)
    ledger = _ledger(cfg)
    period = Period(since=first, until=last, timezone=policy.business_hours.timezone)
    if customer is not None:
        known = {c.name for c in policy.customers} | {policy.default_customer}
        known |= set(ledger.customers(*period.bounds))
        if customer not in known:
            ledger.close()
            fail(f"--customer: no customer {customer!r} in the policy, nor in the ledger for "
                 f"this period (known: {', '.join(sorted(known))})", 2)  # fmt: skip
    if format is Format.csv:
        start, end = period.bounds
        text = to_csv(ledger.incidents_opened(start, end, customer, INCIDENT_COLUMNS),
                      period.timezone)  # fmt: skip
    else:
        built = build_report(ledger, period, customer, datetime.now(UTC))
        words = language.value if language else policy.notifications.language
        text = to_json(built) if format is Format.json else to_html(built, words)
    ledger.close()
    if output is None:
        sys.stdout.write(text)
        return
    try:
        output.write_text(text, encoding="utf-8")
    except OSError as exc:
        fail(f"--output: cannot write {output}: {exc.strerror or exc}", 2)
    err.print(f"written to {output}", highlight=False)


@ledger_app.command("migrate")
def migrate() -> None:
    """Bring the ledger's schema to the latest version (the worker does it at start)."""
    from activities.ledger.store import LedgerError
    from workers.ledger import open_ledger

    cfg = settings()
    try:
        ledger = open_ledger(cfg)
    except (ConfigError, LedgerError) as exc:
        fail(str(exc), 2)
    out.print(f"ledger schema at version {ledger.schema_version()}")
    ledger.close()


@ledger_app.command("rebuild")
def rebuild(
    limit: Annotated[int, typer.Option(help="At most this many workflows", min=1)] = 100_000,
) -> None:
    """Fill the ledger from the incidents and crises of VIGIE_TASK_QUEUE still within
    Temporal's retention (their ``status`` query: the worker must be running). Newer facts
    already in the ledger are kept; nothing is counted twice."""
    from activities.ledger.store import LedgerError
    from starters.report.rebuild import rebuild_ledger
    from workers.ledger import open_ledger

    cfg = settings()
    try:
        policy = load_policy(cfg.config_dir)
        ledger = open_ledger(cfg)
    except (ConfigError, LedgerError) as exc:
        fail(str(exc), 2)

    async def main() -> Any:
        client = await client_for(cfg)
        now = datetime.now(UTC)
        return await rebuild_ledger(client, ledger, policy, cfg.task_queue, limit, now)

    done = asyncio.run(main())
    ledger.close()
    out.print(
        f"{done.incidents} incident(s) and {done.crises} crisis(es) read; "
        f"{done.written} written (as read now), {done.kept} kept (the ledger's were newer)"
    )
    for problem in done.problems:
        err.print(Text.assemble(("skipped", "yellow"), " ", problem), highlight=False)


def register(app: Any) -> None:
    app.command("report")(report)
    app.add_typer(ledger_app, name="ledger")
