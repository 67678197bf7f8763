"""Vigie's own counters, exported with the SDK's metrics (Prometheus on VIGIE_METRICS_BIND).

Counters taken from workflows go through ``workflow.metric_meter()``, which the
SDK silences during replay, so a replayed history never counts twice.
"""

from __future__ import annotations

from temporalio.common import MetricMeter

COUNTERS = {
    "vigie_incidents_opened": "Incidents opened, by priority and service level",
    "vigie_sla_breaches": "Acknowledgement and resolution deadlines breached",
    "vigie_mails": "Mails handed to the mail server (sent) or given up (failed)",
    "vigie_opsgenie_calls": "Opsgenie / JSM alert API calls, by action and outcome",
    "vigie_crisis_milestones": "Crisis chronogram milestones, by step and status",
    "vigie_chat_messages": "Chat channel posts, by vendor and outcome",
    "vigie_ledger_writes": "Incident and crisis facts written to the ledger (or stale, refused)",
}


def count(meter: MetricMeter, name: str, **attributes: str) -> None:
    meter.create_counter(name, COUNTERS[name]).add(1, attributes)
