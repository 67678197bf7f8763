"""Moved to ``starters.dev.opsgenie_standin``; this name goes once nothing uses it."""

from starters.dev.opsgenie_standin import OpsgenieStandIn

__all__ = ["OpsgenieStandIn"]
