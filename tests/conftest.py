"""Shared fixtures: a time-skipping Temporal server, a dev server, a real SMTP sink."""

from __future__ import annotations

import contextlib
import socket
import sys
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import pytest_asyncio
from hypothesis import settings as hypothesis_settings
from pydantic import SecretStr
from temporalio.api.enums.v1 import IndexedValueType
from temporalio.api.operatorservice.v1 import AddSearchAttributesRequest
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment

from starters.dev.smtp_sink import MailSink
from tests.workflow_health import StartedWorkflows, failed_tasks, report, started_since
from workers.settings import DEFAULT_CONFIG_DIR, Settings
from workflows.search import SEARCH_ATTRIBUTES

BIN = Path(sys.executable).parent
# Property tests have no time limit per example: a loaded machine can stall any example
# for longer than hypothesis's default 200 ms, which would fail a correct rule.
hypothesis_settings.register_profile("vigie", deadline=None)
hypothesis_settings.load_profile("vigie")
# The ledger's databases (SQLite, and PostgreSQL when its server binaries are installed).
pytest_plugins = ["tests.ledger_db"]
TEST_POLICY_CHANGES = {
    "retry_initial_interval_seconds = 10": "retry_initial_interval_seconds = 1",
    "retry_maximum_interval_seconds = 300": "retry_maximum_interval_seconds = 2",
    "retry_initial_interval_seconds = 5": "retry_initial_interval_seconds = 1",
    'incident_manager = ["incident-manager@example.com"]': 'incident_manager = ["im@example.com"]',
    'team = ["tdp-team@example.com"]': 'team = ["team@example.com"]',
}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def free_ports(count: int) -> list[int]:
    """``count`` distinct free ports: each socket is held until all are chosen (one at a
    time, the kernel may hand the same port out twice)."""
    with contextlib.ExitStack() as held:
        socks = [held.enter_context(socket.socket()) for _ in range(count)]
        for sock in socks:
            sock.bind(("127.0.0.1", 0))
        return [int(sock.getsockname()[1]) for sock in socks]


@pytest_asyncio.fixture
async def skipping_env(request: pytest.FixtureRequest) -> AsyncIterator[WorkflowEnvironment]:
    """A fresh time-skipping server per test (it starts in a fraction of a second), so
    that one test's leftovers never hold up time skipping in the next. The test fails if
    any workflow it started (or their children) had a failed workflow task."""
    started = StartedWorkflows()
    env = await WorkflowEnvironment.start_time_skipping(
        test_server_existing_path=str(BIN / "temporal-test-server"),
        data_converter=pydantic_data_converter,
        interceptors=[started],
    )
    await env.client.operator_service.add_search_attributes(
        AddSearchAttributesRequest(
            namespace=env.client.namespace,
            search_attributes={
                key.name: IndexedValueType.ValueType(key.indexed_value_type)
                for key in SEARCH_ATTRIBUTES
            },
        )
    )
    try:
        yield env
        if not _allows_failed_tasks(request):
            found = await failed_tasks(env.client, started.runs)
            if found:
                pytest.fail(report(found))
    finally:
        await env.shutdown()


def _allows_failed_tasks(request: pytest.FixtureRequest) -> bool:
    return request.node.get_closest_marker("allow_failed_workflow_tasks") is not None


@pytest_asyncio.fixture(autouse=True)
async def dev_server_health(request: pytest.FixtureRequest) -> AsyncIterator[None]:
    """On the shared dev server: every workflow started during the test ran cleanly."""
    if "dev_env" not in request.fixturenames:
        yield
        return
    env: WorkflowEnvironment = request.getfixturevalue("dev_env")
    since = datetime.now(UTC) - timedelta(seconds=1)
    yield
    if not _allows_failed_tasks(request):
        found = await failed_tasks(env.client, await started_since(env.client, since))
        if found:
            pytest.fail(report(found))


@pytest_asyncio.fixture(scope="session")
async def dev_env() -> AsyncIterator[WorkflowEnvironment]:
    env = await WorkflowEnvironment.start_local(
        dev_server_existing_path=str(BIN / "temporal"),
        data_converter=pydantic_data_converter,
        search_attributes=SEARCH_ATTRIBUTES,
    )
    yield env
    await env.shutdown()


@pytest.fixture
def config_dir(tmp_path: Path) -> Path:
    """The shipped policy with fast mail retries and test addresses."""
    text = (DEFAULT_CONFIG_DIR / "policy.toml").read_text(encoding="utf-8")
    for old, new in TEST_POLICY_CHANGES.items():
        assert old in text, f"shipped policy changed: {old!r} not found"
        text = text.replace(old, new)
    directory = tmp_path / "config"
    directory.mkdir()
    for other in DEFAULT_CONFIG_DIR.glob("*.toml"):
        (directory / other.name).write_text(other.read_text(encoding="utf-8"), encoding="utf-8")
    (directory / "policy.toml").write_text(text, encoding="utf-8")
    return directory


@pytest.fixture
def sink() -> Iterator[MailSink]:
    with MailSink(port=free_port()) as running:
        yield running


@pytest.fixture
def settings(config_dir: Path, sink: MailSink) -> Settings:
    return Settings(
        config_dir=config_dir,
        smtp_host=sink.host,
        smtp_port=sink.port,
        task_queue=f"incidents-{uuid.uuid4().hex[:8]}",
        mail_from="Vigie <vigie@example.com>",
        database_url=SecretStr(f"sqlite:///{config_dir.parent / 'ledger.db'}"),
        # The SDK's per-workflow import, whose runtime checks catch a non-deterministic call
        # in workflow code; the shared mode that workers run by default has tests of its own.
        workflow_sandbox="strict",
    )
