"""Logging: readable lines in development, one JSON object per line in production.

Lines about an incident or a crisis carry its id as ``incident``: the SDK's
workflow and activity loggers attach the workflow id to every record.
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from typing import Any


def incident_of(record: logging.LogRecord) -> str | None:
    for key in ("temporal_workflow", "temporal_activity"):
        details = getattr(record, key, None)
        if isinstance(details, dict) and details.get("workflow_id"):
            return str(details["workflow_id"])
    value = getattr(record, "incident", None)
    return str(value) if value else None


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        incident = incident_of(record)
        if incident:
            line["incident"] = incident
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line, ensure_ascii=False)


class TextFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        incident = incident_of(record)
        return f"{text} [{incident}]" if incident and incident not in text else text


def setup_logging(level: str, fmt: str) -> None:
    handler = logging.StreamHandler()
    handler.setFormatter(
        JsonFormatter()
        if fmt == "json"
        else TextFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s")
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
