"""Settings from the environment: one typed object, read by workers and starters only."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, Field, FilePath, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from workers.matrix_file import MATRIX_FILE
from workflows.limits import header_addresses, is_clean_line, is_visible
from workflows.versions import BASELINE, BASELINES

LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
# What pydantic read as a boolean when the setting was one: an environment kept from then
# still means the same.
OFF = frozenset({"", "false", "f", "0", "off", "no", "n"})
ON = frozenset({"true", "t", "1", "on", "yes", "y"})

# A sender address: local part @ host (``vigie@localhost`` is one), at most 254 characters.
SENDER = re.compile(r"^(?=.{3,254}$)[^@\s,;<>]+@[^@\s,;<>]+$")
# A host name for Message-IDs (ASCII letters, digits, hyphens; labels joined by dots).
HOST_NAME = re.compile(r"^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
                       r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$")  # fmt: skip

DEFAULT_CONFIG_DIR = Path(__file__).resolve().parent.parent / "config"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="VIGIE_", extra="ignore")

    # Connection: Temporal's environment configuration (TEMPORAL_ADDRESS,
    # TEMPORAL_NAMESPACE, TEMPORAL_API_KEY, TEMPORAL_TLS_*, TEMPORAL_PROFILE,
    # TEMPORAL_CONFIG_FILE) is read by temporalio.envconfig; these two only
    # mirror it for display and for the dev stack.
    temporal_address: str = Field(
        default="localhost:7233", validation_alias=AliasChoices("TEMPORAL_ADDRESS")
    )
    temporal_namespace: str = Field(
        default="default", validation_alias=AliasChoices("TEMPORAL_NAMESPACE")
    )
    task_queue: str = "incidents"

    config_dir: Path = DEFAULT_CONFIG_DIR

    smtp_host: str = "localhost"
    smtp_port: int = Field(default=1025, ge=1, le=65535)
    smtp_security: Literal["none", "starttls", "tls"] = "none"
    smtp_ca_file: FilePath | None = Field(
        default=None,
        description="CA certificates (PEM) the mail server's certificate is checked against, "
        "instead of the system's: for a server with a certificate of a private CA",
    )
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    smtp_timeout_seconds: float = Field(default=30.0, gt=0)
    smtp_connections: int = Field(
        default=4, ge=1, le=100, description="SMTP connections a worker keeps open and reuses"
    )
    mail_from: str = "Vigie <vigie@localhost>"
    mail_domain: str | None = Field(
        default=None, description="Right-hand side of Message-IDs; defaults to the sender's domain"
    )

    opsgenie_provider: Literal["opsgenie", "jsm"] = "opsgenie"
    opsgenie_api_url: str | None = Field(
        default=None,
        description="Default: https://api.opsgenie.com, or JSM Operations' URL for provider jsm",
    )
    opsgenie_api_key: SecretStr | None = None
    opsgenie_timeout_seconds: float = Field(default=10.0, gt=0)

    # JSM Operations serves schedules on its REST API (basic auth), not the alert integration.
    jsm_cloud_id: str | None = Field(default=None, description="Atlassian site's cloud id")
    jsm_user: str | None = Field(default=None, description="Account e-mail for the REST API")
    jsm_api_token: SecretStr | None = None
    jsm_api_url: str | None = Field(
        default=None,
        description="JSM Operations REST API; default https://api.atlassian.com/jsm/ops/api/"
        "<cloud id>",
    )

    chat_webhooks: dict[str, SecretStr] = Field(
        default={},
        description='Chat channel name → webhook URL, as JSON: {"client-crise": "https://..."}',
    )
    chat_timeout_seconds: float = Field(default=10.0, gt=0)
    temporal_ui_url: str = Field(
        default="http://localhost:8233", description="Web UI that chat messages link to"
    )

    webhook_secret: SecretStr | None = None
    webhook_secret_header: str = "X-Webhook-Secret"
    webhook_max_body_bytes: int = Field(default=256 * 1024, ge=1024)
    webhook_host: str = "127.0.0.1"
    webhook_port: int = Field(default=8080, ge=1, le=65535)
    webhook_read_timeout_seconds: float = Field(
        default=10.0, gt=0, description="Time a sender has to send the whole body (else 408)"
    )
    webhook_keep_alive_seconds: int = Field(
        default=5, ge=1, description="An idle kept-alive connection is closed after this long"
    )
    webhook_max_connections: int = Field(
        default=256, ge=1, description="Connections and requests in flight; beyond, 503"
    )
    dev_mode: bool = False

    matrix_file: Path | None = Field(
        default=None, description="Escalation matrix; default <config dir>/escalation_matrix.toml"
    )
    alt_smtp_host: str | None = None
    alt_smtp_port: int = Field(default=25, ge=1, le=65535)

    conference_provider: Literal["jitsi", "zoom", "teams", "meet"] = "jitsi"
    jitsi_url: str = "https://meet.jit.si"
    zoom_account_id: str | None = None
    zoom_client_id: str | None = None
    zoom_client_secret: SecretStr | None = None
    teams_tenant_id: str | None = None
    teams_client_id: str | None = None
    teams_client_secret: SecretStr | None = None
    teams_organizer: str | None = None
    meet_client_id: str | None = None
    meet_client_secret: SecretStr | None = None
    meet_refresh_token: SecretStr | None = None

    database_url: SecretStr = Field(
        default=SecretStr("sqlite:///.vigie/ledger.db"),
        description="The incident ledger (SQLAlchemy URL): sqlite:///path/ledger.db or "
        "postgresql://user:password@host:5432/vigie",
    )
    ledger_gauges_seconds: float = Field(
        default=30, ge=1, description="How often the worker refreshes its gauges from the ledger"
    )
    service_review_hour: int = Field(
        default=8, ge=0, le=23, description="Hour (business time zone) of the service review"
    )

    log_level: str = Field(default="INFO", description="DEBUG, INFO, WARNING, ERROR or CRITICAL")
    log_format: Literal["text", "json"] = "text"
    metrics_bind: str | None = Field(
        default=None, description="host:port for the worker's Prometheus metrics, e.g. 0.0.0.0:9464"
    )
    max_concurrent_activities: int = Field(default=100, ge=1)
    # Workflow tasks are CPU-bound: a few slots per core keep a task from waiting inside the
    # worker (where its clock has already started) instead of on the server.
    max_concurrent_workflow_tasks: int = Field(default=8, ge=1)
    max_cached_workflows: int = Field(default=1000, ge=0)
    sticky_queue_timeout_seconds: float = Field(
        default=10.0,
        gt=0,
        le=600,
        description="How long a task of a workflow this worker holds in its cache may wait on "
        "the worker's own (sticky) queue before the server hands it to any worker, which then "
        "replays the workflow. Fairness between customers does not apply on that queue",
    )
    patch_baseline: str | None = Field(
        default=None,
        description="The patch baseline new workflows record: one marker instead of one per "
        "behaviour change it stands for. 'false' (none), 'true' (baseline-2026-12, as in the "
        "release that brought it) or a baseline's id (baseline-2026-12, baseline-2026-12-02). "
        "Name a baseline once every worker of the task queue runs a release that knows it: a "
        "worker of an older release cannot replay a workflow carrying it",
    )
    workflow_sandbox: Literal["off", "shared", "strict"] = Field(
        default="off",
        description="'off': workflows run without the SDK's sandbox (fastest); 'shared': in the "
        "sandbox, with the workflow modules imported once per worker and passed through; "
        "'strict': the SDK default, modules re-imported for each workflow with runtime checks "
        "for non-deterministic calls (slowest, about 0.4 MiB per cached workflow)",
    )

    @model_validator(mode="after")
    def _credentials_together(self) -> Settings:
        if (self.smtp_username is None) != (self.smtp_password is None):
            raise ValueError("VIGIE_SMTP_USERNAME and VIGIE_SMTP_PASSWORD go together")
        return self

    @model_validator(mode="after")
    def _conference_credentials(self) -> Settings:
        needed = {
            "zoom": ("zoom_account_id", "zoom_client_id", "zoom_client_secret"),
            "teams": (
                "teams_tenant_id",
                "teams_client_id",
                "teams_client_secret",
                "teams_organizer",
            ),
            "meet": ("meet_client_id", "meet_client_secret", "meet_refresh_token"),
        }.get(self.conference_provider, ())
        missing = [f"VIGIE_{name.upper()}" for name in needed if not getattr(self, name)]
        if missing:
            raise ValueError(
                f"VIGIE_CONFERENCE_PROVIDER={self.conference_provider} needs {', '.join(missing)}"
            )
        return self

    @property
    def matrix_path(self) -> Path:
        return self.matrix_file or self.config_dir / MATRIX_FILE

    @field_validator("log_level", mode="before")
    @classmethod
    def _known_level(cls, value: object) -> str:
        level = str(value).strip().upper()
        level = "WARNING" if level == "WARN" else level
        if level not in LOG_LEVELS:
            raise ValueError(f"expected {', '.join(LOG_LEVELS[:-1])} or {LOG_LEVELS[-1]}")
        return level

    @field_validator("patch_baseline", mode="before")
    @classmethod
    def _known_baseline(cls, value: object) -> str | None:
        if value is None or isinstance(value, bool):
            return BASELINE if value else None
        text = str(value).strip().lower()
        if text in OFF:
            return None
        if text in ON:
            return BASELINE  # what 'true' wrote in the release that brought the setting
        if text in BASELINES:
            return text
        raise ValueError(
            f"expected false, true (= {BASELINE}) or a baseline's id: {', '.join(BASELINES)}"
        )

    @field_validator("mail_from")
    @classmethod
    def _one_sender(cls, value: str) -> str:
        """Every mail's From: refused here rather than making every mail unsendable."""
        shape = "'Name <address>' or 'address' on one line, without control or invisible "
        if not is_clean_line(value) or value.count("<") > 1 or not is_visible(value):
            raise ValueError(shape + "characters")
        if not SENDER.match(_address(value)):
            raise ValueError(f"not a sender address: {_address(value)[:100]!r}; write {shape}")
        if header_addresses(value) != [_address(value)]:  # every mail's From would be wrong
            raise ValueError(
                f"not a sender a mail can carry: {value[:100]!r} (a comma, a quote or a "
                "bracket in the name, a dot at the end of the address?); write 'Name "
                "<address>' or 'address'"
            )
        return value

    @field_validator("mail_domain")
    @classmethod
    def _host_name(cls, value: str | None) -> str | None:
        if value is not None and not HOST_NAME.match(value):
            raise ValueError("a host name such as example.org (ASCII letters, digits, '-', '.')")
        return value

    @property
    def message_id_domain(self) -> str:
        if self.mail_domain:
            return self.mail_domain
        address = _address(self.mail_from)
        domain = address.rsplit("@", 1)[-1] if "@" in address else ""
        try:
            ascii_domain = domain.encode("idna").decode("ascii")
        except UnicodeError:
            ascii_domain = ""
        return ascii_domain if HOST_NAME.match(ascii_domain) else "vigie.local"


def _address(sender: str) -> str:
    """The address of 'Name <address>' (or the whole value when there are no brackets)."""
    return sender.rsplit("<", 1)[-1].rstrip(">").strip()
