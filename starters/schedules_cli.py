"""``vigie schedules apply``: the Temporal Schedules Vigie runs, created or updated from the
configuration (the worker does the same at start). Safe to run again; a Schedule paused in
the Web UI stays paused."""

from __future__ import annotations

from typing import Any

import typer
from temporalio.client import Client

from starters.cli_support import out, run_with_client
from starters.oncall_cli import policy_of
from workers.settings import Settings
from workflows.service_review import schedule_id

schedules_app = typer.Typer(
    rich_markup_mode="markdown", help="The Temporal Schedules Vigie runs.", no_args_is_help=True
)


@schedules_app.command("apply")
def apply() -> None:
    """Create or update the on-call readiness Schedule (deleted when nothing is to be
    watched) and the monthly service-review Schedule."""
    # Imported here: the other commands start without the ledger and the worker's wiring.
    from workers.ledger import apply_schedules
    from workers.readiness_schedule import apply_readiness_schedule
    from workers.readiness_schedule import schedule_id as readiness_id

    async def action(client: Client, cfg: Settings) -> list[str]:
        applied, detail = await apply_readiness_schedule(client, cfg, policy_of(cfg))
        review = await apply_schedules(client, cfg)
        return [
            f"{readiness_id(cfg.task_queue)}: {applied} ({detail})",
            f"{schedule_id(cfg.task_queue)}: {review}",
        ]

    for line in run_with_client(action):
        out.print(line, highlight=False)


def register(app: Any) -> None:
    app.add_typer(schedules_app, name="schedules")
