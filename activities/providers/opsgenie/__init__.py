"""Opsgenie and its successor, Jira Service Management Operations: everything Vigie knows of them.

- ``client``: the alert REST API (Opsgenie and JSM Operations through one client);
- ``marks``: the marks Vigie leaves on alerts (note mark, tags), pure, imported by workflows;
- ``webhook_events``: the outgoing webhook, parsed into what to do to an incident;
- ``mapping``: the model of the mapping from alerts to incidents (loaded by ``workers``).

The client's names are exported here but loaded only when first used, so that
importing ``marks`` from workflow code does not bring in httpx.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from activities.providers.opsgenie.client import (
        OpsgenieApi,
        OpsgenieConfig,
        OpsgenieError,
        OpsgenieUnavailable,
        RequestPending,
        default_base_url,
    )

__all__ = [
    "OpsgenieApi",
    "OpsgenieConfig",
    "OpsgenieError",
    "OpsgenieUnavailable",
    "RequestPending",
    "default_base_url",
]


def __getattr__(name: str) -> Any:
    if name in __all__:
        return getattr(importlib.import_module(f"{__name__}.client"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
