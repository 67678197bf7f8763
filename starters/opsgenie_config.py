"""The mapping from Opsgenie alerts to incidents (config/opsgenie.toml)."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, ValidationError

from workers.policy_file import describe_validation_error
from workflows.policy import ConfigError, ServiceLevel

OPSGENIE_FILE = "opsgenie.toml"


class CustomAction(BaseModel):
    model_config = ConfigDict(extra="forbid")

    operation: Literal["set_pending", "resume", "acknowledge", "add_worklog", "resolve"]
    waiting_on: Literal["customer", "third_party"] = "customer"


class OpsgenieMapping(BaseModel):
    model_config = ConfigDict(extra="forbid")

    default_service_level: ServiceLevel
    service_level_tag_prefix: str = "sl:"
    service_level_detail: str = "service_level"
    requester_detail: str = "requesters"
    category_detail: str = "category"
    application_detail: str = "application"
    own_source: str = "vigie"
    teams: dict[str, ServiceLevel] = {}
    custom_actions: dict[str, CustomAction] = {}


def load_mapping(config_dir: Path) -> OpsgenieMapping:
    path = config_dir / OPSGENIE_FILE
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise ConfigError(f"{path}: file not found (set VIGIE_CONFIG_DIR)") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from exc
    try:
        return OpsgenieMapping.model_validate(raw)
    except ValidationError as exc:
        raise ConfigError(describe_validation_error(path, exc)) from exc
