"""The mapping from Opsgenie alerts to incidents: the model of config/opsgenie.toml.

Only the model lives here; ``workers.opsgenie_file`` reads the file.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict

from activities.providers.opsgenie.marks import OWN_SOURCE, SERVICE_LEVEL_TAG_PREFIX
from workflows.policy import Language, ServiceLevel


class CustomAction(BaseModel):
    model_config = ConfigDict(extra="forbid")

    operation: Literal["set_pending", "resume", "acknowledge", "add_worklog", "resolve"]
    waiting_on: Literal["customer", "third_party"] = "customer"


class OpsgenieMapping(BaseModel):
    model_config = ConfigDict(extra="forbid")

    default_service_level: ServiceLevel
    service_level_tag_prefix: str = SERVICE_LEVEL_TAG_PREFIX
    service_level_detail: str = "service_level"
    requester_detail: str = "requesters"
    category_detail: str = "category"
    application_detail: str = "application"
    own_source: str = OWN_SOURCE
    # The language of the texts Vigie writes for what happened in Opsgenie.
    language: Language = "fr"
    teams: dict[str, ServiceLevel] = {}
    custom_actions: dict[str, CustomAction] = {}
