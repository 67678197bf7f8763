"""The connection to Temporal: a profile's address and namespace are kept unless Vigie's own
settings are set explicitly (a Temporal Cloud profile must not turn into localhost:7233)."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from temporalio.testing import WorkflowEnvironment

from starters.dev.stack import DevStack
from workers.connection import connect_options
from workers.settings import Settings

PROFILE = """
[profile.default]
address = "acme.a1b2c.tmprl.cloud:7233"
namespace = "acme.a1b2c"
"""


@pytest.fixture
def profile(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "temporal.toml"
    path.write_text(PROFILE, encoding="utf-8")
    for name in ("TEMPORAL_ADDRESS", "TEMPORAL_NAMESPACE", "TEMPORAL_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("TEMPORAL_CONFIG_FILE", str(path))


def test_a_profile_is_not_overridden_by_defaults(profile: None) -> None:
    options = connect_options(Settings())
    assert options["target_host"] == "acme.a1b2c.tmprl.cloud:7233"
    assert options["namespace"] == "acme.a1b2c"


def test_explicit_settings_win(profile: None, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TEMPORAL_ADDRESS", "temporal.internal:7233")
    options = connect_options(Settings())
    assert options["target_host"] == "temporal.internal:7233"
    assert options["namespace"] == "acme.a1b2c"


def test_without_a_profile_the_local_default(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    for name in ("TEMPORAL_ADDRESS", "TEMPORAL_NAMESPACE", "TEMPORAL_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("TEMPORAL_CONFIG_FILE", str(tmp_path / "absent.toml"))
    options = connect_options(Settings())
    assert (options["target_host"], options["namespace"]) == ("localhost:7233", "default")


def test_the_dev_stack_ignores_the_temporal_environment(
    profile: None, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """`vigie dev` talks to its own plain server in its default namespace, even in a shell
    set up for Temporal Cloud."""
    monkeypatch.setenv("TEMPORAL_NAMESPACE", "vigie")
    monkeypatch.setenv("TEMPORAL_API_KEY", "a-cloud-key")
    monkeypatch.setenv("TEMPORAL_TLS", "true")
    stack = DevStack(Settings(), str(tmp_path), port=7999, ui_port=8999, smtp_port=2599)
    options = connect_options(stack.settings, local=True)
    assert options == {"target_host": "127.0.0.1:7999", "namespace": "default"}
    assert stack.settings.temporal_namespace == "default"
    assert connect_options(Settings()).get("api_key") == "a-cloud-key"  # elsewhere it holds


async def test_worker_refuses_a_namespace_without_its_search_attributes(
    dev_env: WorkflowEnvironment,
) -> None:
    from google.protobuf.duration_pb2 import Duration
    from temporalio.api.workflowservice.v1 import RegisterNamespaceRequest
    from temporalio.client import Client

    from workers.policy_file import ConfigError
    from workers.search_check import check_search_attributes

    await check_search_attributes(dev_env.client)  # registered: starts
    bare = f"bare-{uuid.uuid4().hex[:6]}"
    await dev_env.client.workflow_service.register_namespace(
        RegisterNamespaceRequest(
            namespace=bare, workflow_execution_retention_period=Duration(seconds=86400)
        )
    )
    other = await Client.connect(dev_env.client.service_client.config.target_host, namespace=bare)
    with pytest.raises(ConfigError) as refused:
        await check_search_attributes(other)
    said = str(refused.value)
    assert "NextDue" in said and "IncidentStatus" in said
    assert f"temporal operator search-attribute create -n {bare} --name" in said


def test_tls_variables_reach_the_connection(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """README's table: TEMPORAL_TLS, the mTLS certificate and key, the private CA and the
    server name override, as the ``temporal`` CLI reads them."""
    for name in ("TEMPORAL_ADDRESS", "TEMPORAL_NAMESPACE", "TEMPORAL_PROFILE", "TEMPORAL_API_KEY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("TEMPORAL_CONFIG_FILE", str(tmp_path / "absent.toml"))
    assert "tls" not in connect_options(Settings())  # plain, by default
    monkeypatch.setenv("TEMPORAL_TLS", "true")
    tls = connect_options(Settings())["tls"]
    assert (tls.client_cert, tls.server_root_ca_cert) == (None, None)  # the system roots
    files = {"CLIENT_CERT": b"cert", "CLIENT_KEY": b"key", "SERVER_CA_CERT": b"ca"}
    for name, content in files.items():
        (tmp_path / name).write_bytes(content)
        monkeypatch.setenv(f"TEMPORAL_TLS_{name}_PATH", str(tmp_path / name))
    monkeypatch.setenv("TEMPORAL_TLS_SERVER_NAME", "temporal.internal")
    tls = connect_options(Settings())["tls"]
    assert (tls.client_cert, tls.client_private_key) == (b"cert", b"key")
    assert (tls.server_root_ca_cert, tls.domain) == (b"ca", "temporal.internal")


def test_the_dev_stack_ignores_where_mail_alerts_and_the_ledger_point(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """README: `vigie dev` ignores the SMTP, Opsgenie, webhook-secret and ledger settings of
    the shell it runs in (their credentials too); tuning settings still apply."""
    for name, value in {
        "VIGIE_SMTP_HOST": "smtp.prod.example", "VIGIE_SMTP_PORT": "587",
        "VIGIE_SMTP_SECURITY": "starttls", "VIGIE_SMTP_USERNAME": "prod",
        "VIGIE_SMTP_PASSWORD": "secret", "VIGIE_OPSGENIE_PROVIDER": "jsm",
        "VIGIE_OPSGENIE_API_URL": "https://api.atlassian.com/jsm/ops/api/x",
        "VIGIE_OPSGENIE_API_KEY": "prod-key", "VIGIE_WEBHOOK_SECRET": "prod-secret",
        "VIGIE_DATABASE_URL": "postgresql://vigie:pw@db.prod/vigie",
        "VIGIE_SMTP_TIMEOUT_SECONDS": "7",
    }.items():  # fmt: skip
        monkeypatch.setenv(name, value)
    stack = DevStack(Settings(), str(tmp_path), port=7999, ui_port=8999, smtp_port=2599,
                     webhook_port=8998, opsgenie_port=8997)  # fmt: skip
    cfg = stack.settings
    assert (cfg.smtp_host, cfg.smtp_port, cfg.smtp_security) == ("127.0.0.1", 2599, "none")
    assert cfg.smtp_username is None and cfg.smtp_password is None
    assert (cfg.opsgenie_provider, cfg.opsgenie_api_url) == ("opsgenie", "http://127.0.0.1:8997")
    assert cfg.opsgenie_api_key is not None and cfg.opsgenie_api_key.get_secret_value() == "dev"
    assert cfg.webhook_secret is not None and cfg.webhook_secret.get_secret_value() == "dev"
    ledger = cfg.database_url.get_secret_value()
    assert ledger == f"sqlite:///{tmp_path.resolve() / 'ledger.db'}"
    assert cfg.smtp_timeout_seconds == 7  # tuning still applies
