"""`vigie report`: figures checked by hand on a small ledger, and the three formats."""

from __future__ import annotations

import csv
import io
import json
import re
import sqlite3
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from typer.testing import CliRunner

from activities.ledger.schema import incidents
from activities.ledger.store import Ledger
from starters.cli import app
from starters.report.compute import INCIDENT_COLUMNS, Period, Report, build_report, quantile
from starters.report.render import to_csv, to_html, to_json
from tests.test_ledger_facts import crisis_view, paris, state
from workflows.ledger_facts import crisis_facts, incident_facts
from workflows.sla import Stop

NOVEMBER = Period(since=date(2026, 11, 1), until=date(2026, 11, 30), timezone="Europe/Paris")
NOW = datetime(2026, 12, 1, 8, tzinfo=UTC)


def fill(ledger: Ledger) -> None:
    """A: kept at the very deadlines; B: both a minute / 30 min late; C: business clock across
    the 11 November holiday and a weekend; D: globex, not decided yet; E: cancelled."""
    a = state(incident_id="incident-a", opened_at=paris(24, 10), acknowledged_at=paris(24, 10, 15),
              resolved_at=paris(24, 12), status="resolved",
              stops=[Stop(start=paris(24, 12), reason="resolved")])  # fmt: skip
    b = state(incident_id="incident-b", opened_at=paris(24, 11), acknowledged_at=paris(24, 11, 16),
              resolved_at=paris(24, 13, 30), status="resolved", ack_breached=True,
              resolution_breached=True,
              stops=[Stop(start=paris(24, 13, 30), reason="resolved")])  # fmt: skip
    c = state(incident_id="incident-c", priority="P3", service_level="bronze",
              opened_at=paris(10, 9), acknowledged_at=paris(10, 9, 45), resolved_at=paris(16, 10),
              status="resolved", stops=[Stop(start=paris(16, 10), reason="resolved")])  # fmt: skip
    d = state(incident_id="incident-d", priority="P2", service_level="silver",
              opened_at=paris(25, 9))  # fmt: skip
    e = state(incident_id="incident-e", opened_at=paris(26, 9), status="cancelled",
              closed_at=paris(26, 9, 5))  # fmt: skip
    for s, customer, as_of in (
        (a, "acme", paris(24, 13)), (b, "acme", paris(24, 14)), (c, "acme", paris(16, 11)),
        (d, "globex", paris(25, 9, 20)), (e, "acme", paris(26, 9, 5)),
    ):  # fmt: skip
        ledger.record_incident(incident_facts(s, customer, as_of))
    october = state(incident_id="incident-october", opened_at=paris(1, 9).replace(month=10))
    ledger.record_incident(incident_facts(october, "acme", paris(1, 10)))
    ledger.record_crisis(crisis_facts(crisis_view(incident_id="incident-a"), "default",
                                      paris(30, 9)))  # fmt: skip


@pytest.fixture
def november(ledger: Ledger) -> Report:
    fill(ledger)
    return build_report(ledger, NOVEMBER, None, NOW)


def test_quantiles_interpolate_between_ranks() -> None:
    assert quantile([], 0.5) is None
    assert quantile([7.0], 0.9) == 7.0
    assert quantile([15.0, 16.0, 45.0], 0.5) == 16.0
    assert quantile([15.0, 16.0, 45.0], 0.9) == pytest.approx(39.2)


def test_figures_of_the_month(november: Report) -> None:
    r = november
    assert (r.incidents, r.cancelled) == (4, 1)  # the October one and the cancelled one out
    assert (r.mtta_minutes, r.mtta_median_minutes, r.mtta_p90_minutes) == (25.33, 16.0, 39.2)
    assert (r.mttr_minutes, r.mttr_median_minutes, r.mttr_p90_minutes) == (2990.0, 150.0, 6990.0)
    assert r.mtta_business_minutes == r.mtta_business_p90_minutes == 45.0  # C only
    assert r.mttr_business_minutes == 1860.0
    assert (r.ack_compliance, r.ack_decided) == (0.6667, 3)  # D is not decided yet
    assert (r.resolution_compliance, r.resolution_decided) == (0.6667, 3)
    classes = {(c.priority, c.service_level): c for c in r.by_class}
    assert list(classes) == [("P1", "gold"), ("P2", "silver"), ("P3", "bronze")]
    assert classes[("P1", "gold")].ack_compliance == 0.5
    assert classes[("P1", "gold")].mtta_minutes == 15.5
    assert classes[("P2", "silver")].ack_compliance is None
    assert classes[("P3", "bronze")].mttr_business_minutes == 1860.0


def test_breaches_name_the_deadline_and_how_late(november: Report) -> None:
    assert [(b.incident_id, b.deadline, b.due_at, b.late_minutes) for b in november.breaches] == [
        ("incident-b", "acknowledgement", paris(24, 11, 15), 1.0),
        ("incident-b", "resolution", paris(24, 13), 30.0),
    ]
    weeks = {w.week: w for w in november.weekly}
    assert next(iter(weeks)) == date(2026, 10, 26) and len(weeks) == 6
    assert (weeks[date(2026, 11, 23)].incidents, weeks[date(2026, 11, 23)].ack_breaches) == (3, 1)
    assert weeks[date(2026, 11, 9)].mttr_minutes == 8700.0


def test_crises_of_the_month(november: Report) -> None:
    [crisis] = november.crises
    assert crisis.customer == "acme"  # its incident's customer
    assert crisis.chronogram_compliance == november.chronogram_compliance == 0.5
    assert crisis.rex_on_time is None and november.rex_on_time is None


def test_one_customer(ledger: Ledger) -> None:
    fill(ledger)
    globex = build_report(ledger, NOVEMBER, "globex", NOW)
    assert globex.incidents == 1 and globex.crises == [] and globex.ack_compliance is None


def test_json_has_the_keys_the_review_expects(november: Report) -> None:
    data = json.loads(to_json(november))
    for key in (
        "incidents", "mtta_minutes", "mttr_minutes", "ack_compliance", "resolution_compliance",
        "by_class", "breaches", "crises", "mtta_median_minutes", "mtta_p90_minutes",
        "mttr_median_minutes", "mttr_p90_minutes", "mtta_business_minutes",
        "mttr_business_minutes",
    ):  # fmt: skip
        assert key in data, key
    assert data["breaches"][0]["due_at"] == "2026-11-24T11:15:00+01:00"  # business time zone
    assert data["by_class"][0]["priority"] == "P1"


def test_csv_has_one_row_per_incident(ledger: Ledger) -> None:
    fill(ledger)
    start, end = NOVEMBER.bounds
    found = ledger.incidents_opened(start, end, None, INCIDENT_COLUMNS)
    rows = list(csv.DictReader(io.StringIO(to_csv(found, NOVEMBER.timezone))))
    assert [r["incident_id"] for r in rows] == [
        "incident-c", "incident-a", "incident-b", "incident-d", "incident-e"
    ]  # fmt: skip
    assert rows[1]["opened_at"] == "2026-11-24T10:00:00+01:00"
    assert (rows[1]["ack_kept"], rows[2]["ack_kept"], rows[3]["ack_kept"]) == ("true", "false", "")
    assert rows[0]["mttr_business_minutes"] == "1860.0"
    # Every column of the ledger's incidents but its bookkeeping, in the order given.
    stored = {c.name for c in incidents.columns} - {"revision", "as_of", "recorded_at"}
    assert list(rows[0]) == list(INCIDENT_COLUMNS) and set(INCIDENT_COLUMNS) == stored
    assert (rows[1]["ack_breached"], rows[2]["ack_breached"]) == ("false", "true")
    assert rows[2]["resolution_breached"] == "true" and rows[2]["policy_version"].isdigit()


def test_html_is_one_offline_file_with_its_charts(november: Report) -> None:
    html = to_html(november, "fr")
    assert html.count("<svg") == 4
    assert "<script" not in html and "<link" not in html
    assert not re.search(r"""(src|href)=["']?https?:""", html)
    assert "Revue de service — tous les clients" in html
    assert "24/11/2026 11:15 CET" in html  # a breach's deadline, to the minute, in Paris time
    assert "66,7 %" in html
    # A crisis step's status told in the report's language, not as stored.
    assert "service rétabli pour les utilisateurs : sans objet" in html
    assert "not_applicable" not in html
    english = to_html(november, "en")
    assert ": not applicable" in english
    assert "Service review — all customers" in english and "66.7%" in english
    assert "Revue" not in english


def test_html_without_data_says_so(ledger: Ledger) -> None:
    empty = build_report(ledger, NOVEMBER, "nobody", NOW)
    assert empty.incidents == 0 and empty.mtta_minutes is None
    assert to_html(empty, "en").count("no data for the period") >= 4


runner = CliRunner()


def test_vigie_report_command(ledger: Ledger, config_dir: Path, tmp_path: Path) -> None:
    fill(ledger)
    env = {"VIGIE_DATABASE_URL": ledger.url, "VIGIE_CONFIG_DIR": str(config_dir)}
    args = ["report", "--since", "2026-11-01", "--until", "2026-11-30"]
    result = runner.invoke(app, [*args, "--format", "json"], env=env)
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["incidents"] == 4
    target = tmp_path / "review.html"
    result = runner.invoke(app, [*args, "--customer", "acme", "--output", str(target)], env=env)
    assert result.exit_code == 0, result.output
    assert "Revue de service — acme" in target.read_text(encoding="utf-8")
    result = runner.invoke(app, [*args, "--format", "csv"], env=env)
    assert result.stdout.count("\n") == 6
    for bad, message in (
        (["report", "--since", "2026-11-31", "--until", "2026-12-01"], "YYYY-MM-DD"),
        (["report", "--since", "2026-12-01", "--until", "2026-11-01"], "before"),
        ([*args, "--customer", "a b"], "--customer"),
        (["report", "--since", "2020-01-01", "--until", "2026-01-01"], "longer"),
        ([*args, "--customer", "acmee"], "no customer 'acmee' in the policy, nor in the ledger"),
        ([*args, "--output", str(tmp_path / "no-such-dir" / "r.html")], "--output: cannot write"),
    ):
        result = runner.invoke(app, bad, env=env)
        assert result.exit_code == 2 and message in result.output, result.output


def test_vigie_report_refuses_an_unmigrated_ledger(config_dir: Path, tmp_path: Path) -> None:
    env = {"VIGIE_DATABASE_URL": f"sqlite:///{tmp_path / 'new.db'}",
           "VIGIE_CONFIG_DIR": str(config_dir)}  # fmt: skip
    args = ["report", "--since", "2026-11-01", "--until", "2026-11-30"]
    # None there (run from another folder than the worker's): said with the path, nothing
    # made; an empty ledger made here would report an empty month.
    result = runner.invoke(app, args, env=env)
    said = " ".join(result.output.split())
    assert result.exit_code == 2 and f"no ledger at {tmp_path / 'new.db'}" in said, said
    assert not (tmp_path / "new.db").exists()
    sqlite3.connect(tmp_path / "new.db").close()  # a database, never migrated
    result = runner.invoke(app, args, env=env)
    said = " ".join(result.output.split())
    assert result.exit_code == 1 and "vigie ledger migrate" in said, said
    assert f"the ledger at {tmp_path / 'new.db'} (VIGIE_DATABASE_URL) is at schema" in said
    assert runner.invoke(app, ["ledger", "migrate"], env=env).exit_code == 0
    assert runner.invoke(app, [*args, "--format", "json"], env=env).exit_code == 0


def test_an_unreachable_ledger_is_a_clear_error(config_dir: Path) -> None:
    """A database that does not answer: one line naming the setting, no traceback."""
    env = {"VIGIE_DATABASE_URL": "postgresql://vigie:secret@127.0.0.1:1/vigie",
           "VIGIE_CONFIG_DIR": str(config_dir)}  # fmt: skip
    for args in (
        ["report", "--since", "2026-11-01", "--until", "2026-11-30"],
        ["ledger", "migrate"],
        ["ledger", "rebuild"],
    ):
        result = runner.invoke(app, args, env=env)
        assert result.exit_code == 2, (args, result.output)
        assert "VIGIE_DATABASE_URL: cannot" in result.output, (args, result.output)
        assert "Traceback" not in result.output and "secret" not in result.output


def test_html_leaves_out_typed_direction_controls(november: Report) -> None:
    """A U+202E in a title would show the rest of its cell backwards."""
    breach = november.breaches[0].model_copy(update={"title": "Paiement \u202eevil"})
    html = to_html(november.model_copy(update={"breaches": [breach]}), "fr")
    assert "Paiement evil" in html and "\u202e" not in html
