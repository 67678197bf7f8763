"""Structured logs carry the incident id on every line that concerns one."""

from __future__ import annotations

import json
import logging

import pytest
from temporalio.testing import ActivityEnvironment

from activities.policy import PolicyActivities
from workers.logs import JsonFormatter, TextFormatter, setup_logging
from workers.policy_file import load_policy
from workers.settings import DEFAULT_CONFIG_DIR
from workflows.policy import ConfigError


def record(**extra: object) -> logging.LogRecord:
    entry = logging.LogRecord("vigie", logging.INFO, __file__, 1, "mail %s sent", ("opened",), None)
    for key, value in extra.items():
        setattr(entry, key, value)
    return entry


def test_json_lines_carry_the_incident_from_workflow_and_activity_context() -> None:
    fmt = JsonFormatter()
    line = json.loads(fmt.format(record(temporal_activity={"workflow_id": "incident-42"})))
    assert line["incident"] == "incident-42" and line["message"] == "mail opened sent"
    assert line["level"] == "INFO" and line["time"].endswith("+00:00")
    assert (
        json.loads(fmt.format(record(temporal_workflow={"workflow_id": "crisis-1"})))["incident"]
        == "crisis-1"
    )
    assert json.loads(fmt.format(record(incident="incident-7")))["incident"] == "incident-7"
    assert "incident" not in json.loads(fmt.format(record()))


def test_text_lines_name_the_incident() -> None:
    fmt = TextFormatter("%(levelname)s %(message)s")
    assert fmt.format(record(incident="incident-7")) == "INFO mail opened sent [incident-7]"


async def test_activity_logs_name_their_incident(caplog: pytest.LogCaptureFixture) -> None:
    def broken() -> object:
        raise ConfigError("policy.toml: broken")

    activities = PolicyActivities(broken, "policy.toml", load_policy(DEFAULT_CONFIG_DIR))  # type: ignore[arg-type]
    env = ActivityEnvironment()
    env.info = env.info.__class__(**{**env.info.__dict__, "workflow_id": "incident-99"})
    from activities.models import LoadPolicyInput

    with caplog.at_level(logging.ERROR):
        await env.run(activities.load_policy, LoadPolicyInput(incident_id="incident-99"))
    line = json.loads(JsonFormatter().format(caplog.records[-1]))
    assert line["incident"] == "incident-99" and "policy.toml: broken" in line["message"]


def test_setup_logging_switches_format(capsys: pytest.CaptureFixture[str]) -> None:
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    try:
        setup_logging("INFO", "json")
        logging.getLogger("vigie.test").info("hello", extra={"incident": "incident-1"})
        logged = json.loads(capsys.readouterr().err.strip().splitlines()[-1])
        assert logged == {**logged, "message": "hello", "incident": "incident-1"}
        setup_logging("WARNING", "text")
        logging.getLogger("vigie.test").info("not shown")
        logging.getLogger("vigie.test").warning("shown", extra={"incident": "incident-2"})
        lines = capsys.readouterr().err.strip().splitlines()
        assert len(lines) == 1 and lines[0].endswith("WARNING vigie.test: shown [incident-2]")
    finally:  # the handler writes to this test's captured stderr, closed once it ends
        root.handlers[:] = handlers
        root.setLevel(level)


@pytest.mark.parametrize(("typed", "read"), [("warn", "WARNING"), (" debug ", "DEBUG")])
def test_the_level_is_read_in_any_case(
    monkeypatch: pytest.MonkeyPatch, typed: str, read: str
) -> None:
    from workers.settings import Settings

    assert Settings().log_level == "INFO"
    monkeypatch.setenv("VIGIE_LOG_LEVEL", typed)
    assert Settings().log_level == read
