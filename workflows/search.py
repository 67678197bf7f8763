"""Search attributes of incidents, so operators can filter them in the UI and CLI.

``temporal workflow list --query "IncidentPriority='P1' AND IncidentStatus='pending'"``
"""

from __future__ import annotations

from typing import Any

from temporalio import workflow
from temporalio.common import SearchAttributeKey, SearchAttributeUpdate

INCIDENT_STATUS = SearchAttributeKey.for_keyword("IncidentStatus")
INCIDENT_PRIORITY = SearchAttributeKey.for_keyword("IncidentPriority")
SERVICE_LEVEL = SearchAttributeKey.for_keyword("ServiceLevel")
SLA_BREACHED = SearchAttributeKey.for_bool("SlaBreached")

SEARCH_ATTRIBUTES: tuple[SearchAttributeKey[Any], ...] = (
    INCIDENT_STATUS,
    INCIDENT_PRIORITY,
    SERVICE_LEVEL,
    SLA_BREACHED,
)


def publish_search_attributes(
    published: dict[str, Any], *, status: str, priority: str, service_level: str, breached: bool
) -> dict[str, Any]:
    """Upserts the attributes whose value changed; returns what is now published."""
    wanted: dict[str, Any] = {
        INCIDENT_STATUS.name: status,
        INCIDENT_PRIORITY.name: priority,
        SERVICE_LEVEL.name: service_level,
        SLA_BREACHED.name: breached,
    }
    keys = {key.name: key for key in SEARCH_ATTRIBUTES}
    changes: list[SearchAttributeUpdate[Any]] = [
        keys[name].value_set(value)
        for name, value in wanted.items()
        if published.get(name) != value
    ]
    if changes:
        workflow.upsert_search_attributes(changes)
    return wanted
