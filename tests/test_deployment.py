"""The production compose file and Dockerfile, checked offline (no Docker engine here)."""

from __future__ import annotations

import re
import subprocess
import tomllib
from pathlib import Path
from typing import Any

import yaml

from starters.dev.stack import dev_server_command
from tests.conftest import BIN
from workers.connection import connect_options
from workers.settings import Settings
from workflows.search import SEARCH_ATTRIBUTES, type_name

ROOT = Path(__file__).resolve().parent.parent
COMPOSE = ROOT / "docker-compose.temporal.yml"
# Read by temporalio.envconfig (Temporal's environment configuration).
ENVCONFIG = {
    "TEMPORAL_ADDRESS", "TEMPORAL_NAMESPACE", "TEMPORAL_API_KEY", "TEMPORAL_TLS",
    "TEMPORAL_TLS_CLIENT_CERT_PATH", "TEMPORAL_TLS_CLIENT_KEY_PATH",
    "TEMPORAL_TLS_SERVER_CA_CERT_PATH", "TEMPORAL_TLS_SERVER_NAME", "TEMPORAL_PROFILE",
    "TEMPORAL_CONFIG_FILE",
}  # fmt: skip


def compose() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(COMPOSE.read_text())
    return loaded


def test_compose_file_passes_the_compose_spec_schema() -> None:
    result = subprocess.run(
        [str(BIN / "check-jsonschema"), "--builtin-schema", "vendor.compose-spec", str(COMPOSE)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_upstream_layout_with_health_ordering() -> None:
    services = compose()["services"]
    assert services["postgresql"]["image"].startswith("postgres:16")
    assert services["temporal"]["image"].startswith("temporalio/server:")
    assert not any("auto-setup" in s.get("image", "") for s in services.values())
    assert services["temporal-schema"]["image"].startswith("temporalio/admin-tools:")
    deps = services["temporal"]["depends_on"]
    assert deps["temporal-schema"]["condition"] == "service_completed_successfully"
    assert (
        services["temporal-namespace"]["depends_on"]["temporal"]["condition"] == "service_healthy"
    )
    ui_version = services["temporal-ui"]["image"].split(":")[1]
    assert tuple(int(x) for x in ui_version.split(".")) >= (2, 35)
    worker_deps = services["vigie-worker"]["depends_on"]
    assert worker_deps["temporal-namespace"]["condition"] == "service_completed_successfully"
    assert "healthcheck" in services["postgresql"] and "healthcheck" in services["temporal"]
    assert "postgresql-data" in compose()["volumes"]


def test_images_are_pinned() -> None:
    version = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
    for name, service in compose()["services"].items():
        image = service["image"]
        repo, _, tag = image.rpartition(":")
        assert repo and tag and tag != "latest" and re.match(r"^v?\d", tag), (name, image)
        if repo == "vigie":
            assert tag == version, f"{name}: build tag {tag} is not the project version {version}"


def test_every_variable_set_for_vigie_is_one_the_code_reads() -> None:
    read = {f"VIGIE_{name.upper()}" for name in Settings.model_fields} | ENVCONFIG
    for name in ("vigie-worker", "vigie-webhook"):
        variables = set(compose()["services"][name]["environment"])
        unknown = variables - read
        assert not unknown, f"{name} sets variables nothing reads: {sorted(unknown)}"


def test_every_setting_of_the_env_file_reaches_vigie() -> None:
    """Credentials and settings the compose file does not name (SMTP password, conference
    app, chat webhooks) reach the containers from .env, as the README tells to put them."""
    for name in ("vigie-worker", "vigie-webhook"):
        files = compose()["services"][name].get("env_file", [])
        assert {"path": ".env", "required": False} in files, f"{name} does not read .env"


def test_registered_search_attributes_are_those_the_workflows_use() -> None:
    script = compose()["services"]["temporal-namespace"]["command"][0]
    registered = dict(re.findall(r"--name (\w+) --type (\w+)", script))
    assert registered == {key.name: type_name(key) for key in SEARCH_ATTRIBUTES}


def test_dockerfile_is_multi_stage_non_root_without_dev_dependencies() -> None:
    text = (ROOT / "Dockerfile").read_text()
    assert len(re.findall(r"^FROM ", text, re.M)) >= 2
    assert re.search(r"^USER (?!root)\w+", text, re.M)
    assert "[dev" not in text and "pip install --no-cache-dir -c requirements.lock ." in text
    # No dev code in the image: the build context leaves the dev stack out.
    ignored = (ROOT / ".dockerignore").read_text().split()
    assert "starters/dev" in ignored and "tests" in ignored
    assert all(":latest" not in line for line in text.splitlines() if line.startswith("FROM"))


def test_temporal_cloud_api_key_and_mtls_come_from_envconfig(
    monkeypatch: Any, tmp_path: Path
) -> None:
    monkeypatch.setenv("TEMPORAL_API_KEY", "cloud-key")
    options = connect_options(Settings(temporal_address="ns.acct.tmprl.cloud:7233"))
    assert options["api_key"] == "cloud-key" and options["tls"]
    assert options["target_host"] == "ns.acct.tmprl.cloud:7233"
    monkeypatch.delenv("TEMPORAL_API_KEY")
    cert, key = tmp_path / "client.pem", tmp_path / "client.key"
    cert.write_text("CERT"), key.write_text("KEY")
    monkeypatch.setenv("TEMPORAL_TLS_CLIENT_CERT_PATH", str(cert))
    monkeypatch.setenv("TEMPORAL_TLS_CLIENT_KEY_PATH", str(key))
    options = connect_options(Settings())
    tls = options["tls"]
    assert tls.client_cert == b"CERT" and tls.client_private_key == b"KEY"


def test_the_server_honours_task_queue_priorities() -> None:
    """The compose server reads a dynamic config file that turns on the priority matcher."""
    temporal = compose()["services"]["temporal"]
    path = temporal["environment"]["DYNAMIC_CONFIG_FILE_PATH"]
    mounted = {
        target: ROOT / source for source, target, *_ in (v.split(":") for v in temporal["volumes"])
    }
    config = yaml.safe_load(mounted[path].read_text())
    assert config["matching.useNewMatcher"] == [{"value": True}]
    # Not fairness: on this 1.29 server it would leave the tasks already queued unread.
    assert temporal["image"].startswith("temporalio/server:1.29.")
    assert "matching.enableFairness" not in config


def test_the_dev_stack_server_takes_turns_between_customers(tmp_path: Path) -> None:
    command = dev_server_command(tmp_path, 7233, 8233)
    values = [command[n + 1] for n, arg in enumerate(command) if arg == "--dynamic-config-value"]
    # With migration: tasks a former run of the dev stack left queued are moved, not lost.
    assert {"matching.enableFairness=true", "matching.enableMigration=true"} <= set(values)
