"""A long crisis continues as new before its history grows large, keeping its state, its
chronogram and its mail thread."""

from __future__ import annotations

import asyncio
import uuid
from email.message import EmailMessage
from pathlib import Path

from temporalio.testing import WorkflowEnvironment

from starters.dev.smtp_sink import MailSink
from starters.updates import send_update
from tests.helpers import eventually, next_open_morning, short_runs, sleep_until
from tests.test_crisis_chronogram import crisis_status, start_crisis
from workers.settings import Settings
from workers.worker import build_worker
from workflows.crisis import CrisisWorkflow
from workflows.crisis_models import CrisisInput, CrisisView, EscalateInput, PostUpdateInput


async def test_crisis_survives_continue_as_new(
    skipping_env: WorkflowEnvironment, settings: Settings, config_dir: Path, sink: MailSink
) -> None:
    short_runs(config_dir)
    client = skipping_env.client
    tuesday = next_open_morning(await skipping_env.get_current_time(), weekday=1, hour=10)
    await sleep_until(skipping_env, tuesday)
    async with build_worker(client, settings):
        crisis_id = f"crisis-can-{uuid.uuid4().hex[:6]}"
        handle = await start_crisis(
            client, settings.task_queue, crisis_id, CrisisInput(title="Datacenter A flooded")
        )
        first = await crisis_status(handle)
        first_run = (await handle.describe()).run_id
        for n in range(60):  # sent again under the same id if one meets the continue-as-new
            update = PostUpdateInput(by="im", progress=f"step {n}")
            answer = await send_update(
                handle, "post_update", update, CrisisView, update_id=f"u-{crisis_id}-{n}"
            )
            assert answer.timeline == []

        for _ in range(100):
            view = await crisis_status(handle)
            if any(e.kind == "continued" for e in view.timeline):
                break
            await asyncio.sleep(0.1)
        assert (await handle.describe()).run_id != first_run
        view = await crisis_status(handle)
        assert view.status == "active" and view.t0 == first.t0
        assert [m.due_at for m in view.milestones] == [m.due_at for m in first.milestones]
        progress = [u for u in view.timeline if u.kind == "update"]
        assert [e.fields["progress"] for e in progress] == [f"step {n}" for n in range(60)]
        # Mails go on in the same thread after continue-as-new (an escalation, mailed at
        # once by the new run), each once.
        for reason in ("second site at risk", "second site down"):
            await handle.execute_update(
                CrisisWorkflow.escalate, EscalateInput(by="im", reason=reason)
            )

        def crisis_mails() -> list[EmailMessage]:
            found = [m for m in sink.messages if m["X-Vigie-Crisis"] == crisis_id]
            escalations = [m for m in found if m["X-Vigie-Kind"] == "escalation"]
            return found if len(escalations) >= 2 else []

        found = await eventually(crisis_mails)
        ids = [m["Message-ID"] for m in found]
        assert len(ids) == len(set(ids))
        assert {m["In-Reply-To"] for m in found[1:]} == {found[0]["Message-ID"]}
