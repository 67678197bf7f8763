"""A configuration file broken while workers run: new incidents and crises open at once under
the last valid policy and escalation matrix, and their timelines say so in their language."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

import pytest
from temporalio.testing import WorkflowEnvironment

from tests.helpers import open_incident, status_when
from tests.test_crisis_chronogram import crisis_status, start_crisis
from tests.test_versions import patch_markers
from workers.matrix_file import LastValidMatrix, load_matrix
from workers.policy_file import ConfigError
from workers.settings import Settings
from workers.worker import build_worker
from workflows.crisis_models import CrisisInput


def break_file(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def test_the_last_valid_matrix_while_the_file_is_broken(config_dir: Path) -> None:
    path = config_dir / "escalation_matrix.toml"
    with_one = LastValidMatrix(lambda: load_matrix(path))
    break_file(path, "version = 1", "version = 0")
    with pytest.raises(ConfigError):  # none valid read yet: nothing to fall back on
        with_one()
    break_file(path, "version = 0", "version = 2")
    assert with_one().version == 2 and with_one().warning is None
    # Without a warning, the payload workers of an earlier release read (no such key).
    assert "warning" not in with_one().model_dump()
    break_file(path, "version = 2", "version = 0")
    kept = with_one()
    assert kept.version == 2 and kept.warning is not None and "version" in kept.warning
    # The worker's own field is no key of the file.
    break_file(path, "version = 0", 'version = 3\nwarning = "x"')
    with pytest.raises(ConfigError, match="warning: unknown field"):
        load_matrix(path)


async def test_a_crisis_and_an_incident_open_under_the_last_valid_files(
    skipping_env: WorkflowEnvironment, settings: Settings
) -> None:
    client = skipping_env.client
    async with build_worker(client, settings):
        # Typos made while the worker runs (the matrix's version must be 1 or more).
        break_file(settings.matrix_path, "version = 1", "version = 0")
        break_file(settings.config_dir / "policy.toml", "version = 1", "version = zero")
        crisis = await start_crisis(
            client, settings.task_queue, f"crisis-broken-{uuid.uuid4().hex[:6]}",
            CrisisInput(title="Datacenter A flooded"),
        )  # fmt: skip
        view = await crisis_status(crisis)
        assert view.status == "active" and view.matrix_version == 1, view
        texts = {e.kind: e.text for e in view.timeline}
        assert texts["matrix_warning"].startswith(
            "Le fichier de la matrice d'escalade est invalide : la dernière matrice valide "
            "(version 1) est utilisée."
        ), texts
        assert texts["policy_warning"].startswith(
            "Le fichier de politique est invalide : la dernière politique valide (version 1) "
            "s'applique."
        ), texts
        incident = await open_incident(client, settings.task_queue)
        opened = await status_when(incident, lambda v: bool(v.timeline))
        warned = [e.text for e in opened.timeline if e.kind == "policy_warning"]
        assert warned and warned[0].startswith("Le fichier de politique est invalide"), warned


async def test_a_crisis_no_worker_took_at_once_counts_from_its_start(
    dev_env: WorkflowEnvironment, settings: Settings
) -> None:
    """Workers behind or down: a crisis opened without a T0 began when it reached Temporal,
    and its chronogram counts from then, not from when a worker took it."""
    client = dev_env.client
    crisis = await client.start_workflow(
        "CrisisWorkflow", CrisisInput(title="Payments down"),
        id=f"crisis-late-{uuid.uuid4().hex[:6]}", task_queue=settings.task_queue,
    )  # fmt: skip
    started = (await crisis.describe()).start_time
    await asyncio.sleep(1.5)  # no worker yet: the delay this is about, on a real server
    async with build_worker(client, settings):
        view = await crisis_status(crisis)  # type: ignore[arg-type]
    assert view.t0 == started, (view.t0, started)
    assert "crisis-t0-at-start" in await patch_markers(crisis)
