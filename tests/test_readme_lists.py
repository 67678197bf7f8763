"""README's lists against the code: the fields the incident's ``status`` query returns, and
the metrics Vigie exports, the kinds an event cannot be recorded under."""

from __future__ import annotations

import re
from pathlib import Path

from workflows.models import IncidentView

README = Path(__file__).resolve().parent.parent / "README.md"


def test_the_status_fields_listed_are_the_ones_returned() -> None:
    text = README.read_text(encoding="utf-8")
    paragraph = text.split("The query **`status`** returns the incident as JSON:", 1)[1]
    paragraph = paragraph.split("Every time is ISO", 1)[0]
    listed = set(re.findall(r"`([a-z0-9_]+)`", paragraph))
    assert listed == set(IncidentView.model_fields), (
        f"not in README: {sorted(set(IncidentView.model_fields) - listed)}; "
        f"not returned: {sorted(listed - set(IncidentView.model_fields))}"
    )


def test_the_metrics_listed_are_the_ones_exported() -> None:
    from workers.ledger import GAUGES
    from workflows.metrics import COUNTERS

    text = README.read_text(encoding="utf-8")
    section = text.split("### Metrics and logs\n", 1)[1].split("- `VIGIE_LOG_FORMAT", 1)[0]
    listed = set(re.findall(r"`(vigie_[a-z_]+)", section))
    webhook = {"vigie_webhook_requests", "vigie_webhook_request_seconds"}
    source = (README.parent / "starters" / "webhook.py").read_text(encoding="utf-8")
    assert all(f'"{name}"' in source for name in webhook)
    assert listed == set(COUNTERS) | set(GAUGES) | webhook


def test_readme_lists_every_kind_record_event_refuses() -> None:
    from workflows.incident import MORE_OWN_KINDS, OWN_KINDS

    text = README.read_text(encoding="utf-8")
    row = next(line for line in text.splitlines() if line.startswith("| `record_event` `kind`"))
    named = set(re.findall(r"`([a-z_0-9]+)`", row)) - {"record_event", "kind", "_"}
    assert named == OWN_KINDS | MORE_OWN_KINDS, named ^ (OWN_KINDS | MORE_OWN_KINDS)


def test_every_kind_the_incident_records_is_reserved() -> None:
    """Each kind the incident's code records (``self._record("kind", ...)``) is refused to
    ``record_event``, but those others send: the webhook's, its crisis's, a note."""
    import ast

    from workflows.incident import MORE_OWN_KINDS, OWN_KINDS

    root = README.parent
    recorded = set()
    for module in ("workflows/incident.py", "workflows/operations.py"):
        for node in ast.walk(ast.parse((root / module).read_text(encoding="utf-8"))):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr == "_record"
                and node.args
                and isinstance(node.args[0], ast.Constant)
            ):
                recorded.add(node.args[0].value)
    assert len(recorded) > 20, recorded
    open_to_all = {"note", "opsgenie", "crisis_closed"}
    assert recorded - open_to_all <= OWN_KINDS | MORE_OWN_KINDS, (
        recorded - OWN_KINDS - MORE_OWN_KINDS
    )
