"""Every incident has a customer: the CLI's --customer, the alert's customer:<name> tag, or the
policy's default (the ledger applies it)."""

from __future__ import annotations

import pytest
from pydantic import ValidationError
from typer.testing import CliRunner

from activities.providers.opsgenie.webhook_events import (
    WebhookAlert,
    customer_from_tags,
    start_input,
)
from starters.cli import app
from workers.opsgenie_file import load_mapping
from workers.settings import DEFAULT_CONFIG_DIR
from workflows.models import IncidentInput


def test_customer_tag() -> None:
    assert customer_from_tags(["sl:gold", "Customer:acme-fr"]) == "acme-fr"
    assert customer_from_tags(["customer:a b", "customer:", "customer:globex"]) == "globex"
    assert customer_from_tags(["vigie", "sl:gold"]) is None
    alert = WebhookAlert(alertId="a1", message="Disk full", tags=["customer:acme", "sl:silver"])
    started = start_input(alert, load_mapping(DEFAULT_CONFIG_DIR))
    assert started is not None and started.customer == "acme"


def test_customer_names_are_checked() -> None:
    assert IncidentInput(title="t", service_level="gold", customer="acme.fr_1").customer
    assert IncidentInput(title="t", service_level="gold").customer is None
    for bad in ("a b", "", "x" * 81, "-acme", "acme\nBcc: x"):
        with pytest.raises(ValidationError, match="customer"):
            IncidentInput(title="t", service_level="gold", customer=bad)


def test_vigie_open_refuses_a_bad_customer_before_calling_temporal() -> None:
    args = ["open", "--title", "T", "--service-level", "gold", "--priority", "P1"]
    result = CliRunner().invoke(app, [*args, "--customer", "a b"])
    assert result.exit_code == 2 and "customer" in result.output
