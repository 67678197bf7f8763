"""The mapping from Opsgenie alerts to incidents (config/opsgenie.toml)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict

from workers.config_files import load_toml
from workflows.policy import Language, ServiceLevel

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
    # The language of the texts Vigie writes for what happened in Opsgenie.
    language: Language = "fr"
    teams: dict[str, ServiceLevel] = {}
    custom_actions: dict[str, CustomAction] = {}


def load_mapping(config_dir: Path) -> OpsgenieMapping:
    return load_toml(config_dir / OPSGENIE_FILE, OpsgenieMapping, " (set VIGIE_CONFIG_DIR)")
