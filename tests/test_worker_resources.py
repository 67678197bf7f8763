"""What keeps a worker lean: workflow modules imported once, configuration files read again
only when they change, one policy object per content shared by the workflows."""

from __future__ import annotations

import os
import uuid
from datetime import timedelta
from pathlib import Path

import pytest
from pydantic import ValidationError
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import UnsandboxedWorkflowRunner
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner

from workers.file_cache import FileCache
from workers.policy_file import load_policy
from workers.settings import Settings
from workers.worker import build_worker, workflow_runner
from workflows.models import IncidentState
from workflows.policy import Policy


def test_workers_share_the_workflow_modules_unless_strict() -> None:
    assert isinstance(workflow_runner(Settings()), UnsandboxedWorkflowRunner)  # the default
    shared = workflow_runner(Settings(workflow_sandbox="shared"))
    strict = workflow_runner(Settings(workflow_sandbox="strict"))
    assert isinstance(shared, SandboxedWorkflowRunner)
    assert isinstance(strict, SandboxedWorkflowRunner)
    assert "workflows" in shared.restrictions.passthrough_modules
    assert "workflows" not in strict.restrictions.passthrough_modules


def test_a_file_is_read_again_only_when_it_changes(config_dir: Path) -> None:
    path = config_dir / "policy.toml"
    reads: list[Policy] = []

    def read() -> Policy:
        reads.append(load_policy(config_dir))
        return reads[-1]

    year = {"now": 2026}
    cached = FileCache(path, read, lambda: year["now"])
    first = cached()
    assert cached() is first and len(reads) == 1
    path.write_text(path.read_text().replace("version = 1", "version = 2"))
    os.utime(path, ns=(1, 1))  # a different modification time, whatever the clock
    assert cached().version == 2 and len(reads) == 2
    year["now"] = 2027  # the holidays of the new year
    cached()
    assert len(reads) == 3


def test_a_broken_file_is_not_kept(tmp_path: Path) -> None:
    path = tmp_path / "missing.toml"
    calls = {"n": 0}

    def read() -> int:
        calls["n"] += 1
        if not path.exists():
            raise ValueError("file not found")
        return 7

    cached = FileCache(path, read)
    for _ in range(2):
        try:
            cached()
        except ValueError:
            pass
    assert calls["n"] == 2
    path.write_text("x")
    assert cached() == 7


def test_incidents_with_the_same_policy_share_it(config_dir: Path) -> None:
    policy = load_policy(config_dir)
    fields = {
        "incident_id": "incident-1", "title": "t", "priority": "P3", "service_level": "gold",
        "category": None, "description": None, "application": None, "requesters": [],
        "details": {}, "source": "vigie", "language": "fr", "missing_fields": [],
        "opened_at": "2026-11-24T10:00:00+01:00",
    }  # fmt: skip
    data = {**fields, "policy": policy.model_dump(mode="json")}
    one = IncidentState.model_validate(data)
    two = IncidentState.model_validate_json(IncidentState.model_validate(data).model_dump_json())
    assert one.policy is two.policy and one.policy == policy
    other = policy.model_copy(update={"version": policy.version + 1})
    three = IncidentState.model_validate({**fields, "policy": other.model_dump(mode="json")})
    assert three.policy is not one.policy and three.policy.version == policy.version + 1


async def test_the_sticky_queue_timeout_is_the_worker_s(dev_env: WorkflowEnvironment) -> None:
    """VIGIE_STICKY_QUEUE_TIMEOUT_SECONDS reaches the worker (10 s, the SDK's, by default)."""
    assert Settings.model_fields["sticky_queue_timeout_seconds"].default == 10
    queue = f"sticky-{uuid.uuid4().hex[:8]}"  # a worker's queue is its own in a process
    worker = build_worker(
        dev_env.client, Settings(sticky_queue_timeout_seconds=2), task_queue=queue
    )
    assert worker.config()["sticky_queue_schedule_to_start_timeout"] == timedelta(seconds=2)
    with pytest.raises(ValidationError):
        Settings(sticky_queue_timeout_seconds=0)
