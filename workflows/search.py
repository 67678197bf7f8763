"""Search attributes of incidents and crises, so operators can filter them in the UI and CLI.

``temporal workflow list --query "IncidentPriority='P1' AND IncidentStatus='pending'"``
``temporal workflow list --query "CrisisStatus='active' ORDER BY NextDue"``
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from temporalio import workflow
from temporalio.common import SearchAttributeKey, SearchAttributeUpdate

INCIDENT_STATUS = SearchAttributeKey.for_keyword("IncidentStatus")
INCIDENT_PRIORITY = SearchAttributeKey.for_keyword("IncidentPriority")
SERVICE_LEVEL = SearchAttributeKey.for_keyword("ServiceLevel")
SLA_BREACHED = SearchAttributeKey.for_bool("SlaBreached")
NEXT_DUE = SearchAttributeKey.for_datetime("NextDue")
"""The next deadline of an incident, or the next milestone of a crisis; unset when none."""
CRISIS_STATUS = SearchAttributeKey.for_keyword("CrisisStatus")
CRISIS_LEVEL = SearchAttributeKey.for_int("CrisisLevel")

SEARCH_ATTRIBUTES: tuple[SearchAttributeKey[Any], ...] = (
    INCIDENT_STATUS,
    INCIDENT_PRIORITY,
    SERVICE_LEVEL,
    SLA_BREACHED,
    NEXT_DUE,
    CRISIS_STATUS,
    CRISIS_LEVEL,
)

T0_MEMO = "t0"
"""Memo key of an incident's or a crisis's T0 (ISO 8601), when it differs from the start of
its first run or once it continued as new (a memo is carried to the next run): what
`vigie list` shows, since a workflow's start time is its current run's."""


def t0_memo(t0: datetime) -> dict[str, str]:
    return {T0_MEMO: t0.isoformat()}


TYPE_NAMES = {"KEYWORD": "Keyword", "BOOL": "Bool", "DATETIME": "Datetime", "INT": "Int"}
"""The `temporal operator search-attribute create --type` name of each kind."""


def type_name(key: SearchAttributeKey[Any]) -> str:
    return TYPE_NAMES[key.indexed_value_type.name.removeprefix("INDEXED_VALUE_TYPE_")]


def dev_server_flags() -> list[str]:
    """``temporal server start-dev`` flags that register every attribute Vigie publishes."""
    flags: list[str] = []
    for key in SEARCH_ATTRIBUTES:
        flags += ["--search-attribute", f"{key.name}={type_name(key)}"]
    return flags


def publish(
    published: dict[str, Any], wanted: dict[SearchAttributeKey[Any], Any]
) -> dict[str, Any]:
    """Upserts the attributes whose value changed (None unsets); returns what is published."""
    changes: list[SearchAttributeUpdate[Any]] = [
        key.value_unset() if value is None else key.value_set(value)
        for key, value in wanted.items()
        if published.get(key.name) != value
    ]
    if changes:
        workflow.upsert_search_attributes(changes)
    return {**published, **{key.name: value for key, value in wanted.items()}}


def incident_attributes(
    *, status: str, priority: str, service_level: str, breached: bool
) -> dict[SearchAttributeKey[Any], Any]:
    return {
        INCIDENT_STATUS: status,
        INCIDENT_PRIORITY: priority,
        SERVICE_LEVEL: service_level,
        SLA_BREACHED: breached,
    }
